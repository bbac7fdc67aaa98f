"""The IR's text form (printing side). `parser.parse_module(print_module(m))` rebuilds `m`, and
printing that again gives the same text.

    module {
      func @main(%x: tensor<?x4xf32>) -> (tensor<?x4xf32>) {
        %0 = nn.relu(%x) : (tensor<?x4xf32>) -> tensor<?x4xf32> loc("mlp.py":7)
        core.return(%0) : (tensor<?x4xf32>) -> ()
      }
    }

Every op uses one generic form: results, name, operands, an attribute dictionary, regions,
the operand and result types, and a location. Values print under their name hint when it is a
valid, unused identifier, otherwise as sequential numbers.
"""

from __future__ import annotations

import json
import re
from typing import Any

import numpy as np

from . import dtypes as dt
from .core import Block, Function, Location, Module, Operation, Value
from .dtypes import DType
from .types import TensorType

INDENT = "  "
_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_.$]*")
DENSE_LIST_LIMIT = 16   # tensors with more elements print as a hex string of their bytes


# Attributes --------------------------------------------------------------------------------
def format_float(value: float) -> str:
    return repr(float(value))


def format_string(value: str) -> str:
    return json.dumps(value)


def format_bytes(value: bytes | str) -> str:
    if isinstance(value, str):
        value = value.encode("utf-8")
    return json.dumps(value.decode("latin-1"))


def format_attr(value: Any) -> str:
    """One attribute value in text form."""
    if isinstance(value, (bool, np.bool_)):
        return "true" if value else "false"
    if isinstance(value, (int, np.integer)):
        return str(int(value))
    if isinstance(value, (float, np.floating)):
        return format_float(value)
    if isinstance(value, str):
        return format_string(value)
    if isinstance(value, DType):
        return value.ir_name
    if isinstance(value, (tuple, list)):
        return "[" + ", ".join(format_attr(v) for v in value) + "]"
    if isinstance(value, np.ndarray):
        return format_dense(value)
    raise TypeError(f"cannot print attribute value {value!r}")


def _dense_element(x, dtype: DType) -> str:
    if dtype.is_bool:
        return "true" if x else "false"
    if dtype == dt.string:
        return format_bytes(x)
    if dtype.is_floating:
        # numpy's str gives the shortest text that reads back to the same value of this width.
        return str(x) if dtype != dt.float64 else repr(float(x))
    return str(int(x))


def _nested(array: np.ndarray, dtype: DType) -> str:
    if array.ndim == 0:
        return _dense_element(array[()], dtype)
    if array.ndim == 1:
        return "[" + ", ".join(_dense_element(x, dtype) for x in array) + "]"
    return "[" + ", ".join(_nested(array[i], dtype) for i in range(len(array))) + "]"


def is_splat(array: np.ndarray) -> bool:
    if array.size < 2:
        return False
    if array.dtype == object:
        first = array.flat[0]
        return all(x == first for x in array.flat)
    return array.tobytes() == np.full_like(array, array.flat[0]).tobytes()


def has_unusual_nan(array: np.ndarray) -> bool:
    """A NaN whose sign or payload differs from numpy's: text would lose it, hex keeps it."""
    if array.dtype.kind != "f":
        return False
    nans = array[np.isnan(array)]
    canonical = np.array(np.nan, array.dtype).tobytes()
    return any(x.tobytes() != canonical for x in nans)


def format_dense(array: np.ndarray, type: TensorType | None = None) -> str:
    """`dense<...> : tensor<...>`: a splat, a nested list for small tensors, or the
    little-endian bytes in hex for large ones (exact for every dtype)."""
    type = type or TensorType(array.shape, dt.from_numpy(array.dtype))
    dtype = dt.from_numpy(array.dtype)
    exact_as_text = dtype == dt.string or not (dtype.is_complex or has_unusual_nan(array))
    if exact_as_text and is_splat(array):
        body = _dense_element(array.flat[0], dtype)
    elif not exact_as_text or (array.size > DENSE_LIST_LIMIT and dtype != dt.string):
        body = '"0x' + hex_bytes(array) + '"'
    else:
        body = _nested(array, dtype)
    return f"dense<{body}> : {type}"


