"""Data-movement kernels: transposes, slices, joins, pads, gathers and tensor creation.

Nearly every op here is a *strided copy*: over a box of `dims`, element i of the destination
is element `src_off + sum(i_d * src_stride_d)` of the source, offsets and strides known at
compile time (an op's attributes and static shapes fully determine its index mapping).
`emit_copy` compiles one such box: it drops size-1 dims and merges dims that both sides walk
contiguously, then

  - copies contiguous runs with llvm.memcpy (slices, pieces of a concat, tiles);
  - for a transpose (the destination's contiguous dim is strided in the source, and another
    dim is contiguous in the source), tiles those two dims: a tile is V vector loads of
    source rows, an in-register shuffle transpose and V vector stores of destination rows
    (a tile row is a cache line for 4- and 8-byte types; 1- and 2-byte types do several
    16 x 16 tiles per cache line), so reads and writes are both contiguous;
  - otherwise emits a loop nest whose innermost loop has constant strides (a broadcast reads
    with stride 0, a reverse with stride -1), which LLVM vectorizes.

No division or modulo ever appears in a loop: all index arithmetic is induction variable
times a constant stride. Copies moving more than `PARALLEL_BYTES` split their outermost loop
over `THREADS` threads (parallel.emit_parallel_range).

array.where has no kernel: its result shape depends on the data, which static-shape code
cannot produce.
"""

from __future__ import annotations

import contextlib
import math
import os
from typing import Callable, Iterator, Sequence

import numpy as np
from llvmlite import ir

from tfc.ir import dtypes as dt
from tfc.ir.core import Operation
from tfc.ir.ops import array as array_ops

from ..emitter import kernel
from ..loops import for_range, row_major_strides
from ..parallel import emit_parallel_range
from ..types import I1, I8, I8P, I64, VOID, i64, storage_type

THREADS = max(1, min(os.cpu_count() or 1, 16))
#: Data moved (read + written) below which a kernel stays on one thread: creating and joining
#: a thread costs ~20-50 us, the time to move about 1 MB.
PARALLEL_BYTES = 2 << 20
#: Tiled transposes sweep the a-tiles over blocks of this many b-tiles of source rows.
TILE_BLOCK = 16


# Small emission helpers -------------------------------------------------------------------------
def itemsize(dtype: dt.DType) -> int:
    return dtype.numpy.itemsize


def as_i64(x) -> ir.Value:
    return x if isinstance(x, ir.Value) else i64(x)


def add(b: ir.IRBuilder, x, y):
    """x + y for ints and/or i64 values (folded when both are ints)."""
    if isinstance(x, int) and isinstance(y, int):
        return x + y
    if isinstance(x, int):
        x, y = y, x
    if isinstance(y, int):
        return x if y == 0 else b.add(x, i64(y))
    return b.add(x, y)


def sub(b: ir.IRBuilder, x, y):
    if isinstance(x, int) and isinstance(y, int):
        return x - y
    return b.sub(as_i64(x), as_i64(y))


def mul(b: ir.IRBuilder, x, s: int):
    if isinstance(x, int):
        return x * s
    if s == 0:
        return 0
    return x if s == 1 else b.mul(x, i64(s))


def lin(b: ir.IRBuilder, ivs: Sequence, strides: Sequence[int], base=0):
    """base + sum(iv * stride)."""
    total = base
    for iv, s in zip(ivs, strides):
        total = add(b, total, mul(b, iv, s))
    return total


def at(b: ir.IRBuilder, ptr: ir.Value, off) -> ir.Value:
    """&ptr[off]."""
    if isinstance(off, int) and off == 0:
        return ptr
    return b.gep(ptr, [as_i64(off)])


def declare(module: ir.Module, name: str, fnty: ir.FunctionType) -> ir.Function:
    existing = module.globals.get(name)
    return existing if existing is not None else ir.Function(module, fnty, name)


def memcpy(b: ir.IRBuilder, dst: ir.Value, src: ir.Value, nbytes) -> None:
    if isinstance(nbytes, int) and nbytes <= 0:
        return
    fn = declare(b.module, "llvm.memcpy.p0i8.p0i8.i64", ir.FunctionType(VOID, [I8P, I8P, I64, I1]))
    b.call(fn, [b.bitcast(dst, I8P), b.bitcast(src, I8P), as_i64(nbytes), ir.Constant(I1, 0)])


def memset(b: ir.IRBuilder, dst: ir.Value, byte: int, nbytes) -> None:
    if isinstance(nbytes, int) and nbytes <= 0:
        return
    fn = declare(b.module, "llvm.memset.p0i8.i64", ir.FunctionType(VOID, [I8P, I8, I64, I1]))
    b.call(fn, [b.bitcast(dst, I8P), ir.Constant(I8, byte), as_i64(nbytes), ir.Constant(I1, 0)])


SCRATCH_BYTES = 65536


def scratch(k, b: ir.IRBuilder, slot: int, ty: ir.Type) -> ir.Value:
    """A `SCRATCH_BYTES` stack buffer (64-byte aligned) of the function `b` is emitting into,
    as a pointer to `ty`. There is one buffer per (function, slot), allocated once in the
    function's entry block and shared by all its kernels (kernels run one after the other),
    so a function with many kernels does not grow its stack per kernel. In an outlined
    parallel body the buffer is that body's (one per thread)."""
    fn = b.function
    buffers = fn.__dict__.setdefault("_tfc_scratch", {})
    if slot not in buffers:
        arr = ir.ArrayType(I8, SCRATCH_BYTES)
        if fn is k.builder.function:
            raw = k.compiler.prologue.alloca(arr, name=f"scratch{slot}")
        else:
            with b.goto_entry_block():
                raw = b.alloca(arr, name=f"scratch{slot}")
        raw.align = 64
        buffers[slot] = raw
    return b.bitcast(buffers[slot], ty.as_pointer())


