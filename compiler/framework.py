"""The TF1 graph: `Graph`, `Operation`, `Tensor`, `TensorShape`, name scopes, control
dependencies and devices, with TF's naming rules and build-time shape checks.

Each graph op carries a *lowering rule*: a function that emits the op's IR through a builder.
The same rule serves twice. At graph-build time it runs on placeholder IR values to infer the
op's output types (and, where every input is known, its constant value, which later ops use for
shapes given as tensors); at `Session.run` it runs again to emit the op into the function the
session compiles. A rule is `rule(ctx, op, *inputs) -> Value | list[Value]`, where `ctx` is an
`InferContext` or a `LoweringContext` (compiler/lowering.py) offering `ctx.b` (a builder),
`ctx.static(value)` (the constant behind an IR value, or None) and `ctx.unknown(type)`.
"""

from __future__ import annotations

import contextlib
import os
import re
import sysconfig
import threading
import traceback
from typing import Any, Callable, Iterable

import numpy as np

from tfc.ir import dtypes as dt
from tfc.ir.builder import BuildError
from tfc.ir.core import Block, Location, Value
from tfc.ir.dtypes import DType
from tfc.ir.opdef import InferenceError
from tfc.ir.types import TensorType

from .errors import OperatorNotAllowedInGraphError
from .folding import FoldingBuilder

_TFC_DIR = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


