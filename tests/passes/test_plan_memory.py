"""Memory planning: liveness, in-place legality, the interval allocation (a hypothesis property
test on random op sequences), kernel scratch, the pass's IR attributes, and numeric equality
of natively compiled functions and models with and without planning."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings, strategies as st

from tfc.codegen.llvm import emitter, kernels  # noqa: F401  (kernels: writes_in_place looks at them)
from tfc.codegen.llvm.elementwise import SCALAR
from tfc.codegen.llvm.emitter import compile_function, writes_in_place
from tfc.codegen.llvm.native import NativeFunction, aligned_empty
from tfc.ir import FunctionBuilder, Module, Operation, OPS, TensorType, dtypes as dt, parse_module, verify
from tfc.ir.opdef import ELEMENTWISE
from tfc.passes import PassManager
from tfc.passes.plan_memory import (ALIASING_OPS, PlanMemory, alias_root, default_in_place,
                                    plan_memory)
from tfc.runtime.interpreter import run_function

from .filecheck import check, opt

ROOT = Path(__file__).resolve().parents[2]
F32 = dt.float32


# Helpers -------------------------------------------------------------------------------------
def build(arg_shapes, body, dtype=F32):
    """A verified function: body(fb, *args) returns the values to return."""
    fb = FunctionBuilder("main", [TensorType(s, dtype) for s in arg_shapes],
                         [f"x{i}" for i in range(len(arg_shapes))])
    function = fb.ret(list(body(fb, *fb.args)))
    verify(Module([function]))
    return function


def true_lives(function):
    """Each arena value's [definition, last use] computed independently of the planner: the
    value is needed until the last op reading it or any alias of it."""
    index = {id(op): t for t, op in enumerate(function.body.ops)}
    lives = {}
    for t, op in enumerate(function.body.ops):
        for r in op.results:
            lives[r] = [t, t]
    for t, op in enumerate(function.body.ops):
        for nested in op.walk():
            for v in nested.operands:
                while getattr(v, "op", None) is not None and v.op.name in ALIASING_OPS:
                    lives.setdefault(v, [index[id(v.op)], t])[1] = t
                    v = v.op.operands[v.index if v.op.name == "core.identity" else 0]
                if v in lives:
                    lives[v][1] = max(lives[v][1], t)
    return lives


def check_plan(function, plan, in_place=writes_in_place):
    """No two values needed at the same op share a byte, except a result written in place over
    an operand dying at that op (legal for the op); scratch overlaps nothing live at its op."""
    lives = true_lives(function)
    arena = [v for v in plan.offsets]
    for v in arena:
        assert v in lives and alias_root(v) is v
        assert plan.offsets[v] % 64 == 0
        assert plan.offsets[v] + plan.sizes[v] <= plan.peak_bytes
        assert plan.sizes[v] >= v.type.num_elements * v.type.dtype.numpy.itemsize
    for i, u in enumerate(arena):
        for v in arena[i + 1:]:
            (su, eu), (sv, ev) = lives[u], lives[v]
            if su > ev or sv > eu:
                continue                       # never needed at the same time
            ou, ov = plan.offsets[u], plan.offsets[v]
            if ou + plan.sizes[u] <= ov or ov + plan.sizes[v] <= ou:
                continue                       # disjoint bytes
            first, second = (u, v) if su < sv else (v, u)
            assert plan.in_place.get(second) is first, (u, v)
            t = lives[second][0]
            assert lives[first][1] == t and ou == ov
            assert in_place(second.op)
    for result, donor in plan.in_place.items():
        assert in_place(result.op) and lives[donor][1] == lives[result][0]
        readers = [x for x in result.op.operands if alias_root(x) is donor]
        assert readers and all(x.type.num_elements == result.type.num_elements and
                               x.type.dtype.numpy.itemsize == result.type.dtype.numpy.itemsize
                               for x in readers)
    for t, offset, size in plan.scratch:
        for v in arena:
            if lives[v][0] <= t <= lives[v][1]:
                assert offset + size <= plan.offsets[v] or plan.offsets[v] + plan.sizes[v] <= offset
        for t2, offset2, size2 in plan.scratch:
            if t2 == t and offset2 != offset:
                assert offset + size <= offset2 or offset2 + size2 <= offset
        assert offset + size <= plan.peak_bytes


def poisoned(fn):
    """Give `fn` an arena full of 0xFF bytes (NaN in floats), so reading a byte no kernel of
    this call wrote shows."""
    arena = aligned_empty(max(fn.temp_bytes, 1))
    arena[:] = 0xFF
    fn._arenas.temp = arena
    return fn


def jit(function, **plan_options):
    """NativeFunction.jit with plan_function's options (reuse=False: no planning)."""
    original = emitter.plan_function
    emitter.plan_function = lambda f: original(f, **plan_options)
    try:
        return poisoned(NativeFunction.jit(function))
    finally:
        emitter.plan_function = original


