"""Algebraic simplification.

Exact rewrites (the result is bit for bit what the original computes, NaN and signed zeros
included):

    x + (-0.0) -> x, x - 0.0 -> x     (x + 0.0 is not x: -0.0 + 0.0 is +0.0; integers: any 0)
    x * 1 -> x, x / 1 -> x            (not for complex: (inf+1j) * (1+0j) has a NaN part)
    -(-x) -> x, !!x -> x, identity(x) -> x, cast(x, to=dtype of x) -> x
    transpose(transpose(x, p), q) -> transpose(x, p[q]); transpose with the identity perm -> x
    reshape(reshape(x)) -> reshape(x); reshape to the shape x already has -> x
    broadcast_to(x) to x's own shape -> x; broadcast_to(broadcast_to(x)) -> broadcast_to(x)
    f(x, broadcast_to(c)) -> f(x, c) for broadcasting elementwise f when the result type stays

Each identity applies only when the constant does not broadcast x to a larger shape (x + 0
with a 0 of shape [4, 3] and x of shape [3] is a broadcast, not an identity).

Folding a per-channel scale and shift into the weights (within fp32 rounding, not exact):
a conv2d, depthwise_conv2d or matmul with a constant filter followed by a chain of
single-use bias_add / add / sub / mul / real_div by constant per-channel vectors or an
inference-mode nn.fused_batch_norm with constant parameters becomes the contraction with a
scaled filter and one bias_add. The folded constants are computed in float64 and rounded once.
`fold_scale_shift=false` turns this off.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from tfc.ir import dtypes as dt
from tfc.ir.builder import Builder
from tfc.ir.core import Block, Module, Operation, OpResult, Value, replace_op
from tfc.ir.opdef import BROADCAST, ELEMENTWISE, OPS, InferenceError

from .fold import constant_value
from .manager import Pass, register_pass


# Constants ---------------------------------------------------------------------------------
def _zero_of_sign(array: np.ndarray, negative: bool) -> bool:
    """Every element is a zero; for floats (and each part of complex numbers), of this sign."""
    kind = array.dtype.kind
    if kind in "iu":
        return bool(np.all(array == 0))
    if kind == "c":
        return _zero_of_sign(array.real, negative) and _zero_of_sign(array.imag, negative)
    if kind == "f":
        return bool(np.all((array == 0) & (np.signbit(array) == negative)))
    return False


def _all_ones(array: np.ndarray) -> bool:
    return array.dtype.kind in "iuf" and bool(np.all(array == 1))


def _keeps_shape(x: Value, constant_shape: tuple) -> bool:
    """Broadcasting x against a constant of `constant_shape` gives x's shape, for every
    runtime shape x may have."""
    shape = x.type.shape
    if shape is None or len(constant_shape) > len(shape):
        return False
    aligned = shape[len(shape) - len(constant_shape):]
    return all(c == 1 or (d is not None and c == d) for c, d in zip(constant_shape, aligned))


def _producer(value: Value, name: str) -> Operation | None:
    if isinstance(value, OpResult) and value.op.name == name:
        return value.op
    return None


def _replace(op: Operation, values: list[Value]) -> bool:
    for result, value in zip(op.results, values):
        if value.name_hint is None:
            value.name_hint = result.name_hint
    replace_op(op, values)
    return True


# Exact identities --------------------------------------------------------------------------
def _binary_identity(op: Operation) -> bool:
    """x + -0.0, -0.0 + x, x - 0.0, x * 1, 1 * x, x / 1 -> x."""
    x_first = {"math.add": lambda c: _zero_of_sign(c, True),
               "math.sub": lambda c: _zero_of_sign(c, False),
               "math.mul": _all_ones,
               "math.real_div": _all_ones}
    test = x_first.get(op.name)
    if test is None:
        return False
    a, b = op.operands
    pairs = [(a, b)] + ([(b, a)] if op.name in ("math.add", "math.mul") else [])
    for x, c in pairs:
        value = constant_value(c)
        if value is not None and x.type.dtype == op.result.type.dtype and test(value) \
                and _keeps_shape(x, value.shape):
            return _replace(op, [x])
    return False


def _involution(op: Operation) -> bool:
    """-(-x) -> x, logical_not(logical_not(x)) -> x."""
    if op.name not in ("math.neg", "math.logical_not"):
        return False
    inner = _producer(op.operands[0], op.name)
    return inner is not None and _replace(op, [inner.operands[0]])


def _identity(op: Operation) -> bool:
    return op.name == "core.identity" and _replace(op, list(op.operands))


def _cast_to_same(op: Operation) -> bool:
    if op.name != "math.cast":
        return False
    x = op.operands[0]
    return dt.as_dtype(op.attributes["to"]) == x.type.dtype == op.result.type.dtype and _replace(op, [x])


def _transpose(op: Operation) -> bool:
    if op.name != "array.transpose":
        return False
    n = len(op.attributes["perm"])
    perm = tuple(p % n for p in op.attributes["perm"])
    if perm == tuple(range(n)):
        return _replace(op, [op.operands[0]])
    inner = _producer(op.operands[0], "array.transpose")
    if inner is None:
        return False
    inner_perm = tuple(p % n for p in inner.attributes["perm"])
    composed = tuple(inner_perm[p] for p in perm)
    if composed == tuple(range(n)):
        return _replace(op, [inner.operands[0]])
    op.attributes["perm"] = composed
    op.set_operand(0, inner.operands[0])
    return True


def _reinfer_ok(op: Operation, operands: list[Value]) -> bool:
    """`op` with these operands still infers types compatible with its declared ones."""
    opdef = OPS[op.name]
    try:
        types = opdef.infer_types([v.type for v in operands], opdef.normalize_attrs(op.attributes))
    except InferenceError:
        return False
    return len(types) == len(op.results) and all(
        r.type.is_compatible_with(t) for r, t in zip(op.results, types))


def _same_shape_exactly(x: Value, result: Value) -> bool:
    """x and the result have the same shape at run time: equal shapes with at most one
    unknown dim (the element count fixes it)."""
    shape = x.type.shape
    return (shape is not None and shape == result.type.shape and x.type.dtype == result.type.dtype
            and sum(d is None for d in shape) <= 1)


def _reshape(op: Operation) -> bool:
    if op.name != "array.reshape":
        return False
    x = op.operands[0]
    if _same_shape_exactly(x, op.result):
        return _replace(op, [x])
    inner = _producer(x, "array.reshape")
    if inner is not None and _reinfer_ok(op, [inner.operands[0]]):
        op.set_operand(0, inner.operands[0])
        return True
    return False


def _broadcast_to(op: Operation) -> bool:
    if op.name != "array.broadcast_to":
        return False
    x = op.operands[0]
    if x.type.shape == tuple(op.attributes["shape"]) and x.type.dtype == op.result.type.dtype:
        return _replace(op, [x])
    inner = _producer(x, "array.broadcast_to")
    if inner is not None and _reinfer_ok(op, [inner.operands[0]]):
        op.set_operand(0, inner.operands[0])
        return True
    return False


def _broadcast_operand(op: Operation) -> bool:
    """f(x, broadcast_to(c)) -> f(x, c) (or fill) when f's result type does not change."""
    opdef = OPS.get(op.name)
    if opdef is None or not (opdef.has(ELEMENTWISE) and opdef.has(BROADCAST)):
        return False
    operands = list(op.operands)
    try:
        attrs = opdef.normalize_attrs(op.attributes)
        before = opdef.infer_types([v.type for v in operands], attrs)
    except InferenceError:
        return False
    for i, value in enumerate(operands):
        producer = _producer(value, "array.broadcast_to") or _producer(value, "array.fill")
        if producer is None:
            continue
        trial = operands[:i] + [producer.operands[0]] + operands[i + 1:]
        try:
            after = opdef.infer_types([v.type for v in trial], attrs)
        except InferenceError:
            continue
        if after == before and all(t.shape is not None for t in after):
            op.set_operand(i, producer.operands[0])
            return True
    return False


