"""Array ops: reshaping, slicing, joining, padding, gathering and creating tensors (TF1 semantics).

Static things (shapes, axes, perms, paddings, slice specs) are attributes. Each op's shape rules
live in one helper that works on shapes whose dims may be None (unknown); type inference calls
it with the static shape, and the reference semantics call it again with the actual shape, so a
check that inference had to skip (an unknown dim) still fails at run time, with the same words,
as a ComputeError. Error messages follow TensorFlow's wording where it has a clear one.
"""

from __future__ import annotations

import functools
import math

import numpy as np

from .. import dtypes as dt
from ..opdef import (INJECTIVE, Attr, ComputeError, InferenceError, Operand, define, same_dtype)
from ..types import TensorType

INDEX_DTYPES = (dt.int32, dt.int64)


# Shared helpers ------------------------------------------------------------------------------
def _fmt(shape) -> str:
    """A shape the way TF prints it in messages: [2,3], [?,3], <unknown>."""
    if shape is None:
        return "<unknown>"
    return "[" + ",".join("?" if d is None else str(d) for d in shape) + "]"


def _axis(axis: int, rank: int, what: str = "axis") -> int:
    """`axis` in [-rank, rank), made non-negative."""
    if not -rank <= axis < rank:
        raise InferenceError(f"{what} {axis} is not in [{-rank}, {rank})")
    return axis % rank


def _product(dims) -> int:
    return math.prod(dims)


def _known_elements(shape) -> int | None:
    """Number of elements, when the shape says it: all dims known, or some dim is 0."""
    if shape is None:
        return None
    if 0 in shape:
        return 0
    if None in shape:
        return None
    return _product(shape)


def _value_in(dtype: dt.DType, value: float, what: str):
    """A float attribute as a numpy scalar of `dtype`. Like TF's conversion of a Python number
    to a tensor of that dtype, it refuses values the dtype cannot hold exactly (1.5 as int32,
    -1 as uint8); floats round to the nearest representable value."""
    if dtype.numpy is None:               # bfloat16: numpy cannot hold it; nothing to check
        return float(value)
    if dtype == dt.string:
        if value != 0:
            raise InferenceError(f"{what} {value!r} cannot be converted to a string")
        return b""
    if dtype.is_bool:
        if value not in (0, 1):
            raise InferenceError(f"{what} {value!r} is not representable as bool")
        return np.bool_(value)
    if dtype.is_integer or dtype.is_quantized:
        if not float(value).is_integer() or not dtype.min <= value <= dtype.max:
            raise InferenceError(f"{what} {value!r} is not representable as {dtype.name}")
        return dtype.numpy.type(int(value))
    return dtype.numpy.type(value)


def _runtime_checked(compute):
    """Reference semantics re-run the shape checks on actual shapes; a failure there is a
    run-time error (TF's InvalidArgumentError), not a type error."""
    @functools.wraps(compute)
    def wrapped(*args, **kwargs):
        try:
            return compute(*args, **kwargs)
        except InferenceError as e:
            raise ComputeError(e.args[0]) from None
    return wrapped


def _define(name, *, compute, injective=True, **kwargs):
    traits = {INJECTIVE} if injective else set()
    return define(name, compute=_runtime_checked(compute), traits=traits, **kwargs)


def _same_shapes(shapes):
    """The merged shape of operands that must all have one shape (stack), or an error naming
    the first pair that differs. None if no rank is known."""
    merged, first = None, None
    for i, shape in enumerate(shapes):
        if shape is None:
            continue
        if merged is None:
            merged, first = shape, i
            continue
        if len(shape) != len(merged) or any(
                a is not None and b is not None and a != b for a, b in zip(merged, shape)):
            raise InferenceError(f"Shapes of all inputs must match: values[{first}].shape = "
                                 f"{_fmt(shapes[first])} != values[{i}].shape = {_fmt(shape)}")
        merged = tuple(b if a is None else a for a, b in zip(merged, shape))
    return merged


# array.reshape -------------------------------------------------------------------------------
def _reshape_shape(in_shape, shape):
    """The result shape of reshaping `in_shape` to `shape` (which may hold one -1), following
    TF's Reshape kernel, including its rule for empty tensors: when the requested shape has a
    zero dim, zero dims are left out of both element counts so -1 can still be inferred."""
    wildcards = [i for i, d in enumerate(shape) if d == -1]
    if len(wildcards) > 1:
        raise InferenceError(
            f"Only one input size may be -1, not both {wildcards[0]} and {wildcards[1]}")
    for i, d in enumerate(shape):
        if d < -1:
            raise InferenceError(f"Size {i} must be non-negative, not {d}")
    out = [None if d == -1 else d for d in shape]
    if in_shape is None:
        return tuple(out)
    if not wildcards:
        wanted, have = _product(shape), _known_elements(in_shape)
        if have is not None and have != wanted:
            raise InferenceError(f"Cannot reshape a tensor with {have} elements to shape "
                                 f"{_fmt(shape)} ({wanted} elements)")
        known = _product(d for d in in_shape if d is not None)
        if have is None and known and wanted % known:
            raise InferenceError(f"Cannot reshape a tensor of shape {_fmt(in_shape)} to shape "
                                 f"{_fmt(shape)} ({wanted} elements, not a multiple of {known})")
        return tuple(out)
    requested_zero = 0 in shape
    product = _product(d for d in shape if d > 0)
    if requested_zero:
        if None in in_shape:
            return tuple(out)
        have = _product(d for d in in_shape if d > 0)
        input_zero = 0 in in_shape
    else:
        have, input_zero = _known_elements(in_shape), False
        if have is None:
            return tuple(out)
    missing = have // product
    if not input_zero and missing * product != have:
        raise InferenceError(f"Input to reshape is a tensor with {have} values, but the "
                             f"requested shape requires a multiple of {product}")
    out[wildcards[0]] = missing
    total, wanted = _known_elements(in_shape), _product(out)
    if total != wanted:
        raise InferenceError(f"Input to reshape is a tensor with {total} values, but the "
                             f"requested shape has {wanted}")
    return tuple(out)


_define(
    "array.reshape",
    operands=[Operand("x")],
    attrs=[Attr("shape", "ints")],
    infer=lambda types, attrs: TensorType(_reshape_shape(types[0].shape, attrs["shape"]),
                                          types[0].dtype),
    compute=lambda x, shape: x.reshape(_reshape_shape(x.shape, shape)),
    doc="Reshape to `shape`, where one dim may be -1 (inferred). TF Reshape / tf.reshape.",
)


# array.transpose -----------------------------------------------------------------------------
def _transpose_perm(rank, perm):
    """`perm` made non-negative (TF accepts -1 for the last dim), checked to be a permutation."""
    if rank is not None and len(perm) != rank:
        raise InferenceError(f"transpose expects a vector of size {rank}. "
                             f"But input(1) is a vector of size {len(perm)}")
    n = len(perm)
    for p in perm:
        if not -n <= p < n:
            raise InferenceError(f"perm dim {p} is out of range of input rank {n}")
    perm = tuple(p % n for p in perm)
    for i in range(n):
        if i not in perm:
            raise InferenceError(f"{i} is missing from {{{','.join(map(str, perm))}}}.")
    return perm


