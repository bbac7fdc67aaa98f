"""Layout transform: give every layout-sensitive op the target's data layout.

Both of tfc's targets want channels innermost (NHWC):

    cpu  the convolution is im2col + a packed GEMM whose reduction dim (kh * kw * Ci) is then
         contiguous, and the pooling, bias and batch-norm loops vectorize over channels;
         a blocked NCHWc layout would only pay with a direct convolution kernel, which tfc
         does not have
    mlu  the MLU's conv, pooling and cycle (bias) intrinsics take HWC data (BANG.md)

So an op with `data_format = "NCHW"` (conv2d, depthwise_conv2d, max_pool, avg_pool, bias_add,
fused_batch_norm) becomes the NHWC op between two transposes:

    transpose(x, [0, 2, 3, 1]) -> op (NHWC) -> transpose(y, [0, 3, 1, 2])

The transposes then move towards each other: a transpose feeding an elementwise op whose
other operands are scalars, constants or transposes with the same permutation moves below
it (`relu(transpose(a, p)) -> transpose(relu(a), p)`), and a transpose feeding a reduction
whose kept axes stay in order moves below it or disappears (`reduce(transpose(a, p), axes)
-> reduce(a, p[axes])`). Two transposes that meet compose, and cancel when they compose to
the identity. An NCHW network thus keeps one transpose at its input and one where it leaves
the 4-D world (a flatten), whatever its depth.

Every rewrite is exact: transposes only move data.
"""

from __future__ import annotations

from dataclasses import dataclass

from tfc.ir.builder import Builder
from tfc.ir.core import Block, Module, Operation, OpResult, Value, replace_op
from tfc.ir.opdef import ELEMENTWISE, OPS, REDUCTION

from .fold import constant_value
from .manager import Pass, register_pass

TO_NHWC = (0, 2, 3, 1)
TO_NCHW = (0, 3, 1, 2)
LAYOUT_OPS = ("nn.conv2d", "nn.depthwise_conv2d", "nn.max_pool", "nn.avg_pool", "nn.bias_add",
              "nn.fused_batch_norm")
TARGET_LAYOUT = {"cpu": "NHWC", "mlu": "NHWC"}


def _transpose_of(value: Value) -> Operation | None:
    if isinstance(value, OpResult) and value.op.name == "array.transpose":
        return value.op
    return None


def _perm(op: Operation) -> tuple[int, ...]:
    n = len(op.attributes["perm"])
    return tuple(p % n for p in op.attributes["perm"])


def _inverse(perm: tuple[int, ...]) -> tuple[int, ...]:
    inverse = [0] * len(perm)
    for i, p in enumerate(perm):
        inverse[p] = i
    return tuple(inverse)


def _replace(op: Operation, values: list[Value]) -> None:
    for result, value in zip(op.results, values):
        if value.name_hint is None:
            value.name_hint = result.name_hint
    replace_op(op, values)


# NCHW ops -> NHWC ops between transposes ----------------------------------------------------
def _to_nhwc(op: Operation) -> bool:
    if op.name not in LAYOUT_OPS or op.attributes.get("data_format", "NHWC") != "NCHW":
        return False
    if op.operands[0].type.rank != 4:
        return False          # bias_add on a rank-3 NCHW value: left as it is
    b = Builder.before_op(op)
    x = b.op("array.transpose", op.operands[0], perm=TO_NHWC)
    attrs = dict(op.attributes, data_format="NHWC")
    new = b.create(op.name, [x, *op.operands[1:]], attrs)
    outputs = [b.op("array.transpose", new.results[0], perm=TO_NCHW)] + list(new.results[1:])
    _replace(op, outputs)
    return True


# Moving transposes down ---------------------------------------------------------------------
def _movable_operand(value: Value, rank: int) -> bool:
    """A scalar, or a constant that broadcasts at `rank` (it is transposed along)."""
    if value.type.rank == 0:
        return True
    return (constant_value(value) is not None and value.type.shape is not None
            and value.type.rank <= rank)


