"""Fusion by op pattern kind (TVM style): groups of ops become one `core.fusion` op, which a
backend emits as one kernel.

The op table's traits give each op its pattern kind: elementwise (ELEMENTWISE, with or without
BROADCAST), reduction, contraction (matmul, convolutions), injective (data movement) or opaque
(everything else). Three kinds of group are formed, each with one output:

  - "elementwise": a DAG of elementwise ops computing one value, evaluated in one loop nest
    over that value's shape (x*2+1 -> tanh -> *0.5 -> -x is one kernel, not five);
  - "reduction": elementwise producers folded into a reduction's input, so the reduced
    tensor is computed on the fly and never stored (reduce_sum(x*x));
  - "contraction_epilogue": math.matmul or nn.conv2d followed by nn.bias_add (or math.add of
    a bias vector) and/or nn.relu, applied by the GEMM as it stores each tile.

Rules, each of which also gives the reason printed when two neighbouring ops are not fused:

  - a value computed inside a group is used only inside it (one output per group: fusing a
    value that has other consumers would need a second output or duplicate its work);
  - every value computed inside an elementwise loop has the loop's shape (a smaller one would
    be recomputed for every element of the larger);
  - an op whose kernel checks an operand before its loop (integer division by zero, integer
    pow by a negative exponent: `PRECHECKS` in codegen/llvm/elementwise.py) takes that operand
    from outside the group;
  - random and stateful ops are never fused; neither are float16 intermediate values other
    than casts to float16 (the loop would keep them in float32 where the reference rounds each
    op to float16; a cast's scalar rounds).

Groups grow backwards from their last op (the "sink"), absorbing producers until nothing more
fits. Every decision not to fuse two neighbouring ops is collected in a `FusionReport`
(`last_report(module)` after the pass ran, `explain(module)` without rewriting), which
`tfc compile --explain-fusion` prints.

Inside a `core.fusion` the ops are the original ops, moved into the region; the region's
block arguments are the group's inputs (values computed outside, constants included), and
`core.yield` gives its output.
"""

from __future__ import annotations

import weakref
from dataclasses import dataclass, field
from pathlib import Path
from typing import ClassVar

from tfc.ir import Block, Function, Module, Operation, Value
from tfc.ir import dtypes as dt
from tfc.ir.opdef import CONTRACTION, ELEMENTWISE, INJECTIVE, RANDOM, REDUCTION, STATEFUL, get_op

from .manager import Pass, register_pass

KINDS = ("elementwise", "reduction", "contraction_epilogue")

#: Ops that check operand `index` before their loop, when that operand has an integer dtype
#: (mirrors PRECHECKS in codegen/llvm/elementwise.py; a test keeps the two in step).
RUNTIME_CHECKS: dict[str, tuple[int, str]] = {
    "math.floor_div": (1, "checks its divisor for zero"),
    "math.floor_mod": (1, "checks its divisor for zero"),
    "math.truncate_div": (1, "checks its divisor for zero"),
    "math.truncate_mod": (1, "checks its divisor for zero"),
    "math.pow": (1, "checks its exponent for negative values"),
}

#: Reductions whose input may be computed inside the group.
FUSABLE_REDUCTIONS = frozenset({"math.reduce_sum", "math.reduce_mean", "math.reduce_max",
                                "math.reduce_min", "math.reduce_prod"})
#: Contractions with a GEMM epilogue, and what the epilogue applies.
EPILOGUE_CONTRACTIONS = frozenset({"math.matmul", "nn.conv2d"})
EPILOGUE_ACTIVATIONS = frozenset({"nn.relu"})


# Pattern kinds ---------------------------------------------------------------------------------
def pattern_kind(op: Operation) -> str:
    """elementwise, reduction, contraction, injective, random, stateful, fused or opaque."""
    if op.name == "core.fusion":
        return "fused"
    try:
        opdef = get_op(op.name)
    except KeyError:
        return "opaque"
    if opdef.has(RANDOM):
        return "random"
    if opdef.has(STATEFUL):
        return "stateful"
    for trait, kind in ((ELEMENTWISE, "elementwise"), (REDUCTION, "reduction"),
                        (CONTRACTION, "contraction"), (INJECTIVE, "injective")):
        if opdef.has(trait):
            return kind
    return "opaque"


