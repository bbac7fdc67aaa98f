"""The text form: `print_module(parse_module(text)) == text` for printed modules, and the parsed
module is structurally the same (ops, attributes bit for bit, types, locations)."""

import math

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings, strategies as st

from tfc.ir import (Block, Builder, FunctionBuilder, Location, Module, TensorType,
                    dtypes as dt, parse_module, print_module, verify)
from tfc.ir.opdef import OPS, Operand, define

nan, inf = float("nan"), float("inf")
REGION_OP = "test.region_op"


@pytest.fixture(scope="module")
def region_op():
    """A test-only op with regions. Defined once, and taken out of the op table again afterwards
    so that tests over the whole table (test_op_table.py) never see it."""
    if REGION_OP not in OPS:
        define(REGION_OP, operands=[Operand("x", variadic=True)],
               infer=lambda types, attrs: list(types), compute=lambda *xs: tuple(xs),
               doc="Test-only op that owns regions.")
    yield REGION_OP
    OPS.pop(REGION_OP, None)


# Structural comparison --------------------------------------------------------------------
def _bytes(x):
    return x.encode("utf-8") if isinstance(x, str) else bytes(x)


def assert_same_attr(a, b, path="attr"):
    if isinstance(a, np.ndarray):
        assert isinstance(b, np.ndarray), path
        assert a.shape == b.shape, path
        assert dt.from_numpy(a.dtype) == dt.from_numpy(b.dtype), path
        if dt.from_numpy(a.dtype) == dt.string:
            assert [_bytes(x) for x in a.flat] == [_bytes(x) for x in b.flat], path
            return
        assert a.dtype == b.dtype, path
        inexact = a.dtype.kind in "fc"
        assert np.array_equal(a, b, equal_nan=inexact), path
        if inexact:
            assert np.array_equal(np.isnan(a), np.isnan(b)), path
        assert a.tobytes() == b.tobytes(), f"{path}: not bit-identical"
    elif isinstance(a, (list, tuple)):
        assert isinstance(b, tuple) and len(a) == len(b), path
        for i, (x, y) in enumerate(zip(a, b)):
            assert_same_attr(x, y, f"{path}[{i}]")
    elif isinstance(a, bool):
        assert type(b) is bool and a == b, path
    elif isinstance(a, int):
        assert type(b) is int and a == b, path
    elif isinstance(a, float):
        assert type(b) is float, path
        if math.isnan(a):
            assert math.isnan(b), path
        else:
            assert a == b and math.copysign(1, a) == math.copysign(1, b), path
    else:
        assert type(a) is type(b) and a == b, path


def assert_same_attrs(a: dict, b: dict, path="attrs"):
    assert list(a) == list(b), path
    for k in a:
        assert_same_attr(a[k], b[k], f"{path}.{k}")


def _same_block(b1: Block, b2: Block, vmap: dict, where: str):
    assert [a.type for a in b1.args] == [a.type for a in b2.args], where
    vmap.update({id(x): y for x, y in zip(b1.args, b2.args)})
    assert [o.name for o in b1.ops] == [o.name for o in b2.ops], where
    for n, (o1, o2) in enumerate(zip(b1.ops, b2.ops)):
        w = f"{where} op #{n} {o1.name}"
        assert o1.location == o2.location, w
        assert len(o1.operands) == len(o2.operands), w
        assert all(vmap[id(x)] is y for x, y in zip(o1.operands, o2.operands)), w
        assert_same_attrs(o1.attributes, o2.attributes, w)
        assert [r.type for r in o1.results] == [r.type for r in o2.results], w
        assert len(o1.regions) == len(o2.regions), w
        for i, (r1, r2) in enumerate(zip(o1.regions, o2.regions)):
            _same_block(r1, r2, vmap, f"{w} region {i}")
        vmap.update({id(x): y for x, y in zip(o1.results, o2.results)})
        assert o2.parent is b2
    for x, y in zip(b1.args, b2.args):
        assert len(x.uses) == len(y.uses), where


def assert_same_module(m1: Module, m2: Module):
    assert_same_attrs(m1.attributes, m2.attributes, "module")
    assert list(m1.functions) == list(m2.functions)
    for f1, f2 in zip(m1, m2):
        assert f1.result_types == f2.result_types
        assert_same_attrs(f1.attributes, f2.attributes, f"@{f1.name}")
        _same_block(f1.body, f2.body, {}, f"@{f1.name}")
        assert f2.module is m2


def round_trip(module: Module) -> Module:
    verify(module)
    text = print_module(module)
    again = parse_module(text)
    assert print_module(again) == text
    assert_same_module(module, again)
    verify(again)
    return again


