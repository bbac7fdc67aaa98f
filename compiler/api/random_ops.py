"""Random tensors with TF's seed rules (`tf.set_random_seed`, op-level `seed`) on the Philox
generator of the op table, so a seeded program draws TF's own numbers."""

from __future__ import annotations

import secrets

import numpy as np

from tfc.ir import dtypes as dt
from tfc.ir.types import TensorType

from ..framework import convert_to_tensor, get_default_graph
from .array_ops import static_ints
from .core import make_op, op_scope
from . import math_ops

DEFAULT_GRAPH_SEED = 87654321
_MAXINT32 = 2**31 - 1


def set_random_seed(seed) -> None:
    """`tf.set_random_seed`: the graph-level seed of the default graph."""
    get_default_graph().seed = None if seed is None else int(seed)


def get_seed(op_seed):
    """TF's rule: the (seed, seed2) pair a random op gets from the graph seed and its own.
    With neither set TF draws fresh seeds; tfc draws them once, when the op is created."""
    graph = get_default_graph()
    if graph.seed is not None:
        if op_seed is None:
            op_seed = graph._last_id
        seeds = graph.seed % 2**31, int(op_seed) % 2**31
    elif op_seed is not None:
        seeds = DEFAULT_GRAPH_SEED, int(op_seed) % 2**31
    else:
        return secrets.randbits(31), secrets.randbits(31)
    return (0, _MAXINT32) if seeds == (0, 0) else seeds


def _shape_tensor(shape):
    if hasattr(shape, "as_list"):
        shape = shape.as_list()
    return convert_to_tensor(shape, dtype=dt.int32 if not _needs_int64(shape) else dt.int64, name="shape")


def _needs_int64(shape) -> bool:
    try:
        return any(int(d) >= 2**31 for d in np.asarray(shape).reshape(-1))
    except (TypeError, ValueError):
        return False


def _sampler(op_type: str, ir_name: str, kind: str, shape_tensor, out_dtype, seed, name, **ir_attrs):
    """One stateful random op drawing `shape_tensor` numbers of `dtype`."""
    seed1, seed2 = get_seed(seed)

    def lower(ctx, op, shape_value):
        dims = static_ints(ctx, shape_value, "shape")
        if dims is None:
            n = shape_value.type.shape[0] if shape_value.type.shape else None
            return ctx.unknown(TensorType(None if n is None else (None,) * n, out_dtype))
        counter = ctx.random_counter(kind)
        return ctx.b.op(ir_name, counter, shape=tuple(dims), seed=seed1, seed2=seed2, **ir_attrs)

    return make_op(op_type, [shape_tensor], lower, name=name, stateful=True,
                   attrs={"seed": seed1, "seed2": seed2, "dtype": out_dtype}).outputs[0]


def random_normal(shape, mean=0.0, stddev=1.0, dtype=dt.float32, seed=None, name=None):
    """`tf.random_normal`: normal numbers, drawn as TF draws them."""
    dtype = dt.as_dtype(dtype)
    with op_scope(name, "random_normal", [shape, mean, stddev]) as scope:
        shape_tensor = _shape_tensor(shape)
        mean_tensor = convert_to_tensor(mean, dtype=dtype, name="mean")
        stddev_tensor = convert_to_tensor(stddev, dtype=dtype, name="stddev")
        rnd = _sampler("RandomStandardNormal", "random.normal", "normal", shape_tensor, dtype, seed,
                       None, dtype=dtype)
        mul = math_ops.multiply(rnd, stddev_tensor, name="mul")
        return math_ops.add(mul, mean_tensor, name=scope)


def truncated_normal(shape, mean=0.0, stddev=1.0, dtype=dt.float32, seed=None, name=None):
    """`tf.truncated_normal`: normal numbers redrawn beyond two standard deviations."""
    dtype = dt.as_dtype(dtype)
    with op_scope(name, "truncated_normal", [shape, mean, stddev]) as scope:
        shape_tensor = _shape_tensor(shape)
        mean_tensor = convert_to_tensor(mean, dtype=dtype, name="mean")
        stddev_tensor = convert_to_tensor(stddev, dtype=dtype, name="stddev")
        rnd = _sampler("TruncatedNormal", "random.truncated_normal", "truncated_normal", shape_tensor,
                       dtype, seed, None, dtype=dtype)
        mul = math_ops.multiply(rnd, stddev_tensor, name="mul")
        return math_ops.add(mul, mean_tensor, name=scope)


def random_uniform(shape, minval=0, maxval=None, dtype=dt.float32, seed=None, name=None):
    """`tf.random_uniform`: uniform numbers in [minval, maxval) (maxval defaults to 1 for
    floats; integers need both bounds)."""
    dtype = dt.as_dtype(dtype)
    if maxval is None:
        if dtype.is_integer:
            raise ValueError(f"Must specify maxval for integer dtype {dtype.name}")
        maxval = 1
    with op_scope(name, "random_uniform", [shape, minval, maxval]) as scope:
        shape_tensor = _shape_tensor(shape)
        # As TF: [0, 1) floats skip the scaling ops entirely.
        min_is_zero = isinstance(minval, int) and minval == 0
        max_is_one = isinstance(maxval, int) and maxval == 1
        if not (min_is_zero and max_is_one) or dtype.is_integer:
            minval = convert_to_tensor(minval, dtype=dtype, name="min")
            maxval = convert_to_tensor(maxval, dtype=dtype, name="max")
        if dtype.is_integer:
            return _uniform_int(shape_tensor, minval, maxval, dtype, seed, scope)
        rnd = _sampler("RandomUniform", "random.uniform", "uniform", shape_tensor, dtype, seed, None,
                       dtype=dtype)
        if min_is_zero:
            return rnd if max_is_one else math_ops.multiply(rnd, maxval)
        return math_ops.add(rnd * (maxval - minval), minval, name=scope)


def _uniform_int(shape_tensor, min_tensor, max_tensor, dtype, seed, scope):
    seed1, seed2 = get_seed(seed)

    def lower(ctx, op, shape_value, lo, hi):
        dims = static_ints(ctx, shape_value, "shape")
        bounds = [ctx.static(lo), ctx.static(hi)]
        if dims is None or any(b is None for b in bounds):
            if ctx.inferring:
                n = shape_value.type.shape[0] if shape_value.type.shape else None
                return ctx.unknown(TensorType(None if n is None else (None,) * n if dims is None
                                              else tuple(dims), dtype))
            ctx.unknown(lo.type)
        counter = ctx.random_counter("uniform_int")
        return ctx.b.op("random.uniform_int", counter, shape=tuple(dims), minval=int(bounds[0]),
                        maxval=int(bounds[1]), dtype=dtype, seed=seed1, seed2=seed2)

    return make_op("RandomUniformInt", [shape_tensor, min_tensor, max_tensor], lower, name=scope,
                   stateful=True, attrs={"seed": seed1, "seed2": seed2, "Tout": dtype}).outputs[0]


__all__ = [
    "set_random_seed",
    "get_seed",
    "random_normal",
    "truncated_normal",
    "random_uniform",
]
