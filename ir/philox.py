"""TensorFlow's stateful random numbers, bit for bit, in vectorized numpy.

TensorFlow's CPU random kernels (RandomUniform, RandomUniformInt, RandomStandardNormal,
TruncatedNormal, RandomGamma, Multinomial, RandomShuffle) all draw from one counter-based
generator, Philox4x32-10 (Salmon et al., "Parallel random numbers: as easy as 1, 2, 3").
A kernel built with attributes (seed, seed2) holds a generator whose 64-bit key is `seed` and
whose 128-bit counter starts at `seed2 << 64`. Every call of the generator maps the current
counter to one "block" of four uint32 and increments the counter by one. Each execution of a
kernel first *reserves* a range of counters (it advances the shared counter by a fixed amount
that depends only on the output size, see `blocks_reserved`), then fills its output from that
range. So a kernel's k-th execution starts at block `k * blocks_reserved(...)` (for a fixed
output shape), which is what the `counter` argument of every sampler below means.

Bit-exactness: the integer and uniform samplers are exact by construction. The normal-based
samplers go through Box-Muller, whose float32 version calls glibc's `logf` and `sincosf`;
those are emulated here exactly (same table, polynomial and operation order, checked
exhaustively over every input Box-Muller can produce) so float32/float16 normals match TF on
glibc 2.28 or newer. float64 Box-Muller, gamma and multinomial call the double-precision libm
(`log`, `sin`, `cos`, `pow`, `log1p`) via Python's `math` module, which is the same C library
TensorFlow calls. Like TF's kernels, results flush subnormal numbers to zero. Multinomial is
the one kernel whose numbers depend on how TF splits work across its thread pool; `multinomial`
takes the pool size (default: one thread, TF's split for small problems).

Only numpy is imported; nothing here knows about the IR.
"""

from __future__ import annotations

import itertools
import math

import numpy as np

__all__ = [
    "philox4x32_10", "blocks", "uint32_stream", "uniform", "uniform_int", "normal",
    "truncated_normal", "gamma", "multinomial", "shuffle", "blocks_reserved",
    "glibc_logf", "glibc_sincosf",
]

_MASK32 = 0xFFFFFFFF
_MASK64 = (1 << 64) - 1
_MASK128 = (1 << 128) - 1

# Philox4x32 constants (TF's philox_random.h).
_M0 = np.uint64(0xD2511F53)     # round multipliers
_M1 = np.uint64(0xCD9E8D57)
_W0 = 0x9E3779B9                # key schedule increments ("Weyl" constants)
_W1 = 0xBB67AE85
_LOW32 = np.uint64(_MASK32)
_SHIFT32 = np.uint64(32)

# Blocks are computed in chunks that stay in cache; much faster than whole-array passes.
_CHUNK = 1 << 16


# ---------------------------------------------------------------------------------------------
# The generator
# ---------------------------------------------------------------------------------------------
def philox4x32_10(counters: np.ndarray, key) -> np.ndarray:
    """Apply the Philox4x32-10 block function.

    `counters`: uint32 array of shape (n, 4), each row a 128-bit counter as four 32-bit words
    (least significant first). `key`: two uint32 words (k0, k1). Returns a (n, 4) uint32 array:
    the four random words TF's `PhiloxRandom::operator()` returns for each counter.
    """
    counters = np.asarray(counters, dtype=np.uint32).reshape(-1, 4)
    words = [counters[:, i].astype(np.uint64) for i in range(4)]
    return np.stack(_rounds(*words, int(key[0]) & _MASK32, int(key[1]) & _MASK32), axis=1)


def _rounds(c0, c1, c2, c3, k0, k1):
    """Ten Philox rounds on uint64 arrays holding 32-bit words (inputs are overwritten).
    Returns the four output words as uint32 arrays."""
    p0 = np.empty_like(c0)
    p1 = np.empty_like(c0)
    for _ in range(10):
        # Each round: two 32x32->64 products; the high and low halves are mixed with the
        # other two words and the round key.
        np.multiply(c0, _M0, out=p0)
        np.multiply(c2, _M1, out=p1)
        np.right_shift(p1, _SHIFT32, out=c0)
        c0 ^= c1
        c0 ^= np.uint64(k0)
        np.bitwise_and(p1, _LOW32, out=c1)
        np.right_shift(p0, _SHIFT32, out=c2)
        c2 ^= c3
        c2 ^= np.uint64(k1)
        np.bitwise_and(p0, _LOW32, out=c3)
        k0 = (k0 + _W0) & _MASK32
        k1 = (k1 + _W1) & _MASK32
    return [c.astype(np.uint32) for c in (c0, c1, c2, c3)]