def text_round_trip(text: str) -> Module:
    module = parse_module(text)
    assert print_module(module) == text
    verify(module)
    return module


def module_of(*functions, attributes=None):
    return Module(list(functions), attributes)


def constants_function(name, arrays: dict, **attrs):
    """A function with one core.constant per array, returning all of them."""
    fb = FunctionBuilder(name, [])
    values = []
    for hint, array in arrays.items():
        v = fb.create("core.constant", [], {"value": array, **attrs}).result
        v.name_hint = hint
        values.append(v)
    return fb.ret(values)


# Golden texts -----------------------------------------------------------------------------
ATTRIBUTES_TEXT = r'''module attributes {tfc.version = 1, producer = "tf-1.15", empty_list = []} {
  func @main() -> () attributes {i = 7, neg = -42, big = 1180591620717411303424, zero = 0, f = 0.5, nan = nan, inf = inf, ninf = -inf, nz = -0.0, tiny = 1e-30, large = 1.5e+300, fmax = 1.7976931348623157e+308, denorm = 5e-324, whole = 3.0, e16 = 1e+16, t = true, fl = false, s = "say \"hi\" \\ back", u = "\u00fcn\u00ef \u2713 \ud83d\ude00", empty = "", ctl = "tab\tnl\n", cmt = "// not a comment", strue = "true", hexish = "0x00", ints = [1, -2, 3], floats = [1.5, nan, -inf, -0.0], bools = [true, false], strs = ["a", "\"q\"", ""], nil = [], dtypes = [f32, bf16, qui8, string, i1], nested = [[1], []], dt = i64, dts = string, dense = dense<[[1, 2], [3, 4]]> : tensor<2x2xi32>, dsplat = dense<1.5> : tensor<2x3xf32>, d0 = dense<2.5> : tensor<f64>} {
    core.return() : () -> ()
  }
}
'''

SHAPES_TEXT = '''module {
  func @main(%x: tensor<?x784xf32>, %y: tensor<*xi32>, %z: tensor<?x?xi1>, %s: tensor<string>) -> (tensor<?x784xf32>, tensor<*xi32>, tensor<?x?xi1>) {
    %0, %1, %2 = core.identity(%x, %y, %z) : (tensor<?x784xf32>, tensor<*xi32>, tensor<?x?xi1>) -> (tensor<?x784xf32>, tensor<*xi32>, tensor<?x?xi1>)
    %3 = core.identity(%s) : (tensor<string>) -> tensor<string>
    core.return(%0, %1, %2) : (tensor<?x784xf32>, tensor<*xi32>, tensor<?x?xi1>) -> ()
  }
  func @helper(%a: tensor<0x3xui8>) -> (tensor<0x3xui8>, tensor<0x3xui8>) attributes {visibility = "private"} {
    core.return(%a, %a) : (tensor<0x3xui8>, tensor<0x3xui8>) -> ()
  }
  func @nothing() -> () {
    core.return() : () -> ()
  }
}
'''

LOCATIONS_TEXT = '''module {
  func @main(%x: tensor<2xf32>) -> (tensor<2xf32>) {
    %0 = core.identity(%x) : (tensor<2xf32>) -> tensor<2xf32> loc("model.py":12)
    %1 = core.identity(%0) : (tensor<2xf32>) -> tensor<2xf32> loc("dir/sub dir/m.py":7:3)
    %2 = core.identity(%1) : (tensor<2xf32>) -> tensor<2xf32> loc("we\\"ird\\\\\\u00e9.py":0:0)
    %3 = core.constant() {value = dense<[1.0, 2.0]> : tensor<2xf32>} : () -> tensor<2xf32> loc("c.py":1)
    core.return(%2) : (tensor<2xf32>) -> () loc("model.py":99:1)
  }
}
'''

DENSE_TEXT = '''module {
  func @main() -> (tensor<2xqi8>, tensor<f32>, tensor<3xstring>) {
    %q = core.constant() {value = dense<[-128, 127]> : tensor<2xi8>, dtype = qi8} : () -> tensor<2xqi8>
    %n = core.constant() {value = dense<nan> : tensor<f32>} : () -> tensor<f32>
    %s = core.constant() {value = dense<["\\u00ff", "", "\\"\\\\"]> : tensor<3xstring>} : () -> tensor<3xstring>
    %h = core.constant() {value = dense<"0x0000803F0000004000000080000000BF"> : tensor<2xc64>} : () -> tensor<2xc64>
    %e = core.constant() {value = dense<[[], []]> : tensor<2x0xi32>} : () -> tensor<2x0xi32>
    core.return(%q, %n, %s) : (tensor<2xqi8>, tensor<f32>, tensor<3xstring>) -> ()
  }
}
'''

