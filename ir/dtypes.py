"""Element types: every dtype of TensorFlow 1.x, with its IR spelling and numpy mapping."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class DType:
    """One element type.

    `name` is TF's name (`float32`), `ir_name` the IR text spelling (`f32`), `kind` one of
    float, int, uint, bool, complex, string, qint, quint; `bits` the storage width.
    `numpy` is the numpy dtype values of this type are stored in, or None where numpy has no
    faithful one (bfloat16). Quantized types are stored in their integer counterparts.
    """

    name: str
    ir_name: str
    kind: str
    bits: int
    numpy: np.dtype | None

    @property
    def is_floating(self) -> bool:
        return self.kind == "float"

    @property
    def is_integer(self) -> bool:
        return self.kind in ("int", "uint")

    @property
    def is_signed(self) -> bool:
        return self.kind in ("int", "float", "complex", "qint")

    @property
    def is_complex(self) -> bool:
        return self.kind == "complex"

    @property
    def is_bool(self) -> bool:
        return self.kind == "bool"

    @property
    def is_quantized(self) -> bool:
        return self.kind in ("qint", "quint")

    @property
    def is_numeric(self) -> bool:
        return self.kind in ("float", "int", "uint", "complex")

    @property
    def itemsize(self) -> int:
        return self.bits // 8

    @property
    def min(self):
        """Smallest finite value (TF's `dtype.min`)."""
        if self == bfloat16:
            return -_BFLOAT16_MAX
        if self.is_floating:
            return float(np.finfo(self.numpy).min)
        if self.is_integer or self.is_quantized:
            return int(np.iinfo(self.numpy).min)
        if self.is_bool:
            return False
        raise TypeError(f"{self.name} has no minimum")

    @property
    def max(self):
        """Largest finite value (TF's `dtype.max`)."""
        if self == bfloat16:
            return _BFLOAT16_MAX
        if self.is_floating:
            return float(np.finfo(self.numpy).max)
        if self.is_integer or self.is_quantized:
            return int(np.iinfo(self.numpy).max)
        if self.is_bool:
            return True
        raise TypeError(f"{self.name} has no maximum")

    @property
    def base_dtype(self) -> "DType":
        return self

    @property
    def as_numpy_dtype(self):
        return None if self.numpy is None else self.numpy.type

    @property
    def size(self) -> int:
        return self.itemsize

    def __repr__(self) -> str:
        return f"tf.{self.name}"

    def __str__(self) -> str:
        return f"<dtype: '{self.name}'>"


_BFLOAT16_MAX = 3.3895313892515355e38   # (2 - 2**-7) * 2**127


def _np(name: str) -> np.dtype:
    return np.dtype(name)


float16 = DType("float16", "f16", "float", 16, _np("float16"))
float32 = DType("float32", "f32", "float", 32, _np("float32"))
float64 = DType("float64", "f64", "float", 64, _np("float64"))
bfloat16 = DType("bfloat16", "bf16", "float", 16, None)
int8 = DType("int8", "i8", "int", 8, _np("int8"))
int16 = DType("int16", "i16", "int", 16, _np("int16"))
int32 = DType("int32", "i32", "int", 32, _np("int32"))
int64 = DType("int64", "i64", "int", 64, _np("int64"))
uint8 = DType("uint8", "ui8", "uint", 8, _np("uint8"))
uint16 = DType("uint16", "ui16", "uint", 16, _np("uint16"))
uint32 = DType("uint32", "ui32", "uint", 32, _np("uint32"))
uint64 = DType("uint64", "ui64", "uint", 64, _np("uint64"))
bool_ = DType("bool", "i1", "bool", 8, _np("bool"))
string = DType("string", "string", "string", 0, _np("object"))
complex64 = DType("complex64", "c64", "complex", 64, _np("complex64"))
complex128 = DType("complex128", "c128", "complex", 128, _np("complex128"))
qint8 = DType("qint8", "qi8", "qint", 8, _np("int8"))
qint16 = DType("qint16", "qi16", "qint", 16, _np("int16"))
qint32 = DType("qint32", "qi32", "qint", 32, _np("int32"))
quint8 = DType("quint8", "qui8", "quint", 8, _np("uint8"))
quint16 = DType("quint16", "qui16", "quint", 16, _np("uint16"))

ALL = (
    float16, float32, float64, bfloat16,
    int8, int16, int32, int64, uint8, uint16, uint32, uint64,
    bool_, string, complex64, complex128,
    qint8, qint16, qint32, quint8, quint16,
)
FLOATS = (float16, float32, float64, bfloat16)
SIGNED_INTS = (int8, int16, int32, int64)
UNSIGNED_INTS = (uint8, uint16, uint32, uint64)
INTS = SIGNED_INTS + UNSIGNED_INTS
COMPLEX = (complex64, complex128)
REAL = FLOATS + INTS
NUMERIC = REAL + COMPLEX
QUANTIZED = (qint8, qint16, qint32, quint8, quint16)

BY_IR_NAME = {d.ir_name: d for d in ALL}
BY_NAME = {d.name: d for d in ALL}
_BY_NUMPY = {d.numpy: d for d in ALL if d.numpy is not None and d.kind not in ("qint", "quint")}


def from_numpy(dtype) -> DType:
    """The DType that stores values of numpy dtype `dtype` (str/bytes map to string)."""
    dtype = np.dtype(dtype)
    if dtype.kind in ("U", "S", "O"):
        return string
    try:
        return _BY_NUMPY[dtype]
    except KeyError:
        raise TypeError(f"numpy dtype {dtype} has no TensorFlow counterpart") from None


def as_dtype(value) -> DType:
    """Accept a DType, a TF or IR name (`"float32"`, `"f32"`), a numpy dtype or a Python type."""
    if isinstance(value, DType):
        return value
    if isinstance(value, str):
        if value in BY_NAME:
            return BY_NAME[value]
        if value in BY_IR_NAME:
            return BY_IR_NAME[value]
        if value == "half":
            return float16
        if value in ("float", "double"):
            return float32 if value == "float" else float64
        raise TypeError(f"unknown dtype {value!r}")
    if value is bool:
        return bool_
    if value is int:
        return int32
    if value is float:
        return float32
    if value is complex:
        return complex128
    if value is str or value is bytes:
        return string
    return from_numpy(value)
