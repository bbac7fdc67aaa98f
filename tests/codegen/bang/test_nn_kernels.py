"""Tensor-unit BANG kernels (tfc.codegen.bang.nn) run on the MLU simulator against numpy.

References: convolution against the IR's reference semantics (`OPS["nn.conv2d"].compute`;
fixed point: `OPS["quant.conv2d"/"quant.matmul"].compute`, exact integer sums),
pooling against `OPS["nn.max_pool"/"nn.avg_pool"].compute`. Tolerances:
* fixed point (int8/int16 inputs, mlu270/mlu370): the reference is the exact integer sum
  (float64 on small integers, exact) times 2^pos rounded to float32, plus bias in float32,
  relu: results must be EQUAL (inputs are small enough that every partial sum is exact in f32).
* float32 (mlu370 conv, pools, depthwise): rtol 1e-5, atol 1e-5 (fp32 accumulation order).
* float16: reference computed in float32 on the same fp16 inputs; |err| <= 2e-3 * (1 + |ref|)
  (output rounding to fp16 plus fp16 intermediate rounding in the vector unit).
"""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest

from tfc.codegen.bang import nn
from tfc.ir.opdef import OPS


def _device_or_skip(profile):
    mlu = pytest.importorskip("tfc.runtime.mlu")
    if not hasattr(mlu, "Device"):
        pytest.skip("simulator Device not available yet")
    return mlu.Device(profile)


def run(ks, arrays, profile, dim=None):
    """Run KernelSource `ks` on a simulator Device; arrays: {param: ndarray}; -> {output: ndarray}."""
    dev = _device_or_skip(profile)
    prog = dev.load(ks.source, filename=f"{ks.name}.mlu")
    bufs, args = {}, []
    for pname, _ctype in ks.params:
        shape, dtype = ks.buffers[pname]
        nbytes = int(np.prod(shape)) * np.dtype(dtype).itemsize
        buf = dev.malloc(nbytes)
        if pname in arrays:
            a = np.ascontiguousarray(arrays[pname], dtype=dtype)
            assert a.shape == tuple(shape), (pname, a.shape, shape)
            dev.write(buf, a)
        else:
            dev.write(buf, np.full(shape, 77, dtype))        # garbage: every element must be written
        bufs[pname] = buf
        args.append(buf)
    report = dev.launch(prog, ks.name, args=args, dim=dim or ks.dim, ktype=ks.ktype)
    out = {p: dev.read(bufs[p], ks.buffers[p][0], ks.buffers[p][1]) for p in ks.outputs}
    out["_report"] = report
    return out


def small_target(profile, nram, cores=None):
    """The profile with a tiny NRAM budget (and few cores: bigger tiles per task), to exercise
    row/column tiling on small inputs."""
    t = dataclasses.replace(nn.TARGETS[profile], nram_usable=nram)
    return dataclasses.replace(t, cores=cores) if cores else t


# ------------------------------------------------------------------------------------------
# convolution
# ------------------------------------------------------------------------------------------
def conv_reference(x, f, sh, sw, padding, bias=None, relu=False, pos=0, out_dtype=np.float32):
    attrs = dict(strides=[sh, sw], dilations=[1, 1], data_format="NHWC")
    if isinstance(padding, str):
        attrs.update(padding=padding)
    else:
        attrs.update(padding="EXPLICIT", explicit_paddings=list(padding))
    if x.dtype.kind == "i":
        # exact integer sums (the IR's quant.conv2d), also checked against nn.conv2d in float64
        acc = OPS["quant.conv2d"].compute(x, f, **attrs)
        assert acc.dtype.kind == "i"
        np.testing.assert_array_equal(
            acc, OPS["nn.conv2d"].compute(x.astype(np.float64), f.astype(np.float64), **attrs))
        y = np.ldexp(acc.astype(np.float64), pos).astype(np.float32)
    else:
        y = OPS["nn.conv2d"].compute(x.astype(np.float32), f.astype(np.float32), **attrs)
    if bias is not None:
        y = (y + bias.astype(np.float32)).astype(np.float32)
    if relu:
        y = np.maximum(y, 0)
    return y.astype(out_dtype)


