"""LLVM kernels of the quant ops (codegen/llvm/kernels/quant.py, the scalar formulas in
codegen/llvm/elementwise.py) against the ops' numpy compute: bit for bit (integers exactly,
floats compared as bits, NaN included)."""

import numpy as np
import pytest

from tfc.codegen.llvm import target
from tfc.codegen.llvm.kernels import fusion as fusion_kernels
from tfc.codegen.llvm.kernels import quant as qk
from tfc.codegen.llvm.native import NativeFunction
from tfc.ir import FunctionBuilder, Module, TensorType, dtypes as dt, verify
from tfc.passes.fuse import outline
from tfc.runtime.interpreter import run_function

RNG = np.random.default_rng(1234)


def ints(shape, dtype=np.int8, low=None, high=None):
    info = np.iinfo(dtype)
    lo = info.min if low is None else low
    hi = info.max if high is None else high
    return RNG.integers(lo, hi + 1, shape, dtype=np.int64).astype(dtype)


def build(arrays, body, constants=()):
    """A function of `arrays` (and of `constants`, baked in as core.constant) whose body
    `body(fb, *values)` returns its result Value (or (ops to outline as an elementwise
    group, result))."""
    types = [TensorType(a.shape, dt.from_numpy(a.dtype)) for a in arrays]
    fb = FunctionBuilder("main", types, [f"x{i}" for i in range(len(arrays))])
    values = list(fb.args) + [fb.constant(np.asarray(c)) for c in constants]
    out = body(fb, *values)
    ops = None
    if isinstance(out, tuple):
        ops, out = out
    function = fb.ret([out])
    if ops is not None:
        outline(ops, "elementwise")
    verify(Module([function]))
    return function


def one(name, attrs):
    return lambda fb, *vs: fb.create(name, list(vs), attrs).results[0]


def bits(a: np.ndarray) -> np.ndarray:
    return np.ascontiguousarray(a).view(np.uint8)


def check(function, arrays):
    expected = run_function(function, arrays)
    got = NativeFunction.jit(function)(*arrays)
    for e, g in zip(expected, got):
        assert g.dtype == e.dtype and g.shape == e.shape, (g.dtype, g.shape, e.dtype, e.shape)
        if not np.array_equal(bits(e), bits(g)):
            bad = np.argwhere(bits(e).reshape(e.shape + (-1,)) != bits(g).reshape(g.shape + (-1,)))
            where = tuple(bad[0][:-1])
            pytest.fail(f"differs at {where}: expected {e[where]!r}, got {g[where]!r}")
    return got


def check_op(name, arrays, attrs, constants=()):
    return check(build(arrays, one(name, attrs), constants), arrays)


@pytest.fixture(params=[4, 2], ids=["vpdpbusd", "i16pairs"])
def group(request, monkeypatch):
    """Both dot-product schemes: G = 4 (AVX512-VNNI only) and the portable G = 2."""
    if request.param == 4 and qk.group_size() != 4:
        pytest.skip("no AVX512-VNNI on this host")
    monkeypatch.setattr(qk, "group_size", lambda: request.param)
    return request.param


def floats(shape, scale=50.0, dtype=np.float32):
    x = (RNG.standard_normal(shape) * scale).astype(dtype)
    flat = x.reshape(-1)
    big = float(np.finfo(dtype).max) / 2
    specials = [np.nan, np.inf, -np.inf, 0.5, 1.5, 2.5, -0.5, -2.5, big, -big, -0.0]
    flat[:min(len(specials), flat.size)] = specials[:flat.size]
    return x


def scales(n, low=0.05, high=3.0):
    return [float(s) for s in RNG.uniform(low, high, n)]


# quantize / dequantize / requantize: the scalar formulas ------------------------------------------
def test_quantize_by_hand():
    # scale 1: rint half to even, saturation, NaN -> 0 (an independent reference)
    x = np.array([0.5, 1.5, 2.5, -0.5, -1.5, 126.5, 127.5, 1000.0, -1000.0, np.nan, np.inf, -np.inf],
                 np.float32)
    f = build([x], one("quant.quantize", {"dtype": dt.int8, "scale": [1.0]}))
    got = NativeFunction.jit(f)(x)[0]
    np.testing.assert_array_equal(got, [0, 2, 2, 0, -2, 126, 127, 127, -128, 0, 127, -128])
    q = np.array([-128, -1, 0, 3, 127], np.int8)
    f = build([q], one("quant.dequantize", {"scale": [0.25]}))
    np.testing.assert_array_equal(NativeFunction.jit(f)(q)[0], [-32.0, -0.25, 0.0, 0.75, 31.75])
    acc = np.array([[1000, -1000, 5, 7]], np.int32)
    f = build([acc], one("quant.requantize", {"in_scale": [1.0, 1.0, 0.5, 2.0], "out_scale": [2.0],
                                              "axis": 1, "dtype": dt.int8}))
    # 1000 / 2 = 500 -> 127; -500 -> -128; 5 * 0.25 = 1.25 -> 1; 7 * 1 = 7
    np.testing.assert_array_equal(NativeFunction.jit(f)(acc)[0], [[127, -128, 1, 7]])


