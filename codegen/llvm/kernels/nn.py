"""Kernels for the nn family: bias_add, softmax / log_softmax, l2_loss, the cross-entropy
losses, fused_batch_norm, max/avg pooling (with argmax), depthwise_conv2d, conv2d and dropout.

Numerics follow each op's compute in ir/ops/nn.py: float16 computes in float32 and rounds
once at the end (except where numpy rounds each float16 operation, which is emulated), NaN
and Inf as numpy gives them. `exp` is a vectorizable polynomial here (Cody-Waite reduction,
Cephes' float polynomial / fdlibm's double one, subnormal results included) so that the hot
loops of softmax carry no libm calls; `log1p` of [0, 1] (for the sigmoid losses) is fdlibm's.

Windowed ops (pooling, depthwise, direct convolution) address the input through element
strides (n, h, w, c), so NHWC and NCHW share one loop nest whose innermost loop runs over
channels: contiguous for NHWC. conv2d in float32/float16 is im2col into per-thread scratch
plus the packed float32 GEMM (1x1 stride-1 unpadded convolutions read the input in place),
split over the cores; float64 convolutions run as direct loops.
"""

from __future__ import annotations


import numpy as np
from llvmlite import ir

from tfc.ir import dtypes as dt
from tfc.ir.core import Operation, Value
from tfc.ir.ops.nn import _explicit_pads, _output_geometry

from .. import gemm, loops
from .. import philox
from ..elementwise import load_scalar, store_scalar
from .. import mathlib
from ..types import F16, F32, F64, I1, I64, compute_type, i64, storage_type
from .linalg import (MIN_PARALLEL_MACS, THREADS, const, decompose, imax, imin, kernel, run_workers,
                     scratch_of, split_range, var)


# ---------------------------------------------------------------------------------------------
# Scalar math
# ---------------------------------------------------------------------------------------------
def _intrinsic(b: ir.IRBuilder, name: str, *args: ir.Value) -> ir.Value:
    ty = args[0].type
    full = f"llvm.{name}.{'f64' if ty == F64 else 'f32'}"
    fn = b.module.globals.get(full)
    if fn is None:
        fn = ir.Function(b.module, ir.FunctionType(ty, [a.type for a in args]), full)
    return b.call(fn, list(args))


def _libm(b: ir.IRBuilder, name: str, ty: ir.Type) -> ir.Function:
    fn = b.module.globals.get(name)
    if fn is None:
        fn = ir.Function(b.module, ir.FunctionType(ty, [ty]), name)
    return fn


def exp_of(b: ir.IRBuilder, x: ir.Value) -> ir.Value:
    """e**x through the vectorizable mathlib (float or double)."""
    return mathlib.call(b, b.module, "exp", x)


# ---------------------------------------------------------------------------------------------
# bias_add, fused_batch_norm
# ---------------------------------------------------------------------------------------------
def _channel_split(shape, axis):
    """(outer, channels, inner) element counts around `axis`."""
    outer = int(np.prod(shape[:axis], dtype=np.int64))
    inner = int(np.prod(shape[axis + 1:], dtype=np.int64))
    return outer, shape[axis], inner


@kernel("nn.bias_add")
def emit_bias_add(k, op: Operation) -> None:
    value, bias = op.operands
    out = op.results[0]
    dtype = out.type.dtype
    shape = value.type.shape
    axis = 1 if op.attributes["data_format"] == "NCHW" else len(shape) - 1
    outer, channels, inner = _channel_split(shape, axis)
    b = k.builder
    pv, pb, po = k.ptr(value), k.ptr(bias), k.ptr(out)
    with loops.for_range(b, 0, outer, name="o") as o:
        with loops.for_range(b, 0, channels, name="c") as c:
            bc = load_scalar(b, b.gep(pb, [c]), dtype)
            base = b.mul(b.add(b.mul(o, i64(channels)), c), i64(inner))
            with loops.for_range(b, 0, inner, name="i") as i:
                at = b.add(base, i)
                v = load_scalar(b, b.gep(pv, [at]), dtype)
                store_scalar(b, b.fadd(v, bc), b.gep(po, [at]), dtype)


@kernel("nn.fused_batch_norm")
def emit_fused_batch_norm(k, op: Operation) -> None:
    """(x - mean) * (rsqrt(variance + epsilon) * scale) + offset in the parameters' dtype;
    the per-channel factor is computed once (float16 parameters round every operation)."""
    x, scale, offset, mean, variance = op.operands
    out = op.results[0]
    xdt, pdt = x.type.dtype, scale.type.dtype
    shape = x.type.shape
    axis = 1 if op.attributes["data_format"] == "NCHW" else 3
    outer, channels, inner = _channel_split(shape, axis)
    b = k.builder
    ty = compute_type(pdt)
    rnd = (lambda v: b.fpext(b.fptrunc(v, F16), F32)) if pdt == dt.float16 else (lambda v: v)
    eps = const(ty, float(pdt.numpy.type(op.attributes["epsilon"])))
    factor = scratch_of(k, max(channels, 1), ty)
    ps, po_, pm, pv = (k.ptr(v) for v in (scale, offset, mean, variance))
    with loops.for_range(b, 0, channels, name="f") as c:
        var_ = load_scalar(b, b.gep(pv, [c]), pdt)
        root = rnd(_intrinsic(b, "sqrt", rnd(b.fadd(var_, eps))))
        inv = rnd(b.fdiv(const(ty, 1.0), root))
        b.store(rnd(b.fmul(inv, load_scalar(b, b.gep(ps, [c]), pdt))), b.gep(factor, [c]))
    px, py = k.ptr(x), k.ptr(out)
    with loops.for_range(b, 0, outer, name="o") as o:
        with loops.for_range(b, 0, channels, name="c") as c:
            m = load_scalar(b, b.gep(pm, [c]), pdt)
            f = b.load(b.gep(factor, [c]))
            off = load_scalar(b, b.gep(po_, [c]), pdt)
            base = b.mul(b.add(b.mul(o, i64(channels)), c), i64(inner))
            with loops.for_range(b, 0, inner, name="i") as i:
                at = b.add(base, i)
                v = load_scalar(b, b.gep(px, [at]), xdt)
                if v.type != ty:
                    v = b.fpext(v, ty)
                y = rnd(b.fadd(rnd(b.fmul(rnd(b.fsub(v, m)), f)), off))
                if xdt == dt.float16:
                    b.store(b.fptrunc(y, F16), b.gep(py, [at]))
                else:
                    store_scalar(b, y, b.gep(py, [at]), xdt)


