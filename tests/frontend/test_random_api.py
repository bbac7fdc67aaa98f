"""tf.random / random ops: TF's graphs and seeds, and TF's own numbers for the same seeds.

Hard-coded values were obtained once from TensorFlow 2.21 (tf.compat.v1, graph mode) running
the same programs; two consecutive `sess.run` calls give TF's first and second draws.
"""

import numpy as np
import pytest

import tfc as tf


@pytest.fixture(autouse=True)
def _fresh_graph():
    tf.reset_default_graph()


def _runs(fetches, n=2):
    with tf.Session() as sess:
        return [sess.run(fetches) for _ in range(n)]


def test_graph_seed_gives_op_seeds_0_1_2_in_call_order():
    # TF 2.x counts the random ops built under a graph seed (not the graph's op count).
    tf.set_random_seed(9)
    a = tf.random_normal([2])
    b = tf.random.uniform([2])
    c = tf.random.truncated_normal([2])
    d = tf.random.uniform([3], 0, 10, dtype=tf.int32)
    seeds = [(op.get_attr("seed"), op.get_attr("seed2")) for op in tf.get_default_graph().get_operations()
             if op.type.startswith(("Random", "Truncated"))]
    assert seeds == [(9, 0), (9, 1), (9, 2), (9, 3)]
    (values,) = _runs([a, b, c, d], n=1)
    expected = [[-0.3286321461200714, -2.222660541534424], [0.9903738498687744, 0.941869854927063],
                [-1.6949148178100586, 1.5894052982330322]]
    for got, want in zip(values[:3], expected):
        np.testing.assert_array_equal(got, np.float32(want))
    np.testing.assert_array_equal(values[3], [2, 3, 3])


def test_seed_truncation_matches_tf():
    assert tf.random.get_seed(2**31 - 1) == (87654321, 0)
    tf.set_random_seed(0)
    assert tf.random.get_seed(0) == (0, 2**31 - 1)


def test_random_gamma_graph_and_values():
    tf.set_random_seed(1)
    # beta a power of two: TF's graph optimizer turns x / const into x * (1 / const), which
    # rounds differently for other divisors; plain division is what tfc computes.
    g = tf.random_gamma([3], [0.5, 2.0], beta=[1.0, 4.0])
    g64 = tf.random.gamma([2], 1.5, dtype=tf.float64, seed=3)
    assert g.name == "random_gamma/Maximum:0" and g.shape.as_list() == [3, 2]
    assert g64.dtype == tf.float64 and g64.shape.as_list() == [2]
    op = tf.get_default_graph().get_operation_by_name("random_gamma/RandomGamma")
    assert (op.type, op.get_attr("seed"), op.get_attr("seed2")) == ("RandomGamma", 1, 0)
    assert [t.op.name for t in op.inputs] == ["random_gamma/shape", "random_gamma/BroadcastTo"]
    first, second = _runs([g, g64])
    np.testing.assert_array_equal(first[0], np.float32([[0.5702692866325378, 0.17815476655960083],
                                                        [0.024976946413517, 0.08227330446243286],
                                                        [0.009885690174996853, 0.34262582659721375]]))
    np.testing.assert_array_equal(first[1], [1.7629953281732866, 1.6605863242490424])
    np.testing.assert_array_equal(second[0], np.float32([[0.0644652396440506, 0.42700713872909546],
                                                         [0.3057406544685364, 0.7758813500404358],
                                                         [0.6922194361686707, 0.49640530347824097]]))
    np.testing.assert_array_equal(second[1], [1.5852151403421515, 2.7960347805092574])


def test_multinomial_and_categorical():
    tf.set_random_seed(2)
    m = tf.multinomial(tf.constant([[0.1, 1.0, 2.0], [3.0, 0.0, 0.0]]), 6)
    c = tf.random.categorical(tf.constant([[1.0, 1.0, 1.0, 1.0]]), 5, dtype=tf.int32, seed=11)
    assert (m.name, m.dtype, m.shape.as_list()) == ("multinomial/Multinomial:0", tf.int64, [2, 6])
    assert (c.name, c.dtype, c.shape.as_list()) == ("categorical/Multinomial:0", tf.int32, [1, 5])
    assert m.op.inputs[1].op.name == "multinomial/Multinomial/num_samples"
    first, second = _runs([m, c])
    np.testing.assert_array_equal(first[0], [[2, 1, 1, 2, 2, 1], [0, 0, 1, 0, 0, 0]])
    np.testing.assert_array_equal(first[1], [[3, 2, 1, 3, 1]])
    np.testing.assert_array_equal(second[0], [[1, 1, 0, 2, 1, 0], [0, 0, 2, 0, 0, 0]])
    np.testing.assert_array_equal(second[1], [[1, 0, 3, 1, 2]])


def test_multinomial_rejects_a_vector():
    with pytest.raises(ValueError, match="logits should be a matrix.*'multinomial/Multinomial'"):
        tf.multinomial(tf.constant([1.0, 2.0]), 2)


def test_random_shuffle():
    s = tf.random_shuffle(tf.constant(np.arange(8, dtype=np.int32)), seed=5)
    rows = tf.random.shuffle(tf.constant(np.arange(10, dtype=np.float32).reshape(5, 2)), seed=6)
    assert (s.op.type, s.op.name, s.op.get_attr("seed2")) == ("RandomShuffle", "RandomShuffle", 5)
    first, second = _runs([s, rows])
    np.testing.assert_array_equal(first[0], [7, 5, 2, 0, 4, 6, 3, 1])
    np.testing.assert_array_equal(first[1], [[8, 9], [0, 1], [4, 5], [2, 3], [6, 7]])
    np.testing.assert_array_equal(second[0], [0, 4, 7, 1, 3, 5, 2, 6])
    np.testing.assert_array_equal(second[1], [[6, 7], [0, 1], [8, 9], [2, 3], [4, 5]])


def test_random_namespace():
    assert tf.random.normal is tf.random_normal
    assert tf.random.uniform is tf.random_uniform
    assert tf.random.truncated_normal is tf.truncated_normal
    assert tf.random.gamma is tf.random_gamma
    assert tf.random.shuffle is tf.random_shuffle
    assert tf.random.multinomial is tf.multinomial
    assert tf.random.set_random_seed is tf.set_random_seed
    assert not hasattr(tf, "categorical")    # only tf.random.categorical in TF1