@pytest.mark.parametrize("shape", [(1,), (3, 7, 65)])
@pytest.mark.parametrize("dtype", [np.float32, np.float16, np.float64])
def test_quantize(shape, dtype):
    x = floats(shape, dtype=dtype)
    for qtype in (dt.int8, dt.int16):
        check_op("quant.quantize", [x], {"dtype": qtype, "scale": [0.37 if qtype == dt.int8 else 0.003]})
    if len(shape) == 3:
        for axis in (0, 1, 2, -1):
            check_op("quant.quantize", [x], {"dtype": dt.int8, "scale": scales(shape[axis]), "axis": axis})


@pytest.mark.parametrize("qtype", [np.int8, np.int16, np.int32, np.int64])
def test_dequantize(qtype):
    q = ints((3, 7, 65), qtype)
    check_op("quant.dequantize", [q], {"scale": [0.001]})
    check_op("quant.dequantize", [q], {"scale": [0.001], "dtype": dt.float16})
    check_op("quant.dequantize", [q], {"scale": scales(7, 1e-4, 1e-2), "axis": 1})
    check_op("quant.dequantize", [q], {"scale": scales(65), "axis": 2, "dtype": dt.float16})


@pytest.mark.parametrize("qtype", [np.int8, np.int32, np.int64])
def test_requantize(qtype):
    q = ints((3, 7, 65), qtype)
    for out in (dt.int8, dt.int16):
        check_op("quant.requantize", [q], {"in_scale": [0.01], "out_scale": [0.7], "dtype": out})
        check_op("quant.requantize", [q], {"in_scale": scales(65), "out_scale": [7e3], "axis": 2,
                                           "dtype": out})
        check_op("quant.requantize", [q], {"in_scale": [0.02], "out_scale": scales(3), "axis": 0,
                                           "dtype": out})


def test_empty_and_scalar_tensors():
    check_op("quant.dequantize", [np.zeros((0, 5), np.int32)], {"scale": scales(5), "axis": 1})
    check_op("quant.quantize", [np.zeros((3, 0), np.float32)], {"dtype": dt.int8, "scale": [0.5]})
    check_op("quant.quantize", [np.array(3.7, np.float32)], {"dtype": dt.int16, "scale": [0.1]})
    check_op("quant.matmul", [ints((3, 0)), ints((0, 4))], {})
    check_op("quant.matmul", [ints((0, 5)), ints((5, 4))], {})
    check_op("quant.conv2d", [ints((0, 5, 5, 2)), ints((3, 3, 2, 4))], dict(strides=[1, 1], padding="SAME"))


def test_lenet_int8_model_matches_the_interpreter():
    """models/lenet.py lowered to int8 by tfc.precision, after the cpu pipeline (fused
    dequantize/quantize groups, quant.conv2d/matmul kernels): native = reference (the float
    softmax at the end within float32 rounding)."""
    from pathlib import Path
    import tfc.precision as P
    from tfc.model import calibration_samples, freeze, load_model
    from tfc.passes import PassManager, default_pipeline

    loaded = load_model(Path(__file__).resolve().parents[2] / "models" / "lenet.py")
    module = freeze(loaded, batch=4)
    q = P.quantize_module(module, "int8", samples=calibration_samples(loaded, 1, batch=4), progress=False)
    PassManager.parse(default_pipeline("cpu")).run(q)
    f = q["main"]
    names = {op.name for op in f.body.ops}
    assert {"quant.conv2d", "quant.matmul"} <= names
    x = calibration_samples(loaded, 1, batch=4, seed=7)[0]
    args = [x[a.name_hint] for a in f.args]
    expected = run_function(f, args)[0]
    got = NativeFunction.jit(f)(*args)[0]
    np.testing.assert_allclose(got, expected, rtol=1e-5, atol=1e-7)