# ---------------------------------------------------------------------------------------------
# softmax, log_softmax, l2_loss, softmax cross entropies
# ---------------------------------------------------------------------------------------------
REASSOC = ("reassoc", "nsz")


def _fmax_nan(b, x, y):
    """max that propagates NaN (np.max); vectorizes as a reduction."""
    return _intrinsic(b, "maximum", x, y)


def _row_stats(b, load, n, ty):
    """(max, sum(exp(x - max))) over a row of n elements; `load(b, j)` reads element j."""
    mx = var(b, ty, const(ty, float("-inf")), "max")
    with loops.for_range(b, 0, n, name="mx") as j:
        b.store(_fmax_nan(b, b.load(mx), load(b, j)), mx)
    m = b.load(mx)
    total = var(b, ty, const(ty, 0.0), "sum")
    with loops.for_range(b, 0, n, name="se") as j:
        b.store(b.fadd(b.load(total), exp_of(b, b.fsub(load(b, j), m)), flags=REASSOC), total)
    return m, b.load(total)


def _softmax_like(k, op: Operation, log: bool) -> None:
    x = op.operands[0]
    out = op.results[0]
    dtype = x.type.dtype
    shape = x.type.shape
    axis = op.attributes["axis"] % len(shape)
    outer, n, inner = _channel_split(shape, axis)
    if outer * n * inner == 0:
        return
    b = k.builder
    ty = compute_type(dtype)
    px, po = k.ptr(x), k.ptr(out)
    logf = _libm(b, "log" if ty == F64 else "logf", ty)
    if inner == 1:
        with loops.for_range(b, 0, outer, name="row") as r:
            base = b.mul(r, i64(n))

            def load(bb, j):
                return load_scalar(bb, bb.gep(px, [bb.add(base, j)]), dtype)

            m, total = _row_stats(b, load, n, ty)
            if log:
                lse = b.call(logf, [total])
                with loops.for_range(b, 0, n, name="ls") as j:
                    y = b.fsub(b.fsub(load(b, j), m), lse)
                    store_scalar(b, y, b.gep(po, [b.add(base, j)]), dtype)
            else:
                with loops.for_range(b, 0, n, name="sm") as j:
                    y = b.fdiv(exp_of(b, b.fsub(load(b, j), m)), total)
                    store_scalar(b, y, b.gep(po, [b.add(base, j)]), dtype)
        return
    # Reduction over a strided axis: vectorize over the contiguous inner dimension, with the
    # running max and sum of each inner position in scratch rows.
    mx = scratch_of(k, inner, ty)
    sm = scratch_of(k, inner, ty)
    with loops.for_range(b, 0, outer, name="o") as o:
        base = b.mul(o, i64(n * inner))

        def at(j, i):
            return b.add(base, b.add(b.mul(j, i64(inner)), i))

        with loops.for_range(b, 0, inner, name="i0") as i:
            b.store(const(ty, float("-inf")), b.gep(mx, [i]))
            b.store(const(ty, 0.0), b.gep(sm, [i]))
        with loops.for_range(b, 0, n, name="j1") as j:
            with loops.for_range(b, 0, inner, name="i1") as i:
                p = b.gep(mx, [i])
                b.store(_fmax_nan(b, b.load(p), load_scalar(b, b.gep(px, [at(j, i)]), dtype)), p)
        with loops.for_range(b, 0, n, name="j2") as j:
            with loops.for_range(b, 0, inner, name="i2") as i:
                p = b.gep(sm, [i])
                e = exp_of(b, b.fsub(load_scalar(b, b.gep(px, [at(j, i)]), dtype), b.load(b.gep(mx, [i]))))
                b.store(b.fadd(b.load(p), e), p)
        if log:
            with loops.for_range(b, 0, inner, name="i3") as i:
                p = b.gep(sm, [i])
                b.store(b.call(logf, [b.load(p)]), p)
        with loops.for_range(b, 0, n, name="j4") as j:
            with loops.for_range(b, 0, inner, name="i4") as i:
                v = b.fsub(load_scalar(b, b.gep(px, [at(j, i)]), dtype), b.load(b.gep(mx, [i])))
                s = b.load(b.gep(sm, [i]))
                y = b.fsub(v, s) if log else b.fdiv(exp_of(b, v), s)
                store_scalar(b, y, b.gep(po, [at(j, i)]), dtype)


@kernel("nn.softmax")
def emit_softmax(k, op):
    _softmax_like(k, op, log=False)


