"""Variables: `tf.Variable`, assignments, `tf.get_variable` with variable scopes, the
initializers, and the collections and initializer ops that gather them.

A variable is a `VariableV2` op whose value lives in each session (two sessions on one graph
hold separate values, as in TF). Its graph is TF's: `v` (VariableV2), `v/initial_value`,
`v/Assign` (the initializer) and `v/read` (the snapshot that `v` stands for in expressions).
"""

from __future__ import annotations

import contextlib
import enum
import functools
import inspect
import math

import numpy as np

from tfc.ir import dtypes as dt
from tfc.ir.types import TensorType

from ..framework import (GraphKeys, Operation, Tensor, TensorShape, VariableRef, as_shape,
                         convert_to_tensor, get_default_graph, merge_error, tf_shape_text)
from . import array_ops, math_ops, random_ops
from .core import make_op, op_scope


# Variable ops ------------------------------------------------------------------------------------
def _variable_op(shape: TensorShape, dtype, name: str) -> Tensor:
    type = TensorType(shape.as_tuple(), dtype)
    op = make_op("VariableV2", [], lambda ctx, op: ctx.unknown(type), name=name, stateful=True,
                 attrs={"shape": shape, "dtype": dtype, "container": "", "shared_name": ""})
    return op.outputs[0]


def _ref_of(ref) -> Tensor:
    if isinstance(ref, Variable):
        return ref._variable
    if isinstance(ref, Tensor) and ref.op.type == "VariableV2":
        return ref
    raise TypeError(f"'ref' needs to be a Variable or a variable's ref tensor, got {ref!r}")


def assign(ref, value, validate_shape=None, use_locking=None, name=None):
    """`tf.assign`: store `value` in the variable; the result is the new value. Without
    `validate_shape` the value may change the variable's shape."""
    ref = _ref_of(ref)
    validate = True if validate_shape is None else bool(validate_shape)

    def lower(ctx, op, var: VariableRef, new):
        ctx.write_variable(var.op, new)
        return new

    with op_scope(name, "Assign", [ref, value]) as scope:
        value = convert_to_tensor(value, dtype=ref.dtype, name="value")
        message = merge_error(ref.shape, value.shape) if validate else None
        if message:
            raise ValueError(f"{message} for '{scope[:-1]}' (op: 'Assign') with input shapes: "
                             f"{tf_shape_text(ref.shape.as_tuple())}, "
                             f"{tf_shape_text(value.shape.as_tuple())}.")
        attrs = {"T": ref.dtype, "validate_shape": validate,
                 "use_locking": True if use_locking is None else bool(use_locking)}
        result = make_op("Assign", [ref, value], lower, name=scope, stateful=True, attrs=attrs).outputs[0]
    if validate:
        result.set_shape(ref.shape)
    return result


def _assign_update(op_type: str, ir_name: str, ref, value, use_locking, name):
    ref = _ref_of(ref)

    def lower(ctx, op, var: VariableRef, delta):
        new = ctx.b.op(ir_name, ctx.read_variable(var.op), delta)
        ctx.write_variable(var.op, new)
        return new

    with op_scope(name, op_type, [ref, value]) as scope:
        value = convert_to_tensor(value, dtype=ref.dtype, name="value")
        attrs = {"T": ref.dtype, "use_locking": bool(use_locking)}
        return make_op(op_type, [ref, value], lower, name=scope, stateful=True, attrs=attrs).outputs[0]


def assign_add(ref, value, use_locking=None, name=None):
    """`tf.assign_add`: add `value` to the variable; the result is the new value."""
    return _assign_update("AssignAdd", "math.add", ref, value, use_locking, name)


def assign_sub(ref, value, use_locking=None, name=None):
    """`tf.assign_sub`: subtract `value` from the variable; the result is the new value."""
    return _assign_update("AssignSub", "math.sub", ref, value, use_locking, name)


