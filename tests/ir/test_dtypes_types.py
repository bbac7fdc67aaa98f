"""Element types (every TF1 dtype, its IR spelling and numpy storage) and tensor types."""

import numpy as np
import pytest

from tfc.ir import TensorType, dtypes as dt
from tfc.ir.types import merge_shapes, shapes_compatible

# name, ir_name, kind, bits, numpy storage (None: numpy has no faithful type)
TF1_DTYPES = [
    ("float16", "f16", "float", 16, np.float16),
    ("float32", "f32", "float", 32, np.float32),
    ("float64", "f64", "float", 64, np.float64),
    ("bfloat16", "bf16", "float", 16, None),
    ("int8", "i8", "int", 8, np.int8),
    ("int16", "i16", "int", 16, np.int16),
    ("int32", "i32", "int", 32, np.int32),
    ("int64", "i64", "int", 64, np.int64),
    ("uint8", "ui8", "uint", 8, np.uint8),
    ("uint16", "ui16", "uint", 16, np.uint16),
    ("uint32", "ui32", "uint", 32, np.uint32),
    ("uint64", "ui64", "uint", 64, np.uint64),
    ("bool", "i1", "bool", 8, np.bool_),
    ("string", "string", "string", 0, np.object_),
    ("complex64", "c64", "complex", 64, np.complex64),
    ("complex128", "c128", "complex", 128, np.complex128),
    ("qint8", "qi8", "qint", 8, np.int8),
    ("qint16", "qi16", "qint", 16, np.int16),
    ("qint32", "qi32", "qint", 32, np.int32),
    ("quint8", "qui8", "quint", 8, np.uint8),
    ("quint16", "qui16", "quint", 16, np.uint16),
]
IDS = [row[0] for row in TF1_DTYPES]


@pytest.mark.parametrize("name, ir_name, kind, bits, numpy", TF1_DTYPES, ids=IDS)
def test_every_tf1_dtype(name, ir_name, kind, bits, numpy):
    d = dt.BY_NAME[name]
    assert d in dt.ALL
    assert (d.name, d.ir_name, d.kind, d.bits) == (name, ir_name, kind, bits)
    assert dt.BY_IR_NAME[ir_name] is d
    if numpy is None:
        assert d.numpy is None
    else:
        assert d.numpy == np.dtype(numpy)
    assert str(d) == f"<dtype: '{d.name}'>" and d.ir_name == ir_name
    assert repr(d) == f"tf.{name}"


def test_module_attributes_and_tables():
    assert dt.bool_.name == "bool"
    assert len(dt.ALL) == len(TF1_DTYPES) == len(set(dt.ALL))
    assert len(dt.BY_IR_NAME) == len(dt.BY_NAME) == len(dt.ALL)
    for name, *_ in TF1_DTYPES:
        attr = "bool_" if name == "bool" else name
        assert getattr(dt, attr) is dt.BY_NAME[name]


def test_quantized_types_are_stored_as_ints_but_are_not_ints():
    for q, base in [(dt.qint8, dt.int8), (dt.qint16, dt.int16), (dt.qint32, dt.int32),
                    (dt.quint8, dt.uint8), (dt.quint16, dt.uint16)]:
        assert q.numpy == base.numpy
        assert q.is_quantized and not q.is_integer and not q.is_numeric
        assert q.min == base.min and q.max == base.max
    # numpy storage maps back to the plain integer type, never the quantized one
    assert dt.from_numpy(np.int8) is dt.int8
    assert dt.from_numpy(np.uint16) is dt.uint16
    assert dt.qint8.is_signed and not dt.quint8.is_signed


def test_predicates():
    assert all(d.is_floating for d in dt.FLOATS)
    assert all(d.is_integer and not d.is_floating for d in dt.INTS)
    assert all(d.is_signed for d in dt.SIGNED_INTS)
    assert not any(d.is_signed for d in dt.UNSIGNED_INTS)
    assert all(d.is_complex and d.is_numeric for d in dt.COMPLEX)
    assert dt.bool_.is_bool and not dt.bool_.is_numeric and not dt.bool_.is_integer
    assert not dt.string.is_numeric
    assert dt.float32.itemsize == 4 and dt.complex128.itemsize == 16 and dt.bool_.itemsize == 1


def test_min_max():
    assert dt.int8.min == -128 and dt.int8.max == 127
    assert dt.uint64.max == 2**64 - 1 and dt.uint64.min == 0
    assert dt.int64.min == -(2**63)
    assert dt.float16.max == 65504.0 and dt.float16.min == -65504.0
    assert dt.float32.max == float(np.finfo(np.float32).max)
    assert dt.bool_.min is False and dt.bool_.max is True
    with pytest.raises(TypeError):
        dt.complex64.min
    with pytest.raises(TypeError):
        dt.string.max


def test_bfloat16_min_max():
    # TF: tf.bfloat16.max == 3.3895313892515355e+38
    assert dt.bfloat16.max == pytest.approx(3.3895313892515355e38)
    assert dt.bfloat16.min == pytest.approx(-3.3895313892515355e38)


