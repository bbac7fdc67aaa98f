"""Common subexpression elimination and dead code elimination."""

import numpy as np
import pytest

from tfc.ir import FunctionBuilder, Module, TensorType, dtypes, parse_module, verify
from tfc.passes import PassManager
from tfc.passes.cse import CommonSubexpressionElimination, tensors_equal
from tfc.passes.dce import DeadCodeElimination
from tfc.runtime.interpreter import run_function

from .filecheck import check, opt

T = "tensor<2x3xf32>"


def func(body: str, args: str = f"%x: {T}, %y: {T}", results: str = T) -> str:
    return f"module {{\n  func @main({args}) -> ({results}) {{\n{body}  }}\n}}\n"


def test_identical_pure_ops_merge_and_users_follow():
    text = func(f"""\
    %a = math.add(%x, %y) : ({T}, {T}) -> {T}
    %b = math.add(%x, %y) : ({T}, {T}) -> {T}
    %ra = nn.relu(%a) : ({T}) -> {T}
    %rb = nn.relu(%b) : ({T}) -> {T}
    %s = math.mul(%ra, %rb) : ({T}, {T}) -> {T}
    core.return(%s) : ({T}) -> ()
""")
    check(opt(text, "cse"), """
        CHECK: %a = math.add(%x, %y)
        CHECK-NEXT: %ra = nn.relu(%a)
        CHECK-NEXT: %s = math.mul(%ra, %ra)
        CHECK-NOT: math.add
        CHECK-NOT: nn.relu
    """)


def test_operand_order_attributes_and_types_keep_ops_apart():
    text = func(f"""\
    %a = math.sub(%x, %y) : ({T}, {T}) -> {T}
    %b = math.sub(%y, %x) : ({T}, {T}) -> {T}
    %c = array.transpose(%a) {{perm = [1, 0]}} : ({T}) -> tensor<3x2xf32>
    %d = array.transpose(%b) {{perm = [1, 0]}} : ({T}) -> tensor<3x2xf32>
    %e = math.reduce_sum(%a) {{axes = [0], keep_dims = false}} : ({T}) -> tensor<3xf32>
    %f = math.reduce_sum(%a) {{axes = [0], keep_dims = true}} : ({T}) -> tensor<1x3xf32>
    core.return(%c, %d, %e, %f) : (tensor<3x2xf32>, tensor<3x2xf32>, tensor<3xf32>, tensor<1x3xf32>) -> ()
""", results="tensor<3x2xf32>, tensor<3x2xf32>, tensor<3xf32>, tensor<1x3xf32>")
    out = opt(text, "cse")
    assert out == opt(text, "")
    assert out.count("math.sub") == 2 and out.count("array.transpose") == 2 and out.count("reduce_sum") == 2


def test_constants_merge_by_value_nan_included_but_not_signed_zeros():
    text = func("""\
    %a = core.constant() {value = dense<[1.0, nan]> : tensor<2xf32>} : () -> tensor<2xf32>
    %b = core.constant() {value = dense<[1.0, nan]> : tensor<2xf32>} : () -> tensor<2xf32>
    %z = core.constant() {value = dense<0.0> : tensor<2xf32>} : () -> tensor<2xf32>
    %n = core.constant() {value = dense<-0.0> : tensor<2xf32>} : () -> tensor<2xf32>
    %i = core.constant() {value = dense<[1, 0]> : tensor<2xi32>} : () -> tensor<2xi32>
    %j = core.constant() {value = dense<[1, 0]> : tensor<2xi64>} : () -> tensor<2xi64>
    %s = math.add(%a, %b) : (tensor<2xf32>, tensor<2xf32>) -> tensor<2xf32>
    %t = math.add(%z, %n) : (tensor<2xf32>, tensor<2xf32>) -> tensor<2xf32>
    core.return(%s, %t, %i, %j) : (tensor<2xf32>, tensor<2xf32>, tensor<2xi32>, tensor<2xi64>) -> ()
""", args="", results="tensor<2xf32>, tensor<2xf32>, tensor<2xi32>, tensor<2xi64>")
    check(opt(text, "cse"), """
        CHECK: %a = core.constant() {value = dense<[1.0, nan]>
        CHECK-NOT: %b = core.constant
        CHECK: %z = core.constant() {value = dense<0.0>
        CHECK-NEXT: %n = core.constant() {value = dense<-0.0>
        CHECK-NEXT: %i = core.constant
        CHECK-NEXT: %j = core.constant
        CHECK: %s = math.add(%a, %a)
        CHECK-NEXT: %t = math.add(%z, %n)
    """)


