"""The IR's data structures: SSA values with use lists, operations, blocks, functions, modules.

A Module holds Functions; a Function owns one Block whose arguments are the function's
arguments and whose last operation is `core.return`. An Operation may own regions (one Block
each), which fusion uses to group ops into one kernel. Every value is defined exactly once and
knows its uses, so rewrites (`replace_all_uses_with`, `erase`) stay consistent.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Iterator

from .types import TensorType


@dataclass(frozen=True)
class Location:
    """Where an op came from: the model file and line (column optional)."""

    file: str
    line: int
    column: int | None = None

    def __str__(self) -> str:
        col = f":{self.column}" if self.column is not None else ""
        return f"{self.file}:{self.line}{col}"


@dataclass(frozen=True)
class Use:
    """Operand number `index` of `operation` reads the value."""

    operation: "Operation"
    index: int


class Value:
    """An SSA value: defined once (an op result or a block argument), used by many."""

    def __init__(self, type: TensorType, name_hint: str | None = None):
        if not isinstance(type, TensorType):
            raise TypeError(f"a value's type must be a TensorType, got {type!r}")
        self.type = type
        self.name_hint = name_hint
        self.uses: list[Use] = []

    @property
    def owner(self):
        raise NotImplementedError

    def replace_all_uses_with(self, new: Value) -> None:
        """Make every user read `new` instead of this value."""
        if new is self:
            return
        for use in list(self.uses):
            use.operation.set_operand(use.index, new)

    def has_uses(self) -> bool:
        return bool(self.uses)

    def users(self) -> list[Operation]:
        seen: dict[int, Operation] = {}
        for use in self.uses:
            seen.setdefault(id(use.operation), use.operation)
        return list(seen.values())


class OpResult(Value):
    def __init__(self, type: TensorType, op: Operation, index: int, name_hint: str | None = None):
        super().__init__(type, name_hint)
        self.op = op
        self.index = index

    @property
    def owner(self) -> Operation:
        return self.op

    def __repr__(self) -> str:
        return f"<OpResult {self.op.name}#{self.index} : {self.type}>"


class BlockArgument(Value):
    def __init__(self, type: TensorType, block: Block, index: int, name_hint: str | None = None):
        super().__init__(type, name_hint)
        self.block = block
        self.index = index

    @property
    def owner(self) -> Block:
        return self.block

    def __repr__(self) -> str:
        return f"<BlockArgument #{self.index} : {self.type}>"


class Operation:
    """One op: `name` is its op-table key (`nn.conv2d`); attributes are plain Python values
    (int, float, bool, str, DType, tuple, numpy array) checked against the op's schema by the
    verifier."""

    def __init__(
        self,
        name: str,
        operands: list[Value] = (),
        result_types: list[TensorType] = (),
        attributes: dict[str, Any] | None = None,
        location: Location | None = None,
        regions: list[Block] = (),
    ):
        self.name = name
        self.attributes: dict[str, Any] = dict(attributes or {})
        self.location = location
        self.parent: Block | None = None
        self._operands: list[Value] = []
        for value in operands:
            self._append_operand(value)
        self.results = [OpResult(t, self, i) for i, t in enumerate(result_types)]
        self.regions: list[Block] = []
        for block in regions:
            self.add_region(block)

    # operands ----------------------------------------------------------------------------
    @property
    def operands(self) -> tuple[Value, ...]:
        return tuple(self._operands)

    def _append_operand(self, value: Value) -> None:
        if not isinstance(value, Value):
            raise TypeError(f"operand of {self.name} must be a Value, got {value!r}")
        value.uses.append(Use(self, len(self._operands)))
        self._operands.append(value)

    def set_operand(self, index: int, value: Value) -> None:
        old = self._operands[index]
        old.uses.remove(Use(self, index))
        self._operands[index] = value
        value.uses.append(Use(self, index))

    def set_operands(self, values: list[Value]) -> None:
        self._drop_operand_uses()
        self._operands = []
        for value in values:
            self._append_operand(value)

    def _drop_operand_uses(self) -> None:
        for i, value in enumerate(self._operands):
            value.uses.remove(Use(self, i))

    # regions -----------------------------------------------------------------------------
    def add_region(self, block: Block) -> None:
        if block.parent_op is not None or block.function is not None:
            raise ValueError("block already belongs to another op or function")
        block.parent_op = self
        self.regions.append(block)

    # structure ---------------------------------------------------------------------------
    @property
    def result(self) -> OpResult:
        """The single result of a one-result op."""
        if len(self.results) != 1:
            raise ValueError(f"{self.name} has {len(self.results)} results, not one")
        return self.results[0]

    @property
    def definition(self):
        """This op's entry in the op table (raises KeyError for an unknown op)."""
        from .opdef import get_op

        return get_op(self.name)

    def walk(self) -> Iterator[Operation]:
        """This op, then every op nested in its regions, in order."""
        yield self
        for block in self.regions:
            yield from block.walk()

    def erase(self) -> None:
        """Remove this op from its block. Its results must be unused."""
        for result in self.results:
            if result.uses:
                users = ", ".join(sorted({u.operation.name for u in result.uses}))
                raise ValueError(f"cannot erase {self.name}: result {result.index} is used by {users}")
        for block in self.regions:
            for op in reversed(list(block.ops)):
                op.erase()
        self._drop_operand_uses()
        self._operands = []
        if self.parent is not None:
            self.parent.remove(self)

    def __repr__(self) -> str:
        loc = f" @ {self.location}" if self.location else ""
        return f"<Operation {self.name}{loc}>"