def _infer_transpose(types, attrs):
    x = types[0]
    perm = _transpose_perm(x.rank, attrs["perm"])
    shape = (None,) * len(perm) if x.shape is None else tuple(x.shape[p] for p in perm)
    return TensorType(shape, x.dtype)


_define(
    "array.transpose",
    operands=[Operand("x")],
    attrs=[Attr("perm", "ints")],
    infer=_infer_transpose,
    compute=lambda x, perm: np.transpose(x, _transpose_perm(x.ndim, perm)),
    doc="Permute dims: result dim i is input dim perm[i]. TF Transpose / tf.transpose.",
)


# array.slice ---------------------------------------------------------------------------------
def _slice_shape(in_shape, begin, size):
    rank = len(begin) if in_shape is None else len(in_shape)
    if len(begin) != rank or len(size) != rank:
        raise InferenceError(f"Expected begin and size arguments to be 1-D tensors of size "
                             f"{rank}, but got shapes [{len(begin)}] and [{len(size)}] instead.")
    dims = in_shape if in_shape is not None else (None,) * rank
    out = []
    for i, (dim, b, s) in enumerate(zip(dims, begin, size)):
        if b < 0 or (dim is not None and b > dim):
            raise InferenceError(f"Expected begin[{i}] in [0, {'?' if dim is None else dim}], "
                                 f"but got {b}")
        room = None if dim is None else dim - b
        if s == -1:                       # -1: everything from begin to the end
            out.append(room)
            continue
        if s < 0 or (room is not None and s > room):
            raise InferenceError(f"Expected size[{i}] in [0, {'?' if room is None else room}], "
                                 f"but got {s}")
        out.append(s)
    return tuple(out)


def _compute_slice(x, begin, size):
    shape = _slice_shape(x.shape, begin, size)
    return x[tuple(slice(b, b + n) for b, n in zip(begin, shape))]


_define(
    "array.slice",
    operands=[Operand("x")],
    attrs=[Attr("begin", "ints"), Attr("size", "ints")],
    infer=lambda types, attrs: TensorType(
        _slice_shape(types[0].shape, attrs["begin"], attrs["size"]), types[0].dtype),
    compute=_compute_slice,
    doc="The block x[begin[i] : begin[i] + size[i]] (size -1 = to the end). TF Slice / tf.slice.",
)


# array.strided_slice -------------------------------------------------------------------------
_NEW_AXIS = -1   # in a result layout: a size-1 dim that is in no input dim


def _bit(mask: int, i: int) -> bool:
    return bool(mask >> i & 1)