# tf.Variable -------------------------------------------------------------------------------------
class Variable:
    """`tf.Variable` (TF1's ref variable). In expressions it stands for its current value."""

    def __init__(self, initial_value=None, trainable=None, collections=None, validate_shape=True,
                 caching_device=None, name=None, variable_def=None, dtype=None, expected_shape=None,
                 import_scope=None, constraint=None, use_resource=None, synchronization=None,
                 aggregation=None, shape=None):
        if initial_value is None:
            raise ValueError("initial_value must be specified.")
        trainable = True if trainable is None else bool(trainable)
        dtype = dt.as_dtype(dtype) if dtype is not None else None
        init_from_fn = callable(initial_value)
        graph = get_default_graph()
        with graph.as_default(), graph.name_scope(name or "Variable") as scope:
            if init_from_fn:   # as TF: the initializer's ops go to no device
                with graph.name_scope("Initializer"), graph.device(None):
                    initial_value = convert_to_tensor(initial_value(), dtype=dtype, name="initial_value")
            else:
                initial_value = convert_to_tensor(initial_value, dtype=dtype, name="initial_value")
            if validate_shape and not initial_value.shape.is_fully_defined():
                raise ValueError(f"initial_value must have a shape specified: {initial_value}")
            var_shape = as_shape(shape) if shape is not None else \
                initial_value.shape if validate_shape else TensorShape(None)
            self._initial_value = initial_value
            self._variable = _variable_op(var_shape, initial_value.dtype, scope)
            self._initializer_op = assign(self._variable, initial_value,
                                          validate_shape=validate_shape).op
            self._snapshot = array_ops.identity(self._variable, name="read")
        self._trainable = trainable
        self._constraint = constraint
        if collections is None:
            collections = [GraphKeys.GLOBAL_VARIABLES]
        collections = list(collections)
        if trainable and GraphKeys.TRAINABLE_VARIABLES not in collections:
            collections.append(GraphKeys.TRAINABLE_VARIABLES)
        graph.add_to_collections(collections, self)

    # identity --------------------------------------------------------------------------------
    name = property(lambda self: self._variable.name)
    op = property(lambda self: self._variable.op)
    graph = property(lambda self: self._variable.graph)
    device = property(lambda self: self._variable.device)
    dtype = property(lambda self: self._variable.dtype)
    shape = property(lambda self: self._variable.shape)
    trainable = property(lambda self: self._trainable)
    initializer = property(lambda self: self._initializer_op)
    initial_value = property(lambda self: self._initial_value)
    constraint = property(lambda self: self._constraint)

    def get_shape(self) -> TensorShape:
        return self.shape

    def set_shape(self, shape) -> None:
        self._variable.set_shape(shape)
        self._snapshot.set_shape(shape)

    # values ----------------------------------------------------------------------------------
    def value(self) -> Tensor:
        return self._snapshot

    def read_value(self) -> Tensor:
        """A fresh read of the variable: created after an assignment (or under its control
        dependency), it sees the assigned value."""
        return array_ops.identity(self._variable, name="read")

    def initialized_value(self) -> Tensor:
        """The variable's initial value, for initializing another variable from it. (TF reads
        the variable when it is already initialized; tfc always gives the initial value.)"""
        return array_ops.identity(self._initial_value, name="initialized_value")

    def assign(self, value, use_locking=False, name=None, read_value=True):
        result = assign(self._variable, value, use_locking=use_locking, name=name)
        return result if read_value else result.op

    def assign_add(self, delta, use_locking=False, name=None, read_value=True):
        result = assign_add(self._variable, delta, use_locking=use_locking, name=name)
        return result if read_value else result.op

    def assign_sub(self, delta, use_locking=False, name=None, read_value=True):
        result = assign_sub(self._variable, delta, use_locking=use_locking, name=name)
        return result if read_value else result.op

    def eval(self, session=None):
        return self._variable.eval(session=session)

    def load(self, value, session=None):
        """Store `value` in the variable in `session` (default: the default session)."""
        from ..session import _session_for

        session = _session_for(session, self.graph, "Tensor.eval")
        session._variables[self.op] = np.asarray(value, dtype=self.dtype.numpy).reshape(self.shape.as_list())

    def _as_graph_element(self):
        return self._variable

    def _as_tensor(self) -> Tensor:
        return self._snapshot

    def _ref(self) -> Tensor:
        return self._variable

    def __repr__(self):
        return f"<tf.Variable '{self.name}' shape={self.shape} dtype={self.dtype.name}_ref>"

    def __hash__(self):
        return id(self)

    def __eq__(self, other):
        return self is other

    def __ne__(self, other):
        return self is not other


# Initializers ------------------------------------------------------------------------------------
class Initializer:
    """Base of the initializers: `init(shape, dtype=None, partition_info=None)` builds the
    ops that compute an initial value."""

    def __call__(self, shape, dtype=None, partition_info=None):
        raise NotImplementedError

    def get_config(self) -> dict:
        return {}