def _conv_case(profile, dtype, n, h, w, ci, co, kh, kw, sh, sw, padding, bias, relu, pos=None,
               target=None, dim=None, seed=0, out_dtype=None):
    rng = np.random.default_rng(seed)
    dt = np.dtype(dtype)
    if dt.kind == "i":
        x = rng.integers(-8, 9, size=(n, h, w, ci)).astype(dt)
        f = rng.integers(-8, 9, size=(kh, kw, ci, co)).astype(dt)
    else:
        x = rng.standard_normal((n, h, w, ci)).astype(dt)
        f = (rng.standard_normal((kh, kw, ci, co)) / np.sqrt(kh * kw * ci)).astype(dt)
    odt = np.dtype(out_dtype or (np.float32 if dt.kind == "i" else dt))
    b = rng.standard_normal(co).astype(odt) if bias else None
    ks = nn.emit_conv2d("conv_k", n, h, w, ci, co, kh, kw, sh, sw, padding, dtype, target or profile,
                        bias, relu, pos, out_dtype=out_dtype)
    arrays = {"input": x, "filter": ks.arrange["filter"](f)}
    if bias:
        arrays["bias"] = b
    got = run(ks, arrays, profile, dim=dim)["output"]
    want = conv_reference(x, f, sh, sw, padding, b, relu, pos or 0, odt)
    assert got.shape == want.shape
    if dt.kind == "i":
        np.testing.assert_array_equal(got, want)
    elif dt == np.float16:
        np.testing.assert_allclose(got.astype(np.float32), want.astype(np.float32), rtol=2e-3, atol=2e-3)
    else:
        np.testing.assert_allclose(got, want, rtol=1e-5, atol=1e-5)
    return ks


@pytest.mark.parametrize("padding,sh,sw", [("SAME", 1, 1), ("VALID", 1, 1), ("SAME", 2, 2),
                                           ("VALID", 2, 1), ((1, 0, 2, 1), 1, 2)])
def test_conv_int8_mlu270_geometries(padding, sh, sw):
    _conv_case("mlu270", "int8", 2, 7, 9, 3, 70, 3, 3, sh, sw, padding, bias=True, relu=True, pos=-4)


def test_conv_int16_no_bias_positive_position():
    _conv_case("mlu270", "int16", 1, 5, 6, 20, 64, 2, 3, 1, 1, "SAME", bias=False, relu=False, pos=3)


def test_conv_int8_half_output():
    # output rounded to fp16: the reference rounds the same exact value once
    _conv_case("mlu270", "int8", 1, 5, 5, 4, 65, 3, 3, 1, 1, "SAME", bias=False, relu=True, pos=-6,
               out_dtype="float16")


def test_conv_co_chunks_in_wram():
    # int16 3x3x512: 64 output channels fit WRAM (590 KB) but 192 do not -> Co chunks of 64
    ks = _conv_case("mlu270", "int16", 1, 4, 4, 512, 130, 3, 3, 1, 1, "SAME", bias=True, relu=False, pos=-2)
    assert ks.info["n_co_chunks"] == 3 and ks.info["n_ci_chunks"] == 1


def test_conv_ci_chunks_when_64_filters_overflow_wram():
    # int16 3x3x1000 (padded 1024): 64 filters = 1.18 MB > WRAM -> Ci chunks summed with __bang_add
    ks = _conv_case("mlu270", "int16", 1, 3, 4, 1000, 64, 3, 3, 1, 1, "VALID", bias=True, relu=True, pos=-3)
    assert ks.info["n_ci_chunks"] >= 2
    assert ks.info["wram_bytes"] <= 1024 * 1024


