"""Memory planning: liveness-based reuse of the intermediate values' buffers in one arena.

Every top-level op of a function gets a time, its index in the body. A planned value (a
temporary: the result of an op that is not a constant, not an aliasing op and not stored in
the caller's result buffers) is live from the op that defines it to its last use. Aliasing ops
(reshape, squeeze, expand_dims, identity) compute nothing: their result shares its operand's
buffer, and its uses extend the life of that buffer. Uses inside an op's regions (a fused
group) count at that op.

In place: an op for which `in_place(op)` holds (the emitter passes the ops whose kernel reads
each element before writing the same element: its plain elementwise loop) may write its result
into the buffer of an operand that dies at that op, if the operand has as many elements of the
same size as the result (so element i is read from exactly where element i is written).

Buffers (a value, or a chain of values written in place) are then given 64-byte aligned
offsets, largest first, each in the smallest gap between buffers whose lives overlap its own
(best fit), or on top of them: values live at the same time never share a byte. Several
orders are tried and the smallest arena kept.

`MemoryPlan.allocate_at(time, nbytes)` places kernel scratch the same way after the values are
planned: a buffer live only during one op, in a gap free at that op.

The pass `plan-memory` records the plan as function attributes: `temp_bytes` (the arena's
peak), `temp_bytes_unplanned` (one buffer per value, as without planning) and
`memory_offsets` (per result of each top-level op in order: its byte offset in the arena, or
-1 when it is not in the arena: constants, values in result buffers, aliases of those).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Callable, ClassVar

from tfc.ir import Function, Module, Operation, Value
from tfc.ir.opdef import ELEMENTWISE, RANDOM, STATEFUL
from tfc.ir.types import TensorType

from .manager import Pass, register_pass

ALIGN = 64
ALIASING_OPS = frozenset({"array.reshape", "array.squeeze", "array.expand_dims", "core.identity"})

# Elementwise ops that are not written in place by default: their CPU kernel checks an operand
# in a pre-pass (integer division, integer pow), or may run its loop a second time over the
# same inputs (sin/cos: the fast variant, then the full-range one).
NOT_IN_PLACE = frozenset({"math.floor_div", "math.floor_mod", "math.truncate_div",
                          "math.truncate_mod", "math.pow", "math.sin", "math.cos"})

InPlace = Callable[[Operation], bool]


def align(n: int) -> int:
    return (n + ALIGN - 1) // ALIGN * ALIGN


def nbytes(type: TensorType) -> int:
    return type.num_elements * type.dtype.numpy.itemsize


def alias_source(value: Value) -> Value | None:
    """The operand whose buffer `value` shares, if an aliasing op produces it."""
    op = getattr(value, "op", None)
    if op is None or op.name not in ALIASING_OPS:
        return None
    return op.operands[value.index if op.name == "core.identity" else 0]


def alias_root(value: Value) -> Value:
    """The value whose buffer `value` shares (itself unless produced by an aliasing op)."""
    source = alias_source(value)
    while source is not None:
        value, source = source, alias_source(source)
    return value


def default_in_place(op: Operation) -> bool:
    """The IR-level rule: a pure elementwise single-result op not in NOT_IN_PLACE."""
    try:
        opdef = op.definition
    except KeyError:
        return False
    return (opdef.has(ELEMENTWISE) and not opdef.has(STATEFUL) and not opdef.has(RANDOM)
            and len(op.results) == 1 and not op.regions and op.name not in NOT_IN_PLACE)


@dataclass
class Buffer:
    """A region of the arena: one value, a chain of values written in place, or scratch."""

    values: list[Value]
    start: int
    end: int                 # inclusive: the last op at which the buffer is read or written
    size: int                # aligned bytes
    offset: int = -1

    def overlaps(self, other: "Buffer") -> bool:
        return self.start <= other.end and other.start <= self.end


@dataclass
class MemoryPlan:
    """Where each temporary of a function lives in the arena.

    offsets/sizes: per planned value (the root of its aliases), byte offset and aligned size.
    live: per planned value, (first op index, last op index) of its own life.
    results: values stored in the caller's result buffers -> result index.
    in_place: result value -> the operand value whose buffer it overwrites.
    peak_bytes: the arena's size; naive_bytes: the size with one buffer per value (and per
    scratch request), as without planning.
    """

    offsets: dict[Value, int] = field(default_factory=dict)
    sizes: dict[Value, int] = field(default_factory=dict)
    live: dict[Value, tuple[int, int]] = field(default_factory=dict)
    results: dict[Value, int] = field(default_factory=dict)
    in_place: dict[Value, Value] = field(default_factory=dict)
    buffers: list[Buffer] = field(default_factory=list)
    peak_bytes: int = 0
    naive_bytes: int = 0
    scratch: list[tuple[int, int, int]] = field(default_factory=list)   # (time, offset, size)
    reuse: bool = True

    def offset(self, value: Value) -> int | None:
        """The arena offset of `value`'s buffer (through aliases), or None if not in the arena."""
        return self.offsets.get(alias_root(value))

    @property
    def values_bytes(self) -> int:
        """The arena size needed by the values alone (without scratch)."""
        return max((b.offset + b.size for b in self.buffers if b.values), default=0)

    def allocate_at(self, time: int, size: int) -> int:
        """Place `size` bytes live only during op `time` (kernel scratch) where nothing live at
        that op is; returns the offset. The arena grows if no gap is large enough."""
        buffer = Buffer([], time, time, align(max(int(size), 1)))
        if self.reuse:
            buffer.offset = _best_fit(buffer, [b for b in self.buffers if b.overlaps(buffer)])
        else:
            buffer.offset = self.peak_bytes
        self.buffers.append(buffer)
        self.scratch.append((time, buffer.offset, buffer.size))
        self.peak_bytes = max(self.peak_bytes, buffer.offset + buffer.size)
        self.naive_bytes += buffer.size
        return buffer.offset

    def lower_bound(self) -> int:
        """The largest total size of buffers live at one op: no plan can be smaller."""
        times = {t for b in self.buffers for t in (b.start, b.end)}
        return max((sum(b.size for b in self.buffers if b.start <= t <= b.end) for t in times),
                   default=0)

    def value_offsets(self, function: Function) -> tuple[int, ...]:
        """Per result of each top-level op, in order: its arena offset, or -1."""
        out = []
        for op in function.body.ops:
            for r in op.results:
                offset = self.offset(r)
                out.append(-1 if offset is None else offset)
        return tuple(out)