@kernel("nn.log_softmax")
def emit_log_softmax(k, op):
    _softmax_like(k, op, log=True)


@kernel("nn.l2_loss")
def emit_l2_loss(k, op: Operation) -> None:
    t = op.operands[0]
    dtype = t.type.dtype
    ty = compute_type(dtype)
    b = k.builder
    pt = k.ptr(t)
    total = var(b, ty, const(ty, 0.0), "l2")
    half = const(ty, 0.5)
    with loops.for_range(b, 0, t.type.num_elements, name="l2") as i:
        v = load_scalar(b, b.gep(pt, [i]), dtype)
        b.store(b.fadd(b.load(total), b.fmul(b.fmul(v, v), half), flags=REASSOC), total)
    store_scalar(b, b.load(total), k.ptr(op.results[0]), dtype)


@kernel("nn.softmax_cross_entropy_with_logits")
def emit_softmax_xent(k, op: Operation) -> None:
    """sum(labels * (lse - shifted)) along the axis, labels and logits broadcast together."""
    labels, logits = op.operands
    out = op.results[0]
    dtype = logits.type.dtype
    ty = compute_type(dtype)
    full = [max(a, b_) for a, b_ in zip(labels.type.shape, logits.type.shape)]
    if 0 in full:
        if out.type.num_elements:    # reducing an empty axis: sum of nothing
            b = k.builder
            with loops.for_range(b, 0, out.type.num_elements, name="z") as i:
                store_scalar(b, const(ty, 0.0), b.gep(k.ptr(out), [i]), dtype)
        return
    axis = op.attributes["axis"] % len(full)
    zs = loops.broadcast_strides(labels.type.shape, full)
    xs = loops.broadcast_strides(logits.type.shape, full)
    n, zstep, xstep = full[axis], zs[axis], xs[axis]
    rest = full[:axis] + full[axis + 1:]
    zr, xr = zs[:axis] + zs[axis + 1:], xs[:axis] + xs[axis + 1:]
    orr = loops.row_major_strides(rest)
    dims, (zr, xr, orr) = loops.collapse_dims(rest, [zr, xr, orr]) if rest else ([1], [[0], [0], [0]])
    b = k.builder
    pz, px, po = k.ptr(labels), k.ptr(logits), k.ptr(out)
    logf = _libm(b, "log" if ty == F64 else "logf", ty)
    with loops.for_nest(b, dims) as ivs:
        zb, xb = loops.offset(b, ivs, zr), loops.offset(b, ivs, xr)

        def lx(bb, j):
            return load_scalar(bb, bb.gep(px, [bb.add(xb, bb.mul(j, i64(xstep)))]), dtype)

        m, total = _row_stats(b, lx, n, ty)
        lse = b.call(logf, [total])
        acc = var(b, ty, const(ty, 0.0), "xent")
        with loops.for_range(b, 0, n, name="xe") as j:
            z = load_scalar(b, b.gep(pz, [b.add(zb, b.mul(j, i64(zstep)))]), dtype)
            term = b.fmul(z, b.fsub(lse, b.fsub(lx(b, j), m)))
            b.store(b.fadd(b.load(acc), term, flags=REASSOC), acc)
        store_scalar(b, b.load(acc), b.gep(po, [loops.offset(b, ivs, orr)]), dtype)


@kernel("nn.sparse_softmax_cross_entropy_with_logits")
def emit_sparse_softmax_xent(k, op: Operation) -> None:
    """lse - shifted[label] per row; a label outside [0, classes) fails the op (checked over
    all labels before anything is written), as does a logits tensor with no classes."""
    labels, logits = op.operands
    out = op.results[0]
    dtype = logits.type.dtype
    ty = compute_type(dtype)
    classes = logits.type.shape[-1]
    rows = labels.type.num_elements
    b = k.builder
    if classes == 0:
        k.fail_if(ir.Constant(I1, 1))
        return
    pl, px, po = k.ptr(labels), k.ptr(logits), k.ptr(out)
    lty = storage_type(labels.type.dtype)
    bad = var(b, I1, ir.Constant(I1, 0), "bad")
    with loops.for_range(b, 0, rows, name="chk") as r:
        label = b.load(b.gep(pl, [r]))
        outside = b.icmp_unsigned(">=", label, ir.Constant(lty, classes))   # negative too
        b.store(b.or_(b.load(bad), outside), bad)
    k.fail_if(b.load(bad))
    logf = _libm(b, "log" if ty == F64 else "logf", ty)
    with loops.for_range(b, 0, rows, name="row") as r:
        base = b.mul(r, i64(classes))

        def load(bb, j):
            return load_scalar(bb, bb.gep(px, [bb.add(base, j)]), dtype)

        m, total = _row_stats(b, load, classes, ty)
        label = b.load(b.gep(pl, [r]))
        label = b.sext(label, I64) if lty != I64 else label
        picked = b.fsub(load(b, label), m)
        store_scalar(b, b.fsub(b.call(logf, [total]), picked), b.gep(po, [r]), dtype)


# ---------------------------------------------------------------------------------------------
# Windowed ops: geometry
# ---------------------------------------------------------------------------------------------
def _format_strides(fmt: str, n, h, w, c):
    """Element strides (n, h, w, c) of a 4-D tensor with NHWC dims (n, h, w, c) in `fmt`."""
    if fmt == "NCHW":
        return (c * h * w, w, 1, h * w)
    return (h * w * c, w * c, c, 1)


