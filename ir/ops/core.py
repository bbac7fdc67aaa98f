"""Structural ops: constants and block terminators."""

from __future__ import annotations

import numpy as np

from .. import dtypes as dt
from ..opdef import TERMINATOR, Attr, InferenceError, Operand, define
from ..types import TensorType


def tensor_type_of(value: np.ndarray) -> TensorType:
    """The IR type of a numpy array (strings map to `string`)."""
    return TensorType(value.shape, dt.from_numpy(value.dtype))


def _infer_constant(types, attrs):
    value = attrs["value"]
    if "dtype" in attrs:
        return [TensorType(value.shape, attrs["dtype"])]
    return [tensor_type_of(value)]


define(
    "core.constant",
    attrs=[Attr("value", "tensor"), Attr("dtype", "dtype", default=None)],
    infer=_infer_constant,
    compute=lambda value, dtype=None: value,
    doc="A constant tensor. `dtype` is given only where it differs from the storage type of "
        "`value` (bfloat16, quantized types).",
)


def _infer_no_results(types, attrs):
    return []


define(
    "core.return",
    operands=[Operand("values", variadic=True)],
    infer=_infer_no_results,
    traits={TERMINATOR},
    doc="Ends a function's block; its operands are the function's results.",
)

define(
    "core.yield",
    operands=[Operand("values", variadic=True)],
    infer=_infer_no_results,
    traits={TERMINATOR},
    doc="Ends a region's block; its operands are the enclosing op's results.",
)


def _infer_identity(types, attrs):
    if not types:
        raise InferenceError("expected at least one operand")
    return list(types)


define(
    "core.identity",
    operands=[Operand("values", variadic=True)],
    infer=_infer_identity,
    compute=lambda *values: tuple(values),
    doc="Passes its operands through unchanged (TF's Identity / IdentityN).",
)
