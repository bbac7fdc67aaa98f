"""tfc.ir.philox: the Philox generator, glibc's logf/sincosf emulation and the samplers'
general properties. Values matching TensorFlow are tested through the ops in
tests/ir/ops/test_random.py."""

import ctypes
import ctypes.util
import platform

import numpy as np
import pytest

from tfc.ir import philox


# Known-answer vectors of Philox4x32-10 from the Random123 distribution (kat_vectors).
@pytest.mark.parametrize("counter, key, expected", [
    ([0, 0, 0, 0], [0, 0], [0x6627E8D5, 0xE169C58D, 0xBC57AC4C, 0x9B00DBD8]),
    ([0xFFFFFFFF] * 4, [0xFFFFFFFF] * 2, [0x408F276D, 0x41C83B0E, 0xA20BC7C6, 0x6D5451FD]),
    ([0x243F6A88, 0x85A308D3, 0x13198A2E, 0x03707344], [0xA4093822, 0x299F31D0],
     [0xD16CFE09, 0x94FDCCEB, 0x5001E420, 0x24126EA1]),
])
def test_block_function_known_answers(counter, key, expected):
    out = philox.philox4x32_10(np.array([counter], np.uint32), key)
    assert out.dtype == np.uint32 and out.tolist() == [expected]


def test_blocks_key_and_counter_layout():
    # seed -> key (low word first); seed2 -> high 64 bits of the counter; counter -> low 64.
    seed, seed2, counter = 0x0123456789ABCDEF, 0x1122334455667788, 5
    words = [counter, 0, seed2 & 0xFFFFFFFF, seed2 >> 32]
    expected = philox.philox4x32_10(np.array([words], np.uint32), [seed & 0xFFFFFFFF, seed >> 32])
    assert np.array_equal(philox.blocks(seed, seed2, counter, [0]), expected)


def test_counter_carries_into_seed2_half():
    # Block 2**64 - 1 + 1 of (s, s2) is block 0 of (s, s2 + 1): a 128-bit counter, like Skip().
    a = philox.blocks(3, 7, 2**64 - 1, [1])
    b = philox.blocks(3, 8, 0, [0])
    assert np.array_equal(a, b)
    # Negative seeds are their two's complement.
    assert np.array_equal(philox.blocks(-1, -2, 0, [0, 1]), philox.blocks(2**64 - 1, 2**64 - 2, 0, [0, 1]))


def test_stream_is_consecutive_blocks():
    s = philox.uint32_stream(1, 2, 10, 3)
    assert s.shape == (12,)
    assert np.array_equal(s[4:8], philox.blocks(1, 2, 11, [0])[0])


def test_large_batches_vectorized():
    # Chunking must not change the stream.
    n = 3 * philox._CHUNK + 5
    s = philox.blocks(9, 9, 0, np.arange(n))
    assert np.array_equal(s[-5:], philox.blocks(9, 9, n - 5, np.arange(5)))


# --- glibc emulation ---------------------------------------------------------------------------
def _libm():
    if platform.system() != "Linux":
        return None
    libc_version = ctypes.CDLL(None).gnu_get_libc_version
    libc_version.restype = ctypes.c_char_p
    major, minor = (int(x) for x in libc_version().decode().split(".")[:2])
    if (major, minor) < (2, 28):       # the table-driven logf/sincosf arrived in 2.27/2.28
        return None
    return ctypes.CDLL(ctypes.util.find_library("m"))


LIBM = _libm()
needs_glibc = pytest.mark.skipif(LIBM is None, reason="needs glibc >= 2.28")

# Every float32 Uint32ToFloat can produce (23-bit mantissa under exponent 0, minus 1), sampled.
_U = ((np.arange(0, 1 << 23, 97, dtype=np.uint32) | np.uint32(0x3F800000)).view(np.float32)
      - np.float32(1))


@needs_glibc
def test_logf_matches_glibc():
    logf = LIBM.logf
    logf.restype, logf.argtypes = ctypes.c_float, [ctypes.c_float]
    x = np.maximum(_U, np.float32(1e-7))
    x = np.concatenate([x, np.float32([1.0, 2.5, 1e-30, 3e38])])
    expected = np.array([logf(float(v)) for v in x], np.float32)
    assert np.array_equal(philox.glibc_logf(x), expected)


@needs_glibc
def test_sincosf_matches_glibc():
    sincosf = LIBM.sincosf
    sincosf.restype = None
    sincosf.argtypes = [ctypes.c_float, ctypes.POINTER(ctypes.c_float), ctypes.POINTER(ctypes.c_float)]
    x = (2 * np.pi * _U.astype(np.float64)).astype(np.float32)
    x = np.concatenate([x, np.float32([0.0, 1e-5, 0.7, -3.0, 100.0])])
    s, c = ctypes.c_float(), ctypes.c_float()
    expected = []
    for v in x:
        sincosf(float(v), ctypes.byref(s), ctypes.byref(c))
        expected.append((s.value, c.value))
    expected = np.array(expected, np.float32)
    got_sin, got_cos = philox.glibc_sincosf(x)
    assert np.array_equal(got_sin, expected[:, 0]) and np.array_equal(got_cos, expected[:, 1])


def test_logf_and_sincosf_are_accurate():
    # Independent of the C library: within one float32 ulp of the exact values.
    x = np.maximum(_U, np.float32(1e-7))
    exact = np.log(x.astype(np.float64))
    assert np.all(np.abs(philox.glibc_logf(x) - exact) <= np.spacing(np.abs(exact).astype(np.float32)))
    v = (2 * np.pi * _U.astype(np.float64)).astype(np.float32)
    s, c = philox.glibc_sincosf(v)
    for got, want in ((s, np.sin(v.astype(np.float64))), (c, np.cos(v.astype(np.float64)))):
        assert np.all(np.abs(got - want) <= np.spacing(np.abs(want).astype(np.float32)))