def _strided_slice_plan(in_shape, begin, end, strides, begin_mask=0, end_mask=0,
                        ellipsis_mask=0, new_axis_mask=0, shrink_axis_mask=0):
    """TF's ValidateStridedSliceOp. Returns (result shape, ranges), where ranges has one entry
    per input dim: (begin, end, stride, shrink) with begin/end canonical (non-negative, clamped;
    end -1 means "before index 0" for negative strides), or None where the dim is unknown.
    Returns (None, None) for an input of unknown rank. (The front end also passes None for
    begin/end/stride values it does not know yet; the dims they touch are then unknown.)"""
    if not len(begin) == len(end) == len(strides):
        raise InferenceError(
            f"Expected begin, end, and strides to be 1D equal size tensors, but got shapes "
            f"[{len(begin)}], [{len(end)}], and [{len(strides)}] instead.")
    if ellipsis_mask & (ellipsis_mask - 1):
        raise InferenceError("Multiple ellipses in slice spec not allowed")
    if in_shape is None:
        return None, None
    rank = len(in_shape)

    # Step 1: the sparse spec (one entry per index in x[...]) becomes a dense one (one entry per
    # input dim). A missing ellipsis is implied at the end; an ellipsis covers the input dims that
    # the entries after it (other than new axes) leave over.
    n = len(begin)
    new_axes_after_ellipsis, seen = 0, False
    for i in range(n):
        if seen and _bit(new_axis_mask, i):
            new_axes_after_ellipsis += 1
        if _bit(ellipsis_mask, i):
            seen = True
    if not seen:
        ellipsis_mask |= 1 << n
        n += 1
    dense = []     # per input dim: (begin, end, stride, begin masked, end masked, shrink)
    layout = []    # per result dim: the input dim it comes from, or _NEW_AXIS
    for i in range(n):
        if _bit(ellipsis_mask, i):       # an ellipsis wins over new_axis/shrink on the same bit
            stop = min(rank - (n - i) + 1 + new_axes_after_ellipsis, rank)
            while len(dense) < stop:
                layout.append(len(dense))
                dense.append((0, 0, 1, True, True, False))
        elif _bit(new_axis_mask, i):     # a new axis wins over shrink on the same bit
            layout.append(_NEW_AXIS)
        else:
            if len(dense) == rank:
                raise InferenceError(f"Index out of range using input dim {rank}; "
                                     f"input has only {rank} dims")
            shrink = _bit(shrink_axis_mask, i)
            if not shrink:
                layout.append(len(dense))
            dense.append((begin[i], end[i], strides[i], _bit(begin_mask, i), _bit(end_mask, i),
                          shrink))

    # Step 2: canonical ranges and the size of each input dim's slice.
    sizes, ranges = [], []
    for i, ((b, e, s, b_masked, e_masked, shrink), dim) in enumerate(zip(dense, in_shape)):
        if s == 0:
            raise InferenceError(f"strides[{i}] must be non-zero")
        if shrink and s is not None and s < 0:
            raise InferenceError("only stride 1 allowed on non-range indexing.")
        if dim is None or (b is None and (shrink or not b_masked)) or (
                not shrink and (s is None or (e is None and not e_masked))):
            sizes.append(1 if shrink else None)
            ranges.append(None)
            continue
        if shrink:                       # x[k]: the mask and `end` are ignored
            b = b + dim if b < 0 else b
            if not 0 <= b < dim:
                raise InferenceError(f"slice index {b} of dimension {i} out of bounds.")
            e = b + 1
        else:
            lo, hi = (0, dim) if s > 0 else (-1, dim - 1)

            def canonical(x, masked, is_end):
                if masked:               # a masked begin/end is the far end in stride direction
                    return hi if (s > 0) == is_end else lo
                x = x + dim if x < 0 else x
                return min(max(x, lo), hi)

            b, e = canonical(b, b_masked, False), canonical(e, e_masked, True)
        length = e - b
        sizes.append(0 if length == 0 or (length < 0) != (s < 0) else -(-abs(length) // abs(s)))
        ranges.append((b, e, s, shrink))
    shape = tuple(1 if d == _NEW_AXIS else sizes[d] for d in layout)
    return shape, ranges


def _infer_strided_slice(types, attrs):
    shape, _ = _strided_slice_plan(types[0].shape, **attrs)
    return TensorType(shape, types[0].dtype)


def _compute_strided_slice(x, **attrs):
    shape, ranges = _strided_slice_plan(x.shape, **attrs)
    # np.arange(b, e, s) is exactly TF's sequence of indices for a canonical range; an outer
    # product of them (np.ix_) picks the block, then shrunk dims drop and new axes appear.
    picked = x[np.ix_(*(np.arange(b, e, s) for b, e, s, _ in ranges))]
    return picked.reshape(shape)


_define(
    "array.strided_slice",
    operands=[Operand("x")],
    attrs=[Attr("begin", "ints"), Attr("end", "ints"), Attr("strides", "ints"),
           Attr("begin_mask", "int", default=0), Attr("end_mask", "int", default=0),
           Attr("ellipsis_mask", "int", default=0), Attr("new_axis_mask", "int", default=0),
           Attr("shrink_axis_mask", "int", default=0)],
    infer=_infer_strided_slice,
    compute=_compute_strided_slice,
    doc="Python-style indexing x[b:e:s, ..., None, k] with TF's StridedSlice masks. "
        "TF StridedSlice / tf.strided_slice / Tensor.__getitem__.",
)


# array.split ---------------------------------------------------------------------------------
def _split_sizes(in_shape, axis, num=None, sizes=None):
    """(axis made non-negative or None for unknown rank, the size of each piece or None)."""
    if (num is None) == (sizes is None):
        raise InferenceError("exactly one of 'num' and 'sizes' must be given")
    if num is not None and num < 1:
        raise InferenceError(f"Number of ways to split should be > 0, but got {num}")
    if sizes is not None:
        if not sizes:
            raise InferenceError("sizes must not be empty")
        if sizes.count(-1) > 1:
            raise InferenceError("size_splits can only have one -1")
        for i, s in enumerate(sizes):
            if s < -1:
                raise InferenceError(f"Split size at index {i} must be >= 0. Got: {s}")
    count = num if num is not None else len(sizes)
    if in_shape is None:
        return None, [None] * count
    axis = _axis(axis, len(in_shape))
    dim = in_shape[axis]
    if num is not None:
        if dim is not None and dim % num:
            raise InferenceError(f"Number of ways to split should evenly divide the split "
                                 f"dimension, but got split_dim {axis} (size = {dim}) and "
                                 f"num_split {num}")
        return axis, [None if dim is None else dim // num] * num
    if dim is None:
        return axis, [None if s == -1 else s for s in sizes]
    if -1 in sizes:
        rest = dim - sum(s for s in sizes if s != -1)
        if rest < 0:
            raise InferenceError(f"Split size at index {sizes.index(-1)} must be >= 0. Got: {rest}")
        return axis, [rest if s == -1 else s for s in sizes]
    if sum(sizes) != dim:
        raise InferenceError(f"can't split axis of size {dim} into pieces of size "
                             f"[{','.join(map(str, sizes))}]")
    return axis, list(sizes)


def _infer_split(types, attrs):
    x = types[0]
    axis, pieces = _split_sizes(x.shape, attrs["axis"], attrs.get("num"), attrs.get("sizes"))
    if axis is None:
        return [TensorType(None, x.dtype) for _ in pieces]
    return [TensorType(x.shape[:axis] + (p,) + x.shape[axis + 1:], x.dtype) for p in pieces]


def _compute_split(x, axis, num=None, sizes=None):
    axis, pieces = _split_sizes(x.shape, axis, num, sizes)
    return tuple(np.split(x, np.cumsum(pieces[:-1]).astype(int), axis=axis))


_define(
    "array.split",
    operands=[Operand("x")],
    attrs=[Attr("axis", "int"), Attr("num", "int", default=None),
           Attr("sizes", "ints", default=None)],
    infer=_infer_split,
    compute=_compute_split,
    doc="Split along `axis` into `num` equal pieces or pieces of `sizes` (one may be -1). "
        "TF Split / SplitV / tf.split.",
)


# array.concat --------------------------------------------------------------------------------
def _concat_shape(shapes, axis):
    """The result shape of concatenating tensors of `shapes` along `axis` (None if no rank is
    known), with ConcatOp's checks and words."""
    if not shapes:
        raise InferenceError("concat needs at least one value")
    known = [(i, s) for i, s in enumerate(shapes) if s is not None]
    if not known:
        return None
    first, ref = known[0]
    rank = len(ref)
    if rank == 0:
        raise InferenceError("Can't concatenate scalars (use tf.stack instead)")
    if not -rank <= axis < rank:
        raise InferenceError(f"ConcatOp : Expected concatenating dimensions in the range "
                             f"[{-rank}, {rank}), but got {axis}")
    axis %= rank
    for i, s in known[1:]:
        if len(s) != rank:
            raise InferenceError(f"ConcatOp : Ranks of all input tensors should match: "
                                 f"shape[{first}] = {_fmt(ref)} vs. shape[{i}] = {_fmt(s)}")
    out = []
    for d in range(rank):
        if d == axis:
            dims = [s[d] if s is not None else None for s in shapes]
            out.append(None if None in dims else sum(dims))
            continue
        seen = None                       # (index, dim) of the first input that knows dim d
        for i, s in known:
            if s[d] is None:
                continue
            if seen is None:
                seen = (i, s[d])
            elif s[d] != seen[1]:
                raise InferenceError(
                    f"ConcatOp : Dimension {d} in both shapes must be equal: shape[{seen[0]}] = "
                    f"{_fmt(shapes[seen[0]])} vs. shape[{i}] = {_fmt(s)}")
        out.append(None if seen is None else seen[1])
    return tuple(out)


def _infer_concat(types, attrs):
    if not types:
        raise InferenceError("concat needs at least one value")
    dtype = same_dtype(types)
    return TensorType(_concat_shape([t.shape for t in types], attrs["axis"]), dtype)


def _compute_concat(*values, axis):
    _concat_shape([v.shape for v in values], axis)
    return np.concatenate(values, axis=axis)


_define(
    "array.concat",
    operands=[Operand("values", variadic=True)],
    attrs=[Attr("axis", "int")],
    infer=_infer_concat,
    compute=_compute_concat,
    doc="Join tensors of one dtype along `axis`; other dims must match. TF ConcatV2 / tf.concat.",
)


# array.pad -----------------------------------------------------------------------------------
def _pad_shape(in_shape, paddings, mode):
    if len(paddings) % 2:
        raise InferenceError(f"paddings must hold a (before, after) pair per dim, got "
                             f"{len(paddings)} values")
    pairs = list(zip(paddings[::2], paddings[1::2]))
    if in_shape is not None and len(pairs) != len(in_shape):
        raise InferenceError(f"The first dimension of paddings must be the rank of inputs: "
                             f"paddings has {len(pairs)} pairs for input shape {_fmt(in_shape)}")
    dims = in_shape if in_shape is not None else (None,) * len(pairs)
    out = []
    for dim, (before, after) in zip(dims, pairs):
        if before < 0 or after < 0:
            raise InferenceError(f"Paddings must be non-negative: {before} {after}")
        # MirrorPad reflects within the tensor: REFLECT skips the edge element, so it can add
        # at most dim - 1 elements per side; SYMMETRIC repeats the edge, at most dim.
        if dim is not None and mode == "REFLECT" and (before >= dim or after >= dim):
            raise InferenceError(f"paddings must be less than the dimension size: {before}, "
                                 f"{after} not less than {dim}")
        if dim is not None and mode == "SYMMETRIC" and (before > dim or after > dim):
            raise InferenceError(f"paddings must be no greater than the dimension size: "
                                 f"{before}, {after} greater than {dim}")
        out.append(None if dim is None else before + dim + after)
    return tuple(out)


def _infer_pad(types, attrs):
    x = types[0]
    if attrs["mode"] == "CONSTANT":
        _value_in(x.dtype, attrs["constant_value"], "constant_value")
    return TensorType(_pad_shape(x.shape, attrs["paddings"], attrs["mode"]), x.dtype)


def _compute_pad(x, paddings, mode, constant_value):
    shape = _pad_shape(x.shape, paddings, mode)
    pairs = list(zip(paddings[::2], paddings[1::2]))
    if mode != "CONSTANT":   # numpy's reflect/symmetric are TF's REFLECT/SYMMETRIC
        return np.pad(x, pairs, mode=mode.lower())
    fill = _value_in(dt.from_numpy(x.dtype), constant_value, "constant_value")
    out = np.full(shape, fill, dtype=x.dtype)
    out[tuple(slice(b, b + d) for (b, _), d in zip(pairs, x.shape))] = x
    return out


_define(
    "array.pad",
    operands=[Operand("x")],
    attrs=[Attr("paddings", "ints"),
           Attr("mode", "str", default="CONSTANT", choices=("CONSTANT", "REFLECT", "SYMMETRIC")),
           Attr("constant_value", "float", default=0.0)],
    infer=_infer_pad,
    compute=_compute_pad,
    doc="Pad each dim by paddings[2i] before and paddings[2i+1] after, with a constant or by "
        "mirroring. TF Pad / PadV2 / MirrorPad / tf.pad.",
)


# array.gather --------------------------------------------------------------------------------
def _gather_axes(params_shape, indices_shape, axis, batch_dims):
    """GatherV2's checks; (axis, batch_dims) made non-negative."""
    p_rank, i_rank = len(params_shape), len(indices_shape)
    if p_rank == 0:
        raise InferenceError("params must be at least 1 dimensional")
    if not -p_rank <= axis < p_rank:
        raise InferenceError(f"Expected axis in the range [{-p_rank}, {p_rank}), but got {axis}")
    axis %= p_rank
    if not -i_rank <= batch_dims <= i_rank:
        raise InferenceError(f"Expected batch_dims in the range [{-i_rank}, {i_rank}], "
                             f"but got {batch_dims}")
    batch_dims = batch_dims + i_rank if batch_dims < 0 else batch_dims
    if batch_dims >= p_rank:
        raise InferenceError(
            f"batch_dims ({batch_dims}) must be less than rank(params) ({p_rank}).")
    if axis < batch_dims:
        raise InferenceError(
            f"batch_dims ({batch_dims}) must be less than or equal to axis ({axis}).")
    for i in range(batch_dims):
        p, q = params_shape[i], indices_shape[i]
        if p is not None and q is not None and p != q:
            raise InferenceError(
                f"params.shape[{i}]: {p} should be equal to indices.shape[{i}]: {q}")
    return axis, batch_dims


def _gather_shape(params_shape, indices_shape, axis, batch_dims):
    axis, batch_dims = _gather_axes(params_shape, indices_shape, axis, batch_dims)
    batch = tuple(p if p is not None else q
                  for p, q in zip(params_shape[:batch_dims], indices_shape[:batch_dims]))
    return (batch + params_shape[batch_dims:axis] + indices_shape[batch_dims:]
            + params_shape[axis + 1:])


def _infer_gather(types, attrs):
    params, indices = types
    if params.shape is None or indices.shape is None:
        return TensorType(None, params.dtype)
    return TensorType(_gather_shape(params.shape, indices.shape, attrs["axis"],
                                    attrs["batch_dims"]), params.dtype)


def _check_indices(indices, limit):
    """TF's "indices[1,0] = 7 is not in [0, 5)" for the first index out of range."""
    bad = np.argwhere((indices < 0) | (indices >= limit))
    if len(bad):
        where = "[" + ",".join(map(str, bad[0])) + "]" if indices.ndim else ""
        raise ComputeError(f"indices{where} = {indices[tuple(bad[0])]} is not in [0, {limit})")


def _compute_gather(params, indices, axis, batch_dims):
    shape = _gather_shape(params.shape, indices.shape, axis, batch_dims)
    axis, batch_dims = _gather_axes(params.shape, indices.shape, axis, batch_dims)
    _check_indices(indices, params.shape[axis])
    # Flatten the batch dims into one; each batch element is an ordinary gather.
    batch = math.prod(params.shape[:batch_dims])
    p = params.reshape((batch,) + params.shape[batch_dims:])
    q = indices.reshape((batch,) + indices.shape[batch_dims:])
    out = np.empty(shape, dtype=params.dtype)
    flat = out.reshape((batch,) + shape[batch_dims:])
    for b in range(batch):
        flat[b] = np.take(p[b], q[b], axis=axis - batch_dims)
    return out


_define(
    "array.gather",
    operands=[Operand("params"), Operand("indices", INDEX_DTYPES)],
    attrs=[Attr("axis", "int", default=0), Attr("batch_dims", "int", default=0)],
    infer=_infer_gather,
    compute=_compute_gather,
    doc="Pick slices of `params` along `axis` at `indices` (after `batch_dims` shared leading "
        "dims). TF GatherV2 / tf.gather.",
)


# array.gather_nd -----------------------------------------------------------------------------
def _gather_nd_shape(params_shape, indices_shape):
    """indices.shape[:-1] + params.shape[indices.shape[-1]:], or None if that is unknown."""
    if indices_shape is not None and len(indices_shape) == 0:
        raise InferenceError("indices must be at least a vector, but saw shape: []")
    if params_shape is not None and len(params_shape) == 0:
        raise InferenceError("params must be at least a vector")
    if params_shape is None or indices_shape is None or indices_shape[-1] is None:
        return None
    depth = indices_shape[-1]
    if depth > len(params_shape):
        raise InferenceError(f"indices.shape[-1] must be <= params.rank, but saw indices shape: "
                             f"{_fmt(indices_shape)} and params shape: {_fmt(params_shape)}")
    return indices_shape[:-1] + params_shape[depth:]


def _compute_gather_nd(params, indices):
    shape = _gather_nd_shape(params.shape, indices.shape)
    depth = indices.shape[-1]
    rows = indices.reshape(math.prod(indices.shape[:-1]), depth)
    bad = np.nonzero(((rows < 0) | (rows >= np.array(params.shape[:depth]))).any(axis=1))[0]
    if len(bad):
        where = np.unravel_index(bad[0], indices.shape[:-1])
        where = "[" + ",".join(str(int(w)) for w in where) + "]" if where else ""
        row = ", ".join(str(v) for v in rows[bad[0]])
        raise ComputeError(f"indices{where} = [{row}] does not index into param shape "
                           f"{_fmt(params.shape)}")
    if params.size == 0 and len(rows):
        raise ComputeError(f"Requested more than 0 entries, but params is empty.  "
                           f"Params shape: {_fmt(params.shape)}")
    if depth == 0:                        # every row picks the whole of params
        return np.broadcast_to(params, shape).copy()
    return params[tuple(rows.T)].reshape(shape)


_define(
    "array.gather_nd",
    operands=[Operand("params"), Operand("indices", INDEX_DTYPES)],
    infer=lambda types, attrs: TensorType(_gather_nd_shape(types[0].shape, types[1].shape),
                                          types[0].dtype),
    compute=_compute_gather_nd,
    doc="Pick slices of `params` at the index tuples in the last dim of `indices`. "
        "TF GatherNd / tf.gather_nd.",
)


# array.one_hot -------------------------------------------------------------------------------
def _one_hot_axis(rank, depth, axis):
    if depth < 0:
        raise InferenceError(f"depth must be non-negative, got: {depth}")
    if rank is not None and not (axis == -1 or 0 <= axis <= rank):
        raise InferenceError(f"Expected axis to be -1 or between [0, {rank + 1}).  "
                             f"But received: {axis}")
    if rank is None and axis < -1:
        raise InferenceError(f"Expected axis to be -1 or non-negative, but received: {axis}")
    return rank if axis == -1 else axis


def _infer_one_hot(types, attrs):
    indices, dtype = types[0], attrs["dtype"]
    _value_in(dtype, attrs["on_value"], "on_value")
    _value_in(dtype, attrs["off_value"], "off_value")
    axis = _one_hot_axis(indices.rank, attrs["depth"], attrs["axis"])
    if indices.shape is None:
        return TensorType(None, dtype)
    return TensorType(indices.shape[:axis] + (attrs["depth"],) + indices.shape[axis:], dtype)


def _compute_one_hot(indices, depth, on_value, off_value, axis, dtype):
    axis = _one_hot_axis(indices.ndim, depth, axis)
    on, off = _value_in(dtype, on_value, "on_value"), _value_in(dtype, off_value, "off_value")
    # Comparing with 0..depth-1 leaves negative and too-large indices all off, as TF does.
    hot = indices[..., np.newaxis] == np.arange(depth)
    return np.moveaxis(np.where(hot, on, off).astype(dtype.numpy), -1, axis)


_define(
    "array.one_hot",
    operands=[Operand("indices", (dt.int32, dt.int64, dt.uint8))],
    attrs=[Attr("depth", "int"), Attr("on_value", "float", default=1.0),
           Attr("off_value", "float", default=0.0), Attr("axis", "int", default=-1),
           Attr("dtype", "dtype", default=dt.float32)],
    infer=_infer_one_hot,
    compute=_compute_one_hot,
    injective=False,
    doc="on_value where indices == position along a new dim of size `depth` at `axis`, else "
        "off_value. TF OneHot / tf.one_hot.",
)


# array.tile ----------------------------------------------------------------------------------
def _tile_shape(in_shape, multiples):
    if in_shape is not None and len(multiples) != len(in_shape):
        raise InferenceError(f"Expected multiples argument to be a vector of length "
                             f"{len(in_shape)} but got length {len(multiples)}")
    for i, m in enumerate(multiples):
        if m < 0:
            raise InferenceError(f"Expected multiples[{i}] >= 0, but got {m}")
    dims = in_shape if in_shape is not None else (None,) * len(multiples)
    return tuple(0 if m == 0 else None if d is None else d * m for d, m in zip(dims, multiples))


def _compute_tile(x, multiples):
    _tile_shape(x.shape, multiples)
    return np.tile(x, multiples)


_define(
    "array.tile",
    operands=[Operand("x")],
    attrs=[Attr("multiples", "ints")],
    infer=lambda types, attrs: TensorType(_tile_shape(types[0].shape, attrs["multiples"]),
                                          types[0].dtype),
    compute=_compute_tile,
    doc="Repeat x multiples[i] times along dim i. TF Tile / tf.tile.",
)


# array.stack / array.unstack -----------------------------------------------------------------
def _infer_stack(types, attrs):
    if not types:
        raise InferenceError("stack needs at least one value")
    dtype = same_dtype(types)
    shape = _same_shapes([t.shape for t in types])
    if shape is None:
        return TensorType(None, dtype)
    axis = _axis(attrs["axis"], len(shape) + 1)
    return TensorType(shape[:axis] + (len(types),) + shape[axis:], dtype)


def _compute_stack(*values, axis):
    _same_shapes([v.shape for v in values])
    return np.stack(values, axis=axis)


_define(
    "array.stack",
    operands=[Operand("values", variadic=True)],
    attrs=[Attr("axis", "int", default=0)],
    infer=_infer_stack,
    compute=_compute_stack,
    doc="Join same-shaped tensors along a new dim at `axis`. TF Pack / tf.stack.",
)


def _infer_unstack(types, attrs):
    x = types[0]
    if x.shape is None:
        raise InferenceError("Cannot infer argument `num` from shape <unknown>")
    axis = _axis(attrs["axis"], x.rank)
    if x.shape[axis] is None:
        raise InferenceError(f"Cannot infer argument `num` from shape {_fmt(x.shape)}")
    piece = TensorType(x.shape[:axis] + x.shape[axis + 1:], x.dtype)
    return [piece] * x.shape[axis]


def _compute_unstack(x, axis):
    axis = _axis(axis, x.ndim)
    if x.shape[axis] == 0:
        return ()
    return tuple(np.squeeze(p, axis) for p in np.split(x, x.shape[axis], axis=axis))


_define(
    "array.unstack",
    operands=[Operand("x")],
    attrs=[Attr("axis", "int", default=0)],
    infer=_infer_unstack,
    compute=_compute_unstack,
    doc="One result per slice of x along `axis` (whose size must be known). "
        "TF Unpack / tf.unstack.",
)


# array.expand_dims / array.squeeze -----------------------------------------------------------
def _infer_expand_dims(types, attrs):
    x, axis = types[0], attrs["axis"]
    if x.shape is None:
        return TensorType(None, x.dtype)
    rank = x.rank
    if not -rank - 1 <= axis <= rank:
        raise InferenceError(f"dim {axis} not in the interval [{-rank - 1}, {rank}].")
    axis %= rank + 1
    return TensorType(x.shape[:axis] + (1,) + x.shape[axis:], x.dtype)


_define(
    "array.expand_dims",
    operands=[Operand("x")],
    attrs=[Attr("axis", "int")],
    infer=_infer_expand_dims,
    compute=lambda x, axis: np.expand_dims(x, axis),
    doc="Insert a size-1 dim at `axis` (negative counts from the end of the result). "
        "TF ExpandDims / tf.expand_dims.",
)


def _squeeze_shape(in_shape, axes):
    """Result shape, or None when unknown. No axes (None or empty, as TF) squeezes every
    size-1 dim; then an unknown dim makes the result's rank unknown."""
    if in_shape is None:
        return None
    rank = len(in_shape)
    chosen = set()
    for i, a in enumerate(axes or ()):
        if not -rank <= a < rank:
            raise InferenceError(f"squeeze_dims[{i}] not in [{-rank},{rank}).")
        chosen.add(a % rank)
    out = []
    for i, d in enumerate(in_shape):
        if chosen:
            if i not in chosen:
                out.append(d)
            elif d is not None and d != 1:
                raise InferenceError(f"Can not squeeze dim[{i}], expected a dimension of 1, "
                                     f"got {d}")
        elif d is None:
            return None
        elif d != 1:
            out.append(d)
    return tuple(out)


_define(
    "array.squeeze",
    operands=[Operand("x")],
    attrs=[Attr("axes", "ints", default=None)],
    infer=lambda types, attrs: TensorType(_squeeze_shape(types[0].shape, attrs.get("axes")),
                                          types[0].dtype),
    compute=lambda x, axes=None: x.reshape(_squeeze_shape(x.shape, axes)),
    doc="Remove size-1 dims: those in `axes`, or all of them. TF Squeeze / tf.squeeze.",
)


# array.broadcast_to --------------------------------------------------------------------------
def _check_broadcast_to(in_shape, shape):
    for d in shape:
        if d < 0:
            raise InferenceError(f"Dimension {d} must be >= 0")
    if in_shape is None:
        return
    if len(in_shape) > len(shape):
        raise InferenceError(f"Rank of input ({len(in_shape)}) must be no greater than rank of "
                             f"output shape ({len(shape)}).")
    for d, target in zip(in_shape[::-1], shape[::-1]):
        if d is not None and d != 1 and d != target:
            raise InferenceError(f"Unable to broadcast tensor of shape {_fmt(in_shape)} to "
                                 f"tensor of shape {_fmt(shape)}")


def _infer_broadcast_to(types, attrs):
    _check_broadcast_to(types[0].shape, attrs["shape"])
    return TensorType(attrs["shape"], types[0].dtype)


def _compute_broadcast_to(x, shape):
    _check_broadcast_to(x.shape, shape)
    return np.broadcast_to(x, shape).copy()


_define(
    "array.broadcast_to",
    operands=[Operand("x")],
    attrs=[Attr("shape", "ints")],
    infer=_infer_broadcast_to,
    compute=_compute_broadcast_to,
    doc="Broadcast x to `shape` (numpy rules; dims of x must be 1 or equal). "
        "TF BroadcastTo / tf.broadcast_to.",
)


# array.reverse -------------------------------------------------------------------------------
def _reverse_axes(rank, axes):
    if rank is None:
        return None
    seen = []
    for i, a in enumerate(axes):
        if not -rank <= a < rank:
            raise InferenceError(f"'axis'[{i}] = {a} is out of valid range [{-rank}, {rank})")
        if a % rank in seen:
            raise InferenceError(f"axis {a % rank} specified more than once.")
        seen.append(a % rank)
    return tuple(seen)


def _infer_reverse(types, attrs):
    _reverse_axes(types[0].rank, attrs["axes"])
    return types[0]


_define(
    "array.reverse",
    operands=[Operand("x")],
    attrs=[Attr("axes", "ints")],
    infer=_infer_reverse,
    compute=lambda x, axes: np.flip(x, _reverse_axes(x.ndim, axes)),
    doc="Reverse the order of elements along each of `axes`. TF ReverseV2 / tf.reverse.",
)


# array.shape / array.fill / array.range / array.where. Fill only copies its scalar (like
# broadcast_to), so it is INJECTIVE; the others compute values (from a shape, attributes or a
# condition), so they are not.
def _infer_shape(types, attrs):
    x, out_type = types[0], attrs["out_type"]
    if out_type not in INDEX_DTYPES:
        raise InferenceError(f"out_type must be int32 or int64, got {out_type.name}")
    if x.shape is None:
        raise InferenceError("array.shape needs an operand of known rank, got <unknown>")
    return TensorType((x.rank,), out_type)


_define(
    "array.shape",
    operands=[Operand("x")],
    attrs=[Attr("out_type", "dtype", default=dt.int32)],
    infer=_infer_shape,
    compute=lambda x, out_type: np.array(x.shape, dtype=out_type.numpy),
    injective=False,
    doc="The shape of x as a 1-D tensor. TF Shape / tf.shape.",
)


def _infer_fill(types, attrs):
    value, shape = types[0], attrs["shape"]
    if value.shape is not None and value.rank != 0:
        raise InferenceError(f"value must be a scalar, got shape {_fmt(value.shape)}")
    if any(d < 0 for d in shape):
        raise InferenceError("Fill dimensions must be >= 0")
    return TensorType(shape, value.dtype)


def _compute_fill(value, shape):
    return np.full(shape, value, dtype=value.dtype)


_define(
    "array.fill",
    operands=[Operand("value")],
    attrs=[Attr("shape", "ints")],
    infer=_infer_fill,
    compute=_compute_fill,
    doc="A tensor of `shape` with every element `value`. TF Fill / tf.fill, tf.zeros, tf.ones.",
)

RANGE_DTYPES = (dt.float32, dt.float64, dt.int8, dt.int16, dt.int32, dt.int64,
                dt.uint16, dt.uint32, dt.uint64)


def _range_plan(start, limit, delta, dtype):
    """TF Range: (start, delta, length), with start/limit/delta converted to `dtype` first and
    the length computed in `dtype` (exact for integers, ceil(|(limit - start) / delta|) in the
    float type for floats)."""
    if dtype not in RANGE_DTYPES:
        allowed = ", ".join(d.name for d in RANGE_DTYPES)
        raise InferenceError(f"dtype must be one of {allowed}, got {dtype.name}")
    start, limit, delta = (_value_in(dtype, v, what) for v, what in
                           ((start, "start"), (limit, "limit"), (delta, "delta")))

    def show(v):
        return str(int(v)) if float(v).is_integer() else str(v)

    if delta == 0:
        raise InferenceError("Requires delta != 0")
    if delta > 0 and start > limit:
        raise InferenceError(f"Requires start <= limit when delta > 0: {show(start)}/{show(limit)}")
    if delta < 0 and start < limit:
        raise InferenceError(f"Requires start >= limit when delta < 0: {show(start)}/{show(limit)}")
    if dtype.is_integer:
        span, step = abs(int(limit) - int(start)), abs(int(delta))
        length = -(-span // step)
    else:
        length = np.ceil(np.abs((limit - start) / delta))
        if not np.isfinite(length):
            raise InferenceError(f"Requires ((limit - start) / delta) <= {np.iinfo(np.int64).max}")
        length = int(length)
    return start, delta, length


def _infer_range(types, attrs):
    _, _, length = _range_plan(attrs["start"], attrs["limit"], attrs["delta"], attrs["dtype"])
    return TensorType((length,), attrs["dtype"])


def _compute_range(start, limit, delta, dtype):
    start, delta, length = _range_plan(start, limit, delta, dtype)
    if dtype.is_integer:
        return (int(start) + np.arange(length, dtype=np.int64) * int(delta)).astype(dtype.numpy)
    # TF computes element i as start + T(i) * delta in T (not by repeated addition).
    return start + np.arange(length).astype(dtype.numpy) * delta


_define(
    "array.range",
    attrs=[Attr("start", "float"), Attr("limit", "float"), Attr("delta", "float"),
           Attr("dtype", "dtype", default=dt.int32)],
    infer=_infer_range,
    compute=_compute_range,
    injective=False,
    doc="start, start + delta, ... up to but not including limit. TF Range / tf.range.",
)


def _infer_where(types, attrs):
    x = types[0]
    if x.rank == 0:
        raise InferenceError("WhereOp : Unhandled input dimensions: 0")
    return TensorType((None, x.rank), dt.int64)


_define(
    "array.where",
    operands=[Operand("condition", dt.NUMERIC + (dt.bool_,) + dt.QUANTIZED)],
    infer=_infer_where,
    compute=lambda condition: np.argwhere(condition).astype(np.int64),
    injective=False,
    doc="Coordinates of the true (nonzero) elements, in row-major order, as int64 "
        "[num_true, rank]. TF Where / one-argument tf.where.",
)


# array.matrix_diag_part / array.matrix_diag / array.matrix_set_diag --------------------------
# TF's MatrixDiagPartV3 / MatrixDiagV3 / MatrixSetDiagV3 share one geometry. `k` holds one
# diagonal offset or a (lower, upper) range (0 = main diagonal, > 0 above it, < 0 below it).
# Diagonals are packed as rows, upper first, each in `max_len` slots; `align` says on which
# side a diagonal shorter than max_len sits: "RIGHT_LEFT" right-aligns the superdiagonals
# and left-aligns the subdiagonals (the main diagonal counts as both, so LEFT wins for it).
DIAG_ALIGNS = ("RIGHT_LEFT", "LEFT_RIGHT", "LEFT_LEFT", "RIGHT_RIGHT")


def _diag_range(k):
    if not 1 <= len(k) <= 2:
        raise InferenceError(f"diag_index must be a vector with one or two elements. "
                             f"It has {len(k)} elements.")
    lower, upper = k[0], k[-1]
    if lower > upper:
        raise InferenceError("lower_diag_index is greater than upper_diag_index")
    return lower, upper


def _check_diag_bounds(rows, cols, lower, upper):
    """TF's bounds on the offsets, skipped for unknown dims; offset 0 is always allowed (for
    matrices with no rows or columns)."""
    if rows is None or cols is None:
        return
    for which, d in (("lower", lower), ("upper", upper)):
        if d != 0 and not -rows < d < cols:
            raise InferenceError(f"{which}_diag_index is out of bound.")


def _diag_len(rows, cols, d):
    return min(rows + min(d, 0), cols - max(d, 0))


def _max_diag_len(rows, cols, lower, upper):
    if rows is None or cols is None:
        return None
    return min(rows + min(upper, 0), cols - max(lower, 0))


def _diag_slots(rows, cols, lower, upper, align):
    """Where each diagonal element goes: index arrays (row of the packed diagonals, slot in
    that row, matrix row, matrix column), one entry per element on the diagonals."""
    max_len = _max_diag_len(rows, cols, lower, upper)
    left_super = align in ("LEFT_RIGHT", "LEFT_LEFT")
    left_sub = align in ("RIGHT_LEFT", "LEFT_LEFT")
    parts = []
    for i, d in enumerate(range(upper, lower - 1, -1)):
        n = max(_diag_len(rows, cols, d), 0)
        left = (d >= 0 and left_super) or (d <= 0 and left_sub)
        offset = 0 if left else max_len - n
        p = np.arange(n)
        parts.append((np.full(n, i), p + offset, p + max(-d, 0), p + max(d, 0)))
    return tuple(np.concatenate(a).astype(np.intp) for a in zip(*parts))


def _packed_shape(batch, lower, upper, max_len):
    """Shape of the packed diagonals: one row per diagonal, no diagonal dim for a single one."""
    return tuple(batch) + ((upper - lower + 1,) if lower != upper else ()) + (max_len,)


def _filled(shape, value, dtype: dt.DType):
    return np.full(shape, _value_in(dtype, value, "padding_value"), dtype=dtype.numpy)


def _matrix_diag_part_shape(in_shape, k):
    lower, upper = _diag_range(k)
    if in_shape is None:
        return None
    if len(in_shape) < 2:
        raise InferenceError(f"Shape must be at least rank 2 but is rank {len(in_shape)}")
    rows, cols = in_shape[-2:]
    _check_diag_bounds(rows, cols, lower, upper)
    return _packed_shape(in_shape[:-2], lower, upper, _max_diag_len(rows, cols, lower, upper))


def _infer_matrix_diag_part(types, attrs):
    x = types[0]
    _value_in(x.dtype, attrs["padding_value"], "padding_value")
    return TensorType(_matrix_diag_part_shape(x.shape, attrs["k"]), x.dtype)


def _compute_matrix_diag_part(x, k, padding_value, align):
    shape = _matrix_diag_part_shape(x.shape, k)
    lower, upper = _diag_range(k)
    out = _filled(x.shape[:-2] + (upper - lower + 1, shape[-1]), padding_value,
                  dt.from_numpy(x.dtype))
    i, j, r, c = _diag_slots(*x.shape[-2:], lower, upper, align)
    out[..., i, j] = x[..., r, c]
    return out.reshape(shape)


_DIAG_ATTRS = [Attr("k", "ints", default=(0,)),
               Attr("align", "str", default="RIGHT_LEFT", choices=DIAG_ALIGNS)]

_define(
    "array.matrix_diag_part",
    operands=[Operand("x")],
    attrs=_DIAG_ATTRS + [Attr("padding_value", "float", default=0.0)],
    infer=_infer_matrix_diag_part,
    compute=_compute_matrix_diag_part,
    doc="Diagonal k (or diagonals k[0]..k[1], packed as rows padded with padding_value) of the "
        "matrices in the last two dims. TF MatrixDiagPartV3 / tf.linalg.diag_part.",
)


def _matrix_diag_shape(diag_shape, k, num_rows, num_cols):
    """MatrixDiagV3's shape function: the matrix size from the diagonals' length and offsets,
    unless num_rows / num_cols (-1: derive it) say more."""
    lower, upper = _diag_range(k)
    if diag_shape is None:
        return None
    if len(diag_shape) < 1:
        raise InferenceError("Shape must be at least rank 1 but is rank 0")
    batch = diag_shape[:-1]
    if lower != upper:
        if len(diag_shape) < 2:
            raise InferenceError("Shape must be at least rank 2 but is rank 1")
        num_diags = diag_shape[-2]
        if num_diags is not None and num_diags != upper - lower + 1:
            raise InferenceError("The number of diagonals provided in the input does not match "
                                 "the lower_diag_index and upper_diag_index range.")
        batch = diag_shape[:-2]
    max_len = diag_shape[-1]
    if max_len is None:
        return tuple(batch) + (None if num_rows == -1 else num_rows,
                               None if num_cols == -1 else num_cols)
    min_rows, min_cols = max_len - min(upper, 0), max_len + max(lower, 0)
    if num_rows == -1 and num_cols == -1:
        num_rows = num_cols = max(min_rows, min_cols)
    if num_rows == -1:
        num_rows = min_rows
    elif num_rows < min_rows:
        raise InferenceError("num_rows is too small")
    if num_cols == -1:
        num_cols = min_cols
    elif num_cols < min_cols:
        raise InferenceError("num_cols is too small.")
    if num_rows != min_rows and num_cols != min_cols:
        raise InferenceError(
            f"num_rows and num_cols are not consistent with lower_diag_index, upper_diag_index, "
            f"and the length of the given diagonals.\nnum_rows = {num_rows} != min_num_rows = "
            f"{min_rows}, num_cols = {num_cols} != min_num_cols = {min_cols}")
    return tuple(batch) + (num_rows, num_cols)


def _infer_matrix_diag(types, attrs):
    d = types[0]
    _value_in(d.dtype, attrs["padding_value"], "padding_value")
    return TensorType(_matrix_diag_shape(d.shape, attrs["k"], attrs["num_rows"],
                                         attrs["num_cols"]), d.dtype)


def _compute_matrix_diag(diagonal, k, num_rows, num_cols, padding_value, align):
    shape = _matrix_diag_shape(diagonal.shape, k, num_rows, num_cols)
    lower, upper = _diag_range(k)
    packed = diagonal if lower != upper else diagonal[..., np.newaxis, :]
    out = _filled(shape, padding_value, dt.from_numpy(diagonal.dtype))
    i, j, r, c = _diag_slots(*shape[-2:], lower, upper, align)
    out[..., r, c] = packed[..., i, j]
    return out


_define(
    "array.matrix_diag",
    operands=[Operand("diagonal")],
    attrs=_DIAG_ATTRS + [Attr("num_rows", "int", default=-1), Attr("num_cols", "int", default=-1),
                         Attr("padding_value", "float", default=0.0)],
    infer=_infer_matrix_diag,
    compute=_compute_matrix_diag,
    doc="Matrices (num_rows x num_cols, -1 = smallest that fits) holding `diagonal` on diagonal "
        "k (or k[0]..k[1]) and padding_value elsewhere. TF MatrixDiagV3 / tf.linalg.diag.",
)


def _check_set_diag(in_shape, diag_shape, k):
    lower, upper = _diag_range(k)
    if in_shape is None:
        return
    if len(in_shape) < 2:
        raise InferenceError(f"Shape must be at least rank 2 but is rank {len(in_shape)}")
    rows, cols = in_shape[-2:]
    _check_diag_bounds(rows, cols, lower, upper)
    if diag_shape is None:
        return
    want = _packed_shape(in_shape[:-2], lower, upper, _max_diag_len(rows, cols, lower, upper))
    if len(diag_shape) != len(want) or any(
            a is not None and b is not None and a != b for a, b in zip(diag_shape, want)):
        raise InferenceError(
            f"Either first dimensions of diagonal don't match input.shape[:-2], or "
            f"diagonal.shape[:-1] is not equal to the longests diagonal in range "
            f"[lower_diag_index:upper_diag_index].\nInput shape: {_fmt(in_shape)}\n"
            f"Diagonal shape: {_fmt(diag_shape)}\nExpected diagonal shape: {_fmt(want)}")


def _infer_matrix_set_diag(types, attrs):
    x, d = types
    dtype = same_dtype(types)
    _check_set_diag(x.shape, d.shape, attrs["k"])
    return TensorType(x.shape, dtype)


def _compute_matrix_set_diag(x, diagonal, k, align):
    _check_set_diag(x.shape, diagonal.shape, k)
    lower, upper = _diag_range(k)
    packed = diagonal if lower != upper else diagonal[..., np.newaxis, :]
    out = x.copy()
    i, j, r, c = _diag_slots(*x.shape[-2:], lower, upper, align)
    out[..., r, c] = packed[..., i, j]
    return out


_define(
    "array.matrix_set_diag",
    operands=[Operand("x"), Operand("diagonal")],
    attrs=_DIAG_ATTRS,
    infer=_infer_matrix_set_diag,
    compute=_compute_matrix_set_diag,
    doc="x with diagonal k (or k[0]..k[1]) of its matrices replaced by `diagonal`. "
        "TF MatrixSetDiagV3 / tf.linalg.set_diag.",
)


# array.matrix_band_part ----------------------------------------------------------------------
def _check_band_part(in_shape, num_lower, num_upper):
    if in_shape is None:
        return
    if len(in_shape) < 2:
        raise InferenceError(f"input must be at least 2-dim, received shape: {_fmt(in_shape)}")
    rows, cols = in_shape[-2:]
    if rows is not None and num_lower > rows:
        raise InferenceError(f"num_lower must be negative or less or equal to number of rows "
                             f"({rows}) got: {num_lower}")
    if cols is not None and num_upper > cols:
        raise InferenceError(f"num_upper must be negative or less or equal to number of columns "
                             f"({cols}) got: {num_upper}")


def _infer_band_part(types, attrs):
    _check_band_part(types[0].shape, attrs["num_lower"], attrs["num_upper"])
    return types[0]


def _compute_band_part(x, num_lower, num_upper):
    _check_band_part(x.shape, num_lower, num_upper)
    below = np.subtract.outer(np.arange(x.shape[-2]), np.arange(x.shape[-1]))  # row - col
    keep = ((num_lower < 0) | (below <= num_lower)) & ((num_upper < 0) | (-below <= num_upper))
    return np.where(keep, x, _filled((), 0, dt.from_numpy(x.dtype)))


_define(
    "array.matrix_band_part",
    operands=[Operand("x")],
    attrs=[Attr("num_lower", "int"), Attr("num_upper", "int")],
    infer=_infer_band_part,
    compute=_compute_band_part,
    doc="Keep num_lower subdiagonals and num_upper superdiagonals (negative: all) of the "
        "matrices in the last two dims; zero the rest. TF MatrixBandPart / tf.linalg.band_part.",
)


# array.diag / array.diag_part ----------------------------------------------------------------
def _infer_diag(types, attrs):
    x = types[0]
    if x.shape is None:
        return TensorType(None, x.dtype)
    if not x.shape:
        raise InferenceError("Shape must be at least rank 1 but is rank 0")
    return TensorType(x.shape + x.shape, x.dtype)


def _compute_diag(x):
    n = x.size
    out = _filled((n, n), 0, dt.from_numpy(x.dtype))
    out[np.arange(n), np.arange(n)] = x.reshape(-1)
    return out.reshape(x.shape + x.shape)


_define(
    "array.diag",
    operands=[Operand("diagonal")],
    infer=_infer_diag,
    compute=_compute_diag,
    doc="The tensor of rank 2k with `diagonal` (rank k) on its diagonal: out[i..., i...] = "
        "diagonal[i...], zero elsewhere. TF Diag / tf.diag.",
)


def _diag_part_shape(in_shape):
    if in_shape is None:
        return None
    rank = len(in_shape)
    if rank == 0 or rank % 2:
        raise InferenceError(f"Input must have even and non-zero rank, input rank is {rank}")
    half = rank // 2
    out = []
    for a, b in zip(in_shape[:half], in_shape[half:]):
        if a is not None and b is not None and a != b:
            raise InferenceError(f"Dimensions must be equal, but are {a} and {b}")
        out.append(b if a is None else a)
    return tuple(out)


def _compute_diag_part(x):
    shape = _diag_part_shape(x.shape)
    n = math.prod(shape)
    return x.reshape(n, n)[np.arange(n), np.arange(n)].reshape(shape)


_define(
    "array.diag_part",
    operands=[Operand("x")],
    infer=lambda types, attrs: TensorType(_diag_part_shape(types[0].shape), types[0].dtype),
    compute=_compute_diag_part,
    doc="The inverse of array.diag: out[i...] = x[i..., i...] for x of rank 2k. "
        "TF DiagPart / tf.diag_part.",
)
