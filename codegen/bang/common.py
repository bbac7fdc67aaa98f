"""Shared pieces of the BANG C emitter: the profiles' numbers (from shared/BANG.md; the
simulator in runtime/mlu has its own copy, codegen does not import runtime), C type names,
alignment arithmetic, and a small source writer."""

from __future__ import annotations

import math
import re
from dataclasses import dataclass

import numpy as np

from tfc.ir import dtypes as dt

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


def is_float(dtype) -> bool:
    return dtype in (dt.float32, dt.float16)


def pow2_exponent(scale) -> int | None:
    """p if scale == 2**p exactly, else None."""
    s = float(scale)
    if s <= 0 or not math.isfinite(s):
        return None
    m, e = math.frexp(s)
    return e - 1 if m == 0.5 else None