@pytest.mark.parametrize("name, ir_name, kind, bits, numpy", TF1_DTYPES, ids=IDS)
def test_as_dtype_accepts_tf_and_ir_names(name, ir_name, kind, bits, numpy):
    d = dt.BY_NAME[name]
    assert dt.as_dtype(name) is d
    assert dt.as_dtype(ir_name) is d
    assert dt.as_dtype(d) is d


@pytest.mark.parametrize("np_type, expected", [
    (np.float16, dt.float16), (np.float32, dt.float32), (np.float64, dt.float64),
    (np.int8, dt.int8), (np.int16, dt.int16), (np.int32, dt.int32), (np.int64, dt.int64),
    (np.uint8, dt.uint8), (np.uint16, dt.uint16), (np.uint32, dt.uint32), (np.uint64, dt.uint64),
    (np.bool_, dt.bool_), (np.complex64, dt.complex64), (np.complex128, dt.complex128),
    (np.object_, dt.string), (np.str_, dt.string), (np.bytes_, dt.string),
])
def test_as_dtype_accepts_numpy(np_type, expected):
    assert dt.as_dtype(np_type) is expected
    assert dt.as_dtype(np.dtype(np_type)) is expected
    assert dt.from_numpy(np.dtype(np_type)) is expected


def test_as_dtype_accepts_python_types_and_aliases():
    assert dt.as_dtype(float) is dt.float32
    assert dt.as_dtype(int) is dt.int32
    assert dt.as_dtype(bool) is dt.bool_
    assert dt.as_dtype(complex) is dt.complex128
    assert dt.as_dtype(str) is dt.string
    assert dt.as_dtype(bytes) is dt.string
    assert dt.as_dtype("half") is dt.float16
    assert dt.as_dtype("float") is dt.float32
    assert dt.as_dtype("double") is dt.float64
    assert dt.as_dtype(np.array([1.0], np.float16).dtype) is dt.float16


def test_as_dtype_rejects_unknown():
    with pytest.raises(TypeError, match="unknown dtype 'float33'"):
        dt.as_dtype("float33")
    with pytest.raises(TypeError, match="no TensorFlow counterpart"):
        dt.as_dtype(np.dtype("datetime64[s]"))


# TensorType --------------------------------------------------------------------------------
@pytest.mark.parametrize("shape, dtype, text", [
    ((None, 784), dt.float32, "tensor<?x784xf32>"),
    ((), dt.float32, "tensor<f32>"),
    (None, dt.float32, "tensor<*xf32>"),
    ((2, 3, 4), dt.int64, "tensor<2x3x4xi64>"),
    ((0,), dt.bool_, "tensor<0xi1>"),
    ((None, None), dt.string, "tensor<?x?xstring>"),
    ((1,), dt.bfloat16, "tensor<1xbf16>"),
    ((5,), dt.quint8, "tensor<5xqui8>"),
    ((3,), dt.complex128, "tensor<3xc128>"),
])
def test_tensor_type_printing(shape, dtype, text):
    assert str(TensorType(shape, dtype)) == text


def test_tensor_type_normalizes_and_compares():
    t = TensorType([None, np.int64(784)], "float32")
    assert t.shape == (None, 784) and isinstance(t.shape[1], int)
    assert t.dtype is dt.float32
    assert t == TensorType((None, 784), dt.float32)
    assert hash(t) == hash(TensorType((None, 784), "f32"))
    assert t != TensorType((None, 784), dt.float64)
    assert t != TensorType((1, 784), dt.float32)
    assert t.rank == 2 and not t.is_static and t.num_elements is None
    s = TensorType((2, 3), dt.int8)
    assert s.is_static and s.num_elements == 6
    assert TensorType((), dt.int8).num_elements == 1
    assert TensorType(None, dt.int8).rank is None
    assert not TensorType(None, dt.int8).is_static
    assert s.with_dtype(dt.uint8) == TensorType((2, 3), dt.uint8)


def test_tensor_type_compatibility():
    f = dt.float32
    assert TensorType((None, 4), f).is_compatible_with(TensorType((3, 4), f))
    assert TensorType((3, 4), f).is_compatible_with(TensorType((None, 4), f))
    assert TensorType((3, 4), f).is_compatible_with(TensorType((3, 4), f))
    assert not TensorType((3, 4), f).is_compatible_with(TensorType((3, 5), f))
    assert not TensorType((3, 4), f).is_compatible_with(TensorType((3, 4, 1), f))
    assert not TensorType((3, 4), f).is_compatible_with(TensorType((3, 4), dt.float64))
    assert TensorType(None, f).is_compatible_with(TensorType((1, 2, 3), f))
    assert TensorType((), f).is_compatible_with(TensorType(None, f))
    assert not TensorType((), f).is_compatible_with(TensorType((1,), f))
    assert not TensorType(None, f).is_compatible_with(TensorType(None, dt.int32))
    assert shapes_compatible(None, None)
    assert merge_shapes((None, 4), (3, None)) == (3, 4)
    assert merge_shapes(None, (3,)) == (3,)
    assert merge_shapes((2,), None) == (2,)


@pytest.mark.parametrize("shape", [(-1,), (2, -3), (None, -1)])
def test_negative_dims_rejected(shape):
    with pytest.raises(ValueError, match="negative dimension"):
        TensorType(shape, dt.float32)


def test_unknown_dtype_rejected():
    with pytest.raises(TypeError):
        TensorType((1,), "float33")
