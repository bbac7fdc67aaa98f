"""Tensor-unit BANG C kernels: convolution, matrix product, pooling (and depthwise conv).

Each `emit_*` function is pure: given static geometry it returns a `KernelSource` holding the
text of one `__mlu_entry__` kernel (a whole `.mlu` file) with every size baked in as a
constant, its parameter list, the launch grid and task type, and the GDRAM layout each
pointer parameter expects (`buffers`, `weight_layouts`). Nothing here touches a device.

Kernel shape (all kernels)
--------------------------
* One file-scope `__nram__ char nram_buffer[...]` carved into 128-byte aligned regions (input
  tile, output tile, accumulator, bias, maps), sized to the profile's usable NRAM (384 KB on
  mlu270, 640 KB on mlu370); conv/matmul weights live in one `__wram__` array (1 MB WRAM).
* `if (__is_mpu()) return;` first (the body also runs on a cluster's memory core under UNIONn).
* The work is a list of items `(output-channel chunk, output row)` in chunk-major order (batch
  folded into the rows); task `taskId` of `taskDim` takes a contiguous range of
  `items / taskDim` items and the last task takes the remainder too. The grid is
  `dim = (min(items, cores), 1, 1)` with `ktype = "BLOCK"` (any taskDim works).
* Input tiles are staged GDRAM->NRAM with `__memcpy`: SAME/explicit padding is done in NRAM
  (the tile is filled with 0, or with the dtype's lowest value for max pooling, whenever it
  touches the halo or has padded channels; then the interior is copied with 2-D strided
  copies). Output tiles go back NRAM->GDRAM with 2-D copies that drop the padded channels.
* Tiles cover `TILE_ROWS` output rows (x `TILE_COLS` output columns when one row does not fit).

Convolution (`emit_conv2d`, and `emit_matmul` which is a 1x1 convolution)
---------------------------------------------------------------------------
`__bang_conv(dst, src, wram, Ci, H, W, kh, kw, stride_w, stride_h, Co, fix_position)` on an
NRAM tile [in_rows, in_cols, Ci_chunk] and a WRAM filter chunk [Co_chunk, kh, kw, Ci_chunk].
Co is padded to a multiple of 64 with zero filters (Ci to a multiple of 128 bytes on mlu270
with zero filters and zeroed tile lanes); when the filter does not fit WRAM, Co is split into
chunks of a multiple of 64 (and, if even 64 output channels do not fit, Ci into chunks whose
partial results are summed with `__bang_add`). Bias (`[Co]`, the output dtype) is added with
`__bang_cycle_add`, relu with `__bang_active_relu`.

Fixed point (mlu270; mlu370 too when `fix_position` is given with an integer dtype): **the
input arrives already quantized** in GDRAM as int8/int16 (the IR's `quant.quantize` is a
separate elementwise kernel) and the filter is int8/int16 too; the kernel computes
`out = f32(sum(x_q * w_q)) * 2^fix_position (+ bias) (relu)` with a float output (`out_dtype`,
default float32): a `quant.conv2d` followed by `quant.dequantize` of scale 2^(px+pw) is one
kernel with `fix_position = px + pw`. Float dtypes (float16/float32) are accepted on mlu370
only (`float_conv`); the position is then 0.

Weights are pre-arranged by the caller (see `arrange_filter`, `arrange_matmul_weight`):
    conv   filter: [Co_pad, kh, kw, Ci_pad]  (HWIO transposed to OHWI, zero padded)
    matmul weight: [N_pad, K_pad]            (b [K, N] transposed, zero padded)

Pooling (`emit_pool`)
---------------------
`__bang_maxpool` / `__bang_sumpool` on NRAM tiles [in_rows, in_cols, C_pad] (C padded to 128
bytes on mlu270; the padded lanes are never stored). They drop partial windows, so SAME
padding is an explicit halo: max pooling fills it with the dtype's lowest finite value (TF:
padding never wins; NaN handling is the simulator's max, not TF's NaN-ignoring max), average
pooling sums with a zero halo and multiplies each output row by a reciprocal-count map
`1 / (valid_rows(oh) * valid_cols(ow))` (TF divides by the number of real elements). The maps
(one per distinct valid-row count, at most a few) are built once per task in NRAM with
`__bang_write_value`; VALID (or unpadded SAME) average pooling multiplies by 1/(kh*kw).

Depthwise convolution (`emit_depthwise_conv2d`): vector unit, float dtypes only, multiplier 1:
per output row and filter tap one `__bang_cycle_mul` by the tap's [C] weights plus one
`__bang_add`; stride 2 gathers the tap's input pixels with a 2-D NRAM2NRAM copy first.
Filter layout: [kh, kw, C_pad] (HWC, multiplier dim dropped, zero padded).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Callable

import numpy as np

from tfc.ir.dtypes import as_dtype

from .common import round_up

__all__ = ["KernelSource", "emit_conv2d", "emit_matmul", "emit_pool", "emit_depthwise_conv2d",
           "arrange_filter", "arrange_matmul_weight", "arrange_depthwise_filter",
           "pool_padding", "TARGETS"]


# --------------------------------------------------------------------------------------------
# Results and targets
# --------------------------------------------------------------------------------------------
@dataclass
class KernelSource:
    """One emitted kernel.

    name, source (the whole .mlu file), params [(name, C type)] in call order, dim (x, y, z),
    ktype. `buffers` maps each pointer parameter to (shape, numpy dtype name) of the GDRAM
    buffer it expects (padded shapes for weights); `weight_layouts` maps each weight parameter
    to a description of its layout and `arrange` maps it to a function turning the IR-shaped
    constant (HWIO filter, [K, N] matrix) into that layout. `inputs` / `outputs` name the data
    parameters. `info` has the chosen tiling (for tests, reports and reviews).
    """

    name: str
    source: str
    params: list
    dim: tuple
    ktype: str
    buffers: dict = field(default_factory=dict)
    weight_layouts: dict = field(default_factory=dict)
    arrange: dict = field(default_factory=dict)
    inputs: list = field(default_factory=list)
    outputs: list = field(default_factory=list)
    info: dict = field(default_factory=dict)


@dataclass(frozen=True)
class _Target:
    name: str
    nram_usable: int
    wram_bytes: int
    cores: int
    strict_alignment: bool
    float_conv: bool
    gdram_bytes_per_cycle: float = 102.4       # chip GDRAM bandwidth (cost model of BANG.md)
    macs_per_cycle: tuple = (("int8", 4096), ("int16", 2048))   # tensor unit, per core

    def mac_rate(self, dtype: np.dtype) -> float:
        return float(dict(self.macs_per_cycle).get(np.dtype(dtype).name, 1))


TARGETS = {
    "mlu270": _Target("mlu270", 384 * 1024, 1024 * 1024, 16, True, False, 102.4,
                      (("int8", 4096), ("int16", 2048))),
    "mlu370": _Target("mlu370", 640 * 1024, 1024 * 1024, 32, False, True, 307.2,
                      (("int8", 4096), ("int16", 2048), ("float16", 1536), ("float32", 384))),
}


def _target(profile) -> _Target:
    if isinstance(profile, _Target):
        return profile
    if isinstance(profile, str):
        try:
            return TARGETS[profile]
        except KeyError:
            raise ValueError(f"unknown MLU profile {profile!r} (expected one of {sorted(TARGETS)})") from None
    # A Profile object of the simulator (duck-typed; codegen does not import runtime).
    rates = tuple((name, getattr(profile, f"{attr}_ops_per_cycle", 0) / 2)
                  for name, attr in (("int8", "int8"), ("int16", "int16"), ("float16", "fp16"),
                                     ("float32", "fp32")))
    return _Target(profile.name, int(profile.nram_usable), int(profile.wram_bytes),
                   int(profile.clusters) * int(profile.cores_per_cluster),
                   bool(profile.strict_alignment), bool(profile.float_conv),
                   float(profile.gdram_gbps) / float(profile.clock_ghz),
                   tuple((k, v) for k, v in rates if v))


_C_TYPES = {"int8": "int8_t", "int16": "int16_t", "float16": "half", "float32": "float"}


def _dtype(value, what="dtype") -> np.dtype:
    try:
        dt = as_dtype(value).numpy
    except TypeError as exc:
        raise ValueError(f"{what}: {exc}") from None
    if dt is None or dt.name not in _C_TYPES:
        raise ValueError(f"{what}: {value!r} is not one of int8, int16, float16, float32")
    return np.dtype(dt)


def _ctype(dt: np.dtype) -> str:
    return _C_TYPES[np.dtype(dt).name]


def _cdiv(a: int, b: int) -> int:
    return -(-a // b)


def _a128(nbytes: int) -> int:
    return round_up(max(nbytes, 0), 128)


def _min(a: str, b: str) -> str:
    return f"(({a}) < ({b}) ? ({a}) : ({b}))"


def _max(a: str, b: str) -> str:
    return f"(({a}) > ({b}) ? ({a}) : ({b}))"


def _lowest_literal(dt: np.dtype) -> str:
    return "-65504.0f" if dt == np.float16 else "-3.402823466e+38f"


def pool_padding(h, w, kh, kw, sh, sw, padding):
    """(out_h, out_w, (top, bottom, left, right)) of a pooling/conv window as TF computes it;
    `padding` is "SAME", "VALID" or an explicit (top, bottom, left, right)."""
    if isinstance(padding, str):
        if padding.upper() == "VALID":
            if h < kh or w < kw:
                raise ValueError(f"window {kh}x{kw} larger than the {h}x{w} input (VALID)")
            return (h - kh) // sh + 1, (w - kw) // sw + 1, (0, 0, 0, 0)
        if padding.upper() != "SAME":
            raise ValueError(f"padding must be SAME, VALID or (top, bottom, left, right), got {padding!r}")
        oh, ow = _cdiv(h, sh), _cdiv(w, sw)
        th = max((oh - 1) * sh + kh - h, 0)
        tw = max((ow - 1) * sw + kw - w, 0)
        return oh, ow, (th // 2, th - th // 2, tw // 2, tw - tw // 2)
    if len(tuple(padding)) != 4:
        raise ValueError(f"explicit padding must be (top, bottom, left, right), got {padding!r}")
    pt, pb, pl, pr = (int(p) for p in padding)
    if min(pt, pb, pl, pr) < 0:
        raise ValueError(f"negative padding {padding}")
    hp, wp = h + pt + pb, w + pl + pr
    if hp < kh or wp < kw:
        raise ValueError(f"window {kh}x{kw} larger than the padded {hp}x{wp} input")
    return (hp - kh) // sh + 1, (wp - kw) // sw + 1, (pt, pb, pl, pr)


# --------------------------------------------------------------------------------------------
# Shared C fragments
# --------------------------------------------------------------------------------------------
def _header(kernel: str, doc: str, defines: dict) -> list:
    lines = ["// Generated by tfc.codegen.bang.nn -- do not edit.", f"// {kernel}: {doc}",
             "#include <mlu.h>", ""]
    for key, value in defines.items():
        lines.append(f"#define {key} {value}")
    lines.append("")
    return lines


def _entry(name: str, params) -> str:
    """`__mlu_entry__ void name(T *p, ...) {` for params [(name, C type)]."""
    return f"__mlu_entry__ void {name}({', '.join(ct + p for p, ct in params)}) {{"


def _filter_params(names, in_ct: str, out_ct: str, bias: bool) -> list:
    """[(input, T *), (filter, T *), (bias, U *) if bias, (output, U *)] for names (input,
    filter, bias, output)."""
    x, w, b, y = names
    return [(x, f"{in_ct} *"), (w, f"{in_ct} *")] + ([(b, f"{out_ct} *")] if bias else []) + [(y, f"{out_ct} *")]


def _task_split(total_items: str) -> list:
    """C lines: this task's item range [item_begin, item_end); the last task takes the rest."""
    return [
        f"  int items_per_task = {total_items} / taskDim;",
        "  int item_begin = taskId * items_per_task;",
        f"  int item_end = item_begin + items_per_task + (taskId == taskDim - 1 ? {total_items} % taskDim : 0);",
    ]


