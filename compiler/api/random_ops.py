"""Random tensors with TF's seed rules (`tf.set_random_seed`, op-level `seed`) on the Philox
generator of the op table, so a seeded program draws TF's own numbers."""

from __future__ import annotations

import os
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
    With only a graph seed, the op seed is a per-graph count of such calls (0, 1, 2...: TF
    2.x's `_graph_to_seed_dict`, not the op count of TF 1.x). With neither set TF draws fresh
    seeds; tfc draws them once, when the op is created."""
    graph = get_default_graph()
    if graph.seed is not None:
        if op_seed is None:
            op_seed = graph.__dict__.get("_tfc_seed_count", 0)
            graph.__dict__["_tfc_seed_count"] = op_seed + 1
        seeds = graph.seed % _MAXINT32, int(op_seed) % _MAXINT32
    elif op_seed is not None:
        seeds = DEFAULT_GRAPH_SEED, int(op_seed) % _MAXINT32
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


# Gamma, multinomial, shuffle --------------------------------------------------------------------
def _num_threads() -> int:
    """TF's default intra-op pool size (the CPUs this process may use): Multinomial's sharding,
    and so its numbers for large batches, depend on it."""
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:   # not on Linux
        return os.cpu_count() or 1


def random_gamma(shape, alpha, beta=None, dtype=dt.float32, seed=None, name=None):
    """`tf.random_gamma`: Gamma(alpha, beta) samples of shape `shape + broadcast(alpha, beta)`,
    as TF draws them (RandomGamma divided by beta, floored at the dtype's tiniest normal)."""
    dtype = dt.as_dtype(dtype)
    with op_scope(name, "random_gamma", [shape, alpha, beta]):
        shape_tensor = convert_to_tensor(shape, dtype=dt.int32, name="shape")
        alpha = convert_to_tensor(alpha, dtype=dtype, name="alpha")
        beta = convert_to_tensor(beta if beta is not None else 1, dtype=dtype, name="beta")
        alpha = _broadcast_alpha(alpha, beta)
        seed1, seed2 = get_seed(seed)

        def lower(ctx, op, shape_value, alpha_value):
            dims = static_ints(ctx, shape_value, "shape")
            if dims is None:
                n = shape_value.type.shape[0] if shape_value.type.shape else None
                rank = None if n is None or alpha_value.type.shape is None else n + alpha_value.type.rank
                return ctx.unknown(TensorType(None if rank is None else (None,) * rank, dtype))
            return ctx.b.op("random.gamma", ctx.random_counter("gamma"), alpha_value, shape=tuple(dims),
                            seed=seed1, seed2=seed2)

        sample = make_op("RandomGamma", [shape_tensor, alpha], lower, stateful=True,
                         attrs={"seed": seed1, "seed2": seed2, "T": dtype}).outputs[0]
        tiny = np.asarray(np.finfo(dtype.numpy).tiny, dtype.numpy)
        return math_ops.maximum(tiny, math_ops.truediv(sample, beta))


def _broadcast_alpha(alpha, beta):
    """TF's `broadcast_to(alpha, broadcast_dynamic_shape(shape(alpha), shape(beta)))`, as one
    BroadcastTo op with a static target shape."""
    a, b = alpha.shape, beta.shape
    if a.ndims is None or b.ndims is None:
        raise ValueError("tf.random_gamma needs alpha and beta of known rank")
    try:
        target = tuple(np.broadcast_shapes(tuple(d if d is not None else 1 for d in a.as_list()),
                                           tuple(d if d is not None else 1 for d in b.as_list())))
    except ValueError:
        raise ValueError(f"Incompatible shapes: {a.as_list()} vs. {b.as_list()}") from None
    if not a.is_fully_defined() or not b.is_fully_defined():
        raise ValueError("tf.random_gamma needs alpha and beta of fully known shapes")

    def lower(ctx, op, value):
        return ctx.b.op("array.broadcast_to", value, shape=target)

    return make_op("BroadcastTo", [alpha], lower, attrs={"T": alpha.dtype}).outputs[0]


def _multinomial(logits, num_samples, output_dtype, seed):
    """TF's `multinomial_categorical_impl`: a Multinomial op on [batch, classes] logits."""
    logits = convert_to_tensor(logits, name="logits")
    if not (logits.dtype.is_floating or logits.dtype.is_integer):
        raise TypeError(f"Value passed to parameter 'logits' has DataType {logits.dtype.name} not in "
                        "list of allowed values: float32, float64, int32, uint8, int16, int8, "
                        "int64, bfloat16, uint16, half, uint32, uint64")
    output_dtype = dt.as_dtype(output_dtype or dt.int64)
    seed1, seed2 = get_seed(seed)
    threads = _num_threads()

    def lower(ctx, op, logits_value, n_value):
        n = static_ints(ctx, n_value, "num_samples")
        if n is None:
            batch = logits_value.type.shape[0] if logits_value.type.shape else None
            return ctx.unknown(TensorType((batch, None), output_dtype))
        counter = ctx.random_counter("multinomial", num_samples=n[0])
        if logits_value.type.dtype.is_integer:   # TF's kernel works in double anyway
            logits_value = ctx.b.op("math.cast", logits_value, to=dt.float64)
        return ctx.b.op("random.multinomial", counter, logits_value, num_samples=n[0],
                        output_dtype=output_dtype, seed=seed1, seed2=seed2, num_threads=threads)

    with op_scope(None, "Multinomial", [logits]) as scope:
        n = convert_to_tensor(num_samples, dtype=dt.int32, name="num_samples")
        return make_op("Multinomial", [logits, n], lower, name=scope, stateful=True,
                       attrs={"seed": seed1, "seed2": seed2, "T": logits.dtype,
                              "output_dtype": output_dtype}).outputs[0]


def multinomial(logits, num_samples, seed=None, name=None, output_dtype=None):
    """`tf.multinomial`: `num_samples` class indices per row of `logits` [batch, classes]."""
    with op_scope(name, "multinomial", [logits]):
        return _multinomial(logits, num_samples, output_dtype, seed)


def categorical(logits, num_samples, dtype=None, seed=None, name=None):
    """`tf.random.categorical`: like `tf.multinomial`, with the index dtype as `dtype`."""
    with op_scope(name, "categorical", [logits]):
        return _multinomial(logits, num_samples, dtype, seed)


def random_shuffle(value, seed=None, name=None):
    """`tf.random_shuffle`: `value` with its first dimension randomly permuted."""
    seed1, seed2 = get_seed(seed)

    def lower(ctx, op, x):
        shape = x.type.shape
        first = shape[0] if shape else 1
        counter = ctx.random_counter("shuffle", first_dim=first)
        return ctx.b.op("random.shuffle", counter, x, seed=seed1, seed2=seed2)

    with op_scope(name, "RandomShuffle", [value]) as scope:
        value = convert_to_tensor(value, name="value")
        return make_op("RandomShuffle", [value], lower, name=scope, stateful=True,
                       attrs={"seed": seed1, "seed2": seed2, "T": value.dtype}).outputs[0]


__all__ = [
    "set_random_seed",
    "get_seed",
    "random_normal",
    "truncated_normal",
    "random_uniform",
    "random_gamma",
    "multinomial",
    "random_shuffle",
]
