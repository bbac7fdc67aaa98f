"""Creating, reshaping, slicing and joining tensors: the array family of `import tfc as tf`
(tf.constant, tf.reshape, tf.concat, tf.gather, tf.pad, x[1:, ::-1], ...).

Each function builds the graph TF 2.21's tf.compat.v1 builds for the same call: the same op
types, names, inputs and static shapes. Where TF takes a shape, an axis, a permutation or slice
bounds as a tensor, the graph op keeps that tensor input and its lowering rule reads the value
with `static_ints` (the IR takes them as attributes). While the graph is being built,
`partial_value` recovers what TF's shape inference knows of an integer tensor whose value is
only partly known, e.g. `[tf.shape(x)[0], 784]` with an unknown batch size.
"""

from __future__ import annotations

import builtins
import numbers

import numpy as np

from tfc.ir import dtypes as dt
from tfc.ir.opdef import InferenceError, broadcast_shapes
from tfc.ir.ops.array import _strided_slice_plan
from tfc.ir.types import TensorType

from .. import errors
from ..framework import (Dimension, Tensor, TensorShape, VariableRef, as_shape, convert_to_tensor,
                         get_default_graph, infer_dtype, to_numpy)
from .core import graph_for, make_op, op_scope, outputs

INDEX = (dt.int32, dt.int64)
newaxis = None

# This module defines tf.range and tf.slice; these are Python's.
_py_range, _py_slice = builtins.range, builtins.slice


# Converting inputs the way TF's op wrappers do ---------------------------------------------------
def _is_tensor(value) -> bool:
    return isinstance(value, Tensor) or hasattr(value, "_as_tensor")


def _has_tensor(value) -> bool:
    if isinstance(value, (list, tuple)):
        return any(_has_tensor(v) for v in value)
    return _is_tensor(value)


def _first_tensor_dtype(value):
    """The dtype of the first tensor in a nested list (TF's _get_dtype_from_nested_lists)."""
    for v in value:
        if _is_tensor(v):
            return convert_to_tensor(v).dtype
        if isinstance(v, (list, tuple)):
            found = _first_tensor_dtype(v)
            if found is not None:
                return found
    return None


def autopack(value, dtype=None, name=None) -> Tensor:
    """A list holding tensors as one tensor, as TF's conversion function for lists builds it:
    a Pack op named `name` (default "packed") of the elements, Python elements becoming
    constants named by their position, nested lists packed recursively."""
    inferred = _first_tensor_dtype(value)
    if inferred is None:
        return convert_to_tensor(value, dtype=dtype, name=name)
    dtype = dt.as_dtype(dtype) if dtype is not None else inferred
    if dtype != inferred:
        value = _cast_nested(value, dtype)
    graph = graph_for([value])
    with graph.as_default():
        return _autopack(value, dtype, name or "packed")


def _cast_nested(value, dtype):
    if isinstance(value, (list, tuple)):
        return [_cast_nested(v, dtype) for v in value]
    if _is_tensor(value) and convert_to_tensor(value).dtype != dtype:
        return gen_cast(value, dtype)
    return value


def _autopack(values, dtype, name):
    graph = get_default_graph()
    with graph.name_scope(name) as scope:
        converted, must_pack = [], False
        for i, elem in enumerate(values):
            if _is_tensor(elem):
                elem = convert_to_tensor(elem)
                if elem.dtype != dtype:
                    raise TypeError(f"Cannot convert a list containing a tensor of dtype {elem.dtype.name} "
                                    f"to {dtype.name} (Tensor is: {elem!r})")
                must_pack = True
            elif isinstance(elem, (list, tuple)):
                elem = _autopack(elem, dtype, str(i))
                must_pack = must_pack or isinstance(elem, Tensor)
            converted.append(elem)
        if not must_pack:
            return converted
        tensors = [e if isinstance(e, Tensor) else constant(e, dtype=dtype, name=str(i))
                   for i, e in enumerate(converted)]
        return _pack(tensors, 0, scope)


def _to_tensor(value, dtype=None, name=None, preferred_dtype=None) -> Tensor:
    """convert_to_tensor, packing lists that hold tensors (TF's autopacking) and taking a
    fully known TensorShape as its dims."""
    if isinstance(value, (list, tuple)) and _has_tensor(value):
        return autopack(value, dtype, name)
    if isinstance(value, TensorShape):
        if not value.is_fully_defined():
            raise ValueError(f"Cannot convert a partially known TensorShape {value} to a Tensor.")
        value = np.array(value.as_list(), np.int64 if any(d >= 2**31 for d in value.as_list())
                         else np.int32)
    return convert_to_tensor(value, dtype=dtype, name=name, preferred_dtype=preferred_dtype)


class _List(list):
    """Marks an op input that is a list of tensors (TF's `N * T` inputs: Pack, ConcatV2...)."""


def _convert_inputs(op_type: str, inputs, allowed=None) -> list[Tensor]:
    """Tensors for `inputs` [(arg name, value, type key)], as TF's op wrappers convert them.
    Inputs with the same key share one dtype (TF's type attributes): Python values take the
    dtype of the first tensor among them, else the dtype of the first Python value. A key
    that is a DType fixes the dtype; `allowed` maps keys to the dtypes they accept."""
    allowed = allowed or {}
    chosen: dict = {}
    first_arg: dict = {}
    for arg, value, key in inputs:
        if isinstance(key, dt.DType):
            chosen[key] = key
        elif key not in chosen:
            for v in (value if isinstance(value, _List) else [value]):
                if _is_tensor(v):
                    chosen[key], first_arg[key] = convert_to_tensor(v).dtype, arg
                    break
    tensors = []
    for arg, value, key in inputs:
        if isinstance(value, _List):
            converted = _convert_list(op_type, arg, value, chosen.get(key))
        elif isinstance(key, dt.DType) and _is_tensor(value) and convert_to_tensor(value).dtype != key:
            raise TypeError(f"Input '{arg}' of '{op_type}' Op has type "
                            f"{convert_to_tensor(value).dtype.name} that does not match expected "
                            f"type of {key.name}.")
        else:
            converted = [_convert_one(op_type, arg, value, chosen.get(key), first_arg.get(key))]
        if converted and key not in chosen:
            chosen[key], first_arg[key] = converted[0].dtype, arg
        if key in allowed and converted and converted[0].dtype not in allowed[key]:
            names = ", ".join(d.name for d in allowed[key])
            raise TypeError(f"Value passed to parameter '{arg}' has DataType "
                            f"{converted[0].dtype.name} not in list of allowed values: {names}")
        tensors += converted
    return tensors


def _convert_one(op_type, arg, value, dtype, first_arg):
    if _is_tensor(value):
        t = convert_to_tensor(value)
        if dtype is not None and t.dtype != dtype:
            raise TypeError(f"Input '{arg}' of '{op_type}' Op has type {t.dtype.name} that does not "
                            f"match type {dtype.name} of argument '{first_arg}'.")
        return t
    return _to_tensor(value, dtype=dtype, name=arg)


def _convert_list(op_type, arg, values, dtype):
    tensors = []
    try:
        for i, v in enumerate(values):
            t = _to_tensor(v, dtype=dtype, name=f"{arg}_{i}") if not _is_tensor(v) else convert_to_tensor(v)
            dtype = dtype or t.dtype
            tensors.append(t)
        if len({t.dtype for t in tensors}) > 1:
            raise TypeError
    except TypeError:
        observed = ", ".join(_observed_dtype(v) for v in values)
        raise TypeError(f"Tensors in list passed to '{arg}' of '{op_type}' Op have types "
                        f"[{observed}] that don't all match.") from None
    return tensors


def _observed_dtype(value) -> str:
    try:
        return convert_to_tensor(value).dtype.name if _is_tensor(value) else infer_dtype(value).name
    except (TypeError, ValueError):
        return "<NOT CONVERTIBLE TO TENSOR>"


def _op(op_type, name, inputs, lower, *, default_name=None, attrs=None, allowed=None):
    """One graph op in its own name scope (named `name`, default `default_name` or the type),
    its inputs converted there (see _convert_inputs); returns its output or outputs."""
    values = [v for _, v, _ in inputs]
    with op_scope(name, default_name or op_type, values) as scope:
        tensors = _convert_inputs(op_type, inputs, allowed)
        op = make_op(op_type, tensors, lower, name=scope, attrs=attrs)
    return outputs(op)


# Reading static values in lowering rules ----------------------------------------------------------
def static_ints(ctx, value, what: str):
    """The integer contents of `value` if known now, else None (raising at run time)."""
    array = ctx.static(value)
    if array is None:
        if ctx.inferring:
            return None
        ctx.unknown(value.type)          # raises: the value must be known when the graph runs
    return [int(v) for v in np.asarray(array).reshape(-1)]


