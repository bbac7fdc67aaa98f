"""Lowering a pruned graph to one IR function, as `Session.run` compiles it.

Feeds and the variables the run reads become the function's arguments, fetched tensors and the
variables it writes become its results, and each random op gets a counter argument (the Philox
block where this execution starts). Ops are lowered in graph creation order, which respects
data and control dependencies, so a variable read placed after an assign (through a control
dependency, or simply later in the program) sees the assigned value.

A variable's snapshot (`v/read`, the Identity that `v` stands for in expressions) is read where
it is used, not where it was created: TF's snapshot of a ref variable shares the variable's
buffer, so a consumer (or a fetch) that runs after an assign sees the assigned value, and tfc
gives that value deterministically.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from tfc.ir import dtypes as dt
from tfc.ir.builder import BuildError
from tfc.ir.core import Block, Function, Module, Value
from tfc.ir.opdef import InferenceError
from tfc.ir.types import TensorType
from tfc.ir import philox
from tfc.ir.verifier import verify

from . import errors
from .folding import FoldingBuilder
from .framework import Operation, Tensor, VariableRef, is_variable, tf_dtype_name, tf_shape_text


@dataclass
class Lowered:
    """A compiled run: the IR function and how its arguments and results bind to the graph."""

    module: Module
    feeds: list[Tensor]                       # arguments 0..len(feeds)-1
    variable_reads: list[tuple[Operation, Operation]]  # (variable op, first reader), next arguments
    random_ops: list[tuple[Operation, int]]   # (op, blocks it reserves per execution), last arguments
    fetches: list[Tensor]                     # the first results
    variable_writes: list[Operation]          # the remaining results
    ir_to_graph: dict[int, Operation] = field(default_factory=dict)
    native: object = None                     # the compiled function, once the session JITs it
    native_error: str | None = None           # why the native backend could not compile it

    @property
    def function(self) -> Function:
        return self.module["main"]


class LoweringError(errors.InvalidArgumentError):
    pass


class LoweringContext:
    """The lowering-rule context at run time (compare framework.InferContext)."""

    inferring = False

    def __init__(self, variable_types: dict[Operation, TensorType]):
        self.variable_types = variable_types
        self.block = Block()
        self.b = FoldingBuilder(self.block)
        self.op: Operation | None = None
        self.current: dict[Operation, Value] = {}
        self.reads: list[tuple[Operation, Operation, Value]] = []
        self.fed_variables: set[Operation] = set()   # whose ref tensor is fed: reads see the feed
        self.writes: list[Operation] = []
        self.randoms: list[tuple[Operation, Value, str, dict]] = []

    def static(self, value: Value) -> np.ndarray | None:
        return self.b.static(value)

    def unknown(self, type: TensorType) -> Value:
        raise errors.run_error(LoweringError, self.op, f"{self.op.type} '{self.op.name}' needs a "
                               "value that is known when the graph runs (computed from constants "
                               "and static shapes)")

    def read_variable(self, var_op: Operation, reader: Operation | None = None) -> Value:
        if var_op not in self.current:
            type = self.variable_types.get(var_op, var_op.outputs[0].ir_type)
            arg = _placeholder_arg(self.block, type, var_op.name)
            self.reads.append((var_op, reader or self.op, arg))
            self.current[var_op] = arg
        return self.current[var_op]

    def write_variable(self, var_op: Operation, value: Value) -> None:
        if var_op in self.fed_variables:
            dtype = tf_dtype_name(var_op.outputs[0].dtype)
            raise errors.run_error(errors.InvalidArgumentError, self.op, f"Input 0 of node "
                                   f"{self.op.name} was passed {dtype} from {var_op.name}:0 "
                                   f"incompatible with expected {dtype}_ref.")
        self.current[var_op] = value
        if var_op not in self.writes:
            self.writes.append(var_op)

    def random_counter(self, kind: str, **options) -> Value:
        arg = _placeholder_arg(self.block, TensorType((), dt.int64), f"{self.op.name}/counter")
        self.randoms.append((self.op, arg, kind, options))
        return arg

    def input(self, tensor: Tensor, values: dict[int, Value]):
        if is_variable(tensor):             # (a fed variable too: its reads see the feed)
            return VariableRef(tensor.op)
        if id(tensor) in values:
            return values[id(tensor)]
        if is_snapshot(tensor.op):
            return self.read_variable(tensor.op.inputs[0].op, reader=tensor.op)
        raise AssertionError(f"{tensor.name} was not lowered before its use")


def is_snapshot(op: Operation) -> bool:
    """An Identity of a variable's ref: `v/read`, `v.read_value()`, `tf.identity(v)`."""
    return op.type == "Identity" and len(op.inputs) == 1 and is_variable(op.inputs[0])


