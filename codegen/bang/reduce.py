"""Reductions (sum/mean/max/min over contiguous axes, with a fused elementwise prologue) and
softmax over the last axis, in BANG C.

A reduction of a tensor viewed as [A, R, B] over R:
  B == 1 ("inner"): each task takes a range of the A rows; a row is read in chunks of NRAM
    size, the prologue computed on the chunk, the tail past the row padded with the identity,
    and the chunk reduced with `__bang_reduce_sum` (then the 128-byte partial sums added by a
    scalar loop) or `__bang_argmax` (dst[0] is the maximum);
  B > 1 ("outer"): the jobs (a, block of B columns) are split over the tasks; blocks of rows
    are loaded with one 2-D `__memcpy` (rows padded to 128 bytes) and accumulated with
    `__bang_add` / `__bang_maxequal` over whole column blocks.
"""

from __future__ import annotations

import numpy as np

from tfc.ir import dtypes as dt

from .common import (ALIGN, CodegenError, Kernel, Param, align_elems, begin_kernel, c_float, clamped, ctype,
                     grid, lcm, pointer_params, round_up, split_over_tasks)
from .elementwise import TileProgram

F32 = dt.float32


def _init_value(kind: str) -> str:
    big = float(np.finfo(np.float32).max)
    return {"sum": "0.0f", "mean": "0.0f", "max": c_float(-big), "min": c_float(big)}[kind]