_KIND_WORDS = {
    "reduction": "is a reduction (its result is complete only after its whole input is read)",
    "contraction": "is a contraction (the GEMM reads its operands from memory; only a bias_add/relu "
                   "epilogue fuses with it)",
    "injective": "moves data (injective ops are not fused into loop nests)",
    "random": "draws random numbers (random ops are never fused)",
    "stateful": "has side effects (stateful ops are never fused)",
    "fused": "is already a fused group",
    "opaque": "is not elementwise",
}


# The report --------------------------------------------------------------------------------------
def describe(op: Operation, index: dict[int, int] | None = None) -> str:
    """`math.add (model.py:12)`, or `math.add (#7)` (its position) without a location."""
    if op.location is not None:
        where = f"{Path(op.location.file).name}:{op.location.line}"
    elif index is not None and id(op) in index:
        where = f"#{index[id(op)]}"
    else:
        return op.name
    return f"{op.name} ({where})"


@dataclass(frozen=True)
class FusedGroup:
    function: str
    kind: str
    ops: tuple[str, ...]         # descriptions, in order; the last computes the output


@dataclass(frozen=True)
class NotFused:
    function: str
    producer: str
    consumer: str
    reason: str


@dataclass
class FusionReport:
    """What the pass fused and, for every pair of neighbouring ops it did not, why."""

    groups: list[FusedGroup] = field(default_factory=list)
    not_fused: list[NotFused] = field(default_factory=list)
    ran: bool = True             # False for `explain` on a module the pass did not rewrite

    def reasons(self) -> list[str]:
        return [n.reason for n in self.not_fused]

    def format(self) -> str:
        lines = []
        functions = list(dict.fromkeys([g.function for g in self.groups] +
                                       [n.function for n in self.not_fused]))
        if not functions:
            return "fusion: nothing to fuse\n"
        for name in functions:
            groups = [g for g in self.groups if g.function == name]
            rejected = [n for n in self.not_fused if n.function == name]
            verb = "fused" if self.ran else "would fuse"
            lines.append(f"@{name}: {verb} {len(groups)} group{'s' * (len(groups) != 1)}, "
                         f"{len(rejected)} pair{'s' * (len(rejected) != 1)} not fused")
            for i, g in enumerate(groups):
                lines.append(f"  group {i} ({g.kind}, {len(g.ops)} ops): {', '.join(g.ops)}")
            for n in rejected:
                lines.append(f"  not fused: {n.producer} -> {n.consumer}: {n.reason}")
        return "\n".join(lines) + "\n"

    __str__ = format


_REPORTS: "weakref.WeakKeyDictionary[Module, FusionReport]" = weakref.WeakKeyDictionary()


def last_report(module: Module) -> FusionReport | None:
    """The report of the last `fuse` run on `module`, or None if the pass did not run on it."""
    return _REPORTS.get(module)


# The pass ---------------------------------------------------------------------------------------
@register_pass
@dataclass(frozen=True)
class Fuse(Pass):
    """Group elementwise chains, elementwise producers of reductions and matmul/conv epilogues
    into `core.fusion` ops. Options turn each kind off; `max_ops` bounds a group's size.
    `target` names the backend (cpu, mlu); the rules are the same for both for now (the GEMM
    epilogue conditions are the CPU backend's)."""

    name: ClassVar[str] = "fuse"
    target: str = "cpu"
    elementwise: bool = True
    reductions: bool = True
    epilogues: bool = True
    max_ops: int = 64

    def run(self, module: Module) -> bool:
        report = FusionReport()
        changed = False
        for function in module:
            planner = _Planner(function, self, report)
            planner.plan()
            changed |= planner.rewrite()
        _REPORTS[module] = report
        return changed


def explain(module: Module, **options) -> FusionReport:
    """The decisions `fuse` (with `options`) would take on `module`, without rewriting it."""
    fuse = Fuse(**options)
    report = FusionReport(ran=False)
    for function in module:
        _Planner(function, fuse, report).plan()
    return report


# Planning --------------------------------------------------------------------------------------
def producer(value: Value) -> Operation | None:
    return getattr(value, "op", None)