def _statics(ctx, values):
    """static_ints of each value, or None if any is not known yet."""
    got = [static_ints(ctx, v, "") for v in values]
    return None if any(g is None for g in got) else got


def _static_scalar(ctx, value):
    """The constant behind a scalar IR value as a Python number (bools as 0/1, as the IR's
    float attributes take them), or None (raising at run time)."""
    array = ctx.static(value)
    if array is None and not ctx.inferring:
        ctx.unknown(value.type)
    if array is None:
        return None
    number = np.asarray(array).reshape(()).item()
    return int(number) if isinstance(number, bool) else number


def _unknown(ctx, dtype, shape=None):
    return ctx.unknown(TensorType(None if shape is None else tuple(shape), dtype))


def _length(value):
    """The static length of a 1-D IR value, or None."""
    shape = value.type.shape
    return None if not shape else shape[0]


def _results(values):
    return list(values) if isinstance(values, tuple) else [values]


def partial_value(tensor: Tensor):
    """What is known of an integer tensor's elements while the graph is built: a list with
    None for each unknown element (a scalar gives a list of one), or None if even the length
    is unknown. Follows TF's shape inference (constant_value_as_shape and the C++ shape
    refiner): a Shape gives its input's dims, Pack and ConcatV2 join what their inputs know,
    StridedSlice slices it, Cast and Identity pass it through."""
    if tensor._static is not None:
        return np.asarray(tensor._static).reshape(-1).tolist()
    op = tensor.op
    if op.type == "Shape":
        shape = op.inputs[0].shape
        return None if shape.ndims is None else shape.as_list()
    if op.type == "Pack" and all(t.shape.ndims == 0 for t in op.inputs):
        return [(partial_value(t) or [None])[0] for t in op.inputs]
    if op.type == "ConcatV2":
        parts = [partial_value(t) for t in op.inputs[:-1]]
        if all(p is not None for p in parts):
            return [d for p in parts for d in p]
    if op.type in ("Cast", "Identity"):
        return partial_value(op.inputs[0])
    if op.type == "StridedSlice":
        sliced = _partial_strided_slice(op)
        if sliced is not None:
            return sliced[0]
    shape = tensor.shape
    if shape.ndims == 0:
        return [None]
    if shape.ndims == 1 and shape[0].value is not None:
        return [None] * shape[0].value
    return None


def _partial_strided_slice(op):
    """(known elements, result shape) of a StridedSlice of a 1-D tensor partly known, with
    constant bounds; None otherwise."""
    known = partial_value(op.inputs[0])
    specs = [inp._static for inp in op.inputs[1:]]
    if known is None or op.inputs[0].shape.ndims != 1 or any(s is None for s in specs):
        return None
    begin, end, strides = (np.asarray(s).reshape(-1).tolist() for s in specs)
    masks = {k: op.get_attr(k) for k in ("begin_mask", "end_mask", "ellipsis_mask",
                                         "new_axis_mask", "shrink_axis_mask")}
    try:
        shape, ranges = _strided_slice_plan((len(known),), begin, end, strides, **masks)
    except ValueError:
        return None
    if len(shape) > 1:
        return None
    return [known[i] for i in _py_range(*ranges[0][:3])], shape


def partial_shape(tensor: Tensor):
    """A shape tensor's partial value as a shape tuple (negative or unknown dims are None);
    None when its length is unknown."""
    known = partial_value(tensor)
    if known is None:
        return None
    return tuple(None if d is None or d < 0 else d for d in known)


# Raw TF ops that TF's own Python code calls (gen_math_ops / gen_array_ops) -------------------------
def _binary(op_type, ir_name, x, y, name):
    """A two-input op of one dtype, TF op-wrapper style (`x - 2` makes `sub/y` and `sub`)."""
    return _op(op_type, name, [("x", x, "T"), ("y", y, "T")],
               lambda ctx, op, a, b: ctx.b.op(ir_name, a, b))


def gen_cast(x, dtype, name=None):
    """TF's raw Cast op: always a new op, even when the dtype already matches."""
    dtype = dt.as_dtype(dtype)

    def lower(ctx, op, v):
        return v if v.type.dtype == dtype else ctx.b.op("math.cast", v, to=dtype)

    with op_scope(name, "Cast", [x]) as scope:
        x = convert_to_tensor(x, name="x")
        return outputs(make_op("Cast", [x], lower, name=scope,
                               attrs={"SrcT": x.dtype, "DstT": dtype, "Truncate": False}))


def _cast(x, dtype, name=None):
    """tf.cast (math_ops.cast): no op when the dtype already matches."""
    x = convert_to_tensor(x)
    return x if x.dtype == dt.as_dtype(dtype) else gen_cast(x, dtype, name=name)


def _reduce(op_type, ir_name, x, axes, name):
    """Raw Max / Prod: reduce `x` over the axes in the tensor `axes` (keep_dims false)."""
    def lower(ctx, op, v, axes_value):
        got = static_ints(ctx, axes_value, "reduction_indices")
        if got is None:
            return _unknown(ctx, v.type.dtype)
        return ctx.b.op(ir_name, v, axes=tuple(got), keep_dims=False)

    return _op(op_type, name, [("input", x, "T"), ("reduction_indices", axes, "Tidx")], lower,
               attrs={"keep_dims": False}, allowed={"Tidx": INDEX})


def _select_v2(condition, t, e, name=None):
    return _op("SelectV2", name, [("condition", condition, dt.bool_), ("t", t, "T"), ("e", e, "T")],
               lambda ctx, op, c, a, b: ctx.b.op("math.select_v2", c, a, b))


def _range_op(start, limit, delta, name=None):
    """Raw Range: start, limit and delta are tensors (or values) of one dtype."""
    def lower(ctx, op, *values):
        bounds = [_static_scalar(ctx, v) for v in values]
        if any(b is None for b in bounds):
            return _unknown(ctx, values[0].type.dtype, (None,))
        return ctx.b.op("array.range", start=bounds[0], limit=bounds[1], delta=bounds[2],
                        dtype=values[0].type.dtype)

    return _op("Range", name, [("start", start, "Tidx"), ("limit", limit, "Tidx"),
                               ("delta", delta, "Tidx")], lower)


def _where_op(condition, name=None):
    """Raw Where (the coordinates of true elements). A condition known at graph-build time
    gives a constant, so the result's shape is static."""
    def lower(ctx, op, c):
        known = ctx.static(c)
        if known is not None:
            return ctx.b.constant_of(np.argwhere(known).astype(np.int64))
        return ctx.b.op("array.where", c)

    return _op("Where", name, [("input", condition, "T")], lower)


# Constants and inputs ---------------------------------------------------------------------------
def constant(value, dtype=None, shape=None, name="Const", verify_shape=False):
    """`tf.constant`: a tensor holding `value`. With `shape`, a single value fills it, a
    shorter list is padded with its last element and an empty one with zeros (TF1's rules)."""
    dtype = dt.as_dtype(dtype) if dtype is not None else None
    array = to_numpy(value, dtype)
    if shape is not None:
        shape = tuple(int(d) for d in as_shape(shape).as_list())
        size = int(np.prod(shape, dtype=np.int64))
        if verify_shape and array.shape != shape:
            raise TypeError(f"Expected Tensor's shape: {shape}, but got {array.shape}.")
        if array.size == 1:
            array = np.full(shape, array.reshape(()), dtype=array.dtype)
        elif array.size > size:
            raise ValueError(f"Too many elements provided. Takes at most {size}, but got {array.size}.")
        elif array.size == 0:
            array = np.zeros(shape, dtype=array.dtype)
        else:
            flat = array.reshape(-1)
            array = np.concatenate([flat, np.repeat(flat[-1:], size - flat.size)]).reshape(shape)
    array.setflags(write=False)
    tensor_dtype = dtype or dt.from_numpy(array.dtype)

    def lower(ctx, op):
        return ctx.b.constant_of(array)

    return outputs(make_op("Const", [], lower, name=name, attrs={"value": array, "dtype": tensor_dtype}))


def placeholder(dtype, shape=None, name=None):
    """`tf.placeholder`: an input fed through `feed_dict` at run time; `None` dims (or a
    `None` shape) accept any size."""
    dtype = dt.as_dtype(dtype)
    shape = as_shape(shape) if shape is not None else TensorShape(None)
    type = TensorType(shape.as_tuple(), dtype)

    def lower(ctx, op):
        if ctx.inferring:
            return ctx.unknown(type)
        dims = "<unknown>" if type.shape is None else \
            "[" + ",".join("?" if d is None else str(d) for d in type.shape) + "]"
        raise errors.InvalidArgumentError(
            None, op, f"You must feed a value for placeholder tensor '{op.name}' with dtype "
                      f"{dtype.name} and shape {dims}\n\t [[{op.describe()}]]")

    return outputs(make_op("Placeholder", [], lower, name=name, attrs={"dtype": dtype, "shape": shape}))