def blocks(seed: int, seed2: int, counter: int, offsets) -> np.ndarray:
    """The generator's output blocks at block positions `counter + offsets`.

    `seed`, `seed2`: TF's op attributes (int64; negative values are taken modulo 2**64).
    `counter`: block offset of block 0 (Python int, may be large). `offsets`: 1-D array of
    non-negative integer offsets. Returns uint32 array of shape (len(offsets), 4). Counter
    arithmetic is 128-bit with seed2 in the high 64 bits, exactly like `PhiloxRandom::Skip`.
    """
    offsets = np.asarray(offsets, dtype=np.uint64).reshape(-1)
    seed &= _MASK64
    start = ((seed2 & _MASK64) << 64) + counter & _MASK128
    start_lo, start_hi = np.uint64(start & _MASK64), np.uint64(start >> 64)
    key = (seed & _MASK32, seed >> 32)
    out = np.empty((offsets.size, 4), dtype=np.uint32)
    for begin in range(0, offsets.size, _CHUNK):
        part = offsets[begin:begin + _CHUNK]
        lo = start_lo + part                        # wraps modulo 2**64...
        hi = start_hi + (lo < part).astype(np.uint64)   # ...carrying into the high half
        words = _rounds(lo & _LOW32, lo >> _SHIFT32, hi & _LOW32, hi >> _SHIFT32, *key)
        for i in range(4):
            out[begin:begin + _CHUNK, i] = words[i]
    return out


def uint32_stream(seed: int, seed2: int, counter: int, num_blocks: int) -> np.ndarray:
    """`num_blocks` consecutive blocks from `counter` on, flattened: the uint32 sequence a
    sequential reader of the generator (TF's SingleSampleAdapter) sees."""
    return blocks(seed, seed2, counter, np.arange(num_blocks, dtype=np.uint64)).reshape(-1)


# ---------------------------------------------------------------------------------------------
# Bits to numbers (random_distributions_utils.h)
# ---------------------------------------------------------------------------------------------
def _bits_to_float32(x: np.ndarray) -> np.ndarray:
    """Uint32ToFloat: 23 random mantissa bits under exponent 0 give [1, 2); minus 1."""
    return ((x & np.uint32(0x7FFFFF)) | np.uint32(0x3F800000)).view(np.float32) - np.float32(1)


def _bits_to_float16(x: np.ndarray) -> np.ndarray:
    """Uint16ToHalf on the low 16 bits: 10 mantissa bits, [1, 2) minus 1."""
    bits = ((x & np.uint32(0x3FF)) | np.uint32(15 << 10)).astype(np.uint16)
    return bits.view(np.float16) - np.float16(1)


def _bits_to_float64(hi: np.ndarray, lo: np.ndarray) -> np.ndarray:
    """Uint64ToDouble: 20 bits of `hi` and all of `lo` form the 52-bit mantissa."""
    mantissa = ((hi & np.uint32(0xFFFFF)).astype(np.uint64) << _SHIFT32) | lo.astype(np.uint64)
    return (mantissa | np.uint64(0x3FF0000000000000)).view(np.float64) - 1.0


# ---------------------------------------------------------------------------------------------
# glibc's single-precision logf and sincosf, emulated exactly
# ---------------------------------------------------------------------------------------------
# Box-Muller in float32 calls logf and sincosf. glibc's versions (since 2.28) are fast,
# table-driven double-precision evaluations that are *not* correctly rounded (up to 0.82 ulp),
# so numpy's functions disagree with them in about 1% of cases. The code below follows
# glibc's sysdeps/ieee754/flt-32/e_logf.c and s_sincosf.c operation by operation (constants
# from e_logf_data.c / s_sincosf_data.c). It was checked to agree with the C library on every
# one of the 2**23 inputs Box-Muller can pass (with and without FMA contraction, which makes
# no difference on this domain).
_h = float.fromhex
_LOGF_INVC, _LOGF_LOGC = (np.array(col) for col in zip(*[(_h(a), _h(b)) for a, b in [
    ("0x1.661ec79f8f3bep+0", "-0x1.57bf7808caadep-2"), ("0x1.571ed4aaf883dp+0", "-0x1.2bef0a7c06ddbp-2"),
    ("0x1.49539f0f010bp+0", "-0x1.01eae7f513a67p-2"), ("0x1.3c995b0b80385p+0", "-0x1.b31d8a68224e9p-3"),
    ("0x1.30d190c8864a5p+0", "-0x1.6574f0ac07758p-3"), ("0x1.25e227b0b8eap+0", "-0x1.1aa2bc79c81p-3"),
    ("0x1.1bb4a4a1a343fp+0", "-0x1.a4e76ce8c0e5ep-4"), ("0x1.12358f08ae5bap+0", "-0x1.1973c5a611cccp-4"),
    ("0x1.0953f419900a7p+0", "-0x1.252f438e10c1ep-5"), ("0x1p+0", "0x0p+0"),
    ("0x1.e608cfd9a47acp-1", "0x1.aa5aa5df25984p-5"), ("0x1.ca4b31f026aap-1", "0x1.c5e53aa362eb4p-4"),
    ("0x1.b2036576afce6p-1", "0x1.526e57720db08p-3"), ("0x1.9c2d163a1aa2dp-1", "0x1.bc2860d22477p-3"),
    ("0x1.886e6037841edp-1", "0x1.1058bc8a07ee1p-2"), ("0x1.767dcf5534862p-1", "0x1.4043057b6ee09p-2"),
]]))
_LOGF_LN2 = _h("0x1.62e42fefa39efp-1")
_LOGF_A = (_h("-0x1.00ea348b88334p-2"), _h("0x1.5575b0be00b6ap-2"), _h("-0x1.ffffef20a4123p-2"))