def hex_bytes(array: np.ndarray) -> str:
    little = array.astype(array.dtype.newbyteorder("<"), copy=False)
    return np.ascontiguousarray(little).tobytes().hex().upper()


def format_attr_dict(attrs: dict[str, Any]) -> str:
    if not attrs:
        return ""
    return "{" + ", ".join(f"{k} = {format_attr(v)}" for k, v in attrs.items()) + "}"


def format_location(loc: Location) -> str:
    col = f":{loc.column}" if loc.column is not None else ""
    return f"loc({json.dumps(loc.file)}:{loc.line}{col})"


# Names -------------------------------------------------------------------------------------
class Namer:
    """Gives every value of a function a unique printed name."""

    def __init__(self):
        self.names: dict[int, str] = {}
        self.used: set[str] = set()
        self.counter = 0

    def name(self, value: Value) -> str:
        key = id(value)
        if key not in self.names:
            self.names[key] = self._fresh(value.name_hint)
        return "%" + self.names[key]

    def _fresh(self, hint: str | None) -> str:
        if hint:
            base = sanitize(hint)
            if base and not base.isdigit():
                candidate, n = base, 0
                while candidate in self.used:
                    n += 1
                    candidate = f"{base}_{n}"
                self.used.add(candidate)
                return candidate
        while str(self.counter) in self.used:
            self.counter += 1
        name = str(self.counter)
        self.used.add(name)
        self.counter += 1
        return name


def sanitize(hint: str) -> str:
    """A name hint as a printable identifier ('dense_1/MatMul:0' -> 'dense_1.MatMul_0')."""
    text = re.sub(r"[^A-Za-z0-9_.$]", "_", hint.replace("/", "."))
    if text and text[0].isdigit() and not text.isdigit():
        text = "v" + text
    return text if _NAME.fullmatch(text) or text.isdigit() else ""


# Printing ----------------------------------------------------------------------------------
def format_types(types) -> str:
    return ", ".join(str(t) for t in types)


def print_op(op: Operation, namer: Namer, indent: str) -> list[str]:
    results = ", ".join(namer.name(r) for r in op.results)
    head = f"{results} = " if op.results else ""
    operands = ", ".join(namer.name(v) for v in op.operands)
    text = f"{indent}{head}{op.name}({operands})"
    attrs = format_attr_dict(op.attributes)
    if attrs:
        text += " " + attrs
    lines = []
    if op.regions:
        text += " ("
        lines.append(text + "{")
        for i, block in enumerate(op.regions):
            if i:
                lines.append(indent + "}, {")
            lines.extend(print_block_body(block, namer, indent, with_header=True))
        text = indent + "})"
    result_types = [r.type for r in op.results]
    rtext = str(result_types[0]) if len(result_types) == 1 else f"({format_types(result_types)})"
    text += f" : ({format_types(v.type for v in op.operands)}) -> {rtext}"
    if op.location is not None:
        text += " " + format_location(op.location)
    lines.append(text)
    return lines


def print_block_body(block: Block, namer: Namer, indent: str, with_header: bool) -> list[str]:
    lines = []
    if with_header:
        args = ", ".join(f"{namer.name(a)}: {a.type}" for a in block.args)
        lines.append(f"{indent}^bb({args}):")
    for op in block.ops:
        lines.extend(print_op(op, namer, indent + INDENT))
    return lines


def print_function(function: Function, indent: str = "") -> str:
    namer = Namer()
    args = ", ".join(f"{namer.name(a)}: {a.type}" for a in function.args)
    head = f"{indent}func @{function.name}({args}) -> ({format_types(function.result_types)})"
    if function.attributes:
        head += " attributes " + format_attr_dict(function.attributes)
    lines = [head + " {"]
    lines.extend(print_block_body(function.body, namer, indent, with_header=False))
    lines.append(indent + "}")
    return "\n".join(lines)


def print_module(module: Module) -> str:
    head = "module"
    if module.attributes:
        head += " attributes " + format_attr_dict(module.attributes)
    parts = [head + " {"]
    parts.extend(print_function(f, INDENT) for f in module)
    parts.append("}")
    return "\n".join(parts) + "\n"