def reduce_kernel(name, kind, ops, inputs, src, A, R, B, out_value, target, comment="") -> Kernel:
    """`kind` in sum|mean|max|min; `src` the value reduced (an input's value or the result of
    the prologue `ops`); the reduced tensor is src viewed as [A, R, B]."""
    for inp in inputs:
        if inp.kind not in ("stream", "const", "scalar"):
            raise CodegenError(f"{name}: a reduction prologue takes only full-size or scalar inputs "
                               f"({inp.name} is a {inp.kind} broadcast)")
    prog = TileProgram(ops, inputs, src, target)
    prog.build()
    if prog.extra_periods:
        raise CodegenError(f"{name}: per-channel quantization inside a reduction")
    dtype = src.type.dtype
    if dtype not in (dt.float32, dt.float16):
        raise CodegenError(f"{name}: reductions of {dtype.name} (float16/float32 only)")
    out_dtype = out_value.type.dtype
    es = dtype.itemsize
    va = lcm(*[align_elems(t) for t in {dtype, F32, *[i.dtype for i in inputs]}])
    nslots = max(prog.nslots, 1)
    params = [Param(i.name, ctype(i.dtype) + " *", ("value", i.outer)) for i in inputs if i.kind != "const"]
    params.append(Param("out", ctype(out_dtype) + " *", ("output", out_value)))
    w = begin_kernel(name, params, comment, [("A", A), ("R", R), ("B", B)], target.nram_usable, nram_macro=True)
    ct = ctype(dtype)
    oct_ = ctype(out_dtype)
    scale = f" * {c_float(1.0 / R)}" if kind == "mean" else ""
    heads = ALIGN // es
    if B == 1:
        budget = target.nram_usable - 2 * ALIGN * 64
        chunk = min(round_up(R, va), (budget // ((nslots + 1) * prog.max_itemsize)) // va * va)
        if chunk <= 0:
            raise CodegenError(f"{name}: the prologue needs more NRAM than there is")
        slot_bytes = round_up(chunk * prog.max_itemsize, ALIGN)
        rb = 64 * ALIGN // 4 // 4      # result entries buffered before a store
        w(f"#define CHUNK {chunk}")
        w(f"#define SLOT_BYTES {slot_bytes}")
        split_over_tasks(w, "A")
        w("char *stage = nram_buffer;")
        w(f"{ct} *tmp = ({ct} *)(nram_buffer + {nslots} * SLOT_BYTES);")
        w(f"{oct_} *res = ({oct_} *)(nram_buffer + {nslots + 1} * SLOT_BYTES);")
        w.open("for (int r = 0; r < count; r++)")
        w(f"float acc = {_init_value(kind)};")
        w.open("for (int c0 = 0; c0 < R; c0 += CHUNK)")
        clamped(w, "len", "R - c0", "CHUNK")
        w(f"int n = (len + {va - 1}) / {va} * {va};")
        for inp in inputs:
            if inp.kind == "stream":
                slot = prog.stream_slots[inp.name]
                w(f"__memcpy({prog.slot_ptr(slot, inp.dtype)}, {inp.name} + (start + r) * R + c0, "
                  f"len * {inp.dtype.itemsize}, GDRAM2NRAM);")
        w.extend(prog.lines)
        v = prog.ptr(prog.result)
        w(f"{ct} *v = {v};")
        w(f"for (int j = len; j < n; j++) {{ v[j] = ({ct}){_init_value(kind)}; }}")   # the tail: neutral
        if kind in ("sum", "mean"):
            w("__bang_reduce_sum(tmp, v, n);")
            w(f"for (int j = 0; j < n; j += {heads}) {{ acc += (float)tmp[j]; }}")
        elif kind == "max":
            w("__bang_argmax(tmp, v, n);")
            w("if ((float)tmp[0] > acc) { acc = (float)tmp[0]; }")
        else:
            w(f"__bang_mul_scalar(v, v, ({ct})-1.0f, n);")
            w("__bang_argmax(tmp, v, n);")
            w("if (-(float)tmp[0] < acc) { acc = -(float)tmp[0]; }")
        w.close()
        _buffered_store(w, f"({oct_})(acc{scale})", rb, out_dtype.itemsize)
        w.close()
        w.close()
        return Kernel(name, w.text(), params, grid(target, A), "BLOCK")
    # outer: B > 1
    bc = min(round_up(B, va), 8192 // es // va * va or va)
    nb = -(-B // bc)
    budget = target.nram_usable - bc * 4 * 2
    rows = max(1, min(R, budget // ((nslots + 1) * bc * prog.max_itemsize)))
    if rows * nslots * bc * prog.max_itemsize > budget:
        raise CodegenError(f"{name}: the prologue needs more NRAM than there is")
    slot_bytes = round_up(rows * bc * prog.max_itemsize, ALIGN)
    w(f"#define BC {bc}")
    w(f"#define NB {nb}")
    w(f"#define ROWS {rows}")
    w(f"#define SLOT_BYTES {slot_bytes}")
    split_over_tasks(w, "A * NB", "(A * NB) / taskDim")
    w("char *stage = nram_buffer;")
    w(f"{ct} *acc = ({ct} *)(nram_buffer + {nslots} * SLOT_BYTES);")
    w(f"{oct_} *res = ({oct_} *)(nram_buffer + {nslots} * SLOT_BYTES + {bc * es});")
    w.open("for (int job = start; job < start + count; job++)")
    w("int a = job / NB;")
    w("int b0 = (job % NB) * BC;")
    clamped(w, "blen", "B - b0", "BC")
    w(f"int bn = (blen + {va - 1}) / {va} * {va};")
    w(f"__bang_write_value(acc, BC, ({ct}){_init_value(kind)});")
    w.open("for (int r0 = 0; r0 < R; r0 += ROWS)")
    clamped(w, "rows", "R - r0", "ROWS")
    w("int n = rows * BC;")
    for inp in inputs:
        if inp.kind == "stream":
            slot = prog.stream_slots[inp.name]
            ies = inp.dtype.itemsize
            w(f"__memcpy({prog.slot_ptr(slot, inp.dtype)}, {inp.name} + (a * R + r0) * B + b0, blen * {ies}, "
              f"GDRAM2NRAM, BC * {ies}, B * {ies}, rows - 1);")
    w.extend(prog.lines)
    w(f"{ct} *v = {prog.ptr(prog.result)};")
    fn = {"sum": "__bang_add", "mean": "__bang_add", "max": "__bang_maxequal", "min": "__bang_minequal"}[kind]
    w(f"for (int k = 0; k < rows; k++) {{ {fn}(acc, acc, v + k * BC, bn); }}")
    w.close()
    if kind == "mean":
        w(f"__bang_mul_scalar(acc, acc, ({ct}){c_float(1.0 / R)}, bn);")
    if out_dtype != dtype:
        raise CodegenError(f"{name}: output dtype differs from the input's")
    w("__memcpy(out + a * B + b0, acc, blen * %d, NRAM2GDRAM);" % out_dtype.itemsize)
    w.close()
    w.close()
    return Kernel(name, w.text(), params, grid(target, A * nb), "BLOCK")


def _buffered_store(w, value: str, rb, itemsize: int) -> None:
    """The end of the body of a loop over this task's rows r: res[r % rb] = value, and every
    rb rows (and after the last row) the buffered results stored with one copy. `rb`: a number
    or the name of a #define."""
    last = rb - 1 if isinstance(rb, int) else f"{rb} - 1"
    w(f"res[r % {rb}] = {value};")
    w(f"if (r % {rb} == {last} || r == count - 1) {{")
    w(f"  __memcpy(out + start + r - r % {rb}, res, (r % {rb} + 1) * {itemsize}, NRAM2GDRAM);")
    w("}")


def _rows_of_last_axis(name, value, what):
    """(A, C, dtype, itemsize, C type, the dtype's lowest value as a C literal) of a float
    tensor viewed as A rows of its last axis (C elements)."""
    shape = tuple(value.type.shape)
    dtype = value.type.dtype
    if dtype not in (dt.float32, dt.float16):
        raise CodegenError(f"{name}: {what} of {dtype.name}")
    lowest = c_float(-float(np.finfo(np.float32).max) if dtype == dt.float32 else -65504.0)
    return int(np.prod(shape[:-1], dtype=np.int64)), shape[-1], dtype, dtype.itemsize, ctype(dtype), lowest


def softmax_kernel(name, value, out_value, target, log=False, comment="") -> Kernel:
    """Softmax over the last axis: per row max (argmax), x - max, exp, sum, * 1/sum."""
    A, C, dtype, es, ct, big = _rows_of_last_axis(name, value, "softmax")
    va = align_elems(dtype)
    cp = round_up(C, va)
    budget = target.nram_usable - 2 * round_up(cp * es, ALIGN)
    rows = min(A, budget // (cp * es), 1024)
    if rows <= 0:
        raise CodegenError(f"{name}: a row of {C} elements does not fit in NRAM")
    params = pointer_params(ct, value, out_value)
    w = begin_kernel(name, params, comment, [("ROWS_TOTAL", A), ("C", C), ("CP", cp), ("ROWS", rows)],
                     target.nram_usable, nram_macro=True)
    split_over_tasks(w, "ROWS_TOTAL")
    w(f"{ct} *buf = ({ct} *)nram_buffer;")
    w(f"{ct} *tmp = ({ct} *)(nram_buffer + {rows * cp * es});")
    w.open("for (int r0 = 0; r0 < count; r0 += ROWS)")
    clamped(w, "rows", "count - r0", "ROWS")
    w(f"__memcpy(buf, x + (start + r0) * C, C * {es}, GDRAM2NRAM, CP * {es}, C * {es}, rows - 1);")
    w.open("for (int k = 0; k < rows; k++)")
    w(f"{ct} *v = buf + k * CP;")
    w(f"for (int j = C; j < CP; j++) {{ v[j] = ({ct}){big}; }}")
    w("__bang_argmax(tmp, v, CP);")
    w("float mx = (float)tmp[0];")
    w(f"__bang_sub_scalar(v, v, ({ct})mx, CP);")
    e = "e" if log else "v"
    if log:
        w(f"{ct} *e = tmp + CP;")
        w(f"__memcpy(e, v, CP * {es}, NRAM2NRAM);")
    w(f"__bang_active_exp({e}, {e}, CP);")
    w(f"for (int j = C; j < CP; j++) {{ {e}[j] = ({ct})0.0f; }}")
    w(f"__bang_reduce_sum(tmp, {e}, CP);")
    w("float sum = 0.0f;")
    w(f"for (int j = 0; j < CP; j += {ALIGN // es}) {{ sum += (float)tmp[j]; }}")
    if log:      # (x - max) - log(sum): the log of the sum through the table on one granule
        w(f"__bang_write_value(tmp, {ALIGN // es}, ({ct})sum);")
        w(f"__bang_active_log(tmp, tmp, {ALIGN // es});")
        w("__bang_sub_scalar(v, v, tmp[0], CP);")
    else:
        w(f"__bang_mul_scalar(v, v, ({ct})(1.0f / sum), CP);")
    w.close()
    w(f"__memcpy(out + (start + r0) * C, buf, C * {es}, NRAM2GDRAM, C * {es}, CP * {es}, rows - 1);")
    w.close()
    w.close()
    return Kernel(name, w.text(), params, grid(target, A), "BLOCK")


def argmax_kernel(name, value, out_value, target, is_min=False, comment="") -> Kernel:
    """Index of the first largest (smallest) value along the last axis: per row
    `__bang_argmax` (dst[1] holds the index), rows padded with the identity."""
    A, C, dtype, es, ct, big = _rows_of_last_axis(name, value, "argmax")
    odt = out_value.type.dtype
    cp = round_up(C, align_elems(dtype))
    rb = 256
    if 2 * cp * es + rb * 8 > target.nram_usable:
        raise CodegenError(f"{name}: a row of {C} elements does not fit in NRAM")
    oct_ = ctype(odt)
    params = [Param("x", ct + " *", ("value", value)), Param("out", oct_ + " *", ("output", out_value))]
    w = begin_kernel(name, params, comment, [("ROWS_TOTAL", A), ("C", C), ("CP", cp), ("RB", rb)],
                     target.nram_usable)
    split_over_tasks(w, "ROWS_TOTAL")
    w(f"{ct} *v = ({ct} *)nram_buffer;")
    w(f"{ct} *tmp = ({ct} *)(nram_buffer + {round_up(cp * es, ALIGN)});")
    w(f"{oct_} *res = ({oct_} *)(nram_buffer + {2 * round_up(cp * es, ALIGN)});")
    w.open("for (int r = 0; r < count; r++)")
    w(f"__memcpy(v, x + (start + r) * C, C * {es}, GDRAM2NRAM);")
    if is_min:
        w(f"__bang_mul_scalar(v, v, ({ct})-1.0f, CP);")
    w(f"for (int j = C; j < CP; j++) {{ v[j] = ({ct}){big}; }}")
    w("__bang_argmax(tmp, v, CP);")
    _buffered_store(w, f"({oct_})tmp[1]", "RB", odt.itemsize)
    w.close()
    w.close()
    return Kernel(name, w.text(), params, grid(target, A), "BLOCK")