NAMES_TEXT = '''module {
  func @main(%x: tensor<f32>, %x_1: tensor<f32>, %dense_1.MatMul_0: tensor<f32>, %0: tensor<f32>, %v3d: tensor<f32>, %a$b.c: tensor<f32>) -> (tensor<f32>) {
    %1 = core.identity(%x) : (tensor<f32>) -> tensor<f32>
    %_ = core.identity(%1) : (tensor<f32>) -> tensor<f32>
    core.return(%_) : (tensor<f32>) -> ()
  }
}
'''


@pytest.mark.parametrize("text", [ATTRIBUTES_TEXT, SHAPES_TEXT, LOCATIONS_TEXT, DENSE_TEXT, NAMES_TEXT],
                         ids=["attributes", "shapes", "locations", "dense", "names"])
def test_golden_text_round_trips(text):
    text_round_trip(text)


def test_attribute_values_parse_to_python_values():
    m = text_round_trip(ATTRIBUTES_TEXT)
    a = m["main"].attributes
    assert a["i"] == 7 and a["neg"] == -42 and a["big"] == 2**70 and type(a["zero"]) is int
    assert type(a["whole"]) is float and a["whole"] == 3.0 and a["e16"] == 1e16
    assert math.isnan(a["nan"]) and a["inf"] == inf and a["ninf"] == -inf
    assert a["nz"] == 0.0 and math.copysign(1, a["nz"]) == -1
    assert a["tiny"] == 1e-30 and a["large"] == 1.5e300 and a["denorm"] == 5e-324
    assert a["fmax"] == 1.7976931348623157e308
    assert a["t"] is True and a["fl"] is False and a["strue"] == "true"
    assert a["s"] == 'say "hi" \\ back' and a["u"] == "ünï ✓ 😀" and a["empty"] == ""
    assert a["ctl"] == "tab\tnl\n" and a["cmt"] == "// not a comment" and a["hexish"] == "0x00"
    assert a["ints"] == (1, -2, 3) and a["bools"] == (True, False) and a["strs"] == ("a", '"q"', "")
    assert a["floats"][0] == 1.5 and math.isnan(a["floats"][1]) and a["floats"][2] == -inf
    assert a["nil"] == () and a["nested"] == ((1,), ())
    assert a["dtypes"] == (dt.float32, dt.bfloat16, dt.quint8, dt.string, dt.bool_)
    assert a["dt"] is dt.int64 and a["dts"] is dt.string
    assert a["dense"].dtype == np.int32 and a["dense"].tolist() == [[1, 2], [3, 4]]
    assert a["dsplat"].dtype == np.float32 and a["dsplat"].shape == (2, 3) and (a["dsplat"] == 1.5).all()
    assert a["d0"].shape == () and a["d0"].dtype == np.float64 and a["d0"] == 2.5
    assert m.attributes == {"tfc.version": 1, "producer": "tf-1.15", "empty_list": ()}


def test_attributes_built_in_python_round_trip():
    attrs = {
        "i": 7, "neg": -(2**63), "big": 2**64 - 1, "f": 0.1, "nan": nan, "inf": inf, "ninf": -inf,
        "nz": -0.0, "tiny": 1e-30, "large": 1e300, "t": True, "fl": False,
        "s": 'quote " backslash \\ unicode ü ✓ 😀 nul \x00 nl \n', "ints": (0, -1, 2**40),
        "floats": (nan, -0.0, 1e-30), "bools": (False,), "strs": ("", "ü"), "empty": (),
        "dtype": dt.complex128, "dtypes": (dt.qint16, dt.uint64),
        "tensor": np.array([[nan, -0.0], [inf, 1e-30]], np.float32),
        "big_tensor": np.linspace(-1, 1, 40).astype(np.float64),
    }
    fb = FunctionBuilder("main", [])
    f = fb.ret([], attrs)
    round_trip(module_of(f, attributes={"m.int": -1, "m.str": "x", "m.list": (), "m.tensor": np.int8(-3) * np.ones(4, np.int8)}))


def test_location_values():
    m = text_round_trip(LOCATIONS_TEXT)
    locs = [op.location for op in m["main"].body.ops]
    assert locs == [Location("model.py", 12), Location("dir/sub dir/m.py", 7, 3),
                    Location('we"ird\\é.py', 0, 0), Location("c.py", 1), Location("model.py", 99, 1)]
    assert locs[0].column is None


