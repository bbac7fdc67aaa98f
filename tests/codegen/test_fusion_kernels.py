"""The LLVM kernel of core.fusion against the interpreter: elementwise groups (one loop nest,
split over threads when large), reductions of a fused input, matmul/conv2d epilogues through
the GEMM's bias + relu, and the unfused fallback for groups those paths do not take."""

import numpy as np
import pytest

from tfc.codegen.llvm.emitter import compile_function
from tfc.codegen.llvm.kernels import fusion as fusion_kernels
from tfc.codegen.llvm.native import NativeError, NativeFunction
from tfc.ir import FunctionBuilder, Module, TensorType, dtypes as dt, verify
from tfc.passes.fuse import outline
from tfc.runtime.interpreter import run_function


def build(arrays, body, kind=None, fuse_last=None):
    """A function of `arrays`' types whose body `body(fb, *args)` returns (ops to fuse, result);
    the ops are outlined into one core.fusion of `kind` (unless kind is None)."""
    types = [TensorType(a.shape, dt.from_numpy(a.dtype)) for a in arrays]
    fb = FunctionBuilder("main", types, [f"x{i}" for i in range(len(arrays))])
    ops, result = body(fb, *fb.args)
    function = fb.ret([result])
    if kind is not None:
        outline(ops, kind)
    verify(Module([function]))
    return function


def op(fb, name, *operands, **attrs):
    """Create op `name`; returns the Operation."""
    return fb.create(name, list(operands), attrs)


def const(fb, value):
    return fb.constant(np.asarray(value))


def check(function, arrays, rtol=1e-5, atol=1e-6):
    expected = run_function(function, arrays)
    got = NativeFunction.jit(function)(*arrays)
    for e, g in zip(expected, got):
        assert g.dtype == e.dtype and g.shape == e.shape
        if e.dtype.kind == "f":
            np.testing.assert_allclose(g, e, rtol=rtol, atol=atol, equal_nan=True)
        else:
            np.testing.assert_array_equal(g, e)
    return got


def rand(shape, dtype=np.float32, seed=0, low=-2.0, high=2.0):
    return np.random.default_rng(seed).uniform(low, high, shape).astype(dtype)


@pytest.fixture
def many_threads(monkeypatch):
    """Split large loops into 4 chunks whatever the machine (threads still run them)."""
    monkeypatch.setattr(fusion_kernels, "THREADS", 4)


# Elementwise groups ----------------------------------------------------------------------------
def chain(fb, x):
    a = op(fb, "math.mul", x, const(fb, np.float32(2)))
    b = op(fb, "math.add", a.result, const(fb, np.float32(1)))
    t = op(fb, "math.tanh", b.result)
    h = op(fb, "math.mul", t.result, const(fb, np.float32(0.5)))
    y = op(fb, "math.sub", h.result, x)
    return [a, b, t, h, y], y.result


def broadcasting(fb, x, y, z):
    m = op(fb, "math.mul", x, y)
    a = op(fb, "math.add", m.result, z)
    e = op(fb, "math.exp", a.result)
    return [m, a, e], e.result


def selecting(fb, x, y):
    g = op(fb, "math.greater", x, y)
    p = op(fb, "math.mul", x, y)
    d = op(fb, "math.sub", x, y)
    s = op(fb, "math.select_v2", g.result, p.result, d.result)
    return [g, p, d, s], s.result


def casting(fb, x):
    i = op(fb, "math.cast", x, to=dt.int32)
    a = op(fb, "math.add", i.result, const(fb, np.int32(3)))
    f = op(fb, "math.cast", a.result, to=dt.float64)
    return [i, a, f], f.result


def huge_sines(fb, x):
    m = op(fb, "math.mul", x, const(fb, np.float32(1e6)))
    s = op(fb, "math.sin", m.result)
    c = op(fb, "math.cos", s.result)
    return [m, s, c], c.result


CASES = [
    ("chain", chain, [rand((37,))]),
    ("broadcasting", broadcasting, [rand((3, 1, 5)), rand((4, 5), seed=1), rand((5,), seed=2)]),
    ("select", selecting, [rand((6, 7)), rand((6, 7), seed=1)]),
    ("casts", casting, [rand((9,), low=-50, high=50)]),
    ("huge sines", huge_sines, [rand((33,))]),
]


@pytest.mark.parametrize("name, body, arrays", CASES, ids=[c[0] for c in CASES])
def test_elementwise_groups_match_the_interpreter(name, body, arrays):
    check(build(arrays, body, "elementwise"), arrays)


