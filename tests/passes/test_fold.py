"""Constant folding: IR-text tests and numeric checks against the interpreter."""

import numpy as np
import pytest

from tfc.ir import FunctionBuilder, Module, TensorType, dtypes, parse_module, print_module, verify
from tfc.passes import PassManager
from tfc.passes.fold import FoldConstants
from tfc.runtime.interpreter import run_function

from .filecheck import check, opt

ADD_MUL = """\
module {
  func @main(%x: tensor<2xf32>) -> (tensor<2xf32>) {
    %a = core.constant() {value = dense<[1.0, 2.0]> : tensor<2xf32>} : () -> tensor<2xf32>
    %b = core.constant() {value = dense<[3.0, 4.0]> : tensor<2xf32>} : () -> tensor<2xf32>
    %s = math.add(%a, %b) : (tensor<2xf32>, tensor<2xf32>) -> tensor<2xf32>
    %p = math.mul(%s, %b) : (tensor<2xf32>, tensor<2xf32>) -> tensor<2xf32>
    %y = math.add(%x, %p) : (tensor<2xf32>, tensor<2xf32>) -> tensor<2xf32>
    core.return(%y) : (tensor<2xf32>) -> ()
  }
}
"""


def test_folds_a_chain_of_constant_ops_in_one_run():
    out = opt(ADD_MUL, "fold,dce")
    check(out, """
        CHECK: %p = core.constant() {value = dense<[12.0, 24.0]> : tensor<2xf32>}
        CHECK-NEXT: %y = math.add(%x, %p)
        CHECK-NOT: math.mul
        CHECK-NOT: core.constant
    """)
    # fold alone leaves the operands for dce.
    check(opt(ADD_MUL, "fold"), "CHECK: %a = core.constant\nCHECK: %s = core.constant\nCHECK: %p = core.constant")


def test_fold_reports_no_change_on_a_folded_module():
    module = parse_module(ADD_MUL)
    assert FoldConstants().run(module) is True
    assert FoldConstants().run(module) is False


def test_array_shape_of_a_static_value_folds_without_constant_operands():
    text = """\
module {
  func @main(%x: tensor<3x5xf32>, %d: tensor<?x5xf32>) -> (tensor<2xi64>, tensor<2xi32>) {
    %s = array.shape(%x) {out_type = i64} : (tensor<3x5xf32>) -> tensor<2xi64>
    %t = array.shape(%d) {out_type = i32} : (tensor<?x5xf32>) -> tensor<2xi32>
    core.return(%s, %t) : (tensor<2xi64>, tensor<2xi32>) -> ()
  }
}
"""
    check(opt(text, "fold"), """
        CHECK: %s = core.constant() {value = dense<[3, 5]> : tensor<2xi64>}
        CHECK-NOT: array.shape(%x)
        CHECK: %t = array.shape(%d)
    """)


def test_size_cap_keeps_large_results_unfolded():
    text = """\
module {
  func @main() -> (tensor<2048x1024xf32>, tensor<8xf32>) {
    %c = core.constant() {value = dense<1.5> : tensor<f32>} : () -> tensor<f32>
    %big = array.broadcast_to(%c) {shape = [2048, 1024]} : (tensor<f32>) -> tensor<2048x1024xf32>
    %small = array.broadcast_to(%c) {shape = [8]} : (tensor<f32>) -> tensor<8xf32>
    core.return(%big, %small) : (tensor<2048x1024xf32>, tensor<8xf32>) -> ()
  }
}
"""
    check(opt(text, "fold"), """
        CHECK: %big = array.broadcast_to(%c)
        CHECK: %small = core.constant() {value = dense<1.5> : tensor<8xf32>}
    """)
    check(opt(text, "fold{max_elements=4}"), "CHECK: %big = array.broadcast_to\nCHECK: %small = array.broadcast_to")
    assert "max_elements=4" in str(PassManager.parse("fold{max_elements=4}"))


def test_widening_casts_of_large_constants_stay_casts():
    # fp16 weights stay fp16 (half the bytes) and are converted at run time; narrowing casts and
    # small constants fold.
    fb = FunctionBuilder("main", [])
    big = fb.constant(np.linspace(-1, 1, 5000).astype(np.float16))
    small = fb.constant(np.linspace(-1, 1, 16).astype(np.float16))
    wide = fb.op("math.cast", big, to=dtypes.float32)
    narrow = fb.op("math.cast", fb.constant(np.ones(5000, np.float32)), to=dtypes.float16)
    tiny = fb.op("math.cast", small, to=dtypes.float32)
    module = Module([fb.ret([wide, narrow, tiny])])
    FoldConstants().run(module)
    casts = [op for op in module["main"].body.ops if op.name == "math.cast"]
    assert [op.operands[0].type.dtype for op in casts] == [dtypes.float16]
    FoldConstants(max_widen_elements=10_000).run(module)
    assert not [op for op in module["main"].body.ops if op.name == "math.cast"]


