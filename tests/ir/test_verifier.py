"""The verifier: each VerifyError message names the op, where it is (its location, or
`@function op #N` in walk order without one) and what is wrong."""

import numpy as np
import pytest

from tfc.ir import (Block, Builder, Function, FunctionBuilder, Location, Module, Operation,
                    TensorType, VerifyError, dtypes as dt, parse_module, verify)
from tfc.ir.opdef import OPS, Operand, define

F2 = TensorType((2,), dt.float32)
F3 = TensorType((3,), dt.float32)
LOC = Location("m.py", 12)

REGION_OP = "test.verifier_region_op"
F32_ONLY_OP = "test.verifier_f32_only"


@pytest.fixture(scope="module", autouse=True)
def test_ops():
    """Test-only ops, removed from the op table afterwards."""
    added = []
    if REGION_OP not in OPS:
        define(REGION_OP, operands=[Operand("x", variadic=True)], infer=lambda t, a: list(t),
               compute=lambda *xs: tuple(xs), doc="Test-only op with regions.")
        added.append(REGION_OP)
    if F32_ONLY_OP not in OPS:
        define(F32_ONLY_OP, operands=[Operand("x", (dt.float32,))], infer=lambda t, a: list(t),
               compute=lambda x: x, doc="Test-only op accepting float32.")
        added.append(F32_ONLY_OP)
    yield
    for name in added:
        OPS.pop(name, None)


def const(value=None, location=None, result_type=None, **attrs):
    value = np.zeros(2, np.float32) if value is None else value
    if result_type is None:
        result_type = TensorType(np.shape(value), dt.from_numpy(np.asarray(value).dtype))
    return Operation("core.constant", [], [result_type], {"value": value, **attrs}, location)


def ident(*values, location=None, types=None):
    return Operation("core.identity", list(values), types or [v.type for v in values], location=location)


def ret(*values, location=None):
    return Operation("core.return", list(values), [], location=location)


def function(ops, result_types, arg_types=(), name="main", args=None):
    block = Block(list(arg_types)) if args is None else args
    for op in ops:
        block.append(op)
    return Function(name, block, list(result_types))


def errors_of(*functions):
    with pytest.raises(VerifyError) as info:
        verify(Module(list(functions)))
    return info.value


def only_error(*functions) -> str:
    e = errors_of(*functions)
    assert len(e.errors) == 1, e.errors
    assert str(e) == e.errors[0]
    return e.errors[0]


# valid modules ------------------------------------------------------------------------------
def test_valid_module_passes():
    fb = FunctionBuilder("main", [TensorType((None, 4), dt.float32), TensorType(None, dt.int32)], ["x", "y"],
                         location=Location("m.py", 1))
    x, y = fb.args
    c = fb.constant(np.ones((2, 4), np.float32))
    pair = fb.create("core.identity", [x, y])
    region = Block([F2])
    inner = Builder(region).create("core.identity", [region.args[0]])
    Builder(region).create("core.yield", [inner.result])
    r = fb.create(REGION_OP, [c], regions=[region])
    main = fb.ret([pair.results[0], pair.results[1], r.result])
    empty = FunctionBuilder("empty", []).ret([])
    q = FunctionBuilder("quant", [])
    qc = q.constant(np.array([1, 2], np.int8), dtype=dt.qint8)
    quant = q.ret([qc])
    module = Module([main, empty, quant])
    assert verify(module) is None
    assert verify(Module()) is None


def test_declared_types_may_be_less_specific_than_inferred():
    c = const(result_type=TensorType((None,), dt.float32))
    r = ret(c.result)
    verify(Module([function([c, r], [TensorType(None, dt.float32)])]))


def test_parsed_module_verifies():
    text = """module {
  func @main(%x: tensor<?x2xf32>) -> (tensor<?x2xf32>) {
    %0 = core.identity(%x) : (tensor<?x2xf32>) -> tensor<?x2xf32> loc("m.py":3)
    core.return(%0) : (tensor<?x2xf32>) -> ()
  }
}
"""
    verify(parse_module(text))


# use before definition -----------------------------------------------------------------------
def test_use_before_definition():
    c = const()
    i = ident(c.result)
    message = only_error(function([i, c, ret(i.result)], [F2]))
    assert message == ("@main op #0: core.identity: operand 0 is used before it is defined "
                       "(or comes from outside this block)")