def test_built_locations_round_trip():
    fb = FunctionBuilder("main", [TensorType((2,), dt.float32)])
    x = fb.args[0]
    y = fb.create("core.identity", [x], location=Location("m.py", 12)).result
    z = fb.create("core.identity", [y], location=Location("m.py", 13, 5)).result
    f = fb.ret([z])
    text = print_module(module_of(f))
    assert 'loc("m.py":12)\n' in text and 'loc("m.py":13:5)\n' in text
    round_trip(module_of(f))


# Dense tensors ----------------------------------------------------------------------------
DENSE_CASES = [
    ("splat_f32", np.full((2, 3), 1.5, np.float32), "dense<1.5> : tensor<2x3xf32>"),
    ("nested_f32", np.array([[1, -2.5], [nan, -0.0]], np.float32),
     "dense<[[1.0, -2.5], [nan, -0.0]]> : tensor<2x2xf32>"),
    ("special_f32", np.array([inf, -inf, 1e-30, 3.4028235e38], np.float32),
     "dense<[inf, -inf, 1e-30, 3.4028235e+38]> : tensor<4xf32>"),
    ("f16", np.array([0.1, 65504, 6e-08, -0.0], np.float16), "dense<[0.1, 6.55e+04, 6e-08, -0.0]> : tensor<4xf16>"),
    ("f64", np.array([0.1, 1e300, 5e-324, -0.0], np.float64), "dense<[0.1, 1e+300, 5e-324, -0.0]> : tensor<4xf64>"),
    ("f64_pi", np.array([math.pi, -math.e]), "dense<[3.141592653589793, -2.718281828459045]> : tensor<2xf64>"),
    ("large_f32", np.arange(20, dtype=np.float32) / 7, None),
    ("large_f16", np.arange(20, dtype=np.float16), None),
    ("large_f64_nan", np.where(np.arange(30) % 3 == 0, np.nan, np.arange(30) * 0.1), None),
    ("c64", np.array([1 + 2j, -0.5j], np.complex64),
     'dense<"0x0000803F0000004000000080000000BF"> : tensor<2xc64>'),
    ("c128_0d", np.array(1 - 1j, np.complex128), 'dense<"0x000000000000F03F000000000000F0BF"> : tensor<c128>'),
    ("c128_nan", np.array([complex(nan, 1), complex(-0.0, inf), 3], np.complex128), None),
    ("ui64_max", np.array([0, 2**64 - 1], np.uint64), "dense<[0, 18446744073709551615]> : tensor<2xui64>"),
    ("i64_min", np.array([-(2**63), 2**63 - 1, 0], np.int64),
     "dense<[-9223372036854775808, 9223372036854775807, 0]> : tensor<3xi64>"),
    ("i8", np.array([-128, 127, 0], np.int8), "dense<[-128, 127, 0]> : tensor<3xi8>"),
    ("ui8", np.array([0, 255], np.uint8), "dense<[0, 255]> : tensor<2xui8>"),
    ("i16", np.array([-32768, 32767], np.int16), "dense<[-32768, 32767]> : tensor<2xi16>"),
    ("ui16", np.array([0, 65535], np.uint16), "dense<[0, 65535]> : tensor<2xui16>"),
    ("i32", np.array([-(2**31), 2**31 - 1], np.int32), "dense<[-2147483648, 2147483647]> : tensor<2xi32>"),
    ("ui32", np.array([0, 2**32 - 1], np.uint32), "dense<[0, 4294967295]> : tensor<2xui32>"),
    ("large_ui64", np.array([2**64 - 1] * 3 + list(range(15)), np.uint64), None),
    ("large_i64", np.array([-(2**63)] + list(range(20)), np.int64), None),
    ("bool", np.array([True, False, True]), "dense<[true, false, true]> : tensor<3xi1>"),
    ("bool_splat", np.ones((3,), bool), "dense<true> : tensor<3xi1>"),
    ("bool_false_0d", np.array(False), "dense<false> : tensor<i1>"),
    ("large_bool", np.array([True, False] * 10), 'dense<"0x0100010001000100010001000100010001000100"> : tensor<20xi1>'),
    ("string", np.array([b"\xff\x00", "é".encode(), b"", b'"\\'], dtype=object),
     r'dense<["\u00ff\u0000", "\u00c3\u00a9", "", "\"\\"]> : tensor<4xstring>'),
    ("string_splat", np.array([b"ab"] * 3, dtype=object), 'dense<"ab"> : tensor<3xstring>'),
    ("string_0d", np.array(b"\x80", dtype=object), r'dense<"\u0080"> : tensor<string>'),
    ("string_0x", np.array([b"0x12", b"0x"], dtype=object), 'dense<["0x12", "0x"]> : tensor<2xstring>'),
    ("string_empty", np.empty((0,), object), "dense<[]> : tensor<0xstring>"),
    ("string_large", np.array([bytes([i, 200]) for i in range(20)], dtype=object).reshape(4, 5), None),
    ("empty_f32", np.zeros((0,), np.float32), "dense<[]> : tensor<0xf32>"),
    ("empty_2x0", np.zeros((2, 0), np.int32), "dense<[[], []]> : tensor<2x0xi32>"),
    ("empty_0x3", np.zeros((0, 3), np.float32), "dense<[]> : tensor<0x3xf32>"),
    ("empty_c64", np.zeros((2, 0), np.complex64), None),
    ("scalar_i32", np.array(7, np.int32), "dense<7> : tensor<i32>"),
    ("scalar_nan", np.array(nan, np.float32), "dense<nan> : tensor<f32>"),
    ("scalar_neg_zero", np.array(-0.0, np.float64), "dense<-0.0> : tensor<f64>"),
    ("one_element", np.array([[5]], np.int64), "dense<[[5]]> : tensor<1x1xi64>"),
    ("sixteen", np.arange(16, dtype=np.int16), "dense<[" + ", ".join(map(str, range(16))) + "]> : tensor<16xi16>"),
    ("seventeen", np.arange(17, dtype=np.int16),
     'dense<"0x' + "".join(f"{i:02X}00" for i in range(17)) + '"> : tensor<17xi16>'),
    ("large_splat", np.zeros((10, 10), np.float32), "dense<0.0> : tensor<10x10xf32>"),
    ("not_splat_signed_zero", np.array([0.0, -0.0], np.float32), "dense<[0.0, -0.0]> : tensor<2xf32>"),
    ("nan_splat", np.full(3, nan, np.float64), "dense<nan> : tensor<3xf64>"),
    ("rank3", np.arange(8, dtype=np.uint8).reshape(2, 2, 2), "dense<[[[0, 1], [2, 3]], [[4, 5], [6, 7]]]> : tensor<2x2x2xui8>"),
]