EXACT_RULES = (_identity, _binary_identity, _involution, _cast_to_same, _transpose, _reshape,
               _broadcast_to, _broadcast_operand)


# Scale and shift into contraction weights --------------------------------------------------
def _contraction_geometry(op: Operation, weights: np.ndarray):
    """(channel axis of the result, channel count) or None."""
    rank = op.result.type.rank
    if rank is None:
        return None
    if op.name in ("nn.conv2d", "nn.depthwise_conv2d") and weights.ndim == 4 and rank == 4:
        axis = 1 if op.attributes.get("data_format", "NHWC") == "NCHW" else 3
        channels = weights.shape[3] if op.name == "nn.conv2d" else weights.shape[2] * weights.shape[3]
        return axis, channels
    if op.name == "math.matmul" and weights.ndim == 2 and rank >= 2:
        channels = weights.shape[0] if op.attributes.get("transpose_b") else weights.shape[1]
        return rank - 1, channels
    return None


def _per_channel(value: Value, rank: int, axis: int, channels: int) -> np.ndarray | None:
    """A constant that varies at most along `axis` of a rank-`rank` tensor, as a float64
    vector of `channels` entries; None otherwise."""
    array = constant_value(value)
    if array is None or array.ndim > rank or array.dtype.kind != "f":
        return None
    padded = array.reshape((1,) * (rank - array.ndim) + array.shape)
    if any(d != 1 for i, d in enumerate(padded.shape) if i != axis) or padded.shape[axis] not in (1, channels):
        return None
    return np.broadcast_to(padded.reshape(-1).astype(np.float64), (channels,))