def test_tensors_equal():
    f = np.array([1.0, np.nan], np.float32)
    assert tensors_equal(f, f.copy())
    assert not tensors_equal(f, f.astype(np.float64))
    assert not tensors_equal(np.zeros(2, np.float32), -np.zeros(2, np.float32))
    assert not tensors_equal(np.zeros(2), np.zeros((1, 2)))
    assert tensors_equal(np.array([1 + 1j, np.nan]), np.array([1 + 1j, np.nan]))
    assert tensors_equal(np.array(["a", "b"], object), np.array(["a", "b"], object))


RANDOM = func("""\
    %k = core.constant() {value = dense<0> : tensor<i64>} : () -> tensor<i64>
    %r1 = random.uniform(%k) {shape = [3], dtype = f32, seed = 1, seed2 = 2} : (tensor<i64>) -> tensor<3xf32>
    %r2 = random.uniform(%k) {shape = [3], dtype = f32, seed = 1, seed2 = 2} : (tensor<i64>) -> tensor<3xf32>
    %unused = random.normal(%k) {shape = [3], dtype = f32, seed = 1, seed2 = 2} : (tensor<i64>) -> tensor<3xf32>
    %d = nn.dropout(%r1, %k) {rate = 0.5, seed = 3, seed2 = 4} : (tensor<3xf32>, tensor<i64>) -> tensor<3xf32>
    %s = math.add(%d, %r2) : (tensor<3xf32>, tensor<3xf32>) -> tensor<3xf32>
    core.return(%s) : (tensor<3xf32>) -> ()
""", args="", results="tensor<3xf32>")


def test_random_ops_are_never_merged_nor_dropped():
    check(opt(RANDOM, "cse,dce"), """
        CHECK: %r1 = random.uniform(%k)
        CHECK-NEXT: %r2 = random.uniform(%k)
        CHECK-NEXT: %unused = random.normal(%k)
        CHECK-NEXT: %d = nn.dropout(%r1, %k)
        CHECK-NEXT: %s = math.add(%d, %r2)
    """)


def test_dce_removes_dead_chains_in_one_run_and_keeps_the_return():
    text = func(f"""\
    %c = core.constant() {{value = dense<2.0> : {T}}} : () -> {T}
    %a = math.add(%x, %c) : ({T}, {T}) -> {T}
    %b = math.exp(%a) : ({T}) -> {T}
    %dead1, %dead2 = core.identity(%a, %b) : ({T}, {T}) -> ({T}, {T})
    %live = math.mul(%x, %y) : ({T}, {T}) -> {T}
    core.return(%live) : ({T}) -> ()
""")
    module = parse_module(text)
    assert DeadCodeElimination().run(module) is True
    assert [op.name for op in module["main"].body.ops] == ["math.mul", "core.return"]
    assert DeadCodeElimination().run(module) is False
    check(opt(text, "dce"), "CHECK: %live = math.mul(%x, %y)\nCHECK-NEXT: core.return(%live)")


def test_dce_keeps_everything_of_an_all_live_function():
    module = parse_module(RANDOM)
    before = [op.name for op in module["main"].body.ops]
    DeadCodeElimination().run(module)
    assert [op.name for op in module["main"].body.ops] == before


def test_cse_then_dce_numerically_unchanged():
    rng = np.random.default_rng(3)
    fb = FunctionBuilder("main", [TensorType((4, 5), dtypes.float32)], ["x"])
    x = fb.args[0]
    w1 = fb.constant(rng.standard_normal((5, 5)).astype(np.float32))
    w2 = fb.constant(np.array(fb.block.ops[0].attributes["value"], copy=True))   # same value
    h1 = fb.op("nn.relu", fb.op("math.matmul", x, w1))
    h2 = fb.op("nn.relu", fb.op("math.matmul", x, w2))
    fb.op("math.exp", h1)                                                          # dead
    module = Module([fb.ret([fb.op("math.sub", h1, fb.op("math.tanh", h2))])])
    verify(module)
    xv = rng.standard_normal((4, 5)).astype(np.float32)
    before = run_function(module["main"], [xv])[0]
    stats = PassManager.parse("cse,dce").run(module)
    assert stats["ops_before"] == 10 and [r["ops_after"] for r in stats["passes"]] == [7, 6]
    assert [op.name for op in module["main"].body.ops] == [
        "core.constant", "math.matmul", "nn.relu", "math.tanh", "math.sub", "core.return"]
    np.testing.assert_array_equal(run_function(module["main"], [xv])[0], before)


def test_cse_reports_no_change():
    assert CommonSubexpressionElimination().run(parse_module(RANDOM)) is False