def _shape(value: Value) -> str:
    shape = value.type.shape
    return "[" + ", ".join("?" if d is None else str(d) for d in shape) + "]" if shape is not None else "[*]"


@dataclass(eq=False)
class _Group:
    kind: str
    ops: list[Operation]             # in program order once planned
    loop_shape: tuple | None = None  # elementwise/reduction groups: the loop's shape


class _Planner:
    def __init__(self, function: Function, options: Fuse, report: FusionReport):
        self.function = function
        self.options = options
        self.report = report
        self.ops = list(function.body.ops)
        self.index = {id(op): i for i, op in enumerate(self.ops)}
        self.group_of: dict[int, _Group] = {}
        self.groups: list[_Group] = []
        self.epilogue_reasons: dict[tuple[int, int], str] = {}

    # driver ------------------------------------------------------------------------------------
    def plan(self) -> None:
        if self.options.epilogues:
            for op in self.ops:
                if pattern_kind(op) == "contraction":
                    self._match_epilogue(op)
        for sink in reversed(self.ops):
            if id(sink) not in self.group_of:
                self._grow(sink)
        for group in self.groups:
            group.ops.sort(key=lambda op: self.index[id(op)])
            self.report.groups.append(FusedGroup(
                self.function.name, group.kind, tuple(describe(op, self.index) for op in group.ops)))
        self._explain_edges()

    def _add_group(self, kind: str, ops: list[Operation], loop_shape=None) -> None:
        group = _Group(kind, list(ops), loop_shape)
        self.groups.append(group)
        for op in ops:
            self.group_of[id(op)] = group

    # contraction epilogues -------------------------------------------------------------------
    def _match_epilogue(self, contraction: Operation) -> None:
        """contraction -> bias (nn.bias_add or math.add of a channel vector) -> nn.relu, each
        step optional but in this order, each value used only by the next step."""
        problem = self._epilogue_problem(contraction)
        chain, current, wanted = [contraction], contraction, ["bias", "activation"]
        while wanted:
            users = current.result.users()
            steps = [(u, s) for u in users for s in wanted if self._is_epilogue_step(u, current, s)]
            if not steps:
                break
            user, step = steps[0]
            others = [u for u in users if u is not user]
            if others:
                if any(u.name == "core.return" for u in others):
                    why = "its result is also a result of the function (the epilogue would not store it)"
                else:
                    names = ", ".join(describe(u, self.index) for u in others)
                    why = f"multiple consumers: its result is also used by {names} (the epilogue would not store it)"
                self.epilogue_reasons[(id(current), id(user))] = why
                break
            if problem is not None:
                self.epilogue_reasons[(id(current), id(user))] = problem
                break
            chain.append(user)
            current = user
            wanted = wanted[wanted.index(step) + 1:]
        if len(chain) > 1:
            self._add_group("contraction_epilogue", chain)

    def _is_epilogue_step(self, user: Operation, current: Operation, step: str) -> bool:
        """Whether `user` applies epilogue `step` ("bias" or "activation") to current's result:
        a bias along the last (channel) axis, or relu."""
        value = current.result
        if step == "activation":
            return user.name in EPILOGUE_ACTIVATIONS and user.operands[0] is value
        if not value.type.shape:
            return False
        channels = value.type.shape[-1]
        if user.name == "nn.bias_add":
            return (user.operands[0] is value and
                    (user.attributes.get("data_format", "NHWC") != "NCHW" or len(value.type.shape) == 2))
        if user.name == "math.add":
            others = [v for v in user.operands if v is not value]
            return (len(others) == 1 and others[0].type.shape == (channels,)
                    and user.result.type.shape == value.type.shape)
        return False

    def _epilogue_problem(self, op: Operation) -> str | None:
        """Why `op`'s GEMM cannot apply an epilogue (None if it can)."""
        if op.name not in EPILOGUE_CONTRACTIONS:
            return f"{op.name} has no GEMM epilogue (only math.matmul and nn.conv2d do)"
        dtype = op.result.type.dtype
        if dtype != dt.float32:
            return f"the GEMM epilogue is float32 only ({op.name} computes {dtype.name})"
        if not op.result.type.is_static:
            return f"{op.name} has an unknown shape"
        if op.name == "math.matmul" and len(op.result.type.shape) != 2:
            return "a batched math.matmul: the epilogue kernel takes 2-D products"
        if op.name == "nn.conv2d" and op.attributes.get("data_format", "NHWC") != "NHWC":
            return "nn.conv2d in NCHW: the GEMM epilogue adds the bias along rows of NHWC output"
        return None

    # elementwise and reduction groups ---------------------------------------------------------
    def _fusable_elementwise(self, op: Operation) -> bool:
        return (self.options.elementwise and pattern_kind(op) == "elementwise"
                and len(op.results) == 1 and op.result.type.is_static)

    def _fusable_reduction(self, op: Operation) -> str | None:
        """None if elementwise producers may fuse into reduction `op`, else why not."""
        if not self.options.reductions:
            return "reduction fusion is turned off"
        if op.name not in FUSABLE_REDUCTIONS:
            return f"{op.name} does not take a fused input (only reduce_sum/mean/max/min/prod do)"
        if op.operands[0].type.dtype not in (dt.float32, dt.float64):
            return f"fused reductions are float32/float64 only ({op.operands[0].type.dtype.name} here)"
        if not op.operands[0].type.is_static:
            return "the reduction's input has an unknown shape"
        return None

    def _grow(self, sink: Operation) -> None:
        if self._fusable_elementwise(sink):
            kind, loop_shape = "elementwise", sink.result.type.shape
        elif pattern_kind(sink) == "reduction" and self._fusable_reduction(sink) is None:
            kind, loop_shape = "reduction", sink.operands[0].type.shape
        else:
            return
        members = [sink]
        ids = {id(sink)}
        progress = True
        while progress and len(members) < self.options.max_ops:
            progress = False
            for member in list(members):
                for i, value in enumerate(member.operands):
                    p = producer(value)
                    if p is None or id(p) in ids or id(p) in self.group_of:
                        continue
                    if self._absorb_problem(p, member, i, ids, loop_shape, len(members)) is None:
                        members.append(p)
                        ids.add(id(p))
                        progress = True
        if kind == "reduction" and len(members) == 1:
            return
        if len(members) >= 2:
            self._add_group(kind, members, loop_shape)

    def _absorb_problem(self, p: Operation, consumer: Operation, index: int, ids: set[int],
                        loop_shape, size: int) -> str | None:
        """Why producer `p` cannot join the group (`ids`) holding `consumer`, which reads p's
        result as operand `index`; None if it can."""
        kind = pattern_kind(p)
        if kind != "elementwise":
            return f"{p.name} {_KIND_WORDS.get(kind, 'is not elementwise')}"
        if not self.options.elementwise:
            return "elementwise fusion is turned off"
        if len(p.results) != 1 or not p.result.type.is_static:
            return f"{p.name} has an unknown shape"
        if p.result.type.shape != tuple(loop_shape):
            return (f"different shapes: {p.name} gives {_shape(p.result)} but the fused loop runs "
                    f"over {list(loop_shape)} (its values would be recomputed for every element)")
        outside = [u for u in p.result.users() if id(u) not in ids]
        if outside:
            names = ", ".join(describe(u, self.index) for u in outside)
            return (f"multiple consumers: its result is also used by {names} (a group has one "
                    "output; fusing it into each consumer would duplicate its work)")
        if p.result.type.dtype == dt.float16 and p.name != "math.cast":
            # (a cast to float16 yields the rounded value itself, so it may stay inside)
            return ("a float16 intermediate value: the fused loop would keep it in float32 where "
                    "the reference rounds it to float16")
        for use in p.result.uses:                # every user is in the group by now
            check = RUNTIME_CHECKS.get(use.operation.name)
            if check is not None and check[0] == use.index and p.result.type.dtype.is_integer:
                return (f"{use.operation.name} {check[1]} before its loop (a run-time check), so "
                        "that operand must be computed outside the group")
        if size >= self.options.max_ops:
            return f"the group already has {size} ops (max_ops)"
        return None

    # reasons for the edges left between groups --------------------------------------------------
    def _explain_edges(self) -> None:
        seen = set()
        for consumer in self.ops:
            if consumer.name == "core.return":
                continue
            for i, value in enumerate(consumer.operands):
                p = producer(value)
                if p is None or p.name == "core.constant" or (id(p), id(consumer)) in seen:
                    continue
                seen.add((id(p), id(consumer)))
                gp, gc = self.group_of.get(id(p)), self.group_of.get(id(consumer))
                if gp is not None and gp is gc:
                    continue
                reason = self._edge_reason(p, consumer, i, gp, gc)
                if reason is not None:
                    self.report.not_fused.append(NotFused(
                        self.function.name, describe(p, self.index), describe(consumer, self.index),
                        reason))

    def _edge_reason(self, p: Operation, c: Operation, index: int, gp, gc) -> str | None:
        key = (id(p), id(c))
        if key in self.epilogue_reasons:
            return self.epilogue_reasons[key]
        pk, ck = pattern_kind(p), pattern_kind(c)
        if "fused" in (pk, ck):
            return None
        p_fusable = self._fusable_elementwise(p)
        c_fusable = self._fusable_elementwise(c) or (ck == "reduction" and p_fusable)
        if not p_fusable and not c_fusable:
            return None          # neither side could join a loop nest: nothing to explain
        if ck == "reduction":
            why = self._fusable_reduction(c)
            if why is not None:
                return why
        elif not c_fusable:
            return f"{c.name} {_KIND_WORDS.get(ck, 'is not elementwise')}"
        if gp is not None and gp.kind == "contraction_epilogue":
            return (f"{p.name} ends a {gp.ops[0].name} epilogue group (the GEMM epilogue applies "
                    "bias_add and relu only)")
        if gc is not None and gc.kind == "contraction_epilogue":
            return f"{c.name} is in a {gc.ops[0].name} epilogue group (only the GEMM's result feeds it)"
        if gc is not None:
            ids, loop_shape, size = {id(o) for o in gc.ops}, gc.loop_shape, len(gc.ops)
        else:
            ids = {id(c)}
            loop_shape = c.operands[0].type.shape if ck == "reduction" else c.result.type.shape
            size = 1
        why = self._absorb_problem(p, c, index, ids, loop_shape, size)
        if why is None and gp is not None:
            # p heads its own group and its result leaves that group.
            why = f"{p.name} is the output of another group"
        return why

    # rewriting ---------------------------------------------------------------------------------
    def rewrite(self) -> bool:
        for group in self.groups:
            outline(group.ops, group.kind)
        return bool(self.groups)