def test_conv_row_and_column_tiling_and_task_split():
    tgt = small_target("mlu270", 24 * 1024)
    ks = _conv_case("mlu270", "int8", 1, 9, 21, 3, 64, 3, 3, 1, 1, "SAME", bias=True, relu=True, pos=0,
                    target=tgt)
    assert ks.info["col_tiled"]
    ks = _conv_case("mlu270", "int8", 2, 11, 5, 3, 64, 3, 3, 2, 1, "SAME", bias=False, relu=False, pos=0,
                    target=small_target("mlu270", 64 * 1024, cores=1), dim=(3, 1, 1))
    assert ks.info["tile_rows"] > 1


@pytest.mark.parametrize("tasks", [1, 5, 40])
def test_conv_any_task_count(tasks):
    # the kernel splits its (chunk, row) items over whatever taskDim it gets; 40 > 2*2*4 items
    _conv_case("mlu270", "int8", 2, 4, 5, 3, 130, 3, 3, 1, 1, "SAME", bias=True, relu=False, pos=-1,
               dim=(tasks, 1, 1))


def test_conv_and_pool_on_inputs_smaller_than_the_window():
    _conv_case("mlu270", "int8", 2, 1, 2, 5, 64, 3, 3, 1, 1, "SAME", bias=True, relu=False, pos=-2)
    _conv_case("mlu370", "float32", 1, 2, 1, 3, 64, 3, 3, 2, 2, "SAME", bias=False, relu=False)
    for kind in ("max", "avg"):
        _pool_case("mlu270", kind, "float32", 1, 1, 2, 7, 3, 3, 2, 2, "SAME")


def test_conv_float32_mlu370():
    _conv_case("mlu370", "float32", 1, 6, 7, 5, 70, 3, 3, 2, 2, "SAME", bias=True, relu=True)


def test_conv_float16_mlu370():
    _conv_case("mlu370", "float16", 1, 6, 5, 8, 64, 3, 3, 1, 1, "VALID", bias=True, relu=False)


def test_conv_float32_mlu370_ci_chunks():
    ks = _conv_case("mlu370", "float32", 1, 3, 3, 600, 64, 3, 3, 1, 1, "SAME", bias=False, relu=False)
    assert ks.info["n_ci_chunks"] == 2


def test_conv_int8_mlu370():
    _conv_case("mlu370", "int8", 1, 5, 5, 3, 64, 3, 3, 1, 1, "SAME", bias=True, relu=True, pos=-5)


def test_conv_rejects_float_on_mlu270_and_missing_position():
    with pytest.raises(ValueError, match="int8/int16"):
        nn.emit_conv2d("c", 1, 4, 4, 3, 8, 3, 3, 1, 1, "SAME", "float32", "mlu270")
    with pytest.raises(ValueError, match="fix_position"):
        nn.emit_conv2d("c", 1, 4, 4, 3, 8, 3, 3, 1, 1, "SAME", "int8", "mlu270")


# ------------------------------------------------------------------------------------------
# matmul
# ------------------------------------------------------------------------------------------
@pytest.mark.parametrize("profile,dtype,m,k,n,pos", [
    ("mlu270", "int8", 37, 33, 100, -5),
    ("mlu270", "int16", 1, 300, 200, 1),     # M = 1: output-channel chunks spread over tasks
    ("mlu370", "float32", 5, 17, 70, None),
])
def test_matmul(profile, dtype, m, k, n, pos):
    rng = np.random.default_rng(1)
    dt = np.dtype(dtype)
    if dt.kind == "i":
        a = rng.integers(-10, 11, size=(m, k)).astype(dt)
        b = rng.integers(-10, 11, size=(k, n)).astype(dt)
        acc = OPS["quant.matmul"].compute(a, b)
        assert acc.dtype.kind == "i"
        want = np.ldexp(acc.astype(np.float64), pos).astype(np.float32)
    else:
        a = rng.standard_normal((m, k)).astype(dt)
        b = rng.standard_normal((k, n)).astype(dt)
        want = (a.astype(np.float64) @ b.astype(np.float64)).astype(np.float32)
    bias = rng.standard_normal(n).astype(np.float32)
    want = np.maximum((want + bias).astype(np.float32), 0)
    ks = nn.emit_matmul("mm_k", m, k, n, dtype, profile, True, True, pos)
    got = run(ks, {"a": a, "weight": ks.arrange["weight"](b), "bias": bias}, profile)["output"]
    if dt.kind == "i":
        np.testing.assert_array_equal(got, want)
    else:
        np.testing.assert_allclose(got, want, rtol=1e-5, atol=1e-5)


