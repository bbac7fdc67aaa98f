"""Shared pieces of the BANG C emitter: the profiles' numbers (from shared/BANG.md; the
simulator in runtime/mlu has its own copy, codegen does not import runtime), C type names,
alignment arithmetic, a small source writer and the pieces of text every vector-unit kernel
(elementwise.py, reduce.py, movement.py) starts with: `begin_kernel` (includes, defines, NRAM
buffer, entry line, `__is_mpu()` guard) and `split_over_tasks` (this task's [start, start +
count) of the work, the last task taking the remainder)."""

from __future__ import annotations

import math
import re
from dataclasses import dataclass

import numpy as np

from tfc.ir import dtypes as dt

from .plan import KernelSource

Kernel = KernelSource          # what the kernel builders return

KB = 1024
ALIGN = 128                    # bytes: vector operands' length granule on the 2xx generation


@dataclass(frozen=True)
class Target:
    name: str
    nram_usable: int           # bytes of NRAM a kernel may declare
    wram_bytes: int
    sram_bytes: int
    clusters: int
    cores_per_cluster: int
    float_conv: bool           # conv/matmul units take fp16/fp32

    @property
    def cores(self) -> int:
        return self.clusters * self.cores_per_cluster


TARGETS = {
    "mlu270": Target("mlu270", 384 * KB, 1024 * KB, 2048 * KB, 4, 4, False),
    "mlu370": Target("mlu370", 640 * KB, 1024 * KB, 4096 * KB, 8, 4, True),
}


class CodegenError(Exception):
    """An op the BANG backend cannot compile; the message names the op and its location."""


def where(op) -> str:
    """`nn.foo (model.py:12)` or `nn.foo`."""
    if op is not None and op.location is not None:
        return f"{op.name} ({op.location.file.split('/')[-1]}:{op.location.line})"
    return op.name if op is not None else "?"


def unsupported(op, why: str) -> CodegenError:
    return CodegenError(f"{where(op)}: not supported by the BANG backend: {why}")


def get_target(profile) -> Target:
    if isinstance(profile, Target):
        return profile
    name = getattr(profile, "name", profile)
    try:
        return TARGETS[name]
    except KeyError:
        raise CodegenError(f"unknown MLU profile {profile!r} (known: {', '.join(TARGETS)})") from None


C_TYPES = {
    "float32": "float", "float16": "half", "int8": "int8_t", "int16": "int16_t",
    "int32": "int32_t", "int64": "int64_t", "uint8": "uint8_t", "bool": "int8_t",
}


def ctype(dtype) -> str:
    name = dtype.name if hasattr(dtype, "name") else str(dtype)
    try:
        return C_TYPES[name]
    except KeyError:
        raise CodegenError(f"the BANG backend has no C type for {name}") from None


def itemsize(dtype) -> int:
    return dtype.itemsize if hasattr(dtype, "itemsize") and not isinstance(dtype, np.dtype) \
        else np.dtype(dtype).itemsize


def align_elems(dtype) -> int:
    """Elements in one 128-byte granule."""
    return ALIGN // itemsize(dtype)


def lcm(*values) -> int:
    out = 1
    for v in values:
        out = out * v // math.gcd(out, v)
    return out


def round_up(n: int, m: int) -> int:
    return (n + m - 1) // m * m


def c_float(value, dtype=None) -> str:
    """A C literal for a float value (inf/nan as the largest finite value / 0: BANG has no
    literals for them and the 2xx units saturate)."""
    v = float(value)
    if math.isnan(v):
        v = 0.0
    if math.isinf(v):
        v = float(np.finfo(np.float32).max) * (1 if v > 0 else -1)
    text = repr(np.float32(v).item())
    if "e" not in text and "." not in text:
        text += ".0"
    return text + "f"


def c_ident(text: str) -> str:
    ident = re.sub(r"\W", "_", text)
    return ident if not ident[:1].isdigit() else "_" + ident


HEADER = ["#include <bang.h>", ""]


