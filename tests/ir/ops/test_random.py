"""Random ops (ir/ops/random.py): TensorFlow's numbers, type inference, errors.

Expected values below were obtained once from TensorFlow 2.21 (CPU, glibc 2.36) with
tf.raw_ops.<Op>(..., seed=S, seed2=S2) run twice in one tf.compat.v1 Session: run 0 is
counter 0, run 1 is counter blocks_reserved(...). They are compared exactly, bit for bit,
including the transcendental-based distributions (normal, truncated normal, gamma).
"""

import numpy as np
import pytest

import tfc.ir.ops  # noqa: F401  (registers the op table)
from tfc.ir import dtypes as dt
from tfc.ir import philox
from tfc.ir.builder import BuildError, FunctionBuilder
from tfc.ir.opdef import PURE, RANDOM, STATEFUL, get_op
from tfc.ir.types import TensorType
from tfc.runtime.interpreter import evaluate_op

C0 = np.int64(0)

EXAMPLES = [
    ("random.uniform", [C0], {"shape": [2, 3], "seed": 1, "seed2": 2}),
    ("random.uniform_int", [C0], {"shape": [4], "minval": -5, "maxval": 9, "seed": 1, "seed2": 2}),
    ("random.normal", [C0], {"shape": [3], "dtype": dt.float64, "seed": 7, "seed2": 0}),
    ("random.truncated_normal", [C0], {"shape": [2, 2], "seed": 7, "seed2": 0}),
    ("random.gamma", [C0, np.array([0.5, 2.0], np.float32)], {"shape": [3], "seed": 1, "seed2": 2}),
    ("random.multinomial", [C0, np.zeros((2, 3), np.float32)], {"num_samples": 4, "seed": 1, "seed2": 2}),
    ("random.shuffle", [C0, np.arange(6).reshape(3, 2)], {"seed": 1, "seed2": 2}),
]


def run(name, kind, num_elements, inputs, attrs, k, **reserve):
    """Execution k of the op: counter k * blocks_reserved."""
    counter = np.int64(k * philox.blocks_reserved(kind, num_elements, **reserve))
    return evaluate_op(name, counter, *inputs, **attrs)


def check_exact(got, expected, dtype):
    expected = np.array(expected, dtype)
    assert got.dtype == expected.dtype
    assert got.shape == expected.shape
    assert np.array_equal(got, expected, equal_nan=True), (got, expected)


# --- values from TensorFlow ------------------------------------------------------------------------
UNIFORM = {  # RandomUniform(shape=[2, 3], seed=1, seed2=2)
    "float32": [[0.40639675, 0.8575996, 0.05539584, 0.08587229, 0.4121536, 0.03663087],
                [0.49945498, 0.06284702, 0.46006584, 0.20280075, 0.08863032, 0.9726002]],
    "float64": [[0.2511744980841868, 0.44316677020093853, 0.2972296290781924,
                 0.2577066944684787, 0.9527181182843207, 0.8291687913947399],
                [0.9956402481772881, 0.6805270932666971, 0.7090432345356796,
                 0.023839248391566148, 0.17306273261414407, 0.797812020345257]],
    "float16": [[0.2021, 0.456, 0.8027, 0.4658, 0.3623, 0.0801],
                [0.535, 0.843, 0.8594, 0.3438, 0.05957, 0.541]],
}


@pytest.mark.parametrize("dtype", sorted(UNIFORM))
@pytest.mark.parametrize("k", [0, 1])
def test_uniform_matches_tf(dtype, k):
    got = run("random.uniform", "uniform", 6, [], {"shape": [2, 3], "dtype": dtype, "seed": 1, "seed2": 2}, k)
    check_exact(got, np.reshape(UNIFORM[dtype][k], (2, 3)), dtype)


