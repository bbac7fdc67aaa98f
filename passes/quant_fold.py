"""Fold back-to-back quantization (`quant-fold`).

    quantize(dequantize(q, s1), s2)  ->  requantize(q, in_scale=s1, out_scale=s2)
    quantize(dequantize(q, s), s)    ->  q        (same scale, same integer dtype, per tensor or
                                                   the same axis)
    requantize(q, s, s) (same dtype) ->  q

Only quantization pairs are folded. A dequantize that produces f16 is left alone (its rounding
to half precision is observable), and so are f32 -> f16 -> f32 cast pairs, which the precision
pass inserts on purpose (fp16 storage). The dequantize stays if other ops still read it.

Numerics: requantize computes rint(f32(q) * f32(s1 / s2)) where the pair computed
rint(f32(f32(q) * f32(s1)) * f32(1 / s2)); both are the correctly scaled integer, they can differ
by one step only where the pair rounded twice.
"""

from __future__ import annotations

from dataclasses import dataclass

from tfc.ir import dtypes as dt
from tfc.ir.builder import Builder
from tfc.ir.core import Operation, OpResult

from .fold import OpFoldPass
from .manager import register_pass


def _producer(value, name):
    if isinstance(value, OpResult) and value.op.name == name:
        return value.op
    return None


def _axes_compatible(a: Operation, b: Operation, rank: int | None):
    """The common axis of two scale attributes (None = per tensor), or False if they clash."""
    def norm(op, key):
        axis = op.attributes.get("axis")
        if axis is None or len(op.attributes[key]) == 1:
            return None
        return axis % rank if rank else axis
    ax_a, ax_b = norm(a, "scale"), norm(b, "scale")
    if ax_a is not None and ax_b is not None and ax_a != ax_b:
        return False
    return ax_a if ax_a is not None else ax_b


@register_pass
@dataclass(frozen=True)
class QuantFold(OpFoldPass):
    """dequantize -> quantize pairs become requantize, or vanish when the scales match."""

    name = "quant-fold"

    def fold_op(self, op: Operation) -> bool:
        if op.name == "quant.quantize":
            return self.fold_pair(op)
        if op.name == "quant.requantize":
            return self.fold_identity_requantize(op)
        return False

    def fold_pair(self, quant: Operation) -> bool:
        deq = _producer(quant.operands[0], "quant.dequantize")
        if deq is None or deq.attributes.get("dtype", dt.float32) != dt.float32:
            return False
        q = deq.operands[0]
        rank = q.type.rank if q.type.shape is not None else None
        axis = _axes_compatible(deq, quant, rank)
        if axis is False:
            return False
        s1, s2 = tuple(deq.attributes["scale"]), tuple(quant.attributes["scale"])
        target = quant.attributes["dtype"]
        if s1 == s2 and q.type.dtype == target:
            replacement = q
        else:
            attrs = {"in_scale": s1, "out_scale": s2, "dtype": target}
            if axis is not None:
                attrs["axis"] = axis
            replacement = Builder.before_op(quant).op("quant.requantize", q, **attrs)
        quant.result.replace_all_uses_with(replacement)
        quant.erase()
        if not deq.result.uses:
            deq.erase()
        return True

    def fold_identity_requantize(self, op: Operation) -> bool:
        q = op.operands[0]
        if q.type.dtype != op.attributes["dtype"]:
            return False
        if tuple(op.attributes["in_scale"]) != tuple(op.attributes["out_scale"]):
            return False
        op.result.replace_all_uses_with(q)
        op.erase()
        return True