class Zeros(Initializer):
    def __init__(self, dtype=dt.float32):
        self.dtype = dt.as_dtype(dtype)

    def __call__(self, shape, dtype=None, partition_info=None):
        return zeros(shape, dtype or self.dtype)


class Ones(Initializer):
    def __init__(self, dtype=dt.float32):
        self.dtype = dt.as_dtype(dtype)

    def __call__(self, shape, dtype=None, partition_info=None):
        return ones(shape, dtype or self.dtype)


class Constant(Initializer):
    def __init__(self, value=0, dtype=dt.float32, verify_shape=False):
        self.value, self.dtype, self.verify_shape = value, dt.as_dtype(dtype), verify_shape

    def __call__(self, shape, dtype=None, partition_info=None, verify_shape=None):
        return array_ops.constant(self.value, dtype=dtype or self.dtype, shape=shape)


class RandomNormal(Initializer):
    def __init__(self, mean=0.0, stddev=1.0, seed=None, dtype=dt.float32):
        self.mean, self.stddev, self.seed, self.dtype = mean, stddev, seed, dt.as_dtype(dtype)

    def __call__(self, shape, dtype=None, partition_info=None):
        return random_ops.random_normal(shape, self.mean, self.stddev, dtype or self.dtype, seed=self.seed)


class TruncatedNormal(Initializer):
    def __init__(self, mean=0.0, stddev=1.0, seed=None, dtype=dt.float32):
        self.mean, self.stddev, self.seed, self.dtype = mean, stddev, seed, dt.as_dtype(dtype)

    def __call__(self, shape, dtype=None, partition_info=None):
        return random_ops.truncated_normal(shape, self.mean, self.stddev, dtype or self.dtype, seed=self.seed)


class RandomUniform(Initializer):
    def __init__(self, minval=.0, maxval=None, seed=None, dtype=dt.float32):
        self.minval, self.maxval, self.seed, self.dtype = minval, maxval, seed, dt.as_dtype(dtype)

    def __call__(self, shape, dtype=None, partition_info=None):
        return random_ops.random_uniform(shape, self.minval, self.maxval, dtype or self.dtype, seed=self.seed)


def _compute_fans(shape) -> tuple[float, float]:
    if len(shape) < 1:
        return 1.0, 1.0
    if len(shape) == 1:
        return float(shape[0]), float(shape[0])
    if len(shape) == 2:
        return float(shape[0]), float(shape[1])
    receptive = math.prod(shape[:-2])
    return float(shape[-2] * receptive), float(shape[-1] * receptive)


class VarianceScaling(Initializer):
    """Samples scaled by the layer's fan-in/fan-out (TF1's init_ops.VarianceScaling)."""

    def __init__(self, scale=1.0, mode="fan_in", distribution="truncated_normal", seed=None, dtype=dt.float32):
        if scale <= 0.0:
            raise ValueError("`scale` must be positive float.")
        if mode not in ("fan_in", "fan_out", "fan_avg"):
            raise ValueError(f"Invalid `mode` argument: {mode}")
        distribution = distribution.lower()
        if distribution not in ("normal", "uniform", "truncated_normal", "untruncated_normal"):
            raise ValueError(f"Invalid `distribution` argument: {distribution}")
        self.scale, self.mode, self.distribution = scale, mode, distribution
        self.seed, self.dtype = seed, dt.as_dtype(dtype)

    def __call__(self, shape, dtype=None, partition_info=None):
        dtype = dt.as_dtype(dtype or self.dtype)
        shape = list(as_shape(shape).as_list())
        fan_in, fan_out = _compute_fans(shape)
        scale = self.scale / max(1.0, {"fan_in": fan_in, "fan_out": fan_out,
                                       "fan_avg": (fan_in + fan_out) / 2.0}[self.mode])
        if self.distribution in ("normal", "truncated_normal"):
            stddev = math.sqrt(scale) / .87962566103423978
            return random_ops.truncated_normal(shape, 0.0, stddev, dtype, seed=self.seed)
        if self.distribution == "untruncated_normal":
            return random_ops.random_normal(shape, 0.0, math.sqrt(scale), dtype, seed=self.seed)
        limit = math.sqrt(3.0 * scale)
        return random_ops.random_uniform(shape, -limit, limit, dtype, seed=self.seed)


class GlorotUniform(VarianceScaling):
    def __init__(self, seed=None, dtype=dt.float32):
        super().__init__(1.0, "fan_avg", "uniform", seed, dtype)


