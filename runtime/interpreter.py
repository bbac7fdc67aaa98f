"""The reference interpreter: runs a verified IR function on numpy arrays, op by op, with each
op's reference semantics from the op table. It is the oracle every backend is tested against,
so it favours clarity and exactness over speed."""

from __future__ import annotations

from typing import Mapping, Sequence

import numpy as np

from tfc.ir.builder import FunctionBuilder
from tfc.ir.core import Block, Function, Module, Operation
from tfc.ir.opdef import ComputeError, get_op
from tfc.ir.types import TensorType
from tfc.ir import dtypes as dt


class InterpreterError(RuntimeError):
    """An op failed at run time or an input does not fit. Names the op and its location."""

    def __init__(self, message: str, op: Operation | None = None):
        super().__init__(message)
        self.op = op


def _where(op: Operation) -> str:
    return f"{op.location}: {op.name}" if op.location else op.name


def check_input(value, expected: TensorType, name: str) -> np.ndarray:
    """`value` as an array of `expected`'s dtype, or InterpreterError if shape or dtype differ."""
    array = np.asarray(value)
    if expected.dtype.numpy is None:
        raise InterpreterError(f"input '{name}': dtype {expected.dtype.name} cannot be held in numpy")
    if array.dtype != expected.dtype.numpy:
        same_kind = (expected.dtype == dt.string and array.dtype.kind in "USO")
        if not same_kind:
            raise InterpreterError(
                f"input '{name}' has dtype {array.dtype}, expected {expected.dtype.name}")
        array = array.astype(object)
    if expected.shape is not None:
        ok = array.ndim == len(expected.shape) and all(
            e is None or e == a for e, a in zip(expected.shape, array.shape))
        if not ok:
            raise InterpreterError(f"input '{name}' has shape {list(array.shape)}, expected {expected}")
    return array


def run_function(function: Function, inputs: Sequence | Mapping[str, object]) -> list[np.ndarray]:
    """Run `function` on `inputs` (positional, or by argument name) and return its results."""
    args = function.args
    if isinstance(inputs, Mapping):
        names = [a.name_hint or f"arg{i}" for i, a in enumerate(args)]
        missing = [n for n in names if n not in inputs]
        extra = [k for k in inputs if k not in names]
        if missing or extra:
            raise InterpreterError(f"@{function.name} takes inputs {names}; "
                                   f"missing {missing}, unexpected {extra}")
        inputs = [inputs[n] for n in names]
    if len(inputs) != len(args):
        raise InterpreterError(f"@{function.name} takes {len(args)} inputs, got {len(inputs)}")
    env: dict[int, np.ndarray] = {}
    for i, (arg, value) in enumerate(zip(args, inputs)):
        env[id(arg)] = check_input(value, arg.type, arg.name_hint or f"arg{i}")
    # Results never alias the inputs or the IR's constants.
    return [np.array(v, copy=True) for v in _run_block(function.body, env)]


def _run_block(block: Block, env: dict[int, np.ndarray]) -> list[np.ndarray]:
    for op in block.ops:
        if op.name in ("core.return", "core.yield"):
            return [env[id(v)] for v in op.operands]
        values = [env[id(v)] for v in op.operands]
        for result, value in zip(op.results, run_op(op, values)):
            env[id(result)] = value
    raise InterpreterError("block has no terminator")


def run_op(op: Operation, values: list[np.ndarray]) -> list[np.ndarray]:
    """Apply `op`'s reference semantics to `values`; check the results against its types."""
    opdef = get_op(op.name)
    if opdef.compute is None:
        raise InterpreterError(f"{_where(op)}: op has no reference semantics", op)
    # An op with regions (core.fusion) also gets them: its compute runs the region's ops.
    regions = {"regions": op.regions} if op.regions else {}
    try:
        with np.errstate(all="ignore"):
            out = opdef.compute(*values, **op.attributes, **regions)
    except ComputeError as e:
        failed = getattr(e, "op", None) or op      # inside a region: the op that failed there
        raise InterpreterError(f"{_where(failed)}: {e.args[0]}", failed) from None
    outputs = list(out) if isinstance(out, (tuple, list)) else [out]
    if len(outputs) != len(op.results):
        raise AssertionError(f"{op.name}: reference gave {len(outputs)} results, expected {len(op.results)}")
    results = []
    for value, result in zip(outputs, op.results):
        value = np.asarray(value)
        expected = result.type
        if expected.dtype.numpy is not None and value.dtype != expected.dtype.numpy:
            raise AssertionError(f"{op.name}: reference gave dtype {value.dtype}, expected {expected}")
        if expected.shape is not None and (value.ndim != len(expected.shape) or any(
                e is not None and e != a for e, a in zip(expected.shape, value.shape))):
            raise AssertionError(f"{op.name}: reference gave shape {value.shape}, expected {expected}")
        results.append(value)
    return results


def evaluate_op(name: str, *inputs, **attributes) -> np.ndarray | tuple[np.ndarray, ...]:
    """Build a one-op function for `name` with `inputs` as arguments, verify it and run it.
    Returns the result array, or a tuple for multi-result ops. For tests and folding."""
    from tfc.ir.verifier import verify

    arrays = [np.asarray(x) for x in inputs]
    types = [TensorType(a.shape, dt.from_numpy(a.dtype)) for a in arrays]
    fb = FunctionBuilder("main", types, [f"x{i}" for i in range(len(arrays))])
    op = fb.create(name, list(fb.args), attributes)
    fn = fb.ret(list(op.results))
    verify(Module([fn]))
    out = run_function(fn, arrays)
    return out[0] if len(out) == 1 else tuple(out)
