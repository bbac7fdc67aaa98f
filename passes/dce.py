"""Dead code elimination: erase pure ops whose results nobody uses.

Ops are visited last to first, so a dead chain goes in one sweep; the sweep repeats until
nothing more is removed (nested regions are swept too). Stateful and random ops are never
removed, nor terminators, nor ops the op table does not know.
"""

from __future__ import annotations

from dataclasses import dataclass

from tfc.ir.core import Block, Module, Operation
from tfc.ir.opdef import OPS, PURE, RANDOM, STATEFUL, TERMINATOR

from .manager import Pass, register_pass


def is_removable(op: Operation) -> bool:
    """Pure, neither stateful nor random nor a terminator, with no used result."""
    opdef = OPS.get(op.name)
    if opdef is None:
        return False
    traits = opdef.traits
    if PURE not in traits or traits & {STATEFUL, RANDOM, TERMINATOR}:
        return False
    if any(result.uses for result in op.results):
        return False
    # An op with regions is as pure as what it holds.
    return all(is_removable_inside(inner) for region in op.regions for inner in region.ops)


def is_removable_inside(op: Operation) -> bool:
    opdef = OPS.get(op.name)
    if opdef is None:
        return False
    if opdef.has(TERMINATOR):
        return True
    return PURE in opdef.traits and not opdef.traits & {STATEFUL, RANDOM} and all(
        is_removable_inside(inner) for region in op.regions for inner in region.ops)


def eliminate_dead_code(block: Block) -> int:
    """Erase the dead ops of `block` (and of the regions in it); returns how many."""
    removed = 0
    while True:
        sweep = 0
        for op in reversed(list(block.ops)):
            if is_removable(op):
                op.erase()
                sweep += 1
                continue
            for region in op.regions:
                sweep += eliminate_dead_code(region)
        removed += sweep
        if not sweep:
            return removed


@register_pass
@dataclass(frozen=True)
class DeadCodeElimination(Pass):
    """Remove pure ops whose results are unused."""

    name = "dce"

    def run(self, module: Module) -> bool:
        return sum(eliminate_dead_code(f.body) for f in module) > 0