# ------------------------------------------------------------------------------------------
# pooling
# ------------------------------------------------------------------------------------------
def _pool_case(profile, kind, dtype, n, h, w, c, kh, kw, sh, sw, padding, target=None, dim=None):
    rng = np.random.default_rng(2)
    x = rng.standard_normal((n, h, w, c)).astype(dtype)
    if kind == "max":
        x = x - 3.0                           # all negative: a zero halo would win, lowest must not
        x = x.astype(dtype)
    ks = nn.emit_pool("pool_k", kind, n, h, w, c, kh, kw, sh, sw, padding, dtype, target or profile)
    got = run(ks, {"input": x}, profile, dim=dim)["output"]
    op = OPS["nn.max_pool" if kind == "max" else "nn.avg_pool"]
    want = op.compute(x, ksize=[kh, kw], strides=[sh, sw], padding=padding, data_format="NHWC")
    assert got.shape == want.shape
    if np.dtype(dtype) == np.float16:
        np.testing.assert_allclose(got.astype(np.float32), want.astype(np.float32), rtol=2e-3, atol=2e-3)
    elif kind == "max":
        np.testing.assert_array_equal(got, want)
    else:
        np.testing.assert_allclose(got, want, rtol=1e-6, atol=1e-6)
    return ks


@pytest.mark.parametrize("kind", ["max", "avg"])
@pytest.mark.parametrize("padding,k,s", [("SAME", 3, 2), ("VALID", 3, 2), ("SAME", 2, 2),
                                         ("SAME", 3, 1), ("VALID", 2, 1)])
def test_pool_float32_mlu270(kind, padding, k, s):
    _pool_case("mlu270", kind, "float32", 2, 9, 7, 5, k, k, s, s, padding)


@pytest.mark.parametrize("kind", ["max", "avg"])
def test_pool_float16_and_mlu370(kind):
    _pool_case("mlu270", kind, "float16", 1, 8, 9, 70, 3, 2, 2, 1, "SAME")
    _pool_case("mlu370", kind, "float32", 1, 7, 8, 3, 3, 3, 2, 2, "SAME")


@pytest.mark.parametrize("kind", ["max", "avg"])
def test_pool_tiled(kind):
    ks = _pool_case("mlu270", kind, "float32", 1, 10, 23, 32, 3, 3, 2, 2, "SAME",
                    target=small_target("mlu270", 8 * 1024), dim=(3, 1, 1))
    assert ks.info["col_tiled"]


# ------------------------------------------------------------------------------------------
# depthwise
# ------------------------------------------------------------------------------------------
@pytest.mark.parametrize("profile,dtype,padding,s", [("mlu270", "float32", "SAME", 1),
                                                     ("mlu270", "float32", "SAME", 2),
                                                     ("mlu370", "float32", "VALID", 2),
                                                     ("mlu270", "float16", "SAME", 1)])