def _bias_axis(op: Operation, rank: int) -> int:
    return 1 if op.attributes.get("data_format", "NHWC") == "NCHW" else rank - 1


def _scaled_weights(op: Operation, weights: np.ndarray, scale: np.ndarray) -> np.ndarray:
    w = weights.astype(np.float64)
    if op.name == "nn.conv2d":
        w = w * scale
    elif op.name == "nn.depthwise_conv2d":
        w = w * scale.reshape(weights.shape[2], weights.shape[3])
    elif op.attributes.get("transpose_b"):
        w = w * scale[:, None]
    else:
        w = w * scale
    return w.astype(weights.dtype)


def _fold_scale_shift(op: Operation) -> bool:
    if op.name not in ("nn.conv2d", "nn.depthwise_conv2d", "math.matmul"):
        return False
    weights = constant_value(op.operands[1])
    if weights is None or op.result.type.dtype not in (dt.float32, dt.float64):
        return False
    geometry = _contraction_geometry(op, weights)
    if geometry is None:
        return False
    axis, channels = geometry
    rank = op.result.type.rank
    scale = np.ones(channels, np.float64)
    shift = np.zeros(channels, np.float64)
    chain: list[Operation] = []
    scaled = False
    current = op.result
    while len(current.uses) == 1:
        use = current.uses[0]
        user, index = use.operation, use.index
        if user.parent is not op.parent or len(user.results) != 1 or user.result.type != current.type:
            break
        others = [v for i, v in enumerate(user.operands) if i != index]
        if user.name == "nn.bias_add" and index == 0:
            if _bias_axis(user, rank) != axis:
                break
            vector = _per_channel(others[0], 1, 0, channels)
            if vector is None or others[0].type.shape != (channels,):
                break
            shift = shift + vector
        elif user.name in ("math.add", "math.sub", "math.mul", "math.real_div"):
            vector = _per_channel(others[0], rank, axis, channels)
            if vector is None or (index == 1 and user.name in ("math.sub", "math.real_div")):
                break
            if user.name == "math.add":
                shift = shift + vector
            elif user.name == "math.sub":
                shift = shift - vector
            elif user.name == "math.mul":
                scale, shift, scaled = scale * vector, shift * vector, True
            else:
                if np.any(vector == 0):
                    break
                scale, shift, scaled = scale / vector, shift / vector, True
        elif user.name == "nn.fused_batch_norm" and index == 0:
            if _bias_axis(user, rank) != axis:
                break
            params = [_per_channel(v, 1, 0, channels) for v in others]
            if any(p is None for p in params) or any(v.type.dtype != current.type.dtype for v in others):
                break
            gamma, beta, mean, variance = params
            factor = gamma / np.sqrt(variance + user.attributes.get("epsilon", 0.001))
            scale, shift, scaled = scale * factor, (shift - mean) * factor + beta, True
        else:
            break
        chain.append(user)
        current = user.result
    if not chain or (not scaled and len(chain) < 2):
        return False   # nothing to gain: a lone bias or shift is already one op
    if not (np.all(np.isfinite(scale)) and np.all(np.isfinite(shift))):
        return False
    last = chain[-1]
    if not np.all(scale == 1):
        new_weights = Builder.before_op(op).create(
            "core.constant", [], {"value": _scaled_weights(op, weights, scale)}).result
        new_weights.name_hint = op.operands[1].name_hint
        op.set_operand(1, new_weights)
    result: Value = op.result
    if np.any(shift != 0):
        bias = Builder.before_op(last).create(
            "core.constant", [], {"value": shift.astype(op.result.type.dtype.numpy)}).result
        result = Builder.before_op(last).create(
            "nn.bias_add", [op.result, bias], {"data_format": "NCHW" if axis == 1 and rank > 2 else "NHWC"},
            result_types=[op.result.type]).result
    if result.name_hint is None:
        result.name_hint = last.result.name_hint
    last.result.replace_all_uses_with(result)
    for user in reversed(chain):
        user.erase()
    return True


# The pass ----------------------------------------------------------------------------------
@register_pass
@dataclass(frozen=True)
class Simplify(Pass):
    """Algebraic identities, and per-channel scale/shift folding into constant weights."""

    name = "simplify"
    fold_scale_shift: bool = True
    max_iterations: int = 32

    def run(self, module: Module) -> bool:
        changed = False
        for function in module:
            changed |= self.simplify_block(function.body)
        return changed

    def simplify_block(self, block: Block) -> bool:
        rules = EXACT_RULES + ((_fold_scale_shift,) if self.fold_scale_shift else ())
        changed = False
        for _ in range(self.max_iterations):
            progress = False
            for op in list(block.ops):
                if op.parent is not block:
                    continue   # erased by an earlier rewrite
                for region in op.regions:
                    progress |= self.simplify_block(region)
                for rule in rules:
                    if rule(op):
                        progress = True
                        break
            changed |= progress
            if not progress:
                break
        return changed
