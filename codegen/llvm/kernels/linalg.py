"""Kernels for math.matmul, linalg.matrix_inverse and linalg.matrix_determinant, and the
helpers the other contraction kernels (conv2d in nn.py) share: per-op scratch space in the
temp arena, thread splitting and the non-float32 loop GEMM.

float32 (and float16, converted to float32 in scratch) products go through the packed,
register-tiled `tfc_sgemm` of gemm.py; float64 and integer products through `tfc_loop_gemm_*`
below, a cache-blocked i-k-j loop nest whose innermost loop is a contiguous axpy that LLVM
vectorizes (integer products wrap, as numpy's). Large products use both cores.

Scratch: the emitter plans one buffer per value and has no per-op scratch yet, so `scratch`
below grows the plan's temp arena while the kernel is emitted (the arena size is read by the
caller only after compilation) and returns a pointer into it. Each request gets its own region.
"""

from __future__ import annotations

import os

from llvmlite import ir

from tfc.ir import dtypes as dt
from tfc.ir.core import Operation

from .. import gemm, loops
from ..elementwise import load_scalar, store_scalar
from .. import emitter
from ..emitter import CodegenError
from ..loops import imax, imin
from ..parallel import emit_parallel_range
from ..types import F16, F32, F64, I1, I64, compute_type, i64, storage_type

def _cores() -> int:
    try:
        return len(os.sched_getaffinity(0))
    except (AttributeError, OSError):
        return os.cpu_count() or 1


#: Threads the large kernels split their work over (the cores this process may use, <= 16).
THREADS = max(1, min(_cores(), 16))
#: Below this many multiply-adds a kernel stays on the calling thread.
MIN_PARALLEL_MACS = 1 << 20

F32P = F32.as_pointer()


# ---------------------------------------------------------------------------------------------
# Shared helpers
# ---------------------------------------------------------------------------------------------
kernel = emitter.kernel