def placeholder_with_default(input, shape, name=None):
    """An input that takes `input`'s value unless fed; `shape` may be less specific."""
    shape = as_shape(shape)

    def lower(ctx, op, value):
        if ctx.inferring:
            return ctx.unknown(TensorType(shape.as_tuple(), value.type.dtype))
        return value

    with op_scope(name, "PlaceholderWithDefault", [input]) as scope:
        input = convert_to_tensor(input, name="input")
        if not shape.is_compatible_with(input.shape):
            raise ValueError(f"Shapes {input.shape} and {shape} are incompatible")
        op = make_op("PlaceholderWithDefault", [input], lower, name=scope,
                     attrs={"dtype": input.dtype, "shape": shape})
    return op.outputs[0]


def _read(ctx, value):
    """A variable's ref input reads its current value; other values pass through."""
    return ctx.read_variable(value.op) if isinstance(value, VariableRef) else value


def identity(input, name=None):
    """`tf.identity`: the same value as a new tensor (reads a variable's current value)."""
    if hasattr(input, "_ref") and not isinstance(input, Tensor):
        input = input._ref()        # a Variable: read its current value, like TF's Identity
    return _op("Identity", name, [("input", input, "T")], lambda ctx, op, v: _read(ctx, v))


def identity_n(input, name=None):
    """`tf.identity_n`: each of the tensors in `input`, as outputs of one IdentityN op."""
    def lower(ctx, op, *values):
        return _results(ctx.b.op("core.identity", *[_read(ctx, v) for v in values]))

    with op_scope(name, "IdentityN", list(input)) as scope:
        tensors = [convert_to_tensor(v, name=f"input_{i}") for i, v in enumerate(input)]
        return make_op("IdentityN", tensors, lower, name=scope).outputs


def stop_gradient(input, name=None):
    """`tf.stop_gradient`: the same value (tfc computes no gradients yet)."""
    return _op("StopGradient", name, [("input", input, "T")], lambda ctx, op, v: v)


def no_op(name=None):
    """An op that does nothing; its control inputs give it meaning (`tf.group`)."""
    return make_op("NoOp", [], lambda ctx, op: [], name=name or "NoOp")


def group(*inputs, name=None):
    """An op that runs after all `inputs` (ops, tensors or nested lists of them)."""
    ops = [x.op if isinstance(x, Tensor) else x for x in _flatten(inputs) if x is not None]
    graph = ops[0].graph if ops else get_default_graph()
    with graph.as_default(), graph.control_dependencies(ops):
        return no_op(name=name or "group_deps")


def _flatten(values):
    for v in values:
        if isinstance(v, (list, tuple)):
            yield from _flatten(v)
        else:
            yield v


# Shapes -----------------------------------------------------------------------------------------
def _shape_lower(out_type):
    def lower(ctx, op, x):
        if x.type.shape is None:
            return _unknown(ctx, out_type, (None,))
        return ctx.b.op("array.shape", x, out_type=out_type)
    return lower


def _shape_internal(input, name=None, optimize=True, out_type=None):
    """TF's shape_internal: a constant when the shape is fully known, else a Shape op. With no
    `out_type` the constant is TF's shape conversion (`Shape/shape_as_tensor`)."""
    with op_scope(name, "Shape", [input]) as scope:
        input = convert_to_tensor(input)
        if optimize and input.shape.is_fully_defined():
            dims = input.shape.as_list()
            if out_type is None:
                big = any(d >= 2**31 for d in dims)
                return constant(dims, dt.int64 if big else dt.int32, name="shape_as_tensor")
            return constant(dims, out_type, name=scope)
        out_type = dt.as_dtype(out_type or dt.int32)
        return outputs(make_op("Shape", [input], _shape_lower(out_type), name=scope,
                               attrs={"out_type": out_type}))


def shape(input, name=None, out_type=None):
    """`tf.shape`: the shape of `input` as a 1-D tensor (a constant when fully known)."""
    return _shape_internal(input, name, optimize=True, out_type=dt.as_dtype(out_type or dt.int32))


def shape_n(input, out_type=dt.int32, name=None):
    """`tf.shape_n`: the shapes of the tensors in `input`, as outputs of one ShapeN op."""
    out_type = dt.as_dtype(out_type)
    lower_one = _shape_lower(out_type)

    def lower(ctx, op, *values):
        return [lower_one(ctx, op, v) for v in values]

    with op_scope(name, "ShapeN", list(input)) as scope:
        tensors = _convert_inputs("ShapeN", [("input", _List(input), "T")])
        return make_op("ShapeN", tensors, lower, name=scope, attrs={"out_type": out_type}).outputs


def size(input, name=None, out_type=None):
    """`tf.size`: the number of elements of `input` (a constant when known)."""
    out_type = dt.as_dtype(out_type or dt.int32)

    def lower(ctx, op, x):
        if x.type.shape is None:
            return _unknown(ctx, out_type, ())
        return ctx.b.op("math.reduce_prod", ctx.b.op("array.shape", x, out_type=out_type))

    with op_scope(name, "Size", [input]) as scope:
        input = convert_to_tensor(input)
        known = input.shape
        if known.is_fully_defined():
            return constant(known.num_elements(), out_type, name=scope)
        if known.ndims and any(d.value == 0 for d in known):
            return constant(0, out_type, name=scope)
        return outputs(make_op("Size", [input], lower, name=scope, attrs={"out_type": out_type}))


def rank(input, name=None):
    """`tf.rank`: the number of dimensions of `input` (a constant when known)."""
    def lower(ctx, op, x):
        if x.type.shape is None:
            return _unknown(ctx, dt.int32, ())
        return ctx.b.constant_of(np.int32(len(x.type.shape)))

    with op_scope(name, "Rank", [input]) as scope:
        input = convert_to_tensor(input)
        if input.shape.ndims is not None:
            return constant(input.shape.ndims, dt.int32, name=scope)
        return outputs(make_op("Rank", [input], lower, name=scope))


def _reshape_partial(in_shape, dims):
    """TF's Reshape shape function for a shape tensor known only in part (None entries):
    a single unknown output dim is inferred from a fully known input."""
    if dims is None:
        return None
    out = [None if d is None or d < 0 else d for d in dims]
    if in_shape is None:
        return tuple(out)
    out_unknown = [i for i, d in enumerate(out) if d is None]
    if len(out_unknown) == 1 and None not in in_shape:
        known = int(np.prod([d for d in out if d is not None], dtype=np.int64))
        total = int(np.prod(in_shape, dtype=np.int64))
        if known > 0 and total % known == 0:
            out[out_unknown[0]] = total // known
    return tuple(out)


def reshape(tensor, shape, name=None):
    """`tf.reshape`: the same elements in a new shape; one dim may be -1."""
    def lower(ctx, op, x, shape_value):
        dims = static_ints(ctx, shape_value, "shape")
        if dims is None:
            return _unknown(ctx, x.type.dtype, _reshape_partial(x.type.shape, partial_value(op.inputs[1])))
        return ctx.b.op("array.reshape", x, shape=tuple(dims))

    return _op("Reshape", name, [("tensor", tensor, "T"), ("shape", shape, "Tshape")], lower,
               allowed={"Tshape": INDEX})


def expand_dims(input, axis=None, name=None, dim=None):
    """`tf.expand_dims`: insert a dimension of size 1 at `axis` (`dim` is its old name)."""
    if axis is not None and dim is not None:
        raise ValueError("Cannot specify both 'dim' and 'axis'.")
    axis = dim if axis is None else axis
    if axis is None:
        raise ValueError("Must specify an axis argument to tf.expand_dims()")

    def lower(ctx, op, x, axis_value):
        got = static_ints(ctx, axis_value, "dim")
        if got is None:
            rank_ = None if x.type.shape is None else len(x.type.shape) + 1
            return _unknown(ctx, x.type.dtype, None if rank_ is None else (None,) * rank_)
        if len(got) != 1:
            raise InferenceError("'dim' must be a tensor with a single value")
        return ctx.b.op("array.expand_dims", x, axis=got[0])

    return _op("ExpandDims", name, [("input", input, "T"), ("dim", axis, "Tdim")], lower,
               allowed={"Tdim": INDEX})


def squeeze(input, axis=None, name=None, squeeze_dims=None):
    """`tf.squeeze`: remove the size-1 dims in `axis` (`squeeze_dims` is its old name), or all."""
    if axis is not None and squeeze_dims is not None:
        raise ValueError("Cannot specify both 'squeeze_dims' and 'axis'.")
    axis = squeeze_dims if axis is None else axis
    if axis is None:
        axis = []
    elif np.isscalar(axis) or isinstance(axis, Dimension):
        axis = [axis]
    axes = tuple(int(a) for a in axis)

    def lower(ctx, op, x):
        return ctx.b.op("array.squeeze", x, axes=axes or None)

    return _op("Squeeze", name, [("input", input, "T")], lower, attrs={"squeeze_dims": list(axes)})