def assert_same(got, expected, exact=True, rtol=1e-5):
    assert len(got) == len(expected)
    for g, e in zip(got, expected):
        assert g.shape == e.shape and g.dtype == e.dtype
        if exact or e.dtype.kind not in "fc":
            np.testing.assert_array_equal(g, e)
        else:
            np.testing.assert_allclose(g, e, rtol=rtol, atol=1e-6, equal_nan=True)


def check_native(function, inputs):
    """Planned native == unplanned native (bitwise, twice: the arena is reused between calls)
    and == the interpreter (1e-5); the plan satisfies check_plan. Returns the plan."""
    planned = jit(function)
    check_plan(function, planned.plan.memory)
    naive = jit(function, reuse=False)
    expected = run_function(function, inputs)
    first = planned(*inputs)
    assert_same(first, naive(*inputs))
    assert_same(planned(*inputs), first)
    assert_same(first, expected, exact=False)
    return planned.plan.memory


rng = np.random.default_rng(0)


def randn(*shape):
    return rng.standard_normal(shape).astype(np.float32)


# Liveness and reuse --------------------------------------------------------------------------
def test_a_chain_reuses_two_buffers():
    def body(fb, x):
        v = x
        for _ in range(6):
            v = fb.op("array.transpose", v, perm=[1, 0])
        return [fb.op("math.neg", v)]
    f = build([(16, 16)], body)
    plan = plan_memory(f)
    # Each transpose reads the previous one: two 1 KiB buffers alternate.
    assert plan.naive_bytes == 6 * 1024
    assert plan.peak_bytes == 2 * 1024
    assert not plan.in_place
    check_native(f, [randn(16, 16)])


def test_a_value_used_by_many_later_ops_stays_live():
    def body(fb, x):
        t = fb.op("math.mul", x, x)                 # used by every op below
        a = fb.op("math.neg", t)
        b = fb.op("math.add", a, t)
        c = fb.op("math.exp", b)
        d = fb.op("math.sub", c, t)
        e = fb.op("math.maximum", d, t)
        return [fb.op("math.add", e, t)]
    f = build([(8, 8)], body)
    plan = plan_memory(f, writes_in_place)
    t = f.body.ops[0].result
    assert plan.live[t] == (0, 6)
    assert all(plan.offsets[v] != plan.offsets[t] for v in plan.offsets if v is not t)
    assert t not in plan.in_place.values()
    check_native(f, [randn(8, 8)])


def test_results_and_arguments_are_not_in_the_arena():
    def body(fb, x):
        a = fb.op("math.neg", x)
        b = fb.op("math.abs", a)
        return [b, x]
    f = build([(4, 4)], body)
    plan = plan_memory(f)
    a, b = f.body.ops[0].result, f.body.ops[1].result
    assert a in plan.offsets and b not in plan.offsets and plan.results == {b: 0}
    assert plan.peak_bytes == 64


def test_results_that_alias_inputs_and_other_results():
    def body(fb, x):
        r = fb.op("array.reshape", x, shape=[16])
        i = fb.op("core.identity", x)
        t = fb.op("math.neg", x)
        tr = fb.op("array.reshape", t, shape=[2, 8])
        u = fb.op("math.exp", t)                      # t is used after being returned
        return [r, i, tr, t, u, x, tr]
    f = build([(4, 4)], body)
    plan = plan_memory(f, writes_in_place)
    t = f.body.ops[2].result
    assert plan.results[t] == 2 and t not in plan.offsets
    assert plan.peak_bytes == 0
    check_native(f, [randn(4, 4)])


def test_an_intermediate_result_also_used_later():
    def body(fb, x):
        a = fb.op("math.mul", x, x)
        b = fb.op("math.tanh", a)
        c = fb.op("math.add", b, a)
        d = fb.op("math.neg", c)
        return [b, fb.op("math.add", d, b)]
    f = build([(32,)], body)
    plan = plan_memory(f, writes_in_place)
    b = f.body.ops[1].result
    assert plan.results[b] == 0
    check_native(f, [randn(32)])