def scratch_of(k, count: int, ty: ir.Type) -> ir.Value:
    """Scratch for `count` elements of LLVM type `ty`, as a `ty*`."""
    size = {F16: 2, F32: 4, F64: 8, I1: 1}.get(ty, getattr(ty, "width", 64) // 8)
    return k.builder.bitcast(k.scratch(count * size), ty.as_pointer())


def var(b: ir.IRBuilder, ty: ir.Type, init, name: str = "v") -> ir.Value:
    """A mutable local (an alloca in the entry block, promoted to a register by LLVM)."""
    with b.goto_entry_block():
        slot = b.alloca(ty, name=name)
    b.store(init if isinstance(init, ir.Value) else ir.Constant(ty, init), slot)
    return slot


def const(ty: ir.Type, value) -> ir.Constant:
    return ir.Constant(ty, float(value) if isinstance(ty, (ir.FloatType, ir.DoubleType, ir.HalfType))
                       else int(value))


def split_range(b: ir.IRBuilder, tid: ir.Value, total, parts: int) -> tuple[ir.Value, ir.Value]:
    """[tid * total / parts, (tid + 1) * total / parts): worker `tid`'s share of `total`."""
    total = total if isinstance(total, ir.Value) else i64(total)
    lo = b.sdiv(b.mul(tid, total), i64(parts))
    hi = b.sdiv(b.mul(b.add(tid, i64(1)), total), i64(parts))
    return lo, hi


def run_workers(b: ir.IRBuilder, workers: int, captures: list[ir.Value], body, name: str) -> None:
    """Run `body(b, worker_index, values)` once per worker, `workers` workers in parallel
    (`values`: the body's copies of `captures`). One worker runs inline, without a thread."""
    if workers <= 1:
        body(b, i64(0), list(captures))
        return

    def emit(fb, start, end, values):
        body(fb, start, values)

    emit_parallel_range(b, i64(workers), i64(workers), list(captures), emit, name=name)


def decompose(b: ir.IRBuilder, q: ir.Value, dims: list[int]) -> list[ir.Value]:
    """The multi-index of flat row-major index `q` over `dims`."""
    out = []
    for d in reversed(dims):
        out.append(b.urem(q, i64(d)) if d != 1 else i64(0))
        q = b.udiv(q, i64(d)) if d != 1 else q
    return out[::-1]


def is_float(ty: ir.Type) -> bool:
    return isinstance(ty, (ir.FloatType, ir.DoubleType, ir.HalfType))


def convert_copy(b: ir.IRBuilder, src: ir.Value, src_dtype, dst: ir.Value, dst_dtype, count: int):
    """dst[i] = src[i] for i < count, converting between float16/float32 storage."""
    with loops.for_range(b, 0, count, name="cvt") as i:
        value = load_scalar(b, b.gep(src, [i]), src_dtype)
        if dst_dtype == dt.float16 and value.type != F16:
            b.store(b.fptrunc(value, F16), b.gep(dst, [i]))
        else:
            store_scalar(b, value, b.gep(dst, [i]), dst_dtype)


# ---------------------------------------------------------------------------------------------
# The loop GEMM for float64 and integers
# ---------------------------------------------------------------------------------------------
_LOOP_GEMM_NB = 1024      # columns of a C row segment (stays in L1)
_LOOP_GEMM_KC = 64        # rows of B per block (a KC x NB block of B stays in L2)


def declare_loop_gemm(module: ir.Module, ty: ir.Type) -> ir.Function:
    """`void tfc_loop_gemm_T(M, N, K, A, rsa, csa, B, rsb, csb, C, ldc, scratch, m0, m1)`:
    rows [m0, m1) of C = A @ B with the strides of tfc_sgemm (bias-less); `scratch` holds
    K * N elements, used only when B's columns are not contiguous (csb != 1)."""
    suffix = {F64: "f64", F32: "f32"}.get(ty, f"i{getattr(ty, 'width', 0)}")
    name = f"tfc_loop_gemm_{suffix}"
    if name in module.globals:
        return module.globals[name]
    p = ty.as_pointer()
    fn = ir.Function(module, ir.FunctionType(ir.VoidType(), [I64, I64, I64, p, I64, I64, p, I64, I64,
                                                           p, I64, p, I64, I64]), name)
    fn.linkage = "internal"
    fn.attributes.add("noinline")      # one copy per module, not one per call site
    M, N, K, A, rsa, csa, B, rsb, csb, C, ldc, work, m0, m1 = fn.args
    for arg, n in zip(fn.args, "M N K A rsa csa B rsb csb C ldc scratch m0 m1".split()):
        arg.name = n
    for arg in (A, B, C, work):
        arg.add_attribute("noalias")
    b = ir.IRBuilder(fn.append_basic_block("entry"))
    floating = is_float(ty)
    zero = const(ty, 0)
    packed = b.icmp_signed("!=", csb, i64(1))
    with b.if_then(packed):
        with loops.for_range(b, 0, K, name="pk") as kk:
            with loops.for_range(b, 0, N, name="pj") as j:
                v = b.load(b.gep(B, [b.add(b.mul(kk, rsb), b.mul(j, csb))]))
                b.store(v, b.gep(work, [b.add(b.mul(kk, N), j)]))
    bp = b.select(packed, work, B)
    rb = b.select(packed, N, rsb)
    with loops.for_range(b, 0, N, _LOOP_GEMM_NB, name="j0") as j0:
        nb = imin(b, i64(_LOOP_GEMM_NB), b.sub(N, j0))
        with loops.for_range(b, 0, imax(b, K, i64(1)), _LOOP_GEMM_KC, name="k0") as k0:
            kend = imin(b, K, b.add(k0, i64(_LOOP_GEMM_KC)))
            first = b.icmp_signed("==", k0, i64(0))
            with loops.for_range(b, m0, m1, name="i") as i:
                crow = b.gep(C, [b.add(b.mul(i, ldc), j0)])
                with b.if_then(first):
                    with loops.for_range(b, 0, nb, name="z") as j:
                        b.store(zero, b.gep(crow, [j]))
                arow = b.gep(A, [b.mul(i, rsa)])
                with loops.for_range(b, k0, kend, name="k") as kk:
                    a = b.load(b.gep(arow, [b.mul(kk, csa)]))
                    brow = b.gep(bp, [b.add(b.mul(kk, rb), j0)])
                    with loops.for_range(b, 0, nb, name="j") as j:
                        cp = b.gep(crow, [j])
                        bv = b.load(b.gep(brow, [j]))
                        if floating:
                            b.store(b.fadd(b.load(cp), b.fmul(a, bv)), cp)
                        else:
                            b.store(b.add(b.load(cp), b.mul(a, bv)), cp)
    b.ret_void()
    return fn


# ---------------------------------------------------------------------------------------------
# math.matmul
# ---------------------------------------------------------------------------------------------
@kernel("math.matmul")
def emit_matmul(k, op: Operation) -> None:
    a, bv = op.operands
    out = op.results[0]
    dtype = a.type.dtype
    if dtype.is_complex:
        raise CodegenError(f"the LLVM backend has no {dtype.name} math.matmul")
    ta, tb = op.attributes["transpose_a"], op.attributes["transpose_b"]
    ashape, bshape, oshape = a.type.shape, bv.type.shape, out.type.shape
    M, K = (ashape[-1], ashape[-2]) if ta else (ashape[-2], ashape[-1])
    N = bshape[-2] if tb else bshape[-1]
    batch = list(oshape[:-2])
    nbatch = 1
    for d in batch:
        nbatch *= d
    if M * N * nbatch == 0:
        return
    rsa, csa = (1, M) if ta else (K, 1)
    rsb, csb = (1, K) if tb else (N, 1)
    a_bs = [s * M * K for s in loops.broadcast_strides(ashape[:-2], batch)]
    b_bs = [s * K * N for s in loops.broadcast_strides(bshape[:-2], batch)]
    c_bs = [s * M * N for s in loops.row_major_strides(batch)]
    dims, strides = loops.collapse_dims(batch, [a_bs, b_bs, c_bs]) if batch else ([1], [[0], [0], [0]])
    b = k.builder
    pa, pb, pc = k.ptr(a), k.ptr(bv), k.ptr(out)
    if dtype == dt.float16:
        na, nb_ = a.type.num_elements, bv.type.num_elements
        fa, fb = scratch_of(k, na, F32), scratch_of(k, nb_, F32)
        convert_copy(b, pa, dt.float16, fa, dt.float32, na)
        convert_copy(b, pb, dt.float16, fb, dt.float32, nb_)
        fc = scratch_of(k, out.type.num_elements, F32)
        _emit_products(k, F32, fa, fb, fc, M, N, K, rsa, csa, rsb, csb, dims, strides, nbatch)
        convert_copy(b, fc, dt.float32, pc, dt.float16, out.type.num_elements)
        return
    ty = storage_type(dtype)
    _emit_products(k, ty, pa, pb, pc, M, N, K, rsa, csa, rsb, csb, dims, strides, nbatch)


def _emit_products(k, ty, pa, pb, pc, M, N, K, rsa, csa, rsb, csb, dims, strides, nbatch):
    """C[q] = A[q] @ B[q] for every batch index q (offsets by the collapsed batch strides)."""
    b = k.builder
    macs = M * N * K
    sgemm = ty == F32
    module = k.module
    if sgemm:
        single = gemm.scratch_floats(M, N, K)
    else:
        single = K * N if csb != 1 else 1
    by_batch = nbatch >= 2 and nbatch * macs >= MIN_PARALLEL_MACS and (
        macs * 2 < 4 * gemm.MIN_FLOPS_PER_THREAD or nbatch >= 4 * THREADS)
    workers = THREADS if by_batch else 1
    if not by_batch and macs >= MIN_PARALLEL_MACS and THREADS > 1:
        rows_parallel = True
        per_call = (gemm.parallel_scratch_floats(M, N, K, THREADS) if sgemm else single * THREADS)
    else:
        rows_parallel = False
        per_call = single
    work = scratch_of(k, max(per_call * workers, 1), ty)
    null = ir.Constant(ty.as_pointer(), None)

    def call(bb, A, B, C, own_scratch, m0, m1):
        args = [i64(M), i64(N), i64(K), A, i64(rsa), i64(csa), B, i64(rsb), i64(csb), C, i64(N)]
        if sgemm:
            bb.call(gemm.declare_sgemm(module), args + [null, own_scratch, m0, m1])
        else:
            bb.call(declare_loop_gemm(module, ty), args + [own_scratch, m0, m1])

    def product(bb, q, A, B, C, own_scratch):
        idx = decompose(bb, q, dims)
        offs = [loops.offset(bb, idx, s) for s in strides]
        A, B, C = (bb.gep(p, [o]) for p, o in zip((A, B, C), offs))
        if rows_parallel:
            if sgemm:
                bb.call(gemm.declare_sgemm_parallel(module),
                        [i64(M), i64(N), i64(K), A, i64(rsa), i64(csa), B, i64(rsb), i64(csb), C,
                         i64(N), null, own_scratch, i64(THREADS)])
            else:
                def rows(wb, tid, values):
                    A_, B_, C_, S_ = values
                    m0, m1 = split_range(wb, tid, M, THREADS)
                    call(wb, A_, B_, C_, wb.gep(S_, [wb.mul(tid, i64(single))]), m0, m1)
                run_workers(bb, THREADS, [A, B, C, own_scratch], rows, "matmul_rows")
        else:
            call(bb, A, B, C, own_scratch, i64(0), i64(M))

    def body(bb, tid, values):
        A, B, C, S = values
        lo, hi = split_range(bb, tid, nbatch, workers)
        own = bb.gep(S, [bb.mul(tid, i64(per_call))])
        with loops.for_range(bb, lo, hi, name="q") as q:
            product(bb, q, A, B, C, own)

    run_workers(b, workers, [pa, pb, pc, work], body, "matmul_batch")


# ---------------------------------------------------------------------------------------------
# linalg: LU with partial pivoting
# ---------------------------------------------------------------------------------------------
def _fabs(b, x):
    fn = b.module.globals.get(f"llvm.fabs.{'f64' if x.type == F64 else 'f32'}")
    if fn is None:
        fn = ir.Function(b.module, ir.FunctionType(x.type, [x.type]),
                         f"llvm.fabs.{'f64' if x.type == F64 else 'f32'}")
    return b.call(fn, [x])


def emit_lu(b: ir.IRBuilder, W: ir.Value, n, perm: ir.Value, swaps: ir.Value,
            singular: ir.Value) -> None:
    """Factor the n x n row-major matrix at W (float or double) in place as P A = L U, as
    LAPACK's getf2 does: the pivot is the first entry of largest magnitude in the column;
    a zero pivot sets `*singular` and skips that column's elimination; the multipliers are
    scaled by the pivot's reciprocal (divided when it is below the smallest normal).
    `perm[j]` (i64) gets row j's pivot row, `*swaps` (i64) counts the row interchanges."""
    ty = W.type.pointee
    n = n if isinstance(n, ir.Value) else i64(n)
    tiny = const(ty, float.fromhex("0x1p-126") if ty == F32 else float.fromhex("0x1p-1022"))
    zero, one = const(ty, 0), const(ty, 1)
    best = var(b, ty, zero, "best")
    piv = var(b, I64, i64(0), "piv")

    def at(r, c):
        return b.gep(W, [b.add(b.mul(r, n), c)])

    with loops.for_range(b, 0, n, name="lu_j") as j:
        b.store(_fabs(b, b.load(at(j, j))), best)
        b.store(j, piv)
        with loops.for_range(b, b.add(j, i64(1)), n, name="lu_p") as i:
            v = _fabs(b, b.load(at(i, j)))
            bigger = b.fcmp_ordered(">", v, b.load(best))
            with b.if_then(bigger):
                b.store(v, best)
                b.store(i, piv)
        p = b.load(piv)
        b.store(p, b.gep(perm, [j]))
        is_zero = b.fcmp_ordered("==", b.load(best), zero)
        with b.if_else(is_zero) as (then, otherwise):
            with then:
                b.store(ir.Constant(I1, 1), singular)
            with otherwise:
                with b.if_then(b.icmp_signed("!=", p, j)):
                    b.store(b.add(b.load(swaps), i64(1)), swaps)
                    with loops.for_range(b, 0, n, name="lu_swap") as c:
                        x, y = at(j, c), at(p, c)
                        vx, vy = b.load(x), b.load(y)
                        b.store(vy, x)
                        b.store(vx, y)
                pivot = b.load(at(j, j))
                recip = b.fdiv(one, pivot)
                normal = b.fcmp_ordered(">=", _fabs(b, pivot), tiny)
                with loops.for_range(b, b.add(j, i64(1)), n, name="lu_s") as i:
                    cell = at(i, j)
                    v = b.load(cell)
                    b.store(b.select(normal, b.fmul(v, recip), b.fdiv(v, pivot)), cell)
                with loops.for_range(b, b.add(j, i64(1)), n, name="lu_i") as i:
                    l = b.load(at(i, j))
                    with loops.for_range(b, b.add(j, i64(1)), n, name="lu_c") as c:
                        cell = at(i, c)
                        b.store(b.fsub(b.load(cell), b.fmul(l, b.load(at(j, c)))), cell)


def _load_matrix(b, src, dtype, W, n, transpose: bool):
    """W (compute type, row-major) = the n x n matrix at src, transposed if asked; returns
    an i1 that is true when it holds a NaN."""
    nan = var(b, I1, ir.Constant(I1, 0), "nan")
    with loops.for_range(b, 0, n, name="ld_r") as r:
        with loops.for_range(b, 0, n, name="ld_c") as c:
            s = b.add(b.mul(c, i64(n)), r) if transpose else b.add(b.mul(r, i64(n)), c)
            v = load_scalar(b, b.gep(src, [s]), dtype)
            b.store(v, b.gep(W, [b.add(b.mul(r, i64(n)), c)]))
            b.store(b.or_(b.load(nan), b.fcmp_unordered("uno", v, v)), nan)
    return b.load(nan)


def _square_batch(value):
    shape = value.type.shape
    n = shape[-1]
    count = 1
    for d in shape[:-2]:
        count *= d
    return n, count


def _suffix(ty) -> str:
    return "f64" if ty == F64 else "f32"


def declare_lu(module: ir.Module, ty: ir.Type) -> ir.Function:
    """`i1 tfc_lu_T(T* W, i64 n, i64* perm, i64* swaps)`: emit_lu as a function; returns
    whether a pivot was zero."""
    name = f"tfc_lu_{_suffix(ty)}"
    if name in module.globals:
        return module.globals[name]
    fn = ir.Function(module, ir.FunctionType(I1, [ty.as_pointer(), I64, I64.as_pointer(),
                                                  I64.as_pointer()]), name)
    fn.linkage = "internal"
    fn.attributes.add("noinline")
    W, n, perm, swaps = fn.args
    b = ir.IRBuilder(fn.append_basic_block("entry"))
    singular = var(b, I1, ir.Constant(I1, 0), "singular")
    b.store(i64(0), swaps)
    emit_lu(b, W, n, perm, swaps, singular)
    b.ret(b.load(singular))
    return fn


def declare_lu_inverse(module: ir.Module, ty: ir.Type) -> ir.Function:
    """`void tfc_lu_inverse_T(T* LU, T* X, i64* perm, i64 n)`: X = A^-1 from A's factors:
    the identity with the interchanges applied, then forward substitution with the unit
    lower factor and back substitution with the upper one, in LAPACK's order (getrs)."""
    name = f"tfc_lu_inverse_{_suffix(ty)}"
    if name in module.globals:
        return module.globals[name]
    p = ty.as_pointer()
    fn = ir.Function(module, ir.FunctionType(ir.VoidType(), [p, p, I64.as_pointer(), I64]), name)
    fn.linkage = "internal"
    fn.attributes.add("noinline")
    W, X, perm, n = fn.args
    for arg in (W, X, perm):
        arg.add_attribute("noalias")
    b = ir.IRBuilder(fn.append_basic_block("entry"))
    zero, one = const(ty, 0), const(ty, 1)

    def row(r):
        return b.gep(X, [b.mul(r, n)])

    def lu(r, c):
        return b.load(b.gep(W, [b.add(b.mul(r, n), c)]))

    np1 = b.add(n, i64(1))
    with loops.for_range(b, 0, b.mul(n, n), name="id") as i:
        diag = b.icmp_signed("==", b.urem(i, np1), i64(0))
        b.store(b.select(diag, one, zero), b.gep(X, [i]))
    with loops.for_range(b, 0, n, name="perm") as j:
        pj = b.load(b.gep(perm, [j]))
        with b.if_then(b.icmp_signed("!=", pj, j)):
            rj, rp = row(j), row(pj)
            with loops.for_range(b, 0, n, name="pswap") as c:
                x1, x2 = b.gep(rj, [c]), b.gep(rp, [c])
                v1, v2 = b.load(x1), b.load(x2)
                b.store(v2, x1)
                b.store(v1, x2)
    # L y = P I (unit lower), row by row, k increasing.
    with loops.for_range(b, 1, n, name="fw_i") as i:
        ri = row(i)
        with loops.for_range(b, 0, i, name="fw_k") as kk:
            l = lu(i, kk)
            rk = row(kk)
            with loops.for_range(b, 0, n, name="fw_c") as c:
                cell = b.gep(ri, [c])
                b.store(b.fsub(b.load(cell), b.fmul(b.load(b.gep(rk, [c])), l)), cell)
    # U x = y from the last row up; each row subtracts the later rows last-first.
    last = b.sub(n, i64(1))
    with loops.for_range(b, 0, n, name="bw") as t:
        i = b.sub(last, t)
        ri = row(i)
        with loops.for_range(b, 0, b.sub(last, i), name="bw_k") as s:
            kk = b.sub(last, s)
            u = lu(i, kk)
            rk = row(kk)
            with loops.for_range(b, 0, n, name="bw_c") as c:
                cell = b.gep(ri, [c])
                b.store(b.fsub(b.load(cell), b.fmul(b.load(b.gep(rk, [c])), u)), cell)
        d = lu(i, i)
        with loops.for_range(b, 0, n, name="bw_d") as c:
            cell = b.gep(ri, [c])
            b.store(b.fdiv(b.load(cell), d), cell)
    b.ret_void()
    return fn


@kernel("linalg.matrix_inverse")
def emit_matrix_inverse(k, op: Operation) -> None:
    """LU with partial pivoting (getrf), then the permuted identity solved by forward and
    back substitution (getrs with B = I, as numpy's inv). Any NaN in a matrix or an exactly
    zero pivot fails the op, as the interpreter does."""
    x = op.operands[0]
    out = op.results[0]
    dtype = x.type.dtype
    if dtype.is_complex:
        raise CodegenError(f"the LLVM backend has no {dtype.name} linalg.matrix_inverse")
    n, count = _square_batch(x)
    if n == 0 or count == 0:
        return
    b = k.builder
    ty = compute_type(dtype)
    W = scratch_of(k, n * n, ty)
    X = scratch_of(k, n * n, ty)
    perm = scratch_of(k, n, I64)
    swaps = scratch_of(k, 1, I64)
    src, dst = k.ptr(x), k.ptr(out)
    lu, solve = declare_lu(k.module, ty), declare_lu_inverse(k.module, ty)
    with loops.for_range(b, 0, count, name="mat") as q:
        base = b.mul(q, i64(n * n))
        k.fail_if(_load_matrix(b, b.gep(src, [base]), dtype, W, n, op.attributes["adjoint"]))
        k.fail_if(b.call(lu, [W, i64(n), perm, swaps]))
        b.call(solve, [W, X, perm, i64(n)])
        with loops.for_range(b, 0, n * n, name="st") as i:
            store_scalar(b, b.load(b.gep(X, [i])), b.gep(dst, [b.add(base, i)]), dtype)


def _libm(b: ir.IRBuilder, name: str, ty: ir.Type) -> ir.Function:
    fn = b.module.globals.get(name)
    if fn is None:
        fn = ir.Function(b.module, ir.FunctionType(ty, [ty]), name)
    return fn


@kernel("linalg.matrix_determinant")
def emit_matrix_determinant(k, op: Operation) -> None:
    """numpy's det: LU with partial pivoting, then sign * exp(sum(log|u_ii|)) in the input's
    precision with the C library's log and exp; 0 when a pivot is exactly zero."""
    x = op.operands[0]
    out = op.results[0]
    dtype = x.type.dtype
    if dtype.is_complex:
        raise CodegenError(f"the LLVM backend has no {dtype.name} linalg.matrix_determinant")
    n, count = _square_batch(x)
    if count == 0:
        return
    b = k.builder
    ty = compute_type(dtype)
    log = _libm(b, "logf" if ty == F32 else "log", ty)
    exp = _libm(b, "expf" if ty == F32 else "exp", ty)
    W = scratch_of(k, max(n * n, 1), ty)
    perm = scratch_of(k, max(n, 1), I64)
    swaps = scratch_of(k, 1, I64)
    src, dst = k.ptr(x), k.ptr(out)
    lu = declare_lu(k.module, ty)
    sign = var(b, ty, const(ty, 1), "sign")
    logdet = var(b, ty, const(ty, 0), "logdet")
    zero, one = const(ty, 0), const(ty, 1)
    with loops.for_range(b, 0, count, name="mat") as q:
        _load_matrix(b, b.gep(src, [b.mul(q, i64(n * n))]), dtype, W, n, False)
        singular = b.call(lu, [W, i64(n), perm, swaps])
        odd = b.trunc(b.load(swaps), I1)
        b.store(b.select(odd, const(ty, -1), one), sign)
        b.store(zero, logdet)
        with loops.for_range(b, 0, n, name="diag") as i:
            d = b.load(b.gep(W, [b.mul(i, i64(n + 1))]))
            negative = b.fcmp_ordered("<", d, zero)
            with b.if_then(negative):
                b.store(b.fneg(b.load(sign)), sign)
            magnitude = b.select(negative, b.fneg(d), d)
            b.store(b.fadd(b.load(logdet), b.call(log, [magnitude])), logdet)
        det = b.fmul(b.load(sign), b.call(exp, [b.load(logdet)]))
        store_scalar(b, b.select(singular, zero, det), b.gep(dst, [q]), dtype)