def broadcast_to(input, shape, name=None):
    """`tf.broadcast_to`: `input` repeated along its size-1 (or missing) dims up to `shape`."""
    def lower(ctx, op, x, shape_value):
        dims = static_ints(ctx, shape_value, "shape")
        if dims is None:
            return _unknown(ctx, x.type.dtype, partial_shape(op.inputs[1]))
        return ctx.b.op("array.broadcast_to", x, shape=tuple(dims))

    return _op("BroadcastTo", name, [("input", input, "T"), ("shape", shape, "Tidx")], lower,
               allowed={"Tidx": INDEX})


def broadcast_static_shape(shape_x, shape_y):
    """`tf.broadcast_static_shape`: the broadcast of two TensorShapes."""
    try:
        return TensorShape.from_type(broadcast_shapes(as_shape(shape_x).as_tuple(),
                                                      as_shape(shape_y).as_tuple()))
    except InferenceError:
        raise ValueError(f"Incompatible shapes for broadcasting: {as_shape(shape_x)} and "
                         f"{as_shape(shape_y)}") from None


def broadcast_dynamic_shape(shape_x, shape_y):
    """`tf.broadcast_dynamic_shape`: the broadcast of two shape tensors (a BroadcastArgs op)."""
    def lower(ctx, op, a, b):
        got = _statics(ctx, [a, b])
        if got is None:
            return _unknown(ctx, a.type.dtype, (None,))
        try:
            out = np.broadcast_shapes(tuple(got[0]), tuple(got[1]))
        except ValueError:
            raise InferenceError(f"Incompatible shapes: [{','.join(map(str, got[0]))}] vs. "
                               f"[{','.join(map(str, got[1]))}]") from None
        return ctx.b.constant_of(np.array(out, dtype=a.type.dtype.numpy))

    return _op("BroadcastArgs", None, [("s0", shape_x, "T"), ("s1", shape_y, "T")], lower,
               allowed={"T": INDEX})


# Creating tensors ---------------------------------------------------------------------------------
def fill(dims, value, name=None, layout=None):
    """`tf.fill`: a tensor of shape `dims` with every element `value`."""
    def lower(ctx, op, dims_value, v):
        got = static_ints(ctx, dims_value, "dims")
        if got is None:
            return _unknown(ctx, v.type.dtype, partial_shape(op.inputs[0]))
        return ctx.b.op("array.fill", v, shape=tuple(got))

    with op_scope(name, "Fill", [dims, value]) as scope:
        tensors = _convert_inputs("Fill", [("dims", dims, "index_type"), ("value", value, "T")],
                                  {"index_type": INDEX})
        return outputs(make_op("Fill", tensors, lower, name=scope,
                               attrs={"index_type": tensors[0].dtype}))


def _variables():
    from . import variables   # variables imports this module

    return variables


def zeros_like(tensor, dtype=None, name=None, optimize=True):
    """`tf.zeros_like`: zeros of `tensor`'s shape (a constant when the shape is known)."""
    def lower(ctx, op, x):
        if not x.type.is_static:
            return ctx.unknown(x.type)
        return ctx.b.op("array.fill", ctx.b.constant_of(np.zeros((), x.type.dtype.numpy)),
                        shape=x.type.shape)

    with op_scope(name, "zeros_like", [tensor]) as scope:
        if not _is_tensor(tensor):
            tensor = convert_to_tensor(tensor, name="tensor")
        tensor = convert_to_tensor(tensor)
        dtype = dt.as_dtype(dtype) if dtype is not None else None
        if optimize and tensor.shape.is_fully_defined():
            return _variables().zeros(tensor.shape.as_list(), dtype=dtype or tensor.dtype, name=scope)
        if dtype is not None and dtype != tensor.dtype:
            return _variables().zeros(_shape_internal(tensor, optimize=optimize), dtype=dtype, name=scope)
        return outputs(make_op("ZerosLike", [tensor], lower, name=scope))


def ones_like(tensor, dtype=None, name=None, optimize=True):
    """`tf.ones_like`: ones of `tensor`'s shape, as a Fill."""
    with op_scope(name, "ones_like", [tensor]) as scope:
        tensor = convert_to_tensor(tensor, name="tensor")
        ones_shape = _shape_internal(tensor, optimize=optimize)
        result = _variables().ones(ones_shape, dtype=dtype or tensor.dtype, name=scope)
        result.set_shape(tensor.shape)
        return result


_RANGE_ORDER = [dt.int32, dt.int64, dt.float16, dt.bfloat16, dt.float32, dt.float64]


def range(start, limit=None, delta=1, dtype=None, name="range"):  # noqa: A001 (TF's name)
    """`tf.range`: start, start + delta, ... up to but not including limit (`tf.range(n)`
    counts from 0). The dtype is the widest of the arguments' unless given."""
    if limit is None:
        start, limit = 0, start
    dtype = dt.as_dtype(dtype) if dtype is not None else None
    with op_scope(name, "Range", [start, limit, delta]) as scope:
        bounds = [b if isinstance(b, Tensor) else convert_to_tensor(b, dtype=dtype, name=n)
                  for b, n in ((start, "start"), (limit, "limit"), (delta, "delta"))]
        if dtype is None:
            for b in bounds:
                if b.dtype not in _RANGE_ORDER:
                    raise TypeError(f"tf.range does not accept {b.dtype.name} arguments")
            dtype = max((b.dtype for b in bounds), key=_RANGE_ORDER.index)
        bounds = [_cast(b, dtype) for b in bounds]
        return _range_op(*bounds, name=scope)


def _convert_to_int_tensor(value, name):
    """TF's convert_to_int_tensor: an integer tensor, cast (always) to int32."""
    tensor = convert_to_tensor(value, name=name, preferred_dtype=dt.int32)
    if not tensor.dtype.is_integer:
        raise TypeError(f"{name} must be an integer tensor; dtype is {tensor.dtype.name}")
    return gen_cast(tensor, dt.int32)


def linspace(start, stop, num, name=None, axis=0):
    """`tf.linspace` / `tf.lin_space`: `num` evenly spaced values from start to stop
    (inclusive), along a new `axis` when start and stop are tensors. Builds TF's graph
    (linspace_nd): start + delta * range in the middle, start and stop exactly at the ends."""
    with op_scope(name, "linspace", [start, stop]):
        start = convert_to_tensor(start, name="start")
        stop = convert_to_tensor(stop, name="stop", dtype=start.dtype)
        num_int = _convert_to_int_tensor(num, name="num")
        _cast(num_int, start.dtype)     # TF casts num to start's dtype and does not use it
        broadcast = broadcast_dynamic_shape(shape(start), shape(stop))
        start, stop = broadcast_to(start, broadcast), broadcast_to(stop, broadcast)
        expanded_start, expanded_stop = expand_dims(start, axis=axis), expand_dims(stop, axis=axis)
        shape_ = shape(expanded_start)
        ndims = shape(shape_)[0]
        axis = _select_v2(axis >= 0, axis, _binary("AddV2", "math.add", ndims, axis, "add"))
        num_fill = _binary("Maximum", "math.maximum", _binary("Sub", "math.sub", num_int, 2, "sub"), 0, None)
        n_steps = _binary("Maximum", "math.maximum", _binary("Sub", "math.sub", num_int, 1, "sub"), 1, None)
        delta = _binary("RealDiv", "math.real_div",
                        _binary("Sub", "math.sub", expanded_stop, expanded_start, "sub"),
                        _cast(n_steps, expanded_stop.dtype), "truediv")
        range_end = _select_v2(_binary("GreaterEqual", "math.greater_equal", num_int, 0, None), n_steps, -1)
        desired = _cast(range(1, range_end, dtype=dt.int64), delta.dtype)
        mask = _binary("Equal", "math.equal", axis, range(ndims), None)
        desired = reshape(desired, _select_v2(mask, num_fill, 1))
        res = _binary("AddV2", "math.add", expanded_start,
                      _binary("Mul", "math.mul", delta, desired, "mul"), "add")
        concatenated = concat((expanded_start, res, expanded_stop), axis=axis)
        begin = zeros_like(shape_)
        size_ = concat((shape_[0:axis], reshape(num_int, [1]),
                        shape_[_binary("AddV2", "math.add", axis, 1, "add"):]), axis=0)
        return slice(concatenated, begin, size_)


lin_space = linspace


