"""Building IR: create ops with inferred result types at an insertion point."""

from __future__ import annotations

from typing import Any

from .core import Block, Function, Location, Module, Operation, Value
from .opdef import InferenceError, get_op
from .types import TensorType


class BuildError(ValueError):
    """An op could not be built: unknown op, bad attributes or operand types. The message
    names the op and its location."""


def describe(op_name: str, location: Location | None) -> str:
    return f"{location}: {op_name}" if location is not None else op_name


class Builder:
    """Appends ops to a block (or inserts them before an anchor op), inferring result types
    from the op table. `location` is attached to every op it creates unless given per op."""

    def __init__(self, block: Block, before: Operation | None = None, location: Location | None = None):
        self.block = block
        self.before = before
        self.location = location

    @classmethod
    def before_op(cls, op: Operation) -> Builder:
        return cls(op.parent, before=op, location=op.location)

    def create(self, name: str, operands: list[Value] = (), attributes: dict[str, Any] | None = None,
               result_types: list[TensorType] | None = None, location: Location | None = None,
               regions: list[Block] = ()) -> Operation:
        """Create op `name`, check it against the op table and insert it."""
        location = location or self.location
        try:
            opdef = get_op(name)
            attrs = opdef.normalize_attrs(attributes or {})
            inferred = opdef.infer_types([v.type for v in operands], attrs)
        except (KeyError, InferenceError) as e:
            raise BuildError(f"{describe(name, location)}: {e.args[0]}") from None
        if result_types is None:
            result_types = inferred
        op = Operation(name, list(operands), list(result_types), attrs, location, list(regions))
        if self.before is not None:
            self.block.insert_before(self.before, op)
        else:
            self.block.append(op)
        return op

    def op(self, name: str, *operands: Value, **attributes) -> Value | tuple[Value, ...]:
        """Create op `name` and return its result (or tuple of results)."""
        op = self.create(name, list(operands), attributes)
        return op.results[0] if len(op.results) == 1 else tuple(op.results)

    def constant(self, value, dtype=None) -> Value:
        import numpy as np

        attrs = {"value": np.asarray(value)}
        if dtype is not None:
            attrs["dtype"] = dtype
        return self.create("core.constant", [], attrs).result


class FunctionBuilder(Builder):
    """Builds one function: `args` are its arguments; `ret(values)` closes it."""

    def __init__(self, name: str, arg_types: list[TensorType], arg_names: list[str] | None = None,
                 location: Location | None = None):
        super().__init__(Block(arg_types, arg_names), location=location)
        self.name = name

    @property
    def args(self):
        return self.block.args

    def ret(self, values: list[Value], attributes: dict[str, Any] | None = None) -> Function:
        self.create("core.return", list(values))
        return Function(self.name, self.block, [v.type for v in values], attributes)


def module_of(*functions: Function) -> Module:
    return Module(list(functions))