def test_compute_errors_leave_the_op_for_run_time():
    text = """\
module {
  func @main() -> (tensor<2xi32>) {
    %a = core.constant() {value = dense<[7, 8]> : tensor<2xi32>} : () -> tensor<2xi32>
    %z = core.constant() {value = dense<[1, 0]> : tensor<2xi32>} : () -> tensor<2xi32>
    %q = math.floor_div(%a, %z) : (tensor<2xi32>, tensor<2xi32>) -> tensor<2xi32>
    core.return(%q) : (tensor<2xi32>) -> ()
  }
}
"""
    check(opt(text, "fold"), "CHECK: %q = math.floor_div(%a, %z)")


def test_random_and_stateful_ops_are_never_folded():
    text = """\
module {
  func @main() -> (tensor<3xf32>) {
    %counter = core.constant() {value = dense<0> : tensor<i64>} : () -> tensor<i64>
    %r = random.uniform(%counter) {shape = [3], dtype = f32, seed = 1, seed2 = 2} : (tensor<i64>) -> tensor<3xf32>
    core.return(%r) : (tensor<i64>) -> ()
  }
}
""".replace("core.return(%r) : (tensor<i64>)", "core.return(%r) : (tensor<3xf32>)")
    check(opt(text, "fold,dce"), "CHECK: %counter = core.constant\nCHECK: %r = random.uniform(%counter)")


def test_multi_result_ops_and_identity_fold():
    text = """\
module {
  func @main() -> (tensor<2xf32>, tensor<2xf32>, tensor<4xf32>) {
    %c = core.constant() {value = dense<[1.0, 2.0, 3.0, 4.0]> : tensor<4xf32>} : () -> tensor<4xf32>
    %a, %b = array.split(%c) {axis = 0, num = 2} : (tensor<4xf32>) -> (tensor<2xf32>, tensor<2xf32>)
    %i = core.identity(%c) : (tensor<4xf32>) -> tensor<4xf32>
    core.return(%a, %b, %i) : (tensor<2xf32>, tensor<2xf32>, tensor<4xf32>) -> ()
  }
}
"""
    check(opt(text, "fold,dce"), """
        CHECK: %c = core.constant() {value = dense<[1.0, 2.0, 3.0, 4.0]>
        CHECK: %a = core.constant() {value = dense<[1.0, 2.0]>
        CHECK-NEXT: %b = core.constant() {value = dense<[3.0, 4.0]>
        CHECK-NOT: array.split
        CHECK-NOT: core.identity
        CHECK: core.return(%a, %b, %c)
    """)


def test_folded_results_match_the_interpreter_bit_for_bit():
    rng = np.random.default_rng(0)
    fb = FunctionBuilder("main", [TensorType((3, 4), dtypes.float32)], ["x"])
    w = fb.constant(rng.standard_normal((4, 4)).astype(np.float32))
    v = fb.constant(np.array([-0.0, np.nan, np.inf, 2.5], np.float32))
    folded = fb.op("math.tanh", fb.op("math.matmul", w, fb.op("array.transpose", w, perm=[1, 0])))
    special = fb.op("math.mul", fb.op("math.reciprocal", v), v)
    y = fb.op("math.add", fb.op("math.matmul", fb.args[0], folded), special)
    module = Module([fb.ret([y])])
    verify(module)
    x = rng.standard_normal((3, 4)).astype(np.float32)
    before = run_function(module["main"], [x])[0]
    PassManager.parse("fold,dce").run(module)
    assert [op.name for op in module["main"].body.ops] == [
        "core.constant", "core.constant", "math.matmul", "math.add", "core.return"]
    after = run_function(module["main"], [x])[0]
    np.testing.assert_array_equal(before.view(np.uint32), after.view(np.uint32))


def test_constants_with_a_storage_dtype_are_left_alone():
    fb = FunctionBuilder("main", [])
    c = fb.create("core.constant", [], {"value": np.array([1, 2], np.int8), "dtype": dtypes.qint8}).result
    module = Module([fb.ret([fb.op("core.identity", c)])])
    verify(module)
    assert not FoldConstants().run(module)


def test_bad_option_value_names_the_pass_and_option():
    from tfc.passes import PipelineError

    with pytest.raises(PipelineError, match="pass 'fold', option 'max_elements': expected an integer"):
        PassManager.parse("fold{max_elements=lots}")