def outline(ops: list[Operation], kind: str) -> Operation:
    """Move `ops` (in program order, one block; only the last one's result may be used outside
    them) into a new `core.fusion` placed where the last one was; return it."""
    sink = ops[-1]
    parent = sink.parent
    members = {id(op) for op in ops}
    inputs: list[Value] = []
    seen: set[int] = set()
    for op in ops:
        for value in op.operands:
            if id(value) not in seen and id(getattr(value, "op", None)) not in members:
                seen.add(id(value))
                inputs.append(value)
    for op in ops[:-1]:
        for result in op.results:
            if any(id(u.operation) not in members for u in result.uses):
                raise ValueError(f"cannot outline: the result of {op.name} is used outside the group")
    region = Block([v.type for v in inputs], [v.name_hint for v in inputs])
    outputs = list(sink.results)
    fusion = Operation("core.fusion", inputs, [v.type for v in outputs], {"kind": kind},
                       sink.location, [region])
    for new, old in zip(fusion.results, outputs):
        new.name_hint = old.name_hint
    parent.insert_before(sink, fusion)
    for old, new in zip(outputs, fusion.results):
        old.replace_all_uses_with(new)
    arg_of = {id(v): arg for v, arg in zip(inputs, region.args)}
    for op in ops:
        parent.remove(op)
        for i, value in enumerate(op.operands):
            if id(value) in arg_of:
                op.set_operand(i, arg_of[id(value)])
        region.append(op)
    region.append(Operation("core.yield", outputs, [], {}, sink.location))
    return fusion


def count_kernels(function: Function) -> int:
    """Ops that become kernels: everything but constants, the return and aliasing ops (a
    fused group counts once)."""
    skip = {"core.constant", "core.return", "array.reshape", "array.squeeze", "array.expand_dims",
            "core.identity"}
    return sum(op.name not in skip for op in function.body.ops)
