"""Creating and reshaping tensors: constant, placeholder, identity, reshape, shape, stack...

(The rest of the array family joins this file; each function mirrors the graph TF builds:
same op types, names and inputs.)
"""

from __future__ import annotations

import numpy as np

from tfc.ir import dtypes as dt
from tfc.ir.types import TensorType

from .. import errors
from ..framework import (Tensor, TensorShape, VariableRef, as_shape, convert_to_tensor,
                         get_default_graph, to_numpy)
from .core import apply_op, make_op, op_scope, outputs


# Constants and inputs ---------------------------------------------------------------------------
def constant(value, dtype=None, shape=None, name="Const", verify_shape=False):
    """`tf.constant`: a tensor holding `value`. With `shape`, a single value fills it and a
    shorter list is padded with its last element (TF1's rule)."""
    dtype = dt.as_dtype(dtype) if dtype is not None else None
    array = to_numpy(value, dtype)
    if shape is not None:
        shape = tuple(int(d) for d in as_shape(shape).as_list())
        size = int(np.prod(shape, dtype=np.int64))
        if verify_shape and array.shape != shape:
            raise TypeError(f"Expected Tensor's shape: {shape}, got {array.shape}.")
        if array.size == 1:
            array = np.full(shape, array.reshape(()), dtype=array.dtype)
        elif array.size > size:
            raise TypeError(f"Too many elements provided. Needed at most {size}, but received {array.size}")
        elif array.size == 0:
            raise ValueError(f"Cannot fill a shape {shape} from an empty value")
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


def identity(input, name=None):
    """`tf.identity`: the same value as a new tensor (reads a variable's current value)."""
    def lower(ctx, op, value):
        if isinstance(value, VariableRef):
            return ctx.read_variable(value.op)
        return value

    if hasattr(input, "_ref") and not isinstance(input, Tensor):
        input = input._ref()        # a Variable: read its current value, like TF's Identity
    return apply_op("Identity", name, [("input", input)], lower)


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
def static_ints(ctx, value, what: str):
    """The integer contents of `value` if known now, else None (raising at run time)."""
    array = ctx.static(value)
    if array is None:
        if ctx.inferring:
            return None
        ctx.unknown(value.type)          # raises: the value must be known when the graph runs
    return [int(v) for v in np.asarray(array).reshape(-1)]


def reshape(tensor, shape, name=None):
    """`tf.reshape`: the same elements in a new shape; one dim may be -1."""
    def lower(ctx, op, x, shape_value):
        dims = static_ints(ctx, shape_value, "shape")
        if dims is None:
            rank = shape_value.type.shape[0] if shape_value.type.shape else None
            return ctx.unknown(TensorType(None if rank is None else (None,) * rank, x.type.dtype))
        return ctx.b.op("array.reshape", x, shape=tuple(dims))

    return apply_op("Reshape", name, [("tensor", tensor), ("shape", shape)], lower, same_dtype=False,
                    default_name="Reshape")


def shape(input, name=None, out_type=dt.int32):
    """`tf.shape`: the dynamic shape of `input` as a 1-D tensor."""
    out_type = dt.as_dtype(out_type)
    return apply_op("Shape", name, [("input", input)],
                    lambda ctx, op, x: ctx.b.op("array.shape", x, out_type=out_type),
                    attrs={"out_type": out_type})


__all__ = [
    "constant",
    "placeholder",
    "placeholder_with_default",
    "identity",
    "no_op",
    "group",
    "reshape",
    "shape",
]