def _stage_tile(*, src: str, tile: str, csize: int, c_real: str, c_tile: str, c_off: str,
                contiguous: bool, fill: str, always_fill: bool, indent: str, copy: str = "__memcpy") -> list:
    """C lines staging one padded input tile [in_rows, in_cols, c_tile] at padded origin
    (py0, px0) of image b into NRAM `tile` (variables in_rows, in_cols, py0, px0, b, c_valid
    exist).

    The real data occupy padded rows [PT, PT + H) and columns [PL, PL + W). The tile is filled
    (`fill`, a C statement on `tile` with count `fill_n`) when it touches the halo (or always),
    followed by `__sync_compute()` so the fill lands before the copies; then the interior is
    copied: one 2-D copy of whole row segments when a pixel's channels are contiguous in both
    places (`contiguous`), else one 2-D copy per row over the pixels.
    """
    i = indent
    lines = [
        f"{i}int r_lo = {_max('py0', 'PT')};",
        f"{i}int r_hi = {_min('py0 + in_rows', 'PT + H')};",
        f"{i}int c_lo = {_max('px0', 'PL')};",
        f"{i}int c_hi = {_min('px0 + in_cols', 'PL + W')};",
        f"{i}int fill_n = in_rows * in_cols * {c_tile};",
    ]
    cond = ("r_lo > py0 || r_hi < py0 + in_rows || c_lo > px0 || c_hi < px0 + in_cols")
    if always_fill:
        lines += [f"{i}{fill}", f"{i}__sync_compute();"]
    else:
        lines += [f"{i}if ({cond}) {{", f"{i}  {fill}", f"{i}  __sync_compute();", f"{i}}}"]
    src_px = f"({src} + ((b * H + (r_lo - PT)) * W + (c_lo - PL)) * {c_real} + {c_off})"
    dst_px = f"({tile} + ((r_lo - py0) * in_cols + (c_lo - px0)) * {c_tile})"
    lines.append(f"{i}if (r_hi > r_lo && c_hi > c_lo) {{")
    if contiguous:
        lines += [
            f"{i}  {copy}({dst_px}, {src_px}, (c_hi - c_lo) * {c_real} * {csize}, GDRAM2NRAM,",
            f"{i}           in_cols * {c_tile} * {csize}, W * {c_real} * {csize}, r_hi - r_lo - 1);",
        ]
    else:
        lines += [
            f"{i}  for (int r = 0; r < r_hi - r_lo; r++) {{",
            f"{i}    {copy}({dst_px} + r * in_cols * {c_tile}, {src_px} + r * W * {c_real},",
            f"{i}             c_valid * {csize}, GDRAM2NRAM, {c_tile} * {csize}, {c_real} * {csize}, c_hi - c_lo - 1);",
            f"{i}  }}",
        ]
    lines.append(f"{i}}}")
    return lines


