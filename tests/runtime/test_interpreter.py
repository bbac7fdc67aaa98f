"""The reference interpreter: running functions with positional and named inputs, input checks,
evaluate_op and multi-result functions."""

import numpy as np
import pytest

from tfc.ir import (BuildError, FunctionBuilder, Location, Module, Operation, TensorType,
                    dtypes as dt, parse_module, verify)
from tfc.ir.opdef import OPS, ComputeError, Operand, define
from tfc.runtime.interpreter import InterpreterError, check_input, evaluate_op, run_function

FAILING_OP = "test.interp_failing"
OPAQUE_OP = "test.interp_opaque"


@pytest.fixture(scope="module", autouse=True)
def test_ops():
    """Test-only ops, removed from the op table afterwards."""
    added = []

    def fail(x):
        raise ComputeError("integer division by zero")

    if FAILING_OP not in OPS:
        define(FAILING_OP, operands=[Operand("x")], infer=lambda t, a: [t[0]], compute=fail,
               doc="Test-only op whose reference semantics always fail.")
        added.append(FAILING_OP)
    if OPAQUE_OP not in OPS:
        define(OPAQUE_OP, operands=[Operand("x")], infer=lambda t, a: [t[0]], compute=None,
               doc="Test-only op without reference semantics.")
        added.append(OPAQUE_OP)
    yield
    for name in added:
        OPS.pop(name, None)


def two_input_function():
    """main(x: ?x2xf32, arg1: i32) -> (i32, [1, 2] i64, x)"""
    fb = FunctionBuilder("main", [TensorType((None, 2), dt.float32), TensorType((), dt.int32)], ["x", None])
    x, k = fb.args
    pair = fb.create("core.identity", [x, k], location=Location("m.py", 4))
    c = fb.constant(np.array([1, 2], np.int64))
    f = fb.ret([pair.results[1], c, pair.results[0]])
    verify(Module([f]))
    return f


X = np.arange(6, dtype=np.float32).reshape(3, 2)
K = np.int32(7)


def check_outputs(out):
    assert isinstance(out, list) and len(out) == 3
    assert out[0].dtype == np.int32 and out[0].shape == () and out[0] == 7
    assert out[1].dtype == np.int64 and out[1].tolist() == [1, 2]
    assert out[2].dtype == np.float32 and np.array_equal(out[2], X)


def test_positional_inputs():
    f = two_input_function()
    check_outputs(run_function(f, [X, K]))
    check_outputs(run_function(f, (X, np.array(7, np.int32))))


def test_named_inputs_use_name_hints_or_argN():
    f = two_input_function()
    check_outputs(run_function(f, {"x": X, "arg1": K}))
    check_outputs(run_function(f, {"arg1": K, "x": X}))


def test_unknown_dims_accept_any_size():
    f = two_input_function()
    for n in (0, 1, 5):
        out = run_function(f, [np.zeros((n, 2), np.float32), K])
        assert out[2].shape == (n, 2)


def test_unknown_rank_accepts_any_shape():
    fb = FunctionBuilder("main", [TensorType(None, dt.uint8)], ["t"])
    f = fb.ret([fb.args[0]])
    for shape in [(), (3,), (2, 0, 4)]:
        assert run_function(f, [np.zeros(shape, np.uint8)])[0].shape == shape


def test_multi_result_function_from_text():
    text = """module {
  func @swap(%a: tensor<2xf64>, %b: tensor<i1>) -> (tensor<i1>, tensor<2xf64>, tensor<2xf64>) {
    %0, %1 = core.identity(%b, %a) : (tensor<i1>, tensor<2xf64>) -> (tensor<i1>, tensor<2xf64>)
    core.return(%0, %1, %a) : (tensor<i1>, tensor<2xf64>, tensor<2xf64>) -> ()
  }
}
"""
    f = parse_module(text)["swap"]
    a = np.array([1.5, -0.0])
    out = run_function(f, {"a": a, "b": np.array(True)})
    assert [o.dtype for o in out] == [np.bool_, np.float64, np.float64]
    assert out[0] == True  # noqa: E712
    assert np.array_equal(out[1], a) and np.array_equal(out[2], a)
    assert np.signbit(out[1][1])


def test_function_without_inputs_or_outputs():
    assert run_function(FunctionBuilder("f", []).ret([]), []) == []
    assert run_function(FunctionBuilder("g", []).ret([]), {}) == []


def test_string_and_quantized_values():
    fb = FunctionBuilder("main", [TensorType((2,), dt.string)], ["s"])
    q = fb.constant(np.array([-1, 5], np.int8), dtype=dt.qint8)
    s = fb.constant(np.array([b"\xff", b""], dtype=object))
    f = fb.ret([fb.args[0], q, s])
    out = run_function(f, [np.array([b"a", b"bc"])])
    assert out[0].dtype == object and list(out[0]) == [b"a", b"bc"]
    assert out[1].dtype == np.int8 and out[1].tolist() == [-1, 5]
    assert list(out[2]) == [b"\xff", b""]
    out = run_function(f, [np.array(["x", "y"])])
    assert out[0].dtype == object and list(out[0]) == ["x", "y"]


# input errors ---------------------------------------------------------------------------------
def raises(f, inputs, message):
    with pytest.raises(InterpreterError) as info:
        run_function(f, inputs)
    assert str(info.value) == message
    assert isinstance(info.value, RuntimeError)
    return info.value


def test_wrong_input_count():
    f = two_input_function()
    raises(f, [X], "@main takes 2 inputs, got 1")
    raises(f, [X, K, K], "@main takes 2 inputs, got 3")
    raises(f, [], "@main takes 2 inputs, got 0")


