"""Loop-nest helpers for kernels: counted loops with a phi induction variable (the shape
LLVM's vectorizer and loop passes expect), loop nests over a shape, and strided addressing."""

from __future__ import annotations

import contextlib
from typing import Iterator, Sequence

from llvmlite import ir

from .types import I64, i64


@contextlib.contextmanager
def for_range(builder: ir.IRBuilder, start, stop, step=1, name: str = "i") -> Iterator[ir.Value]:
    """`for (i = start; i < stop; i += step)`: yields i; emit the body inside the block."""
    start = start if isinstance(start, ir.Value) else i64(start)
    stop = stop if isinstance(stop, ir.Value) else i64(stop)
    step = step if isinstance(step, ir.Value) else i64(step)
    pre = builder.block
    header = builder.append_basic_block(f"{name}.header")
    body = builder.append_basic_block(f"{name}.body")
    end = builder.append_basic_block(f"{name}.end")
    builder.branch(header)
    builder.position_at_end(header)
    iv = builder.phi(I64, name=name)
    iv.add_incoming(start, pre)
    builder.cbranch(builder.icmp_signed("<", iv, stop), body, end)
    builder.position_at_end(body)
    yield iv
    iv.add_incoming(builder.add(iv, step, name=f"{name}.next"), builder.block)
    builder.branch(header)
    builder.position_at_end(end)


def imin(builder: ir.IRBuilder, a: ir.Value, b: ir.Value) -> ir.Value:
    """The smaller of two signed integers."""
    return builder.select(builder.icmp_signed("<", a, b), a, b)


def imax(builder: ir.IRBuilder, a: ir.Value, b: ir.Value) -> ir.Value:
    """The larger of two signed integers."""
    return builder.select(builder.icmp_signed(">", a, b), a, b)


@contextlib.contextmanager
def for_nest(builder: ir.IRBuilder, dims: Sequence, name: str = "d") -> Iterator[list[ir.Value]]:
    """Nested loops over `dims` (outermost first); yields the induction variables."""
    with contextlib.ExitStack() as stack:
        ivs = [stack.enter_context(for_range(builder, 0, d, name=f"{name}{i}")) for i, d in enumerate(dims)]
        yield ivs


def row_major_strides(shape: Sequence[int]) -> list[int]:
    strides, step = [], 1
    for d in reversed(shape):
        strides.append(step)
        step *= d
    return strides[::-1]


def broadcast_strides(shape: Sequence[int], out_shape: Sequence[int]) -> list[int]:
    """Element strides of an operand of `shape` read at the indices of `out_shape` (numpy
    broadcasting: missing and size-1 dims get stride 0)."""
    own = row_major_strides(shape)
    pad = len(out_shape) - len(shape)
    strides = [0] * pad
    for d, s in zip(shape, own):
        strides.append(0 if d == 1 else s)
    return strides


def offset(builder: ir.IRBuilder, ivs: Sequence[ir.Value], strides: Sequence[int]) -> ir.Value:
    """sum(iv * stride) as an i64 (terms with stride 0 vanish)."""
    terms = [iv if s == 1 else builder.mul(iv, i64(s)) for iv, s in zip(ivs, strides) if s != 0]
    if not terms:
        return i64(0)
    total = terms[0]
    for term in terms[1:]:
        total = builder.add(total, term)
    return total


def collapse_dims(out_shape: Sequence[int], operand_strides: list[list[int]]) -> tuple[list[int], list[list[int]]]:
    """Merge adjacent output dims wherever every operand walks them contiguously (or not at
    all), so `[64, 56, 56, 64] + bias[64]` becomes a `[200704, 64]` loop nest."""
    dims = list(out_shape)
    strides = [list(s) for s in operand_strides]
    i = len(dims) - 1
    while i > 0:
        mergeable = all(
            (s[i - 1] == 0 and s[i] == 0) or (s[i] != 0 and s[i - 1] == s[i] * dims[i])
            for s in strides)
        if mergeable:
            dims[i - 1:i + 1] = [dims[i - 1] * dims[i]]
            for s in strides:
                s[i - 1:i + 1] = [s[i]]
        i -= 1
    return dims, strides