@pytest.mark.parametrize("name, array, expected", DENSE_CASES, ids=[c[0] for c in DENSE_CASES])
def test_dense_constant_round_trips(name, array, expected):
    f = constants_function("main", {name: array})
    text = print_module(module_of(f))
    if expected is not None:
        assert f"{{value = {expected}}}" in text
    elif name.startswith("large") or name.startswith("c"):
        assert 'dense<"0x' in text
    again = round_trip(module_of(f))
    got = again["main"].body.ops[0].attributes["value"]
    assert_same_attr(array, got)
    if array.dtype.kind in "fc":
        assert np.array_equal(np.isnan(array), np.isnan(got))


def test_all_dense_constants_in_one_module_and_as_attributes():
    arrays = {name: array for name, array, _ in DENSE_CASES}
    f = constants_function("consts", arrays)
    g = FunctionBuilder("attrs", []).ret([], arrays)
    round_trip(module_of(f, g, attributes=arrays))


def test_quantized_constant_with_dtype_attribute():
    f = constants_function("main", {"q": np.array([-128, 127], np.int8)}, dtype=dt.qint8)
    assert f.result_types == [TensorType((2,), dt.qint8)]
    again = round_trip(module_of(f))
    assert again["main"].body.ops[0].attributes["dtype"] is dt.qint8


def test_dense_text_values():
    m = text_round_trip(DENSE_TEXT)
    ops = m["main"].body.ops
    assert ops[0].attributes["value"].dtype == np.int8 and ops[0].results[0].type.dtype is dt.qint8
    assert np.isnan(ops[1].attributes["value"]) and ops[1].attributes["value"].dtype == np.float32
    assert list(ops[2].attributes["value"]) == [b"\xff", b"", b'"\\']
    assert ops[3].attributes["value"].tolist() == [1 + 2j, -0.5j]
    assert ops[4].attributes["value"].shape == (2, 0)


@pytest.mark.parametrize("array", [np.full(3, 1 + 2j, np.complex128), np.full(2, 0.5, np.complex64)],
                         ids=["1+2j", "0.5"])
def test_complex_splat_round_trips(array):
    f = constants_function("main", {"c": array})
    again = round_trip(module_of(f))
    assert_same_attr(array, again["main"].body.ops[0].attributes["value"])


