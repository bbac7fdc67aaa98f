"""Differential testing of the LLVM backend against the reference interpreter."""

from __future__ import annotations

import numpy as np

from tfc.codegen.llvm.native import NativeFunction
from tfc.ir import FunctionBuilder, Module, TensorType, dtypes as dt, verify
from tfc.runtime.interpreter import run_function


def one_op_function(name: str, inputs: list[np.ndarray], attrs: dict):
    types = [TensorType(a.shape, dt.from_numpy(a.dtype)) for a in inputs]
    fb = FunctionBuilder("main", types, [f"x{i}" for i in range(len(inputs))])
    op = fb.create(name, list(fb.args), attrs)
    function = fb.ret(list(op.results))
    verify(Module([function]))
    return function


def check_native(name: str, inputs, attrs=None, rtol: float = 1e-5, atol: float = 0.0):
    """Run op `name` natively and on the interpreter; assert the results agree (floats within
    rtol/atol, everything else exactly, NaN where NaN). Returns the native results."""
    inputs = [np.asarray(x) for x in inputs]
    function = one_op_function(name, inputs, attrs or {})
    expected = run_function(function, inputs)
    got = NativeFunction.jit(function)(*inputs)
    for e, g in zip(expected, got):
        assert g.dtype == e.dtype and g.shape == e.shape, (g.dtype, g.shape, e.dtype, e.shape)
        if e.dtype.kind in "fc":
            np.testing.assert_allclose(g, e, rtol=rtol, atol=atol, equal_nan=True)
        else:
            np.testing.assert_array_equal(g, e)
    return got