def test_aliasing_chains_extend_the_root_life():
    def body(fb, x):
        t = fb.op("math.mul", x, x)                                 # 0
        r1 = fb.op("array.reshape", t, shape=[16])                 # 1
        r2 = fb.op("array.expand_dims", r1, axis=0)                # 2
        filler = [fb.op("math.neg", x)]                             # 3: may not reuse t
        for _ in range(3):
            filler.append(fb.op("array.transpose", filler[-1], perm=[1, 0]))   # 4..6
        r3 = fb.op("array.squeeze", r2, axes=[0])                  # 7
        r4 = fb.op("core.identity", r3)                            # 8
        back = fb.op("array.reshape", r4, shape=[4, 4])            # 9
        return [fb.op("math.add", back, filler[-1])]               # 10
    f = build([(4, 4)], body)
    plan = plan_memory(f, writes_in_place)
    t = f.body.ops[0].result
    assert plan.live[t] == (0, 10)
    for v in plan.offsets:
        if v is not t and plan.live[v][0] <= plan.live[t][1]:
            assert plan.offsets[v] != plan.offsets[t]
    check_native(f, [randn(4, 4)])


def test_dead_results_and_multi_result_ops_get_buffers():
    def body(fb, x):
        fb.op("math.exp", x)                                        # unused
        values, indices = fb.op("nn.top_k", x, k=2) if "nn.top_k" in OPS else (None, None)
        y = fb.op("math.neg", x)
        return [y] if values is None else [y, fb.op("math.add", values, values)]
    f = build([(4, 8)], body)
    plan = plan_memory(f, writes_in_place)
    dead = f.body.ops[0].result
    assert plan.live[dead] == (0, 0) and dead in plan.offsets
    check_native(f, [randn(4, 8)])


# In place ------------------------------------------------------------------------------------
def test_elementwise_writes_over_an_operand_that_dies_there():
    def body(fb, x, y):
        a = fb.op("math.add", x, y)          # args are never overwritten
        b = fb.op("nn.relu", a)              # a dies here: in place
        c = fb.op("math.mul", b, b)          # b read twice, dies: in place
        d = fb.op("array.reshape", c, shape=[64])
        e = fb.op("math.neg", d)             # through an alias: in place
        return [fb.op("math.abs", e)]
    f = build([(8, 8), (8, 8)], body)
    plan = plan_memory(f, writes_in_place)
    a, b, c, _, e, _ = (op.results[0] if op.results else None for op in f.body.ops[:6])
    assert plan.in_place == {b: a, c: b, e: c}
    assert plan.peak_bytes == 256 and plan.naive_bytes == 4 * 256
    check_native(f, [randn(8, 8), randn(8, 8)])


def test_in_place_only_when_legal():
    fb = FunctionBuilder("main", [TensorType((4, 4), F32), TensorType((4,), F32),
                                  TensorType((4, 4), dt.int32)], ["x", "row", "i"])
    x, row, i = fb.args
    v = {}
    v["t"] = fb.op("math.neg", x)
    v["tt"] = fb.op("array.transpose", v["t"], perm=[1, 0])     # reads in another order: no
    v["m"] = fb.op("math.matmul", v["tt"], v["tt"])              # contraction: no
    v["s"] = fb.op("math.sin", v["m"])                           # may run its loop twice: no
    v["keep"] = fb.op("math.exp", v["s"])                        # s dies here: yes
    v["bc"] = fb.op("math.add", v["keep"], row)                  # keep dies, same shape: yes
    v["r"] = fb.op("math.neg", row)                              # row is an argument: no
    v["small"] = fb.op("math.abs", v["r"])                       # r dies, [4] -> [4]: yes
    v["big"] = fb.op("math.mul", v["bc"], v["small"])            # into bc, not the broadcast small
    v["cmp"] = fb.op("math.less", v["big"], v["big"])            # bool: other size, and big lives
    v["ineg"] = fb.op("math.neg", i)
    v["q"] = fb.op("math.floor_div", v["ineg"], v["ineg"])       # pre-checked operand: no
    v["cast"] = fb.op("math.cast", v["q"], to=dt.float32)        # int32 -> float32: yes
    f = fb.ret([v["cmp"], fb.op("math.add", v["cast"], v["big"])])
    verify(Module([f]))
    plan = plan_memory(f, writes_in_place)
    expected = {"s": None, "keep": "s", "bc": "keep", "small": "r", "big": "bc", "cast": "q"}
    donors = {name: next((k for k, d in v.items() if d is plan.in_place.get(value)), None)
              for name, value in v.items()}
    assert {k: d for k, d in donors.items() if d is not None} == \
        {k: d for k, d in expected.items() if d is not None}
    check_native(f, [randn(4, 4), randn(4), rng.integers(1, 5, (4, 4)).astype(np.int32)])