class GlorotNormal(VarianceScaling):
    def __init__(self, seed=None, dtype=dt.float32):
        super().__init__(1.0, "fan_avg", "truncated_normal", seed, dtype)


class Orthogonal(Initializer):
    """An orthogonal matrix (reshaped to `shape`) from the QR decomposition of a normal one."""

    def __init__(self, gain=1.0, seed=None, dtype=dt.float32):
        self.gain, self.seed, self.dtype = gain, seed, dt.as_dtype(dtype)

    def __call__(self, shape, dtype=None, partition_info=None):
        dtype = dt.as_dtype(dtype or self.dtype)
        shape = list(as_shape(shape).as_list())
        if len(shape) < 2:
            raise ValueError("The tensor to initialize must be at least two-dimensional")
        num_rows = math.prod(shape[:-1])
        num_cols = shape[-1]
        flat = (num_cols, num_rows) if num_rows < num_cols else (num_rows, num_cols)
        a = random_ops.random_normal(flat, dtype=dtype, seed=self.seed)
        q, r = math_ops.qr(a, full_matrices=False)
        q = math_ops.multiply(q, math_ops.sign(array_ops.diag_part(r)), name="mul")
        if num_rows < num_cols:
            q = math_ops.matrix_transpose(q)
        return math_ops.multiply(self.gain, array_ops.reshape(q, shape), name="mul")


def zeros(shape, dtype=dt.float32, name=None):
    """`tf.zeros`: a constant when small, else a Fill (as TF builds it)."""
    return _filled(shape, dtype, 0, name, "zeros")


def ones(shape, dtype=dt.float32, name=None):
    """`tf.ones`: a constant when small, else a Fill (as TF builds it)."""
    return _filled(shape, dtype, 1, name, "ones")


def _filled(shape, dtype, value, name, default_name):
    dtype = dt.as_dtype(dtype)
    with op_scope(name, default_name, [shape]) as scope:
        if isinstance(shape, Tensor):
            return array_ops.fill(shape, array_ops.constant(value, dtype=dtype), name=scope)
        dims = as_shape(shape).as_list()
        if math.prod(dims) < 1000:
            return array_ops.constant(value, dtype=dtype, shape=dims, name=scope)
        shape_tensor = array_ops.constant(dims, dtype=dt.int32, name="shape_as_tensor")
        return array_ops.fill(shape_tensor, array_ops.constant(value, dtype=dtype), name=scope)


zeros_initializer = Zeros
ones_initializer = Ones
constant_initializer = Constant
random_normal_initializer = RandomNormal
truncated_normal_initializer = TruncatedNormal
random_uniform_initializer = RandomUniform
variance_scaling_initializer = VarianceScaling
glorot_uniform_initializer = GlorotUniform
glorot_normal_initializer = GlorotNormal
orthogonal_initializer = Orthogonal


# Collections and initializer ops -----------------------------------------------------------------
def global_variables(scope=None) -> list:
    return get_default_graph().get_collection(GraphKeys.GLOBAL_VARIABLES, scope)


def trainable_variables(scope=None) -> list:
    return get_default_graph().get_collection(GraphKeys.TRAINABLE_VARIABLES, scope)


def local_variables(scope=None) -> list:
    return get_default_graph().get_collection(GraphKeys.LOCAL_VARIABLES, scope)


def model_variables(scope=None) -> list:
    return get_default_graph().get_collection(GraphKeys.MODEL_VARIABLES, scope)


def variables_initializer(var_list, name="init") -> Operation:
    """An op that runs the initializers of `var_list`."""
    if var_list:
        return array_ops.group(*[v.initializer for v in var_list], name=name)
    return array_ops.no_op(name=name)


def global_variables_initializer() -> Operation:
    return variables_initializer(global_variables())


def local_variables_initializer() -> Operation:
    return variables_initializer(local_variables(), name="init")


initialize_all_variables = global_variables_initializer


# Variable scopes and tf.get_variable -------------------------------------------------------------
class _ReuseMode(enum.Enum):
    AUTO_REUSE = 1


AUTO_REUSE = _ReuseMode.AUTO_REUSE