# fused groups containing them -----------------------------------------------------------------------
def _epilogue(fb, acc, bias, per_channel_scale, channel_axis, with_bias=True):
    """dequantize (per channel) -> + bias -> relu -> quantize (per tensor): the int8 layer tail."""
    ops = [fb.create("quant.dequantize", [acc], {"scale": per_channel_scale, "axis": channel_axis})]
    value = ops[-1].results[0]
    if with_bias:
        ops.append(fb.create("math.add", [value, bias], {}))
        value = ops[-1].results[0]
    ops.append(fb.create("nn.relu", [value], {}))
    ops.append(fb.create("quant.quantize", [ops[-1].results[0]], {"dtype": dt.int8, "scale": [0.05]}))
    return ops, ops[-1].results[0]


@pytest.mark.parametrize("shape", [(3, 7, 65), (2, 5, 5, 16)])
@pytest.mark.parametrize("with_bias", [True, False])
def test_fused_dequantize_bias_relu_quantize(shape, with_bias):
    acc = ints(shape, np.int32, -20000, 20000)
    bias = RNG.standard_normal(shape[-1]).astype(np.float32)
    s = scales(shape[-1], 1e-4, 1e-3)
    f = build([acc, bias], lambda fb, a, b: _epilogue(fb, a, b, s, len(shape) - 1, with_bias))
    assert [op.name for op in f.body.ops][0] == "core.fusion"
    check(f, [acc, bias])


@pytest.mark.parametrize("with_bias", [True, False])
@pytest.mark.parametrize("axis", [3, 1])
def test_fused_group_split_over_threads(monkeypatch, with_bias, axis):
    """Large groups run in chunks of the outermost loop dim on several threads: the per-channel
    scales must follow the chunks (the channel axis inside or beyond the chunked dim)."""
    monkeypatch.setattr(fusion_kernels, "THREADS", 4)
    monkeypatch.setattr(fusion_kernels, "MIN_PARALLEL_ELEMENTS", 1 << 10)
    shape = (5, 9, 11, 13)
    acc = ints(shape, np.int32, -20000, 20000)
    bias_shape = [1, 1, 1, 1]
    bias_shape[axis] = shape[axis]
    bias = RNG.standard_normal(bias_shape).astype(np.float32)
    s = scales(shape[axis], 1e-4, 1e-3)
    f = build([acc, bias], lambda fb, a, b: _epilogue(fb, a, b, s, axis, with_bias))
    check(f, [acc, bias])


def test_fused_group_with_channels_on_two_axes():
    x = floats((3, 7, 65), 3.0)

    def body(fb, a):
        q = fb.create("quant.quantize", [a], {"dtype": dt.int8, "scale": scales(65, 0.01, 0.1), "axis": 2})
        d = fb.create("quant.dequantize", [q.results[0]], {"scale": scales(3), "axis": 0})
        r = fb.create("quant.requantize", [q.results[0]], {"in_scale": scales(7), "out_scale": [0.5],
                                                          "axis": 1, "dtype": dt.int16})
        c = fb.create("math.cast", [r.results[0]], {"to": dt.float32})
        m = fb.create("math.mul", [d.results[0], c.results[0]], {})
        return [q, d, r, c, m], m.results[0]

    check(build([x], body), [x])


def test_fused_quantize_dequantize_round_trip():
    x = floats((7, 65), 3.0)
    w = scales(65, 0.01, 0.1)

    def body(fb, a):
        q = fb.create("quant.quantize", [a], {"dtype": dt.int8, "scale": w, "axis": 1})
        d = fb.create("quant.dequantize", [q.results[0]], {"scale": w, "axis": 1})
        m = fb.create("math.mul", [d.results[0], a], {})
        return [q, d, m], m.results[0]

    check(build([x], body), [x])


def test_fused_float16_round_trip():
    """fp16 storage of an activation: cast to f16 and back inside one group must see the
    rounded value (the cast's scalar rounds to half, as the reference does)."""
    x = floats((7, 65), 1e3)
    bias = RNG.standard_normal(65).astype(np.float32)

    def body(fb, a, b):
        down = fb.create("math.cast", [a], {"to": dt.float16})
        up = fb.create("math.cast", [down.results[0]], {"to": dt.float32})
        add = fb.create("math.add", [up.results[0], b], {})
        return [down, up, add], add.results[0]

    f = build([x, bias], body)
    assert f.body.ops[0].name == "core.fusion"
    check(f, [x, bias])


# quant.matmul ------------------------------------------------------------------------------------
MATMUL_SHAPES = [(1, 1, 1), (1, 65, 70), (3, 7, 65), (7, 65, 3), (65, 3, 7), (13, 130, 70)]


