"""Memory model of the MLU simulator: errors, regions, pointers, GDRAM.

Every address space is a set of *regions*: a GDRAM allocation (its own numpy byte array), an
on-chip variable (a slice of the core's NRAM/WRAM, the cluster's SRAM or the core's LDRAM).
A `Pointer` carries the region it was derived from (C provenance), so every access is checked
against that region: an access outside it is an out-of-bounds error, never a silent overwrite
of a neighbouring buffer.
"""

from __future__ import annotations

import numpy as np

SPACES = ("gdram", "nram", "wram", "sram", "ldram")


class MLUError(Exception):
    """A rule violation or unsupported construct. str: "<kernel>: <file>:<line>: <rule>: <detail>"."""

    def __init__(self, kernel: str = "", file: str = "", line: int = 0, rule: str = "",
                 detail: str = ""):
        super().__init__(kernel, file, line, rule, detail)
        self.kernel = kernel
        self.file = file
        self.line = line
        self.rule = rule
        self.detail = detail

    def __str__(self) -> str:
        parts = []
        if self.kernel:
            parts.append(self.kernel)
        if self.file or self.line:
            parts.append(f"{self.file or '?'}:{self.line}")
        parts.append(self.rule or "error")
        s = ": ".join(parts)
        if self.detail:
            s += ": " + self.detail
        return s

    def __reduce__(self):
        return (MLUError, (self.kernel, self.file, self.line, self.rule, self.detail))


class Region:
    """A contiguous allocation in one space: addresses [lo, hi) live at buf[addr - base]."""

    __slots__ = ("space", "name", "buf", "base", "lo", "hi", "_views")

    def __init__(self, space: str, name: str, buf: np.ndarray, base: int, lo: int, hi: int):
        self.space = space
        self.name = name
        self.buf = buf          # np.uint8 array
        self.base = base
        self.lo = lo
        self.hi = hi
        self._views = {}

    def typed(self, dt: np.dtype) -> np.ndarray:
        """The whole buffer viewed as dt (only valid for itemsize-aligned offsets)."""
        v = self._views.get(dt)
        if v is None:
            n = len(self.buf) // dt.itemsize
            v = self.buf[: n * dt.itemsize].view(dt)
            self._views[dt] = v
        return v

    def describe(self) -> str:
        return f"{self.space} {self.name!r} [{self.lo:#x}, {self.hi:#x})"

    def __repr__(self):
        return f"Region({self.describe()})"


class Pointer:
    """A C pointer value: region (provenance), byte address in the space, pointee C type."""

    __slots__ = ("region", "addr", "ctype")

    def __init__(self, region: Region, addr: int, ctype):
        self.region = region
        self.addr = addr
        self.ctype = ctype      # interp.CType of the pointee (VOID for void*)

    @property
    def space(self) -> str:
        return self.region.space

    @property
    def dtype(self):
        """numpy dtype of the pointee (the element type for pointers to arrays); None for void*."""
        return self.ctype.np_dtype

    @property
    def elem_size(self) -> int:
        return self.ctype.size

    def __add__(self, k: int) -> "Pointer":       # element arithmetic, as in C
        return Pointer(self.region, self.addr + int(k) * self.ctype.size, self.ctype)

    def __sub__(self, k):
        if isinstance(k, Pointer):
            return (self.addr - k.addr) // max(self.ctype.size, 1)
        return Pointer(self.region, self.addr - int(k) * self.ctype.size, self.ctype)

    def offset_bytes(self, nbytes: int) -> "Pointer":
        return Pointer(self.region, self.addr + int(nbytes), self.ctype)

    def cast(self, ctype) -> "Pointer":
        return Pointer(self.region, self.addr, ctype)

    def __eq__(self, other):
        return isinstance(other, Pointer) and other.addr == self.addr and \
            other.region.space == self.region.space

    def __hash__(self):
        return hash((self.region.space, self.addr))

    def __repr__(self):
        return f"Pointer({self.region.space}:{self.addr:#x} {self.ctype} in {self.region.name!r})"


def check_range(region: Region, addr: int, nbytes: int):
    """Raise (rule, detail) as an MLUError without location if [addr, addr+nbytes) leaves region."""
    if addr < region.lo or addr + nbytes > region.hi or nbytes < 0:
        raise MLUError("", "", 0, f"out-of-bounds {region.space.upper()} access",
                       f"{nbytes} bytes at {addr:#x} outside {region.describe()}")


def view_bytes(region: Region, addr: int, nbytes: int) -> np.ndarray:
    check_range(region, addr, nbytes)
    i = addr - region.base
    return region.buf[i:i + nbytes]


class GdramBuffer:
    """A device (GDRAM) allocation made by Device.malloc."""

    __slots__ = ("addr", "nbytes", "region", "device", "freed")

    def __init__(self, addr: int, nbytes: int, region: Region, device):
        self.addr = addr
        self.nbytes = nbytes
        self.region = region
        self.device = device
        self.freed = False

    def pointer(self, ctype=None, offset: int = 0) -> Pointer:
        from .interp import VOID
        return Pointer(self.region, self.addr + offset, ctype or VOID)

    def __repr__(self):
        return f"GdramBuffer(addr={self.addr:#x}, nbytes={self.nbytes})"


class Gdram:
    """The device's global memory: a bump allocator over a virtual address space; each
    allocation is its own numpy array (so the board size costs nothing up front)."""

    ALIGN = 64

    def __init__(self, capacity: int, name: str = "gdram"):
        self.capacity = capacity
        self.next = 0x1000            # address 0 stays NULL
        self.live: dict[int, GdramBuffer] = {}
        self.used = 0

    def malloc(self, nbytes: int, device, name: str = "") -> GdramBuffer:
        nbytes = int(nbytes)
        if nbytes <= 0:
            raise MLUError("", "", 0, "malloc", f"size must be > 0, got {nbytes}")
        if self.used + nbytes > self.capacity:
            raise MLUError("", "", 0, "GDRAM capacity",
                           f"malloc of {nbytes} bytes exceeds the board memory "
                           f"({self.used} of {self.capacity} bytes in use)")
        addr = self.next
        size = (nbytes + self.ALIGN - 1) // self.ALIGN * self.ALIGN
        self.next += size + self.ALIGN        # a guard gap between allocations
        buf = np.zeros(size, np.uint8)
        region = Region("gdram", name or f"buffer@{addr:#x}", buf, addr, addr, addr + nbytes)
        b = GdramBuffer(addr, nbytes, region, device)
        self.live[addr] = b
        self.used += nbytes
        return b

    def free(self, b: GdramBuffer):
        if b.freed or self.live.get(b.addr) is not b:
            raise MLUError("", "", 0, "free", f"{b!r} is not a live allocation of this device")
        del self.live[b.addr]
        b.freed = True
        self.used -= b.nbytes
        # accesses through stale pointers now fail: the region becomes empty
        b.region.hi = b.region.lo