def one_hot(indices, depth, on_value=None, off_value=None, axis=None, dtype=None, name=None):
    """`tf.one_hot`: on_value where indices == position along a new dim of size `depth` at
    `axis` (default last), off_value elsewhere. The dtype follows on/off_value, else float32."""
    dtype = dt.as_dtype(dtype) if dtype is not None else None
    axis = -1 if axis is None else axis
    with op_scope(name, "one_hot", [indices, depth, on_value, off_value, axis, dtype]) as scope:
        on_exists, off_exists = on_value is not None, off_value is not None
        if on_exists:
            on_value = convert_to_tensor(on_value, preferred_dtype=dtype)
        if off_exists:
            off_value = convert_to_tensor(off_value, preferred_dtype=dtype)
        if on_exists or off_exists:
            if dtype is not None:
                for given, what in ((on_value, "on_value"), (off_value, "off_value")):
                    if given is not None and given.dtype != dtype:
                        raise TypeError(f"dtype {_repr(given.dtype)} of {what} does not match "
                                        f"dtype parameter {_repr(dtype)}")
            else:
                dtype = (on_value if on_exists else off_value).dtype
        elif dtype is None:
            dtype = dt.float32
        if not on_exists:
            on_value = convert_to_tensor(1, dtype, name="on_value")
        if not off_exists:
            off_value = convert_to_tensor(0, dtype, name="off_value")
        if on_value.dtype != off_value.dtype:
            raise TypeError(f"dtype {_repr(on_value.dtype)} of on_value does not match dtype "
                            f"{_repr(off_value.dtype)} of off_value")

        def lower(ctx, op, idx, depth_value, on, off):
            n = _static_scalar(ctx, depth_value)
            if n is None:
                shape = idx.type.shape
                if shape is not None:
                    at = len(shape) if axis == -1 else axis
                    shape = shape[:at] + (None,) + shape[at:]
                return _unknown(ctx, dtype, shape)
            values = [ctx.static(on), ctx.static(off)]
            if all(v is not None for v in values):
                on_, off_ = (_static_scalar(ctx, v) for v in (on, off))
                return ctx.b.op("array.one_hot", idx, depth=int(n), on_value=on_, off_value=off_,
                                axis=axis, dtype=dtype)
            hot = ctx.b.op("array.one_hot", idx, depth=int(n), axis=axis, dtype=dt.bool_)
            return ctx.b.op("math.select_v2", hot, on, off)

        tensors = _convert_inputs("OneHot", [("indices", indices, "TI"), ("depth", depth, dt.int32),
                                             ("on_value", on_value, "T"), ("off_value", off_value, "T")],
                                  {"TI": (dt.uint8, dt.int8, dt.int32, dt.int64)})
        return outputs(make_op("OneHot", tensors, lower, name=scope, attrs={"axis": axis}))


def _repr(dtype) -> str:
    return f"<dtype: '{dtype.name}'>"      # how TF prints a DType in messages


def eye(num_rows, num_columns=None, batch_shape=None, dtype=dt.float32, name=None):
    """`tf.eye`: identity matrices (num_rows x num_columns), optionally in a batch."""
    variables = _variables()
    with op_scope(name, "eye", [num_rows, num_columns, batch_shape]):
        is_square = num_columns is None
        batch_shape = [] if batch_shape is None else batch_shape
        num_columns = num_rows if num_columns is None else num_columns
        if _is_tensor(num_rows) or _is_tensor(num_columns):
            diag_size = _binary("Minimum", "math.minimum", num_rows, num_columns, None)
        else:
            if not isinstance(num_rows, numbers.Integral) or not isinstance(num_columns, numbers.Integral):
                raise TypeError(f"Arguments `num_rows` and `num_columns` must be positive integer "
                                f"values. Received: num_rows={num_rows}, num_columns={num_columns}")
            is_square = num_rows == num_columns
            diag_size = min(num_rows, num_columns)
        if _is_tensor(batch_shape) or _is_tensor(diag_size):
            batch_shape = convert_to_tensor(batch_shape, name="shape", dtype=dt.int32)
            diag_shape = concat((batch_shape, [diag_size]), axis=0)
            if not is_square:
                matrix_shape = concat((batch_shape, [num_rows, num_columns]), axis=0)
        else:
            batch_shape = list(batch_shape)
            diag_shape = batch_shape + [diag_size]
            if not is_square:
                matrix_shape = batch_shape + [num_rows, num_columns]
        diag_ones = variables.ones(diag_shape, dtype=dtype)
        if is_square:
            return matrix_diag(diag_ones)
        return matrix_set_diag(variables.zeros(matrix_shape, dtype=dtype), diag_ones)


def sequence_mask(lengths, maxlen=None, dtype=dt.bool_, name=None):
    """`tf.sequence_mask`: mask[..., j] = j < lengths[...], j in [0, maxlen) (default: the
    largest length)."""
    with op_scope(name, "SequenceMask", [lengths, maxlen]):
        lengths = convert_to_tensor(lengths)
        if maxlen is None:
            maxlen = _reduce("Max", "math.reduce_max", lengths, _all_dimensions(lengths), None)
            maxlen = _binary("Maximum", "math.maximum", constant(0, maxlen.dtype), maxlen, None)
        else:
            maxlen = convert_to_tensor(maxlen)
        if maxlen.shape.ndims is not None and maxlen.shape.ndims != 0:
            raise ValueError(f"Argument `maxlen` must be scalar for sequence_mask, received "
                             f"`maxlen` = {maxlen} with shape '{maxlen.shape}' instead")
        row_vector = _range_op(constant(0, maxlen.dtype), maxlen, constant(1, maxlen.dtype))
        matrix = gen_cast(expand_dims(lengths, -1), maxlen.dtype)
        result = _binary("Less", "math.less", row_vector, matrix, None)
        if dtype is None or dt.as_dtype(dtype) == dt.bool_:
            return result
        return gen_cast(result, dtype)


def _all_dimensions(x):
    if x.shape.ndims is not None:
        return constant(np.arange(x.shape.ndims, dtype=np.int32))
    return _range_op(0, rank(x), 1)


def meshgrid(*args, **kwargs):
    """`tf.meshgrid`: N-D coordinate grids from 1-D coordinate lists ("xy" or "ij" indexing)."""
    indexing = kwargs.pop("indexing", "xy")
    name = kwargs.pop("name", "meshgrid")
    if kwargs:
        key = list(kwargs)[0]
        raise TypeError(f"'{key}' is an invalid keyword argument for this function")
    if indexing not in ("xy", "ij"):
        raise ValueError(f"Argument `indexing` parameter must be either 'xy' or 'ij', got '{indexing}'")
    with op_scope(name, "meshgrid", list(args)):
        ndim = len(args)
        ones_shape = (1,) * ndim
        if not ndim:
            return []
        grids = [reshape(stack(x), ones_shape[:i] + (-1,) + ones_shape[i + 1:])
                 for i, x in enumerate(args)]
        sizes = [size(x) for x in args]
        dtype = convert_to_tensor(args[0]).dtype
        if indexing == "xy" and ndim > 1:
            grids[0] = reshape(grids[0], (1, -1) + (1,) * (ndim - 2))
            grids[1] = reshape(grids[1], (-1, 1) + (1,) * (ndim - 2))
            sizes[0], sizes[1] = sizes[1], sizes[0]
        with op_scope(None, "ones", sizes) as scope:     # TF's tf.ones of a list of tensors
            ones_ = fill(autopack(sizes, dt.int32), constant(1, dtype=dtype), name=scope)
        return [_binary("Mul", "math.mul", g, ones_, "mul") for g in grids]


# Transforming -------------------------------------------------------------------------------------
def transpose(a, perm=None, name="transpose", conjugate=False):
    """`tf.transpose`: permute the dims (`perm` defaults to reversing them)."""
    with op_scope(name, "transpose", [a]) as scope:
        a = convert_to_tensor(a, name="a")
        op_type = "Transpose"
        if conjugate and a.dtype.is_complex:
            raise NotImplementedError("tfc has no complex conjugate yet (ConjugateTranspose)")
        if perm is None:
            if a.shape.ndims is None:
                rank_ = rank(a)
                perm = _range_op(_binary("Sub", "math.sub", rank_, 1, "sub"), -1, -1)
            else:
                perm = np.arange(a.shape.ndims - 1, -1, -1, dtype=np.int32)

        def lower(ctx, op, x, perm_value):
            got = static_ints(ctx, perm_value, "perm")
            if got is None:
                n = x.type.rank if x.type.shape is not None else _length(perm_value)
                return _unknown(ctx, x.type.dtype, None if n is None else (None,) * n)
            return ctx.b.op("array.transpose", x, perm=tuple(got))

        return _op(op_type, scope, [("x", a, "T"), ("perm", perm, "Tperm")], lower,
                   allowed={"Tperm": INDEX})


def reverse(tensor, axis, name=None):
    """`tf.reverse` (TF1's reverse_v2): reverse the order of elements along each of `axis`."""
    def lower(ctx, op, x, axis_value):
        got = static_ints(ctx, axis_value, "axis")
        if got is None:
            return ctx.unknown(x.type)
        return ctx.b.op("array.reverse", x, axes=tuple(got))

    return _op("ReverseV2", name, [("tensor", tensor, "T"), ("axis", axis, "Tidx")], lower,
               allowed={"Tidx": INDEX})


