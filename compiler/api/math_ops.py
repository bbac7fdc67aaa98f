"""Elementwise arithmetic and comparisons, casts, reductions and matmul (`tf.add`,
`tf.matmul`, `tf.reduce_mean`...), and the Python operators on tensors.

(The rest of the math family joins this file; each function mirrors the graph TF builds:
same op types, names and inputs.)
"""

from __future__ import annotations

from tfc.ir import dtypes as dt

from ..framework import Tensor
from .core import apply_op, ir_op, op_scope
from ..framework import convert_to_tensor


def _binary(op_type: str, ir_name: str, x, y, name, default_name=None):
    return ir_op(op_type, ir_name, name, [("x", x), ("y", y)], default_name=default_name)


def add(x, y, name=None):
    return _binary("AddV2", "math.add", x, y, name)


def subtract(x, y, name=None):
    return _binary("Sub", "math.sub", x, y, name)


def multiply(x, y, name=None):
    return _binary("Mul", "math.mul", x, y, name)


def cast(x, dtype, name=None):
    """`tf.cast`: convert to `dtype` (floats truncate toward zero into ints; no op when the
    dtype already matches)."""
    dtype = dt.as_dtype(dtype)
    with op_scope(name, "Cast", [x]) as scope:
        x = convert_to_tensor(x, name="x")
        if x.dtype == dtype:
            return x
        return apply_op("Cast", scope, [("x", x)],
                        lambda ctx, op, v: ctx.b.op("math.cast", v, to=dtype),
                        attrs={"SrcT": x.dtype, "DstT": dtype})


__all__ = [
    "add",
    "subtract",
    "multiply",
    "cast",
]