def _store_tile(*, dst: str, tile: str, osize: int, c_total: str, c_tile: str, c_valid: str,
                c_off: str, col_tiled: bool, indent: str, copy: str = "__memcpy") -> list:
    """C lines storing NRAM tile [rows, cols, c_tile] to GDRAM [.., HO, WO, c_total] at image b,
    row oh0, column ow0, channel c_off, keeping the first c_valid channels of each pixel."""
    i = indent
    base = f"({dst} + ((b * HO + oh0) * WO + ow0) * {c_total} + {c_off})"
    if not col_tiled:
        return [f"{i}{copy}({base}, {tile}, {c_valid} * {osize}, NRAM2GDRAM, {c_total} * {osize},",
                f"{i}         {c_tile} * {osize}, rows * cols - 1);"]
    return [f"{i}for (int r = 0; r < rows; r++) {{",
            f"{i}  {copy}({base} + r * WO * {c_total}, {tile} + r * cols * {c_tile}, {c_valid} * {osize},",
            f"{i}           NRAM2GDRAM, {c_total} * {osize}, {c_tile} * {osize}, cols - 1);",
            f"{i}}}"]


_FIELDS = ("item", "ow0", "valid", "chunk", "b", "oh0", "rows", "cols")


def _derive(p: str, indent: str, chunked: bool = True) -> list:
    """C lines (re)computing tile cursor `p`'s fields from p_item / p_ow0."""
    i = indent
    return [f"{i}{p}_valid = {p}_item < item_end;"] + (
           [f"{i}{p}_chunk = {p}_item / TOTAL_ROWS;"] if chunked else []) + [
            f"{i}{p}_b = ({p}_item % TOTAL_ROWS) / HO;",
            f"{i}{p}_oh0 = ({p}_item % TOTAL_ROWS) % HO;",
            f"{i}{p}_rows = {_min(_min('TILE_ROWS', f'HO - {p}_oh0'), f'item_end - {p}_item')};",
            f"{i}{p}_cols = {_min('TILE_COLS', f'WO - {p}_ow0')};"]


def _advance(p: str, indent: str, chunked: bool = True) -> list:
    i = indent
    return ([f"{i}if ({p}_valid) {{",
             f"{i}  {p}_ow0 += TILE_COLS;",
             f"{i}  if ({p}_ow0 >= WO) {{",
             f"{i}    {p}_ow0 = 0;",
             f"{i}    {p}_item += {p}_rows;",
             f"{i}  }}",
             f"{i}}}"] + _derive(p, indent, chunked))


def _bind(p: str, indent: str, chunked: bool = True) -> list:
    """C lines declaring the plain tile variables (b, oh0, ow0, rows, cols, chunk) of cursor p."""
    i = indent
    return [f"{i}int {f} = {p}_{f};" for f in ("chunk", "b", "oh0", "ow0", "rows", "cols")
            if chunked or f != "chunk"]


_DECL = re.compile(r"^\s*(?:int|float|half|int8_t|int16_t) \*?(\w+) = [^;]*;$")


def _prune(lines: list) -> list:
    """Drop simple declarations (`int x = ...;`, `T *p = ...;`) whose name nothing else uses,
    until none is left (so the kernels compile without unused-variable warnings)."""
    lines = list(lines)
    while True:
        text = [ln for ln in lines]
        drop = None
        for k, ln in enumerate(lines):
            m = _DECL.match(ln)
            if m:
                word = re.compile(r"\b%s\b" % m.group(1))
                if not any(word.search(o) for j, o in enumerate(text) if j != k):
                    drop = k
                    break
        if drop is None:
            return lines
        del lines[drop]


def _tile_loop(*, pipelined: bool, stage, compute, store, indent="  ", chunked: bool = True) -> list:
    """The per-task tile loop over this task's items [item_begin, item_end).

    Tiles are (item, ow0) cursors: TILE_ROWS output rows of one image (and one output-channel
    chunk: chunk = item / TOTAL_ROWS) by TILE_COLS output columns. `stage(slot)`,
    `compute(slot)`, `store(slot)` return C lines using the variables of `_bind` (slot is a C
    expression: 0/1 buffer index). Pipelined: a 3-stage software pipeline, iteration j
    stages tile j (async copies into input buffer j%2), computes tile j-1 (buffers (j-1)%2)
    and stores tile j-2 (async, from output buffer j%2), j = `step`, then `__sync()`. Otherwise each tile is
    staged, computed and stored in turn with blocking copies.
    """
    i = indent
    fields = [f for f in _FIELDS if chunked or f != "chunk"]
    L = [f"{i}int {', '.join(f'ld_{f}' for f in fields)};",
         f"{i}ld_item = item_begin;", f"{i}ld_ow0 = 0;"]
    L += _derive("ld", i, chunked)
    ii = i + "  "
    iii = ii + "  "
    if not pipelined:
        L += [f"{i}while (ld_valid) {{", f"{ii}{{"]
        # each part in its own block (no redeclarations); the store waits for the compute
        for part, after in ((stage("0", iii + "  "), []), (compute("0", iii + "  "), ["__sync_compute();"]),
                            (store("0", iii + "  "), ["__sync();"])):
            if part:
                L += [f"{iii}{{"] + _prune(_bind("ld", iii + "  ", chunked) + part) + [f"{iii}}}"]
            L += [f"{iii}{a}" for a in after]
        L += [f"{ii}}}"]
        L += _advance("ld", ii, chunked)
        L += [f"{i}}}"]
        return L
    for p in ("cp", "st"):
        L += [f"{i}int {', '.join(f'{p}_{f} = 0' for f in fields[1:])};"]
    L += [f"{i}int step = 0;",
          f"{i}while (ld_valid || cp_valid || st_valid) {{",
          f"{ii}int slot = step % 2;",
          f"{ii}if (ld_valid) {{"]
    L += _prune(_bind("ld", iii, chunked) + stage("slot", iii))
    L += [f"{ii}}}", f"{ii}if (cp_valid) {{"]
    L += _prune(_bind("cp", iii, chunked) + compute("1 - slot", iii))
    L += [f"{ii}}}", f"{ii}if (st_valid) {{"]
    L += _prune(_bind("st", iii, chunked) + store("slot", iii))
    L += [f"{ii}}}", f"{ii}__sync();"]
    L += [f"{ii}st_{f} = cp_{f};" for f in fields[1:]]
    L += [f"{ii}cp_{f} = ld_{f};" for f in fields[1:]]
    L += _advance("ld", ii, chunked)
    L += [f"{ii}step++;", f"{i}}}"]
    return L


def _pick(slot: str, a: str, b: str) -> str:
    """The C pointer for buffer `slot` (a C expression) of the pair (a, b)."""
    if slot == "0":
        return a
    return f"(({slot}) ? {b} : {a})"


def _tile_ptr(kind: str, ct: str, slot: str, indent: str) -> str:
    """C line `T *tin = tile_in<slot>;` (kind "in") or `T *tout = tile_out<slot>;` (kind "out")."""
    return f"{indent}{ct} *t{kind} = {_pick(slot, f'tile_{kind}0', f'tile_{kind}1')};"


#: C lines: the padded input window (in_rows x in_cols at py0, px0) of tile (oh0, ow0, rows, cols).
_GEOMETRY = ["int in_rows = (rows - 1) * SH + KH;", "int in_cols = (cols - 1) * SW + KW;",
             "int py0 = oh0 * SH;", "int px0 = ow0 * SW;"]


def _window_bytes(rows: int, cols: int, kh: int, kw: int, sh: int, sw: int, pixel_in: int,
                  pixel_out: int) -> tuple:
    """(input window, output tile) bytes, each 128-byte aligned, of a rows x cols output tile
    (`pixel_*`: bytes per pixel)."""
    in_rows, in_cols = (rows - 1) * sh + kh, (cols - 1) * sw + kw
    return _a128(in_rows * in_cols * pixel_in), _a128(rows * cols * pixel_out)


def _carve(regions) -> tuple:
    """({name: byte offset}, total bytes) of NRAM regions (name, bytes, present) laid out in
    order, the absent ones left out."""
    offsets, offset = {}, 0
    for region, nbytes, present in regions:
        if present:
            offsets[region] = offset
            offset += nbytes
    return offsets, offset