def test_no_in_place_into_a_broadcast_operand_of_the_same_byte_size():
    # f32[4] (16 bytes) against f32[4, 4] gives bool[4, 4] (16 bytes): element i of the
    # result is not element i of the small operand.
    fb = FunctionBuilder("main", [TensorType((4,), F32), TensorType((4, 4), F32)], ["x", "y"])
    v = fb.op("math.neg", fb.args[0])
    c = fb.op("math.less", v, fb.args[1])
    n = fb.op("math.logical_not", c)
    f = fb.ret([fb.op("math.logical_not", n)])
    plan = plan_memory(f, writes_in_place)
    assert c not in plan.in_place and plan.in_place.get(n) is c
    check_native(f, [randn(4), randn(4, 4)])


def test_codegen_and_ir_in_place_rules_agree():
    names = set(SCALAR) | {n for n, o in OPS.items() if o.has(ELEMENTWISE)}
    for name in sorted(names):
        op = Operation(name, [], [TensorType((2,), F32)])
        assert writes_in_place(op) == default_in_place(op), name
    for name in ("array.transpose", "math.matmul", "nn.conv2d", "math.select", "math.floor_div",
                 "math.pow", "math.sin", "math.cos", "nn.softmax"):
        assert not writes_in_place(Operation(name, [], [TensorType((2,), F32)])), name


@pytest.mark.parametrize("name", sorted(n for n in SCALAR if writes_in_place(Operation(n, [], [TensorType((2,), F32)]))))
def test_in_place_kernels_run_their_loop_once(name):
    """An in-place kernel must read each element only before writing it: no second loop
    (the fast/full-range rerun) and no pre-pass over an operand."""
    opdef = OPS[name]
    for dtype in (F32, dt.int32, dt.bool_):
        operands = opdef.operands
        if all(o.dtypes is None or dtype in o.dtypes for o in operands):
            break
    else:
        pytest.skip(f"{name}: no simple dtype")
    count = 1 if not any(o.variadic for o in operands) else 2
    types = [TensorType((8,), dt.bool_ if (name == "math.select_v2" and i == 0) else dtype)
             for i in range(len(operands) - 1 + count)]
    fb = FunctionBuilder("main", types)
    attrs = {"math.cast": {"to": dt.float32},
             "quant.quantize": {"dtype": dt.int8, "scale": (0.5,)},
             "quant.dequantize": {"scale": (0.5,)},
             "quant.requantize": {"in_scale": (0.5,), "out_scale": (0.25,), "dtype": dt.int8}}.get(name, {})
    try:
        op = fb.create(name, list(fb.args), attrs)
    except Exception:
        pytest.skip(f"{name}: cannot build a simple instance")
    f = fb.ret(list(op.results))
    module, _ = compile_function(f, "k")
    text = str(module)
    assert "needs_full_range" not in text and "any.header" not in text


# Kernel scratch ------------------------------------------------------------------------------
def test_scratch_takes_free_space_at_its_op():
    def body(fb, x, w):
        a = fb.op("math.neg", x)
        h = fb.op("math.matmul", a, w)          # float32 GEMM: packing scratch
        g = fb.op("math.tanh", h)
        h2 = fb.op("math.matmul", g, w)
        return [fb.op("nn.softmax", h2)]
    f = build([(64, 64), (64, 64)], body)
    planned = jit(f)
    plan = planned.plan.memory
    assert plan.scratch, "matmul asks for scratch"
    check_plan(f, plan)
    naive = jit(f, reuse=False)
    assert planned.temp_bytes < naive.temp_bytes
    assert naive.temp_bytes == plan.naive_bytes == planned.plan.temp_bytes_unplanned
    check_native(f, [randn(64, 64), randn(64, 64) / 8])


# The interval allocation: a property test on random op sequences ------------------------------
SHAPES = [(4, 8), (8, 4), (32,), (4, 4), (8,), (4,)]