@pytest.mark.parametrize("target", [None, "tiny"])
def test_depthwise(profile, dtype, padding, s, target):
    rng = np.random.default_rng(3)
    n, h, w, c, kh, kw = 1, 7, 8, 5, 3, 3
    tgt = small_target(profile, 6 * 1024, cores=1) if target else profile
    x = rng.standard_normal((n, h, w, c)).astype(dtype)
    f = rng.standard_normal((kh, kw, c, 1)).astype(dtype)
    bias = rng.standard_normal(c).astype(dtype)
    ks = nn.emit_depthwise_conv2d("dw_k", n, h, w, c, kh, kw, s, s, padding, dtype, tgt, True, True)
    if target:
        assert ks.info["col_tiled"] or ks.info["tile_rows"] < ks.info["ho"]
    got = run(ks, {"input": x, "filter": ks.arrange["filter"](f), "bias": bias}, profile)["output"]
    want = OPS["nn.depthwise_conv2d"].compute(x.astype(np.float32), f.astype(np.float32), strides=[s, s],
                                              padding=padding, dilations=[1, 1], data_format="NHWC")
    want = np.maximum(want + bias.astype(np.float32), 0)
    if np.dtype(dtype) == np.float16:
        np.testing.assert_allclose(got.astype(np.float32), want, rtol=5e-3, atol=5e-3)
    else:
        np.testing.assert_allclose(got, want, rtol=1e-5, atol=1e-5)


# ------------------------------------------------------------------------------------------
# sources parse (no simulator run needed)
# ------------------------------------------------------------------------------------------
def test_sources_parse_and_fit():
    cparse = pytest.importorskip("tfc.runtime.mlu.cparse")
    kernels = [
        ("mlu270", nn.emit_conv2d("vgg_conv1", 1, 224, 224, 3, 64, 3, 3, 1, 1, "SAME", "int8", "mlu270", True, True, -4)),
        ("mlu270", nn.emit_conv2d("vgg_conv5", 1, 14, 14, 512, 512, 3, 3, 1, 1, "SAME", "int16", "mlu270", True, True, -4)),
        ("mlu370", nn.emit_conv2d("f32_conv", 1, 56, 56, 256, 256, 3, 3, 1, 1, "SAME", "float32", "mlu370", True, True)),
        ("mlu270", nn.emit_matmul("fc", 1, 25088, 4096, "int8", "mlu270", True, True, -6)),
        ("mlu270", nn.emit_pool("vgg_pool", "max", 1, 224, 224, 64, 2, 2, 2, 2, "VALID", "float16", "mlu270")),
        ("mlu270", nn.emit_depthwise_conv2d("dw", 1, 112, 112, 32, 3, 3, 2, 2, "SAME", "float16", "mlu270")),
    ]
    for profile, ks in kernels:
        cparse.parse(ks.source, ks.name + ".mlu")
        assert ks.info["nram_bytes"] <= nn.TARGETS[profile].nram_usable
        assert ks.info.get("wram_bytes", 0) <= nn.TARGETS[profile].wram_bytes
        assert "__mlu_entry__ void " + ks.name + "(" in ks.source


# ------------------------------------------------------------------------------------------
# golden sources: one kernel per op kind (regenerate with --regenerate-golden, on purpose only)
# ------------------------------------------------------------------------------------------
GOLDEN_DIR = __import__("pathlib").Path(__file__).parent / "golden"
GOLDEN = {
    "nn_conv2d_int8_mlu270.mlu": lambda: nn.emit_conv2d(
        "conv2d_int8", 1, 7, 9, 3, 70, 3, 3, 2, 1, "SAME", "int8", "mlu270", True, True, -4),
    "nn_conv2d_f32_mlu370_ci_chunks.mlu": lambda: nn.emit_conv2d(
        "conv2d_f32", 1, 3, 3, 600, 64, 3, 3, 1, 1, "SAME", "float32", "mlu370", False, False),
    "nn_matmul_int16_mlu270.mlu": lambda: nn.emit_matmul(
        "matmul_int16", 4, 33, 100, "int16", "mlu270", True, True, 2),
    "nn_max_pool_f32_mlu270.mlu": lambda: nn.emit_pool(
        "max_pool", "max", 1, 9, 9, 5, 3, 3, 2, 2, "SAME", "float32", "mlu270"),
    "nn_avg_pool_f16_mlu270.mlu": lambda: nn.emit_pool(
        "avg_pool", "avg", 1, 9, 9, 5, 3, 3, 2, 2, "SAME", "float16", "mlu270"),
    "nn_depthwise_conv2d_f32_mlu270.mlu": lambda: nn.emit_depthwise_conv2d(
        "depthwise_conv2d", 1, 9, 9, 5, 3, 3, 2, 2, "SAME", "float32", "mlu270", True, True),
}