def _placeholder_arg(block: Block, type: TensorType, name: str) -> Value:
    """Function arguments are added as they are discovered; they are ordered at the end."""
    return block.add_arg(type, name)


def prune(fetches: list[Tensor | Operation], fed: set[int]) -> list[Operation]:
    """The ops the fetches need (through inputs and control inputs), in creation order."""
    needed: set[int] = set()
    stack = [f.op if isinstance(f, Tensor) else f for f in fetches]
    for f in fetches:
        if isinstance(f, Tensor) and id(f) in fed:
            stack.remove(f.op)
    graph = (fetches[0].graph if fetches else None)
    while stack:
        op = stack.pop()
        if id(op) in needed:
            continue
        needed.add(id(op))
        for t in op.inputs:
            if id(t) not in fed:
                stack.append(t.op)
        stack.extend(op.control_inputs)
    return [op for op in graph._ops if id(op) in needed] if graph else []


def lower(fetches: list[Tensor | Operation], feeds: dict[Tensor, TensorType],
          variable_types: dict[Operation, TensorType] | None = None) -> Lowered:
    """Lower what `fetches` need into an IR function whose first arguments are `feeds` (with
    the given concrete types); variables read have their static type, or the one given in
    `variable_types` (for those whose static shape is not fully known)."""
    ctx = LoweringContext(variable_types or {})
    values: dict[int, Value] = {}
    feed_list = list(feeds)
    for tensor in feed_list:
        values[id(tensor)] = ctx.block.add_arg(feeds[tensor], tensor.name)
        if is_variable(tensor):          # a fed variable: every read in this run sees the feed
            ctx.current[tensor.op] = values[id(tensor)]
            ctx.fed_variables.add(tensor.op)
    ir_to_graph: dict[int, Operation] = {}
    for op in prune(fetches, {id(t) for t in feed_list}):
        if op.type == "VariableV2" or is_snapshot(op):
            continue            # read where used (see the module's docstring)
        if op.type == "Placeholder":
            shape = op.outputs[0].shape
            shape = "" if shape.ndims is None else f" and shape {tf_shape_text(shape.as_tuple())}"
            raise errors.run_error(errors.InvalidArgumentError, op, "You must feed a value for "
                                   f"placeholder tensor '{op.name}' with dtype "
                                   f"{tf_dtype_name(op.outputs[0].dtype)}{shape}")
        ctx.op = op
        ctx.b.location = op.location
        before = len(ctx.block.ops)
        inputs = [ctx.input(t, values) for t in op.inputs]
        try:
            outputs = op._lower(ctx, op, *inputs)
        except (BuildError, InferenceError) as e:
            raise errors.run_error(errors.InvalidArgumentError, op, str(e)) from None
        outputs = [] if outputs is None else outputs if isinstance(outputs, (list, tuple)) else [outputs]
        for i, (random_op, arg, kind, options) in enumerate(ctx.randoms):
            if random_op is op:   # reserve by the element count this execution really draws
                count = outputs[0].type.num_elements if outputs else 0
                ctx.randoms[i] = (op, arg, kind, philox.blocks_reserved(kind, count, **options))
        for ir_op in ctx.block.ops[before:]:
            ir_to_graph[id(ir_op)] = op
        for tensor, value in zip(op.outputs, outputs):
            if id(tensor) not in values:
                values[id(tensor)] = value
    results = []
    fetch_tensors = [f for f in fetches if isinstance(f, Tensor)]
    for tensor in fetch_tensors:
        if is_variable(tensor):
            results.append(ctx.read_variable(tensor.op, reader=tensor.op))
        else:
            results.append(ctx.input(tensor, values))
    results += [ctx.current[v] for v in ctx.writes]
    # Arguments in a fixed order: feeds, variable reads, random counters.
    order = list(ctx.block.args[:len(feed_list)]) + [a for _, _, a in ctx.reads] + [a for _, a, _, _ in ctx.randoms]
    ctx.block.args[:] = order
    for i, arg in enumerate(ctx.block.args):
        arg.index = i
    ctx.b.create("core.return", results)
    function = Function("main", ctx.block, [v.type for v in results])
    module = Module([function])
    verify(module)
    randoms = [(op, blocks) for op, _, _, blocks in ctx.randoms]
    return Lowered(module, feed_list, [(v, reader) for v, reader, _ in ctx.reads], randoms,
                   fetch_tensors, list(ctx.writes), ir_to_graph)