@st.composite
def programs(draw, max_ops=14):
    """A random function over float32 values of a few shapes: elementwise ops (some written in
    place), aliases, transposes, matmuls, reductions; it returns a random mix of values."""
    fb = FunctionBuilder("main", [TensorType((4, 8), F32), TensorType((8,), F32)], ["x", "b"])
    values = list(fb.args)

    def pick(pred=lambda v: True):
        options = [v for v in values if pred(v)]
        return options[draw(st.integers(0, len(options) - 1))] if options else None

    for _ in range(draw(st.integers(1, max_ops))):
        kind = draw(st.sampled_from(["unary", "unary", "binary", "binary", "alias", "transpose",
                                     "matmul", "reduce", "constant", "compare", "sin"]))
        x = pick()
        shape = x.type.shape
        if kind == "unary":
            v = fb.op(draw(st.sampled_from(["math.neg", "nn.relu", "math.tanh", "math.abs"])), x)
        elif kind == "sin":
            v = fb.op("math.sin", x)
        elif kind == "binary":
            y = pick(lambda v: v.type.shape in (shape, shape[-1:]))
            name = draw(st.sampled_from(["math.add", "math.mul", "math.sub", "math.maximum"]))
            v = fb.op(name, x, y) if draw(st.booleans()) or y.type.shape != shape else fb.op(name, y, x)
        elif kind == "compare":
            c = fb.op("math.less", x, pick(lambda v: v.type.shape == shape))
            v = fb.op("math.select_v2", c, x, fb.op("math.neg", x))
        elif kind == "alias":
            n = x.type.num_elements
            # Any shape with the same element count (x's own shape always qualifies).
            target = draw(st.sampled_from([s for s in SHAPES if int(np.prod(s)) == n] or [shape]))
            how = draw(st.sampled_from(["reshape", "expand_squeeze", "identity"]))
            if how == "reshape":
                v = fb.op("array.reshape", x, shape=list(target))
            elif how == "identity":
                v = fb.op("core.identity", x)
            else:
                v = fb.op("array.squeeze", fb.op("array.expand_dims", x, axis=0), axes=[0])
        elif kind == "transpose":
            if len(shape) != 2:
                continue
            v = fb.op("array.transpose", x, perm=[1, 0])
        elif kind == "matmul":
            if len(shape) != 2:
                continue
            y = pick(lambda v: len(v.type.shape) == 2 and v.type.shape[0] == shape[1])
            if y is None:
                continue
            v = fb.op("math.matmul", x, y)
        elif kind == "reduce":
            if len(shape) != 2:
                continue
            v = fb.op("math.reduce_sum", x, axes=[draw(st.integers(0, 1))])
        else:
            v = fb.constant(np.linspace(-1, 1, int(np.prod(shape)), dtype=np.float32).reshape(shape))
        values.append(v)
    returned = draw(st.lists(st.integers(0, len(values) - 1), min_size=1, max_size=4))
    # The last value is always returned, so most of the program is live.
    function = fb.ret([values[i] for i in returned] + [values[-1]])
    verify(Module([function]))
    return function


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(programs(max_ops=24), st.booleans())
def test_plan_never_overlaps_live_values(function, with_scratch):
    plan = plan_memory(function, writes_in_place)
    naive = plan_memory(function, writes_in_place, reuse=False)
    assert plan.peak_bytes <= naive.peak_bytes == plan.naive_bytes == naive.naive_bytes
    if with_scratch:                       # scratch requests at random-ish ops
        for t, op in enumerate(function.body.ops):
            if t % 3 == 0:
                plan.allocate_at(t, 100 + 37 * t)
                plan.allocate_at(t, 64)
    check_plan(function, plan)
    assert plan.lower_bound() <= plan.peak_bytes


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(programs())
def test_planned_random_programs_compute_the_same(function):
    x = np.random.default_rng(1).standard_normal((4, 8)).astype(np.float32)
    b = np.random.default_rng(2).standard_normal(8).astype(np.float32)
    check_native(function, [x, b])


