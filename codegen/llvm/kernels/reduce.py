"""Reductions (math.reduce_*) and argmax/argmin. (math.add_n is an elementwise op:
elementwise.py evaluates it, fusable with its neighbours.)

A reduction's input dims are first simplified: size-1 dims dropped, adjacent reduced dims
merged, adjacent kept dims merged. Then, by the innermost dims:

  - [kept..., n] (innermost reduced): each output reduces its rows of n contiguous elements
    one after the other (reduce_row: U vector accumulators of VL lanes, a tree of shuffles,
    a scalar tail), with the totals carried across the other reduced dims;
  - [..., reduced, K, n]: totals for a chunk of K outputs live in a stack buffer while the
    reduced dims before K are walked in memory order, each row of n reduced by reduce_row;
  - [..., reduced, K] (innermost kept): a chunk of the output row (64 KB, in L2)
    accumulates whole input rows, an elementwise loop LLVM vectorizes.

Float sums: float32 and float16 values accumulate in float32 lanes, which are flushed into
float64 totals (every SUM_CHUNK elements of a row, or every ROW_BLOCK rows in the
kept-innermost shape). The result is at least as accurate as numpy's float32 sum (pairwise
along the innermost axis, sequential along outer ones), not bitwise equal to it: they differ
by a few float32 ulps of sum(|x|) (tests: rtol 1e-5 plus 1e-6 * sum(|x|) for cancelling
values, and a 1e-6 bound against the exact float64 sum). float64 sums accumulate in float64
lanes. Products accumulate in the compute type (float32 for float16) in another order than
numpy, so they agree to rounding (only a product that overflows in one order but not the
other differs more). Integer sums and products wrap in the dtype as the interpreter's;
integer means sum in 64 bits and divide rounding toward zero; max/min propagate NaN;
empty reductions give the interpreter's identities (computed by the op's reference
semantics at compile time); reducing one element copies it.

argmax/argmin keep, per vector lane (innermost axis) or per output (outer axis), the best
value and its first index, NaN never winning (the interpreter's rule); an empty axis with a
non-empty result fails the op.

Output rows (or chunks of the kept innermost dim) are split across threads when the input is
large; a reduction to a few outputs stays on one thread.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Callable

import numpy as np
from llvmlite import ir

from tfc.ir import dtypes as dt
from tfc.ir.core import Operation
from tfc.ir.opdef import get_op

from .. import target
from ..emitter import kernel
from ..loops import for_range, row_major_strides
from ..types import F16, F32, F64, I8, I32, I64, i64, storage_type
from .array import (add, as_i64, at, carried_loop, carried_nest, const_value, emit_copy,
                    itemsize, lin, mul, nest, par_nest, scratch, SCRATCH_BYTES)

U = 4                     # vector accumulators per row reduction
SUM_CHUNK = 2048          # float32 lanes flush to the float64 total every this many elements
ROW_BLOCK = 64            # ... float32 row sums flush into float64 totals every this many rows


def vector_bytes() -> int:
    return 4 * target.vector_width_f32()


def vec(ty: ir.Type, n: int) -> ir.Type:
    return ty if n == 1 else ir.VectorType(ty, n)


def splat(b: ir.IRBuilder, value: ir.Constant, n: int) -> ir.Value:
    if n == 1:
        return value
    return ir.Constant(ir.VectorType(value.type, n), [value] * n)


def _is_float(ty: ir.Type) -> bool:
    return isinstance(ty, (ir.HalfType, ir.FloatType, ir.DoubleType))


# The reductions --------------------------------------------------------------------------------
@dataclass
class Reducer:
    """How one reduction accumulates: `acc` is the lane type, `convert(b, v, n)` turns n loaded
    elements (storage type) into acc lanes, `combine(b, a, x)` works on scalars and vectors;
    `total` is the type row results are combined in (float64 for chunked float sums), with
    `flush(b, total, partial)` adding an acc scalar to it; `finish(b, total)` gives the
    stored result."""

    dtype: dt.DType
    acc: ir.Type
    identity: object
    combine: Callable
    convert: Callable
    total: ir.Type
    flush: Callable
    finish: Callable
    chunk: int | None = None
    trivial: bool = False      # finish is the identity and total the storage type

    def identity_value(self, n: int = 1) -> ir.Value:
        return splat(None, ir.Constant(self.acc, self.identity), n)

    def total_identity(self) -> ir.Value:
        if self.total is self.acc:
            return ir.Constant(self.acc, self.identity)
        return ir.Constant(self.total, 0.0)


def _convert_to(acc: ir.Type, dtype: dt.DType):
    store = storage_type(dtype)

    def convert(b, v, n):
        target_ty = vec(acc, n)
        if acc == store:
            return v
        if _is_float(acc):
            return b.fpext(v, target_ty)
        if acc.width > store.width:
            return (b.zext if dtype.kind in ("uint", "bool") else b.sext)(v, target_ty)
        return b.trunc(v, target_ty)
    return convert


def _float_minmax(is_max: bool):
    def combine(b, a, x):
        # NaN in either wins (NaN propagates), otherwise the larger (smaller).
        better = b.fcmp_ordered(">" if is_max else "<", x, a)
        take = b.or_(better, b.fcmp_unordered("uno", x, x))
        return b.select(take, x, a)
    return combine


def _int_minmax(is_max: bool, signed: bool):
    def combine(b, a, x):
        cmp = (b.icmp_signed if signed else b.icmp_unsigned)(">" if is_max else "<", x, a)
        return b.select(cmp, x, a)
    return combine


def make_reducer(name: str, dtype: dt.DType, count: int) -> Reducer:
    """The Reducer of math.`name` on `dtype` reducing `count` elements per output."""
    r = _make_reducer(name, dtype, count)
    probe = ir.IRBuilder(ir.Function(ir.Module(), ir.FunctionType(ir.VoidType(), []), "probe")
                         .append_basic_block())
    dummy = ir.Constant(r.total, 0)
    r.trivial = r.total == storage_type(dtype) and r.finish(probe, dummy) is dummy
    return r


def _make_reducer(name: str, dtype: dt.DType, count: int) -> Reducer:
    store = storage_type(dtype)
    is_float = dtype.is_floating
    signed = dtype.kind == "int"
    kind = name.split(".")[1]

    def narrow(b, v, ty=store):          # a float total to the storage type
        if v.type == ty:
            return v
        if v.type == F64 and ty == F16:
            v = b.fptrunc(v, F32)
        return b.fptrunc(v, ty) if v.type != ty else v

    if kind in ("reduce_sum", "reduce_mean"):
        if is_float:
            acc = F64 if dtype == dt.float64 else F32
            total = F64
            combine = lambda b, a, x: b.fadd(a, x)
            flush = ((lambda b, t, p: b.fadd(t, p)) if acc == F64 else
                     (lambda b, t, p: b.fadd(t, b.fpext(p, F64))))
            if kind == "reduce_sum":
                finish = lambda b, t: narrow(b, t)
            elif dtype == dt.float16:
                # The float16 sum is rounded before the division, as the interpreter does.
                finish = lambda b, t: b.fptrunc(
                    b.fdiv(b.fpext(narrow(b, t), F32), ir.Constant(F32, float(np.float32(count)))), F16)
            else:
                cnt = float(dtype.numpy.type(count))
                ty = F32 if dtype == dt.float32 else F64
                finish = lambda b, t: b.fdiv(narrow(b, t, ty), ir.Constant(ty, cnt))
            return Reducer(dtype, acc, 0.0, combine, _convert_to(acc, dtype), total, flush, finish,
                           chunk=SUM_CHUNK if acc == F32 else None)
        if kind == "reduce_mean":
            # 64-bit sum (wrapping for int64/uint64), division rounding toward zero.
            combine = lambda b, a, x: b.add(a, x)

            def finish(b, t):
                q = (b.sdiv if signed else b.udiv)(t, i64(max(count, 1)))
                return b.trunc(q, store) if store.width < 64 else q
            return Reducer(dtype, I64, 0, combine, _convert_to(I64, dtype), I64, combine, finish)
        combine = lambda b, a, x: b.add(a, x)
        return Reducer(dtype, store, 0, combine, _convert_to(store, dtype), store, combine,
                       lambda b, t: t)
    if kind == "reduce_prod":
        if is_float:
            acc = F64 if dtype == dt.float64 else F32
            combine = lambda b, a, x: b.fmul(a, x)
            return Reducer(dtype, acc, 1.0, combine, _convert_to(acc, dtype), acc, combine,
                           lambda b, t: narrow(b, t))
        combine = lambda b, a, x: b.mul(a, x)
        return Reducer(dtype, store, 1, combine, _convert_to(store, dtype), store, combine,
                       lambda b, t: t)
    if kind in ("reduce_max", "reduce_min"):
        is_max = kind == "reduce_max"
        if is_float:
            acc = F64 if dtype == dt.float64 else F32
            combine = _float_minmax(is_max)
            identity = -math.inf if is_max else math.inf
            return Reducer(dtype, acc, identity, combine, _convert_to(acc, dtype), acc, combine,
                           lambda b, t: narrow(b, t))
        info = np.iinfo(dtype.numpy)
        lowest, highest = int(info.min), int(info.max)
        identity = lowest if is_max else highest
        identity = int(np.array(identity, dtype.numpy).view(f"i{store.width // 8}"))
        combine = _int_minmax(is_max, signed)
        return Reducer(dtype, store, identity, combine, _convert_to(store, dtype), store, combine,
                       lambda b, t: t)
    if kind in ("reduce_any", "reduce_all"):
        # Booleans are bytes 0/1: or / and of the bytes.
        combine = (lambda b, a, x: b.or_(a, x)) if kind == "reduce_any" else (
            lambda b, a, x: b.and_(a, x))
        return Reducer(dtype, I8, 0 if kind == "reduce_any" else 1, combine,
                       _convert_to(I8, dtype), I8, combine, lambda b, t: t)
    raise KeyError(name)


# Vector helpers -------------------------------------------------------------------------------------
def load_vec(b: ir.IRBuilder, ptr: ir.Value, off, n: int, dtype: dt.DType) -> ir.Value:
    """n consecutive elements at ptr[off] (one scalar if n == 1)."""
    p = at(b, ptr, off)
    if n == 1:
        return b.load(p)
    vp = b.bitcast(p, ir.VectorType(storage_type(dtype), n).as_pointer())
    return b.load(vp, align=itemsize(dtype))


def hreduce(b: ir.IRBuilder, combine, vectors: list[ir.Value]) -> ir.Value:
    """Combine vectors pairwise, then the lanes of the result by halving: a scalar."""
    while len(vectors) > 1:
        nxt = [combine(b, vectors[i], vectors[i + 1]) for i in range(0, len(vectors) - 1, 2)]
        if len(vectors) % 2:
            nxt.append(vectors[-1])
        vectors = nxt
    v = vectors[0]
    if not isinstance(v.type, ir.VectorType):
        return v
    n = v.type.count
    while n > 1:
        half = n // 2
        lo = b.shuffle_vector(v, v, ir.Constant(ir.VectorType(I32, half), list(range(half))))
        hi = b.shuffle_vector(v, v, ir.Constant(ir.VectorType(I32, half), list(range(half, n))))
        v = combine(b, lo, hi)
        n = half
    return b.extract_element(v, ir.Constant(I32, 0)) if isinstance(v.type, ir.VectorType) else v


def lanes(dtype: dt.DType, *types: ir.Type) -> int:
    widest = max([itemsize(dtype)] + [t.width // 8 if isinstance(t, ir.IntType) else
                                      {F16: 2, F32: 4, F64: 8}[t] for t in types])
    return max(1, vector_bytes() // widest)


def reduce_row(b: ir.IRBuilder, r: Reducer, ptr: ir.Value, base, n: int, total: ir.Value) -> ir.Value:
    """total flushed with the reduction of ptr[base : base + n] (n > 0, contiguous)."""
    dtype = r.dtype
    VL = lanes(dtype, r.acc)
    step = VL * U

    def vector_steps(start, count_steps, vaccs):
        """vaccs combined with count_steps steps of U vectors from base + start."""
        if count_steps == 0:
            return vaccs

        def body(i, accs):
            off = add(b, base, i)
            return [r.combine(b, a, r.convert(b, load_vec(b, ptr, add(b, off, u * VL), VL, dtype), VL))
                    for u, a in enumerate(accs)]
        return carried_loop(b, start, add(b, start, count_steps * step), vaccs, body, step=step,
                            name="vred")

    def scalar_steps(start, count, acc):
        if count == 0:
            return acc

        def body(i, accs):
            x = r.convert(b, b.load(b.gep(ptr, [add(b, base, i)])), 1)
            return [r.combine(b, accs[0], x)]
        return carried_loop(b, start, add(b, start, count), [acc], body, name="sred")[0]

    if n < VL:
        return r.flush(b, total, scalar_steps(0, n, r.identity_value()))
    start = 0
    if r.chunk and n >= 2 * r.chunk:
        per_chunk = r.chunk // step
        chunks = n // (per_chunk * step)

        def chunk_body(c, accs):
            vaccs = vector_steps(b.mul(c, i64(per_chunk * step)), per_chunk,
                                 [r.identity_value(VL)] * U)
            return [r.flush(b, accs[0], hreduce(b, r.combine, vaccs))]
        (total,) = carried_loop(b, 0, chunks, [total], chunk_body, name="chunk")
        start = chunks * per_chunk * step
    rest = n - start
    vaccs = vector_steps(start, rest // step, [r.identity_value(VL)] * U)
    pos = start + rest // step * step
    for u in range((n - pos) // VL):
        v = r.convert(b, load_vec(b, ptr, add(b, base, pos), VL, dtype), VL)
        vaccs[u] = r.combine(b, vaccs[u], v)
        pos += VL
    tail = scalar_steps(pos, n - pos, r.identity_value())
    partial = r.combine(b, hreduce(b, r.combine, vaccs), tail)
    return r.flush(b, total, partial)


# Layout ----------------------------------------------------------------------------------------------
def reduction_groups(shape, reduced: set[int]) -> list[tuple[int, bool]]:
    """(size, is_reduced) of the input dims with size-1 dims dropped and adjacent dims of the
    same kind merged."""
    groups: list[list] = []
    for i, d in enumerate(shape):
        if d == 1:
            continue
        red = i in reduced
        if groups and groups[-1][1] == red:
            groups[-1][0] *= d
        else:
            groups.append([d, red])
    return [tuple(g) for g in groups]


def _store_result(b, r: Reducer, total, ptr, off):
    b.store(r.finish(b, total), at(b, ptr, off))


def _chunk(bb, c, C: int, K: int):
    """(first index, length) of chunk c of size C over K outputs (the last chunk is shorter)."""
    k0 = mul(bb, c, C)
    if C >= K:
        return k0, i64(K)
    end = bb.add(as_i64(k0), i64(C))
    return k0, bb.sub(bb.select(bb.icmp_signed("<", end, i64(K)), end, i64(K)), as_i64(k0))


@kernel("math.reduce_sum", "math.reduce_mean", "math.reduce_max", "math.reduce_min",
        "math.reduce_prod", "math.reduce_any", "math.reduce_all")
def _reduce(k, op: Operation) -> None:
    x, out = op.operands[0], op.results[0]
    b = k.builder
    shape = x.type.shape
    dtype = x.type.dtype
    rank = len(shape)
    axes = op.attributes.get("axes")
    reduced = set(range(rank)) if axes is None else {a % rank for a in axes}
    n_out = out.type.num_elements
    if n_out == 0:
        return
    count = math.prod(shape[i] for i in reduced)
    if count == 0:
        # Every output is the empty reduction's identity: ask the reference semantics for it.
        empty = get_op(op.name).compute(np.zeros(shape, dtype.numpy), **op.attributes)
        value = const_value(dtype, np.asarray(empty).reshape(-1)[0])
        dp = k.ptr(out)
        with for_range(b, 0, n_out, name="ident") as i:
            b.store(value, b.gep(dp, [i]))
        return
    if count == 1:
        # Reducing one element gives that element for every reduction here.
        emit_copy(b, dtype, [n_out], k.ptr(x), [1], k.ptr(out), [1])
        return
    r = make_reducer(op.name, dtype, count)
    groups = reduction_groups(shape, reduced)
    sizes = [g[0] for g in groups]
    in_strides = row_major_strides(sizes)
    kept = [i for i, g in enumerate(groups) if not g[1]]
    red = [i for i, g in enumerate(groups) if g[1]]
    out_strides = dict(zip(kept, row_major_strides([sizes[i] for i in kept])))
    work = x.type.num_elements * itemsize(dtype)
    xp, op_ = k.ptr(x), k.ptr(out)

    if groups[-1][1] and len(groups) >= 3 and not groups[-2][1]:
        # [..., reduced, K, n]: rows of n reduced into totals for a chunk of K outputs while
        # the reduced dims before K are walked in memory order (reads stay sequential).
        n, K = sizes[-1], sizes[-2]
        kidx = len(groups) - 2
        outer_kept = [i for i in kept if i != kidx]
        mid_red = red[:-1]
        C = min(K, SCRATCH_BYTES // _bytes(r.total))
        chunks = -(-K // C)

        def body(bb, ivs, values):
            xv, ov = values
            *okivs, c = ivs
            base = lin(bb, okivs, [in_strides[i] for i in outer_kept])
            dst = lin(bb, okivs, [out_strides[i] for i in outer_kept])
            k0, length = _chunk(bb, c, C, K)
            totals = scratch(k, bb, 0, r.total)
            with for_range(bb, 0, length, name="init") as j:
                bb.store(r.total_identity(), bb.gep(totals, [j]))
            with nest(bb, [sizes[i] for i in mid_red], name="mrow") as rivs:
                start = lin(bb, rivs, [in_strides[i] for i in mid_red], add(bb, base, mul(bb, k0, n)))
                with for_range(bb, 0, length, name="k") as j:
                    p = bb.gep(totals, [j])
                    row = add(bb, start, bb.mul(j, i64(n)))
                    bb.store(reduce_row(bb, r, xv, row, n, bb.load(p)), p)
            row_out = at(bb, ov, add(bb, dst, k0))
            with for_range(bb, 0, length, name="fin") as j:
                bb.store(r.finish(bb, bb.load(bb.gep(totals, [j]))), bb.gep(row_out, [j]))
        par_nest(b, [sizes[i] for i in outer_kept] + [chunks], work, [xp, op_], body,
                 "reduce_rows")
        return

    if groups[-1][1]:
        # Innermost dim reduced, no reduced dim before the kept ones: every output reduces
        # rows of n contiguous elements, one after the other.
        n = sizes[-1]
        outer_red = red[:-1]

        def body(bb, ivs, values):
            xv, ov = values
            base = lin(bb, ivs, [in_strides[i] for i in kept])
            dst = lin(bb, ivs, [out_strides[i] for i in kept])
            def row(rivs, totals):
                start = lin(bb, rivs, [in_strides[i] for i in outer_red], base)
                return [reduce_row(bb, r, xv, start, n, totals[0])]
            (total,) = carried_nest(bb, [sizes[i] for i in outer_red], [r.total_identity()], row,
                                    name="rrow")
            _store_result(bb, r, total, ov, dst)
        par_nest(b, [sizes[i] for i in kept], work, [xp, op_], body, "reduce_rows")
        return

    # Innermost dim kept: accumulate whole input rows into a chunk of the output row.
    K = sizes[-1]
    outer_kept = kept[:-1]
    direct = r.total == storage_type(dtype) and r.total == r.acc and r.trivial
    two_level = r.total != r.acc             # float32 lanes flushed into a float64 total
    C = min(K, SCRATCH_BYTES // max(_bytes(r.acc), _bytes(r.total)))
    chunks = -(-K // C)
    red_sizes = [sizes[i] for i in red]
    red_strides = [in_strides[i] for i in red]

    def body(bb, ivs, values):
        xv, ov = values
        *okivs, c = ivs
        base = lin(bb, okivs, [in_strides[i] for i in outer_kept])
        dst = lin(bb, okivs, [out_strides[i] for i in outer_kept])
        k0, length = _chunk(bb, c, C, K)
        row_out = at(bb, ov, add(bb, dst, k0))
        acc = row_out if direct else scratch(k, bb, 0, r.acc)
        total = scratch(k, bb, 1, r.total) if two_level else acc

        def init(buf, ty):
            with for_range(bb, 0, length, name="init") as j:
                bb.store(ir.Constant(ty, r.identity if ty == r.acc else 0.0), bb.gep(buf, [j]))

        def flush_rows():
            with for_range(bb, 0, length, name="flush") as j:
                p, q = bb.gep(total, [j]), bb.gep(acc, [j])
                bb.store(r.flush(bb, bb.load(p), bb.load(q)), p)
                bb.store(r.identity_value(), q)

        init(acc, r.acc)
        if two_level:
            init(total, r.total)

        def row(rivs, values):
            start = at(bb, xv, add(bb, lin(bb, rivs, red_strides, base), k0))
            with for_range(bb, 0, length, name="acc") as j:
                p = bb.gep(acc, [j])
                v = r.convert(bb, bb.load(bb.gep(start, [j])), 1)
                bb.store(r.combine(bb, bb.load(p), v), p)
            if not two_level:
                return values
            # Every ROW_BLOCK rows, the float32 row sums move into the float64 totals.
            n = bb.add(values[0], i64(1))
            full = bb.icmp_signed("==", n, i64(ROW_BLOCK))
            with bb.if_then(full):
                flush_rows()
            return [bb.select(full, i64(0), n)]
        carried_nest(bb, red_sizes, [i64(0)], row, name="racc")
        if two_level:
            flush_rows()
        if not direct:
            with for_range(bb, 0, length, name="fin") as j:
                bb.store(r.finish(bb, bb.load(bb.gep(total, [j]))), bb.gep(row_out, [j]))
    par_nest(b, [sizes[i] for i in outer_kept] + [chunks], work, [xp, op_], body, "reduce_cols")


def _bytes(ty: ir.Type) -> int:
    return ty.width // 8 if isinstance(ty, ir.IntType) else {F16: 2, F32: 4, F64: 8}[ty]


# argmax / argmin -------------------------------------------------------------------------------------
@kernel("math.argmax", "math.argmin")
def _arg(k, op: Operation) -> None:
    x, out = op.operands[0], op.results[0]
    b = k.builder
    shape = x.type.shape
    dtype = x.type.dtype
    axis = op.attributes["axis"] % len(shape)
    O, R, I = math.prod(shape[:axis]), shape[axis], math.prod(shape[axis + 1:])
    n_out = out.type.num_elements
    out_ty = storage_type(out.type.dtype)
    find_max = op.name == "math.argmax"
    if R == 0:
        if n_out:
            k.fail_if(ir.Constant(ir.IntType(1), 1))    # "Reduction axis ... is empty"
        return
    if n_out == 0:
        return
    is_float = dtype.is_floating
    val_ty = (F64 if dtype == dt.float64 else F32) if is_float else storage_type(dtype)
    if is_float:
        init = ir.Constant(val_ty, -math.inf if find_max else math.inf)
        better = lambda bb, v, best: bb.fcmp_ordered(">" if find_max else "<", v, best)
        same = lambda bb, v, best: bb.fcmp_ordered("==", v, best)
    else:
        signed = dtype.kind == "int"
        if signed:
            info = np.iinfo(dtype.numpy)
            init = ir.Constant(val_ty, int(info.min if find_max else info.max))
        else:                                      # unsigned and bool (bytes 0/1)
            init = ir.Constant(val_ty, 0 if find_max else -1)
        cmp = (lambda bb: bb.icmp_signed) if signed else (lambda bb: bb.icmp_unsigned)
        better = lambda bb, v, best: cmp(bb)(">" if find_max else "<", v, best)
        same = lambda bb, v, best: bb.icmp_unsigned("==", v, best)
    idx_ty = I32 if R < 2 ** 31 else I64
    convert = _convert_to(val_ty, dtype)

    def to_out(bb, idx):
        if idx.type == out_ty:
            return idx
        return bb.trunc(idx, out_ty) if out_ty.width < idx.type.width else bb.sext(idx, out_ty)

    work = x.type.num_elements * itemsize(dtype)
    if I == 1:
        VL = lanes(dtype, val_ty, idx_ty)

        def body(bb, ivs, values):
            xv, ov = values
            (o,) = ivs
            base = mul(bb, o, R)
            best, bi = init, ir.Constant(idx_ty, 0)
            start = 0
            if R >= 2 * VL and VL > 1:
                steps = R // VL
                bv, iv = carried_loop(bb, 0, steps * VL,
                                      [splat(bb, init, VL), ir.Constant(ir.VectorType(idx_ty, VL), None)],
                                      vbody_splat(bb, xv, base, VL, dtype, convert, better, idx_ty),
                                      step=VL, name="argv")
                for lane in range(VL):
                    lv = bb.extract_element(bv, ir.Constant(I32, lane))
                    li = bb.extract_element(iv, ir.Constant(I32, lane))
                    if lane == 0:
                        best, bi = lv, li
                        continue
                    take = bb.or_(better(bb, lv, best),
                                  bb.and_(same(bb, lv, best), bb.icmp_signed("<", li, bi)))
                    best, bi = bb.select(take, lv, best), bb.select(take, li, bi)
                start = steps * VL

            def sbody(i, accs):
                bv, iv = accs
                v = convert(bb, bb.load(bb.gep(xv, [add(bb, base, i)])), 1)
                upd = better(bb, v, bv)
                ii = bb.trunc(i, idx_ty) if idx_ty != I64 else i
                return [bb.select(upd, v, bv), bb.select(upd, ii, iv)]
            if start < R:
                best, bi = carried_loop(bb, start, R, [best, bi], sbody, name="args")
            bb.store(to_out(bb, bi), at(bb, ov, o))
        par_nest(b, [O], work, [k.ptr(x), k.ptr(out)], body, "arg_rows")
        return

    # Reducing an outer axis: running best values and their indices for a chunk of the
    # output row (both in L1), then the indices are written out.
    C = min(I, SCRATCH_BYTES // max(_bytes(val_ty), _bytes(idx_ty)))
    chunks = -(-I // C)

    def body(bb, ivs, values):
        xv, ov = values
        o, c = ivs
        k0, length = _chunk(bb, c, C, I)
        row_out = at(bb, ov, add(bb, mul(bb, o, I), k0))
        best = scratch(k, bb, 0, val_ty)
        where = scratch(k, bb, 1, idx_ty)
        with for_range(bb, 0, length, name="init") as j:
            bb.store(init, bb.gep(best, [j]))
            bb.store(ir.Constant(idx_ty, 0), bb.gep(where, [j]))
        with for_range(bb, 0, R, name="r") as rr:
            row = at(bb, xv, add(bb, add(bb, mul(bb, o, R * I), bb.mul(rr, i64(I))), k0))
            r_idx = bb.trunc(rr, idx_ty) if idx_ty != I64 else rr
            with for_range(bb, 0, length, name="j") as j:
                pb, pi = bb.gep(best, [j]), bb.gep(where, [j])
                v = convert(bb, bb.load(bb.gep(row, [j])), 1)
                cur = bb.load(pb)
                upd = better(bb, v, cur)
                bb.store(bb.select(upd, v, cur), pb)
                bb.store(bb.select(upd, r_idx, bb.load(pi)), pi)
        with for_range(bb, 0, length, name="out") as j:
            bb.store(to_out(bb, bb.load(bb.gep(where, [j]))), bb.gep(row_out, [j]))
    par_nest(b, [O, chunks], work, [k.ptr(x), k.ptr(out)], body, "arg_cols")


def vbody_splat(bb, xv, base, VL, dtype, convert, better, idx_ty):
    """The vector step of a row argmax/argmin: lanes keep their best value and its index."""
    iota = ir.Constant(ir.VectorType(idx_ty, VL), list(range(VL)))
    vty = ir.VectorType(idx_ty, VL)
    zeros = ir.Constant(ir.VectorType(I32, VL), [0] * VL)

    def body(i, accs):
        bv, iv = accs
        v = convert(bb, load_vec(bb, xv, add(bb, base, i), VL, dtype), VL)
        upd = better(bb, v, bv)
        scalar = bb.trunc(i, idx_ty) if idx_ty != I64 else i
        one = bb.insert_element(ir.Constant(vty, None), scalar, ir.Constant(I32, 0))
        pos = bb.add(iota, bb.shuffle_vector(one, ir.Constant(vty, None), zeros))
        return [bb.select(upd, v, bv), bb.select(upd, pos, iv)]
    return body