@pytest.mark.parametrize("filename", sorted(GOLDEN))
def test_golden_source(filename, request):
    source = GOLDEN[filename]().source
    path = GOLDEN_DIR / filename
    if request.config.getoption("--regenerate-golden"):
        path.write_text(source)
    assert path.exists(), f"{path} missing: run pytest with --regenerate-golden once"
    assert source == path.read_text(), f"emitted source differs from {path} (regenerate on purpose)"


# ------------------------------------------------------------------------------------------
# the sources are C++ a real compiler accepts (g++ against prototypes of the BANG intrinsics)
# ------------------------------------------------------------------------------------------
MLU_STUB = """// prototypes of the BANG built-ins the kernels use (syntax/type check only)
#define __mlu_entry__ extern "C"
#define __nram__
#define __wram__
#include <stdint.h>
struct half { unsigned short bits; };
extern int taskId, taskDim;
int __is_mpu(void);
enum mluMemcpyDirection_t { GDRAM2NRAM, NRAM2GDRAM, LDRAM2NRAM, NRAM2LDRAM, GDRAM2WRAM, WRAM2GDRAM,
  LDRAM2WRAM, WRAM2LDRAM, NRAM2NRAM, NRAM2WRAM, WRAM2NRAM };
void __memcpy(void *, const void *, int, mluMemcpyDirection_t);
void __memcpy(void *, const void *, int, mluMemcpyDirection_t, int, int, int);
void __memcpy_async(void *, const void *, int, mluMemcpyDirection_t);
void __memcpy_async(void *, const void *, int, mluMemcpyDirection_t, int, int, int);
void __sync(void); void __sync_compute(void);
void __bang_write_zero(void *, int);
void __bang_write_value(void *, int, float);
void __bang_conv(void *, void *, void *, int, int, int, int, int, int, int, int, int);
void __bang_cycle_add(void *, void *, void *, int, int);
void __bang_cycle_mul(void *, void *, void *, int, int);
void __bang_add(void *, void *, void *, int);
void __bang_mul(void *, void *, void *, int);
void __bang_mul_scalar(void *, void *, float, int);
void __bang_active_relu(void *, void *, int);
void __bang_maxpool(void *, void *, int, int, int, int, int, int, int);
void __bang_sumpool(void *, void *, int, int, int, int, int, int, int);
"""


def test_sources_compile_with_gxx(tmp_path):
    import shutil
    import subprocess
    gxx = shutil.which("g++")
    if gxx is None:
        pytest.skip("no g++")
    (tmp_path / "mlu.h").write_text(MLU_STUB)
    kernels = [GOLDEN[f]() for f in sorted(GOLDEN)] + [
        nn.emit_conv2d("tiled", 1, 9, 21, 3, 64, 3, 3, 1, 1, "SAME", "int8", small_target("mlu270", 24 * 1024),
                       True, True, 0),
        nn.emit_pool("tiled_pool", "avg", 1, 10, 23, 32, 3, 3, 2, 2, "SAME", "float16",
                     small_target("mlu270", 8 * 1024)),
        nn.emit_matmul("mm_f16", 3, 40, 70, "float16", "mlu370", True, False, None),
        nn.emit_depthwise_conv2d("dw_f16", 1, 8, 8, 70, 3, 3, 1, 1, "VALID", "float16", "mlu370"),
    ]
    for ks in kernels:
        src = tmp_path / f"{ks.name}.cpp"
        src.write_text(ks.source)
        r = subprocess.run([gxx, "-x", "c++", "-fsyntax-only", "-Wall", "-I", str(tmp_path), str(src)],
                           capture_output=True, text=True, timeout=60)
        assert r.returncode == 0 and not r.stderr, f"{ks.name}:\n{r.stderr}"