class Writer:
    """Indented C source lines."""

    def __init__(self):
        self.lines: list[str] = []
        self.depth = 0

    def __call__(self, line: str = "") -> None:
        self.lines.append(("  " * self.depth + line) if line else "")

    def open(self, line: str) -> None:
        self(line + " {")
        self.depth += 1

    def close(self, tail: str = "") -> None:
        self.depth -= 1
        self("}" + tail)

    def extend(self, lines) -> None:
        for line in lines:
            self(line)

    def text(self) -> str:
        return "\n".join(self.lines) + "\n"


def storage_dtype(dtype):
    """How a tensor of `dtype` is stored in GDRAM and loaded into NRAM: bools as int8 0/1."""
    return dt.int8 if dtype == dt.bool_ else dtype


def registry(table: dict):
    """A decorator factory filling `table`: `@register("a.op", "b.op")` maps each name to the
    decorated function."""
    def register(*names):
        def add(fn):
            for name in names:
                table[name] = fn
            return fn
        return add
    return register


def constant_of(value):
    """The array of a `core.constant` value, else None."""
    op = getattr(value, "op", None)
    if op is not None and op.name == "core.constant":
        return np.asarray(op.attributes["value"])
    return None


# Kernel text -----------------------------------------------------------------------------------
@dataclass
class Param:
    """A kernel pointer parameter and what the emitter binds to it."""
    name: str
    ctype: str                   # "float *"
    bind: object                 # ("value", ir value) | ("weight", ndarray) | ("output", ir value)


def pointer_params(ct: str, x, out) -> list:
    """[x, out]: the parameters of a kernel reading value `x` and writing value `out`."""
    return [Param("x", ct + " *", ("value", x)), Param("out", ct + " *", ("output", out))]


def begin_kernel(name: str, params, comment: str = "", defines=(), nram=None,
                 nram_macro: bool = False) -> Writer:
    """A Writer holding the start of a kernel, left open inside its body:

        #include <bang.h>

        /* comment */
        #define KEY VALUE                     (each of `defines`, (key, value) pairs)
        __nram__ char nram_buffer[nram];      (when `nram` bytes are given)

        __mlu_entry__ void name(T *p0, ...) {
          if (__is_mpu()) { return; }

    With `nram_macro`, the size is a `#define NRAM_SIZE` followed by a blank line."""
    w = Writer()
    w.extend(HEADER)
    if comment:
        w(f"/* {comment} */")
    for key, value in defines:
        w(f"#define {key} {value}")
    if nram is not None:
        if nram_macro:
            w(f"#define NRAM_SIZE {nram}")
            w()
        w(f"__nram__ char nram_buffer[{'NRAM_SIZE' if nram_macro else nram}];")
        w()
    w.open(f"__mlu_entry__ void {name}({', '.join(p.ctype + p.name for p in params)})")
    w("if (__is_mpu()) { return; }")
    return w


def split_over_tasks(w: Writer, total: str, per_task: str = "", empty_return: bool = True) -> None:
    """C lines giving this task its range [start, start + count) of `total` items (a C
    expression): `per_task` each (default total / taskDim), the last task takes the rest."""
    w(f"int per_task = {per_task or total + ' / taskDim'};")
    w("int start = taskId * per_task;")
    w("int count = per_task;")
    w(f"if (taskId == taskDim - 1) {{ count = {total} - start; }}")
    if empty_return:
        w("if (count <= 0) { return; }")


def clamped(w: Writer, var: str, value: str, limit: str) -> None:
    """`int var = value;` capped at `limit` (C expressions): the size of a tile, the last one
    shorter."""
    w(f"int {var} = {value};")
    w(f"if ({var} > {limit}) {{ {var} = {limit}; }}")


def grid(target, jobs: int) -> tuple:
    """The launch dim: one task per job, at most one per core."""
    return (max(1, min(target.cores, jobs)), 1, 1)


def is_float(dtype) -> bool:
    return dtype in (dt.float32, dt.float16)


def pow2_exponent(scale) -> int | None:
    """p if scale == 2**p exactly, else None."""
    s = float(scale)
    if s <= 0 or not math.isfinite(s):
        return None
    m, e = math.frexp(s)
    return e - 1 if m == 0.5 else None