@pytest.mark.parametrize("mkn", MATMUL_SHAPES)
def test_matmul_int8(group, mkn):
    M, K, N = mkn
    a, b = ints((M, K)), ints((K, N))
    check_op("quant.matmul", [a, b], {})
    check_op("quant.matmul", [a.T.copy(), b.T.copy()], {"transpose_a": True, "transpose_b": True})
    check_op("quant.matmul", [a], {}, constants=[b])                     # B packed at compile time
    check_op("quant.matmul", [a], {"transpose_b": True}, constants=[b.T.copy()])


def test_matmul_int8_extremes(group):
    # -128 * -128 * K: the largest sums; the unsigned shift of vpdpbusd must cancel exactly
    a, b = np.full((5, 64), -128, np.int8), np.full((64, 20), -128, np.int8)
    got = check_op("quant.matmul", [a, b], {})[0]
    assert (got == 128 * 128 * 64).all()
    a[:, ::2] = 127
    check_op("quant.matmul", [a, b], {})
    check_op("quant.matmul", [a], {}, constants=[b])


def test_matmul_int8_sums_wrap_modulo_2_32():
    # 131073 products of (-128)^2 exceed int32: the kernel's int32 sums wrap (the exact sum
    # modulo 2^32). Compared with the hand-computed value, not the reference, whose float64
    # sums convert out-of-range results to INT_MIN instead.
    K = 131073
    a, b = np.full((1, K), -128, np.int8), np.full((K, 1), -128, np.int8)
    got = NativeFunction.jit(build([a, b], one("quant.matmul", {})))(a, b)[0]
    assert got[0, 0] == np.int64(K * 16384 - 2 ** 32)


@pytest.mark.parametrize("mkn", [(3, 7, 65), (65, 3, 7), (1, 1, 1)])
def test_matmul_int16(mkn):
    M, K, N = mkn
    a, b = ints((M, K), np.int16), ints((K, N), np.int16)
    check_op("quant.matmul", [a, b], {})
    check_op("quant.matmul", [a.T.copy(), b], {"transpose_a": True})
    extreme = np.full((2, 9), -32768, np.int16)
    got = check_op("quant.matmul", [extreme, extreme.T.copy()], {})[0]
    assert (got == 9 * 2 ** 30).all() and got.dtype == np.int64


@pytest.mark.parametrize("mkn", [(200, 300, 100), (2, 1024, 1024)], ids=["rows", "columns"])
def test_matmul_int16_parallel(mkn):
    M, K, N = mkn
    a, b = ints((M, K), np.int16), ints((K, N), np.int16)
    a[0, :] = -32768                                   # pair sums of 2^31 (wrap in int32)
    b[:, 0] = -32768
    got = check_op("quant.matmul", [a], {}, constants=[b])[0]
    assert got[0, 0] == K * 2 ** 30


@pytest.mark.parametrize("mkn", [(200, 300, 100), (2, 1024, 1024)], ids=["rows", "columns"])
def test_matmul_int8_parallel(group, mkn):
    """Above MIN_PARALLEL_MACS: rows split over the threads, or (few rows) column panels."""
    M, K, N = mkn
    a, b = ints((M, K)), ints((K, N))
    check_op("quant.matmul", [a, b], {})


# quant.conv2d ------------------------------------------------------------------------------------
CONVS = [
    ((1, 5, 5, 1), (3, 3, 1, 1), dict(strides=[1, 1], padding="SAME")),
    ((2, 7, 9, 3), (3, 2, 3, 65), dict(strides=[2, 1], padding="SAME")),
    ((2, 9, 8, 7), (3, 3, 7, 5), dict(strides=[1, 2], padding="VALID", dilations=[2, 1])),
    ((1, 6, 6, 4), (2, 2, 4, 3), dict(strides=[1, 1], padding="EXPLICIT", explicit_paddings=[1, 2, 0, 1])),
    ((2, 5, 5, 65), (1, 1, 65, 17), dict(strides=[1, 1], padding="SAME")),          # pointwise
    ((3, 7, 7, 7), (7, 7, 7, 1), dict(strides=[3, 3], padding="SAME", dilations=[1, 1])),
    ((2, 9, 9, 3), (2, 3, 3, 4), dict(strides=[1, 1], padding="SAME", dilations=[1, 2])),  # im2col
    ((1, 8, 8, 8), (1, 1, 8, 5), dict(strides=[2, 2], padding="VALID")),                 # 1x1 strided
]