class Window:
    """The geometry of one windowed op, from its input shape, kernel size and attributes."""

    def __init__(self, op: Operation, kernel_hw, dilations=(1, 1), explicit=None):
        attrs = op.attributes
        self.fmt = attrs.get("data_format", "NHWC")
        shape = op.operands[0].type.shape
        if self.fmt == "NCHW":
            self.n, self.c, self.h, self.w = shape
        else:
            self.n, self.h, self.w, self.c = shape
        self.kh, self.kw = kernel_hw
        self.sh, self.sw = attrs["strides"]
        self.dh, self.dw = dilations
        (self.oh, (self.pt, _)), (self.ow, (self.pl, _)) = _output_geometry(
            self.h, self.w, kernel_hw, attrs["strides"], dilations, attrs["padding"], explicit)
        self.xs = _format_strides(self.fmt, self.n, self.h, self.w, self.c)

    def out_strides(self, channels: int):
        return _format_strides(self.fmt, self.n, self.oh, self.ow, channels)

    def origin(self, b, oy, ox):
        """Input row and column of window (oy, ox)'s first element (may be padding)."""
        return (b.sub(b.mul(oy, i64(self.sh)), i64(self.pt)),
                b.sub(b.mul(ox, i64(self.sw)), i64(self.pl)))

    def clip(self, b, start, size, kernel):
        """[lo, hi) of the kernel offsets whose input index start + offset is inside [0, size)
        (unit dilation)."""
        lo = imax(b, i64(0), b.sub(i64(0), start))
        hi = imin(b, i64(kernel), b.sub(i64(size), start))
        return lo, hi

    def inside(self, b, y, x):
        ok_y = b.and_(b.icmp_signed(">=", y, i64(0)), b.icmp_signed("<", y, i64(self.h)))
        ok_x = b.and_(b.icmp_signed(">=", x, i64(0)), b.icmp_signed("<", x, i64(self.w)))
        return b.and_(ok_y, ok_x)


def _pixel_loop(k, win: Window, work_per_pixel: int, acc_elems: int, acc_ty, captures, body,
                name: str):
    """Run `body(b, n, oy, ox, acc, values)` for every output pixel, the (n, oy) rows split
    over the workers when the op is large. `acc` is the worker's scratch row of `acc_elems`
    elements; `values` are the worker's copies of `captures` (entry-function values)."""
    rows = win.n * win.oh
    pixels = rows * win.ow
    workers = THREADS if pixels * work_per_pixel >= MIN_PARALLEL_MACS and rows >= 2 else 1
    workers = min(workers, max(rows, 1))
    row_elems = max(acc_elems, 1)
    acc_all = scratch_of(k, row_elems * workers, acc_ty)

    def worker(b, tid, values):
        acc = b.gep(values[0], [b.mul(tid, i64(row_elems))])
        lo, hi = split_range(b, tid, rows, workers)
        with loops.for_range(b, lo, hi, name="row") as row:
            n, oy = decompose(b, row, [win.n, win.oh])
            with loops.for_range(b, 0, win.ow, name="ox") as ox:
                body(b, n, oy, ox, acc, values[1:])

    run_workers(k.builder, workers, [acc_all] + list(captures), worker, name)


# ---------------------------------------------------------------------------------------------
# Pooling
# ---------------------------------------------------------------------------------------------
def _emit_pool(k, op: Operation, is_max: bool) -> None:
    x = op.operands[0]
    out = op.results[0]
    dtype = x.type.dtype
    ty = compute_type(dtype)
    win = Window(op, op.attributes["ksize"])
    if out.type.num_elements == 0:
        return
    C = win.c
    xs, os_ = win.xs, win.out_strides(C)
    lowest = const(ty, float(np.finfo(dtype.numpy).min))

    def body(b, n, oy, ox, acc, values):
        px, po = values
        y0, x0 = win.origin(b, oy, ox)
        ky0, ky1 = win.clip(b, y0, win.h, win.kh)
        kx0, kx1 = win.clip(b, x0, win.w, win.kw)
        with loops.for_range(b, 0, C, name="init") as c:
            b.store(lowest if is_max else const(ty, 0.0), b.gep(acc, [c]))
        with loops.for_range(b, ky0, ky1, name="ky") as ky:
            with loops.for_range(b, kx0, kx1, name="kx") as kx:
                base = b.add(b.add(b.mul(n, i64(xs[0])), b.mul(b.add(y0, ky), i64(xs[1]))),
                             b.mul(b.add(x0, kx), i64(xs[2])))
                with loops.for_range(b, 0, C, name="c") as c:
                    v = load_scalar(b, b.gep(px, [b.add(base, b.mul(c, i64(xs[3])))]), dtype)
                    p = b.gep(acc, [c])
                    a = b.load(p)
                    if is_max:
                        b.store(b.select(b.fcmp_ordered(">", v, a), v, a), p)
                    else:
                        b.store(b.fadd(a, v), p)
        obase = b.add(b.add(b.mul(n, i64(os_[0])), b.mul(oy, i64(os_[1]))), b.mul(ox, i64(os_[2])))
        count = b.sitofp(b.mul(b.sub(ky1, ky0), b.sub(kx1, kx0)), ty)
        with loops.for_range(b, 0, C, name="st") as c:
            v = b.load(b.gep(acc, [c]))
            if not is_max:
                v = b.fdiv(v, count)
            store_scalar(b, v, b.gep(po, [b.add(obase, b.mul(c, i64(os_[3])))]), dtype)

    work = win.kh * win.kw * C
    _pixel_loop(k, win, work, C, ty, [k.ptr(x), k.ptr(out)], body,
                "max_pool" if is_max else "avg_pool")