def glibc_logf(x: np.ndarray) -> np.ndarray:
    """glibc's `logf` for positive normal float32 `x` (what Box-Muller passes it)."""
    ix = np.asarray(x, dtype=np.float32).view(np.uint32)
    tmp = ix - np.uint32(0x3F330000)               # x = 2^k z with z in [0.7, 1.4)
    i = (tmp >> np.uint32(19)) % 16                 # table subinterval of z
    k = (tmp.view(np.int32) >> 23).astype(np.float64)
    z = (ix - (tmp & np.uint32(0x1FF << 23))).view(np.float32).astype(np.float64)
    r = z * _LOGF_INVC[i] - 1.0                     # log(x) = log1p(z/c - 1) + log(c) + k ln2
    y0 = _LOGF_LOGC[i] + k * _LOGF_LN2
    r2 = r * r
    y = _LOGF_A[1] * r + _LOGF_A[2]
    y = _LOGF_A[0] * r2 + y
    y = y * r2 + (y0 + r)
    out = y.astype(np.float32)
    out[ix == np.uint32(0x3F800000)] = 0.0
    return out


_SC_HPI_INV = _h("0x1.45F306DC9C883p+23")          # 2/pi * 2^24
_SC_HPI = _h("0x1.921FB54442D18p0")                # pi/2
_SC_COS = (_h("0x1p0"), _h("-0x1.ffffffd0c621cp-2"), _h("0x1.55553e1068f19p-5"),
           _h("-0x1.6c087e89a359dp-10"), _h("0x1.99343027bf8c3p-16"))
_SC_SIN = (_h("-0x1.555545995a603p-3"), _h("0x1.1107605230bc4p-7"), _h("-0x1.994eb3774cf24p-13"))
_SC_SIGN = np.array([1.0, -1.0, -1.0, 1.0])