def test_use_before_definition_with_location():
    c = const()
    i = ident(c.result, location=Location("m.py", 12, 4))
    message = only_error(function([i, c, ret()], []))
    assert message.startswith("m.py:12:4: core.identity: operand 0 is used before it is defined")
    c = const()
    message = only_error(function([ident(c.result, location=LOC), ret()], []))  # c not in any block
    assert message.startswith("m.py:12: core.identity: operand 0 is used before")


def test_both_operands_reported_and_error_count_in_message():
    c = const()
    i = ident(c.result, c.result)
    e = errors_of(function([i, c, ret()], []))
    assert [m.split(":")[2].strip() for m in e.errors] == ["operand 0 is used before it is defined (or comes from outside this block)",
                                                            "operand 1 is used before it is defined (or comes from outside this block)"]
    assert str(e).startswith("2 errors:\n@main op #0: core.identity: operand 0")
    assert str(e).endswith("\n".join(e.errors))


def test_value_from_another_function():
    c = const()
    other = function([c, ret(c.result)], [F2], name="other")
    i = ident(c.result)
    message = only_error(other, function([i, ret(i.result)], [F2], name="main"))
    assert message.startswith("@main op #0: core.identity: operand 0 is used before it is defined")


def test_region_cannot_use_outer_values():
    fb = FunctionBuilder("main", [F2])
    x = fb.args[0]
    region = Block()
    leak = Builder(region).create("core.identity", [x])
    Builder(region).create("core.yield", [leak.result])
    fb.create(REGION_OP, [x], regions=[region])
    f = fb.ret([x])
    assert only_error(f) == ("@main op #1: core.identity: operand 0 is used before it is defined "
                             "(or comes from outside this block)")


def test_op_index_counts_nested_ops_in_walk_order():
    fb = FunctionBuilder("main", [F2])
    x = fb.args[0]
    region = Block([F2])
    ok = Builder(region).create("core.identity", [region.args[0]])
    Builder(region).create("core.yield", [ok.result])
    fb.create(REGION_OP, [x], regions=[region])
    bad = Operation("foo.bar", [x], [F2])
    fb.block.append(bad)
    f = fb.ret([x])
    # walk order: region_op #0, identity #1, yield #2, foo.bar #3, return #4
    assert only_error(f) == "@main op #3: foo.bar: unknown op"


# result types ---------------------------------------------------------------------------------
def test_result_type_disagrees_with_inference():
    c = const(location=LOC, result_type=F3)
    message = only_error(function([c, ret(c.result)], [F3]))
    assert message.startswith("m.py:12: core.constant: result 0 is declared tensor<3xf32> but ")
    assert message.endswith("give tensor<2xf32>")


def test_result_dtype_disagrees_without_location():
    x = Block([F2])
    i = ident(x.args[0], types=[TensorType((2,), dt.float64)])
    message = only_error(function([i, ret(x.args[0])], [F2], args=x))
    assert message.startswith("@main op #0: core.identity: result 0 is declared tensor<2xf64> but ")
    assert message.endswith("give tensor<2xf32>")


def test_result_count_disagrees_with_inference():
    c = Operation("core.constant", [], [F2, F2], {"value": np.zeros(2, np.float32)}, LOC)
    assert only_error(function([c, ret(c.results[0])], [F2])) == \
        "m.py:12: core.constant: has 2 results, expected 1"




def test_operand_dtype_accepted():
    x = Block([F2])
    op = Operation(F32_ONLY_OP, [x.args[0]], [F2])
    verify(Module([function([op, ret(op.result)], [F2], args=x)]))


def test_operand_dtype_not_accepted():
    x = Block([TensorType((2,), dt.int32)])
    op = Operation(F32_ONLY_OP, [x.args[0]], [x.args[0].type], location=Location("m.py", 5, 1))
    message = only_error(function([op, ret()], [], args=x))
    assert message == f"m.py:5:1: {F32_ONLY_OP}: operand 'x' has dtype int32, expected one of float32"


def test_identity_needs_an_operand():
    message = only_error(function([Operation("core.identity", [], []), ret()], []))
    assert message == "@main op #0: core.identity: expected at least one operand"


# function results ---------------------------------------------------------------------------------
def test_return_types_vs_function_result_types():
    c = const()
    r = ret(c.result, location=Location("m.py", 30))
    assert only_error(function([c, r], [F3])) == \
        "m.py:30: core.return: returns (tensor<2xf32>) but @main declares (tensor<3xf32>)"


