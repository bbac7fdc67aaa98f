"""IR dtypes as LLVM types. Booleans are stored as one byte (0 or 1), as numpy stores them;
float16 is stored as `half` and computed in float32."""

from __future__ import annotations

from llvmlite import ir

from tfc.ir import dtypes as dt
from tfc.ir.dtypes import DType

I1 = ir.IntType(1)
I8 = ir.IntType(8)
I32 = ir.IntType(32)
I64 = ir.IntType(64)
F16 = ir.HalfType()
F32 = ir.FloatType()
F64 = ir.DoubleType()
VOID = ir.VoidType()
I8P = I8.as_pointer()

_STORAGE = {
    dt.float16: F16, dt.float32: F32, dt.float64: F64,
    dt.int8: I8, dt.int16: ir.IntType(16), dt.int32: I32, dt.int64: I64,
    dt.uint8: I8, dt.uint16: ir.IntType(16), dt.uint32: I32, dt.uint64: I64,
    dt.bool_: I8,
    dt.qint8: I8, dt.qint16: ir.IntType(16), dt.qint32: I32, dt.quint8: I8, dt.quint16: ir.IntType(16),
}


class UnsupportedType(TypeError):
    pass


def storage_type(dtype: DType) -> ir.Type:
    """The LLVM type one element of `dtype` is stored as."""
    try:
        return _STORAGE[dtype]
    except KeyError:
        raise UnsupportedType(f"the LLVM backend cannot store {dtype.name} tensors") from None


def compute_type(dtype: DType) -> ir.Type:
    """The LLVM type arithmetic on `dtype` uses (float16 computes in float32, bool in i1)."""
    if dtype == dt.float16:
        return F32
    if dtype == dt.bool_:
        return I1
    return storage_type(dtype)


def const(type: ir.Type, value) -> ir.Constant:
    return ir.Constant(type, value)


def i64(value: int) -> ir.Constant:
    return ir.Constant(I64, int(value))