def glibc_sincosf(y: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """glibc's `sincosf` for float32 `y` with 0 <= |y| < 120 (Box-Muller passes [0, 2*pi)).
    Returns (sin, cos) as float32 arrays."""
    y = np.asarray(y, dtype=np.float32)
    top12 = (y.view(np.uint32) >> np.uint32(20)) & np.uint32(0x7FF)
    small = top12 < 0x3F4                           # |y| < pi/4 (compared on the top 12 bits)
    tiny = top12 < 0x398                            # |y| < 2^-12: sin = y, cos = 1
    x = y.astype(np.float64)
    # Quadrant n = round(x * 2/pi), done in fixed point as glibc does without lround.
    n = np.where(small, 0, ((x * _SC_HPI_INV).astype(np.int32) + np.int32(0x800000)) >> 24)
    x = x - n * _SC_HPI
    x2 = x * x
    x = np.where(small, x, x * _SC_SIGN[n & 3])
    # glibc's sincosf_poly, in its order of operations.
    C0, C1, C2, C3, C4 = _SC_COS
    S1, S2, S3 = _SC_SIN
    x4 = x2 * x2
    x3 = x2 * x
    c2 = C3 + x2 * C4
    s1 = S2 + x2 * S3
    c1 = C0 + x2 * C1
    x5 = x3 * x2
    x6 = x4 * x2
    s = x + x3 * S1
    c = c1 + x4 * C2
    sin_poly = (s + x5 * s1).astype(np.float32)
    # Quadrants 2 and 3 use glibc's second table, whose cosine coefficients are negated;
    # round-to-nearest is symmetric, so negating the result instead is bit-identical.
    cos_poly = (np.where((n & 2) != 0, -1.0, 1.0) * (c + x6 * c2)).astype(np.float32)
    odd = (n & 1) != 0                              # odd quadrants swap sine and cosine
    sin = np.where(tiny, y, np.where(odd, cos_poly, sin_poly))
    cos = np.where(tiny, np.float32(1), np.where(odd, sin_poly, cos_poly))
    return sin, cos


# Double precision: use the C library itself through Python's math module (TF calls the same
# functions). numpy's float64 sin/cos are used instead where they agree with libm (checked
# once on import), since they are an order of magnitude faster; numpy's float64 log is a
# SIMD approximation on many machines and is never used.
def _libm(fn, np_fn, domain=lambda x: np.ones(x.shape, bool)):
    """Elementwise `fn` (a math-module function, i.e. the C library's) over an array. Python
    raises where C returns -inf/NaN/inf, so arguments outside `domain` go to `np_fn`."""
    def apply(x: np.ndarray) -> np.ndarray:
        x = np.asarray(x, dtype=np.float64)
        inside = domain(x)
        out = np.empty_like(x)
        values = x[inside].tolist()
        out[inside] = np.fromiter(map(fn, values), np.float64, count=len(values))
        with np.errstate(all="ignore"):
            out[~inside] = np_fn(x[~inside])
        return out
    return apply


_libm_log = _libm(math.log, np.log, lambda x: x > 0)
_libm_log1p = _libm(math.log1p, np.log1p, lambda x: x > -1)


def _numpy_agrees(np_fn, libm_fn) -> bool:
    probe = np.linspace(0.0, 2 * np.pi, 20011)
    return bool(np.array_equal(np_fn(probe), _libm(libm_fn, np_fn)(probe)))


_libm_sin = np.sin if _numpy_agrees(np.sin, math.sin) else _libm(math.sin, np.sin)
_libm_cos = np.cos if _numpy_agrees(np.cos, math.cos) else _libm(math.cos, np.cos)


def _pow(x: float, y: float) -> float:
    try:
        return math.pow(x, y)
    except (ValueError, OverflowError):     # C gives NaN / inf / 0 here
        with np.errstate(all="ignore"):
            return float(np.power(x, y))


def _libm_pow(x: np.ndarray, y: np.ndarray) -> np.ndarray:
    x, y = np.broadcast_arrays(np.asarray(x, np.float64), np.asarray(y, np.float64))
    return np.fromiter(map(_pow, x.ravel().tolist(), y.ravel().tolist()), np.float64,
                       count=x.size).reshape(x.shape)


# ---------------------------------------------------------------------------------------------
# Box-Muller (random_distributions_utils.h / random_distributions.h)
# ---------------------------------------------------------------------------------------------
def _box_muller_float(x0: np.ndarray, x1: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """BoxMullerFloat: two uint32 arrays to two float32 normal arrays."""
    u1 = np.maximum(_bits_to_float32(x0), np.float32(1e-7))     # keep log away from 0
    # `2.0f * M_PI * u` is evaluated in double (M_PI is a double) and stored as float.
    v1 = (2.0 * math.pi * _bits_to_float32(x1).astype(np.float64)).astype(np.float32)
    u2 = np.sqrt(np.float32(-2.0) * glibc_logf(u1))
    sin, cos = glibc_sincosf(v1)
    return sin * u2, cos * u2


def _box_muller_double(x0, x1, x2, x3) -> tuple[np.ndarray, np.ndarray]:
    """BoxMullerDouble: four uint32 arrays to two float64 normal arrays."""
    u1 = np.maximum(_bits_to_float64(x0, x1), 1e-7)
    v1 = 2 * math.pi * _bits_to_float64(x2, x3)
    u2 = np.sqrt(-2.0 * _libm_log(u1))
    return _libm_sin(v1) * u2, _libm_cos(v1) * u2


def _normals(words: np.ndarray, dtype) -> np.ndarray:
    """Box-Muller over a (n, 4) array of blocks, values in stream order: (n, 4) float32 for
    float16/float32 (each block holds two pairs of words) or (n, 2) float64 (one quadruple).
    Works in cache-sized chunks, which is several times faster than whole-array passes."""
    double = dtype == np.float64
    out = np.empty((len(words), 2 if double else 4), np.float64 if double else np.float32)
    for a in range(0, len(words), _CHUNK):
        w = words[a:a + _CHUNK]
        if double:
            out[a:a + _CHUNK, 0], out[a:a + _CHUNK, 1] = _box_muller_double(*w.T)
        else:
            out[a:a + _CHUNK, 0], out[a:a + _CHUNK, 1] = _box_muller_float(w[:, 0], w[:, 1])
            out[a:a + _CHUNK, 2], out[a:a + _CHUNK, 3] = _box_muller_float(w[:, 2], w[:, 3])
    return out


# ---------------------------------------------------------------------------------------------
# Samplers. Each returns what TF's CPU kernel returns for attributes (seed, seed2) when its
# reserved counter range starts at block `counter`.
# ---------------------------------------------------------------------------------------------
_FLOAT_DTYPES = (np.float16, np.float32, np.float64)


def _float_dtype(dtype) -> np.dtype:
    dtype = np.dtype(dtype)
    if dtype.type not in _FLOAT_DTYPES:
        raise TypeError(f"expected float16, float32 or float64, got {dtype}")
    return dtype


def _size(shape) -> int:
    return int(np.prod(shape, dtype=np.int64))


def _ceil_div(a: int, b: int) -> int:
    return -(-a // b)


def uniform(shape, dtype, seed: int, seed2: int, counter: int = 0) -> np.ndarray:
    """TF RandomUniform: floats in [0, 1) of `shape` and `dtype` (float16/32/64).

    Each block gives four float16/float32 (23 or 10 random mantissa bits each) or two float64
    (52 bits from a pair of words), filled in order.
    """
    dtype = _float_dtype(dtype)
    n = _size(shape)
    if dtype == np.float64:
        words = uint32_stream(seed, seed2, counter, (n + 1) // 2)
        out = _bits_to_float64(words[0::2], words[1::2])
    else:
        words = uint32_stream(seed, seed2, counter, (n + 3) // 4)
        out = _bits_to_float16(words) if dtype == np.float16 else _bits_to_float32(words)
    return out[:n].reshape(shape)


def uniform_int(shape, minval: int, maxval: int, dtype, seed: int, seed2: int,
                counter: int = 0) -> np.ndarray:
    """TF RandomUniformInt: integers in [minval, maxval) of `shape`, dtype int32 or int64.

    `minval + word % (maxval - minval)` (the range taken unsigned), one word per int32 and a
    pair (low word first) per int64, so slightly biased for ranges that are not powers of two,
    exactly as TF. Raises ValueError unless minval < maxval (TF checks this only for
    non-empty outputs).
    """
    dtype = np.dtype(dtype)
    if dtype not in (np.int32, np.int64):
        raise TypeError(f"expected int32 or int64, got {dtype}")
    n = _size(shape)
    if n == 0:
        return np.zeros(shape, dtype)
    if not minval < maxval:
        raise ValueError(f"Need minval < maxval, got {minval} >= {maxval}")
    span = maxval - minval
    if dtype == np.int32:
        words = uint32_stream(seed, seed2, counter, (n + 3) // 4)[:n]
        offset = words % np.uint32(span)
    else:
        words = uint32_stream(seed, seed2, counter, (n + 1) // 2)
        bits = words[0::2][:n].astype(np.uint64) | (words[1::2][:n].astype(np.uint64) << _SHIFT32)
        offset = bits % np.uint64(span)
    # minval + offset < maxval fits the dtype; do the add in uint64 to avoid overflow checks.
    total = np.uint64(minval & _MASK64) + offset.astype(np.uint64)
    return total.view(np.int64).astype(dtype).reshape(shape)


def normal(shape, dtype, seed: int, seed2: int, counter: int = 0) -> np.ndarray:
    """TF RandomStandardNormal: standard normal samples by Box-Muller.

    float16/float32: each block's four words make two pairs, each pair two float32 normals
    (float16 is rounded from float32). float64: each block makes two doubles.
    """
    dtype = _float_dtype(dtype)
    n = _size(shape)
    per_block = 2 if dtype == np.float64 else 4
    words = uint32_stream(seed, seed2, counter, (n + per_block - 1) // per_block).reshape(-1, 4)
    return _normals(words, dtype.type).reshape(-1)[:n].astype(dtype).reshape(shape)


# TF reserves 256 samples per output for distributions with a variable number of samples per
# output ("kReservedSamplesPerOutput"); truncated normal output group g starts at block
# g * group_size * 256 / 4.
_RESERVED_PER_OUTPUT = 256


def truncated_normal(shape, dtype, seed: int, seed2: int, counter: int = 0) -> np.ndarray:
    """TF TruncatedNormal: standard normal samples with |x| < 2, by rejection.

    Output is made in groups of 4 (float16/32) or 2 (float64) values; group g reads the
    generator from block `g * 256` (`g * 128` for float64) on, Box-Muller pair by pair, and
    keeps the first values with |x| < 2 (compared in float32 for float16).
    """
    dtype = _float_dtype(dtype)
    n = _size(shape)
    group = 2 if dtype == np.float64 else 4      # = Box-Muller values per block
    stride = group * _RESERVED_PER_OUTPUT // 4
    num_groups = (n + group - 1) // group
    result = np.zeros((num_groups, group), np.float64 if dtype == np.float64 else np.float32)
    filled = np.zeros(num_groups, np.int64)       # accepted values so far, per group
    pending = np.arange(num_groups, dtype=np.int64)
    # Pass b reads block b of every group still short of values. One block fills a group
    # about 83% (float32) or 91% (float64) of the time, so few groups need a second pass.
    for used_blocks in itertools.count():
        if not pending.size:
            break
        offsets = pending.astype(np.uint64) * np.uint64(stride) + np.uint64(used_blocks)
        candidates = _normals(blocks(seed, seed2, counter, offsets), dtype.type)
        accepted = np.abs(candidates) < 2.0
        if used_blocks == 0:                      # fast path: the whole block accepted
            whole = accepted.all(axis=1)
            result[pending[whole]] = candidates[whole]
            filled[pending[whole]] = group
            pending, candidates, accepted = pending[~whole], candidates[~whole], accepted[~whole]
        # The i-th accepted value of this block is value number filled + i of its group.
        rank = filled[pending][:, None] + np.cumsum(accepted, axis=1) - 1
        row, col = np.nonzero(accepted & (rank < group))
        result[pending[row], rank[row, col]] = candidates[row, col]
        filled[pending] = np.minimum(group, filled[pending] + accepted.sum(axis=1))
        pending = pending[filled[pending] < group]
    return result.reshape(-1)[:n].astype(dtype).reshape(shape)


@np.errstate(all="ignore")    # alpha <= 0, NaN or inf give NaN/inf/0 samples, as in TF
def gamma(shape, alpha: np.ndarray, seed: int, seed2: int, counter: int = 0) -> np.ndarray:
    """TF RandomGamma: samples of Gamma(alpha, 1), result shape `shape + alpha.shape`,
    dtype of `alpha` (float16/32/64).

    Marsaglia and Tsang's transformation-rejection method in double precision. The sample for
    alpha index a and sample index s is output number `a * num_samples + s` and reads its own
    generator from block `256 * that` on: float64 normals (one block -> two, used last-first)
    and float64 uniforms (likewise) as the loop asks for them. alpha == 1 uses -log1p(-u);
    alpha < 1 samples alpha + 1 and multiplies by u ** (1 / alpha).
    """
    alpha = np.asarray(alpha)
    dtype = _float_dtype(alpha.dtype)
    num_samples = _size(shape)
    out_shape = tuple(shape) + alpha.shape
    if num_samples == 0 or alpha.size == 0:
        return np.zeros(out_shape, dtype)
    a = np.repeat(alpha.reshape(-1).astype(np.float64), num_samples)   # alpha per output number
    total = a.size
    result = np.empty(total, np.float64)

    exponential = a == 1.0
    if exponential.any():
        index = np.nonzero(exponential)[0]
        words = blocks(seed, seed2, counter, index.astype(np.uint64) * _RESERVED_PER_OUTPUT)
        u = _bits_to_float64(words[:, 2], words[:, 3])     # the block's second double
        result[index] = -_libm_log1p(-u)

    index = np.nonzero(~exponential)[0]
    alpha_i = a[index]
    small = alpha_i < 1
    d = alpha_i + np.where(small, 2.0 / 3, -1.0 / 3)
    c = 1.0 / 3 / np.sqrt(d)
    base = index.astype(np.uint64) * np.uint64(_RESERVED_PER_OUTPUT)
    used = np.zeros(index.size, np.uint64)        # blocks each sample's generator has used
    norm = np.zeros((index.size, 2))
    norm_left = np.zeros(index.size, np.int64)
    unif = np.zeros((index.size, 2))
    unif_left = np.zeros(index.size, np.int64)

    def draw(active, values, left, make):
        """Take the next value of a two-per-block distribution for samples `active`,
        computing a fresh block where the previous one is used up (values are used from the
        last to the first, as TF's `remaining--` does)."""
        fresh = active[left[active] == 0]
        if fresh.size:
            words = blocks(seed, seed2, counter, base[fresh] + used[fresh])
            values[fresh] = make(words)
            left[fresh] = 2
            used[fresh] += np.uint64(1)
        left[active] -= 1
        return values[active, left[active]]

    def make_normal(words):
        return _normals(words, np.float64)

    def make_uniform(words):
        return _bits_to_float64(words[:, 0::2], words[:, 1::2])

    # All samples run the rejection loop in lockstep; each pass is one loop iteration for
    # every sample still without a value.
    active = np.arange(index.size)
    while active.size:
        x = draw(active, norm, norm_left, make_normal)
        v = 1 + c[active] * x
        retry = v <= 0                           # `if (v <= 0) continue;` (NaN goes on)
        tried, x, v = active[~retry], x[~retry], v[~retry]
        v = v * v * v
        u = draw(tried, unif, unif_left, make_uniform)
        accept = u < 1 - 0.0331 * (x * x) * (x * x)     # the squeeze, which skips the logs
        check = ~accept
        if check.any():
            xc, vc = x[check], v[check]
            bound = 0.5 * xc * xc + d[tried[check]] * (1 - vc + _libm_log(vc))
            accept[check] = _libm_log(u[check]) < bound
        done = tried[accept]
        res = d[done] * v[accept]
        boost = small[done]
        if boost.any():
            boosted = done[boost]
            b = draw(boosted, unif, unif_left, make_uniform)
            res[boost] *= _libm_pow(b, 1 / alpha_i[boosted])
        result[index[done]] = res
        active = np.concatenate([active[retry], tried[~accept]])
    # Output number a * num_samples + s goes to position [s, a] of the result.
    out = result.reshape(alpha.size, num_samples).T
    return _from_double(out, dtype).reshape(out_shape)


def _flush_denormals(x: np.ndarray) -> np.ndarray:
    """Replace subnormal values by (signed) zero. TF runs kernels with the CPU's
    flush-to-zero mode on, so arithmetic that would produce a subnormal produces zero."""
    tiny = np.finfo(x.dtype).tiny
    return np.where(np.abs(x) < tiny, np.copysign(x.dtype.type(0), x), x)


def _from_double(x: np.ndarray, dtype: np.dtype) -> np.ndarray:
    """static_cast<T>(double) under flush-to-zero; float16 goes through float32 as Eigen's
    half conversion does."""
    x = _flush_denormals(x)
    if dtype == np.float64:
        return x
    x = _flush_denormals(x.astype(np.float32))
    return x if dtype == np.float32 else x.astype(np.float16)


def multinomial(logits: np.ndarray, num_samples: int, seed: int, seed2: int, counter: int = 0,
                output_dtype=np.int64, num_threads: int = 1) -> np.ndarray:
    """TF Multinomial: `num_samples` class indices per row of `logits` [batch, classes].

    Per row: cdf = running sum of exp(logit - max) over the finite logits, in double; each
    sample is upper_bound(cdf, u * total), u a double made from two consecutive words.

    The kernel splits the rows into shards for its thread pool and each shard reads the word
    stream from its own start (block start_row * (num_samples + 3) // 4) while rows within a
    shard follow each other (2 * num_samples words per row), so TF's numbers depend on the
    split. `num_threads` is the size of TF's intra-op thread pool (TF's default: the number of
    CPUs); with 1 (the default) all rows form one shard, which is also what TF does on any
    machine for small problems (batch * 50 * (num_samples * log2(classes) + classes) below
    about 1.1e5 cycles).
    """
    logits = np.asarray(logits)
    batch, classes = logits.shape
    out = np.zeros((batch, num_samples), dtype=output_dtype)
    if out.size == 0:
        return out
    # Uniform doubles for every row, from the stream position of its shard.
    u = np.empty((batch, num_samples))
    cost = int(50 * (num_samples * math.log(classes) / math.log(2) + classes))
    for first, last in _parallel_for_blocks(batch, cost, num_threads):
        start = first * (num_samples + 3) // 4
        words = uint32_stream(seed, seed2, counter + start, ((last - first) * num_samples + 1) // 2)
        doubles = _bits_to_float64(words[0::2], words[1::2])
        u[first:last] = doubles[:(last - first) * num_samples].reshape(-1, num_samples)
    finite = np.isfinite(logits)
    row_max = np.where(finite, logits, np.finfo(logits.dtype).min).max(axis=1).astype(np.float64)
    with np.errstate(all="ignore"):
        terms = _flush_denormals(np.exp(logits.astype(np.float64) - row_max[:, None]))
    cdf = np.cumsum(np.where(finite, terms, 0.0), axis=1)
    to_find = u * cdf[:, -1:]
    for b in range(batch):      # one vectorized binary search per row
        out[b] = np.searchsorted(cdf[b], to_find[b], side="right")
    return out


def _parallel_for_blocks(n: int, cost_per_unit: int, num_threads: int) -> list[tuple[int, int]]:
    """The [first, last) ranges TF's `Shard` (via Eigen's ThreadPoolDevice::parallelFor and
    its cost model) hands to workers for `n` units of `cost_per_unit` cycles each."""
    total_cost = n * float(cost_per_unit)
    threads = int(min(max((total_cost - 100000) / 100000 + 0.9, 1), num_threads))
    if n <= 1 or num_threads <= 1 or threads == 1:
        return [(0, n)]
    block_size = min(n, max(_ceil_div(n, 4 * num_threads), int(40000 / cost_per_unit)))
    max_block_size = min(n, 2 * block_size)
    count = _ceil_div(n, block_size)

    def efficiency(blocks_count):
        return blocks_count / (_ceil_div(blocks_count, num_threads) * num_threads)

    best = efficiency(count)
    previous = count
    while best < 1.0 and previous > 1:       # coarser blocks while efficiency does not drop
        coarser = _ceil_div(n, previous - 1)
        if coarser > max_block_size:
            break
        coarser_count = _ceil_div(n, coarser)
        previous = coarser_count
        if efficiency(coarser_count) + 0.01 >= best:
            block_size, count = coarser, coarser_count
            best = max(best, efficiency(coarser_count))
    return [(i, min(i + block_size, n)) for i in range(0, n, block_size)]


def shuffle(value: np.ndarray, seed: int, seed2: int, counter: int = 0) -> np.ndarray:
    """TF RandomShuffle: `value` with its first dimension permuted.

    Fisher-Yates with TF's draws: for i = 0 .. n-2, swap rows i and i + word_i % (n - i),
    word_i the i-th uint32 of the stream. Tensors with at most one element or one row are
    returned unchanged (and draw nothing). Sizes of 2**31 rows and more are not supported.
    """
    value = np.asarray(value)
    n = value.shape[0] if value.ndim else 0
    if value.size <= 1 or n <= 1:
        return value.copy()
    words = uint32_stream(seed, seed2, counter, _ceil_div(n - 1, 4))[:n - 1]
    targets = (np.arange(n - 1) + words % np.arange(n, 1, -1, dtype=np.uint32)).tolist()
    perm = list(range(n))
    for i, j in enumerate(targets):       # inherently sequential; plain ints are fastest
        perm[i], perm[j] = perm[j], perm[i]
    return value[np.array(perm)]


# ---------------------------------------------------------------------------------------------
# Counter bookkeeping
# ---------------------------------------------------------------------------------------------
def blocks_reserved(op_kind: str, num_elements: int, *, num_samples: int | None = None,
                    first_dim: int | None = None) -> int:
    """How many blocks one execution of a TF random kernel advances its generator.

    `op_kind`: "uniform", "uniform_int", "normal", "truncated_normal", "gamma",
    "multinomial" or "shuffle". `num_elements`: element count of the op's result.
    For "multinomial" also give `num_samples` (batch = num_elements / num_samples); for
    "shuffle" give `first_dim` (the size of the shuffled dimension).

    Execution k of an op (with an unchanged result shape) starts at counter
    k * blocks_reserved(...). TF reserves 256 blocks per output element for the element-wise
    distributions and gamma, 512 per sample rounded up to 4 samples per row for multinomial,
    and one block per 4 draws (n - 1 draws) for shuffle.
    """
    if op_kind in ("uniform", "uniform_int", "normal", "truncated_normal", "gamma"):
        return _RESERVED_PER_OUTPUT * num_elements
    if op_kind == "multinomial":
        if num_samples is None:
            raise ValueError("multinomial needs num_samples")
        if num_elements == 0:
            return 0
        batch = num_elements // num_samples
        # (num_samples rounded up to 4) * 2, since the CPU kernel draws a double per sample.
        return batch * (_ceil_div(num_samples, 4) * 4) * 2 * _RESERVED_PER_OUTPUT
    if op_kind == "shuffle":
        if first_dim is None:
            raise ValueError("shuffle needs first_dim")
        if num_elements <= 1 or first_dim <= 1:
            return 0
        return _ceil_div(first_dim - 1, 4)
    raise ValueError(f"unknown random op kind {op_kind!r}")