@pytest.mark.parametrize("dtype, lo, hi, seeds, shape, expected", [
    # RandomUniformInt(shape=[5], minval=-5, maxval=9, seed=1, seed2=2)
    ("int32", -5, 9, (1, 2), [5], [[0, -2, 1, -2, 4], [-1, 1, 1, 2, 0]]),
    # RandomUniformInt(shape=[3], minval=-2**62, maxval=2**62, seed=-3, seed2=2**40), int64
    ("int64", -2**62, 2**62, (-3, 2**40), [3],
     [[-4506341167305226758, -1820489665951188195, -4548733574146576064],
      [2394508233412865658, 3026766367673751606, -2740951821937001564]]),
])
@pytest.mark.parametrize("k", [0, 1])
def test_uniform_int_matches_tf(dtype, lo, hi, seeds, shape, expected, k):
    attrs = {"shape": shape, "minval": lo, "maxval": hi, "dtype": dtype, "seed": seeds[0], "seed2": seeds[1]}
    got = run("random.uniform_int", "uniform_int", 5 if dtype == "int32" else 3, [], attrs, k)
    check_exact(got, expected[k], dtype)


NORMAL = {  # RandomStandardNormal / TruncatedNormal (shape=[5], seed=7, seed2=0)
    ("normal", "float32"): [[0.3536911, 0.6635877, -0.97749937, 0.77636147, 1.306758],
                            [0.02585415, 0.5314389, -2.1861491, 1.0573031, 0.30697498]],
    ("truncated_normal", "float32"): [[0.3536911, 0.6635877, -0.97749937, 0.77636147, -0.58962953],
                                      [0.02585415, 0.5314389, 1.0573031, 0.30697498, 1.3130186]],
    ("normal", "float64"): [[-2.326339586065351, -1.2699239428871103, -0.40152697215513494,
                             -0.16673537196103413, 0.41188571409468117],
                            [0.16466175898081498, -0.2965018144984135, 0.49589609235169246,
                             0.22671721860636251, -1.070318472262048]],
    ("truncated_normal", "float64"): [[-1.2699239428871103, -0.40152697215513494, 0.7981407171554833,
                                       1.0440822598383526, -0.8379327381560826],
                                      [0.16466175898081498, -0.2965018144984135, 1.2256496299184851,
                                       -0.37929619576039625, 0.692936518451237]],
    ("normal", "float16"): [[0.3538, 0.6636, -0.9775, 0.7764, 1.307],
                            [0.02585, 0.5312, -2.186, 1.058, 0.307]],
    ("truncated_normal", "float16"): [[0.3538, 0.6636, -0.9775, 0.7764, -0.59],
                                      [0.02585, 0.5312, 1.058, 0.307, 1.313]],
}


@pytest.mark.parametrize("kind, dtype", sorted(NORMAL))
@pytest.mark.parametrize("k", [0, 1])
def test_normal_and_truncated_match_tf(kind, dtype, k):
    got = run(f"random.{kind}", kind, 5, [], {"shape": [5], "dtype": dtype, "seed": 7, "seed2": 0}, k)
    check_exact(got, NORMAL[kind, dtype][k], dtype)


GAMMA = {  # RandomGamma(shape=[2], alpha=[0.5, 1.0, 3.0], seed=1, seed2=2)
    "float32": [[[0.014439558, 0.25191307, 2.9937944], [0.1910653, 0.33404183, 1.1744466]],
                [[0.5653322, 0.94286984, 2.368149], [0.010427229, 1.0249724, 1.4430859]]],
    "float64": [[[0.014439557851346523, 0.2519130815413206, 2.9937945178177334],
                 [0.19106529193912436, 0.33404184509665735, 1.1744466294106424]],
                [[0.5653321980517179, 0.9428698131513098, 2.36814900590546],
                 [0.010427229021818613, 1.0249724471245312, 1.4430858818057266]]],
}


