"""Common subexpression elimination: merge identical pure ops.

Two ops are identical when they have the same name, the same operands (the same SSA values,
in the same order), equal attributes and the same result types. Tensor attributes (constant
values) compare by value: same dtype and shape, equal elements with NaN equal to NaN and,
beyond np.array_equal, zeros of the same sign, since 0.0 and -0.0 are different constants
(1/x tells them apart). The later op is replaced by the earlier one. Stateful and random ops
(random ops are stateful in the op table), terminators, unknown ops and ops with regions are
never merged. Each block is its own scope (regions are isolated from the values around them).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from tfc.ir.core import Block, Module, Operation, replace_op
from tfc.ir.opdef import OPS, PURE, RANDOM, STATEFUL, TERMINATOR

from .manager import Pass, register_pass


def tensors_equal(a: np.ndarray, b: np.ndarray) -> bool:
    """Same dtype, shape and elements (NaN equals NaN; -0.0 differs from 0.0)."""
    if a is b:
        return True
    if a.dtype != b.dtype or a.shape != b.shape:
        return False
    kind = a.dtype.kind
    if kind == "c":
        return tensors_equal(a.real, b.real) and tensors_equal(a.imag, b.imag)
    if kind == "f":
        return (np.array_equal(a, b, equal_nan=True)
                and np.array_equal(np.signbit(a), np.signbit(b)))
    if kind == "O":
        return all(x == y for x, y in zip(a.flat, b.flat))
    return np.array_equal(a, b)


def attr_equal(x: Any, y: Any) -> bool:
    if isinstance(x, np.ndarray) or isinstance(y, np.ndarray):
        return isinstance(x, np.ndarray) and isinstance(y, np.ndarray) and tensors_equal(x, y)
    if isinstance(x, (tuple, list)) and isinstance(y, (tuple, list)):
        return len(x) == len(y) and all(attr_equal(a, b) for a, b in zip(x, y))
    if isinstance(x, float) and isinstance(y, float):
        # Exact, sign of zero included; NaN matches NaN.
        return (x == y and np.signbit(x) == np.signbit(y)) or (x != x and y != y)
    return type(x) is type(y) and x == y


def attrs_equal(a: dict, b: dict) -> bool:
    return a.keys() == b.keys() and all(attr_equal(a[k], b[k]) for k in a)


def _attr_key(value: Any):
    """A hashable summary of an attribute: equal attributes have equal keys."""
    if isinstance(value, np.ndarray):
        return ("tensor", value.dtype.str, value.shape)
    if isinstance(value, (tuple, list)):
        return tuple(_attr_key(v) for v in value)
    if isinstance(value, float):
        return ("float",)   # NaN != NaN: compare floats exactly in attrs_equal instead
    return (type(value).__name__, value)


def is_mergeable(op: Operation) -> bool:
    opdef = OPS.get(op.name)
    if opdef is None or op.regions:
        return False
    return PURE in opdef.traits and not opdef.traits & {STATEFUL, RANDOM, TERMINATOR}


def _key(op: Operation):
    return (op.name, tuple(id(v) for v in op.operands),
            tuple(r.type for r in op.results),
            tuple((k, _attr_key(v)) for k, v in sorted(op.attributes.items())))


def eliminate_common_subexpressions(block: Block) -> int:
    """Merge identical ops of `block` (and, separately, of each region in it); returns how many
    ops were removed."""
    removed = 0
    seen: dict[Any, list[Operation]] = {}
    for op in list(block.ops):
        for region in op.regions:
            removed += eliminate_common_subexpressions(region)
        if not is_mergeable(op):
            continue
        candidates = seen.setdefault(_key(op), [])
        for earlier in candidates:
            if attrs_equal(earlier.attributes, op.attributes):
                for old, new in zip(op.results, earlier.results):
                    if new.name_hint is None:
                        new.name_hint = old.name_hint
                replace_op(op, list(earlier.results))
                removed += 1
                break
        else:
            candidates.append(op)
    return removed


@register_pass
@dataclass(frozen=True)
class CommonSubexpressionElimination(Pass):
    """Merge identical pure ops."""

    name = "cse"

    def run(self, module: Module) -> bool:
        return sum(eliminate_common_subexpressions(f.body) for f in module) > 0
