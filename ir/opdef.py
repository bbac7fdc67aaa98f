"""The op table: every op declared once, as data.

An `OpDef` names the op, its operands (with the dtypes each accepts), its attributes (with
kinds and defaults), how result types follow from operand types and attributes (`infer`),
what the op computes on numpy arrays (`compute`, the reference semantics every backend is
tested against), and its traits. The interpreter, the verifier, constant folding, fusion and
both code generators all read this table; none of them keeps its own list of ops.

Declaring an op:

    define("math.add", operands=[Operand("x", NUMERIC), Operand("y", NUMERIC)],
           infer=infer_broadcast, compute=np.add, traits={ELEMENTWISE, BROADCAST, COMMUTATIVE})
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Callable

import numpy as np

from . import dtypes as dt
from .dtypes import DType
from .types import TensorType

# Traits ------------------------------------------------------------------------------------
ELEMENTWISE = "elementwise"   # result[i] depends only on operands[i] (after broadcasting)
BROADCAST = "broadcast"       # operands broadcast against each other, numpy/TF style
INJECTIVE = "injective"       # moves or copies elements without arithmetic (reshape, slice...)
REDUCTION = "reduction"       # folds axes of one operand
CONTRACTION = "contraction"   # matmul / convolution: multiply-accumulate over an axis
PURE = "pure"                 # no side effects; same inputs give same outputs
STATEFUL = "stateful"         # must not be merged, reordered across effects or dropped
COMMUTATIVE = "commutative"   # f(x, y) == f(y, x)
TERMINATOR = "terminator"     # ends a block
RANDOM = "random"             # draws from the Philox generator
TRAITS = {ELEMENTWISE, BROADCAST, INJECTIVE, REDUCTION, CONTRACTION, PURE, STATEFUL,
          COMMUTATIVE, TERMINATOR, RANDOM}

# Attribute kinds and the Python values that carry them.
ATTR_KINDS = {
    "int": "an integer",
    "float": "a float",
    "bool": "true or false",
    "str": "a string",
    "ints": "a list of integers",
    "floats": "a list of floats",
    "strs": "a list of strings",
    "dtype": "a dtype such as f32",
    "tensor": "a dense tensor",
}

REQUIRED = object()


class InferenceError(ValueError):
    """Operand types or attributes that an op cannot accept. The message says what was
    expected; the caller adds the op name and location."""


class ComputeError(ValueError):
    """A runtime failure of an op's reference semantics (integer division by zero, an index out
    of range...). Maps to tf.errors.InvalidArgumentError in the front end."""


@dataclass(frozen=True)
class Operand:
    name: str
    dtypes: tuple[DType, ...] | None = None   # None: any dtype
    variadic: bool = False


@dataclass(frozen=True)
class Attr:
    name: str
    kind: str
    default: Any = REQUIRED          # REQUIRED, None (optional, may be absent) or a value
    choices: tuple = ()              # allowed values of a str attribute

    def __post_init__(self):
        if self.kind not in ATTR_KINDS:
            raise ValueError(f"unknown attribute kind {self.kind!r}")


@dataclass(frozen=True)
class OpDef:
    name: str
    operands: tuple[Operand, ...]
    attrs: tuple[Attr, ...]
    infer: Callable[..., list[TensorType]]
    compute: Callable[..., Any] | None
    traits: frozenset[str]
    doc: str = ""
    attr_by_name: dict[str, Attr] = field(default_factory=dict, compare=False, repr=False)

    @property
    def is_pure(self) -> bool:
        return PURE in self.traits

    def has(self, trait: str) -> bool:
        return trait in self.traits

    def infer_types(self, operand_types: list[TensorType], attrs: dict[str, Any]) -> list[TensorType]:
        """Result types for these operand types and (normalized) attributes."""
        self.check_operands(operand_types)
        result = self.infer(operand_types, attrs)
        if isinstance(result, TensorType):
            return [result]
        return list(result)

    def check_operands(self, operand_types: list[TensorType]) -> None:
        for operand, positions in self.operand_groups(len(operand_types)):
            for t in (operand_types[i] for i in positions):
                if operand.dtypes is not None and t.dtype not in operand.dtypes:
                    allowed = ", ".join(d.name for d in operand.dtypes)
                    raise InferenceError(
                        f"operand '{operand.name}' has dtype {t.dtype.name}, expected one of {allowed}")

    def operand_groups(self, count: int) -> list[tuple[Operand, list]]:
        """Pair each declared operand with the positions it covers for `count` actual operands
        (a variadic operand takes what the others leave)."""
        fixed = [o for o in self.operands if not o.variadic]
        variadic = [o for o in self.operands if o.variadic]
        if not variadic and count != len(fixed):
            raise InferenceError(f"expected {len(fixed)} operands, got {count}")
        if variadic and count < len(fixed):
            raise InferenceError(f"expected at least {len(fixed)} operands, got {count}")
        groups, position = [], 0
        for operand in self.operands:
            n = count - len(fixed) if operand.variadic else 1
            groups.append((operand, list(range(position, position + n))))
            position += n
        return groups

    def normalize_attrs(self, attrs: dict[str, Any]) -> dict[str, Any]:
        """Check attributes against the schema, convert values to their canonical Python form
        and fill in defaults. Raises InferenceError naming the attribute."""
        out: dict[str, Any] = {}
        for name in attrs:
            if name not in self.attr_by_name:
                known = ", ".join(a.name for a in self.attrs) or "none"
                raise InferenceError(f"unknown attribute '{name}' (known: {known})")
        for attr in self.attrs:
            if attr.name in attrs and attrs[attr.name] is not None:
                out[attr.name] = coerce_attr(attr, attrs[attr.name])
            elif attr.default is REQUIRED:
                raise InferenceError(f"missing required attribute '{attr.name}' ({ATTR_KINDS[attr.kind]})")
            elif attr.default is not None:
                out[attr.name] = coerce_attr(attr, attr.default)
        return out


def coerce_attr(attr: Attr, value: Any) -> Any:
    """`value` in the canonical form of `attr.kind`, or InferenceError."""
    kind = attr.kind

    def bad():
        return InferenceError(f"attribute '{attr.name}' must be {ATTR_KINDS[kind]}, got {value!r}")

    if kind == "bool":
        if isinstance(value, (bool, np.bool_)):
            return bool(value)
        raise bad()
    if kind == "int":
        if isinstance(value, (bool, np.bool_)) or not isinstance(value, (int, np.integer)):
            raise bad()
        return int(value)
    if kind == "float":
        if isinstance(value, (bool, np.bool_)) or not isinstance(value, (int, float, np.integer, np.floating)):
            raise bad()
        return float(value)
    if kind == "str":
        if not isinstance(value, str):
            raise bad()
        if attr.choices and value not in attr.choices:
            raise InferenceError(
                f"attribute '{attr.name}' must be one of {', '.join(map(repr, attr.choices))}, got {value!r}")
        return value
    if kind in ("ints", "floats", "strs"):
        if isinstance(value, (str, bytes)) or not hasattr(value, "__iter__"):
            raise bad()
        item = Attr(attr.name, kind[:-1])
        try:
            return tuple(coerce_attr(item, v) for v in value)
        except InferenceError:
            raise bad() from None
    if kind == "dtype":
        try:
            return dt.as_dtype(value)
        except TypeError:
            raise bad() from None
    if kind == "tensor":
        if isinstance(value, np.ndarray):
            return value
        raise bad()
    raise AssertionError(kind)


# The registry ------------------------------------------------------------------------------
OPS: dict[str, OpDef] = {}


def define(name: str, *, operands=(), attrs=(), infer, compute=None, traits=(), doc="") -> OpDef:
    """Declare an op and add it to the table. Ops are pure unless declared STATEFUL."""
    if name in OPS:
        raise ValueError(f"op {name} is declared twice")
    traits = frozenset(traits)
    unknown = traits - TRAITS
    if unknown:
        raise ValueError(f"{name}: unknown traits {sorted(unknown)}")
    if STATEFUL not in traits:
        traits |= {PURE}
    operands = tuple(Operand(o) if isinstance(o, str) else o for o in operands)
    if sum(o.variadic for o in operands) > 1:
        raise ValueError(f"{name}: at most one variadic operand")
    attrs = tuple(attrs)
    opdef = OpDef(name, operands, attrs, infer, compute, traits, doc,
                  attr_by_name={a.name: a for a in attrs})
    OPS[name] = opdef
    return opdef


def get_op(name: str) -> OpDef:
    try:
        return OPS[name]
    except KeyError:
        raise KeyError(f"unknown op '{name}'") from None


# Shape inference helpers shared by many ops --------------------------------------------------
def broadcast_shapes(*shapes):
    """TF/numpy broadcasting of shapes whose dims may be None (unknown); None rank stays None.
    Raises InferenceError for incompatible known dims."""
    if any(s is None for s in shapes):
        return None
    rank = max((len(s) for s in shapes), default=0)
    out = []
    for axis in range(rank):
        dims = [s[len(s) - rank + axis] for s in shapes if len(s) - rank + axis >= 0]
        known = {d for d in dims if d is not None and d != 1}
        if len(known) > 1:
            raise InferenceError(
                "shapes " + ", ".join(shape_str(s) for s in shapes) + " cannot be broadcast together")
        if known:
            out.append(known.pop())
        elif any(d is None for d in dims):
            out.append(None)
        else:
            out.append(1)
    return tuple(out)


def shape_str(shape) -> str:
    if shape is None:
        return "<unknown rank>"
    return "[" + ", ".join("?" if d is None else str(d) for d in shape) + "]"


def same_dtype(types: list[TensorType]) -> DType:
    """The one dtype all operands share; TF never promotes implicitly."""
    dtypes = {t.dtype for t in types}
    if len(dtypes) > 1:
        names = " and ".join(t.dtype.name for t in types)
        raise InferenceError(f"operands must have the same dtype, got {names}")
    return types[0].dtype


def normalize_axis(axis: int, rank: int, what: str = "axis") -> int:
    if not -rank <= axis < max(rank, 1):
        raise InferenceError(f"{what} {axis} is out of range for a tensor of rank {rank}")
    return axis % rank if rank else 0


def infer_same(types, attrs) -> list[TensorType]:
    """Result type = first operand's type (unary elementwise ops)."""
    return [types[0]]


def infer_broadcast(types, attrs) -> list[TensorType]:
    """Same dtype for all operands, broadcast shape."""
    dtype = same_dtype(types)
    return [TensorType(broadcast_shapes(*(t.shape for t in types)), dtype)]


def infer_compare(types, attrs) -> list[TensorType]:
    """Like infer_broadcast, but the result is bool."""
    same_dtype(types)
    return [TensorType(broadcast_shapes(*(t.shape for t in types)), dt.bool_)]