@pytest.mark.parametrize("dtype", sorted(GAMMA))
@pytest.mark.parametrize("k", [0, 1])
def test_gamma_matches_tf(dtype, k):
    alpha = np.array([0.5, 1.0, 3.0], dtype)
    got = run("random.gamma", "gamma", 6, [alpha], {"shape": [2], "seed": 1, "seed2": 2}, k)
    check_exact(got, GAMMA[dtype][k], dtype)


@pytest.mark.parametrize("output_dtype", ["int64", "int32"])
@pytest.mark.parametrize("k, expected", [
    # Multinomial(logits=[[0, 1, 2], [-inf, 0.5, 0]], num_samples=6, seed=1, seed2=2)
    (0, [[1, 2, 1, 1, 2, 2], [1, 1, 2, 1, 1, 1]]),
    (1, [[2, 1, 1, 1, 2, 2], [1, 1, 2, 1, 1, 1]]),
])
def test_multinomial_matches_tf(output_dtype, k, expected):
    logits = np.array([[0.0, 1.0, 2.0], [-np.inf, 0.5, 0.0]], np.float32)
    attrs = {"num_samples": 6, "output_dtype": output_dtype, "seed": 1, "seed2": 2}
    got = run("random.multinomial", "multinomial", 12, [logits], attrs, k, num_samples=6)
    check_exact(got, expected, output_dtype)


@pytest.mark.parametrize("value, seeds, expected", [
    # RandomShuffle(value=range(10), seed=1, seed2=2)
    (np.arange(10), (1, 2), [[9, 0, 8, 6, 1, 3, 7, 2, 4, 5], [8, 7, 4, 3, 2, 1, 9, 5, 6, 0]]),
    # RandomShuffle(value=range(8).reshape(4, 2), seed=5, seed2=6)
    (np.arange(8).reshape(4, 2), (5, 6), [[[6, 7], [4, 5], [0, 1], [2, 3]],
                                          [[2, 3], [0, 1], [6, 7], [4, 5]]]),
])
@pytest.mark.parametrize("k", [0, 1])
def test_shuffle_matches_tf(value, seeds, expected, k):
    got = run("random.shuffle", "shuffle", value.size, [value], {"seed": seeds[0], "seed2": seeds[1]}, k,
              first_dim=value.shape[0])
    check_exact(got, expected[k], value.dtype)


# --- other semantics --------------------------------------------------------------------------------
@pytest.mark.parametrize("name, dtype", [("random.uniform", "f32"), ("random.normal", "f64"),
                                         ("random.truncated_normal", "f16")])
@pytest.mark.parametrize("shape", [[], [0], [3, 0, 2], [1]])
def test_float_samplers_shapes(name, dtype, shape):
    got = evaluate_op(name, C0, shape=shape, dtype=dtype, seed=0, seed2=0)
    assert got.shape == tuple(shape) and got.dtype == dt.as_dtype(dtype).numpy


def test_defaults_and_determinism():
    a = evaluate_op("random.uniform", C0, shape=[4], seed=3, seed2=4)
    assert a.dtype == np.float32
    assert np.array_equal(a, evaluate_op("random.uniform", C0, shape=[4], seed=3, seed2=4))
    assert not np.array_equal(a, evaluate_op("random.uniform", C0, shape=[4], seed=3, seed2=5))
    assert not np.array_equal(a, evaluate_op("random.uniform", np.int64(1024), shape=[4], seed=3, seed2=4))
    ints = evaluate_op("random.uniform_int", C0, shape=[2], minval=0, maxval=5, seed=1, seed2=1)
    assert ints.dtype == np.int32
    assert evaluate_op("random.multinomial", C0, np.zeros((1, 2), np.float64), num_samples=2,
                       seed=1, seed2=1).dtype == np.int64


def test_uniform_int_full_range():
    got = evaluate_op("random.uniform_int", C0, shape=[1000], minval=-2**31, maxval=2**31 - 1,
                      dtype="i32", seed=1, seed2=1)
    assert got.min() < -2**30 and got.max() > 2**30