@pytest.fixture(params=["rows", "im2col"])
def conv_path(request, monkeypatch):
    """Constant filters: A packed from the input (`_conv_rows`) or through im2col."""
    monkeypatch.setattr(qk, "ROWS_MAX_BYTES", 1 << 30 if request.param == "rows" else 0)
    return request.param


@pytest.mark.parametrize("case", CONVS, ids=[f"{c[0]}x{c[1]}" for c in CONVS])
def test_conv2d_int8(group, conv_path, case):
    xs, ws, attrs = case
    x, w = ints(xs), ints(ws)
    check_op("quant.conv2d", [x, w], attrs)                         # im2col + run-time packing
    check_op("quant.conv2d", [x], attrs, constants=[w])             # constant filter


@pytest.mark.parametrize("case", CONVS, ids=[f"{c[0]}x{c[1]}" for c in CONVS])
def test_conv2d_int16(case):
    xs, ws, attrs = case
    x, w = ints(xs, np.int16), ints(ws, np.int16)
    x.reshape(-1)[::3] = -32768
    w.reshape(-1)[::2] = -32768
    check_op("quant.conv2d", [x, w], attrs)
    check_op("quant.conv2d", [x], attrs, constants=[w])


def test_conv2d_int8_parallel(group, conv_path):
    # LeNet's second conv at batch 16: above MIN_PARALLEL_MACS, chunks over both cores
    x, w = ints((16, 14, 14, 6)), ints((5, 5, 6, 16))
    check_op("quant.conv2d", [x], dict(strides=[1, 1], padding="VALID"), constants=[w])
    check_op("quant.conv2d", [ints((2, 12, 12, 64)), ints((3, 3, 64, 70))], dict(strides=[1, 1], padding="SAME"))


def test_packed_constant_weight_is_stored_once():
    """A constant weight read only by quant kernels that pack it (through a reshape too) is
    not in the weights blob itself; one another op reads (here: returned) stays."""
    a, w = ints((3, 300)), ints((300, 70))
    packed = qk.packed_b_bytes(300, 70, qk.choose_nv(70), qk.group_size())
    only = build([a], lambda fb, x, c: fb.create("quant.matmul", [x, c], {}).results[0], [w])
    native = NativeFunction.jit(only)
    assert native.plan.weights_bytes < w.nbytes + packed and native.plan.weights_bytes >= packed
    np.testing.assert_array_equal(native(a)[0], a.astype(np.int64) @ w)
    x, big = ints((1, 6, 6, 4)), ints((2, 2, 4, 300))

    def reshaped(fb, x, c):                                 # the filter through a reshape
        filt = fb.create("array.reshape", [c], {"shape": list(big.shape)}).results[0]
        return fb.create("quant.conv2d", [x, filt], dict(strides=[1, 1], padding="VALID")).results[0]

    conv = build([x], reshaped, [big.reshape(16, 300)])
    packed = qk.packed_b_bytes(16, 300, qk.choose_nv(300), qk.group_size())
    assert NativeFunction.jit(conv).plan.weights_bytes < packed + 64     # the packed copy only
    check(conv, [x])
    types = [TensorType(a.shape, dt.int8)]
    fb = FunctionBuilder("main", types, ["x0"])
    c = fb.constant(w)
    both = fb.ret([fb.create("quant.matmul", [fb.args[0], c], {}).results[0], c])
    native = NativeFunction.jit(both)
    assert native.plan.weights_bytes >= w.nbytes + packed
    got = native(a)
    np.testing.assert_array_equal(got[1], w)
    np.testing.assert_array_equal(got[0], a.astype(np.int64) @ w)


def test_vnni_instructions_in_the_kernel():
    """The int8 GEMM's inner loop uses the AVX-512 dot products (vpdpbusd with VNNI)."""
    from tfc.codegen.llvm.emitter import compile_function
    if not target.has_feature("avx512bw"):
        pytest.skip("no AVX-512 on this host")
    a = np.zeros((64, 64), np.int8)
    module, _ = compile_function(build([a, a], one("quant.matmul", {})))
    asm = target.emit_assembly(module)
    wanted = "vpdpbusd" if qk.group_size() == 4 else "vpmaddwd"
    assert wanted in asm or "vpdpwssd" in asm


def test_mixed_dtypes_are_rejected():
    from tfc.ir.builder import BuildError
    with pytest.raises(BuildError, match="i8 or i16|same"):
        build([ints((2, 2)), ints((2, 2), np.int16)], one("quant.matmul", {}))