def result_roots(function: Function) -> dict[Value, int]:
    """Values computed into the caller's result buffers: for each returned value whose buffer
    root is computed by a (non-constant) op, the first result index returning it. Other
    returned values (arguments, constants, a second return of the same buffer) are copied."""
    roots: dict[Value, int] = {}
    terminator = function.body.terminator
    for i, value in enumerate(terminator.operands if terminator is not None else ()):
        root = alias_root(value)
        producer = getattr(root, "op", None)
        if producer is not None and producer.name != "core.constant" and root not in roots:
            roots[root] = i
    return roots


def plan_memory(function: Function, in_place: InPlace | None = default_in_place,
                reuse: bool = True) -> MemoryPlan:
    """The liveness-based plan of `function`'s temporaries (all of static shape).
    `in_place(op)` says whether op's kernel may write its result over a dying operand (None:
    never). reuse=False gives the unplanned layout instead (one buffer per value and per
    scratch request, one after the other), for comparison."""
    plan = MemoryPlan(results=result_roots(function), reuse=reuse)
    if not reuse:
        in_place = None
    ops = function.body.ops
    planned: dict[Value, int] = {}        # planned value -> defining op index
    last_use: dict[Value, int] = {}
    for t, op in enumerate(ops):
        if op.name not in ALIASING_OPS and op.name != "core.constant":
            for r in op.results:
                if r not in plan.results:
                    if not r.type.is_static:
                        raise ValueError(f"cannot plan memory for {r.type}: the shape is not static")
                    planned[r] = t
                    last_use[r] = t
        for nested in op.walk():
            for v in nested.operands:
                root = alias_root(v)
                if root in planned:
                    last_use[root] = t

    buffer_of: dict[Value, Buffer] = {}
    for value, t in planned.items():
        size = align(max(nbytes(value.type), 1))
        plan.sizes[value] = size
        plan.live[value] = (t, last_use[value])
        plan.naive_bytes += size
        op = value.op
        donor = None
        if in_place is not None and in_place(op):
            donor = _donor(op, value, t, planned, last_use, buffer_of)
        if donor is not None:
            buffer = buffer_of[donor]
            buffer.values.append(value)
            buffer.end = max(buffer.end, last_use[value])
            plan.in_place[value] = donor
        else:
            buffer = Buffer([value], t, last_use[value], size)
            plan.buffers.append(buffer)
        buffer_of[value] = buffer

    plan.peak_bytes = _assign_offsets(plan.buffers) if reuse else _stack(plan.buffers)
    for buffer in plan.buffers:
        for value in buffer.values:
            plan.offsets[value] = buffer.offset
    return plan


