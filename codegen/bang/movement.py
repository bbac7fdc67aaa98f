"""Data-movement kernels: plain GDRAM2GDRAM copies, concat / split (one 2-D strided copy per
piece), constant pad (fill from NRAM, then 2-D copies of the interior rows) and transpose (the input
staged in NRAM, the output gathered tile by tile by a scalar index loop)."""

from __future__ import annotations

import numpy as np

from tfc.ir import dtypes as dt

from .common import (ALIGN, Kernel, Param, align_elems, begin_kernel, c_float, clamped, ctype, grid,
                     pointer_params, round_up, split_over_tasks, storage_dtype, unsupported, where)


def copy_kernel(name: str, nbytes: int) -> Kernel:
    """dst = src, `nbytes` bytes: one GDRAM2GDRAM `__memcpy` by task 0."""
    params = [Param("src", "char *", None), Param("dst", "char *", None)]     # bound by Emitter.copy
    w = begin_kernel(name, params)
    w(f"if (taskId == 0) {{ __memcpy(dst, src, {nbytes}, GDRAM2GDRAM); }}")
    w.close()
    return Kernel(name, w.text(), params, (1, 1, 1), "BLOCK")


def kernel_for(name: str, op, target) -> Kernel:
    if op.name in ("array.concat", "array.stack"):
        return _concat(name, op)
    if op.name == "array.pad":
        return _pad(name, op, target)
    if op.name == "array.transpose":
        return _transpose(name, op, target)
    raise unsupported(op, "no data-movement kernel")


def _prod(xs) -> int:
    return int(np.prod(xs, dtype=np.int64))


def _storage(value):
    """(storage dtype, its size in bytes, its C type) of a tensor value."""
    st = storage_dtype(value.type.dtype)
    return st, st.itemsize, ctype(st)


def _copy_rows(dst: str, src: str, nbytes: int, rows: int, dst_stride: int, src_stride: int) -> str:
    """A GDRAM2GDRAM `__memcpy` of `rows` rows of `nbytes` (strides in bytes; one row: 1-D)."""
    if rows == 1:
        return f"__memcpy({dst}, {src}, {nbytes}, GDRAM2GDRAM);"
    return f"__memcpy({dst}, {src}, {nbytes}, GDRAM2GDRAM, {dst_stride}, {src_stride}, {rows - 1});"


def _concat(name, op) -> Kernel:
    return _pieces(name, op, op.result, op.operands, op.attributes["axis"], split=False)


def split_kernel(name, op) -> Kernel:
    """split / unstack along `axis`: one 2-D strided GDRAM2GDRAM copy per result."""
    return _pieces(name, op, op.operands[0], op.results, op.attributes.get("axis", 0), split=True)


def _pieces(name, op, whole, pieces, axis, split: bool) -> Kernel:
    """concat / stack (`pieces` into `whole`) or split / unstack (`whole` into `pieces`) along
    `axis`, single task: one 2-D strided GDRAM2GDRAM copy per piece, viewing `whole` as
    [outer, inner_whole] and piece i as the [outer, inner_i] column block at its offset."""
    shape = whole.type.shape
    axis = axis % len(shape)
    _, es, ct = _storage(whole)
    outer = _prod(shape[:axis])
    inner_whole = _prod(shape[axis:])
    if split:
        params = [Param("x", ct + " *", ("value", whole))]
        params += [Param(f"out{i}", ct + " *", ("output", r)) for i, r in enumerate(pieces)]
    else:
        params = [Param(f"in{i}", ct + " *", ("value", v)) for i, v in enumerate(pieces)]
        params.append(Param("out", ct + " *", ("output", whole)))
    w = begin_kernel(name, params, where(op))
    w("if (taskId != 0) { return; }")
    offset = 0
    for i, v in enumerate(pieces):
        inner = _prod(v.type.shape) // outer if outer else 0
        if inner and outer:
            if split:
                w(_copy_rows(f"out{i}", f"x + {offset}", inner * es, outer, inner * es, inner_whole * es))
            else:
                w(_copy_rows(f"out + {offset}", f"in{i}", inner * es, outer, inner_whole * es, inner * es))
        offset += inner
    w.close()
    return Kernel(name, w.text(), params, (1, 1, 1), "BLOCK")