@kernel("nn.max_pool")
def emit_max_pool(k, op):
    _emit_pool(k, op, True)


@kernel("nn.avg_pool")
def emit_avg_pool(k, op):
    _emit_pool(k, op, False)


@kernel("nn.max_pool_with_argmax")
def emit_max_pool_with_argmax(k, op: Operation) -> None:
    """The window's first real element, replaced by any later v with max < v (TF's order):
    ties go to the first, a leading NaN stays, later NaNs never win."""
    x = op.operands[0]
    out, idx = op.results
    dtype = x.type.dtype
    ty = compute_type(dtype)
    ity = storage_type(idx.type.dtype)
    win = Window(op, op.attributes["ksize"])
    if out.type.num_elements == 0:
        return
    C, H, W = win.c, win.h, win.w
    with_batch = op.attributes["include_batch_in_index"]

    def body(b, n, oy, ox, acc, ibuf, values):
        px, po, pi = values
        y0, x0 = win.origin(b, oy, ox)
        ky0, ky1 = win.clip(b, y0, H, win.kh)
        kx0, kx1 = win.clip(b, x0, W, win.kw)
        nb = b.mul(n, i64(H * W * C)) if with_batch else i64(0)

        def visit(ky, kx, first):
            yy, xx = b.add(y0, ky), b.add(x0, kx)
            base = b.mul(b.add(b.mul(b.add(b.mul(n, i64(H)), yy), i64(W)), xx), i64(C))
            flat = b.add(nb, b.mul(b.add(b.mul(yy, i64(W)), xx), i64(C)))
            with loops.for_range(b, 0, C, name="c") as c:
                v = load_scalar(b, b.gep(px, [b.add(base, c)]), dtype)
                p, q = b.gep(acc, [c]), b.gep(ibuf, [c])
                index = b.add(flat, c)
                if first:
                    b.store(v, p)
                    b.store(index, q)
                else:
                    a = b.load(p)
                    better = b.fcmp_ordered("<", a, v)
                    b.store(b.select(better, v, a), p)
                    b.store(b.select(better, index, b.load(q)), q)

        visit(ky0, kx0, True)
        with loops.for_range(b, ky0, ky1, name="ky") as ky:
            with loops.for_range(b, kx0, kx1, name="kx") as kx:
                visit(ky, kx, False)
        obase = b.mul(b.add(b.mul(b.add(b.mul(n, i64(win.oh)), oy), i64(win.ow)), ox), i64(C))
        with loops.for_range(b, 0, C, name="st") as c:
            store_scalar(b, b.load(b.gep(acc, [c])), b.gep(po, [b.add(obase, c)]), dtype)
            iv = b.load(b.gep(ibuf, [c]))
            b.store(b.trunc(iv, ity) if ity != I64 else iv, b.gep(pi, [b.add(obase, c)]))

    def split_row(b, n, oy, ox, row, values):
        # The worker's row holds C values (in i64-sized slots) and then C indices.
        body(b, n, oy, ox, b.bitcast(row, ty.as_pointer()), b.gep(row, [i64(C)]), values)

    _pixel_loop(k, win, win.kh * win.kw * C, 2 * C, I64, [k.ptr(x), k.ptr(out), k.ptr(idx)],
                split_row, "max_pool_argmax")


# ---------------------------------------------------------------------------------------------
# Convolutions
# ---------------------------------------------------------------------------------------------
def _conv_window(op: Operation) -> Window:
    f = op.operands[1]
    return Window(op, f.type.shape[:2], tuple(op.attributes.get("dilations", (1, 1))),
                  _explicit_pads(op.attributes))


def _pixel_base(b, win: Window, strides, n, oy, ox):
    return b.add(b.add(b.mul(n, i64(strides[0])), b.mul(oy, i64(strides[1]))),
                 b.mul(ox, i64(strides[2])))


def _direct_conv(k, op: Operation, win: Window, OC: int, tap_len: int, update, name: str) -> None:
    """Direct loops: per output pixel, a row of OC sums; for each window tap (ky, kx) and
    input channel c, `update(b, acc, x value, filter row of the tap, c)` adds its products
    (padding taps add 0 * filter, as the reference's zero padding does: NaN for inf filters)."""
    x, f = op.operands
    out = op.results[0]
    dtype = x.type.dtype
    ty = compute_type(dtype)
    C = f.type.shape[2]
    xs, os_ = win.xs, win.out_strides(OC)
    zero = const(ty, 0.0)

    def body(b, n, oy, ox, acc, values):
        px, pf, po = values
        y0, x0 = win.origin(b, oy, ox)
        with loops.for_range(b, 0, OC, name="z") as j:
            b.store(zero, b.gep(acc, [j]))
        with loops.for_range(b, 0, win.kh, name="ky") as ky:
            iy = b.add(y0, b.mul(ky, i64(win.dh)))
            with loops.for_range(b, 0, win.kw, name="kx") as kx:
                ix = b.add(x0, b.mul(kx, i64(win.dw)))
                ftap = b.gep(pf, [b.mul(b.add(b.mul(ky, i64(win.kw)), kx), i64(tap_len))])
                with b.if_else(win.inside(b, iy, ix)) as (real, pad):
                    with real:
                        base = b.add(b.add(b.mul(n, i64(xs[0])), b.mul(iy, i64(xs[1]))),
                                     b.mul(ix, i64(xs[2])))
                        with loops.for_range(b, 0, C, name="c") as c:
                            xv = load_scalar(b, b.gep(px, [b.add(base, b.mul(c, i64(xs[3])))]), dtype)
                            update(b, acc, xv, ftap, c)
                    with pad:
                        with loops.for_range(b, 0, C, name="pc") as c:
                            update(b, acc, zero, ftap, c)
        obase = _pixel_base(b, win, os_, n, oy, ox)
        with loops.for_range(b, 0, OC, name="st") as j:
            store_scalar(b, b.load(b.gep(acc, [j])), b.gep(po, [b.add(obase, b.mul(j, i64(os_[3])))]), dtype)

    _pixel_loop(k, win, win.kh * win.kw * tap_len, OC, ty, [k.ptr(x), k.ptr(f), k.ptr(out)], body, name)