# The pass ----------------------------------------------------------------------------------------
CHAIN = """\
module {
  func @main(%x: tensor<4x4xf32>) -> (tensor<4x4xf32>) {
    %a = array.transpose(%x) {perm = [1, 0]} : (tensor<4x4xf32>) -> tensor<4x4xf32>
    %b = math.neg(%a) : (tensor<4x4xf32>) -> tensor<4x4xf32>
    %c = array.transpose(%b) {perm = [1, 0]} : (tensor<4x4xf32>) -> tensor<4x4xf32>
    %r = array.reshape(%c) {shape = [16]} : (tensor<4x4xf32>) -> tensor<16xf32>
    %d = math.exp(%r) : (tensor<16xf32>) -> tensor<16xf32>
    %e = array.reshape(%d) {shape = [4, 4]} : (tensor<16xf32>) -> tensor<4x4xf32>
    %y = math.add(%e, %x) : (tensor<4x4xf32>, tensor<4x4xf32>) -> tensor<4x4xf32>
    core.return(%y) : (tensor<4x4xf32>) -> ()
  }
  func @dynamic(%x: tensor<?x4xf32>) -> (tensor<?x4xf32>) {
    %a = math.neg(%x) : (tensor<?x4xf32>) -> tensor<?x4xf32>
    %b = math.neg(%a) : (tensor<?x4xf32>) -> tensor<?x4xf32>
    core.return(%b) : (tensor<?x4xf32>) -> ()
  }
}
"""


def test_pass_records_the_plan_as_function_attributes():
    out = opt(CHAIN, "plan-memory")
    # a: 0; b in place over a; c: 64 (a/b still read); d in place over c; e aliases d; y is
    # the result. Offsets per result of each op in order.
    check(out, """
        CHECK: func @main(%x: tensor<4x4xf32>) -> (tensor<4x4xf32>) attributes
        CHECK-SAME: temp_bytes = 128, temp_bytes_unplanned = 256,
        CHECK-SAME: memory_offsets = [0, 0, 64, 64, 64, 64, -1]
        CHECK: func @dynamic(%x: tensor<?x4xf32>) -> (tensor<?x4xf32>) {
    """)
    check(opt(CHAIN, "plan-memory{in_place=false}"), """
        CHECK: temp_bytes = 128, temp_bytes_unplanned = 256, memory_offsets = [0, 64, 0, 0, 64, 64, -1]
    """)


def test_pass_reports_change_once_and_round_trips():
    module = parse_module(CHAIN)
    assert PlanMemory().run(module) is True
    assert PlanMemory().run(module) is False
    text = str(module)
    assert str(parse_module(text)) == text


def test_pass_in_a_pipeline_string():
    module = parse_module(CHAIN)
    stats = PassManager.parse("cse,dce,plan-memory{target=cpu}").run(module)
    assert stats["passes"][-1]["name"] == "plan-memory"
    assert module["main"].attributes["temp_bytes"] == 128
    assert "plan-memory" in PassManager.parse("cpu-default").names


# Models --------------------------------------------------------------------------------------
MODEL_INPUTS = {"mlp": (1, 784), "lenet": (2, 28, 28, 1), "vgg19": (1, 224, 224, 3)}


@pytest.mark.parametrize("pipeline", ["none", "cpu-default"])
@pytest.mark.parametrize("name", ["mlp", "lenet", pytest.param("vgg19", marks=pytest.mark.slow)])
def test_models_compute_the_same_with_a_planned_arena(name, pipeline):
    from tfc.model import freeze, load_model

    shape = MODEL_INPUTS[name]
    module = freeze(load_model(ROOT / "models" / f"{name}.py"), batch=shape[0])
    PassManager.parse(pipeline).run(module)
    function = module["main"]
    x = np.random.default_rng(3).standard_normal(shape).astype(np.float32)
    plan = check_native(function, [x])
    assert plan.peak_bytes < plan.naive_bytes
    if pipeline == "none":
        # The greedy plan reaches the lower bound (the most bytes live at one op) here.
        assert plan.peak_bytes == plan.lower_bound()


def test_tfc_compile_reports_peak_temporary_bytes(tmp_path):
    import json

    from click.testing import CliRunner

    from tfc.cli import main

    result = CliRunner().invoke(main, ["compile", str(ROOT / "models" / "lenet.py"), "-o", str(tmp_path)])
    assert result.exit_code == 0, result.output
    manifest = json.loads((tmp_path / "manifest.json").read_text())
    peak, unplanned = manifest["temp_bytes"], manifest["temp_bytes_unplanned"]
    assert 0 < peak < unplanned
    assert f"peak temporary memory: {peak} bytes ({unplanned} without buffer reuse)" in result.output
    header = (tmp_path / "model.h").read_text()
    assert f"#define TFC_LENET_TEMP_BYTES {peak}\n" in header and f"{unplanned} without reuse" in header