def const_value(dtype: dt.DType, value) -> ir.Constant:
    """A scalar (exactly representable in `dtype`) as a constant of its storage type."""
    ty = storage_type(dtype)
    arr = np.asarray(value).astype(dtype.numpy)
    if dtype.is_floating:
        return ir.Constant(ty, float(arr))
    return ir.Constant(ty, int(arr.view(f"i{arr.itemsize}")))


def uniform_byte(dtype: dt.DType, value) -> int | None:
    """The byte every byte of `value` (stored as dtype) equals, if there is one (memset)."""
    raw = np.asarray(value).astype(dtype.numpy).tobytes()
    return raw[0] if raw.count(raw[0]) == len(raw) else None


def fill(b: ir.IRBuilder, ptr: ir.Value, count, value: ir.Value, byte: int | None = None,
         size: int = 0) -> None:
    """ptr[0:count] = value (a memset when every byte of value is `byte`)."""
    if isinstance(count, int) and count <= 0:
        return
    if byte is not None:
        memset(b, ptr, byte, mul(b, count, size))
        return
    with for_range(b, 0, as_i64(count), name="fill") as i:
        b.store(value, b.gep(ptr, [i]))


def carried_loop(b: ir.IRBuilder, start, stop, inits: Sequence[ir.Value],
                 body: Callable[[ir.Value, list], Sequence[ir.Value]], step: int = 1,
                 name: str = "c") -> list[ir.Value]:
    """for (i = start; i < stop; i += step) with loop-carried values: `body(i, values)`
    emits one iteration and returns the next values. Returns the values after the loop."""
    pre = b.block
    header = b.append_basic_block(f"{name}.header")
    body_block = b.append_basic_block(f"{name}.body")
    end = b.append_basic_block(f"{name}.end")
    b.branch(header)
    b.position_at_end(header)
    iv = b.phi(I64, name=name)
    iv.add_incoming(as_i64(start), pre)
    phis = []
    for v in inits:
        phi = b.phi(v.type)
        phi.add_incoming(v, pre)
        phis.append(phi)
    b.cbranch(b.icmp_signed("<", iv, as_i64(stop)), body_block, end)
    b.position_at_end(body_block)
    new = body(iv, list(phis))
    latch = b.block
    iv.add_incoming(b.add(iv, i64(step)), latch)
    for phi, v in zip(phis, new):
        phi.add_incoming(v, latch)
    b.branch(header)
    b.position_at_end(end)
    return phis


def carried_nest(b: ir.IRBuilder, dims: Sequence[int], inits: Sequence[ir.Value],
                 body: Callable[[list, list], Sequence[ir.Value]], name: str = "n") -> list[ir.Value]:
    """Nested loops over `dims` carrying values: `body(ivs, values)` returns the next values.
    Size-1 dims get the constant 0 and no loop."""
    def level(i, ivs, values):
        if i == len(dims):
            return list(body(ivs, values))
        if dims[i] == 1:
            return level(i + 1, ivs + [0], values)
        return carried_loop(b, 0, dims[i], values,
                            lambda iv, vals: level(i + 1, ivs + [iv], vals), name=f"{name}{i}")
    return level(0, [], list(inits))


@contextlib.contextmanager
def nest(b: ir.IRBuilder, dims: Sequence[int], first=None, name: str = "d") -> Iterator[list]:
    """Loops over `dims` (outermost first); size-1 dims get the constant 0 and no loop.
    `first = (index, lo, hi)` restricts dim `index` to [lo, hi)."""
    with contextlib.ExitStack() as stack:
        ivs = []
        for i, d in enumerate(dims):
            if first is not None and first[0] == i:
                ivs.append(stack.enter_context(for_range(b, as_i64(first[1]), as_i64(first[2]),
                                                         name=f"{name}{i}")))
            elif d == 1:
                ivs.append(0)
            else:
                ivs.append(stack.enter_context(for_range(b, 0, d, name=f"{name}{i}")))
        yield ivs


