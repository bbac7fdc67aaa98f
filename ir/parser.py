"""The IR's text form (parsing side): a recursive-descent parser over characters.

Errors raise `ParseError` with the file, line and column and what was expected there; the
command line prints that one line instead of a traceback. The grammar, informally:

    module    := 'module' ('attributes' attrs)? '{' function* '}'  |  function*
    function  := 'func' '@'NAME '(' (arg (',' arg)*)? ')' '->' '(' types? ')' ('attributes' attrs)?
                 '{' op* '}'
    arg       := '%'NAME ':' type
    op        := (values '=')? OPNAME '(' values? ')' attrs? regions? ':' '(' types? ')' '->' results
                 ('loc' '(' STRING ':' INT (':' INT)? ')')?
    regions   := '(' '{' '^'NAME '(' args? ')' ':' op* '}' (',' '{' ... '}')* ')'
    results   := type | '(' types? ')'
    attrs     := '{' (NAME '=' attr (',' NAME '=' attr)*)? '}'
    attr      := INT | FLOAT | 'true' | 'false' | STRING | '[' attrs,* ']' | DTYPE
               | 'dense' '<' literal '>' ':' type
    type      := 'tensor' '<' (DIM 'x')* DTYPE '>'  |  'tensor' '<' '*' 'x' DTYPE '>'

`//` starts a comment that runs to the end of the line.
"""

from __future__ import annotations

import json
import re
from typing import Any

import numpy as np

from . import dtypes as dt
from .core import Block, Function, Location, Module, Operation, Value
from .opdef import InferenceError, get_op
from .types import TensorType


class ParseError(ValueError):
    """Malformed IR text: `str(e)` is `file:line:col: message`."""

    def __init__(self, message: str, filename: str, line: int, column: int):
        super().__init__(f"{filename}:{line}:{column}: {message}")
        self.message = message
        self.filename = filename
        self.line = line
        self.column = column


_IDENT = re.compile(r"[A-Za-z_][A-Za-z0-9_.$]*")
_VALUE_NAME = re.compile(r"[A-Za-z0-9_.$]+")
_NUMBER = re.compile(r"[-+]?(\d+\.\d*([eE][-+]?\d+)?|\d+[eE][-+]?\d+|\d+|inf|nan)")
_TENSOR = re.compile(r"tensor<(\*x|(?:(?:\d+|\?)x)*)([A-Za-z0-9]+)>")