def _axpy(b, acc, xv, frow, count: int, dtype) -> None:
    """acc[j] += xv * frow[j] for j < count."""
    with loops.for_range(b, 0, count, name="j") as j:
        p = b.gep(acc, [j])
        b.store(b.fadd(b.load(p), b.fmul(xv, load_scalar(b, b.gep(frow, [j]), dtype))), p)


@kernel("nn.depthwise_conv2d")
def emit_depthwise_conv2d(k, op: Operation) -> None:
    """Channel c's taps multiply its `multiplier` filters: the sums c * multiplier + m."""
    f = op.operands[1]
    C, mult = f.type.shape[2], f.type.shape[3]
    if op.results[0].type.num_elements == 0:
        return
    dtype = op.operands[0].type.dtype

    def update(b, acc, xv, ftap, c):
        row = b.mul(c, i64(mult))
        _axpy(b, b.gep(acc, [row]), xv, b.gep(ftap, [row]), mult, dtype)

    _direct_conv(k, op, _conv_window(op), C * mult, C * mult, update, "depthwise_conv2d")


def _conv_direct(k, op: Operation, win: Window) -> None:
    """Direct convolution (float64): each (tap, c) adds x * the filter's row of O outputs."""
    C, O = op.operands[1].type.shape[2:]
    dtype = op.operands[0].type.dtype

    def update(b, acc, xv, ftap, c):
        _axpy(b, acc, xv, b.gep(ftap, [b.mul(c, i64(O))]), O, dtype)

    _direct_conv(k, op, win, O, C * O, update, "conv2d_direct")


#: Floats of one worker's im2col chunk (1 MB: it is still in L2 when the GEMM packs it).
IM2COL_BUDGET = 1 << 18