class VariableScope:
    """The state of a `tf.variable_scope`: its name, reuse flag and defaults."""

    def __init__(self, reuse, name="", initializer=None, regularizer=None, dtype=dt.float32,
                 name_scope=""):
        self.name = name
        self.reuse = reuse
        self.initializer = initializer
        self.regularizer = regularizer
        self.dtype = dt.as_dtype(dtype)
        self.original_name_scope = name_scope

    def reuse_variables(self) -> None:
        self.reuse = True

    def set_initializer(self, initializer) -> None:
        self.initializer = initializer

    def set_regularizer(self, regularizer) -> None:
        self.regularizer = regularizer

    def set_dtype(self, dtype) -> None:
        self.dtype = dt.as_dtype(dtype)

    def get_variable(self, name, **kwargs):
        return get_variable(name, **kwargs)


class _ScopeStore:
    """A graph's variable scopes: the stack, and how often each scope name was opened (which
    `default_name` scopes are made unique against, as TF does)."""

    def __init__(self):
        self.stack = [VariableScope(False)]
        self.opened: dict[str, int] = {}

    def unique_name(self, parent: str, prefix: str) -> str:
        full = f"{parent}/{prefix}" if parent else prefix
        if not self.opened.get(full):
            return prefix
        i = 1
        while self.opened.get(f"{full}_{i}"):
            i += 1
        return f"{prefix}_{i}"

    def close_subscopes(self, name: str) -> None:
        for key in self.opened:
            if key.startswith(name + "/"):
                self.opened[key] = 0


def _scope_store() -> _ScopeStore:
    graph = get_default_graph()
    if graph._variable_scopes is None:
        graph._variable_scopes = _ScopeStore()
    return graph._variable_scopes


def get_variable_scope() -> VariableScope:
    return _scope_store().stack[-1]


@contextlib.contextmanager
def variable_scope(name_or_scope=None, default_name=None, values=None, initializer=None,
                   regularizer=None, caching_device=None, partitioner=None, custom_getter=None,
                   reuse=None, dtype=None, use_resource=None, constraint=None, auxiliary_name_scope=True):
    """`tf.variable_scope`: prefixes variable names (and, through a name scope of the same name,
    op names) and sets reuse and defaults. Reuse is inherited: inside a `reuse=True` scope
    every scope reuses (`reuse=False` cannot turn it off); AUTO_REUSE creates variables that
    are missing and shares the others."""
    if name_or_scope is None and default_name is None:
        raise TypeError("If default_name is None then name_or_scope is required")
    if name_or_scope is not None and not isinstance(name_or_scope, (str, VariableScope)):
        raise TypeError(f"VariableScope: name_or_scope must be a string or VariableScope, got "
                        f"{type(name_or_scope).__name__}")
    reuse = None if reuse is False else reuse
    if name_or_scope is None and reuse:
        raise ValueError("reuse=True cannot be used without a name_or_scope")
    graph = get_default_graph()
    store = _scope_store()
    parent = store.stack[-1]
    if isinstance(name_or_scope, VariableScope):
        base, name = name_or_scope, name_or_scope.name
        reuse = reuse or name_or_scope.reuse
        scope_name = name.rsplit("/", 1)[-1]
    else:
        base = parent
        relative = name_or_scope if name_or_scope is not None else \
            store.unique_name(parent.name, default_name)
        name = f"{parent.name}/{relative}" if parent.name else relative
        reuse = reuse or parent.reuse
        scope_name = name_or_scope if name_or_scope is not None else default_name
    scope = VariableScope(reuse, name, initializer or base.initializer, regularizer or base.regularizer,
                          dtype or base.dtype, getattr(base, "original_name_scope", ""))
    store.opened[name] = store.opened.get(name, 0) + 1
    saved_counts = dict(store.opened)
    with contextlib.ExitStack() as stack:
        if auxiliary_name_scope and (scope_name or graph.get_name_scope()):
            opened = stack.enter_context(graph.name_scope(scope_name))
            if not isinstance(name_or_scope, VariableScope):
                scope.original_name_scope = opened
        store.stack.append(scope)
        try:
            yield scope
        finally:
            store.stack.pop()
            if isinstance(name_or_scope, VariableScope):
                store.opened = saved_counts
            else:
                store.close_subscopes(name)


