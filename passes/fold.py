"""Constant folding through the op table's reference semantics.

A pure, non-random op whose operands are all `core.constant`s is evaluated with its `compute`
(the same numpy semantics the interpreter runs) and replaced by constants. `array.shape` of a
statically shaped value folds whatever the value is. Ops whose result would have more than
`max_elements` elements are left alone, so a large constant is not materialized a second
time (a broadcast or tile of a small constant, say). Likewise a cast that widens a constant
of more than `max_widen_elements` elements stays a cast: float16 weights (the precision pass's
fp16 layers) stay float16 in the weights and are converted at run time, as fp16 storage
means. An op whose evaluation fails
(ComputeError: integer division by zero, an index out of range...) stays, so the error still
happens at run time where the model's semantics put it.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from tfc.ir import dtypes as dt
from tfc.ir.builder import Builder
from tfc.ir.core import Block, Module, Operation, OpResult, Value, replace_op
from tfc.ir.opdef import PURE, RANDOM, STATEFUL, TERMINATOR, ComputeError, OPS
from tfc.ir.types import TensorType

from .manager import Pass, register_pass


def constant_value(value: Value) -> np.ndarray | None:
    """The array a `core.constant` defines (None for other values and for constants whose
    IR dtype differs from their storage, such as bfloat16 or quantized ones)."""
    if isinstance(value, OpResult) and value.op.name == "core.constant" and "dtype" not in value.op.attributes:
        return value.op.attributes["value"]
    return None


def is_foldable(op: Operation) -> bool:
    """Pure, not random, not stateful, with reference semantics and no regions."""
    opdef = OPS.get(op.name)
    if opdef is None or opdef.compute is None or op.regions:
        return False
    traits = opdef.traits
    return PURE in traits and not traits & {STATEFUL, RANDOM, TERMINATOR}


def _storable(array: np.ndarray, type: TensorType) -> bool:
    """Whether `array` can stand as a plain constant for a value of `type`."""
    if type.dtype.numpy is None or type.dtype.is_quantized:
        return False
    if array.dtype != type.dtype.numpy:
        return False
    return type.shape is None or (array.ndim == len(type.shape) and all(
        d is None or d == a for d, a in zip(type.shape, array.shape)))


@dataclass(frozen=True)
class OpFoldPass(Pass):
    """A pass that offers every op of every function to `fold_op` (nested regions first; an op
    a fold removed is skipped)."""

    def run(self, module: Module) -> bool:
        changed = False
        for function in module:
            changed |= self.fold_block(function.body)
        return changed

    def fold_block(self, block: Block) -> bool:
        changed = False
        for op in list(block.ops):
            for region in op.regions:
                changed |= self.fold_block(region)
            if op.parent is block:
                changed |= self.fold_op(op)
        return changed

    def fold_op(self, op: Operation) -> bool:
        """Rewrite `op`; True if anything changed."""
        raise NotImplementedError


@register_pass
@dataclass(frozen=True)
class FoldConstants(OpFoldPass):
    """Evaluate ops whose operands are all constants; fold `array.shape` of static shapes."""

    name = "fold"
    max_elements: int = 1 << 20
    max_widen_elements: int = 4096

    def fold_op(self, op: Operation) -> bool:
        if op.name == "core.constant" or not is_foldable(op):
            return False
        if op.name == "array.shape":
            return self._fold_shape(op)
        values = [constant_value(v) for v in op.operands]
        if any(v is None for v in values):
            return False
        if op.name == "core.identity":
            # Forward the constants themselves: no copy.
            replace_op(op, list(op.operands))
            return True
        for result in op.results:
            n = result.type.num_elements
            if n is not None and n > self.max_elements:
                return False
        if op.name == "math.cast" and values[0].size > self.max_widen_elements \
                and op.result.type.dtype.numpy is not None \
                and np.dtype(op.result.type.dtype.numpy).itemsize > values[0].dtype.itemsize:
            return False
        try:
            with np.errstate(all="ignore"):
                out = OPS[op.name].compute(*values, **op.attributes)
        except ComputeError:
            return False
        outputs = [np.asarray(v) for v in (out if isinstance(out, (tuple, list)) else [out])]
        if len(outputs) != len(op.results):
            return False
        if any(a.size > self.max_elements or not _storable(a, r.type) for a, r in zip(outputs, op.results)):
            return False
        builder = Builder.before_op(op)
        new_values = []
        for array, result in zip(outputs, op.results):
            # A copy: the result may be a view of an operand's constant.
            constant = builder.create("core.constant", [], {"value": np.array(array, copy=True)}).result
            constant.name_hint = result.name_hint
            new_values.append(constant)
        replace_op(op, new_values)
        return True

    def _fold_shape(self, op: Operation) -> bool:
        x, result = op.operands[0].type, op.result
        if not x.is_static:
            return False
        out_type = op.attributes.get("out_type", dt.int32)
        array = np.array(x.shape, dtype=dt.as_dtype(out_type).numpy)
        if not _storable(array, result.type):
            return False
        constant = Builder.before_op(op).create("core.constant", [], {"value": array}).result
        constant.name_hint = result.name_hint
        replace_op(op, [constant])
        return True