class Parser:
    def __init__(self, text: str, filename: str = "<string>"):
        self.text = text
        self.filename = filename
        self.pos = 0
        self.scopes: list[dict[str, Value]] = []

    # low-level ---------------------------------------------------------------------------
    def error(self, message: str, pos: int | None = None) -> ParseError:
        pos = self.pos if pos is None else pos
        line = self.text.count("\n", 0, pos) + 1
        column = pos - (self.text.rfind("\n", 0, pos) + 1) + 1
        return ParseError(message, self.filename, line, column)

    def skip(self) -> None:
        """Skip white space and comments."""
        while True:
            while self.pos < len(self.text) and self.text[self.pos].isspace():
                self.pos += 1
            if self.text.startswith("//", self.pos):
                end = self.text.find("\n", self.pos)
                self.pos = len(self.text) if end < 0 else end
            else:
                return

    def found(self) -> str:
        """A short description of what stands at the cursor, for error messages."""
        self.skip()
        if self.pos >= len(self.text):
            return "end of file"
        match = re.compile(r"\S+").match(self.text, self.pos)
        word = match.group(0)[:20]
        return f"'{word}'"

    def peek(self, literal: str) -> bool:
        self.skip()
        return self.text.startswith(literal, self.pos)

    def accept(self, literal: str) -> bool:
        if self.peek(literal):
            self.pos += len(literal)
            return True
        return False

    def expect(self, literal: str, what: str | None = None) -> None:
        if not self.accept(literal):
            raise self.error(f"expected {what or repr(literal)}, got {self.found()}")

    def match(self, pattern: re.Pattern, what: str) -> str:
        self.skip()
        m = pattern.match(self.text, self.pos)
        if not m:
            raise self.error(f"expected {what}, got {self.found()}")
        self.pos = m.end()
        return m.group(0)

    def keyword(self, word: str) -> bool:
        """Accept `word` only as a whole identifier."""
        self.skip()
        m = _IDENT.match(self.text, self.pos)
        if m and m.group(0) == word:
            self.pos = m.end()
            return True
        return False

    def at_end(self) -> bool:
        self.skip()
        return self.pos >= len(self.text)

    # types and attributes ------------------------------------------------------------------
    def parse_type(self) -> TensorType:
        self.skip()
        start = self.pos
        m = _TENSOR.match(self.text, self.pos)
        if not m:
            raise self.error(f"expected a tensor type such as tensor<?x4xf32>, got {self.found()}")
        dims, dtype_name = m.group(1), m.group(2)
        dtype = dt.BY_IR_NAME.get(dtype_name)
        if dtype is None:
            raise self.error(f"unknown element type '{dtype_name}'", start + m.start(2) - m.start())
        self.pos = m.end()
        if dims == "*x":
            return TensorType(None, dtype)
        shape = tuple(None if d == "?" else int(d) for d in dims.split("x")[:-1])
        return TensorType(shape, dtype)

    def parse_types(self, close: str) -> list[TensorType]:
        types = []
        if not self.peek(close):
            types.append(self.parse_type())
            while self.accept(","):
                types.append(self.parse_type())
        self.expect(close)
        return types

    def parse_string(self) -> str:
        self.skip()
        start = self.pos
        if not self.text.startswith('"', self.pos):
            raise self.error(f"expected a string, got {self.found()}")
        i = self.pos + 1
        while i < len(self.text) and self.text[i] != '"':
            i += 2 if self.text[i] == "\\" else 1
        if i >= len(self.text):
            raise self.error("unterminated string", start)
        try:
            value = json.loads(self.text[start:i + 1])
        except json.JSONDecodeError as e:
            raise self.error(f"bad string literal: {e.msg}", start) from None
        self.pos = i + 1
        return value

    def parse_attr_dict(self) -> dict[str, Any]:
        attrs: dict[str, Any] = {}
        self.expect("{")
        if self.accept("}"):
            return attrs
        while True:
            self.skip()
            start = self.pos
            name = self.match(_IDENT, "an attribute name")
            if name in attrs:
                raise self.error(f"attribute '{name}' given twice", start)
            self.expect("=")
            attrs[name] = self.parse_attr()
            if self.accept("}"):
                return attrs
            self.expect(",", "',' or '}'")

    def parse_attr(self) -> Any:
        self.skip()
        if self.peek('"'):
            return self.parse_string()
        if self.accept("["):
            items = []
            if not self.accept("]"):
                items.append(self.parse_attr())
                while self.accept(","):
                    items.append(self.parse_attr())
                self.expect("]", "',' or ']'")
            return tuple(items)
        if self.keyword("true"):
            return True
        if self.keyword("false"):
            return False
        if self.keyword("dense"):
            return self.parse_dense()
        m = _NUMBER.match(self.text, self.pos)
        if m and not _IDENT.match(self.text, m.end()):
            self.pos = m.end()
            return _number(m.group(0))
        start = self.pos
        m = _IDENT.match(self.text, self.pos)
        if m and m.group(0) in dt.BY_IR_NAME:
            self.pos = m.end()
            return dt.BY_IR_NAME[m.group(0)]
        raise self.error(f"expected an attribute value, got {self.found()}", start)

    def parse_dense(self) -> np.ndarray:
        self.expect("<")
        self.skip()
        start = self.pos
        literal = self.parse_literal()
        self.expect(">")
        self.expect(":", "':' and the tensor type after dense<...>")
        type = self.parse_type()
        if not type.is_static:
            raise self.error(f"a dense constant needs a fully known shape, got {type}")
        dtype = type.dtype.numpy
        if (type.dtype.is_integer or type.dtype.is_bool or type.dtype.is_quantized) and _has_fraction(literal):
            raise self.error(f"bad dense literal: {type.dtype.name} elements must be integers", start)
        if dtype is None:
            raise self.error(f"dense constants cannot hold {type.dtype.name}")
        try:
            if isinstance(literal, str) and literal.startswith("0x") and type.dtype != dt.string:
                raw = bytes.fromhex(literal[2:])
                array = np.frombuffer(raw, dtype.newbyteorder("<")).astype(dtype).reshape(type.shape)
            elif type.dtype == dt.string:
                array = _string_array(literal, type.shape)
            elif not isinstance(literal, list):
                array = np.full(type.shape, literal, dtype)
            else:
                array = np.array(literal, dtype=dtype)
                if array.size == 0:
                    array = array.reshape(type.shape)
                if array.shape != type.shape:
                    raise ValueError(f"literal has shape {list(array.shape)}, type says {type}")
        except (ValueError, TypeError, OverflowError) as e:
            raise self.error(f"bad dense literal: {e}", start) from None
        return array

    def parse_literal(self):
        self.skip()
        if self.accept("["):
            items = []
            if not self.accept("]"):
                items.append(self.parse_literal())
                while self.accept(","):
                    items.append(self.parse_literal())
                self.expect("]", "',' or ']'")
            return items
        if self.peek('"'):
            return self.parse_string()
        if self.keyword("true"):
            return True
        if self.keyword("false"):
            return False
        return _number(self.match(_NUMBER, "a number"))

    def parse_location(self) -> Location:
        self.expect("(")
        file = self.parse_string()
        self.expect(":")
        line = int(self.match(re.compile(r"\d+"), "a line number"))
        column = None
        if self.accept(":"):
            column = int(self.match(re.compile(r"\d+"), "a column number"))
        self.expect(")")
        return Location(file, line, column)

    # values --------------------------------------------------------------------------------
    def parse_value_name(self) -> tuple[str, int]:
        self.skip()
        start = self.pos
        self.expect("%", "a value such as %0")
        return self.match(_VALUE_NAME, "a value name after '%'"), start

    def define(self, name: str, value: Value, pos: int) -> None:
        scope = self.scopes[-1]
        if name in scope:
            raise self.error(f"value %{name} is defined twice", pos)
        scope[name] = value
        if not name.isdigit():
            value.name_hint = name

    def lookup(self, name: str, pos: int) -> Value:
        value = self.scopes[-1].get(name)
        if value is None:
            raise self.error(f"use of undefined value %{name}", pos)
        return value

    # structure -----------------------------------------------------------------------------
    def parse_module(self) -> Module:
        module = Module()
        wrapped = self.keyword("module")
        if wrapped:
            if self.keyword("attributes"):
                module.attributes = self.parse_attr_dict()
            self.expect("{")
        while not (self.peek("}") if wrapped else self.at_end()):
            if self.at_end():
                raise self.error("expected 'func' or '}', got end of file")
            start = self.pos
            function = self.parse_function()
            if function.name in module.functions:
                raise self.error(f"function @{function.name} is defined twice", start)
            module.add(function)
        if wrapped:
            self.expect("}")
        if not self.at_end():
            raise self.error(f"expected end of file, got {self.found()}")
        return module

    def parse_function(self) -> Function:
        if not self.keyword("func"):
            raise self.error(f"expected 'func', got {self.found()}")
        self.expect("@", "'@' and the function's name")
        name = self.match(_IDENT, "a function name")
        self.scopes.append({})
        block = self.parse_block_args(Block())
        self.expect("->")
        self.expect("(")
        result_types = self.parse_types(")")
        attributes = self.parse_attr_dict() if self.keyword("attributes") else {}
        self.expect("{")
        self.parse_ops(block)
        self.expect("}", "an op or '}'")
        self.scopes.pop()
        return Function(name, block, result_types, attributes)

    def parse_block_args(self, block: Block) -> Block:
        self.expect("(")
        if self.accept(")"):
            return block
        while True:
            name, pos = self.parse_value_name()
            self.expect(":")
            arg = block.add_arg(self.parse_type())
            self.define(name, arg, pos)
            if self.accept(")"):
                return block
            self.expect(",", "',' or ')'")

    def parse_ops(self, block: Block) -> None:
        while not self.peek("}"):
            if self.at_end():
                raise self.error("expected an op or '}', got end of file")
            block.append(self.parse_op())

    def parse_op(self) -> Operation:
        results: list[tuple[str, int]] = []
        if self.peek("%"):
            results.append(self.parse_value_name())
            while self.accept(","):
                results.append(self.parse_value_name())
            self.expect("=")
        self.skip()
        name_pos = self.pos
        name = self.match(_IDENT, "an op name such as math.add")
        try:
            opdef = get_op(name)
        except KeyError:
            raise self.error(f"unknown op '{name}'", name_pos) from None
        self.expect("(", "'(' and the op's operands")
        operands: list[tuple[Value, str, int]] = []
        if not self.accept(")"):
            while True:
                value_name, pos = self.parse_value_name()
                operands.append((self.lookup(value_name, pos), value_name, pos))
                if self.accept(")"):
                    break
                self.expect(",", "',' or ')'")
        self.skip()
        attrs_pos = self.pos
        attrs = self.parse_attr_dict() if self.peek("{") else {}
        try:
            attrs = opdef.normalize_attrs(attrs)
        except InferenceError as e:
            raise self.error(f"{name}: {e.args[0]}", attrs_pos) from None
        regions = []
        if self.accept("("):
            while True:
                regions.append(self.parse_region())
                if self.accept(")"):
                    break
                self.expect(",", "',' or ')'")
        self.expect(":", "':' and the op's type signature")
        self.skip()
        sig_pos = self.pos
        self.expect("(")
        operand_types = self.parse_types(")")
        self.expect("->")
        if self.accept("("):
            result_types = self.parse_types(")")
        else:
            result_types = [self.parse_type()]
        if len(operand_types) != len(operands):
            raise self.error(f"{name} has {len(operands)} operands but its signature lists "
                             f"{len(operand_types)} types", sig_pos)
        for (value, value_name, pos), t in zip(operands, operand_types):
            if value.type != t:
                raise self.error(f"operand %{value_name} has type {value.type} but the signature "
                                 f"of {name} says {t}", pos)
        if len(result_types) != len(results):
            raise self.error(f"{name} defines {len(results)} values but its signature lists "
                             f"{len(result_types)} result types", sig_pos)
        location = self.parse_location() if self.keyword("loc") else None
        op = Operation(name, [v for v, _, _ in operands], result_types, attrs, location, regions)
        for (result_name, pos), result in zip(results, op.results):
            self.define(result_name, result, pos)
        return op

    def parse_region(self) -> Block:
        self.expect("{")
        self.expect("^", "'^bb' and the region's arguments")
        self.match(_IDENT, "a block label")
        self.scopes.append({})
        block = self.parse_block_args(Block())
        self.expect(":")
        self.parse_ops(block)
        self.expect("}", "an op or '}'")
        self.scopes.pop()
        return block