def _pad(name, op, target) -> Kernel:
    if op.attributes.get("mode", "CONSTANT") != "CONSTANT":
        raise unsupported(op, f"pad mode {op.attributes.get('mode')}")
    x, out = op.operands[0], op.result
    if len(op.operands) != 1:
        raise unsupported(op, "paddings given as a tensor")
    ishape, oshape = list(x.type.shape), list(out.type.shape)
    rank = len(ishape)
    pads = list(op.attributes["paddings"])
    before = [int(pads[2 * i]) for i in range(rank)]
    st, es, ct = _storage(out)
    if st not in (dt.float32, dt.float16, dt.int8, dt.int16):
        raise unsupported(op, f"pad of {st.name}")
    value = float(op.attributes.get("constant_value", 0.0))
    total = _prod(oshape)
    fill = min(round_up(total, align_elems(st)), (target.nram_usable // 2) // es // align_elems(st) * align_elems(st))
    params = pointer_params(ct, x, out)
    w = begin_kernel(name, params, where(op), [("FILL", fill)], target.nram_usable)
    w("if (taskId != 0) { return; }")
    w(f"{ct} *buf = ({ct} *)nram_buffer;")
    literal = c_float(value) if st in (dt.float32, dt.float16) else str(int(value))
    w(f"__bang_write_value(buf, FILL, ({ct}){literal});")
    w(f"for (int o = 0; o < {total}; o += FILL) {{")
    w(f"  int len = {total} - o;")
    w("  if (len > FILL) { len = FILL; }")
    w(f"  __memcpy(out + o, buf, len * {es}, NRAM2GDRAM);")
    w("}")
    if _prod(ishape) > 0:
        ostr = [_prod(oshape[i + 1:]) for i in range(rank)]
        base = sum(b * s for b, s in zip(before, ostr))
        if rank == 1:
            w(_copy_rows(f"out + {base}", "x", ishape[0] * es, 1, 0, 0))
        else:
            prefix = ishape[:-2]
            w(f"for (int p = 0; p < {_prod(prefix)}; p++) {{")
            w(f"  int dst_off = {base} + {' + '.join(_prefix_terms(prefix, ostr)) or '0'};")
            rows, cols = ishape[-2], ishape[-1]
            w("  " + _copy_rows("out + dst_off", f"x + p * {rows * cols}", cols * es, rows, oshape[-1] * es, cols * es))
            w("}")
    w.close()
    return Kernel(name, w.text(), params, (1, 1, 1), "BLOCK")


def _prefix_terms(prefix, strides) -> list:
    """C terms `coord_i * strides[i]` of the element `p` of the flat `prefix` shape (last axis
    first; axes of stride 0 left out)."""
    terms, stride = [], 1
    for i in reversed(range(len(prefix))):
        coord = f"((p / {stride}) % {prefix[i]})" if stride > 1 else f"(p % {prefix[i]})"
        if strides[i]:
            terms.append(f"{coord} * {strides[i]}")
        stride *= prefix[i]
    return terms


def _swap_groups(shape, perm):
    """(O, A, B, I) if `perm` keeps a prefix and a suffix of the axes and swaps the two groups
    of axes between them ([O, A, B, I] -> [O, B, A, I]), else None."""
    rank = len(perm)
    k = 0
    while k < rank and perm[k] == k:
        k += 1
    m = rank
    while m > k and perm[m - 1] == m - 1:
        m -= 1
    if k == m:
        return None
    middle = perm[k:m]
    j = middle[0]
    if middle != list(range(j, m)) + list(range(k, j)):
        return None
    return (_prod(shape[:k]), _prod(shape[k:j]), _prod(shape[j:m]), _prod(shape[m:]))


def _transpose(name, op, target) -> Kernel:
    perm = [int(p) for p in op.attributes["perm"]]
    groups = _swap_groups(list(op.operands[0].type.shape), perm)
    if groups is not None:
        o, a, b, inner = groups
        es = _storage(op.operands[0])[1]
        if inner == 1 and es in (2, 4) and min(a, b) > 1:
            return _blocked_transpose(name, op, target, o, a, b)
        if inner * es >= ALIGN:
            return _row_transpose(name, op, target, o, a, b, inner)
    return _gather_transpose(name, op, target)


def _blocked_transpose(name, op, target, o, a, b) -> Kernel:
    """[O, A, B] -> [O, B, A]: square blocks through NRAM, each transposed by __bang_transpose."""
    x, out = op.operands[0], op.result
    st, es, ct = _storage(x)
    ae = align_elems(st)
    t = ae
    while 2 * (2 * t) * (2 * t) * es <= target.nram_usable // 2 and 2 * t <= max(round_up(a, ae), round_up(b, ae)):
        t *= 2
    ta, tb = min(t, round_up(a, ae)), min(t, round_up(b, ae))
    na, nb = -(-a // ta), -(-b // tb)
    jobs = o * na * nb
    params = pointer_params(ct, x, out)
    w = begin_kernel(name, params, f"{where(op)}: [{o}, {a}, {b}] -> [{o}, {b}, {a}] in {ta}x{tb} blocks",
                     [("A", a), ("B", b), ("TA", ta), ("TB", tb), ("NA", na), ("NB", nb), ("JOBS", jobs)],
                     target.nram_usable)
    split_over_tasks(w, "JOBS", empty_return=False)
    w(f"{ct} *src = ({ct} *)nram_buffer;")
    w(f"{ct} *dst = ({ct} *)(nram_buffer + {round_up(ta * tb * es, ALIGN)});")
    w.open("for (int job = start; job < start + count; job++)")
    w("int ob = job / (NA * NB);")
    w("int ia = (job / NB) % NA;")
    w("int ib = job % NB;")
    w("int a0 = ia * TA;")
    w("int b0 = ib * TB;")
    clamped(w, "ra", "A - a0", "TA")
    clamped(w, "rb", "B - b0", "TB")
    w(f"__memcpy(src, x + ob * A * B + a0 * B + b0, rb * {es}, GDRAM2NRAM, TB * {es}, B * {es}, ra - 1);")
    w("__bang_transpose(dst, src, TA, TB);")
    w(f"__memcpy(out + ob * A * B + b0 * A + a0, dst, ra * {es}, NRAM2GDRAM, A * {es}, TA * {es}, rb - 1);")
    w.close()
    w.close()
    return Kernel(name, w.text(), params, grid(target, jobs), "BLOCK")


def _row_transpose(name, op, target, o, a, b, inner) -> Kernel:
    """[O, A, B, I] -> [O, B, A, I] with I*sizeof >= 128 bytes: one 2-D GDRAM2GDRAM copy of B
    rows of I elements per (o, a)."""
    x, out = op.operands[0], op.result
    _, es, ct = _storage(x)
    jobs = o * a
    params = pointer_params(ct, x, out)
    w = begin_kernel(name, params, f"{where(op)}: [{o}, {a}, {b}, {inner}] -> [{o}, {b}, {a}, {inner}]",
                     [("A", a), ("B", b), ("I", inner), ("JOBS", jobs)])
    split_over_tasks(w, "JOBS", empty_return=False)
    w.open("for (int job = start; job < start + count; job++)")
    w("int ob = job / A;")
    w("int ia = job % A;")
    if b == 1:
        w(f"__memcpy(out + ob * A * B * I + ia * I, x + ob * A * B * I + ia * B * I, I * {es}, GDRAM2GDRAM);")
    else:
        w(f"__memcpy(out + ob * A * B * I + ia * I, x + ob * A * B * I + ia * B * I, I * {es}, GDRAM2GDRAM, "
          f"A * I * {es}, I * {es}, B - 1);")
    w.close()
    w.close()
    return Kernel(name, w.text(), params, grid(target, jobs), "BLOCK")


def _gather_transpose(name, op, target) -> Kernel:
    x, out = op.operands[0], op.result
    perm = [int(p) for p in op.attributes["perm"]]
    ishape, oshape = list(x.type.shape), list(out.type.shape)
    _, es, ct = _storage(x)
    total = _prod(ishape)
    if round_up(total * es, ALIGN) > target.nram_usable // 2:
        raise unsupported(op, f"a transpose of {total * es} bytes (the input must fit in half of NRAM)")
    istr = [_prod(ishape[i + 1:]) for i in range(len(ishape))]
    ostr = [_prod(oshape[i + 1:]) for i in range(len(oshape))]
    terms = []
    for axis, (d, s) in enumerate(zip(oshape, ostr)):
        coord = f"(g / {s})" if s != 1 else "g"
        if axis > 0:
            coord = f"({coord} % {d})"
        src_stride = istr[perm[axis]]
        if d > 1:
            terms.append(coord if src_stride == 1 else f"{coord} * {src_stride}")
    index = " + ".join(terms) or "0"
    tile = max(1, (target.nram_usable // 2 - 2 * ALIGN) // es)
    params = pointer_params(ct, x, out)
    w = begin_kernel(name, params, f"{where(op)}: perm {perm}", [("TOTAL", total), ("TILE", tile)],
                     target.nram_usable)
    split_over_tasks(w, "TOTAL")
    w(f"{ct} *src = ({ct} *)nram_buffer;")
    w(f"{ct} *dst = ({ct} *)(nram_buffer + {round_up(total * es, ALIGN)});")
    w(f"__memcpy(src, x, {total * es}, GDRAM2NRAM);")
    w.open("for (int t = 0; t < count; t += TILE)")
    clamped(w, "len", "count - t", "TILE")
    w.open("for (int j = 0; j < len; j++)")
    w("int g = start + t + j;")
    w(f"dst[j] = src[{index}];")
    w.close()
    w(f"__memcpy(out + start + t, dst, len * {es}, NRAM2GDRAM);")
    w.close()
    w.close()
    return Kernel(name, w.text(), params, grid(target, total // 4096 + 1), "BLOCK")


# Affine gathers: slice, strided_slice, reverse, broadcast_to -------------------------------------
MAX_INDEX_MAP = 1 << 25


def affine_map(op):
    """(base, strides) with out[o] = x[base + sum(o_i * strides_i)] (flat indices), found by
    running the op's reference semantics on the input's flat indices; None if not affine."""
    from tfc.ir.opdef import get_op

    x = op.operands[0]
    n = _prod(x.type.shape)
    if n == 0 or n > MAX_INDEX_MAP:
        return None
    index = np.arange(n, dtype=np.int64).reshape(x.type.shape)
    try:
        mapped = np.asarray(get_op(op.name).compute(index, **op.attributes))
    except Exception:                         # noqa: BLE001 - not applicable to an index array
        return None
    oshape = tuple(op.result.type.shape)
    if mapped.shape != oshape or mapped.size == 0:
        return None
    base = int(mapped.reshape(-1)[0])
    strides = []
    for axis, d in enumerate(oshape):
        if d == 1:
            strides.append(0)
            continue
        at = [0] * len(oshape)
        at[axis] = 1
        strides.append(int(mapped[tuple(at)]) - base)
    grid = base + sum(np.arange(d, dtype=np.int64).reshape([-1 if i == a else 1 for i in range(len(oshape))]) * s
                      for a, (d, s) in enumerate(zip(oshape, strides))) if oshape else np.int64(base)
    if not np.array_equal(np.broadcast_to(grid, oshape), mapped):
        return None
    return base, strides


def affine_copy_kernel(name, op, target) -> Kernel:
    """out[o] = x[base + o . strides]: rows of the last axis copied with 2-D strided
    GDRAM2GDRAM copies when its stride is 1, otherwise gathered through NRAM by an index loop."""
    found = affine_map(op)
    if found is None:
        return _gather_any(name, op, target)
    base, strides = found
    x, out = op.operands[0], op.result
    oshape = list(out.type.shape)
    _, es, ct = _storage(x)
    if not oshape:
        oshape, strides = [1], [0]
    if strides[-1] != 1 and oshape[-1] > 1:
        return _gather_any(name, op, target)
    rows = oshape[-2] if len(oshape) >= 2 else 1
    rstride = strides[-2] if len(oshape) >= 2 else 0
    cols = oshape[-1]
    prefix = oshape[:-2]
    npre = _prod(prefix)
    params = pointer_params(ct, x, out)
    w = begin_kernel(name, params, f"{where(op)}: out[o] = x[{base} + o . {strides}]", [("JOBS", npre)])
    split_over_tasks(w, "JOBS", empty_return=False)
    w.open("for (int p = start; p < start + count; p++)")
    w(f"int src = {base}{''.join(' + ' + t for t in _prefix_terms(prefix, strides))};")
    if _prod(oshape) == 0:
        pass
    elif rows == 1 or rstride >= 0:
        w(_copy_rows(f"out + p * {rows * cols}", "x + src", cols * es, rows, cols * es, rstride * es))
    else:
        w(f"for (int r = 0; r < {rows}; r++) {{")
        w(f"  __memcpy(out + p * {rows * cols} + r * {cols}, x + src + r * ({rstride}), {cols * es}, GDRAM2GDRAM);")
        w("}")
    w.close()
    w.close()
    return Kernel(name, w.text(), params, grid(target, npre), "BLOCK")


def _gather_any(name, op, target) -> Kernel:
    """Any injective op of one operand: its flat index map (from the reference semantics) as
    a weight, the input staged in NRAM, an index loop per output tile."""
    from tfc.ir.opdef import get_op

    x, out = op.operands[0], op.result
    n = _prod(x.type.shape)
    _, es, ct = _storage(x)
    if round_up(n * es, ALIGN) > target.nram_usable // 2 or n > MAX_INDEX_MAP:
        raise unsupported(op, f"a gather from {n * es} bytes (the input must fit in half of NRAM)")
    index = np.arange(n, dtype=np.int32).reshape(x.type.shape)
    mapped = np.ascontiguousarray(np.asarray(get_op(op.name).compute(index, **op.attributes)), np.int32)
    total = mapped.size
    tile = max(ALIGN, ((target.nram_usable // 2) // (es + 4)) // 32 * 32)
    params = [Param("x", ct + " *", ("value", x)), Param("index", "int32_t *", ("weight", mapped.reshape(-1))),
              Param("out", ct + " *", ("output", out))]
    w = begin_kernel(name, params, f"{where(op)}: out[i] = x[index[i]]", [("TOTAL", total), ("TILE", tile)],
                     target.nram_usable)
    split_over_tasks(w, "TOTAL")
    off = round_up(n * es, ALIGN)
    w(f"{ct} *src = ({ct} *)nram_buffer;")
    w(f"int32_t *idx = (int32_t *)(nram_buffer + {off});")
    w(f"{ct} *dst = ({ct} *)(nram_buffer + {off + round_up(tile * 4, ALIGN)});")
    w(f"__memcpy(src, x, {n * es}, GDRAM2NRAM);")
    w.open("for (int t = 0; t < count; t += TILE)")
    clamped(w, "len", "count - t", "TILE")
    w("__memcpy(idx, index + start + t, len * 4, GDRAM2NRAM);")
    w("for (int j = 0; j < len; j++) { dst[j] = src[idx[j]]; }")
    w(f"__memcpy(out + start + t, dst, len * {es}, NRAM2GDRAM);")
    w.close()
    w.close()
    return Kernel(name, w.text(), params, grid(target, total // 4096 + 1), "BLOCK")