def test_gamma_special_alphas():
    alpha = np.array([[0.0, np.nan], [np.inf, 1e-30]], np.float64)
    got = evaluate_op("random.gamma", C0, alpha, shape=[2], seed=1, seed2=2)
    assert got.shape == (2, 2, 2)
    # alpha 0 and tiny alpha give 0 (u ** inf; tiny results flushed to zero, as in TF), NaN
    # gives NaN, inf gives inf.
    assert np.array_equal(got[:, 0, 0], [0, 0]) and np.isnan(got[:, 0, 1]).all()
    assert np.isinf(got[:, 1, 0]).all() and np.array_equal(got[:, 1, 1], [0, 0])
    empty = evaluate_op("random.gamma", C0, np.zeros((0,), np.float32), shape=[3], seed=1, seed2=2)
    assert empty.shape == (3, 0)


def test_multinomial_edge_cases():
    all_inf = np.full((1, 3), -np.inf, np.float32)      # TF's upper_bound then returns num_classes
    assert evaluate_op("random.multinomial", C0, all_inf, num_samples=2, seed=1, seed2=2).tolist() == [[3, 3]]
    empty = evaluate_op("random.multinomial", C0, np.zeros((0, 3), np.float32), num_samples=2,
                        seed=1, seed2=2)
    assert empty.shape == (0, 2)
    none = evaluate_op("random.multinomial", C0, np.zeros((2, 3), np.float32), num_samples=0, seed=1, seed2=2)
    assert none.shape == (2, 0)


def test_multinomial_num_threads_changes_large_batches():
    logits = np.zeros((20, 100), np.float32)
    one = evaluate_op("random.multinomial", C0, logits, num_samples=50, seed=1, seed2=2)
    two = evaluate_op("random.multinomial", C0, logits, num_samples=50, seed=1, seed2=2, num_threads=2)
    assert np.array_equal(one[:5], two[:5]) and not np.array_equal(one, two)


@pytest.mark.parametrize("value", [np.array(5.0), np.zeros((0, 3)), np.array([7]), np.array([["a", "b"]])])
def test_shuffle_trivial(value):
    got = evaluate_op("random.shuffle", C0, value, seed=1, seed2=2)
    assert got.shape == value.shape and np.array_equal(got, value)


def test_shuffle_strings():
    got = evaluate_op("random.shuffle", C0, np.array(["a", "b", "c", "d"]), seed=1, seed2=2)
    assert sorted(got.tolist()) == ["a", "b", "c", "d"]


@pytest.mark.parametrize("name", ["random.uniform", "random.uniform_int", "random.normal",
                                  "random.truncated_normal", "random.gamma", "random.multinomial",
                                  "random.shuffle"])
def test_traits(name):
    op = get_op(name)
    assert op.has(STATEFUL) and op.has(RANDOM) and not op.has(PURE)


# --- type inference ---------------------------------------------------------------------------------
def infer(name, arg_types, attrs):
    fb = FunctionBuilder("f", [TensorType((), dt.int64)] + arg_types)
    return fb.create(name, list(fb.args), attrs).results[0].type


@pytest.mark.parametrize("alpha_shape, expected", [
    ((None, 4), (2, 3, None, 4)), (None, None), ((), (2, 3))])
def test_infer_gamma(alpha_shape, expected):
    t = infer("random.gamma", [TensorType(alpha_shape, dt.float64)], {"shape": [2, 3], "seed": 1, "seed2": 2})
    assert t == TensorType(expected, dt.float64)


@pytest.mark.parametrize("logits_shape, expected", [
    ((None, 5), (None, 7)), (None, (None, 7)), ((3, None), (3, 7))])
def test_infer_multinomial(logits_shape, expected):
    t = infer("random.multinomial", [TensorType(logits_shape, dt.float32)],
              {"num_samples": 7, "output_dtype": "i32", "seed": 1, "seed2": 2})
    assert t == TensorType(expected, dt.int32)


