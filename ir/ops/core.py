"""Structural ops: constants and block terminators."""

from __future__ import annotations

import numpy as np

from .. import dtypes as dt
from ..opdef import TERMINATOR, Attr, ComputeError, InferenceError, Operand, define, get_op
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


# Fused groups ----------------------------------------------------------------------------------
FUSION_KINDS = ("elementwise", "reduction", "contraction_epilogue")


def _infer_fusion(types, attrs):
    # A fusion's results are the operands of its region's core.yield, which type inference
    # (operand types and attributes only) cannot see: builders pass `result_types`, and the
    # verifier checks them against the yield.
    return []


def _compute_fusion(*values, regions, kind):
    """Run the region's ops with their own reference semantics, in order."""
    block = regions[0]
    env = {id(arg): value for arg, value in zip(block.args, values)}
    for op in block.ops:
        operands = [env[id(v)] for v in op.operands]
        if op.name == "core.yield":
            return tuple(operands)
        extra = {"regions": op.regions} if op.regions else {}
        try:
            out = get_op(op.name).compute(*operands, **op.attributes, **extra)
        except ComputeError as e:
            if getattr(e, "op", None) is None:
                e.op = op            # the interpreter names the op inside the group that failed
            raise
        outputs = list(out) if isinstance(out, (tuple, list)) else [out]
        for result, value in zip(op.results, outputs):
            env[id(result)] = np.asarray(value)
    raise ComputeError("core.fusion: the region does not end with core.yield")


define(
    "core.fusion",
    operands=[Operand("inputs", variadic=True)],
    attrs=[Attr("kind", "str", choices=FUSION_KINDS)],
    infer=_infer_fusion,
    compute=_compute_fusion,
    doc="A fused group (made by the `fuse` pass): one region whose block arguments are the "
        "operands and whose core.yield gives the results; computes what its ops compute, "
        "in one kernel. `kind`: elementwise, reduction or contraction_epilogue.",
)