def _check_positive(name: str, **dims) -> None:
    for key, value in dims.items():
        if int(value) < 1:
            raise ValueError(f"{name}: {key} must be >= 1, got {value}")


def _float_dtype(name: str, dtype, what: str) -> np.dtype:
    dt = _dtype(dtype)
    if dt.kind != "f":
        raise ValueError(f"{name}: {what} float16/float32, got {dt.name}")
    return dt


def _nhwc_stage(ct: str, size: int, contiguous: bool, fill: str, copy: str):
    """stage(slot, ind) of the vector-unit kernels (pool, depthwise): the tile's input window
    of `input` [N, H, W, C] into tile_in<slot> [in_rows, in_cols, C_PAD]."""
    def stage(slot, ind):
        return ([f"{ind}{v}" for v in _GEOMETRY + ["int c_valid = C;"]] + [_tile_ptr("in", ct, slot, ind)]
                + _stage_tile(src="input", tile="tin", csize=size, c_real="C", c_tile="C_PAD", c_off="0",
                              contiguous=contiguous, fill=fill, always_fill=False, indent=ind, copy=copy))
    return stage


def _nhwc_store(ct: str, size: int, col_tiled: bool, copy: str):
    """store(slot, ind) of the vector-unit kernels: tile_out<slot> [rows, cols, C_PAD] into
    `output` [N, HO, WO, C], the padded channels dropped."""
    def store(slot, ind):
        return ([_tile_ptr("out", ct, slot, ind)]
                + _store_tile(dst="output", tile="tout", osize=size, c_total="C", c_tile="C_PAD",
                              c_valid="C", c_off="0", col_tiled=col_tiled, indent=ind, copy=copy))
    return store


def _rows_cap(total_items: int, cores: int, pipelined: bool) -> int:
    """Tile rows cap: about a third of a task's share when pipelining (so it has tiles to overlap)."""
    if not pipelined:
        return 1 << 30
    return max(1, _cdiv(_cdiv(total_items, cores), 3))


def _fit_tiles(ho: int, wo: int, nbytes: Callable[[int, int], int], budget: int,
               rows_cap: int = 1 << 30, window=(1, 1, 1, 1)):
    """The (rows <= rows_cap, cols) output tile with nbytes(rows, cols) <= budget that re-reads
    the least input (halo ratio ((rows-1)*sh+kh)/rows * ((cols-1)*sw+kw)/cols for
    window = (kh, kw, sh, sw)), preferring larger tiles, then whole rows; None if nothing fits."""
    kh, kw, sh, sw = window
    best = None
    for rows in range(1, max(1, min(ho, rows_cap)) + 1):
        if nbytes(rows, 1) > budget:
            break
        lo, hi = 1, wo
        while lo < hi:                              # widest tile of this many rows that fits
            mid = (lo + hi + 1) // 2
            if nbytes(rows, mid) <= budget:
                lo = mid
            else:
                hi = mid - 1
        cols = lo
        ratio = ((rows - 1) * sh + kh) / rows * ((cols - 1) * sw + kw) / cols
        key = (round(ratio, 6), -rows * cols, cols < wo)
        if best is None or key < best[0]:
            best = (key, (rows, cols))
    return None if best is None else best[1]


# --------------------------------------------------------------------------------------------
# Convolution / matmul
# --------------------------------------------------------------------------------------------
def arrange_filter(filter_hwio: np.ndarray, ks: KernelSource, param: str = "filter") -> np.ndarray:
    """HWIO filter -> the [Co_pad, kh, kw, Ci_pad] zero-padded layout `ks` expects."""
    shape, dtype = ks.buffers[param]
    co_pad, kh, kw, ci_pad = shape
    f = np.asarray(filter_hwio)
    if f.shape[:2] != (kh, kw) or f.shape[2] > ci_pad or f.shape[3] > co_pad:
        raise ValueError(f"filter of shape {f.shape} does not fit the kernel's {shape}")
    out = np.zeros(shape, dtype)
    out[:f.shape[3], :, :, :f.shape[2]] = f.transpose(3, 0, 1, 2)
    return out


def arrange_matmul_weight(b_kn: np.ndarray, ks: KernelSource, param: str = "weight") -> np.ndarray:
    """[K, N] right-hand matrix -> the [N_pad, K_pad] zero-padded layout `ks` expects."""
    shape, dtype = ks.buffers[param]
    b = np.asarray(b_kn)
    if b.ndim != 2 or b.shape[0] > shape[1] or b.shape[1] > shape[0]:
        raise ValueError(f"matrix of shape {b.shape} does not fit the kernel's {shape}")
    out = np.zeros(shape, dtype)
    out[:b.shape[1], :b.shape[0]] = b.T
    return out


def _conv_dtypes(dtype, tgt: _Target, fix_position, out_dtype, what):
    dt = _dtype(dtype)
    if dt.kind == "i":
        if fix_position is None:
            raise ValueError(f"{what}: integer ({dt.name}) inputs need a fix_position")
        odt = _dtype(out_dtype or "float32", "out_dtype")
        if odt.kind != "f":
            raise ValueError(f"{what}: out_dtype must be float16 or float32, got {odt.name}")
        return dt, odt, int(fix_position)
    if not tgt.float_conv:
        raise ValueError(f"{what}: {tgt.name}'s tensor unit takes int8/int16 inputs only (got {dt.name}); "
                         "quantize the input first (quant.quantize) and pass fix_position")
    odt = _dtype(out_dtype or dt, "out_dtype")
    if odt != dt:
        raise ValueError(f"{what}: a {dt.name} convolution produces {dt.name}, not {odt.name}")
    return dt, odt, int(fix_position or 0)