@pytest.mark.parametrize("shape, body, extra", [
    ((1 << 20) + 3, chain, []),                              # one collapsed dim, rows left over
    ((3, 200_003), broadcasting, [(3, 1), (200_003,)]),       # a short outer dim: 3 chunks
    ((513, 1024), broadcasting, [(1, 1024), (1024,)]),
    ((300_007,), huge_sines, []),                            # the full-range rerun in a chunk
])
def test_large_elementwise_groups_run_in_parallel_chunks(many_threads, shape, body, extra):
    arrays = [rand(shape)] + [rand(s, seed=i + 1) for i, s in enumerate(extra)]
    function = build(arrays, body, "elementwise")
    module, _ = compile_function(function)
    assert "fused_elementwise" in str(module)
    check(function, arrays)


def test_the_checked_operand_of_a_fused_division_comes_from_outside():
    x, y = np.int32([7, -7, 9, 4]), np.int32([2, 3, -2, 5])

    def body(fb, x, y):
        m = op(fb, "math.mul", x, x)
        q = op(fb, "math.floor_div", m.result, y)
        r = op(fb, "math.floor_mod", q.result, y)
        return [m, q, r], r.result

    function = build([x, y], body, "elementwise")
    check(function, [x, y])
    with pytest.raises(NativeError, match="core.fusion failed at run time"):
        NativeFunction.jit(function)(x, np.int32([2, 0, 1, 1]))


def test_region_values_get_no_buffers():
    arrays = [rand((64,))]
    fused = build(arrays, chain, "elementwise")
    unfused = build(arrays, chain)
    _, plan = compile_function(fused)
    region = next(o for o in fused.body.ops if o.name == "core.fusion").regions[0]
    inner = {id(v) for o in region.ops for v in o.results} | {id(a) for a in region.args}
    assert not inner & set(plan.storage)
    assert plan.temp_bytes == 0 < compile_function(unfused)[1].temp_bytes


# Reductions ---------------------------------------------------------------------------------------
def reduction(name, axes, keep_dims=False):
    def body(fb, x, m):
        d = op(fb, "math.sub", x, m)
        s = op(fb, "math.square", d.result)
        attrs = {"keep_dims": keep_dims} | ({"axes": axes} if axes is not None else {})
        r = op(fb, name, s.result, **attrs)
        return [d, s, r], r.result
    return body


@pytest.mark.parametrize("name", ["math.reduce_sum", "math.reduce_mean", "math.reduce_max",
                                  "math.reduce_min", "math.reduce_prod"])
@pytest.mark.parametrize("axes, keep_dims", [([2], False), ([0], True), ([1], False),
                                             ([0, 2], False), (None, False), ([1, 2], True)])
def test_reductions_of_a_fused_input(name, axes, keep_dims):
    x, m = rand((3, 4, 5), low=0.5, high=1.2), rand((5,), seed=1, low=-0.1, high=0.1)
    check(build([x, m], reduction(name, axes, keep_dims), "reduction"), [x, m])


def test_fused_reductions_propagate_nan_and_handle_float64_and_empty_axes():
    x = rand((4, 6)).astype(np.float64)
    x[1, 2] = np.nan
    m = np.zeros(6)
    for name in ("math.reduce_max", "math.reduce_min", "math.reduce_sum"):
        check(build([x, m], reduction(name, [1]), "reduction"), [x, m], rtol=1e-12)
    empty, mz = np.zeros((0, 5), np.float32), np.zeros(5, np.float32)
    for name in ("math.reduce_sum", "math.reduce_mean", "math.reduce_max", "math.reduce_prod"):
        check(build([empty, mz], reduction(name, [0]), "reduction"), [empty, mz])


@pytest.mark.parametrize("shape, axes", [((64, 40_000), [1]), ((40_000, 64), [0]), ((2_000_000,), None)])
def test_large_fused_reductions(many_threads, shape, axes):
    x, m = rand(shape, low=0, high=1), np.float32(0.5) * np.ones(shape[-1:], np.float32)
    check(build([x, m], reduction("math.reduce_sum", axes), "reduction"), [x, m], rtol=2e-5)
    check(build([x, m], reduction("math.reduce_mean", axes), "reduction"), [x, m], rtol=2e-5)