def _conv_gemm(k, op: Operation, win: Window, out: Value | None = None, bias=None,
               relu: bool = False) -> None:
    """float32/float16: im2col of a chunk of output pixels into the worker's scratch, then
    the packed GEMM of that chunk with the filter viewed as a [kh*kw*in_c, out_c] matrix.
    Work items are (image, chunk of its pixels), split over the cores. A fused epilogue
    (kernels/fusion.py) passes the group's output `out`, a float32 `bias` pointer and `relu`,
    which the GEMM applies as it stores (float32 NHWC only)."""
    x, f = op.operands
    out = op.results[0] if out is None else out
    dtype = x.type.dtype
    b = k.builder
    C, O = f.type.shape[2], f.type.shape[3]
    N, P = win.n, win.oh * win.ow
    K = win.kh * win.kw * C
    os_ = win.out_strides(O)
    module = k.module
    null = ir.Constant(F32.as_pointer(), None)
    if bias is not None or relu:
        assert dtype == dt.float32 and win.fmt == "NHWC", "epilogues are float32 NHWC only"
    bias = null if bias is None else bias
    px, po = k.ptr(x), k.ptr(out)
    if dtype == dt.float16:
        fw = scratch_of(k, max(K * O, 1), F32)
        with loops.for_range(b, 0, K * O, name="fcvt") as i:
            b.store(load_scalar(b, b.gep(k.ptr(f), [i]), dtype), b.gep(fw, [i]))
    else:
        fw = k.ptr(f)
    macs = N * P * K * O
    pointwise = (win.kh == win.kw == 1 and win.sh == win.sw == 1 and win.pt == win.pl == 0
                 and win.oh == win.h and win.ow == win.w)
    if dtype == dt.float32 and pointwise:
        threads = THREADS if macs >= MIN_PARALLEL_MACS else 1
        sgemm = gemm.declare_sgemm_parallel(module, relu)
        if win.fmt == "NHWC":
            work = scratch_of(k, gemm.parallel_scratch_floats(N * P, O, C, threads), F32)
            b.call(sgemm, [i64(N * P), i64(O), i64(C), px, i64(C), i64(1), fw, i64(O), i64(1),
                           po, i64(O), bias, work, i64(threads)])
        else:
            work = scratch_of(k, gemm.parallel_scratch_floats(O, P, C, threads), F32)
            with loops.for_range(b, 0, N, name="img") as n:
                b.call(sgemm, [i64(O), i64(P), i64(C), fw, i64(1), i64(O),
                               b.gep(px, [b.mul(n, i64(C * P))]), i64(P), i64(1),
                               b.gep(po, [b.mul(n, i64(O * P))]), i64(P), null, work, i64(threads)])
        return

    parallel = macs >= MIN_PARALLEL_MACS and THREADS > 1
    R, per_image, items, workers = pixel_chunks(N, P, IM2COL_BUDGET // max(K, 1), parallel)
    staged = dtype != dt.float32            # float16: the GEMM writes float32 rows first
    # Few output channels (LeNet's 6 or 16) would fill a fraction of the GEMM's nr-wide tile:
    # compute the transposed product [O, pixels] instead (pixels fill the vectors), then store
    # it transposed, adding the bias and applying the relu on the way.
    narrow = (dtype == dt.float32 and win.fmt == "NHWC" and O < gemm.default_config().nr
              and R >= gemm.default_config().nr)
    has_bias = bias is not null
    g_floats = max(gemm.scratch_floats(R, O, K), gemm.scratch_floats(O, R, K))
    per_worker = R * K + g_floats + (R * O if staged or narrow else 0)
    work = scratch_of(k, per_worker * workers, F32)
    sgemm = gemm.declare_sgemm(module, relu)
    plain_sgemm = gemm.declare_sgemm(module)

    def worker(b, tid, values):
        px, po, fw, work, bias = values
        base = b.gep(work, [b.mul(tid, i64(per_worker))])
        col = base
        gs = b.gep(base, [i64(R * K)])
        cbuf = b.gep(base, [i64(R * K + g_floats)])
        lo, hi = split_range(b, tid, items, workers)
        with loops.for_range(b, lo, hi, name="item") as item:
            n, p0, p1, rows = chunk_of(b, item, per_image, R, P)
            _im2col(b, win, px, dtype, col, n, p0, p1, C, K)
            if staged:
                b.call(sgemm, [rows, i64(O), i64(K), col, i64(K), i64(1), fw, i64(O), i64(1),
                               cbuf, i64(O), null, gs, i64(0), rows])
                with loops.for_range(b, p0, p1, name="sp") as p:
                    oy, ox = b.udiv(p, i64(win.ow)), b.urem(p, i64(win.ow))
                    obase = _pixel_base(b, win, os_, n, oy, ox)
                    crow = b.gep(cbuf, [b.mul(b.sub(p, p0), i64(O))])
                    with loops.for_range(b, 0, O, name="so") as o:
                        store_scalar(b, b.load(b.gep(crow, [o])),
                                     b.gep(po, [b.add(obase, b.mul(o, i64(os_[3])))]), dtype)
            elif narrow:
                b.call(plain_sgemm, [i64(O), rows, i64(K), fw, i64(1), i64(O), col, i64(1), i64(K),
                                     cbuf, rows, null, gs, i64(0), i64(O)])
                dst = b.gep(po, [b.mul(b.add(b.mul(n, i64(P)), p0), i64(O))])
                with loops.for_range(b, 0, rows, name="tp") as j:
                    with loops.for_range(b, 0, O, name="to") as o:
                        v = b.load(b.gep(cbuf, [b.add(b.mul(o, rows), j)]))
                        if has_bias:
                            v = b.fadd(v, b.load(b.gep(bias, [o])))
                        if relu:        # max(v, 0) keeping NaN, as the GEMM's relu does
                            v = b.select(b.fcmp_ordered("<", v, ir.Constant(F32, 0.0)), ir.Constant(F32, 0.0), v)
                        b.store(v, b.gep(dst, [b.add(b.mul(j, i64(O)), o)]))
            elif win.fmt == "NHWC":
                dst = b.gep(po, [b.mul(b.add(b.mul(n, i64(P)), p0), i64(O))])
                b.call(sgemm, [rows, i64(O), i64(K), col, i64(K), i64(1), fw, i64(O), i64(1),
                               dst, i64(O), bias, gs, i64(0), rows])
            else:
                dst = b.gep(po, [b.add(b.mul(n, i64(O * P)), p0)])
                b.call(sgemm, [i64(O), rows, i64(K), fw, i64(1), i64(O), col, i64(1), i64(K),
                               dst, i64(P), null, gs, i64(0), i64(O)])

    run_workers(b, workers, [px, po, fw, work, bias], worker, "conv2d")


def _memcpy(b, dst, src, nbytes: int) -> None:
    i8p = ir.IntType(8).as_pointer()
    fn = b.module.globals.get("llvm.memcpy.p0i8.p0i8.i64")
    if fn is None:
        fn = ir.Function(b.module, ir.FunctionType(ir.VoidType(), [i8p, i8p, I64, I1]),
                         "llvm.memcpy.p0i8.p0i8.i64")
    b.call(fn, [b.bitcast(dst, i8p), b.bitcast(src, i8p), i64(nbytes), ir.Constant(I1, 0)])


def _im2col(b, win: Window, px, dtype, col, n, p0, p1, C, K):
    """col[(p - p0) * K + (ky * kw + kx) * C + c] = x[n, tap row, tap column, c] (0 in the
    padding) for output pixels p in [p0, p1) of image n: float32 for float inputs (float16
    widened), the input's own type for integers (quant.conv2d's int8 / int16 columns).
    Values stored as they are read (float32, integers) are copied by memcpy: a whole window
    row at once when all its taps are inside (NHWC, unit dilation), else tap by tap."""
    xs = win.xs
    raw = dtype == dt.float32 or dtype.is_integer
    elem = storage_type(dtype) if dtype.is_integer else F32
    size = dtype.numpy.itemsize if raw else 4
    zero = ir.Constant(elem, 0 if dtype.is_integer else 0.0)
    whole_rows = raw and win.dw == 1 and xs[2] == C and xs[3] == 1

    def pixel(b, iy, ix, dst):
        with b.if_else(win.inside(b, iy, ix)) as (real, pad):
            with real:
                src = b.add(nbase, b.add(b.mul(iy, i64(xs[1])), b.mul(ix, i64(xs[2]))))
                if raw and xs[3] == 1:
                    _memcpy(b, dst, b.gep(px, [src]), C * size)
                else:
                    with loops.for_range(b, 0, C, name="c") as c:
                        v = load_scalar(b, b.gep(px, [b.add(src, b.mul(c, i64(xs[3])))]), dtype)
                        b.store(v, b.gep(dst, [c]))
            with pad:
                with loops.for_range(b, 0, C, name="z") as c:
                    b.store(zero, b.gep(dst, [c]))

    def taps(b, iy, x0, drow):
        with loops.for_range(b, 0, win.kw, name="kx") as kx:
            pixel(b, iy, b.add(x0, b.mul(kx, i64(win.dw))), b.gep(drow, [b.mul(kx, i64(C))]))

    with loops.for_range(b, p0, p1, name="p") as p:
        oy, ox = b.udiv(p, i64(win.ow)), b.urem(p, i64(win.ow))
        y0, x0 = win.origin(b, oy, ox)
        crow = b.gep(col, [b.mul(b.sub(p, p0), i64(K))])
        nbase = b.mul(n, i64(xs[0]))
        row_ok = b.and_(b.icmp_signed(">=", x0, i64(0)),
                        b.icmp_signed("<=", b.add(x0, i64((win.kw - 1) * win.dw)), i64(win.w - 1)))
        with loops.for_range(b, 0, win.kh, name="ky") as ky:
            iy = b.add(y0, b.mul(ky, i64(win.dh)))
            drow = b.gep(crow, [b.mul(ky, i64(win.kw * C))])
            if not whole_rows:
                taps(b, iy, x0, drow)
            else:
                y_ok = b.and_(b.icmp_signed(">=", iy, i64(0)), b.icmp_signed("<", iy, i64(win.h)))
                with b.if_else(b.and_(y_ok, row_ok)) as (whole, partial):
                    with whole:
                        src = b.gep(px, [b.add(nbase, b.add(b.mul(iy, i64(xs[1])), b.mul(x0, i64(xs[2]))))])
                        _memcpy(b, drow, src, win.kw * C * size)
                    with partial:
                        taps(b, iy, x0, drow)


def pixel_chunks(N: int, P: int, rows_max: int, parallel: bool, multiple: int = 1):
    """A convolution's work items: (image, chunk of R of its P output pixels), R at most about
    `rows_max` (a multiple of `multiple`) and, when parallel, small enough that the items feed
    every core. Returns (R, chunks per image, items, workers)."""
    per_image = -(-P // max(1, rows_max))
    if parallel:
        per_image = max(per_image, min(-(-4 * THREADS // N), max(1, P // 64)))
    R = -(-(-(-P // per_image)) // multiple) * multiple
    per_image = -(-P // R)
    items = N * per_image
    return R, per_image, items, (min(THREADS, items) if parallel else 1)


def chunk_of(b, item, per_image: int, R: int, P: int):
    """(image n, first pixel p0, end pixel p1, p1 - p0) of work item `item`."""
    n = b.udiv(item, i64(per_image))
    p0 = b.mul(b.urem(item, i64(per_image)), i64(R))
    p1 = imin(b, i64(P), b.add(p0, i64(R)))
    return n, p0, p1, b.sub(p1, p0)


@kernel("nn.conv2d")
def emit_conv2d(k, op: Operation) -> None:
    out = op.results[0]
    if out.type.num_elements == 0:
        return
    win = _conv_window(op)
    if op.operands[0].type.dtype == dt.float64:
        _conv_direct(k, op, win)
    else:
        _conv_gemm(k, op, win)


# ---------------------------------------------------------------------------------------------
# Dropout
# ---------------------------------------------------------------------------------------------
@kernel("nn.dropout")
def emit_dropout(k, op: Operation) -> None:
    """Uniforms of noise_shape from Philox (as random.uniform in x's dtype at block
    `counter`), then out = x * (1 / (1 - rate)) where u >= rate, else 0."""
    x, counter = op.operands
    out = op.results[0]
    dtype = x.type.dtype
    ty = compute_type(dtype)
    rate = op.attributes["rate"]
    b = k.builder
    px, po = k.ptr(x), k.ptr(out)
    total = x.type.num_elements
    if rate == 0:
        with loops.for_range(b, 0, total, name="cp") as i:
            b.store(b.load(b.gep(px, [i])), b.gep(po, [i]))
        return
    noise = tuple(op.attributes.get("noise_shape") or x.type.shape)
    count = int(np.prod(noise, dtype=np.int64))
    if total == 0:
        return
    u = scratch_of(k, max(count, 1), ty)
    start = philox.counter_start(b, b.load(k.ptr(counter)), op.attributes["seed2"])
    philox.emit_blocks(b, start, op.attributes["seed"], count, philox.values_per_block(dtype),
                       lambda bb, words: philox.uniform_values(bb, words, dtype),
                       lambda bb, value, at: bb.store(value, bb.gep(u, [at])))
    scale = const(ty, float(dtype.numpy.type(1 / (1 - rate))))
    threshold = const(ty, float(dtype.numpy.type(rate)))
    shape = list(x.type.shape)
    us = loops.broadcast_strides(noise, shape)
    dims, (us, xs) = loops.collapse_dims(shape, [us, loops.row_major_strides(shape)])
    with loops.for_nest(b, dims) as ivs:
        at = loops.offset(b, ivs, xs)
        keep = b.fcmp_ordered(">=", b.load(b.gep(u, [loops.offset(b, ivs, us)])), threshold)
        v = load_scalar(b, b.gep(px, [at]), dtype)
        store_scalar(b, b.select(keep, b.fmul(v, scale), const(ty, 0.0)), b.gep(po, [at]), dtype)