reverse_v2 = reverse


def tile(input, multiples, name=None):
    """`tf.tile`: `input` repeated multiples[i] times along dim i."""
    def lower(ctx, op, x, multiples_value):
        got = static_ints(ctx, multiples_value, "multiples")
        if got is not None:
            return ctx.b.op("array.tile", x, multiples=tuple(got))
        known = partial_value(op.inputs[1])
        if known is None:
            return _unknown(ctx, x.type.dtype, None if x.type.shape is None else (None,) * x.type.rank)
        dims = x.type.shape or (None,) * len(known)
        return _unknown(ctx, x.type.dtype, [0 if m == 0 else None if d is None or m is None else d * m
                                            for d, m in zip(dims, known)])

    return _op("Tile", name, [("input", input, "T"), ("multiples", multiples, "Tmultiples")], lower,
               allowed={"Tmultiples": INDEX})


def pad(tensor, paddings, mode="CONSTANT", name=None, constant_values=0):
    """`tf.pad`: pad each dim by paddings[i] = [before, after], with `constant_values` or by
    mirroring ("REFLECT" skips the edge, "SYMMETRIC" repeats it). Case-insensitive mode."""
    mode = mode.upper()

    def lower(ctx, op, x, paddings_value, *value):
        got = static_ints(ctx, paddings_value, "paddings")
        fill_value = _static_scalar(ctx, value[0]) if value else 0
        if got is None or fill_value is None:
            n = x.type.rank if x.type.shape is not None else _length(paddings_value)
            return _unknown(ctx, x.type.dtype, None if n is None else (None,) * n)
        return ctx.b.op("array.pad", x, paddings=tuple(got), mode=mode, constant_value=fill_value)

    inputs = [("input", tensor, "T"), ("paddings", paddings, "Tpaddings")]
    allowed = {"Tpaddings": INDEX}
    if mode == "CONSTANT":
        if not _is_tensor(constant_values) and np.ndim(constant_values) == 0 and constant_values == 0:
            return _op("Pad", name, inputs, lower, allowed=allowed)
        return _op("PadV2", name, inputs + [("constant_values", constant_values, "T")], lower,
                   allowed=allowed)
    if mode in ("REFLECT", "SYMMETRIC"):
        return _op("MirrorPad", name, inputs, lower, allowed=allowed, attrs={"mode": mode})
    raise ValueError(f'Value of argument `mode` expected to be one of "CONSTANT", "REFLECT", or '
                     f'"SYMMETRIC". Received `mode` = {mode}')


# Joining and splitting ----------------------------------------------------------------------------
def _pack(values, axis, name):
    """Raw Pack: stack `values` (one dtype) along a new dim at `axis`."""
    def lower(ctx, op, *tensors):
        return ctx.b.op("array.stack", *tensors, axis=axis)

    return _op("Pack", name, [("values", _List(values), "T")], lower, attrs={"axis": axis})


def stack(values, axis=0, name="stack"):
    """`tf.stack`: join same-shaped tensors along a new dim at `axis`. With axis 0, a list
    of Python values becomes one constant, as in TF."""
    if axis == 0:
        try:
            return _to_tensor(values, name=name)
        except (TypeError, ValueError):
            pass                         # TF tries the constant first; Pack reports the error
    first = _to_tensor(values[0], name=name)
    if first.shape.ndims is not None:
        n = first.shape.ndims + 1
        if not -n <= axis < n:
            raise ValueError(f"Argument `axis` = {axis} not in range [{-n}, {n})")
    return _pack(values, axis, name)


def unstack(value, num=None, axis=0, name="unstack"):
    """`tf.unstack`: the slices of `value` along `axis` (whose size must be known, or `num`)."""
    if num is None:
        value = convert_to_tensor(value)
        known = value.shape
        if known.ndims is not None:
            if not -known.ndims <= axis < known.ndims:
                raise ValueError(f"Argument `axis` = {axis} not in range [{-known.ndims}, {known.ndims})")
            num = known[axis].value
        if num is None:
            raise ValueError(f"Cannot infer argument `num` from shape {known}")

    def lower(ctx, op, x):
        shape = x.type.shape
        if shape is None:
            return [_unknown(ctx, x.type.dtype) for _ in _py_range(num)]
        at = axis + len(shape) if axis < 0 else axis
        if 0 <= at < len(shape) and shape[at] is None:     # the IR op needs the size
            return [_unknown(ctx, x.type.dtype, shape[:at] + shape[at + 1:]) for _ in _py_range(num)]
        if 0 <= at < len(shape) and shape[at] != num:
            raise InferenceError(f"Dimension must be {num} but is {shape[at]}")
        return _results(ctx.b.op("array.unstack", x, axis=axis))

    out = _op("Unpack", name, [("value", value, "T")], lower, attrs={"num": num, "axis": axis})
    return out if isinstance(out, list) else [out]


def concat(values, axis, name="concat"):
    """`tf.concat`: join tensors along `axis`; one value is returned through an Identity."""
    if not isinstance(values, (list, tuple)):
        values = [values]
    if len(values) == 1:
        with op_scope(name, "concat", values):
            axis_tensor = convert_to_tensor(axis, name="concat_dim", dtype=dt.int32)
            if axis_tensor.shape.ndims not in (None, 0):
                raise ValueError(f"Shape must be rank 0 but is rank {axis_tensor.shape.ndims}")
            return identity(values[0], name=name)

    def lower(ctx, op, *tensors):
        *parts, axis_value = tensors
        got = static_ints(ctx, axis_value, "axis")
        if got is None:
            ranks = [p.type.rank for p in parts if p.type.shape is not None]
            return _unknown(ctx, parts[0].type.dtype, (None,) * ranks[0] if ranks else None)
        return ctx.b.op("array.concat", *parts, axis=got[0])

    return _op("ConcatV2", name, [("values", _List(values), "T"), ("axis", axis, "Tidx")], lower,
               allowed={"Tidx": INDEX})


def split(value, num_or_size_splits, axis=0, num=None, name="split"):
    """`tf.split`: `num_or_size_splits` equal pieces along `axis` (a Split op), or pieces of
    the given sizes, one of which may be -1 (a SplitV op)."""
    if isinstance(num_or_size_splits, (numbers.Integral, Dimension)):
        count = int(num_or_size_splits)

        def lower_split(ctx, op, axis_value, x):
            got = static_ints(ctx, axis_value, "split_dim")
            if got is None:
                return [_unknown(ctx, x.type.dtype) for _ in _py_range(count)]
            return _results(ctx.b.op("array.split", x, axis=got[0], num=count))

        out = _op("Split", name, [("split_dim", axis, dt.int32), ("value", value, "T")], lower_split,
                  attrs={"num_split": count})
        return out if isinstance(out, list) else [out]
    sizes = _to_tensor(num_or_size_splits)
    if sizes.shape.ndims == 0:
        raise ValueError(f"Rank-0 tensors are not supported as the num_or_size_splits argument to "
                         f"split. Argument provided: {num_or_size_splits}")
    if num is None:
        num = sizes.shape[0].value if sizes.shape.ndims else None
        if num is None:
            raise ValueError(f"Cannot infer argument `num` from shape {num_or_size_splits}")

    def lower_split_v(ctx, op, x, sizes_value, axis_value):
        got = _statics(ctx, [sizes_value, axis_value])
        if got is None:
            return [_unknown(ctx, x.type.dtype) for _ in _py_range(num)]
        if len(got[0]) != num:
            raise InferenceError(f"Dimension must be {len(got[0])} but is {num}")
        return _results(ctx.b.op("array.split", x, axis=got[1][0], sizes=tuple(got[0])))

    out = _op("SplitV", name, [("value", value, "T"), ("size_splits", sizes, "Tlen"),
                               ("split_dim", axis, dt.int32)], lower_split_v,
              attrs={"num_split": num}, allowed={"Tlen": INDEX + (dt.int8,)})
    return out if isinstance(out, list) else [out]


# Slicing and gathering ----------------------------------------------------------------------------
def slice(input_, begin, size, name=None):  # noqa: A001 (TF's name)
    """`tf.slice`: the block starting at `begin` with `size` elements per dim (-1: to the end)."""
    def lower(ctx, op, x, begin_value, size_value):
        got = _statics(ctx, [begin_value, size_value])
        if got is not None:
            return ctx.b.op("array.slice", x, begin=tuple(got[0]), size=tuple(got[1]))
        # TF's shape inference: a known size gives the dim (-1: the rest, if begin is known).
        begins, sizes = partial_value(op.inputs[1]), partial_value(op.inputs[2])
        n = x.type.rank if x.type.shape is not None else len(sizes or begins or ()) or None
        if n is None:
            return _unknown(ctx, x.type.dtype)
        dims = x.type.shape or (None,) * n
        begins = begins if begins is not None and len(begins) == n else [None] * n
        sizes = sizes if sizes is not None and len(sizes) == n else [None] * n
        return _unknown(ctx, x.type.dtype, [
            s if s is not None and s != -1 else
            d - b if s == -1 and d is not None and b is not None else None
            for d, b, s in zip(dims, begins, sizes)])

    return _op("Slice", name, [("input", input_, "T"), ("begin", begin, "Index"),
                               ("size", size, "Index")], lower, allowed={"Index": INDEX})