# --- samplers: properties ------------------------------------------------------------------------
N = 200_000


@pytest.mark.parametrize("dtype", [np.float16, np.float32, np.float64])
def test_uniform_range_and_moments(dtype):
    x = philox.uniform([N], dtype, 4, 5)
    assert x.dtype == dtype and x.min() >= 0 and x.max() < 1
    assert abs(x.astype(np.float64).mean() - 0.5) < 0.005


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_normal_and_truncated_moments(dtype):
    x = philox.normal([N], dtype, 4, 5).astype(np.float64)
    assert abs(x.mean()) < 0.01 and abs(x.std() - 1) < 0.01
    t = philox.truncated_normal([N], dtype, 4, 5).astype(np.float64)
    assert np.abs(t).max() < 2
    assert abs(t.std() - 0.87962566) < 0.01     # std of N(0, 1) truncated to (-2, 2)


def test_uniform_int_bounds():
    x = philox.uniform_int([N], -3, 4, np.int32, 1, 1)
    assert x.min() == -3 and x.max() == 3
    y = philox.uniform_int([1000], -2**63, 2**63 - 1, np.int64, 1, 1)
    assert y.dtype == np.int64 and len(set(y.tolist())) == 1000
    with pytest.raises(ValueError, match="minval < maxval"):
        philox.uniform_int([2], 5, 5, np.int32, 1, 1)
    assert philox.uniform_int([0], 5, 5, np.int32, 1, 1).shape == (0,)   # TF checks non-empty only


@pytest.mark.parametrize("alpha", [0.3, 1.0, 4.5])
def test_gamma_moments(alpha):
    x = philox.gamma([50_000], np.array([alpha]), 8, 9)[:, 0]
    assert x.min() >= 0
    assert abs(x.mean() - alpha) < 0.03 * alpha + 0.01
    assert abs(x.var() - alpha) < 0.06 * alpha + 0.01


def test_multinomial_frequencies_and_infinite_logits():
    logits = np.log([[0.2, 0.3, 0.5], [1.0, 1.0, 1.0]])
    logits[1, 1:] = -np.inf                                   # probability 0: never drawn
    x = philox.multinomial(logits, 30_000, 3, 4)
    freq = np.bincount(x[0], minlength=3) / 30_000
    assert np.allclose(freq, [0.2, 0.3, 0.5], atol=0.01)
    assert np.all(x[1] == 0)


def test_multinomial_thread_split():
    # TF splits large batches across its thread pool; each shard restarts the stream at
    # start_row * (num_samples + 3) // 4. Values obtained once from TF 2.21 on a 2-CPU machine
    # (intra-op pool of 2) for Multinomial(logits, 50, seed=1, seed2=2).
    logits = np.sin(np.arange(20 * 100)).reshape(20, 100).astype(np.float32)
    x = philox.multinomial(logits, 50, 1, 2, num_threads=2)
    assert philox._parallel_for_blocks(20, int(50 * (50 * np.log2(100) + 100)), 2) == [
        (0, 5), (5, 10), (10, 15), (15, 20)]
    assert x.sum() == 48456
    assert x[0, :6].tolist() == [25, 44, 28, 26, 95, 83]
    assert x[5, :6].tolist() == [86, 36, 44, 95, 18, 12]
    assert x[19, -6:].tolist() == [87, 43, 6, 93, 75, 54]
    # One shard: rows simply follow each other in the stream.
    single = philox.multinomial(logits, 50, 1, 2)
    assert np.array_equal(single[:5], x[:5]) and not np.array_equal(single[5:], x[5:])


def test_shuffle_is_permutation():
    x = np.arange(1000)
    y = philox.shuffle(x, 1, 2)
    assert sorted(y.tolist()) == x.tolist() and not np.array_equal(x, y)
    assert np.array_equal(philox.shuffle(np.zeros((1, 3)), 1, 2), np.zeros((1, 3)))


def test_counter_moves_to_fresh_numbers():
    a = philox.normal([8], np.float32, 1, 2, counter=0)
    b = philox.normal([8], np.float32, 1, 2, counter=philox.blocks_reserved("normal", 8))
    assert not np.array_equal(a, b)
    assert np.array_equal(a, philox.normal([8], np.float32, 1, 2, counter=0))


@pytest.mark.parametrize("kind, n, extra, expected", [
    ("uniform", 6, {}, 1536),
    ("uniform_int", 5, {}, 1280),
    ("normal", 0, {}, 0),
    ("truncated_normal", 7, {}, 1792),
    ("gamma", 6, {}, 1536),
    ("multinomial", 12, {"num_samples": 6}, 2 * 8 * 2 * 256),
    ("multinomial", 0, {"num_samples": 0}, 0),
    ("shuffle", 10, {"first_dim": 10}, 3),
    ("shuffle", 20, {"first_dim": 5}, 1),
    ("shuffle", 3, {"first_dim": 1}, 0),
])
def test_blocks_reserved(kind, n, extra, expected):
    assert philox.blocks_reserved(kind, n, **extra) == expected


def test_blocks_reserved_errors():
    with pytest.raises(ValueError):
        philox.blocks_reserved("poisson", 3)
    with pytest.raises(ValueError):
        philox.blocks_reserved("multinomial", 3)