@pytest.mark.parametrize("shape", [(None, 4), None, ()])
def test_infer_shuffle(shape):
    t = infer("random.shuffle", [TensorType(shape, dt.string)], {"seed": 1, "seed2": 2})
    assert t == TensorType(shape, dt.string)


def test_infer_samplers():
    t = infer("random.uniform", [], {"shape": [2, 0], "seed": 1, "seed2": 2})
    assert t == TensorType((2, 0), dt.float32)
    assert infer("random.uniform_int", [], {"shape": [3], "minval": 0, "maxval": 2**40, "dtype": "i64",
                                            "seed": 1, "seed2": 2}) == TensorType((3,), dt.int64)


def test_unknown_counter_shape_is_accepted():
    fb = FunctionBuilder("f", [TensorType(None, dt.int64)])
    op = fb.create("random.normal", [fb.args[0]], {"shape": [2], "seed": 1, "seed2": 2})
    assert op.results[0].type == TensorType((2,), dt.float32)


@pytest.mark.parametrize("name, args, attrs, match", [
    ("random.uniform", [], {"shape": [2, -1], "seed": 1, "seed2": 2}, "Dimension -1 must be >= 0"),
    ("random.uniform", [], {"shape": [2], "dtype": "i32", "seed": 1, "seed2": 2}, "'dtype' must be one of"),
    ("random.normal", [], {"shape": [2], "dtype": "bf16", "seed": 1, "seed2": 2}, "'dtype' must be one of"),
    ("random.uniform", [], {"shape": [2]}, "missing required attribute 'seed'"),
    ("random.uniform_int", [], {"shape": [2], "minval": 5, "maxval": 5, "seed": 1, "seed2": 2},
     "Need minval < maxval, got 5 >= 5"),
    ("random.uniform_int", [], {"shape": [2], "minval": 0, "maxval": 2**31, "seed": 1, "seed2": 2},
     "does not fit int32"),
    ("random.uniform_int", [],
     {"shape": [2], "minval": 0, "maxval": 3, "dtype": "f32", "seed": 1, "seed2": 2},
     "must be i32 or i64"),
    ("random.gamma", [TensorType((2,), dt.int32)], {"shape": [2], "seed": 1, "seed2": 2}, "operand 'alpha'"),
    ("random.multinomial", [TensorType((3,), dt.float32)], {"num_samples": 2, "seed": 1, "seed2": 2},
     r"logits should be a matrix, got shape \[3\]"),
    ("random.multinomial", [TensorType((2, 0), dt.float32)], {"num_samples": 2, "seed": 1, "seed2": 2},
     "num_classes should be positive"),
    ("random.multinomial", [TensorType((2, 3), dt.float32)], {"num_samples": -1, "seed": 1, "seed2": 2},
     "num_samples should be non-negative"),
    ("random.multinomial", [TensorType((2, 3), dt.float32)],
     {"num_samples": 1, "output_dtype": "f32", "seed": 1, "seed2": 2}, "'output_dtype' must be"),
    ("random.multinomial", [TensorType((2, 3), dt.float32)],
     {"num_samples": 1, "seed": 1, "seed2": 2, "num_threads": 0}, "num_threads should be positive"),
])
def test_inference_errors(name, args, attrs, match):
    with pytest.raises(BuildError, match=match):
        infer(name, args, attrs)


@pytest.mark.parametrize("counter_type, match", [
    (TensorType((1,), dt.int64), r"counter must be a scalar, got shape \[1\]"),
    (TensorType((), dt.int32), "operand 'counter' has dtype int32"),
])
def test_counter_errors(counter_type, match):
    fb = FunctionBuilder("f", [counter_type])
    with pytest.raises(BuildError, match=match):
        fb.create("random.uniform", [fb.args[0]], {"shape": [2], "seed": 1, "seed2": 2})
