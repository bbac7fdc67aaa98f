"""Differential testing of the BANG C backend: IR -> BangProgram -> the MLU simulator, against
the reference interpreter."""

from __future__ import annotations

import numpy as np

from tfc.codegen.bang import compile_module
from tfc.ir import FunctionBuilder, Module, TensorType, dtypes as dt, verify
from tfc.passes import PassManager
from tfc.runtime.interpreter import run_function
from tfc.runtime.mlu.program import run_program

# Tolerances (relative, absolute) by kind of kernel:
EXACT = (1e-5, 1e-6)          # fp32 vector arithmetic (add/sub/mul/max/compare/cycle ops, copies)
TABLE = (2e-2, 2e-3)          # table-based activations (exp/log/sigmoid/tanh/sqrt/rsqrt/recip): ~1-2%
FP16 = (2e-3, 1e-3)           # fp16 storage (one rounding to half of the fp32 result)
FIXED = (0, 1)                # int8/int16 fixed-point outputs: at most 1 unit (rounding ties)


class Const:
    """An operand given as a constant in the IR (a weight or a literal) instead of an argument."""

    def __init__(self, value):
        self.value = np.asarray(value)


def one_op_module(name: str, operands: list, attrs: dict | None = None) -> tuple[Module, list]:
    args = [o for o in operands if not isinstance(o, Const)]
    types = [TensorType(a.shape, dt.from_numpy(a.dtype)) for a in args]
    fb = FunctionBuilder("main", types, [f"x{i}" for i in range(len(args))])
    values, it = [], iter(fb.args)
    for o in operands:
        values.append(fb.constant(o.value) if isinstance(o, Const) else next(it))
    op = fb.create(name, values, attrs or {})
    function = fb.ret(list(op.results))
    module = Module([function])
    verify(module)
    return module, args


def check_module(module: Module, args: list, profile: str = "mlu270", rtol: float = 1e-5,
                 atol: float = 1e-6, pipeline: str | None = None, exact_ints: bool = True,
                 int_atol: int = 0):
    """Compile `module` for `profile`, run it on the simulator, compare with the interpreter.
    Returns (program, outputs, reports)."""
    function = module["main"]
    expected = run_function(function, args)
    if pipeline:
        PassManager.parse(pipeline).run(module)
    program = compile_module(module, profile)
    names = [a.name_hint or f"arg{i}" for i, a in enumerate(function.args)]
    got, reports = run_program(program, dict(zip(names, args)))
    assert len(got) == len(expected)
    for e, g in zip(expected, got):
        assert g.shape == e.shape, (g.shape, e.shape)
        assert g.dtype == e.dtype, (g.dtype, e.dtype)
        if e.dtype.kind == "f":
            np.testing.assert_allclose(g.astype(np.float64), e.astype(np.float64), rtol=rtol, atol=atol)
        elif int_atol:
            assert np.max(np.abs(g.astype(np.int64) - e.astype(np.int64)), initial=0) <= int_atol
        else:
            np.testing.assert_array_equal(g, e)
    assert len(reports) == len(program.plan["launches"])
    return program, got, reports


def check_op(name: str, operands: list, attrs: dict | None = None, profile: str = "mlu270",
             tol=EXACT, **kw):
    module, args = one_op_module(name, operands, attrs)
    return check_module(module, args, profile, rtol=tol[0], atol=tol[1], **kw)


def rand(shape, dtype=np.float32, lo=-2.0, hi=2.0, seed=0):
    rng = np.random.default_rng(seed)
    return rng.uniform(lo, hi, shape).astype(dtype)