def strided_slice(input_, begin, end, strides=None, begin_mask=0, end_mask=0, ellipsis_mask=0,
                  new_axis_mask=0, shrink_axis_mask=0, var=None, name=None):
    """`tf.strided_slice`: Python-style slicing x[begin:end:strides] with TF's masks."""
    if strides is None:
        strides = ones_like(begin)
    masks = {"begin_mask": begin_mask, "end_mask": end_mask, "ellipsis_mask": ellipsis_mask,
             "new_axis_mask": new_axis_mask, "shrink_axis_mask": shrink_axis_mask}

    def lower(ctx, op, x, *spec):
        got = _statics(ctx, spec)
        if got is not None:
            return ctx.b.op("array.strided_slice", x, begin=tuple(got[0]), end=tuple(got[1]),
                            strides=tuple(got[2]), **masks)
        # TF's shape inference: dims whose bounds are known are, the others are not.
        known = [partial_value(t) for t in op.inputs[1:]]
        if any(k is None for k in known) or len({len(k) for k in known}) > 1:
            return _unknown(ctx, x.type.dtype)
        shape, _ = _strided_slice_plan(x.type.shape, *known, **masks)
        return _unknown(ctx, x.type.dtype, shape)

    def lower_known(ctx, op, x, *spec):
        # A slice of a shape tensor is known where the sliced dims are (tf.shape(x)[1]).
        if ctx.inferring and ctx.static(x) is None:
            sliced = _partial_strided_slice(op)
            if sliced is not None and None not in sliced[0]:
                return ctx.b.constant_of(np.array(sliced[0], x.type.dtype.numpy).reshape(sliced[1]))
        return lower(ctx, op, x, *spec)

    return _op("StridedSlice", name, [("input", input_, "T"), ("begin", begin, "Index"),
                                      ("end", end, "Index"), ("strides", strides, "Index")],
               lower_known, attrs=masks, allowed={"Index": INDEX})


def gather(params, indices, validate_indices=None, name=None, axis=None, batch_dims=0):
    """`tf.gather`: the slices of `params` along `axis` at `indices`, after `batch_dims`
    leading dims shared by params and indices."""
    axis = batch_dims if axis is None else axis

    def lower(ctx, op, p, i, axis_value):
        got = static_ints(ctx, axis_value, "axis")
        if got is None:
            return _unknown(ctx, p.type.dtype)
        return ctx.b.op("array.gather", p, i, axis=got[0], batch_dims=batch_dims)

    return _op("GatherV2", name, [("params", params, "Tparams"), ("indices", indices, "Tindices"),
                                  ("axis", axis, "Taxis")], lower, attrs={"batch_dims": batch_dims},
               allowed={"Tindices": INDEX, "Taxis": INDEX})


def gather_nd(params, indices, name=None, batch_dims=0):
    """`tf.gather_nd`: the slices of `params` at the index tuples in the last dim of `indices`
    (after `batch_dims` leading dims they share)."""
    batch_dims = int(batch_dims)
    if batch_dims == 0:
        return _op("GatherNd", name, [("params", params, "Tparams"), ("indices", indices, "Tindices")],
                   lambda ctx, op, p, i: ctx.b.op("array.gather_nd", p, i),
                   allowed={"Tindices": INDEX})
    # TF builds ~60 ops here (batch_gather_nd); tfc makes one op named like TF's last one.
    with op_scope(name, "BatchGatherND", [params, indices]):
        indices = convert_to_tensor(indices, name="indices")
        params = convert_to_tensor(params, name="params")
        return _op("GatherNd", "Reshape_3", [("params", params, "Tparams"),
                                                     ("indices", indices, "Tindices")],
                   lambda ctx, op, p, i: _lower_batch_gather_nd(ctx, p, i, batch_dims),
                   attrs={"batch_dims": batch_dims}, allowed={"Tindices": INDEX})


def _lower_batch_gather_nd(ctx, params, indices, batch_dims):
    """gather_nd with batch dims, as an ordinary gather_nd on indices that are prefixed with
    their batch coordinates (params and indices flattened over the batch dims)."""
    p, i = params.type.shape, indices.type.shape
    if p is None or i is None or None in p[:batch_dims] or None in i or len(i) <= batch_dims:
        if not ctx.inferring:
            ctx.unknown(indices.type)
        depth = None if i is None else i[-1]
        shape = None if p is None or i is None or depth is None else \
            i[:-1] + p[batch_dims + depth:]
        return _unknown(ctx, params.type.dtype, shape)
    batch = p[:batch_dims]
    n = int(np.prod(batch, dtype=np.int64))
    flat_p = ctx.b.op("array.reshape", params, shape=(n,) + p[batch_dims:])
    flat_i = ctx.b.op("array.reshape", indices, shape=(n,) + i[batch_dims:])
    coords = np.broadcast_to(np.arange(n).reshape((n,) + (1,) * (len(i) - batch_dims)),
                             (n,) + i[batch_dims:-1] + (1,)).astype(indices.type.dtype.numpy)
    full = ctx.b.op("array.concat", ctx.b.constant_of(coords), flat_i, axis=-1)
    gathered = ctx.b.op("array.gather_nd", flat_p, full)
    return ctx.b.op("array.reshape", gathered, shape=batch + i[batch_dims:-1] + p[batch_dims + i[-1]:])


def boolean_mask(tensor, mask, name="boolean_mask", axis=None):
    """`tf.boolean_mask`: the elements (or slices, from `axis` on) of `tensor` where `mask` is
    true, flattened over the mask's dims. A mask known at graph-build time gives a static
    shape (TF leaves that dim unknown)."""
    with op_scope(name, "boolean_mask", [tensor, mask]):
        tensor = convert_to_tensor(tensor, name="tensor")
        mask = convert_to_tensor(mask, name="mask")
        mask_shape, tensor_shape = mask.shape, tensor.shape
        ndims_mask = mask_shape.ndims
        if ndims_mask == 0:
            raise ValueError("mask cannot be scalar.")
        if ndims_mask is None:
            raise ValueError("Number of mask dimensions must be specified, even if some dimensions"
                             " are None.  E.g. shape=[None] is ok, but shape=None is not.")
        axis = 0 if axis is None else axis
        axis_value = axis if not _is_tensor(axis) else convert_to_tensor(axis)._static
        if axis_value is not None:
            axis = int(axis_value)
            tensor_shape[axis:axis + ndims_mask].assert_is_compatible_with(mask_shape)
        leading_size = _reduce("Prod", "math.reduce_prod", shape(tensor)[axis:axis + ndims_mask], [0], None)
        tensor = reshape(tensor, concat([shape(tensor)[:axis], [leading_size],
                                         shape(tensor)[axis + ndims_mask:]], 0))
        if axis_value is not None:
            first = tensor_shape[axis:axis + ndims_mask].num_elements()
            tensor.set_shape(as_shape(tensor_shape[:axis]).concatenate([first])
                             .concatenate(tensor_shape[axis + ndims_mask:]))
        mask = reshape(mask, [-1])
        indices = squeeze(_where_op(mask), axis=[1])
        return gather(tensor, indices, axis=axis)


# Python indexing: Tensor.__getitem__ ----------------------------------------------------------------
_SLICE_TYPE_ERROR = ("Only integers, slices (`:`), ellipsis (`...`), tf.newaxis (`None`) and scalar "
                     "tf.int32/tf.int64 tensors are valid indices")
_SLICE_DTYPES = (dt.int16, dt.int32, dt.int64)


def _check_index(idx):
    """TF's check: Python integers, or integer tensors (and arrays) that are not vectors."""
    if isinstance(idx, (numbers.Integral, Dimension)):
        return
    dtype = getattr(idx, "dtype", None)
    try:
        dtype = dt.as_dtype(dtype) if dtype is not None else None
    except TypeError:
        dtype = None
    shape = getattr(idx, "shape", None)
    rank = shape.ndims if isinstance(shape, TensorShape) else None if shape is None else len(shape)
    if dtype not in _SLICE_DTYPES or rank == 1:
        raise TypeError(_SLICE_TYPE_ERROR + f", got {idx!r}")


def _index_value(s):
    return int(s) if isinstance(s, (numbers.Integral, Dimension)) and not _is_tensor(s) else s


