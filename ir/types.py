"""Value types of the IR: tensors with a (possibly partially known) shape and a dtype."""

from __future__ import annotations

from dataclasses import dataclass

from . import dtypes as dt
from .dtypes import DType


@dataclass(frozen=True)
class TensorType:
    """`tensor<?x784xf32>`: a shape whose dims may be unknown (None), or an unknown rank
    (`shape is None`, printed `tensor<*xf32>`), and an element type."""

    shape: tuple[int | None, ...] | None
    dtype: DType

    def __post_init__(self):
        if self.shape is not None:
            shape = tuple(None if d is None else int(d) for d in self.shape)
            if any(d is not None and d < 0 for d in shape):
                raise ValueError(f"negative dimension in shape {shape}")
            object.__setattr__(self, "shape", shape)
        object.__setattr__(self, "dtype", dt.as_dtype(self.dtype))

    @property
    def rank(self) -> int | None:
        return None if self.shape is None else len(self.shape)

    @property
    def is_static(self) -> bool:
        """Every dimension known."""
        return self.shape is not None and all(d is not None for d in self.shape)

    @property
    def num_elements(self) -> int | None:
        if not self.is_static:
            return None
        n = 1
        for d in self.shape:
            n *= d
        return n

    def with_dtype(self, dtype: DType) -> TensorType:
        return TensorType(self.shape, dtype)

    def is_compatible_with(self, other: TensorType) -> bool:
        """Same dtype and shapes that could describe the same tensor (unknowns match anything)."""
        if self.dtype != other.dtype:
            return False
        return shapes_compatible(self.shape, other.shape)

    def __str__(self) -> str:
        if self.shape is None:
            return f"tensor<*x{self.dtype.ir_name}>"
        dims = "".join(("?" if d is None else str(d)) + "x" for d in self.shape)
        return f"tensor<{dims}{self.dtype.ir_name}>"


def shapes_compatible(a, b) -> bool:
    if a is None or b is None:
        return True
    if len(a) != len(b):
        return False
    return all(x is None or y is None or x == y for x, y in zip(a, b))


def merge_shapes(a, b):
    """The most specific shape compatible with both, or None for unknown rank."""
    if a is None:
        return b
    if b is None:
        return a
    if len(a) != len(b):
        raise ValueError(f"shapes of rank {len(a)} and {len(b)} cannot be merged")
    return tuple(y if x is None else x for x, y in zip(a, b))