# Shapes ------------------------------------------------------------------------------------
class Dimension:
    """One dimension of a TensorShape: `value` is an int or None (unknown). Compares and does
    arithmetic like the int it holds (TF1's `tf.Dimension`)."""

    __slots__ = ("_value",)

    def __init__(self, value):
        if isinstance(value, Dimension):
            value = value.value
        if value is not None:
            value = int(value)
            if value < 0:
                raise ValueError(f"Dimension {value} must be >= 0")
        self._value = value

    @property
    def value(self):
        return self._value

    def __int__(self):
        if self._value is None:
            raise TypeError("cannot convert an unknown Dimension to an int")
        return self._value

    __index__ = __int__

    def __eq__(self, other):
        other = other.value if isinstance(other, Dimension) else other
        if self._value is None or other is None:
            return None
        return self._value == other

    def __ne__(self, other):
        eq = self.__eq__(other)
        return None if eq is None else not eq

    def __hash__(self):
        return hash(self._value)

    def _arith(self, other, fn):
        other = other.value if isinstance(other, Dimension) else other
        if self._value is None or other is None:
            return Dimension(None)
        return Dimension(fn(self._value, other))

    def __add__(self, other): return self._arith(other, lambda a, b: a + b)
    def __radd__(self, other): return self._arith(other, lambda a, b: b + a)
    def __sub__(self, other): return self._arith(other, lambda a, b: a - b)
    def __rsub__(self, other): return self._arith(other, lambda a, b: b - a)
    def __mul__(self, other): return self._arith(other, lambda a, b: a * b)
    def __rmul__(self, other): return self._arith(other, lambda a, b: b * a)
    def __floordiv__(self, other): return self._arith(other, lambda a, b: a // b)
    def __mod__(self, other): return self._arith(other, lambda a, b: a % b)

    def __lt__(self, other): return self._cmp(other, lambda a, b: a < b)
    def __le__(self, other): return self._cmp(other, lambda a, b: a <= b)
    def __gt__(self, other): return self._cmp(other, lambda a, b: a > b)
    def __ge__(self, other): return self._cmp(other, lambda a, b: a >= b)

    def _cmp(self, other, fn):
        other = other.value if isinstance(other, Dimension) else other
        if self._value is None or other is None:
            return None
        return fn(self._value, other)

    def is_compatible_with(self, other) -> bool:
        other = Dimension(other)
        return self._value is None or other.value is None or self._value == other.value

    def assert_is_compatible_with(self, other) -> None:
        if not self.is_compatible_with(other):
            raise ValueError(f"Dimensions {self} and {Dimension(other)} are not compatible")

    def merge_with(self, other) -> Dimension:
        other = Dimension(other)
        self.assert_is_compatible_with(other)
        return Dimension(self._value if self._value is not None else other.value)

    def __repr__(self):
        return f"Dimension({self._value})"

    def __str__(self):
        return "?" if self._value is None else str(self._value)


class TensorShape:
    """A static shape whose rank and dimensions may be unknown (`tf.TensorShape`). Indexing
    gives a `Dimension`, `as_list()` gives ints and None."""

    def __init__(self, dims):
        if isinstance(dims, TensorShape):
            dims = dims.dims
        if dims is None:
            self._dims = None
        elif isinstance(dims, (int, np.integer)) or dims is None:
            self._dims = [Dimension(dims)]
        else:
            self._dims = [Dimension(d) for d in dims]

    @classmethod
    def from_type(cls, shape) -> TensorShape:
        return cls(None if shape is None else list(shape))

    @property
    def dims(self):
        return None if self._dims is None else list(self._dims)

    @property
    def ndims(self):
        return None if self._dims is None else len(self._dims)

    rank = ndims

    def as_list(self):
        if self._dims is None:
            raise ValueError("as_list() is not defined on an unknown TensorShape.")
        return [d.value for d in self._dims]

    def as_tuple(self):
        """The shape as the IR's tuple (None for unknown rank)."""
        return None if self._dims is None else tuple(d.value for d in self._dims)

    def is_fully_defined(self) -> bool:
        return self._dims is not None and all(d.value is not None for d in self._dims)

    def num_elements(self):
        if not self.is_fully_defined():
            return None
        return int(np.prod([d.value for d in self._dims], dtype=np.int64))

    def is_compatible_with(self, other) -> bool:
        other = as_shape(other)
        if self._dims is None or other._dims is None:
            return True
        return len(self._dims) == len(other._dims) and all(
            a.is_compatible_with(b) for a, b in zip(self._dims, other._dims))

    def merge_with(self, other) -> TensorShape:
        other = as_shape(other)
        if self._dims is None:
            return other
        if other._dims is None:
            return self
        if not self.is_compatible_with(other):
            raise ValueError(f"Shapes {self} and {other} are not compatible")
        return TensorShape([a.merge_with(b) for a, b in zip(self._dims, other._dims)])

    def assert_is_compatible_with(self, other) -> None:
        if not self.is_compatible_with(other):
            raise ValueError(f"Shapes {self} and {other} are incompatible")

    def assert_is_fully_defined(self) -> None:
        if not self.is_fully_defined():
            raise ValueError(f"Shape {self} is not fully defined")

    def assert_has_rank(self, rank: int) -> None:
        if self.ndims not in (None, rank):
            raise ValueError(f"Shape {self} must have rank {rank}")

    def assert_same_rank(self, other) -> None:
        other = as_shape(other)
        if None not in (self.ndims, other.ndims) and self.ndims != other.ndims:
            raise ValueError(f"Shapes {self} and {other} must have the same rank")

    def with_rank(self, rank: int) -> TensorShape:
        self.assert_has_rank(rank)
        return TensorShape([None] * rank) if self._dims is None else self

    def most_specific_compatible_shape(self, other) -> TensorShape:
        """The most specific shape compatible with both (unknown where they differ)."""
        other = as_shape(other)
        if self._dims is None or other._dims is None or len(self._dims) != len(other._dims):
            return TensorShape(None)
        return TensorShape([a.value if a.value == b.value else None
                            for a, b in zip(self._dims, other._dims)])

    def __len__(self):
        if self._dims is None:
            raise ValueError("Cannot take the length of shape with unknown rank.")
        return len(self._dims)

    def __iter__(self):
        if self._dims is None:
            raise ValueError("Cannot iterate over a shape with unknown rank.")
        return iter(self._dims)

    def __getitem__(self, key):
        if self._dims is None:
            return TensorShape(None) if isinstance(key, slice) else Dimension(None)
        if isinstance(key, slice):
            return TensorShape(self._dims[key])
        return self._dims[key]

    def __eq__(self, other):
        try:
            other = as_shape(other)
        except (TypeError, ValueError):
            return NotImplemented
        return self.as_tuple() == other.as_tuple()

    def __ne__(self, other):
        eq = self.__eq__(other)
        return eq if eq is NotImplemented else not eq

    def __hash__(self):
        return hash(self.as_tuple())

    def __bool__(self):
        return self._dims is not None

    def __add__(self, other):
        return self.concatenate(other)

    def concatenate(self, other) -> TensorShape:
        other = as_shape(other)
        if self._dims is None or other._dims is None:
            return TensorShape(None)
        return TensorShape(self._dims + other._dims)

    def __repr__(self):
        if self._dims is None:
            return "TensorShape(None)"
        return f"TensorShape({[d.value for d in self._dims]})"

    def __str__(self):
        if self._dims is None:
            return "<unknown>"
        inner = ", ".join(str(d.value) for d in self._dims)
        return f"({inner},)" if len(self._dims) == 1 else f"({inner})"


def as_shape(shape) -> TensorShape:
    return shape if isinstance(shape, TensorShape) else TensorShape(shape)


# Devices -----------------------------------------------------------------------------------
_DEVICE_TYPES = ("CPU", "GPU", "MLU")


def parse_device(spec: str) -> tuple:
    """TF's device spec parsing: '/job:w/replica:0/task:1/device:CPU:0', '/cpu:0', 'mlu:0'...
    as (job, replica, task, device_type, device_index), None where unspecified. tfc knows the
    CPU and the MLU; '/gpu:N' is accepted (TF1 programs name it) and runs on the CPU."""
    job = replica = task = device_type = index = None
    for field in (spec or "").split("/"):
        y = field.split(":")
        if y == [""]:
            continue
        if len(y) == 2 and y[0] in ("job", "replica", "task"):
            if y[0] == "job":
                job = y[1]
            elif y[0] == "replica":
                replica = int(y[1])
            else:
                task = int(y[1])
        elif len(y) in (1, 2) and y[0].upper() in _DEVICE_TYPES or len(y) == 3 and y[0] == "device":
            if device_type is not None:
                raise ValueError(f"Multiple device types are not allowed while parsing the device "
                                 f"spec: {spec}.")
            device_type = (y[1] if len(y) == 3 else y[0]).upper()
            if device_type not in _DEVICE_TYPES:
                raise ValueError(f"Unknown device type '{y[1]}' in the device spec '{spec}': tfc "
                                 "knows CPU and MLU (and GPU, which runs on the CPU).")
            if len(y) > 1 and y[-1] != "*":
                index = int(y[-1])
        else:
            raise ValueError(f"Unknown attribute '{y[0]}' is encountered while parsing the device "
                             f"spec: '{spec}'.")
    return job, replica, task, device_type, index


def device_string(job, replica, task, device_type, index) -> str:
    """The canonical text of a parsed device spec, e.g. '/job:w/device:MLU:0'."""
    text = "" if job is None else f"/job:{job}"
    text += "" if replica is None else f"/replica:{replica}"
    text += "" if task is None else f"/task:{task}"
    if device_type is not None:
        text += f"/device:{device_type}:{'*' if index is None else index}"
    return text


def merge_device(outer: tuple, device: str) -> str:
    """`device` with its unspecified fields taken from the outer spec (TF's MergeDevice)."""
    inner = parse_device(device)
    return device_string(*(i if i is not None else o for o, i in zip(outer, inner)))


# Graph -------------------------------------------------------------------------------------
class GraphKeys:
    GLOBAL_VARIABLES = "variables"
    LOCAL_VARIABLES = "local_variables"
    TRAINABLE_VARIABLES = "trainable_variables"
    MODEL_VARIABLES = "model_variables"
    UPDATE_OPS = "update_ops"
    LOSSES = "losses"
    REGULARIZATION_LOSSES = "regularization_losses"
    SUMMARIES = "summaries"
    QUEUE_RUNNERS = "queue_runners"
    TRAIN_OP = "train_op"
    INIT_OP = "init_op"
    GLOBAL_STEP = "global_step"
    SAVERS = "savers"
    VARIABLES = GLOBAL_VARIABLES


class Graph:
    """A TF1 dataflow graph: ops in creation order (always a topological order, since an op's
    inputs and control inputs exist before it), unique names, collections, a graph-level seed."""

    def __init__(self):
        self._ops: list[Operation] = []
        self._by_name: dict[str, Operation] = {}
        self._names_in_use: dict[str, int] = {}
        self._name_stack = ""
        self._control_stack: list[_ControlFrame] = []
        self._device_stack: list = []        # parsed specs, device functions, None (reset)
        self._collections: dict[str, list] = {}
        self._finalized = False
        self._unfeedable: set[int] = set()
        self._unfetchable: set[int] = set()
        self.seed: int | None = None
        self._variable_scopes = None          # made by tfc.api.variables on first use
        self._var_store: dict[str, Any] = {}

    # identity ----------------------------------------------------------------------------
    @property
    def version(self) -> int:
        """Grows with every op added; compiled functions are cached per version."""
        return len(self._ops)

    @property
    def _last_id(self) -> int:
        return len(self._ops)

    @property
    def finalized(self) -> bool:
        return self._finalized

    def finalize(self) -> None:
        self._finalized = True

    @contextlib.contextmanager
    def as_default(self):
        _default_graphs.stack.append(self)
        try:
            yield self
        finally:
            _default_graphs.stack.pop()

    # names -------------------------------------------------------------------------------
    def unique_name(self, name: str, mark_as_used: bool = True) -> str:
        """TF's rule: prefix with the name scope; add _1, _2... if taken (case-insensitively)."""
        if self._name_stack:
            name = f"{self._name_stack}/{name}"
        key = name.lower()
        i = self._names_in_use.get(key, 0)
        if mark_as_used:
            self._names_in_use[key] = i + 1
        if i > 0:
            base = key
            while key in self._names_in_use:
                key = f"{base}_{i}"
                i += 1
            if mark_as_used:
                self._names_in_use[key] = 1
            name = f"{name}_{i - 1}"
        return name

    def get_name_scope(self) -> str:
        return self._name_stack

    @contextlib.contextmanager
    def name_scope(self, name):
        """Push a name scope. `None` or '' resets to the root; a name ending in '/' re-enters
        that exact scope; otherwise the scope name is made unique."""
        if name:
            regex = _VALID_SCOPE_NAME if self._name_stack else _VALID_OP_NAME
            if not regex.match(name):
                kind = "scope" if self._name_stack else "root scope"
                raise ValueError(f"'{name}' is not a valid {kind} name. A {kind} name has to "
                                 f"match the following pattern: {regex.pattern}")
        old = self._name_stack
        new = "" if not name else name[:-1] if name.endswith("/") else self.unique_name(name)
        self._name_stack = new
        try:
            yield name if name and name.endswith("/") else (new + "/" if new else "")
        finally:
            self._name_stack = old

    # control dependencies and devices ----------------------------------------------------
    @contextlib.contextmanager
    def control_dependencies(self, control_inputs):
        """Ops created inside run after `control_inputs` (ops, tensors, variables or their
        names); None clears the enclosing ones. As in TF, an op gets no control inputs from a
        block where one of its data inputs was created (that input already waits for them)."""
        old_stack = self._control_stack
        if control_inputs is None:
            self._control_stack = []
            frame = _ControlFrame([])
        else:
            current = {id(op) for f in self._control_stack for op in f.inputs}
            ops = []
            for c in control_inputs:
                c = self.as_graph_element(c)
                c = c.op if isinstance(c, Tensor) else c
                if id(c) not in current:
                    current.add(id(c))
                    ops.append(c)
            frame = _ControlFrame(ops)
        self._control_stack = self._control_stack + [frame]
        try:
            yield
        finally:
            self._control_stack = old_stack

    def _control_inputs_for(self, inputs: list[Tensor]) -> list[Operation]:
        input_ops = {id(t.op) for t in inputs}
        ops: list[Operation] = []
        for frame in self._control_stack:
            if not input_ops & frame.seen:
                ops.extend(c for c in frame.inputs if id(c) not in input_ops)
        return ops

    @contextlib.contextmanager
    def device(self, device_name_or_function):
        """Ops created inside get this device ('/cpu:0', '/mlu:0', '/job:w/task:1'...),
        merged field by field with the enclosing devices; None clears them; a function of
        the op returns its device."""
        entry = device_name_or_function
        if entry is not None and not callable(entry):
            entry = parse_device(entry)
        self._device_stack.append(entry)
        try:
            yield
        finally:
            self._device_stack.pop()

    def _device_for(self, op: Operation) -> str:
        device = ""
        for entry in reversed(self._device_stack):
            if entry is None:
                break
            device = (entry(op) or "") if callable(entry) else merge_device(entry, device)
        return device

    # lookup ------------------------------------------------------------------------------
    def get_operations(self) -> list[Operation]:
        return list(self._ops)

    def get_operation_by_name(self, name: str) -> Operation:
        if not isinstance(name, str):
            raise TypeError(f"Operation names are strings (or similar), not {type(name).__name__}.")
        return self.as_graph_element(name, allow_tensor=False, allow_operation=True)

    def get_tensor_by_name(self, name: str) -> Tensor:
        if not isinstance(name, str):
            raise TypeError(f"Tensor names are strings (or similar), not {type(name).__name__}.")
        return self.as_graph_element(name, allow_tensor=True, allow_operation=False)

    def as_graph_element(self, obj, allow_tensor=True, allow_operation=True):
        """The Tensor or Operation `obj` names or is (a variable gives its ref tensor), with
        TF's errors: KeyError for a missing name, ValueError for a name of the wrong kind or an
        element of another graph, TypeError for anything else."""
        kinds = "Tensor or Operation" if allow_tensor and allow_operation else \
            "Tensor" if allow_tensor else "Operation"
        if hasattr(obj, "_as_graph_element"):
            obj = obj._as_graph_element()
        if isinstance(obj, bytes):
            obj = obj.decode()
        if isinstance(obj, str):
            return self._element_by_name(obj, allow_tensor, allow_operation, kinds)
        if isinstance(obj, Tensor) and allow_tensor or isinstance(obj, Operation) and allow_operation:
            if obj.graph is not self:
                raise ValueError(f"{type(obj).__name__} {obj} is not an element of this graph.")
            return obj
        raise TypeError(f"Can not convert a {type(obj).__name__} into a {kinds}.")

    def _element_by_name(self, name: str, allow_tensor: bool, allow_operation: bool, kinds: str):
        if ":" in name and allow_tensor:
            try:
                op_name, index = name.split(":")
                index = int(index)
            except ValueError:
                raise ValueError(f"The name {name!r} looks a like a Tensor name, but is not a valid "
                                 "one. Tensor names must be of the form \"<op_name>:<output_index>\"."
                                 ) from None
            if op_name not in self._by_name:
                raise KeyError(f"The name {name!r} refers to a Tensor which does not exist. The "
                               f"operation, {op_name!r}, does not exist in the graph.")
            outputs = self._by_name[op_name].outputs
            if not 0 <= index < len(outputs):
                raise KeyError(f"The name {name!r} refers to a Tensor which does not exist. The "
                               f"operation, {op_name!r}, exists but only has {len(outputs)} outputs.")
            return outputs[index]
        if ":" in name:
            raise ValueError(f"Name {name!r} appears to refer to a Tensor, not a {kinds}.")
        if allow_operation:
            if name not in self._by_name:
                raise KeyError(f"The name {name!r} refers to an Operation not in the graph.")
            return self._by_name[name]
        what = "refers to an Operation" if name in self._by_name else \
            "looks like an (invalid) Operation name"
        raise ValueError(f"The name {name!r} {what}, not a {kinds}. Tensor names must be of the "
                         "form \"<op_name>:<output_index>\".")

    def prevent_feeding(self, tensor) -> None:
        self._unfeedable.add(id(tensor))

    def prevent_fetching(self, op) -> None:
        self._unfetchable.add(id(op))

    def is_feedable(self, tensor) -> bool:
        return id(tensor) not in self._unfeedable

    def is_fetchable(self, tensor_or_op) -> bool:
        op = tensor_or_op.op if isinstance(tensor_or_op, Tensor) else tensor_or_op
        return id(op) not in self._unfetchable

    building_function = property(lambda self: False)

    # collections ---------------------------------------------------------------------------
    def add_to_collection(self, name, value) -> None:
        self._collections.setdefault(name, []).append(value)

    def add_to_collections(self, names, value) -> None:
        for name in ([names] if isinstance(names, str) else names):
            self.add_to_collection(name, value)

    def get_collection(self, name, scope=None) -> list:
        items = list(self._collections.get(name, []))
        if scope is None:
            return items
        pattern = re.compile(scope)
        return [x for x in items if hasattr(x, "name") and pattern.match(x.name)]

    def get_collection_ref(self, name) -> list:
        return self._collections.setdefault(name, [])

    def get_all_collection_keys(self) -> list[str]:
        return list(self._collections)

    def clear_collection(self, name) -> None:
        self._collections.pop(name, None)

    # creating ops --------------------------------------------------------------------------
    def create_op(self, op_type: str, inputs: list[Tensor], lower: Callable, *, name: str | None = None,
                  attrs: dict[str, Any] | None = None, stateful: bool = False) -> Operation:
        """Add an op: name it, check its inputs belong here, infer its outputs with `lower`.
        A `name` ending in '/' is used exactly (it is a scope opened for this op)."""
        if self._finalized:
            raise RuntimeError("Graph is finalized and cannot be modified.")
        for t in inputs:
            if not isinstance(t, Tensor):
                raise TypeError(f"{op_type}: input {t!r} is not a Tensor")
            if t.graph is not self:
                raise ValueError(f"Tensor {t.name} must be from the same graph as the other inputs of "
                                 f"{op_type} (it was created in a different graph).")
        name = name or op_type
        name = name[:-1] if name.endswith("/") else self.unique_name(name)
        if not _VALID_OP_NAME.match(name):
            raise ValueError(f"`{name}` is not a valid node name. Accepted names conform to Regex "
                             f"/{_VALID_OP_NAME}/")
        if name in self._by_name:
            raise ValueError(f"Duplicate node name in graph: '{name}'")
        op = Operation(self, op_type, name, list(inputs), lower, dict(attrs or {}), stateful)
        op._control_inputs = self._control_inputs_for(op._inputs)
        op._device = self._device_for(op)
        types, statics = infer_outputs(op)
        op._outputs = [Tensor(op, i, t, s) for i, (t, s) in enumerate(zip(types, statics))]
        self._ops.append(op)
        self._by_name[name] = op
        for frame in self._control_stack:
            frame.seen.add(id(op))
        return op


_VALID_OP_NAME = re.compile(r"^[A-Za-z0-9.][A-Za-z0-9_.\\/>-]*$")
_VALID_SCOPE_NAME = re.compile(r"^[A-Za-z0-9_.\\/>-]*$")


class _ControlFrame:
    """One `control_dependencies` block: its control inputs and the ops created inside."""

    def __init__(self, inputs: list[Operation]):
        self.inputs = inputs
        self.seen: set[int] = set()


class _DefaultGraphs(threading.local):
    def __init__(self):
        self.stack: list[Graph] = []
        self.root = Graph()


_default_graphs = _DefaultGraphs()


def get_default_graph() -> Graph:
    return _default_graphs.stack[-1] if _default_graphs.stack else _default_graphs.root


def reset_default_graph() -> None:
    """Replace the global default graph with a new, empty one."""
    if _default_graphs.stack:
        raise AssertionError("Do not use tf.reset_default_graph() to clear nested graphs. If you "
                             "need a cleared graph, exit the nesting and create a new graph.")
    _default_graphs.root = Graph()


# Operations and tensors --------------------------------------------------------------------
def _user_frames() -> list[traceback.FrameSummary]:
    """The frames of the user's code that are creating an op: not tfc's own, nor Python's or
    installed packages' (a test runner, runpy)."""
    return [f for f in traceback.extract_stack()[:-3]
            if not f.filename.startswith(_LIBRARY_DIRS) and not f.filename.startswith("<")
            and (not f.filename.startswith(_TFC_DIR) or "/tests/" in f.filename
                 or "/models/" in f.filename)]


_LIBRARY_DIRS = tuple({sysconfig.get_path(k) for k in ("stdlib", "platstdlib", "purelib", "platlib")})


class Operation:
    """A node of the graph (`tf.Operation`)."""

    def __init__(self, graph, op_type, name, inputs, lower, attrs, stateful):
        self._graph = graph
        self._type = op_type
        self._name = name
        self._inputs = inputs
        self._lower = lower
        self._attrs = attrs
        self._stateful = stateful
        self._outputs: list[Tensor] = []
        self._control_inputs: list[Operation] = []
        self._device = ""
        self._traceback = _user_frames()

    name = property(lambda self: self._name)
    type = property(lambda self: self._type)
    graph = property(lambda self: self._graph)
    outputs = property(lambda self: list(self._outputs))
    device = property(lambda self: self._device)
    control_inputs = property(lambda self: list(self._control_inputs))
    traceback = property(lambda self: list(self._traceback))

    @property
    def inputs(self):
        return tuple(self._inputs)

    @property
    def location(self) -> Location | None:
        """The model file and line that created this op (the innermost user frame)."""
        if not self._traceback:
            return None
        frame = self._traceback[-1]
        return Location(frame.filename, frame.lineno)

    def describe(self) -> str:
        """Where this op comes from, as TF's run-time errors say it: the node and the frames
        of the model file that created it."""
        frames = "".join(f'\n    File "{f.filename}", line {f.lineno}, in {f.name}'
                         for f in self._traceback)
        return f"Detected at node '{self._name}' defined at (most recent call last):{frames}\n" \
               f"Node: '{self._name}'"

    def get_attr(self, name: str):
        try:
            return self._attrs[name]
        except KeyError:
            raise ValueError(f"Operation '{self._name}' has no attr named '{name}'.") from None

    @property
    def node_def(self) -> NodeDef:
        inputs = [t.op.name if t.value_index == 0 else t.name for t in self._inputs]
        return NodeDef(self._name, self._type, inputs + [f"^{c.name}" for c in self._control_inputs],
                       self._device, dict(self._attrs))

    def colocation_groups(self) -> list[bytes]:
        return [f"loc:@{self._name}".encode()]

    def _add_control_input(self, op: Operation) -> None:
        if op not in self._control_inputs:
            self._control_inputs.append(op)

    def _add_control_inputs(self, ops) -> None:
        for op in ops:
            self._add_control_input(op)

    def run(self, feed_dict=None, session=None) -> None:
        """Run this op in `session` (default: the default session)."""
        from .session import _session_for

        _session_for(session, self._graph, "Operation.run").run(self, feed_dict=feed_dict)

    def values(self):
        return tuple(self._outputs)

    def __repr__(self):
        return f"<tf.Operation '{self._name}' type={self._type}>"

    def __str__(self):
        return str(self.node_def)


class NodeDef:
    """What `Operation.node_def` gives: the op's name, type, inputs ("op", "op:1", "^ctrl"),
    device and attributes; `str()` is TF's protobuf text of it."""

    def __init__(self, name, op, input, device, attr):
        self.name, self.op, self.input, self.device, self.attr = name, op, input, device, attr

    def __str__(self):
        lines = [f'name: "{self.name}"', f'op: "{self.op}"']
        lines += [f'input: "{i}"' for i in self.input]
        lines += [f'device: "{self.device}"'] if self.device else []
        for key, value in self.attr.items():
            text = _attr_text(value)
            if text is not None:
                lines += ["attr {", f'  key: "{key}"', "  value {"]
                lines += ["    " + line for line in text] + ["  }", "}"]
        return "\n".join(lines) + "\n"


def _attr_text(value) -> list[str] | None:
    """The lines of an AttrValue in protobuf text format (None for what tfc does not print)."""
    fields = _attr_fields(value)
    return None if fields is None else _proto_lines(fields)


def _attr_fields(value):
    """An AttrValue as a list of (field, value) where a value is a scalar text or a nested
    list of fields."""
    if isinstance(value, DType):
        return [("type", _proto_dtype(value))]
    if isinstance(value, (bool, np.bool_)):
        return [("b", str(bool(value)).lower())]
    if isinstance(value, (int, np.integer)):
        return [("i", str(int(value)))]
    if isinstance(value, (float, np.floating)):
        return [("f", f"{float(value):g}")]
    if isinstance(value, (str, bytes)):
        return [("s", f'"{_c_escape(value.encode() if isinstance(value, str) else value)}"')]
    if isinstance(value, TensorShape):
        return [("shape", _shape_fields(value))]
    if isinstance(value, (list, tuple)):
        items = [_attr_fields(v) for v in value]
        return None if None in items else [("list", [field for item in items for field in item])]
    if isinstance(value, np.ndarray) and value.dtype == object:
        return [("tensor", [("dtype", "DT_STRING"), ("tensor_shape", _shape_fields(TensorShape(value.shape)))]
                 + [("string_val", f'"{_c_escape(v)}"') for v in value.reshape(-1)])]
    if isinstance(value, np.ndarray):
        dtype = dt.from_numpy(value.dtype)
        fields = [("dtype", _proto_dtype(dtype)), ("tensor_shape", _shape_fields(TensorShape(value.shape)))]
        if value.size == 1 and dtype.is_floating | dtype.is_integer | dtype.is_bool:
            item = value.reshape(-1)[0].item()
            kind = {"float32": "float", "float64": "double", "bool": "bool"}.get(
                dtype.name, "int64" if dtype == dt.int64 else "int")
            text = str(item).lower() if isinstance(item, bool) else f"{item:g}" \
                if isinstance(item, float) else str(item)
            fields.append((f"{kind}_val", text))
        else:
            fields.append(("tensor_content", f'"{_c_escape(value.tobytes())}"'))
        return [("tensor", fields)]
    return None


def _shape_fields(shape: TensorShape):
    if shape.ndims is None:
        return [("unknown_rank", "true")]
    return [("dim", [("size", str(-1 if d is None else d))]) for d in shape.as_list()]


def _proto_lines(fields, indent: str = "") -> list[str]:
    lines = []
    for name, value in fields:
        if isinstance(value, list):
            lines += [f"{indent}{name} {{"] + _proto_lines(value, indent + "  ") + [f"{indent}}}"]
        else:
            lines.append(f"{indent}{name}: {value}")
    return lines


def _proto_dtype(dtype: DType) -> str:
    return "DT_" + tf_dtype_name(dtype).upper()


def _c_escape(data: bytes) -> str:
    """Bytes as protobuf's text format writes them (octal escapes)."""
    out = []
    for b in data:
        if chr(b) in '"\'\\':
            out.append("\\" + chr(b))
        elif 32 <= b < 127:
            out.append(chr(b))
        else:
            out.append({10: "\\n", 13: "\\r", 9: "\\t"}.get(b, f"\\{b:03o}"))
    return "".join(out)


class Tensor:
    """A symbolic handle to one output of an op (`tf.Tensor`). It holds no value: run it in a
    Session. Python operators build ops (`+ - * / // % ** @`, comparisons, `x[1:3]`)."""

    __array_priority__ = 100   # numpy defers to Tensor's reflected operators

    def __init__(self, op: Operation, index: int, type: TensorType, static: np.ndarray | None):
        self._op = op
        self._index = index
        self._type = type
        self._static = static

    op = property(lambda self: self._op)
    value_index = property(lambda self: self._index)
    graph = property(lambda self: self._op.graph)
    device = property(lambda self: self._op.device)

    @property
    def dtype(self) -> DType:
        return self._type.dtype

    @property
    def name(self) -> str:
        return f"{self._op.name}:{self._index}"

    @property
    def shape(self) -> TensorShape:
        return TensorShape.from_type(self._type.shape)

    def get_shape(self) -> TensorShape:
        return self.shape

    def set_shape(self, shape) -> None:
        """Refine the static shape (it must be compatible with what is known)."""
        old, new = self.shape, as_shape(shape)
        message = merge_error(old, new)
        if message:
            raise ValueError(message)
        self._type = TensorType(old.merge_with(new).as_tuple(), self._type.dtype)

    @property
    def ir_type(self) -> TensorType:
        return self._type

    def consumers(self) -> list[Operation]:
        return [op for op in self.graph._ops if any(t is self for t in op._inputs)]

    def eval(self, feed_dict=None, session=None):
        """This tensor's value in `session` (default: the default session)."""
        from .session import _session_for

        return _session_for(session, self.graph, "Tensor.eval").run(self, feed_dict=feed_dict)

    def _as_graph_element(self):
        return self

    def __repr__(self):
        return f"<tf.Tensor '{self.name}' shape={self.shape} dtype={self.dtype.name}>"

    def __str__(self):
        shape = f", shape={self.shape}" if self.shape.ndims is not None else ""
        device = f", device={self.device}" if self.device else ""
        return f'Tensor("{self.name}"{shape}, dtype={self.dtype.name}{device})'

    def __hash__(self):
        return id(self)

    def __eq__(self, other):   # TF1: tensors compare by identity; use tf.equal for values
        return self is other

    def __ne__(self, other):
        return self is not other

    def __bool__(self):
        raise OperatorNotAllowedInGraphError(
            "Using a symbolic `tf.Tensor` as a Python `bool` is not allowed. Use `if t is not "
            "None:` instead of `if t:` to test if a tensor is defined, and TensorFlow ops such as "
            "tf.cond to compute with its value.")

    def __iter__(self):
        raise OperatorNotAllowedInGraphError(
            "Iterating over a symbolic `tf.Tensor` is not allowed. Use tf.unstack (or indexing) "
            "to take its slices.")

    def __len__(self):
        raise TypeError(f"len is not well defined for a symbolic Tensor ({self.name}). Please call "
                        "`x.shape` rather than `len(x)` for shape information.")


# Shape inference by running the lowering rule on placeholders ---------------------------------
class VariableRef:
    """What a rule receives for an input that is a variable's ref tensor: rules that read
    call `ctx.read_variable(ref.op)`, assignments call `ctx.write_variable(ref.op, value)`."""

    def __init__(self, op: Operation):
        self.op = op

    @property
    def type(self) -> TensorType:
        return self.op.outputs[0].ir_type


def is_variable(tensor: Tensor) -> bool:
    return tensor.op.type == "VariableV2"


class InferContext:
    """The lowering-rule context at graph-build time: inputs are placeholders (or constants
    where the input's value is known), and folding gives constant outputs where it can."""

    inferring = True

    def __init__(self, op: Operation):
        self.op = op
        self.block = Block()
        self.b = FoldingBuilder(self.block, location=op.location)

    def static(self, value: Value) -> np.ndarray | None:
        return self.b.static(value)

    def unknown(self, type: TensorType) -> Value:
        """A value of `type` whose contents are not known while building the graph."""
        return self.block.add_arg(type)

    def read_variable(self, var_op: Operation) -> Value:
        return self.unknown(var_op.outputs[0].ir_type)

    def write_variable(self, var_op: Operation, value: Value) -> None:
        pass

    def random_counter(self, kind: str, **options) -> Value:
        return self.unknown(TensorType((), dt.int64))

    def input(self, tensor: Tensor):
        if is_variable(tensor):
            return VariableRef(tensor.op)
        if tensor._static is not None:
            return self.b.constant_of(tensor._static, tensor.dtype)
        return self.unknown(tensor.ir_type)


def infer_outputs(op: Operation) -> tuple[list[TensorType], list[np.ndarray | None]]:
    """Output types and (where known) constant values of `op`, from its lowering rule."""
    ctx = InferContext(op)
    inputs = [ctx.input(t) for t in op._inputs]
    try:
        outputs = op._lower(ctx, op, *inputs)
    except (BuildError, InferenceError) as e:
        shapes = ", ".join(tf_shape_text(t.ir_type.shape) for t in op._inputs)
        message = str(e)
        if isinstance(e, BuildError) and ": " in message:
            message = message.split(": ", 1)[1] if not op.location else message.split(": ", 2)[-1]
        raise ValueError(f"{message} for '{op.name}' (op: '{op.type}') with input shapes: {shapes}.") from None
    outputs = [] if outputs is None else outputs if isinstance(outputs, (list, tuple)) else [outputs]
    types = [v.type for v in outputs]
    statics = [ctx.static(v) for v in outputs]
    return types, statics


def tf_shape_text(shape) -> str:
    """A shape as TF's kernels write it: [?,3], or <unknown>."""
    if shape is None:
        return "<unknown>"
    return "[" + ",".join("?" if d is None else str(d) for d in shape) + "]"


def merge_error(a: TensorShape, b: TensorShape) -> str | None:
    """Why shapes `a` and `b` do not merge, in the words of TF's shape functions (or None)."""
    if a.ndims is None or b.ndims is None:
        return None
    if a.ndims != b.ndims:
        return f"Shapes must be equal rank, but are {a.ndims} and {b.ndims}"
    for i, (x, y) in enumerate(zip(a.as_list(), b.as_list())):
        if x is not None and y is not None and x != y:
            return (f"Dimension {i} in both shapes must be equal, but are {x} and {y}. Shapes are "
                    f"{tf_shape_text(a.as_tuple())} and {tf_shape_text(b.as_tuple())}.")
    return None


def tf_dtype_name(dtype: DType) -> str:
    """A dtype as TF's kernels write it (float, double, half, int32...)."""
    return {"float32": "float", "float64": "double", "float16": "half"}.get(dtype.name, dtype.name)


# Converting Python values to tensors -----------------------------------------------------------
def infer_dtype(value) -> DType:
    """The dtype TF gives a Python or numpy value: float32 for Python floats, int32 for
    Python ints (int64 when they do not fit), numpy arrays keep theirs."""
    if isinstance(value, np.ndarray) or isinstance(value, np.generic):
        return dt.from_numpy(value.dtype)
    flat = list(_flatten(value))
    if not flat:
        return dt.float32
    if all(isinstance(x, (bool, np.bool_)) for x in flat):
        return dt.bool_
    if all(isinstance(x, (str, bytes)) for x in flat):
        return dt.string
    if any(isinstance(x, (str, bytes)) for x in flat):
        raise TypeError(f"Can't convert {value!r}: it mixes strings and numbers")
    if any(isinstance(x, complex) for x in flat):
        return dt.complex128
    if any(isinstance(x, (float, np.floating)) for x in flat):
        return dt.float32
    if all(-2**31 <= int(x) < 2**31 for x in flat):
        return dt.int32
    return dt.int64


def _flatten(value) -> Iterable:
    if isinstance(value, (list, tuple)):
        for v in value:
            yield from _flatten(v)
    elif isinstance(value, np.ndarray):
        yield from value.reshape(-1).tolist()
    elif isinstance(value, Tensor):
        raise TypeError("a list mixing tensors and Python values needs tf.stack")
    else:
        yield value


def to_numpy(value, dtype: DType | None) -> np.ndarray:
    """`value` as an array of `dtype` (inferred when None), refusing lossy conversions of
    Python numbers as TF does (`tf.constant(1.5, tf.int32)` is a TypeError)."""
    dtype = dtype or infer_dtype(value)
    if dtype.numpy is None:
        raise TypeError(f"tfc cannot hold {dtype.name} values in numpy")
    if dtype == dt.string:
        array = np.asarray(value, dtype=object)
        return np.vectorize(lambda s: s.encode() if isinstance(s, str) else s, otypes=[object])(array) \
            if array.size else array
    if isinstance(value, (np.ndarray, np.generic)):
        if value.dtype.kind in "fc" and (dtype.is_integer or dtype.is_bool):
            raise TypeError(f"Expected {dtype.name}, but got an array of {value.dtype}: "
                            "use tf.cast to convert it.")
        return np.asarray(value).astype(dtype.numpy, copy=False)
    try:
        array = np.array(value, dtype=object if not isinstance(value, (int, float, bool)) else None)
        if array.dtype == object:
            array = np.array(value)
    except ValueError as e:
        raise ValueError(f"Can't convert non-rectangular Python sequence to Tensor: {e}") from None
    flat = list(_flatten(value)) if array.size else []
    for x in flat:
        _check_python_value(x, dtype)
    with np.errstate(all="ignore"):
        return array.astype(dtype.numpy) if array.size else np.zeros(array.shape, dtype.numpy)


def _check_python_value(x, dtype: DType) -> None:
    bad = None
    if isinstance(x, (str, bytes)):
        bad = dtype != dt.string
    elif dtype.is_integer or dtype.is_quantized:
        if isinstance(x, (float, np.floating, complex)):
            bad = True
        elif not isinstance(x, (bool, np.bool_)):
            bad = not dtype.min <= int(x) <= dtype.max
    elif dtype.is_bool:
        bad = not isinstance(x, (bool, np.bool_))
    elif dtype.is_floating:
        bad = isinstance(x, complex)
    if bad:
        raise TypeError(f"Expected {dtype.name}, but got {x!r} of type '{type(x).__name__}'.")


def convert_to_tensor(value, dtype=None, name=None, preferred_dtype=None) -> Tensor:
    """A Tensor for `value`: tensors pass through (their dtype must match), variables give
    their value, anything else becomes a constant."""
    dtype = dt.as_dtype(dtype) if dtype is not None else None
    if hasattr(value, "_as_tensor"):
        value = value._as_tensor()
    if isinstance(value, Tensor):
        if dtype is not None and value.dtype != dtype:
            raise ValueError(f"Tensor conversion requested dtype {dtype.name} for Tensor with dtype "
                             f"{value.dtype.name}: {value!r}")
        return value
    from .api.array_ops import constant

    if dtype is None and preferred_dtype is not None:
        try:
            to_numpy(value, dt.as_dtype(preferred_dtype))
            dtype = dt.as_dtype(preferred_dtype)
        except (TypeError, ValueError):
            dtype = None
    return constant(value, dtype=dtype, name=name or "Const")