def test_return_count_vs_function_result_types():
    c = const()
    message = only_error(function([c, ret(c.result)], [F2, F2], name="two"))
    assert message == "@two op #1: core.return: returns (tensor<2xf32>) but @two declares (tensor<2xf32>, tensor<2xf32>)"
    message = only_error(function([ret()], [F2]))
    assert message == "@main op #0: core.return: returns () but @main declares (tensor<2xf32>)"


def test_return_dtype_vs_function_result_types():
    c = const(np.zeros(2, np.int32))
    message = only_error(function([c, ret(c.result)], [F2]))
    assert message == "@main op #1: core.return: returns (tensor<2xi32>) but @main declares (tensor<2xf32>)"


# terminators ------------------------------------------------------------------------------------
def test_missing_terminator():
    assert only_error(function([const()], [])) == \
        "@main: block must end with core.return, ends with core.constant"
    assert only_error(function([], [], name="f")) == "@f: block must end with core.return, ends with nothing"


def test_region_needs_yield():
    fb = FunctionBuilder("main", [F2])
    x = fb.args[0]
    region = Block([F2])
    region.append(ident(region.args[0]))
    fb.create(REGION_OP, [x], regions=[region])
    f = fb.ret([x])
    assert only_error(f) == "@main: block must end with core.yield, ends with core.identity"


def test_return_in_region_is_wrong_terminator():
    fb = FunctionBuilder("main", [F2])
    x = fb.args[0]
    region = Block([F2])
    region.append(ret(region.args[0]))
    fb.create(REGION_OP, [x], regions=[region])
    f = fb.ret([x])
    assert only_error(f) == "@main: block must end with core.yield, ends with core.return"


def test_terminator_not_last():
    c = const()
    e = errors_of(function([ret(), c], []))
    assert e.errors == ["@main: block must end with core.return, ends with core.constant",
                        "@main op #0: core.return: a terminator must be the last op of its block"]
    c = const()
    e = errors_of(function([ret(location=LOC), c, ret()], []))
    assert e.errors == ["m.py:12: core.return: a terminator must be the last op of its block"]


# op table -------------------------------------------------------------------------------------------
def test_unknown_op():
    assert only_error(function([Operation("foo.bar", []), ret()], [])) == "@main op #0: foo.bar: unknown op"
    op = Operation("math.frobnicate", [], [F2], location=Location("model.py", 3, 9))
    assert only_error(function([op, ret()], [])) == "model.py:3:9: math.frobnicate: unknown op"


@pytest.mark.parametrize("attrs, expected", [
    ({"value": 5}, "attribute 'value' must be a dense tensor, got 5"),
    ({"value": [1.0, 2.0]}, "attribute 'value' must be a dense tensor, got [1.0, 2.0]"),
    ({"value": np.zeros(2, np.float32), "dtype": 3}, "attribute 'dtype' must be a dtype such as f32, got 3"),
    ({"value": np.zeros(2, np.float32), "dtype": "float33"}, "attribute 'dtype' must be a dtype such as f32, got 'float33'"),
    ({"value": np.zeros(2, np.float32), "bogus": 1}, "unknown attribute 'bogus' (known: value, dtype)"),
    ({}, "missing required attribute 'value' (a dense tensor)"),
], ids=["int", "list", "dtype int", "dtype name", "unknown", "missing"])
def test_bad_attributes(attrs, expected):
    op = Operation("core.constant", [], [F2], attrs)
    assert only_error(function([op, ret()], [])) == f"@main op #0: core.constant: {expected}"
    op = Operation("core.constant", [], [F2], attrs, LOC)
    assert only_error(function([op, ret()], [])) == f"m.py:12: core.constant: {expected}"


def test_errors_from_several_functions_in_order():
    good = function([ret()], [], name="good")
    bad1 = function([Operation("foo.bar", []), ret()], [], name="bad1")
    bad2 = function([], [], name="bad2")
    e = errors_of(good, bad1, bad2)
    assert e.errors == ["@bad1 op #0: foo.bar: unknown op",
                        "@bad2: block must end with core.return, ends with nothing"]
    assert str(e) == "2 errors:\n" + "\n".join(e.errors)
    assert isinstance(e, ValueError)