def threads_for(work_bytes: int) -> int:
    return max(1, min(THREADS, work_bytes // PARALLEL_BYTES))


def parallel(b: ir.IRBuilder, n: int, work_bytes: int, captures: Sequence[ir.Value],
             body: Callable[[ir.IRBuilder, object, object, list], None], name: str = "par") -> None:
    """`body(b, lo, hi, values)` over [0, n): split across threads when the work is large
    enough (then `values` are the outlined function's copies of `captures`), else once."""
    threads = min(threads_for(work_bytes), n)
    if threads <= 1:
        body(b, 0, n, list(captures))
        return
    emit_parallel_range(b, i64(n), i64(threads), list(captures),
                        lambda bb, lo, hi, values: body(bb, lo, hi, values), name=name)


def par_nest(b: ir.IRBuilder, dims: Sequence[int], work_bytes: int, captures: Sequence[ir.Value],
             body: Callable[[ir.IRBuilder, list, list], None], name: str = "nest") -> None:
    """Loops over `dims` calling `body(b, ivs, values)`; the outermost dim of size > 1 is split
    across threads when the work is large."""
    dims = list(dims)
    if any(d == 0 for d in dims):
        return
    split = next((i for i, d in enumerate(dims) if d > 1), None)
    if split is None:
        body(b, [0] * len(dims), list(captures))
        return

    def run(bb, lo, hi, values):
        with nest(bb, dims, (split, lo, hi)) as ivs:
            body(bb, ivs, values)
    parallel(b, dims[split], work_bytes, captures, run, name)


# The strided copy -------------------------------------------------------------------------------
def copy_plan(dims, src_strides, dst_strides):
    """Size-1 dims dropped and adjacent dims merged where both sides walk them contiguously.
    None if the box is empty."""
    if any(d == 0 for d in dims):
        return None
    keep = [i for i, d in enumerate(dims) if d != 1]
    d = [dims[i] for i in keep]
    s = [src_strides[i] for i in keep]
    t = [dst_strides[i] for i in keep]
    i = len(d) - 1
    while i > 0:
        if s[i - 1] == s[i] * d[i] and t[i - 1] == t[i] * d[i]:
            d[i - 1:i + 1] = [d[i - 1] * d[i]]
            s[i - 1:i + 1] = [s[i]]
            t[i - 1:i + 1] = [t[i]]
        i -= 1
    return d, s, t


def transpose_vectors(b: ir.IRBuilder, vecs: list[ir.Value]) -> list[ir.Value]:
    """Transpose a V x V block held as V vectors of V lanes (log2 V stages of two-source
    shuffles: stage h swaps the off-diagonal h x h blocks of every 2h x 2h block)."""
    V = len(vecs)
    h = V // 2
    while h >= 1:
        new = list(vecs)
        lo = ir.Constant(ir.VectorType(ir.IntType(32), V), [l if not l & h else V + l - h for l in range(V)])
        hi = ir.Constant(ir.VectorType(ir.IntType(32), V), [l + h if not l & h else V + l for l in range(V)])
        for i in range(V):
            if not i & h:
                new[i] = b.shuffle_vector(vecs[i], vecs[i + h], lo)
                new[i + h] = b.shuffle_vector(vecs[i], vecs[i + h], hi)
        vecs = new
        h //= 2
    return vecs


def emit_copy(b: ir.IRBuilder, dtype: dt.DType, dims: Sequence[int], src: ir.Value,
              src_strides: Sequence[int], dst: ir.Value, dst_strides: Sequence[int],
              src_off=0, dst_off=0, threaded: bool = True) -> None:
    """dst[dst_off + sum(i*dst_strides)] = src[src_off + sum(i*src_strides)] over the box
    `dims` (element strides, typed pointers)."""
    plan = copy_plan(list(dims), list(src_strides), list(dst_strides))
    if plan is None:
        return
    d, s, t = plan
    src, dst = at(b, src, src_off), at(b, dst, dst_off)
    if not d:
        b.store(b.load(src), dst)
        return
    size = itemsize(dtype)
    work = 2 * math.prod(d) * size if threaded else 0
    last = len(d) - 1
    if s[-1] == 1 and t[-1] == 1:                      # contiguous runs
        def runs(bb, lo, hi, values):
            sp, dp = values
            if last == 0:
                memcpy(bb, at(bb, dp, lo), at(bb, sp, lo), mul(bb, sub(bb, hi, lo), size))
                return
            with nest(bb, d[:-1], (0, lo, hi)) as ivs:
                memcpy(bb, at(bb, dp, lin(bb, ivs, t)), at(bb, sp, lin(bb, ivs, s)), d[-1] * size)
        parallel(b, d[0], work, [src, dst], runs, "copy_runs")
        return
    contiguous_src = [i for i in range(last) if s[i] == 1]
    if t[-1] == 1 and contiguous_src and s[-1] not in (0, 1, -1):
        _emit_tiled_copy(b, d, s, t, contiguous_src[-1], src, dst, size, work)
        return

    def loop(bb, lo, hi, values):
        sp, dp = values
        with nest(bb, d, (0, lo, hi)) as ivs:
            bb.store(bb.load(at(bb, sp, lin(bb, ivs, s))), at(bb, dp, lin(bb, ivs, t)))
    parallel(b, d[0], work, [src, dst], loop, "copy")


def _emit_tiled_copy(b, d, s, t, c, src, dst, size, work):
    """The copy of `emit_copy` where dim `c` is contiguous in the source and the last dim in
    the destination (a transpose). V x V tiles over those two dims: V vector loads of source
    rows (each a cache line or less), an in-register transpose, V vector stores of
    destination rows. Partial tiles at the edges are copied element by element."""
    last = len(d) - 1
    outer = [i for i in range(last) if i != c]
    A, B = d[c], d[last]
    S, Tc = s[last], t[c]
    V = 8 if size >= 8 else 16
    M = max(1, 64 // (V * size))   # micro-tiles per a-tile: an a-tile spans a cache line
    ity = ir.IntType(8 * size)
    vty = ir.VectorType(ity, V)
    full_a, full_b = A // (M * V), B // V

    def block(bb, so, do, a_lo, a_hi, b_lo, b_hi, sp, dp):
        """Element by element: dst[do + a*Tc + j] = src[so + a + j*S]."""
        with for_range(bb, as_i64(a_lo), as_i64(a_hi), name="ea") as a:
            srow, drow = add(bb, so, a), add(bb, do, bb.mul(a, i64(Tc)))
            with for_range(bb, as_i64(b_lo), as_i64(b_hi), name="eb") as j:
                v = bb.load(bb.gep(sp, [add(bb, srow, bb.mul(j, i64(S)))]))
                bb.store(v, bb.gep(dp, [add(bb, drow, j)]))

    def micro(bb, so, do, a0, b0, sp, dp):
        vecs = []
        base = add(bb, add(bb, so, a0), mul(bb, b0, S))
        for j in range(V):
            p = bb.bitcast(bb.gep(sp, [as_i64(add(bb, base, j * S))]), vty.as_pointer())
            vecs.append(bb.load(p, align=size))
        drow = add(bb, add(bb, do, mul(bb, a0, Tc)), b0)
        for i, v in enumerate(transpose_vectors(bb, vecs)):
            p = bb.bitcast(bb.gep(dp, [as_i64(add(bb, drow, i * Tc))]), vty.as_pointer())
            bb.store(v, p, align=size)

    def a_tiles(bb, so, do, lo, hi, sp, dp):
        """Full a-tiles [lo, hi): full b-tiles, in blocks of TILE_BLOCK b-tiles so the source
        rows of a block (pages and cache lines) stay cached while the a-tiles sweep across
        them; then the b edge."""
        if full_b:
            per = min(TILE_BLOCK, full_b)
            with for_range(bb, 0, -(-full_b // per), name="bblk") as blk:
                tb_lo = bb.mul(blk, i64(per))
                tb_hi = bb.add(tb_lo, i64(per))
                if full_b % per:
                    tb_hi = bb.select(bb.icmp_signed("<", tb_hi, i64(full_b)), tb_hi, i64(full_b))
                with for_range(bb, as_i64(lo), as_i64(hi), name="ta") as ta:
                    a0 = bb.mul(ta, i64(M * V))
                    with for_range(bb, tb_lo, tb_hi, name="tb") as tb:
                        for m in range(M):
                            micro(bb, so, do, add(bb, a0, m * V), bb.mul(tb, i64(V)), sp, dp)
        if B % V:
            with for_range(bb, as_i64(lo), as_i64(hi), name="tae") as ta:
                a0 = bb.mul(ta, i64(M * V))
                block(bb, so, do, a0, bb.add(a0, i64(M * V)), full_b * V, B, sp, dp)

    def a_edge(bb, so, do, sp, dp):
        if A % (M * V):
            block(bb, so, do, full_a * M * V, A, 0, B, sp, dp)

    src = b.bitcast(src, ity.as_pointer())
    dst = b.bitcast(dst, ity.as_pointer())
    if outer:
        dims_outer = [d[i] for i in outer]

        def run(bb, lo, hi, values):
            sp, dp = values
            with nest(bb, dims_outer, (0, lo, hi)) as ivs:
                so = lin(bb, ivs, [s[i] for i in outer])
                do = lin(bb, ivs, [t[i] for i in outer])
                a_tiles(bb, so, do, 0, full_a, sp, dp)
                a_edge(bb, so, do, sp, dp)
        parallel(b, dims_outer[0], work, [src, dst], run, "transpose")
    else:
        if full_a:
            parallel(b, full_a, work, [src, dst],
                     lambda bb, lo, hi, values: a_tiles(bb, 0, 0, lo, hi, *values), "transpose")
        a_edge(b, 0, 0, src, dst)


def copy_op(k, dtype, dims, src_value, src_strides, dst_value, dst_strides, src_off=0, dst_off=0):
    emit_copy(k.builder, dtype, dims, k.ptr(src_value), src_strides, k.ptr(dst_value),
              dst_strides, src_off, dst_off)


# Transposes, slices, splits, joins ---------------------------------------------------------------
@kernel("array.transpose")
def _transpose(k, op: Operation) -> None:
    x, out = op.operands[0], op.results[0]
    perm = array_ops._transpose_perm(x.type.rank, op.attributes["perm"])
    xs = row_major_strides(x.type.shape)
    copy_op(k, x.type.dtype, out.type.shape, x, [xs[p] for p in perm], out,
            row_major_strides(out.type.shape))


@kernel("array.slice")
def _slice(k, op: Operation) -> None:
    x, out = op.operands[0], op.results[0]
    xs = row_major_strides(x.type.shape)
    begin = op.attributes["begin"]
    copy_op(k, x.type.dtype, out.type.shape, x, xs, out, row_major_strides(out.type.shape),
            src_off=sum(bg * s for bg, s in zip(begin, xs)))


@kernel("array.strided_slice")
def _strided_slice(k, op: Operation) -> None:
    x, out = op.operands[0], op.results[0]
    _, ranges = array_ops._strided_slice_plan(x.type.shape, **op.attributes)
    xs = row_major_strides(x.type.shape)
    dims, strides, offset = [], [], 0
    for (bg, e, st, shrink), s in zip(ranges, xs):
        if shrink:
            dims.append(1)
            strides.append(s)
        else:
            length = e - bg
            n = 0 if length == 0 or (length < 0) != (st < 0) else -(-abs(length) // abs(st))
            dims.append(n)
            strides.append(st * s)
        offset += bg * s
    # The result holds the picked block in row-major order (shrunk dims and new axes are
    # size 1), so it is the block's row-major copy.
    copy_op(k, x.type.dtype, dims, x, strides, out, row_major_strides(dims), src_off=offset)


def _split_pieces(k, x, pieces, axis):
    """Copy consecutive blocks of x along `axis` to the values `pieces`."""
    shape = x.type.shape
    outer, inner = math.prod(shape[:axis]), math.prod(shape[axis + 1:])
    offset = 0
    for piece in pieces:
        n = piece.type.shape[axis] * inner
        copy_op(k, x.type.dtype, [outer, n], x, [shape[axis] * inner, 1], piece, [n, 1],
                src_off=offset)
        offset += n


def _join_pieces(k, pieces, out, axis):
    """Copy the values `pieces` to consecutive blocks of `out` along `axis`."""
    shape = out.type.shape
    outer, inner = math.prod(shape[:axis]), math.prod(shape[axis + 1:])
    offset = 0
    for piece in pieces:
        n = piece.type.shape[axis] * inner
        copy_op(k, out.type.dtype, [outer, n], piece, [n, 1], out, [shape[axis] * inner, 1],
                dst_off=offset)
        offset += n


@kernel("array.split")
def _split(k, op: Operation) -> None:
    x = op.operands[0]
    _split_pieces(k, x, op.results, op.attributes["axis"] % x.type.rank)


@kernel("array.concat")
def _concat(k, op: Operation) -> None:
    out = op.results[0]
    _join_pieces(k, op.operands, out, op.attributes["axis"] % out.type.rank)


@kernel("array.stack")
def _stack(k, op: Operation) -> None:
    out = op.results[0]
    axis = op.attributes["axis"] % out.type.rank
    shape = out.type.shape
    outer, inner = math.prod(shape[:axis]), math.prod(shape[axis + 1:])
    n = shape[axis]
    for j, piece in enumerate(op.operands):
        copy_op(k, out.type.dtype, [outer, inner], piece, [inner, 1], out, [n * inner, 1],
                dst_off=j * inner)


@kernel("array.unstack")
def _unstack(k, op: Operation) -> None:
    x = op.operands[0]
    axis = op.attributes["axis"] % x.type.rank
    shape = x.type.shape
    outer, inner = math.prod(shape[:axis]), math.prod(shape[axis + 1:])
    n = shape[axis]
    for j, piece in enumerate(op.results):
        copy_op(k, x.type.dtype, [outer, inner], x, [n * inner, 1], piece, [inner, 1],
                src_off=j * inner)


@kernel("array.tile")
def _tile(k, op: Operation) -> None:
    x, out = op.operands[0], op.results[0]
    xs, os_ = row_major_strides(x.type.shape), row_major_strides(out.type.shape)
    dims, src, dst = [], [], []
    # Output dim i of size m*d is walked as (repeat r < m, position p < d): x[p].
    for d, m, s, o in zip(x.type.shape, op.attributes["multiples"], xs, os_):
        dims += [m, d]
        src += [0, s]
        dst += [d * o, o]
    copy_op(k, x.type.dtype, dims, x, src, out, dst)


@kernel("array.broadcast_to")
def _broadcast_to(k, op: Operation) -> None:
    x, out = op.operands[0], op.results[0]
    shape = out.type.shape
    own = row_major_strides(x.type.shape)
    pad = len(shape) - x.type.rank
    src = [0] * pad + [0 if d == 1 else s for d, s in zip(x.type.shape, own)]
    copy_op(k, x.type.dtype, shape, x, src, out, row_major_strides(shape))


@kernel("array.reverse")
def _reverse(k, op: Operation) -> None:
    x, out = op.operands[0], op.results[0]
    shape = x.type.shape
    axes = set(array_ops._reverse_axes(x.type.rank, op.attributes["axes"]))
    xs = row_major_strides(shape)
    src, offset = [], 0
    for i, (d, s) in enumerate(zip(shape, xs)):
        if i in axes and d > 1:
            src.append(-s)
            offset += (d - 1) * s
        else:
            src.append(s)
    copy_op(k, x.type.dtype, shape, x, src, out, row_major_strides(shape), src_off=offset)


# Padding -----------------------------------------------------------------------------------------
@kernel("array.pad")
def _pad(k, op: Operation) -> None:
    x, out = op.operands[0], op.results[0]
    dtype = x.type.dtype
    paddings = op.attributes["paddings"]
    pairs = list(zip(paddings[::2], paddings[1::2]))
    mode = op.attributes.get("mode", "CONSTANT")
    if out.type.num_elements == 0:
        return
    if x.type.rank == 0:
        copy_op(k, dtype, [], x, [], out, [])
        return
    if mode == "CONSTANT":
        fill_value = array_ops._value_in(dtype, op.attributes.get("constant_value", 0.0),
                                         "constant_value")
        _pad_constant(k, x, out, pairs, const_value(dtype, fill_value),
                      uniform_byte(dtype, fill_value))
        return
    if x.type.num_elements == 0:
        return
    _pad_mirror(k, x, out, pairs, 0 if mode == "REFLECT" else 1)


def _pad_constant(k, x, out, pairs, value, byte):
    b = k.builder
    dtype = x.type.dtype
    size = itemsize(dtype)
    dp = k.ptr(out)
    if x.type.num_elements == 0:
        fill(b, dp, out.type.num_elements, value, byte, size)
        return
    # Merge an unpadded dim into the dim before it: their elements stay contiguous on both sides.
    dims = list(x.type.shape)
    pads = [list(p) for p in pairs]
    i = len(dims) - 1
    while i > 0:
        if pads[i] == [0, 0]:
            n = dims[i]
            dims[i - 1:i + 1] = [dims[i - 1] * n]
            pads[i - 1:i + 1] = [[pads[i - 1][0] * n, pads[i - 1][1] * n]]
        i -= 1
    out_dims = [d + p0 + p1 for d, (p0, p1) in zip(dims, pads)]
    xs, os_ = row_major_strides(dims), row_major_strides(out_dims)
    last = len(dims) - 1

    def level(bb, depth, so, do, sp, dpp):
        """The output block of dims depth.. at `do` from the input block at `so`: the fill
        before, the input rows (recursively padded), the fill after."""
        (p0, p1), n = pads[depth], dims[depth]
        fill(bb, at(bb, dpp, do), p0 * os_[depth], value, byte, size)
        if depth == last:
            memcpy(bb, at(bb, dpp, add(bb, do, p0)), at(bb, sp, so), n * size)
        else:
            with for_range(bb, 0, n, name=f"pad{depth}") as j:
                level(bb, depth + 1, add(bb, so, mul(bb, j, xs[depth])),
                      add(bb, do, mul(bb, add(bb, j, p0), os_[depth])), sp, dpp)
        fill(bb, at(bb, dpp, add(bb, do, (p0 + n) * os_[depth])), p1 * os_[depth], value,
             byte, size)

    sp = k.ptr(x)
    work = 2 * out.type.num_elements * size
    if last == 0 or threads_for(work) <= 1:
        level(b, 0, 0, 0, sp, dp)
        return
    (p0, p1), n = pads[0], dims[0]
    fill(b, dp, p0 * os_[0], value, byte, size)
    fill(b, at(b, dp, (p0 + n) * os_[0]), p1 * os_[0], value, byte, size)

    def rows(bb, lo, hi, values):
        sp_, dp_ = values
        with for_range(bb, as_i64(lo), as_i64(hi), name="padrow") as j:
            level(bb, 1, mul(bb, j, xs[0]), mul(bb, add(bb, j, p0), os_[0]), sp_, dp_)
    parallel(b, n, work, [sp, dp], rows, "pad")


def _pad_mirror(k, x, out, pairs, symmetric: int):
    """REFLECT (symmetric=0: the edge is not repeated) or SYMMETRIC (1: it is). Output index o
    of a padded dim reads input index before - o - symmetric (o < before), o - before, or
    2n - 2 + before + symmetric - o (after). Dims outside the innermost padded one pick their
    source row with selects; the innermost padded dim is three strided copies (two reversed)
    of the contiguous blocks behind it."""
    b = k.builder
    dtype = x.type.dtype
    shape = list(x.type.shape)
    padded = [i for i, p in enumerate(pairs) if p != (0, 0)]
    xs = row_major_strides(shape)
    out_shape = [d + p0 + p1 for d, (p0, p1) in zip(shape, pairs)]
    os_ = row_major_strides(out_shape)
    if not padded:
        copy_op(k, dtype, shape, x, xs, out, os_)
        return
    L = padded[-1]
    E = math.prod(shape[L + 1:])
    work = 2 * out.type.num_elements * itemsize(dtype)

    def source(bb, depth, o):
        (p0, _), n = pairs[depth], shape[depth]
        if pairs[depth] == (0, 0):
            return o
        before = bb.sub(i64(p0 - symmetric), o)
        middle = bb.sub(o, i64(p0))
        after = bb.sub(i64(2 * n - 2 + p0 + symmetric), o)
        return bb.select(bb.icmp_signed("<", o, i64(p0)), before,
                         bb.select(bb.icmp_signed("<", o, i64(p0 + n)), middle, after))

    def innermost(bb, so, do, sp, dp, threaded=False):
        (p0, p1), n, S, O = pairs[L], shape[L], xs[L], os_[L]
        emit_copy(bb, dtype, [p0, E], sp, [-S, 1], dp, [O, 1], add(bb, so, (p0 - symmetric) * S),
                  do, threaded=threaded)
        emit_copy(bb, dtype, [n, E], sp, [S, 1], dp, [O, 1], so, add(bb, do, p0 * O),
                  threaded=threaded)
        emit_copy(bb, dtype, [p1, E], sp, [-S, 1], dp, [O, 1],
                  add(bb, so, (n - 2 + symmetric) * S), add(bb, do, (p0 + n) * O),
                  threaded=threaded)

    if L == 0:
        innermost(b, 0, 0, k.ptr(x), k.ptr(out), threaded=True)
        return

    def run(bb, lo, hi, values):
        sp, dp = values
        with nest(bb, out_shape[:L], (0, lo, hi), name="mirror") as ivs:
            src_ivs = [source(bb, i, iv) if not isinstance(iv, int) else 0
                       for i, iv in enumerate(ivs)]
            innermost(bb, lin(bb, src_ivs, xs[:L]), lin(bb, ivs, os_[:L]), sp, dp)
    parallel(b, out_shape[0], work, [k.ptr(x), k.ptr(out)], run, "mirror_pad")


# Gathers -----------------------------------------------------------------------------------------
def _index_i64(b, ptr, dtype):
    v = b.load(ptr)
    if v.type.width < 64:
        v = b.sext(v, I64) if dtype.kind == "int" else b.zext(v, I64)
    return v


def _check_indices(k, indices, limits: Sequence[int]) -> None:
    """Fail the op if any index is outside [0, limit) (limits cycle over the last dim)."""
    b = k.builder
    count = indices.type.num_elements
    if count == 0:
        return
    if any(n == 0 for n in limits):
        k.fail_if(ir.Constant(I1, 1))
        return
    ptr = k.ptr(indices)
    dtype = indices.type.dtype
    depth = len(limits)
    rows = count // depth

    def body(r, accs):
        (bad,) = accs
        base = b.mul(r, i64(depth)) if depth > 1 else r
        for c, n in enumerate(limits):
            idx = _index_i64(b, b.gep(ptr, [add(b, base, c)]), dtype)
            bad = b.or_(bad, b.zext(b.icmp_unsigned(">=", idx, i64(n)), I8))
        return [bad]
    (bad,) = carried_loop(b, 0, rows, [ir.Constant(I8, 0)], body, name="chk")
    k.fail_if(b.icmp_unsigned("!=", bad, ir.Constant(I8, 0)))


@kernel("array.gather")
def _gather(k, op: Operation) -> None:
    params, indices = op.operands
    out = op.results[0]
    pshape, ishape = params.type.shape, indices.type.shape
    axis, bd = array_ops._gather_axes(pshape, ishape, op.attributes.get("axis", 0),
                                      op.attributes.get("batch_dims", 0))
    _check_indices(k, indices, [pshape[axis]])
    if out.type.num_elements == 0:
        return
    dtype = params.type.dtype
    size = itemsize(dtype)
    batch = math.prod(pshape[:bd])
    outer = math.prod(pshape[bd:axis])
    N = pshape[axis]
    inner = math.prod(pshape[axis + 1:])
    M = math.prod(ishape[bd:])
    idtype = indices.type.dtype

    def body(bb, ivs, values):
        pp, ip, op_ = values
        bt, o, m = ivs
        idx = _index_i64(bb, at(bb, ip, add(bb, mul(bb, bt, M), m)), idtype)
        row = add(bb, mul(bb, bt, outer), o)                       # (batch, outer) row
        src = add(bb, mul(bb, row, N * inner), mul(bb, idx, inner))
        dst = mul(bb, add(bb, mul(bb, row, M), m), inner)
        if inner == 1:
            bb.store(bb.load(at(bb, pp, src)), at(bb, op_, dst))
        else:
            memcpy(bb, at(bb, op_, dst), at(bb, pp, src), inner * size)
    par_nest(k.builder, [batch, outer, M], 2 * out.type.num_elements * size,
             [k.ptr(params), k.ptr(indices), k.ptr(out)], body, "gather")


@kernel("array.gather_nd")
def _gather_nd(k, op: Operation) -> None:
    params, indices = op.operands
    out = op.results[0]
    pshape, ishape = params.type.shape, indices.type.shape
    depth = ishape[-1]
    rows = math.prod(ishape[:-1])
    if rows and params.type.num_elements == 0:
        k.fail_if(ir.Constant(I1, 1))          # "Requested more than 0 entries, but params is empty"
        return
    if depth:
        _check_indices(k, indices, pshape[:depth])
    if out.type.num_elements == 0:
        return
    dtype = params.type.dtype
    size = itemsize(dtype)
    S = math.prod(pshape[depth:])
    ps = row_major_strides(pshape)
    idtype = indices.type.dtype

    def body(bb, ivs, values):
        pp, ip, op_ = values
        (r,) = ivs
        src = 0
        for c in range(depth):
            idx = _index_i64(bb, at(bb, ip, add(bb, mul(bb, r, depth), c)), idtype)
            src = add(bb, src, mul(bb, idx, ps[c]))
        dst = mul(bb, r, S)
        if S == 1:
            bb.store(bb.load(at(bb, pp, src)), at(bb, op_, dst))
        else:
            memcpy(bb, at(bb, op_, dst), at(bb, pp, src), S * size)
    par_nest(k.builder, [rows], 2 * out.type.num_elements * size,
             [k.ptr(params), k.ptr(indices), k.ptr(out)], body, "gather_nd")


# Creating tensors --------------------------------------------------------------------------------
@kernel("array.one_hot")
def _one_hot(k, op: Operation) -> None:
    indices, out = op.operands[0], op.results[0]
    attrs = op.attributes
    dtype = out.type.dtype
    depth = attrs["depth"]
    axis = array_ops._one_hot_axis(indices.type.rank, depth, attrs.get("axis", -1))
    on = const_value(dtype, array_ops._value_in(dtype, attrs.get("on_value", 1.0), "on_value"))
    off = const_value(dtype, array_ops._value_in(dtype, attrs.get("off_value", 0.0), "off_value"))
    A = math.prod(indices.type.shape[:axis])
    B = math.prod(indices.type.shape[axis:])
    idtype = indices.type.dtype

    def body(bb, ivs, values):
        ip, op_ = values
        a, d, j = ivs
        idx = _index_i64(bb, at(bb, ip, add(bb, mul(bb, a, B), j)), idtype)
        hot = bb.icmp_signed("==", idx, as_i64(d))
        bb.store(bb.select(hot, on, off), at(bb, op_, lin(bb, [a, d, j], [depth * B, B, 1])))
    par_nest(k.builder, [A, depth, B], out.type.num_elements * itemsize(dtype),
             [k.ptr(indices), k.ptr(out)], body, "one_hot")


@kernel("array.fill")
def _fill(k, op: Operation) -> None:
    value, out = op.operands[0], op.results[0]
    b = k.builder
    v = b.load(k.ptr(value))
    n = out.type.num_elements

    def body(bb, lo, hi, values):
        val, dp = values
        with for_range(bb, as_i64(lo), as_i64(hi), name="fill") as i:
            bb.store(val, bb.gep(dp, [i]))
    if n:
        parallel(b, n, n * itemsize(out.type.dtype), [v, k.ptr(out)], body, "fill")


@kernel("array.range")
def _range(k, op: Operation) -> None:
    out = op.results[0]
    attrs = op.attributes
    dtype = attrs.get("dtype", dt.int32)
    start, delta, length = array_ops._range_plan(attrs["start"], attrs["limit"], attrs["delta"],
                                                 dtype)
    if length == 0:
        return
    b = k.builder
    ty = storage_type(dtype)
    dp = k.ptr(out)
    with for_range(b, 0, length, name="range") as i:
        if dtype.is_integer:
            # start + i * delta in 64 bits, wrapped to the dtype (as the interpreter's astype).
            v = b.add(i64(int(start)), b.mul(i, i64(int(delta))))
            if ty.width < 64:
                v = b.trunc(v, ty)
        else:
            # start + T(i) * delta, rounded in T at each step (no fused multiply-add).
            v = b.fadd(ir.Constant(ty, float(start)),
                       b.fmul(b.sitofp(i, ty), ir.Constant(ty, float(delta))))
        b.store(v, b.gep(dp, [i]))


@kernel("array.shape")
def _shape(k, op: Operation) -> None:
    x, out = op.operands[0], op.results[0]
    b = k.builder
    dp = k.ptr(out)
    ty = storage_type(out.type.dtype)
    for i, d in enumerate(x.type.shape):
        b.store(ir.Constant(ty, d), b.gep(dp, [i64(i)]))


# Diagonals and bands -----------------------------------------------------------------------------
def emit_fill_box(b: ir.IRBuilder, dims: Sequence[int], dst: ir.Value, strides: Sequence[int],
                  value: ir.Value, off=0) -> None:
    """dst[off + sum(i * strides)] = value over the box `dims`."""
    plan = copy_plan(list(dims), list(strides), list(strides))
    if plan is None:
        return
    d, s, _ = plan
    dst = at(b, dst, off)
    with nest(b, d, name="fillbox") as ivs:
        b.store(value, at(b, dst, lin(b, ivs, s)))


def _diagonals(rows: int, cols: int, lower: int, upper: int, align: str):
    """Per packed diagonal (upper first): (row in the packing, length, slot offset in the
    packed row, element offset of its first element in the matrix). As _diag_slots."""
    max_len = array_ops._max_diag_len(rows, cols, lower, upper)
    left_super = align in ("LEFT_RIGHT", "LEFT_LEFT")
    left_sub = align in ("RIGHT_LEFT", "LEFT_LEFT")
    out = []
    for i, d in enumerate(range(upper, lower - 1, -1)):
        n = max(array_ops._diag_len(rows, cols, d), 0)
        left = (d >= 0 and left_super) or (d <= 0 and left_sub)
        out.append((i, n, 0 if left else max_len - n, max(-d, 0) * cols + max(d, 0)))
    return max_len, out


def _padding(dtype, attrs):
    return const_value(dtype, array_ops._value_in(dtype, attrs.get("padding_value", 0.0),
                                                  "padding_value"))


@kernel("array.matrix_diag_part")
def _matrix_diag_part(k, op: Operation) -> None:
    x, out = op.operands[0], op.results[0]
    b = k.builder
    dtype = x.type.dtype
    if out.type.num_elements == 0:
        return
    rows, cols = x.type.shape[-2:]
    batch = math.prod(x.type.shape[:-2])
    lower, upper = array_ops._diag_range(op.attributes.get("k", (0,)))
    max_len, diags = _diagonals(rows, cols, lower, upper, op.attributes.get("align", "RIGHT_LEFT"))
    pad = _padding(dtype, op.attributes)
    xp, dp = k.ptr(x), k.ptr(out)
    per_batch = len(diags) * max_len
    for i, n, offset, start in diags:
        row = i * max_len
        emit_fill_box(b, [batch, offset], dp, [per_batch, 1], pad, row)
        emit_fill_box(b, [batch, max_len - offset - n], dp, [per_batch, 1], pad, row + offset + n)
        emit_copy(b, dtype, [batch, n], xp, [rows * cols, cols + 1], dp, [per_batch, 1],
                  start, row + offset)


def _scatter_diagonals(k, diagonal, out, lower, upper, align):
    """Copy packed diagonals into the matrices of `out` (the rest is already written)."""
    rows, cols = out.type.shape[-2:]
    batch = math.prod(out.type.shape[:-2])
    max_len, diags = _diagonals(rows, cols, lower, upper, align)
    per_batch = len(diags) * max_len
    for i, n, offset, start in diags:
        copy_op(k, out.type.dtype, [batch, n], diagonal, [per_batch, 1], out,
                [rows * cols, cols + 1], i * max_len + offset, start)


@kernel("array.matrix_diag")
def _matrix_diag(k, op: Operation) -> None:
    d, out = op.operands[0], op.results[0]
    dtype = out.type.dtype
    if out.type.num_elements == 0:
        return
    pad = array_ops._value_in(dtype, op.attributes.get("padding_value", 0.0), "padding_value")
    fill(k.builder, k.ptr(out), out.type.num_elements, const_value(dtype, pad),
         uniform_byte(dtype, pad), itemsize(dtype))
    lower, upper = array_ops._diag_range(op.attributes.get("k", (0,)))
    _scatter_diagonals(k, d, out, lower, upper, op.attributes.get("align", "RIGHT_LEFT"))


@kernel("array.matrix_set_diag")
def _matrix_set_diag(k, op: Operation) -> None:
    x, d = op.operands
    out = op.results[0]
    if out.type.num_elements == 0:
        return
    n = out.type.num_elements
    copy_op(k, x.type.dtype, [n], x, [1], out, [1])
    lower, upper = array_ops._diag_range(op.attributes.get("k", (0,)))
    _scatter_diagonals(k, d, out, lower, upper, op.attributes.get("align", "RIGHT_LEFT"))


@kernel("array.matrix_band_part")
def _matrix_band_part(k, op: Operation) -> None:
    """Per matrix row r: zeros, then x[r, lo:hi] (one memcpy), then zeros, with
    lo = max(0, r - num_lower) and hi = min(cols, r + num_upper + 1) (no bound if negative)."""
    x, out = op.operands[0], op.results[0]
    if out.type.num_elements == 0:
        return
    dtype = x.type.dtype
    size = itemsize(dtype)
    rows, cols = x.type.shape[-2:]
    batch = math.prod(x.type.shape[:-2])
    nl, nu = op.attributes["num_lower"], op.attributes["num_upper"]
    zero = const_value(dtype, 0)

    def clamp(bb, v, lo, hi):
        v = bb.select(bb.icmp_signed("<", v, i64(lo)), i64(lo), v)
        return bb.select(bb.icmp_signed(">", v, i64(hi)), i64(hi), v)

    def body(bb, ivs, values):
        xp, dp = values
        bt, r = ivs
        r = as_i64(r)
        base = add(bb, mul(bb, bt, rows * cols), bb.mul(r, i64(cols)))
        lo = clamp(bb, bb.sub(r, i64(nl)), 0, cols) if nl >= 0 else i64(0)
        hi = clamp(bb, bb.add(r, i64(nu + 1)), 0, cols) if nu >= 0 else i64(cols)
        hi = bb.select(bb.icmp_signed("<", hi, lo), lo, hi)
        row_out, row_in = at(bb, dp, base), at(bb, xp, base)
        with for_range(bb, 0, lo, name="below") as j:
            bb.store(zero, bb.gep(row_out, [j]))
        memcpy(bb, bb.gep(row_out, [lo]), bb.gep(row_in, [lo]), bb.mul(bb.sub(hi, lo), i64(size)))
        with for_range(bb, hi, i64(cols), name="above") as j:
            bb.store(zero, bb.gep(row_out, [j]))
    par_nest(k.builder, [batch, rows], 2 * out.type.num_elements * size,
             [k.ptr(x), k.ptr(out)], body, "band_part")


@kernel("array.diag")
def _diag(k, op: Operation) -> None:
    x, out = op.operands[0], op.results[0]
    dtype = x.type.dtype
    n = x.type.num_elements
    if n == 0:
        return
    fill(k.builder, k.ptr(out), n * n, const_value(dtype, 0), uniform_byte(dtype, 0),
         itemsize(dtype))
    copy_op(k, dtype, [n], x, [1], out, [n + 1])


@kernel("array.diag_part")
def _diag_part(k, op: Operation) -> None:
    x, out = op.operands[0], op.results[0]
    n = out.type.num_elements
    copy_op(k, x.type.dtype, [n], x, [n + 1], out, [1])