def _slice_helper(tensor, slice_spec):
    """`tensor[slice_spec]` as TF builds it: a StridedSlice named "strided_slice" whose
    begin/end/strides are stacked from the spec (tensors in it are packed); a boolean mask
    goes to tf.boolean_mask."""
    tensor = convert_to_tensor(tensor)
    if (isinstance(slice_spec, bool)
            or (_is_tensor(slice_spec) and convert_to_tensor(slice_spec).dtype == dt.bool_)
            or (isinstance(slice_spec, np.ndarray) and slice_spec.dtype == bool)):
        return boolean_mask(tensor=tensor, mask=slice_spec)
    if not isinstance(slice_spec, (list, tuple)):
        slice_spec = [slice_spec]
    begin, end, strides = [], [], []
    masks = dict.fromkeys(("begin_mask", "end_mask", "ellipsis_mask", "new_axis_mask",
                           "shrink_axis_mask"), 0)
    for index, s in enumerate(slice_spec):
        bit = 1 << index
        if isinstance(s, _py_slice):
            dtype = None                  # the best dtype for the constants filling the gaps
            for t in (s.start, s.stop, s.step):
                if _is_tensor(t):
                    t_dtype = convert_to_tensor(t).dtype
                    if t_dtype == dt.int64:
                        dtype = dt.int64
                    elif t_dtype == dt.int32 and dtype != dt.int64:
                        dtype = dt.int32
                    elif t_dtype == dt.int16 and dtype is None:
                        dtype = dt.int16
            for part, out, mask, filler in ((s.start, begin, "begin_mask", 0),
                                            (s.stop, end, "end_mask", 0),
                                            (s.step, strides, None, 1)):
                if part is not None and not (isinstance(part, Dimension) and part.value is None):
                    _check_index(part)
                    out.append(_index_value(part))
                else:
                    out.append(filler if dtype is None else constant(filler, dtype=dtype))
                    if mask:
                        masks[mask] |= bit
        elif s is Ellipsis or s is None:
            begin.append(0), end.append(0), strides.append(1)
            masks["ellipsis_mask" if s is Ellipsis else "new_axis_mask"] |= bit
        else:
            _check_index(s)
            s = _index_value(s)
            begin.append(s)
            end.append(_binary("AddV2", "math.add", s, 1, "add") if _is_tensor(s) else s + 1)
            s_dtype = convert_to_tensor(s).dtype if _is_tensor(s) else None
            strides.append(constant(1, dtype=s_dtype) if s_dtype in (dt.int16, dt.int64) else 1)
            masks["shrink_axis_mask"] |= bit
    with op_scope(None, "strided_slice", [tensor] + begin + end + strides) as name:
        if begin:
            packed = [stack(begin), stack(end), stack(strides)]
            if any(p.dtype == dt.int64 for p in packed):
                packed = [p if p.dtype == dt.int64 else gen_cast(p, dt.int64) for p in packed]
        else:
            empty = constant([], dtype=dt.int32)
            packed = [empty] * 3
        return strided_slice(tensor, *packed, name=name, **masks)


def _variable_getitem(self, slice_spec):
    return _slice_helper(self._as_tensor(), slice_spec)


# Matrices ------------------------------------------------------------------------------------------
def _static_k(ctx, k_value):
    got = static_ints(ctx, k_value, "k")
    return None if got is None else tuple(got)


def matrix_diag_part(input, name="diag_part", k=0, padding_value=0, align="RIGHT_LEFT"):
    """`tf.linalg.diag_part`: diagonal k of the matrices in the last two dims (or diagonals
    k[0]..k[1], packed as rows padded with `padding_value`)."""
    if getattr(input, "dtype", None) == dt.bool_:
        padding_value = bool(padding_value)

    def lower(ctx, op, x, k_value, pad_value):
        got, pad_ = _static_k(ctx, k_value), _static_scalar(ctx, pad_value)
        if got is None or pad_ is None:
            return _unknown(ctx, x.type.dtype)
        return ctx.b.op("array.matrix_diag_part", x, k=got, padding_value=pad_, align=align)

    return _op("MatrixDiagPartV3", name, [("input", input, "T"), ("k", k, dt.int32),
                                          ("padding_value", padding_value, "T")], lower,
               attrs={"align": align})


def matrix_diag(diagonal, name="diag", k=0, num_rows=-1, num_cols=-1, padding_value=0,
                align="RIGHT_LEFT"):
    """`tf.linalg.diag`: matrices with `diagonal` on diagonal k (or k[0]..k[1]) and
    `padding_value` elsewhere; num_rows / num_cols default to the smallest that fit."""
    if getattr(diagonal, "dtype", None) == dt.bool_:
        padding_value = bool(padding_value)

    def lower(ctx, op, d, k_value, rows, cols, pad_value):
        got = _static_k(ctx, k_value)
        sizes = [_static_scalar(ctx, v) for v in (rows, cols, pad_value)]
        if got is None or any(s is None for s in sizes):
            return _unknown(ctx, d.type.dtype)
        return ctx.b.op("array.matrix_diag", d, k=got, num_rows=int(sizes[0]), num_cols=int(sizes[1]),
                        padding_value=sizes[2], align=align)

    return _op("MatrixDiagV3", name, [("diagonal", diagonal, "T"), ("k", k, dt.int32),
                                      ("num_rows", num_rows, dt.int32), ("num_cols", num_cols, dt.int32),
                                      ("padding_value", padding_value, "T")], lower,
               attrs={"align": align})


def matrix_set_diag(input, diagonal, name="set_diag", k=0, align="RIGHT_LEFT"):
    """`tf.linalg.set_diag`: `input` with diagonal k (or k[0]..k[1]) replaced by `diagonal`."""
    def lower(ctx, op, x, d, k_value):
        got = _static_k(ctx, k_value)
        if got is None:
            return ctx.unknown(x.type)
        return ctx.b.op("array.matrix_set_diag", x, d, k=got, align=align)

    return _op("MatrixSetDiagV3", name, [("input", input, "T"), ("diagonal", diagonal, "T"),
                                         ("k", k, dt.int32)], lower, attrs={"align": align})


def matrix_band_part(input, num_lower, num_upper, name=None):
    """`tf.linalg.band_part`: keep num_lower subdiagonals and num_upper superdiagonals
    (negative: all of them) of the matrices in the last two dims, zero the rest."""
    def lower(ctx, op, x, lo, hi):
        bounds = [_static_scalar(ctx, lo), _static_scalar(ctx, hi)]
        if any(b is None for b in bounds):
            return ctx.unknown(x.type)
        return ctx.b.op("array.matrix_band_part", x, num_lower=int(bounds[0]), num_upper=int(bounds[1]))

    return _op("MatrixBandPart", name, [("input", input, "T"), ("num_lower", num_lower, "Tindex"),
                                        ("num_upper", num_upper, "Tindex")], lower,
               allowed={"Tindex": INDEX})


def diag(diagonal, name=None):
    """`tf.diag`: the rank-2k tensor with `diagonal` (rank k) on its diagonal, zeros elsewhere."""
    return _op("Diag", name, [("diagonal", diagonal, "T")],
               lambda ctx, op, d: ctx.b.op("array.diag", d))


def diag_part(input, name=None):
    """`tf.diag_part`: the inverse of tf.diag (input of rank 2k gives rank k)."""
    return _op("DiagPart", name, [("input", input, "T")],
               lambda ctx, op, x: ctx.b.op("array.diag_part", x))


# Python indexing on tensors and variables -----------------------------------------------------------
def install_indexing() -> None:
    """Give Tensor `x[...]`, and Variable the same on its value. Idempotent. When
    tfc.api.variables is imported before this module, Variable is not defined yet here; calling
    this again once every family has loaded covers it."""
    Tensor.__getitem__ = _slice_helper
    Variable = getattr(_variables(), "Variable", None)
    if Variable is not None:
        Variable.__getitem__ = _variable_getitem


install_indexing()


__all__ = [
    "newaxis",
    "constant",
    "placeholder",
    "placeholder_with_default",
    "identity",
    "identity_n",
    "stop_gradient",
    "no_op",
    "group",
    "shape",
    "shape_n",
    "size",
    "rank",
    "reshape",
    "expand_dims",
    "squeeze",
    "broadcast_to",
    "broadcast_static_shape",
    "broadcast_dynamic_shape",
    "fill",
    "zeros_like",
    "ones_like",
    "range",
    "linspace",
    "lin_space",
    "one_hot",
    "eye",
    "sequence_mask",
    "meshgrid",
    "transpose",
    "reverse",
    "reverse_v2",
    "tile",
    "pad",
    "stack",
    "unstack",
    "concat",
    "split",
    "slice",
    "strided_slice",
    "gather",
    "gather_nd",
    "boolean_mask",
    "matrix_diag_part",
    "matrix_diag",
    "matrix_set_diag",
    "matrix_band_part",
    "diag",
    "diag_part",
]