# Contraction epilogues ----------------------------------------------------------------------------
def dense(ta=False, tb=False, bias="bias_add", relu=True):
    def body(fb, a, w, b):
        ops = [op(fb, "math.matmul", a, w, transpose_a=ta, transpose_b=tb)]
        value = ops[-1].result
        if bias == "bias_add":
            ops.append(op(fb, "nn.bias_add", value, b))
        elif bias == "add":
            ops.append(op(fb, "math.add", b, value))
        if relu:
            ops.append(op(fb, "nn.relu", ops[-1].result))
        return ops, ops[-1].result
    return body


@pytest.mark.parametrize("ta, tb, bias, relu", [
    (False, False, "bias_add", True), (True, False, "bias_add", False), (False, True, "add", True),
    (True, True, None, True), (False, False, "add", False)])
@pytest.mark.parametrize("m, k, n", [(5, 7, 9), (128, 64, 256)])
def test_matmul_epilogues(ta, tb, bias, relu, m, k, n):
    a = rand((k, m) if ta else (m, k))
    w = rand((n, k) if tb else (k, n), seed=1)
    b = rand((n,), seed=2)
    function = build([a, w, b], dense(ta, tb, bias, relu), "contraction_epilogue")
    module, _ = compile_function(function)
    assert ("tfc_sgemm_relu" in str(module)) == relu
    check(function, [a, w, b], rtol=1e-4, atol=1e-5)


def conv(strides, padding, dilations=(1, 1), relu=True):
    def body(fb, x, f, b):
        c = op(fb, "nn.conv2d", x, f, strides=strides, padding=padding, dilations=dilations)
        ops = [c, op(fb, "nn.bias_add", c.result, b)]
        if relu:
            ops.append(op(fb, "nn.relu", ops[-1].result))
        return ops, ops[-1].result
    return body


@pytest.mark.parametrize("x_shape, f_shape, strides, padding, dilations, relu", [
    ((2, 9, 9, 3), (3, 3, 3, 8), (1, 1), "SAME", (1, 1), True),
    ((1, 11, 10, 4), (5, 5, 4, 6), (2, 2), "VALID", (1, 1), False),
    ((1, 12, 12, 2), (3, 3, 2, 5), (1, 1), "SAME", (2, 2), True),
    ((2, 6, 6, 16), (1, 1, 16, 8), (1, 1), "VALID", (1, 1), True),      # pointwise: GEMM in place
    ((2, 32, 32, 16), (3, 3, 16, 32), (1, 1), "SAME", (1, 1), True),    # large: split over workers
    ((1, 16, 16, 3), (3, 3, 3, 6), (1, 1), "SAME", (1, 1), False),      # few channels: transposed GEMM
])
def test_conv2d_epilogues(x_shape, f_shape, strides, padding, dilations, relu):
    x, f, b = rand(x_shape), rand(f_shape, seed=1), rand(f_shape[-1:], seed=2)
    check(build([x, f, b], conv(strides, padding, dilations, relu), "contraction_epilogue"),
          [x, f, b], rtol=1e-4, atol=1e-5)


# The fallback: each op with its own kernel ---------------------------------------------------------
def test_groups_the_fast_paths_do_not_take_fall_back_to_the_ops_kernels():
    x = rand((4, 6))

    def softmax_group(fb, x):
        e = op(fb, "math.exp", x)
        s = op(fb, "nn.softmax", e.result)
        n = op(fb, "math.neg", s.result)
        return [e, s, n], n.result

    check(build([x], softmax_group, "elementwise"), [x])

    def argmax_group(fb, x):
        a = op(fb, "math.abs", x)
        i = op(fb, "math.argmax", a.result, axis=1)
        return [a, i], i.result

    check(build([x], argmax_group, "reduction"), [x])

    a, w, b = rand((3, 4)).astype(np.float64), rand((4, 5), seed=1).astype(np.float64), rand((5,)).astype(np.float64)
    check(build([a, w, b], dense(), "contraction_epilogue"), [a, w, b], rtol=1e-12)

    def nchw(fb, x, f, b):
        c = op(fb, "nn.conv2d", x, f, strides=(1, 1), padding="VALID", data_format="NCHW")
        y = op(fb, "nn.bias_add", c.result, b, data_format="NCHW")
        r = op(fb, "nn.relu", y.result)
        return [c, y, r], r.result

    x, f, b = rand((1, 3, 6, 6)), rand((3, 3, 3, 2), seed=1), rand((2,), seed=2)
    check(build([x, f, b], nchw, "contraction_epilogue"), [x, f, b], rtol=1e-4, atol=1e-5)