def test_nan_sign_and_payload_survive_in_small_tensors():
    bits = np.array([0xFFC00000, 0x7FC00001, 0x3F800000], np.uint32)  # -nan, nan with payload, 1.0
    array = bits.view(np.float32)
    f = constants_function("main", {"c": array})
    again = round_trip(module_of(f))
    assert again["main"].body.ops[0].attributes["value"].view(np.uint32).tolist() == bits.tolist()


# Shapes, results, several functions ---------------------------------------------------------
def test_shapes_text_types():
    m = text_round_trip(SHAPES_TEXT)
    main = m["main"]
    assert main.arg_types == [TensorType((None, 784), dt.float32), TensorType(None, dt.int32),
                              TensorType((None, None), dt.bool_), TensorType((), dt.string)]
    ident = main.body.ops[0]
    assert len(ident.results) == 3
    assert [u.operation for u in ident.results[0].uses] == [main.body.ops[-1]]
    assert list(m.functions) == ["main", "helper", "nothing"]
    assert m["helper"].attributes == {"visibility": "private"}
    assert m["helper"].result_types == [TensorType((0, 3), dt.uint8)] * 2
    assert m["nothing"].result_types == [] and m["nothing"].args == []


def test_multi_result_ops_and_several_functions_built():
    types = [TensorType((None, 784), dt.float32), TensorType(None, dt.int64), TensorType((), dt.bool_),
             TensorType((3, None, 2), dt.complex64), TensorType((1,), dt.bfloat16), TensorType((2,), dt.quint16)]
    fb = FunctionBuilder("main", types, ["x", "y", "z", "w", "b", "q"])
    outs = fb.create("core.identity", list(fb.args)).results
    pair = fb.create("core.identity", [outs[1], outs[0]]).results
    main = fb.ret([pair[1], pair[0], outs[5]], {"entry": True})
    fb2 = FunctionBuilder("second", [TensorType((2,), dt.float64)])
    second = fb2.ret([fb2.args[0], fb2.args[0]])
    third = FunctionBuilder("third", []).ret([])
    m = module_of(main, second, third, attributes={"k": "v"})
    text = print_module(m)
    assert "%0, %1, %2, %3, %4, %5 = core.identity(%x, %y, %z, %w, %b, %q)" in text
    assert "func @main(%x: tensor<?x784xf32>, %y: tensor<*xi64>, %z: tensor<i1>, %w: tensor<3x?x2xc64>" in text
    assert "-> (tensor<*xi64>, tensor<?x784xf32>)\n" in text
    assert "func @third() -> () {\n    core.return() : () -> ()\n  }" in text
    round_trip(m)


def test_module_without_wrapper_and_empty_module():
    text = "func @f(%a: tensor<f32>) -> (tensor<f32>) {\n  core.return(%a) : (tensor<f32>) -> ()\n}\n"
    m = parse_module(text)
    assert print_module(m) == ("module {\n  func @f(%a: tensor<f32>) -> (tensor<f32>) {\n"
                               "    core.return(%a) : (tensor<f32>) -> ()\n  }\n}\n")
    assert print_module(Module()) == "module {\n}\n"
    text_round_trip("module {\n}\n")


# Name hints -------------------------------------------------------------------------------
def test_name_hints():
    hints = ["x", "x", "dense_1/MatMul:0", "7", "3d", "", None, "a b-c", "x_1", "ünï", "ok$.v"]
    fb = FunctionBuilder("main", [TensorType((), dt.float32)] * len(hints), hints)
    c = fb.constant(np.float32(1))
    c.name_hint = "dense_1/MatMul:0"
    d = fb.constant(np.float32(2))
    d.name_hint = "12"
    f = fb.ret([c, d])
    text = print_module(module_of(f))
    head = text.splitlines()[1]
    names = [part.split(":")[0].strip() for part in head[head.index("(") + 1:head.index(")")].split(",")]
    assert names == ["%x", "%x_1", "%dense_1.MatMul_0", "%0", "%v3d", "%1", "%2", "%a_b_c",
                     "%x_1_1", "%_n_", "%ok$.v"]
    assert "%dense_1.MatMul_0_1 = core.constant()" in text
    assert "%3 = core.constant()" in text
    again = round_trip(module_of(f))
    assert again["main"].args[2].name_hint == "dense_1.MatMul_0"
    assert again["main"].args[3].name_hint is None