def _plan_conv(*, n, ho, wo, ci, co, kh, kw, sh, sw, isize, osize, tgt, bias, align_c, w, dt, relu=False):
    """Chunking and tile sizes of a convolution (dict), or ValueError.

    Ci is padded (mlu270: 128 bytes) and chunked only when 64 filters do not fit WRAM. The Co
    chunk (a multiple of 64 that fits WRAM and NRAM) minimises the estimated kernel time
    max(GDRAM traffic / bandwidth, tensor work / tasks): a smaller chunk gives more items
    (parallelism when there are few rows) and makes every task load less filter, a larger one
    re-reads the input fewer times.
    """
    unit = max(128 // isize, 1) if align_c else 1
    ci_pad = round_up(ci, unit)
    co_pad = round_up(co, 64)
    wram = tgt.wram_bytes
    per_co = kh * kw * ci_pad * isize
    if 64 * per_co <= wram:
        ci_chunk = ci_pad
        co_fit = min(co_pad, (wram // per_co) // 64 * 64)
    else:
        cunit = unit if align_c else 64
        ci_chunk = (wram // (64 * kh * kw * isize)) // cunit * cunit
        if ci_chunk < cunit:
            raise ValueError(f"conv filter {kh}x{kw} is too large for WRAM even with 64 output "
                             f"and {cunit} input channels")
        co_fit = 64
    total_rows = n * ho
    ci_chunked = ci_chunk < ci_pad
    pipelined = not ci_chunked
    budget = tgt.nram_usable
    copies = 2 if pipelined else 1

    def nbytes(rows, cols, co_c):
        tin, out = _window_bytes(rows, cols, kh, kw, sh, sw, ci_chunk * isize, co_c * osize)
        return (copies * tin + out * (2 if (ci_chunked or pipelined) else 1)
                + (_a128(co_c * osize) if bias else 0))

    macs = total_rows * wo * co_pad * kh * kw * ci_pad
    rate, bw = tgt.mac_rate(dt), tgt.gdram_bytes_per_cycle
    out_bytes = total_rows * wo * co * osize
    best = None
    for co_chunk in range(co_fit // 64 * 64, 63, -64):
        nchunks = _cdiv(co_pad, co_chunk)
        items = nchunks * total_rows
        fit = _fit_tiles(ho, wo, lambda r, c: nbytes(r, c, co_chunk), budget,
                         _rows_cap(items, tgt.cores, pipelined), (kh, kw, sh, sw))
        if fit is None:
            continue
        rows, cols = fit
        chunk_w = co_chunk * kh * kw * ci_pad * isize
        in_bytes = (items * ((rows - 1) * sh + kh) / rows * ((cols - 1) * sw + kw) / cols
                    * min(w, wo * sw) * ci * isize)
        # vector work: the tile fill (bound) plus bias / relu passes over the output tiles
        tiles = items / rows * _cdiv(wo, cols)
        fill = tiles * ((rows - 1) * sh + kh) * ((cols - 1) * sw + kw) * ci_chunk * isize
        vector = (fill + total_rows * wo * co_pad * osize * (int(bias) + int(relu))) / 128
        for tasks in range(min(items, tgt.cores), 0, -1):
            per, loads = items // tasks, 0
            for t in range(tasks):             # filter chunk loads of each task's item range
                b = t * per
                e = b + per + (items % tasks if t == tasks - 1 else 0)
                loads += (e - 1) // total_rows - b // total_rows + 1
            weight_bytes = loads * chunk_w * (_cdiv(total_rows, tasks) if ci_chunked else 1)
            share = (per + items % tasks) / items          # the last task's share of the items
            task_cycles = max(macs * share / rate + vector * share,
                              (weight_bytes / tasks + (in_bytes + out_bytes) * share) / bw)
            cost = max((weight_bytes + in_bytes + out_bytes) / bw, task_cycles)
            if best is None or cost < best[0] * 0.99:
                best = (cost, co_chunk, fit, tasks)
    if best is None:
        raise ValueError("conv tile does not fit NRAM even as one output pixel with 64 channels")
    _, co_chunk, (rows, cols), tasks = best
    return dict(ci_pad=ci_pad, co_pad=co_pad, ci_chunk=ci_chunk, co_chunk=co_chunk,
                n_co_chunks=_cdiv(co_pad, co_chunk), n_ci_chunks=_cdiv(ci_pad, ci_chunk),
                tile_rows=rows, tile_cols=cols, col_tiled=cols < wo, pipelined=pipelined,
                nram_bytes=nbytes(rows, cols, co_chunk), estimated_cycles=int(best[0]), tasks=tasks,
                wram_bytes=co_chunk * kh * kw * ci_chunk * isize)


def _conv_kernel(*, name, kind, n, h, w, ci, co, kh, kw, sh, sw, pads, dt, odt, fix, tgt,
                 bias, relu, params_names, doc) -> KernelSource:
    pt, pb, pl, pr = pads
    ho, wo, _ = pool_padding(h, w, kh, kw, sh, sw, pads)
    isize, osize = dt.itemsize, odt.itemsize
    plan = _plan_conv(n=n, ho=ho, wo=wo, ci=ci, co=co, kh=kh, kw=kw, sh=sh, sw=sw, isize=isize,
                      osize=osize, tgt=tgt, bias=bias, align_c=tgt.strict_alignment, w=w, dt=dt, relu=relu)
    ci_pad, co_pad, ci_chunk, co_chunk = plan["ci_pad"], plan["co_pad"], plan["ci_chunk"], plan["co_chunk"]
    ci_chunked = plan["n_ci_chunks"] > 1
    pipelined = plan["pipelined"]
    col_tiled = plan["col_tiled"]
    total_items = plan["n_co_chunks"] * n * ho
    it, ot = _ctype(dt), _ctype(odt)
    x_name, w_name, b_name, y_name = params_names

    in_bytes, out_bytes = _window_bytes(plan["tile_rows"], plan["tile_cols"], kh, kw, sh, sw,
                                        ci_chunk * isize, co_chunk * osize)
    regions, total_nram = _carve((("tile_in0", in_bytes, True), ("tile_in1", in_bytes, pipelined),
                                  ("tile_out0", out_bytes, True), ("tile_out1", out_bytes, pipelined),
                                  ("tile_acc", out_bytes, ci_chunked),
                                  ("bias_nram", _a128(co_chunk * osize), bias)))
    assert total_nram == plan["nram_bytes"] and total_nram <= tgt.nram_usable, (total_nram, plan)
    wram_elems = co_chunk * kh * kw * ci_chunk

    defines = dict(N=n, H=h, W=w, CI=ci, CO=co, KH=kh, KW=kw, SH=sh, SW=sw, PT=pt, PL=pl,
                   HO=ho, WO=wo, CI_PAD=ci_pad, CO_PAD=co_pad, CI_CHUNK=ci_chunk,
                   CO_CHUNK=co_chunk, TILE_ROWS=plan["tile_rows"], TILE_COLS=plan["tile_cols"],
                   TOTAL_ROWS=n * ho, TOTAL_ITEMS=total_items, FIX_POS=fix,
                   NRAM_BYTES=total_nram, WRAM_ELEMS=wram_elems)
    L = _header(name, doc, defines)
    L += ["__nram__ char nram_buffer[NRAM_BYTES];", f"__wram__ {it} wram_filter[WRAM_ELEMS];", ""]
    params = _filter_params(params_names, it, ot, bias)
    L.append(_entry(name, params))
    L.append("  if (__is_mpu()) return;")
    for region, off in regions.items():
        ct = it if region.startswith("tile_in") else ot
        L.append(f"  {ct} *{region} = ({ct} *)(nram_buffer + {off});")
    L += _task_split("TOTAL_ITEMS")
    if bias or not ci_chunked:
        L.append("  int loaded_chunk = -1;")
    copy = "__memcpy_async" if pipelined else "__memcpy"
    chunk_vars = ["int co0 = chunk * CO_CHUNK;",
                  f"int co_n = {_min('CO_PAD - co0', 'CO_CHUNK')};",
                  f"int co_valid = {_min('CO - co0', 'co_n')};"]

    def stage_lines(tile, ind, c_tile, c_off):
        return _stage_tile(src=x_name, tile=tile, csize=isize, c_real="CI", c_tile=c_tile, c_off=c_off,
                           contiguous=(ci_pad == ci) and not ci_chunked,
                           fill=f"__bang_write_zero({tile}, fill_n);", always_fill=(ci_pad != ci),
                           indent=ind, copy=copy)

    def stage(slot, ind):
        if ci_chunked:
            return []                       # staged per Ci chunk inside compute()
        return ([f"{ind}{v}" for v in _GEOMETRY + ["int c_valid = CI;"]] + [_tile_ptr("in", it, slot, ind)]
                + stage_lines("tin", ind, "CI_PAD", "0"))

    def compute(slot, ind):
        tin, tout = "tin", "tout"
        lines = [f"{ind}{v}" for v in chunk_vars + _GEOMETRY] + [f"{ind}int n_out = rows * cols * co_n;"]
        lines += [_tile_ptr("in", it, slot, ind), _tile_ptr("out", ot, slot, ind)]
        load = [f"{ind}if (chunk != loaded_chunk) {{", f"{ind}  loaded_chunk = chunk;"]
        if not ci_chunked:
            load.append(f"{ind}  __memcpy(wram_filter, {w_name} + co0 * KH * KW * CI_PAD, "
                        f"co_n * KH * KW * CI_PAD * {isize}, GDRAM2WRAM);")
        if bias:
            load += [f"{ind}  if (co_valid < co_n) {{",
                     f"{ind}    __bang_write_zero(bias_nram, co_n);",
                     f"{ind}    __sync_compute();",
                     f"{ind}  }}",
                     f"{ind}  __memcpy(bias_nram, {b_name} + co0, co_valid * {osize}, GDRAM2NRAM);"]
        load.append(f"{ind}}}")
        if len(load) > 3:
            lines += load
        if ci_chunked:
            i2 = ind + "  "
            lines += [f"{ind}for (int ci0 = 0; ci0 < CI_PAD; ci0 += CI_CHUNK) {{",
                      f"{i2}int ci_n = {_min('CI_PAD - ci0', 'CI_CHUNK')};",
                      f"{i2}int c_valid = {_min('CI - ci0', 'ci_n')};",
                      f"{i2}__memcpy(wram_filter, {w_name} + co0 * KH * KW * CI_PAD + ci0, ci_n * {isize}, GDRAM2WRAM,",
                      f"{i2}         ci_n * {isize}, CI_PAD * {isize}, co_n * KH * KW - 1);"]
            lines += stage_lines("tin", i2, "ci_n", "ci0")
            lines += [f"{i2}if (ci0 == 0) {{",
                      f"{i2}  __bang_conv(tout, tin, wram_filter, ci_n, in_rows, in_cols, KH, KW, SW, SH, co_n, FIX_POS);",
                      f"{i2}}} else {{",
                      f"{i2}  __bang_conv(tile_acc, tin, wram_filter, ci_n, in_rows, in_cols, KH, KW, SW, SH, co_n, FIX_POS);",
                      f"{i2}  __bang_add(tout, tout, tile_acc, n_out);",
                      f"{i2}}}",
                      f"{i2}__sync_compute();",
                      f"{ind}}}"]
        else:
            lines.append(f"{ind}__bang_conv({tout}, {tin}, wram_filter, CI_PAD, in_rows, in_cols, KH, KW, SW, SH, co_n, FIX_POS);")
        if bias:
            lines.append(f"{ind}__bang_cycle_add({tout}, {tout}, bias_nram, n_out, co_n);")
        if relu:
            lines.append(f"{ind}__bang_active_relu({tout}, {tout}, n_out);")
        return lines

    def store(slot, ind):
        return ([f"{ind}{v}" for v in chunk_vars] + [_tile_ptr("out", ot, slot, ind)]
                + _store_tile(dst=y_name, tile="tout", osize=osize,
                              c_total="CO", c_tile="co_n", c_valid="co_valid", c_off="co0",
                              col_tiled=col_tiled, indent=ind, copy=copy))

    L += _tile_loop(pipelined=pipelined, stage=stage, compute=compute, store=store)
    L += ["}", ""]

    buffers = {x_name: ((n, h, w, ci), dt.name), w_name: ((co_pad, kh, kw, ci_pad), dt.name),
               y_name: ((n, ho, wo, co), odt.name)}
    if bias:
        buffers[b_name] = ((co,), odt.name)
    info = dict(plan, ho=ho, wo=wo, pads=pads, fix_position=fix, total_items=total_items,
                in_dtype=dt.name, out_dtype=odt.name)
    return KernelSource(name=name, source="\n".join(L), params=params,
                        dim=(plan["tasks"], 1, 1), ktype="BLOCK", buffers=buffers,
                        inputs=[x_name], outputs=[y_name], info=info)


def emit_conv2d(name, n, h, w, ci, co, kh, kw, stride_h, stride_w, pad, dtype, profile="mlu270",
                bias=False, relu=False, fix_position=None, *, out_dtype=None) -> KernelSource:
    """NHWC convolution (cross-correlation) kernel `name`.

    Parameters (C): `input` [n, h, w, ci] dtype, `filter` [Co_pad, kh, kw, Ci_pad] dtype
    (`arrange_filter(hwio, ks)`), `bias` [co] out dtype if `bias`, `output` [n, ho, wo, co].
    `pad` = (top, bottom, left, right) (or "SAME"/"VALID"). Integer dtypes (int8/int16) need
    `fix_position` and give a float output (`out_dtype`, default float32):
    out = sum(x*w) * 2^fix_position. Float dtypes need a profile with a float tensor unit.
    """
    tgt = _target(profile)
    dt, odt, fix = _conv_dtypes(dtype, tgt, fix_position, out_dtype, name)
    _check_positive(name, n=n, h=h, w=w, ci=ci, co=co, kh=kh, kw=kw, stride_h=stride_h, stride_w=stride_w)
    _, _, pads = pool_padding(h, w, kh, kw, stride_h, stride_w, pad)
    ks = _conv_kernel(name=name, kind="conv", n=n, h=h, w=w, ci=ci, co=co, kh=kh, kw=kw,
                      sh=stride_h, sw=stride_w, pads=pads, dt=dt, odt=odt, fix=fix, tgt=tgt,
                      bias=bias, relu=relu, params_names=("input", "filter", "bias", "output"),
                      doc=f"conv2d {n}x{h}x{w}x{ci} * {kh}x{kw}x{ci}x{co} stride {stride_h}x{stride_w} "
                          f"pad {list(pads)} {dt.name}->{odt.name}" + (" +bias" if bias else "")
                          + (" relu" if relu else ""))
    ks.weight_layouts = {"filter": f"[Co_pad={ks.info['co_pad']}, kh={kh}, kw={kw}, Ci_pad={ks.info['ci_pad']}] "
                                   f"{dt.name}: HWIO filter transposed to OHWI, zero padded"}
    ks.arrange = {"filter": lambda f, _ks=ks: arrange_filter(f, _ks, "filter")}
    return ks


def emit_matmul(name, m, k, n, dtype, profile="mlu270", bias=False, relu=False, fix_position=None,
                *, out_dtype=None) -> KernelSource:
    """out[m, n] = a[m, k] @ b[k, n] (+ bias[n]) (relu), as a 1x1 `__bang_conv` over the M rows.

    Parameters (C): `a` [m, k] dtype, `weight` [N_pad, K_pad] dtype (b transposed, zero padded:
    `arrange_matmul_weight(b, ks)`; a non-constant b needs a transpose kernel first), `bias`
    [n] if `bias`, `output` [m, n]. Integer dtypes as for `emit_conv2d`.
    """
    tgt = _target(profile)
    dt, odt, fix = _conv_dtypes(dtype, tgt, fix_position, out_dtype, name)
    _check_positive(name, m=m, k=k, n=n)
    ks = _conv_kernel(name=name, kind="matmul", n=1, h=m, w=1, ci=k, co=n, kh=1, kw=1, sh=1, sw=1,
                      pads=(0, 0, 0, 0), dt=dt, odt=odt, fix=fix, tgt=tgt, bias=bias, relu=relu,
                      params_names=("a", "weight", "bias", "output"),
                      doc=f"matmul {m}x{k} @ {k}x{n} {dt.name}->{odt.name} (1x1 __bang_conv)"
                          + (" +bias" if bias else "") + (" relu" if relu else ""))
    info = ks.info
    ks.buffers["a"] = ((m, k), dt.name)
    ks.buffers["weight"] = ((info["co_pad"], info["ci_pad"]), dt.name)
    ks.buffers["output"] = ((m, n), odt.name)
    ks.weight_layouts = {"weight": f"[N_pad={info['co_pad']}, K_pad={info['ci_pad']}] {dt.name}: "
                                   "b [K, N] transposed, zero padded"}
    ks.arrange = {"weight": lambda b, _ks=ks: arrange_matmul_weight(b, _ks, "weight")}
    return ks


# --------------------------------------------------------------------------------------------
# Pooling
# --------------------------------------------------------------------------------------------
def emit_pool(name, kind, n, h, w, c, kh, kw, sh, sw, padding, dtype, profile="mlu270") -> KernelSource:
    """NHWC max/avg pooling kernel with TF semantics (see the module docstring).

    `padding`: "SAME", "VALID" or explicit (top, bottom, left, right). Parameters (C):
    `input` [n, h, w, c], `output` [n, ho, wo, c], dtype float16/float32.
    """
    if kind not in ("max", "avg"):
        raise ValueError(f"{name}: pool kind must be 'max' or 'avg', got {kind!r}")
    tgt = _target(profile)
    dt = _float_dtype(name, dtype, "pooling takes")
    _check_positive(name, n=n, h=h, w=w, c=c, kh=kh, kw=kw, sh=sh, sw=sw)
    ho, wo, pads = pool_padding(h, w, kh, kw, sh, sw, padding)
    pt, pb, pl, pr = pads
    size = dt.itemsize
    c_pad = round_up(c, 128 // size) if tgt.strict_alignment else c
    padded = any(pads)
    # Average pooling with a halo: one reciprocal map [WO, C_pad] per distinct valid-row count.
    vrows = [min(oh * sh + kh, pt + h) - max(oh * sh, pt) for oh in range(ho)]
    vr_values = sorted(set(vrows)) if (kind == "avg" and padded) else []
    maps_bytes = _a128(len(vr_values) * wo * c_pad * size)
    total_rows = n * ho
    pipelined = True

    def nbytes(rows, cols):
        return 2 * sum(_window_bytes(rows, cols, kh, kw, sh, sw, c_pad * size, c_pad * size)) + maps_bytes

    fit = _fit_tiles(ho, wo, nbytes, tgt.nram_usable, _rows_cap(total_rows, tgt.cores, pipelined),
                     (kh, kw, sh, sw))
    if fit is None:
        raise ValueError(f"{name}: pooling tile does not fit NRAM even for one output pixel "
                         f"({c} channels, {kh}x{kw} window)")
    rows_t, cols_t = fit
    col_tiled = cols_t < wo
    in_bytes, out_bytes = _window_bytes(rows_t, cols_t, kh, kw, sh, sw, c_pad * size, c_pad * size)
    total_nram = 2 * (in_bytes + out_bytes) + maps_bytes
    ct = _ctype(dt)
    defines = dict(N=n, H=h, W=w, C=c, C_PAD=c_pad, KH=kh, KW=kw, SH=sh, SW=sw, PT=pt, PL=pl,
                   HO=ho, WO=wo, TILE_ROWS=rows_t, TILE_COLS=cols_t, TOTAL_ROWS=total_rows,
                   NRAM_BYTES=total_nram)
    doc = (f"{kind} pool {n}x{h}x{w}x{c} window {kh}x{kw} stride {sh}x{sw} pad {list(pads)} {dt.name}")
    L = _header(name, doc, defines)
    L += ["__nram__ char nram_buffer[NRAM_BYTES];", ""]
    params = [("input", f"{ct} *"), ("output", f"{ct} *")]
    L.append(_entry(name, params))
    L += ["  if (__is_mpu()) return;",
          f"  {ct} *tile_in0 = ({ct} *)(nram_buffer + 0);",
          f"  {ct} *tile_in1 = ({ct} *)(nram_buffer + {in_bytes});",
          f"  {ct} *tile_out0 = ({ct} *)(nram_buffer + {2 * in_bytes});",
          f"  {ct} *tile_out1 = ({ct} *)(nram_buffer + {2 * in_bytes + out_bytes});"]
    if vr_values:
        L.append(f"  {ct} *rmaps = ({ct} *)(nram_buffer + {2 * (in_bytes + out_bytes)});")
    L += _task_split("TOTAL_ROWS")
    L.append("  if (item_end <= item_begin) return;")
    if vr_values:
        L.append("  // reciprocal-count maps: rmaps[s][ow][c] = 1 / (valid rows * valid cols)")
        for s_, vr in enumerate(vr_values):
            L += ["  for (int ow = 0; ow < WO; ow++) {",
                  f"    int vc = {_min('ow * SW + KW', 'PL + W')} - {_max('ow * SW', 'PL')};",
                  f"    __bang_write_value(rmaps + ({s_} * WO + ow) * C_PAD, C_PAD, 1.0f / (float)({vr} * vc));",
                  "  }"]
    if kind == "max":
        fill = f"__bang_write_value(tin, fill_n, {_lowest_literal(dt)});"
    else:
        fill = "__bang_write_zero(tin, fill_n);"
    copy = "__memcpy_async" if pipelined else "__memcpy"

    def compute(slot, ind):
        lines = [f"{ind}{v}" for v in _GEOMETRY] + [
            f"{ind}int n_out = rows * cols * C_PAD;", _tile_ptr("in", ct, slot, ind), _tile_ptr("out", ct, slot, ind)]
        if kind == "max":
            lines.append(f"{ind}__bang_maxpool(tout, tin, C_PAD, in_rows, in_cols, KH, KW, SW, SH);")
            return lines
        lines.append(f"{ind}__bang_sumpool(tout, tin, C_PAD, in_rows, in_cols, KH, KW, SW, SH);")
        if vr_values:
            lines += [f"{ind}for (int r = 0; r < rows; r++) {{",
                      f"{ind}  int oh = oh0 + r;",
                      f"{ind}  int vr = {_min('oh * SH + KH', 'PT + H')} - {_max('oh * SH', 'PT')};",
                      f"{ind}  int map = 0;"]
            for s_, vr in enumerate(vr_values[1:], start=1):
                lines.append(f"{ind}  if (vr == {vr}) map = {s_};")
            lines += [f"{ind}  __bang_mul(tout + r * cols * C_PAD, tout + r * cols * C_PAD,",
                      f"{ind}             rmaps + (map * WO + ow0) * C_PAD, cols * C_PAD);",
                      f"{ind}}}"]
        else:
            lines.append(f"{ind}__bang_mul_scalar(tout, tout, {1.0 / (kh * kw)!r}f, n_out);")
        return lines

    L += _tile_loop(pipelined=pipelined, stage=_nhwc_stage(ct, size, c_pad == c, fill, copy), compute=compute,
                    store=_nhwc_store(ct, size, col_tiled, copy), chunked=False)
    L += ["}", ""]
    info = dict(ho=ho, wo=wo, pads=pads, c_pad=c_pad, tile_rows=rows_t, tile_cols=cols_t,
                col_tiled=col_tiled, nram_bytes=total_nram, vr_values=vr_values, pipelined=pipelined)
    return KernelSource(name=name, source="\n".join(L), params=params,
                        dim=(min(total_rows, tgt.cores), 1, 1), ktype="BLOCK",
                        buffers={"input": ((n, h, w, c), dt.name), "output": ((n, ho, wo, c), dt.name)},
                        inputs=["input"], outputs=["output"], info=info)


# --------------------------------------------------------------------------------------------
# Depthwise convolution (vector unit)
# --------------------------------------------------------------------------------------------
def arrange_depthwise_filter(filter_hwim: np.ndarray, ks: KernelSource, param: str = "filter") -> np.ndarray:
    """[kh, kw, C, 1] (or [kh, kw, C]) depthwise filter -> the [kh, kw, C_pad] layout `ks` expects."""
    shape, dtype = ks.buffers[param]
    f = np.asarray(filter_hwim)
    if f.ndim == 4:
        if f.shape[3] != 1:
            raise ValueError("depthwise multiplier > 1 is not supported by the BANG kernel")
        f = f[..., 0]
    if f.shape[:2] != shape[:2] or f.shape[2] > shape[2]:
        raise ValueError(f"depthwise filter of shape {f.shape} does not fit the kernel's {shape}")
    out = np.zeros(shape, dtype)
    out[:, :, :f.shape[2]] = f
    return out


def emit_depthwise_conv2d(name, n, h, w, c, kh, kw, stride_h, stride_w, pad, dtype, profile="mlu270",
                          bias=False, relu=False, multiplier=1) -> KernelSource:
    """Depthwise NHWC convolution (multiplier 1) on the vector unit, float16/float32.

    Parameters (C): `input` [n, h, w, c], `filter` [kh, kw, C_pad] (`arrange_depthwise_filter`),
    `bias` [c] if `bias`, `output` [n, ho, wo, c]. `pad` as for `emit_conv2d`. For every output
    row and filter tap: the tap's input pixels (gathered with a 2-D NRAM2NRAM copy when
    stride_w > 1) times the tap's channel weights (`__bang_cycle_mul`), summed with `__bang_add`.
    """
    if multiplier != 1:
        raise ValueError(f"{name}: depthwise multiplier {multiplier} > 1 is not supported")
    tgt = _target(profile)
    dt = _float_dtype(name, dtype, "the depthwise kernel takes")
    _check_positive(name, n=n, h=h, w=w, c=c, kh=kh, kw=kw, stride_h=stride_h, stride_w=stride_w)
    sh, sw = stride_h, stride_w
    ho, wo, pads = pool_padding(h, w, kh, kw, sh, sw, pad)
    pt, pb, pl, pr = pads
    size = dt.itemsize
    c_pad = round_up(c, 128 // size) if tgt.strict_alignment else c
    gather = sw > 1
    total_rows = n * ho
    pipelined = True
    fixed = _a128(kh * kw * c_pad * size) + (_a128(c_pad * size) if bias else 0)

    def nbytes(rows, cols):
        row = _a128(cols * c_pad * size)
        return (2 * sum(_window_bytes(rows, cols, kh, kw, sh, sw, c_pad * size, c_pad * size))
                + row * (2 if gather else 1) + fixed)

    fit = _fit_tiles(ho, wo, nbytes, tgt.nram_usable, _rows_cap(total_rows, tgt.cores, pipelined),
                     (kh, kw, sh, sw))
    if fit is None:
        raise ValueError(f"{name}: depthwise tile does not fit NRAM even for one output pixel")
    rows_t, cols_t = fit
    col_tiled = cols_t < wo
    in_bytes, out_bytes = _window_bytes(rows_t, cols_t, kh, kw, sh, sw, c_pad * size, c_pad * size)
    row_bytes = _a128(cols_t * c_pad * size)
    regions, total_nram = _carve((("tile_in0", in_bytes, True), ("tile_in1", in_bytes, True),
                                  ("tile_out0", out_bytes, True), ("tile_out1", out_bytes, True),
                                  ("row_tmp", row_bytes, True), ("row_gather", row_bytes, gather),
                                  ("filter_nram", _a128(kh * kw * c_pad * size), True),
                                  ("bias_nram", _a128(c_pad * size), bias)))
    assert total_nram == nbytes(rows_t, cols_t)
    ct = _ctype(dt)
    defines = dict(N=n, H=h, W=w, C=c, C_PAD=c_pad, KH=kh, KW=kw, SH=sh, SW=sw, PT=pt, PL=pl,
                   HO=ho, WO=wo, TILE_ROWS=rows_t, TILE_COLS=cols_t, TOTAL_ROWS=total_rows,
                   NRAM_BYTES=total_nram)
    doc = (f"depthwise conv2d {n}x{h}x{w}x{c} * {kh}x{kw}x{c}x1 stride {sh}x{sw} pad {list(pads)} {dt.name}"
           + (" +bias" if bias else "") + (" relu" if relu else ""))
    L = _header(name, doc, defines)
    L += ["__nram__ char nram_buffer[NRAM_BYTES];", ""]
    params = _filter_params(("input", "filter", "bias", "output"), ct, ct, bias)
    L.append(_entry(name, params))
    L.append("  if (__is_mpu()) return;")
    for region, off in regions.items():
        L.append(f"  {ct} *{region} = ({ct} *)(nram_buffer + {off});")
    L += _task_split("TOTAL_ROWS")
    L += ["  if (item_end <= item_begin) return;",
          f"  __memcpy(filter_nram, filter, KH * KW * C_PAD * {size}, GDRAM2NRAM);"]
    if bias:
        if c_pad != c:
            L += ["  __bang_write_zero(bias_nram, C_PAD);", "  __sync_compute();"]
        L.append(f"  __memcpy(bias_nram, bias, C * {size}, GDRAM2NRAM);")
    copy = "__memcpy_async" if pipelined else "__memcpy"
    fill = "__bang_write_zero(tin, fill_n);"

    def compute(slot, ind):
        lines = [f"{ind}{v}" for v in _GEOMETRY] + [
            f"{ind}int n_out = rows * cols * C_PAD;",
            f"{ind}int n_row = cols * C_PAD;",
            _tile_ptr("in", ct, slot, ind),
            _tile_ptr("out", ct, slot, ind),
            f"{ind}for (int r = 0; r < rows; r++) {{",
            f"{ind}  {ct} *out_row = tout + r * n_row;",
            f"{ind}  for (int ki = 0; ki < KH; ki++) {{",
            f"{ind}    for (int kj = 0; kj < KW; kj++) {{",
            f"{ind}      {ct} *src = tin + ((r * SH + ki) * in_cols + kj) * C_PAD;"]
        if gather:
            lines += [f"{ind}      __memcpy(row_gather, src, C_PAD * {size}, NRAM2NRAM, C_PAD * {size}, "
                      f"SW * C_PAD * {size}, cols - 1);",
                      f"{ind}      src = row_gather;"]
        lines += [f"{ind}      if (ki == 0 && kj == 0) {{",
                  f"{ind}        __bang_cycle_mul(out_row, src, filter_nram, n_row, C_PAD);",
                  f"{ind}      }} else {{",
                  f"{ind}        __bang_cycle_mul(row_tmp, src, filter_nram + (ki * KW + kj) * C_PAD, n_row, C_PAD);",
                  f"{ind}        __bang_add(out_row, out_row, row_tmp, n_row);",
                  f"{ind}      }}",
                  f"{ind}    }}",
                  f"{ind}  }}",
                  f"{ind}}}"]
        if bias:
            lines.append(f"{ind}__bang_cycle_add(tout, tout, bias_nram, n_out, C_PAD);")
        if relu:
            lines.append(f"{ind}__bang_active_relu(tout, tout, n_out);")
        return lines

    L += _tile_loop(pipelined=pipelined, stage=_nhwc_stage(ct, size, c_pad == c, fill, copy), compute=compute,
                    store=_nhwc_store(ct, size, col_tiled, copy), chunked=False)
    L += ["}", ""]
    buffers = {"input": ((n, h, w, c), dt.name), "filter": ((kh, kw, c_pad), dt.name),
               "output": ((n, ho, wo, c), dt.name)}
    if bias:
        buffers["bias"] = ((c,), dt.name)
    info = dict(ho=ho, wo=wo, pads=pads, c_pad=c_pad, tile_rows=rows_t, tile_cols=cols_t,
                col_tiled=col_tiled, nram_bytes=total_nram, pipelined=pipelined)
    ks = KernelSource(name=name, source="\n".join(L), params=params,
                      dim=(min(total_rows, tgt.cores), 1, 1), ktype="BLOCK", buffers=buffers,
                      inputs=["input"], outputs=["output"], info=info)
    ks.weight_layouts = {"filter": f"[kh={kh}, kw={kw}, C_pad={c_pad}] {dt.name}: HWC (multiplier 1 dropped), zero padded"}
    ks.arrange = {"filter": lambda f, _ks=ks: arrange_depthwise_filter(f, _ks, "filter")}
    return ks