def get_variable(name, shape=None, dtype=None, initializer=None, regularizer=None, trainable=None,
                 collections=None, caching_device=None, partitioner=None, validate_shape=True,
                 use_resource=None, custom_getter=None, constraint=None, synchronization=None,
                 aggregation=None):
    """`tf.get_variable`: the variable `scope/name`, created (with `initializer`, the scope's
    initializer, or Glorot-uniform for floats and zeros otherwise) or, under reuse, shared."""
    scope = get_variable_scope()
    full_name = f"{scope.name}/{name}" if scope.name else name
    graph = get_default_graph()
    dtype = dt.as_dtype(dtype if dtype is not None else scope.dtype)
    initializer = initializer if initializer is not None else scope.initializer
    regularizer = regularizer if regularizer is not None else scope.regularizer
    from_value = initializer is not None and not callable(initializer)
    if shape is not None and from_value:
        raise ValueError("If initializer is a constant, do not specify shape.")
    shape = as_shape(shape) if shape is not None else None
    if full_name in graph._var_store:
        return _existing_variable(graph._var_store[full_name], full_name, shape, dtype, scope.reuse)
    if scope.reuse is True:
        raise ValueError(f"Variable {full_name} does not exist, or was not created with "
                         "tf.get_variable(). Did you mean to set reuse=tf.AUTO_REUSE in VarScope?")
    if initializer is None:
        if shape is None:
            raise ValueError(f"Variable {full_name} did not get an initializer, so its `shape` "
                             "argument must be specified.")
        if not (dtype.is_floating or dtype.is_integer or dtype.is_bool or dtype == dt.string):
            raise ValueError(f"An initializer for variable {full_name} of {dtype!r} is required")
        initializer = GlorotUniform() if dtype.is_floating else Zeros()
    if from_value:
        init_value, var_dtype = initializer, None
    else:
        if isinstance(initializer, type):
            initializer = initializer()
        if shape is not None and shape.is_fully_defined():
            kwargs = {"dtype": dtype}
            if "partition_info" in inspect.signature(initializer).parameters:
                kwargs["partition_info"] = None
            init_value = functools.partial(initializer, shape.as_list(), **kwargs)
            var_dtype = dtype
        elif not _takes_arguments(initializer):
            init_value, var_dtype = initializer, None
        else:
            raise ValueError("The initializer passed is not valid. It should be a callable with no "
                             "arguments and the shape should not be provided or an instance of "
                             "`tf.keras.initializers.*' and `shape` should be fully defined.")
    with graph.name_scope(None):
        variable = Variable(init_value, trainable=trainable, collections=collections,
                            validate_shape=validate_shape, name=full_name, dtype=var_dtype,
                            shape=shape, constraint=constraint)
        graph._var_store[full_name] = variable
        # As TF: the regularizer runs once where get_variable was called from (at the root
        # scope) to see that it gives a loss, then again under "name/Regularizer/" for the
        # loss it collects.
        if regularizer is not None and regularizer(variable) is not None:
            with graph.name_scope(f"{full_name}/Regularizer/"):
                graph.add_to_collection(GraphKeys.REGULARIZATION_LOSSES, regularizer(variable))
    return variable


def _existing_variable(found: Variable, name: str, shape, dtype, reuse) -> Variable:
    if reuse is False:
        frames = "".join(f'  File "{f.filename}", line {f.lineno}, in {f.name}\n'
                         for f in found.op.traceback[::-1][:5])
        raise ValueError(f"Variable {name} already exists, disallowed. Did you mean to set "
                         f"reuse=True or reuse=tf.AUTO_REUSE in VarScope? Originally defined "
                         f"at:\n\n{frames}")
    if shape is not None and not shape.is_compatible_with(found.shape):
        raise ValueError(f"Trying to share variable {name}, but specified shape {shape} and found "
                         f"shape {found.shape}.")
    if dtype != found.dtype:
        raise ValueError(f"Trying to share variable {name}, but specified dtype {dtype.name} and "
                         f"found dtype {found.dtype.name}_ref.")
    return found


def _takes_arguments(fn) -> bool:
    try:
        params = inspect.signature(fn).parameters.values()
    except (TypeError, ValueError):
        return True
    return any(p.default is p.empty and p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD)
               for p in params)


__all__ = [
    "assign",
    "assign_add",
    "assign_sub",
    "Variable",
    "zeros",
    "ones",
    "global_variables",
    "trainable_variables",
    "local_variables",
    "model_variables",
    "variables_initializer",
    "global_variables_initializer",
    "local_variables_initializer",
    "VariableScope",
    "get_variable_scope",
    "variable_scope",
    "get_variable",
    "zeros_initializer",
    "ones_initializer",
    "constant_initializer",
    "random_normal_initializer",
    "truncated_normal_initializer",
    "random_uniform_initializer",
    "variance_scaling_initializer",
    "glorot_uniform_initializer",
    "glorot_normal_initializer",
    "orthogonal_initializer",
    "initialize_all_variables",
    "AUTO_REUSE",
]