def test_numeric_names_are_renumbered():
    text = """module {
  func @main(%7: tensor<f32>, %x: tensor<f32>) -> (tensor<f32>) {
    %42 = core.identity(%7) : (tensor<f32>) -> tensor<f32>
    %0 = core.identity(%42) : (tensor<f32>) -> tensor<f32>
    core.return(%0) : (tensor<f32>) -> ()
  }
}
"""
    expected = text.replace("%7", "%A").replace("%42", "%B").replace("%0", "%C")
    expected = expected.replace("%A", "%0").replace("%B", "%1").replace("%C", "%2")
    assert print_module(parse_module(text)) == expected


# Regions ----------------------------------------------------------------------------------
def _region_module(op_name):
    t = TensorType((None, 4), dt.float32)
    fb = FunctionBuilder("main", [t, TensorType((), dt.int32)], ["x", "k"], location=Location("r.py", 1))
    x, k = fb.args
    r1 = Block([t], ["y"])
    inner = Builder(r1).create("core.identity", [r1.args[0]], location=Location("r.py", 2, 7))
    Builder(r1).create("core.yield", [inner.result])
    r2 = Block([t, TensorType((), dt.int32)])
    c = Builder(r2).create("core.constant", [], {"value": np.array([1.5, nan], np.float32)})
    Builder(r2).create("core.yield", [r2.args[0], c.result])
    empty = Block()
    Builder(empty).create("core.yield", [])
    op = fb.create(op_name, [x], regions=[r1, r2, empty])
    nested = Block([t])
    deeper = Block([t])
    Builder(deeper).create("core.yield", [deeper.args[0]])
    n_op = Builder(nested).create(op_name, [nested.args[0]], regions=[deeper])
    Builder(nested).create("core.yield", [n_op.result])
    outer = fb.create(op_name, [op.result], {}, regions=[nested])
    return module_of(fb.ret([outer.result, k]))


def test_region_ops_round_trip(region_op):
    m = _region_module(region_op)
    text = print_module(m)
    assert ("    %0 = test.region_op(%x) ({\n"
            "    ^bb(%y: tensor<?x4xf32>):\n"
            '      %1 = core.identity(%y) : (tensor<?x4xf32>) -> tensor<?x4xf32> loc("r.py":2:7)\n'
            "      core.yield(%1) : (tensor<?x4xf32>) -> ()\n"
            "    }, {\n"
            "    ^bb(%2: tensor<?x4xf32>, %3: tensor<i32>):\n") in text
    assert "    }, {\n    ^bb():\n      core.yield() : () -> ()\n    }) : (tensor<?x4xf32>) -> tensor<?x4xf32> loc(\"r.py\":1)\n" in text
    again = round_trip(m)
    ops = list(again["main"].walk())
    assert [o.name for o in ops] == [
        "test.region_op", "core.identity", "core.yield", "core.constant", "core.yield", "core.yield",
        "test.region_op", "test.region_op", "core.yield", "core.yield", "core.return"]
    assert ops[0].regions[0].parent_op is ops[0]


def test_region_values_are_scoped(region_op):
    """A region sees only its own arguments: an outer value is undefined inside it."""
    text = print_module(_region_module(region_op))
    bad = text.replace("core.yield(%1)", "core.yield(%x)", 1)
    with pytest.raises(Exception, match="undefined value %x"):
        parse_module(bad)


# Comments and white space -------------------------------------------------------------------
def test_comments_and_white_space_in_input():
    text = """// leading comment with "quotes" and } braces
module   {  // trailing
  // a comment line
  func @main(%x : tensor<2xf32>)->(tensor<2xf32>)attributes{a=1,b=[ 1 , 2 ]}{
    // before an op
    %y = core.identity( %x )   :   ( tensor<2xf32> ) -> tensor<2xf32>   // after an op
    %c = core.constant() {value = dense< [ 1.0 ,  // in a literal
         2.5 ] > : tensor<2xf32>} : () -> tensor<2xf32> loc( "m.py" : 3 : 4 )
    core.return(%y) : (tensor<2xf32>) -> ()  // }
  }
}
// end of file"""
    expected = """module {
  func @main(%x: tensor<2xf32>) -> (tensor<2xf32>) attributes {a = 1, b = [1, 2]} {
    %y = core.identity(%x) : (tensor<2xf32>) -> tensor<2xf32>
    %c = core.constant() {value = dense<[1.0, 2.5]> : tensor<2xf32>} : () -> tensor<2xf32> loc("m.py":3:4)
    core.return(%y) : (tensor<2xf32>) -> ()
  }
}
"""
    m = parse_module(text)
    assert print_module(m) == expected
    text_round_trip(expected)