def _has_fraction(literal) -> bool:
    if isinstance(literal, list):
        return any(_has_fraction(x) for x in literal)
    return isinstance(literal, float)


def _number(text: str):
    if re.fullmatch(r"[-+]?\d+", text):
        return int(text)
    return float(text)


def _string_array(literal, shape) -> np.ndarray:
    def encode(x):
        if isinstance(x, list):
            return [encode(v) for v in x]
        if not isinstance(x, str):
            raise ValueError("string tensors hold strings")
        return x.encode("latin-1")

    encoded = encode(literal)
    if not isinstance(literal, list):
        array = np.empty(shape, dtype=object)
        array.fill(encoded)
        return array
    array = np.empty(shape, dtype=object)
    flat = np.array(encoded, dtype=object).reshape(-1) if encoded else []
    if array.size != len(flat):
        raise ValueError(f"literal has {len(flat)} strings, type has {array.size}")
    array.reshape(-1)[:] = flat
    return array


def parse_module(text: str, filename: str = "<string>") -> Module:
    """Parse IR text into a Module. Raises ParseError (file:line:col: what was expected)."""
    return Parser(text, filename).parse_module()


def parse_file(path) -> Module:
    with open(path, encoding="utf-8") as f:
        return parse_module(f.read(), str(path))