def _sink_through_elementwise(op: Operation) -> bool:
    """f(transpose(a, p), c...) -> transpose(f(a, c'...), p) for an elementwise op whose other
    operands are scalars, constants (transposed by p's inverse, which constant folding then
    does once) or transposes by the same p. Only single-use transposes move, so no transpose is
    ever duplicated."""
    opdef = OPS.get(op.name)
    if opdef is None or not opdef.has(ELEMENTWISE) or len(op.results) != 1 or op.regions:
        return False
    rank = op.result.type.rank
    if rank is None:
        return False
    perm = None
    for value in op.operands:
        t = _transpose_of(value)
        if t is not None and len(value.uses) == 1 and t.operands[0].type.rank == rank:
            perm = _perm(t) if perm is None else perm
            if _perm(t) != perm:
                return False
    if perm is None:
        return False
    moving = [t is not None and _perm(t) == perm and len(v.uses) == 1
              for v, t in ((v, _transpose_of(v)) for v in op.operands)]
    if not all(m or _movable_operand(v, rank) for v, m in zip(op.operands, moving)):
        return False
    b = Builder.before_op(op)
    inverse = _inverse(perm)
    operands = []
    for value, moves in zip(op.operands, moving):
        if moves:
            operands.append(value.op.operands[0])
        elif value.type.rank == 0:
            operands.append(value)
        else:                   # a constant of rank <= rank: align the rank, then transpose
            full = (1,) * (rank - value.type.rank) + tuple(value.type.shape)
            if full != tuple(value.type.shape):
                value = b.op("array.reshape", value, shape=full)
            operands.append(b.op("array.transpose", value, perm=inverse))
    new = b.create(op.name, operands, op.attributes)
    _replace(op, [b.op("array.transpose", new.result, perm=perm)])
    return True


def _sink_through_reduction(op: Operation) -> bool:
    """reduce(transpose(a, p), axes) -> reduce(a, p[axes]) when the kept axes stay in order
    (with keep_dims, the transpose moves below the reduction instead)."""
    opdef = OPS.get(op.name)
    if opdef is None or not opdef.has(REDUCTION) or "keep_dims" not in op.attributes \
            or op.attributes.get("axes") is None or len(op.operands) != 1:
        return False
    t = _transpose_of(op.operands[0])
    if t is None or len(op.operands[0].uses) != 1:
        return False
    perm = _perm(t)
    axes = sorted({a % len(perm) for a in op.attributes["axes"]})
    b = Builder.before_op(op)
    attrs = dict(op.attributes, axes=tuple(sorted(perm[a] for a in axes)))
    if op.attributes["keep_dims"]:
        new = b.create(op.name, [t.operands[0]], attrs)
        _replace(op, [b.op("array.transpose", new.result, perm=perm)])
        return True
    kept = [perm[i] for i in range(len(perm)) if i not in axes]
    if kept != sorted(kept):
        return False
    _replace(op, [b.create(op.name, [t.operands[0]], attrs).result])
    return True


def _cancel(op: Operation) -> bool:
    """transpose(transpose(x, p), q) -> transpose(x, p[q]), or x when that is the identity."""
    if op.name != "array.transpose":
        return False
    perm = _perm(op)
    if perm == tuple(range(len(perm))):
        _replace(op, [op.operands[0]])
        return True
    inner = _transpose_of(op.operands[0])
    if inner is None:
        return False
    composed = tuple(_perm(inner)[p] for p in perm)
    if composed == tuple(range(len(perm))):
        _replace(op, [inner.operands[0]])
    else:
        op.attributes["perm"] = composed
        op.set_operand(0, inner.operands[0])
    return True


def _erase_dead_transposes(block: Block) -> None:
    for op in reversed(list(block.ops)):
        if op.name in ("array.transpose", "array.reshape", "core.constant") \
                and not any(r.uses for r in op.results):
            op.erase()


RULES = (_to_nhwc, _sink_through_elementwise, _sink_through_reduction, _cancel)


@register_pass
@dataclass(frozen=True)
class Layout(Pass):
    """NCHW layout-sensitive ops to the target's NHWC, with the transposes moved together and
    cancelled."""

    name = "layout"
    target: str = "cpu"
    max_iterations: int = 64

    def run(self, module: Module) -> bool:
        if self.target not in TARGET_LAYOUT:
            raise ValueError(f"layout: unknown target '{self.target}' "
                             f"(targets: {', '.join(sorted(TARGET_LAYOUT))})")
        changed = False
        for function in module:
            changed |= self._run_block(function.body)
        return changed

    def _run_block(self, block: Block) -> bool:
        changed = False
        for _ in range(self.max_iterations):
            progress = False
            for op in list(block.ops):
                if op.parent is not block:
                    continue
                for rule in RULES:
                    if rule(op):
                        progress = True
                        break
            changed |= progress
            if not progress:
                break
        if changed:
            _erase_dead_transposes(block)
        return changed