class Block:
    """A list of operations with typed arguments."""

    def __init__(self, arg_types: list[TensorType] = (), arg_names: list[str | None] | None = None):
        names = list(arg_names) if arg_names is not None else [None] * len(arg_types)
        self.args: list[BlockArgument] = [
            BlockArgument(t, self, i, n) for i, (t, n) in enumerate(zip(arg_types, names))
        ]
        self.ops: list[Operation] = []
        self.parent_op: Operation | None = None
        self.function: Function | None = None

    def add_arg(self, type: TensorType, name: str | None = None) -> BlockArgument:
        arg = BlockArgument(type, self, len(self.args), name)
        self.args.append(arg)
        return arg

    def erase_arg(self, index: int) -> None:
        arg = self.args[index]
        if arg.uses:
            raise ValueError(f"cannot erase block argument {index}: it is used")
        del self.args[index]
        for i, a in enumerate(self.args):
            a.index = i

    def append(self, op: Operation) -> Operation:
        return self.insert(len(self.ops), op)

    def insert(self, index: int, op: Operation) -> Operation:
        if op.parent is not None:
            raise ValueError(f"{op.name} is already in a block")
        op.parent = self
        self.ops.insert(index, op)
        return op

    def insert_before(self, anchor: Operation, op: Operation) -> Operation:
        return self.insert(self._index(anchor), op)

    def insert_after(self, anchor: Operation, op: Operation) -> Operation:
        return self.insert(self._index(anchor) + 1, op)

    def remove(self, op: Operation) -> None:
        self.ops.pop(self._index(op))
        op.parent = None

    def _index(self, op: Operation) -> int:
        for i, candidate in enumerate(self.ops):
            if candidate is op:
                return i
        raise ValueError(f"{op.name} is not in this block")

    @property
    def terminator(self) -> Operation | None:
        return self.ops[-1] if self.ops else None

    def walk(self) -> Iterator[Operation]:
        for op in list(self.ops):
            yield from op.walk()


def insert_before(anchor: Operation, op: Operation) -> Operation:
    """Insert `op` just before `anchor` in anchor's block."""
    return anchor.parent.insert_before(anchor, op)


def insert_after(anchor: Operation, op: Operation) -> Operation:
    """Insert `op` just after `anchor` in anchor's block."""
    return anchor.parent.insert_after(anchor, op)


def replace_op(op: Operation, new_values: list[Value]) -> None:
    """Make users of `op`'s results read `new_values` instead, then erase `op`."""
    if len(new_values) != len(op.results):
        raise ValueError(f"{op.name} has {len(op.results)} results, got {len(new_values)} replacements")
    for result, new in zip(op.results, new_values):
        result.replace_all_uses_with(new)
    op.erase()


class Function:
    """A named function: typed arguments (its block's arguments), typed results (the operands
    of the final `core.return`), and free-form attributes."""

    def __init__(self, name: str, body: Block, result_types: list[TensorType],
                 attributes: dict[str, Any] | None = None):
        if body.function is not None or body.parent_op is not None:
            raise ValueError("block already belongs to another function or op")
        self.name = name
        self.body = body
        body.function = self
        self.result_types = list(result_types)
        self.attributes: dict[str, Any] = dict(attributes or {})
        self.module: Module | None = None

    @property
    def args(self) -> list[BlockArgument]:
        return self.body.args

    @property
    def arg_types(self) -> list[TensorType]:
        return [a.type for a in self.body.args]

    def walk(self) -> Iterator[Operation]:
        return self.body.walk()

    def clone(self) -> Function:
        """A deep copy: new blocks, ops and values; attribute values (constants' arrays
        included) are shared, since passes replace attributes rather than mutate them."""
        return Function(self.name, clone_block(self.body, {}), self.result_types, self.attributes)

    def __repr__(self) -> str:
        return f"<Function @{self.name}>"


def clone_block(block: Block, mapping: dict[Value, Value]) -> Block:
    """A copy of `block`; `mapping` (old value -> new value) is extended as it goes, and values
    defined outside the block map to themselves unless `mapping` says otherwise."""
    new = Block([a.type for a in block.args], [a.name_hint for a in block.args])
    mapping.update(zip(block.args, new.args))
    for op in block.ops:
        copy = Operation(op.name, [mapping.get(v, v) for v in op.operands],
                         [r.type for r in op.results], op.attributes, op.location,
                         [clone_block(region, mapping) for region in op.regions])
        for old, result in zip(op.results, copy.results):
            result.name_hint = old.name_hint
            mapping[old] = result
        new.append(copy)
    return new


class Module:
    """An ordered set of functions with unique names."""

    def __init__(self, functions: list[Function] = (), attributes: dict[str, Any] | None = None):
        self.functions: dict[str, Function] = {}
        self.attributes: dict[str, Any] = dict(attributes or {})
        for f in functions:
            self.add(f)

    def add(self, function: Function) -> Function:
        if function.name in self.functions:
            raise ValueError(f"module already has a function @{function.name}")
        function.module = self
        self.functions[function.name] = function
        return function

    def __getitem__(self, name: str) -> Function:
        return self.functions[name]

    def __iter__(self) -> Iterator[Function]:
        return iter(self.functions.values())

    def walk(self) -> Iterator[Operation]:
        for f in self:
            yield from f.walk()

    def clone(self) -> Module:
        """A deep copy of every function (see Function.clone)."""
        return Module([f.clone() for f in self], self.attributes)

    def __str__(self) -> str:
        from .printer import print_module

        return print_module(self)