def test_wrong_input_names():
    f = two_input_function()
    raises(f, {"x": X}, "@main takes inputs ['x', 'arg1']; missing ['arg1'], unexpected []")
    raises(f, {"x": X, "arg1": K, "z": K}, "@main takes inputs ['x', 'arg1']; missing [], unexpected ['z']")
    raises(f, {"X": X, "arg1": K}, "@main takes inputs ['x', 'arg1']; missing ['x'], unexpected ['X']")


def test_wrong_input_shape():
    f = two_input_function()
    raises(f, [np.zeros((3, 3), np.float32), K], "input 'x' has shape [3, 3], expected tensor<?x2xf32>")
    raises(f, [np.zeros((2,), np.float32), K], "input 'x' has shape [2], expected tensor<?x2xf32>")
    raises(f, [X, np.array([7], np.int32)], "input 'arg1' has shape [1], expected tensor<i32>")


def test_wrong_input_dtype():
    f = two_input_function()
    raises(f, [X.astype(np.float64), K], "input 'x' has dtype float64, expected float32")
    raises(f, [X, np.int64(7)], "input 'arg1' has dtype int64, expected int32")
    raises(f, {"x": X, "arg1": 7}, "input 'arg1' has dtype int64, expected int32")  # no implicit casts
    raises(f, [X.tolist(), K], "input 'x' has dtype float64, expected float32")


def test_bfloat16_inputs_are_refused():
    fb = FunctionBuilder("main", [TensorType((2,), dt.bfloat16)], ["b"])
    f = fb.ret([fb.args[0]])
    raises(f, [np.zeros(2, np.float32)], "input 'b': dtype bfloat16 cannot be held in numpy")


def test_check_input():
    t = TensorType((None, 3), dt.float32)
    assert check_input(np.zeros((2, 3), np.float32), t, "v").shape == (2, 3)
    with pytest.raises(InterpreterError, match="input 'v' has shape \\[3\\], expected tensor<\\?x3xf32>"):
        check_input(np.zeros(3, np.float32), t, "v")


# op failures ------------------------------------------------------------------------------------------
def test_compute_error_names_op_and_location():
    fb = FunctionBuilder("main", [TensorType((2,), dt.int32)], ["x"])
    op = fb.create(FAILING_OP, [fb.args[0]], location=Location("m.py", 12, 3))
    f = fb.ret([op.result])
    e = raises(f, [np.array([1, 0], np.int32)], f"m.py:12:3: {FAILING_OP}: integer division by zero")
    assert e.op is op
    fb = FunctionBuilder("main", [TensorType((2,), dt.int32)], ["x"])
    fb.create(FAILING_OP, [fb.args[0]])
    f = fb.ret([])
    raises(f, [np.array([1, 0], np.int32)], f"{FAILING_OP}: integer division by zero")


def test_op_without_reference_semantics():
    fb = FunctionBuilder("main", [TensorType((2,), dt.int32)], ["x"])
    op = fb.create(OPAQUE_OP, [fb.args[0]], location=Location("m.py", 2))
    f = fb.ret([op.result])
    e = raises(f, [np.array([1, 0], np.int32)], f"m.py:2: {OPAQUE_OP}: op has no reference semantics")
    assert e.op is op


def test_ops_after_return_are_not_run():
    fb = FunctionBuilder("main", [TensorType((2,), dt.int32)], ["x"])
    f = fb.ret([fb.args[0]])
    f.body.append(Operation(FAILING_OP, [fb.args[0]], [fb.args[0].type]))
    assert run_function(f, [np.array([1, 2], np.int32)])[0].tolist() == [1, 2]


# evaluate_op -------------------------------------------------------------------------------------------
def test_evaluate_op_single_and_multi_result():
    out = evaluate_op("core.identity", np.array([1.5, 2.5], np.float32))
    assert isinstance(out, np.ndarray) and out.dtype == np.float32 and out.tolist() == [1.5, 2.5]
    out = evaluate_op("core.identity", np.int8(-3), np.array([[True]]), np.array([1 + 2j]))
    assert isinstance(out, tuple) and len(out) == 3
    assert out[0].dtype == np.int8 and out[0] == -3
    assert out[1].dtype == np.bool_ and out[1].shape == (1, 1)
    assert out[2].dtype == np.complex128 and out[2][0] == 1 + 2j


def test_evaluate_op_constant():
    value = np.arange(6, dtype=np.uint16).reshape(2, 3)
    out = evaluate_op("core.constant", value=value)
    assert out.dtype == np.uint16 and np.array_equal(out, value)
    q = evaluate_op("core.constant", value=np.array([1, 2], np.uint8), dtype=dt.quint8)
    assert q.dtype == np.uint8 and q.tolist() == [1, 2]


def test_evaluate_op_errors():
    with pytest.raises(BuildError, match="unknown op 'math.frobnicate'"):
        evaluate_op("math.frobnicate", np.zeros(2))
    with pytest.raises(BuildError, match="missing required attribute 'value'"):
        evaluate_op("core.constant")
    with pytest.raises(BuildError, match="expected at least one operand"):
        evaluate_op("core.identity")
    with pytest.raises(InterpreterError, match=f"{FAILING_OP}: integer division by zero"):
        evaluate_op(FAILING_OP, np.zeros(2, np.int32))


def test_results_do_not_alias_constants():
    fb = FunctionBuilder("main", [])
    c = fb.constant(np.array([1, 2], np.int64))
    f = fb.ret([c])
    out = run_function(f, [])
    out[0][0] = 99
    assert c.owner.attributes["value"].tolist() == [1, 2]
    assert run_function(f, [])[0].tolist() == [1, 2]