# Property tests ---------------------------------------------------------------------------
VALUE_DTYPES = [dt.float16, dt.float32, dt.float64, dt.int8, dt.int16, dt.int32, dt.int64,
                dt.uint8, dt.uint16, dt.uint32, dt.uint64, dt.bool_, dt.complex64, dt.complex128,
                dt.string]
TYPE_DTYPES = VALUE_DTYPES + [dt.bfloat16] + list(dt.QUANTIZED)


def _elements(d):
    if d.is_floating:
        return st.one_of(st.floats(width=d.bits, allow_nan=False),
                         st.sampled_from([nan, inf, -inf, -0.0, 0.0]))
    if d.is_complex:
        return st.complex_numbers(width=d.bits, allow_nan=True, allow_infinity=True)
    if d.is_bool:
        return st.booleans()
    if d.is_integer:
        return st.one_of(st.integers(d.min, d.max), st.sampled_from([d.min, d.max, 0]))
    return st.binary(max_size=4)


@st.composite
def arrays(draw):
    d = draw(st.sampled_from(VALUE_DTYPES))
    shape = tuple(draw(st.lists(st.integers(0, 4), max_size=3)))
    size = int(np.prod(shape))
    if size > 1 and draw(st.booleans()):
        items = [draw(_elements(d))] * size
    else:
        items = draw(st.lists(_elements(d), min_size=size, max_size=size))
    if d == dt.string:
        array = np.empty(shape, dtype=object)
        array.reshape(-1)[:] = items
        return array
    return np.array(items, dtype=d.numpy).reshape(shape)


dims = st.one_of(st.none(), st.integers(0, 5))
tensor_types = st.builds(
    TensorType,
    st.one_of(st.none(), st.lists(dims, max_size=3).map(tuple)),
    st.sampled_from(TYPE_DTYPES))
hints = st.one_of(
    st.none(), st.sampled_from(["x", "dense_1/MatMul:0", "0", "12", "x_1", "a b", "3d", ""]),
    st.text(alphabet="ab_1/:.$-é", max_size=6))
locations = st.one_of(st.none(), st.builds(Location, st.text(max_size=8), st.integers(0, 10**6),
                                           st.one_of(st.none(), st.integers(0, 999))))
idents = st.from_regex(r"[A-Za-z_][A-Za-z0-9_.$]{0,6}", fullmatch=True)
scalar_attrs = st.one_of(
    st.integers(-(2**70), 2**70), st.floats(), st.booleans(), st.text(max_size=8),
    st.sampled_from(TYPE_DTYPES))
attr_values = st.one_of(
    scalar_attrs,
    st.lists(st.integers(-(2**64), 2**64), max_size=3).map(tuple),
    st.lists(st.floats(), max_size=3).map(tuple),
    st.lists(st.booleans(), max_size=3).map(tuple),
    st.lists(st.text(max_size=4), max_size=3).map(tuple),
    arrays())
attr_dicts = st.dictionaries(idents, attr_values, max_size=4)


@st.composite
def functions(draw, name):
    arg_types = draw(st.lists(tensor_types, max_size=3))
    fb = FunctionBuilder(name, arg_types, [draw(hints) for _ in arg_types])
    pool = list(fb.args)
    for _ in range(draw(st.integers(0, 6))):
        loc = draw(locations)
        if pool and draw(st.booleans()):
            picks = draw(st.lists(st.sampled_from(pool), min_size=1, max_size=3))
            op = fb.create("core.identity", picks, location=loc)
        else:
            op = fb.create("core.constant", [], {"value": draw(arrays())}, location=loc)
        for r in op.results:
            r.name_hint = draw(hints)
        pool.extend(op.results)
    returned = draw(st.lists(st.sampled_from(pool), max_size=3)) if pool else []
    return fb.ret(returned, draw(attr_dicts))


@st.composite
def modules(draw):
    names = draw(st.lists(idents, min_size=1, max_size=3, unique=True))
    return Module([draw(functions(n)) for n in names], draw(attr_dicts))


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(modules())
def test_random_modules_round_trip(module):
    verify(module)
    text = print_module(module)
    again = parse_module(text)
    assert print_module(again) == text
    assert_same_module(module, again)   # values bit-identical, attributes, types, locations
    verify(again)


@settings(max_examples=150, deadline=None)
@given(arrays())
def test_random_constants_are_bit_identical(array):
    f = constants_function("main", {"c": array})
    again = round_trip(module_of(f))
    got = again["main"].body.ops[0].attributes["value"]
    if array.dtype != object:
        assert got.dtype == array.dtype and got.tobytes() == array.tobytes()
    else:
        assert got.shape == array.shape and list(got.flat) == list(array.flat)