def _donor(op: Operation, result: Value, t: int, planned, last_use, buffer_of) -> Value | None:
    """The operand root whose buffer `result` (op's only result) can overwrite, or None."""
    if len(op.results) != 1 or op.regions:
        return None
    count, itemsize = result.type.num_elements, result.type.dtype.numpy.itemsize
    for operand in op.operands:
        root = alias_root(operand)
        if root not in planned or last_use[root] != t or root is result:
            continue
        if nbytes(root.type) != nbytes(result.type) or buffer_of[root].size != align(max(nbytes(result.type), 1)):
            continue
        # Every operand reading this buffer must walk it exactly as the result is written.
        readers = [v for v in op.operands if alias_root(v) is root]
        if all(v.type.num_elements == count and v.type.dtype.numpy.itemsize == itemsize
               for v in readers):
            return root
    return None


def _best_fit(buffer: Buffer, placed: list[Buffer]) -> int:
    """The offset of the smallest gap between `placed` (buffers overlapping `buffer` in time)
    that holds `buffer`, or the top of them."""
    best, best_gap, top = None, None, 0
    for other in sorted(placed, key=lambda b: b.offset):
        gap = other.offset - top
        if gap >= buffer.size and (best_gap is None or gap < best_gap):
            best, best_gap = top, gap
        top = max(top, other.offset + other.size)
    return top if best is None else best


_ORDERS = (
    lambda b: (-b.size, b.start),                       # greedy by size (TFLite's)
    lambda b: (-(b.end - b.start), -b.size, b.start),   # longest lives first
    lambda b: (b.start, -b.size),                       # in program order
)


def _assign_offsets(buffers: list[Buffer]) -> int:
    """Give every buffer an offset (trying each order of _ORDERS, keeping the smallest peak);
    returns the peak."""
    best_peak, best_offsets = None, None
    for key in _ORDERS:
        placed: list[Buffer] = []
        peak = 0
        for buffer in sorted(buffers, key=key):
            buffer.offset = _best_fit(buffer, [p for p in placed if p.overlaps(buffer)])
            placed.append(buffer)
            peak = max(peak, buffer.offset + buffer.size)
        if best_peak is None or peak < best_peak:
            best_peak, best_offsets = peak, [b.offset for b in buffers]
    for buffer, offset in zip(buffers, best_offsets or []):
        buffer.offset = offset
    return best_peak or 0


def _stack(buffers: list[Buffer]) -> int:
    """One buffer after the other (no reuse); returns the total."""
    top = 0
    for buffer in buffers:
        buffer.offset = top
        top += buffer.size
    return top


def is_plannable(function: Function) -> bool:
    """Whether every value of `function` has a static shape."""
    values = list(function.args) + [r for op in function.body.ops for r in op.results]
    return all(v.type.is_static for v in values)


@register_pass
@dataclass(frozen=True)
class PlanMemory(Pass):
    """Plan each function's temporaries (see the module docstring) and record the plan as the
    function attributes `temp_bytes`, `temp_bytes_unplanned` and `memory_offsets`. Functions
    with dynamic shapes are skipped. `in_place=false` disables writing results in place."""

    name: ClassVar[str] = "plan-memory"
    target: str = "cpu"
    in_place: bool = True

    ATTRIBUTES: ClassVar[tuple[str, ...]] = ("temp_bytes", "temp_bytes_unplanned", "memory_offsets")

    def run(self, module: Module) -> bool:
        changed = False
        for function in module:
            if not is_plannable(function):
                for key in self.ATTRIBUTES:
                    changed |= function.attributes.pop(key, None) is not None
                continue
            plan = plan_memory(function, default_in_place if self.in_place else None)
            attrs = {"temp_bytes": plan.peak_bytes, "temp_bytes_unplanned": plan.naive_bytes,
                     "memory_offsets": plan.value_offsets(function)}
            for key, value in attrs.items():
                if function.attributes.get(key) != value:
                    function.attributes[key] = value
                    changed = True
        return changed
