"""Sessions run natively by default: the run's function is JIT-compiled once and reused; the
interpreter stays available as `tf.ConfigProto(tfc_engine="interpreter")`; run-time errors in
native code still name the op."""

import numpy as np
import pytest

import tfc as tf
from tfc import session as session_module
from tfc.codegen.llvm.native import NativeFunction


@pytest.fixture(autouse=True)
def native_default(monkeypatch):
    monkeypatch.setattr(session_module, "DEFAULT_ENGINE", "native")   # undo the package fixture
    tf.reset_default_graph()


def _compiled(sess):
    return list(sess.graph.__dict__["_tfc_compiled"].values())


def test_default_engine_is_native_and_cached():
    x = tf.placeholder(tf.float32, [None, 3], name="x")
    w = tf.Variable(np.arange(6, dtype=np.float32).reshape(3, 2))
    y = tf.nn.relu(tf.matmul(x, w) - 4.0)
    with tf.Session() as sess:
        assert sess._config.tfc_engine == "native"
        sess.run(tf.global_variables_initializer())
        feed = np.array([[1, 2, 3], [-1, 0, 1]], np.float32)
        first = sess.run(y, {x: feed})
        second = sess.run(y, {x: feed})
        lowered = [lw for lw in _compiled(sess) if lw.fetches and lw.fetches[0] is y]
        assert len(lowered) == 1 and isinstance(lowered[0].native, NativeFunction)
    expected = np.maximum(feed @ np.arange(6, dtype=np.float32).reshape(3, 2) - 4, 0)
    np.testing.assert_allclose(first, expected, rtol=1e-6)
    np.testing.assert_array_equal(first, second)


def test_interpreter_engine_on_request():
    y = tf.constant([1.0, 2.0]) * 3.0
    with tf.Session(config=tf.ConfigProto(tfc_engine="interpreter")) as sess:
        np.testing.assert_array_equal(sess.run(y), [3.0, 6.0])
        assert all(lw.native is None for lw in _compiled(sess))


def test_unknown_engine_is_rejected():
    with pytest.raises(ValueError, match="tfc_engine must be one of native, interpreter"):
        tf.ConfigProto(tfc_engine="gpu")


def test_native_run_time_error_names_the_op():
    d = tf.placeholder(tf.int32, [2], name="d")
    q = tf.floordiv(tf.constant([7, 8]), d, name="q")
    with tf.Session() as sess:
        np.testing.assert_array_equal(sess.run(q, {d: [2, 3]}), [3, 2])
        with pytest.raises(tf.errors.InvalidArgumentError, match="Integer division by zero") as info:
            sess.run(q, {d: [1, 0]})
    assert info.value.op.name == "q"


def test_variables_update_through_native_runs():
    v = tf.Variable(1.0)
    inc = tf.assign_add(v, 2.0)
    with tf.Session() as sess:
        sess.run(v.initializer)
        for _ in range(3):
            sess.run(inc)
        assert sess.run(v) == 7.0


def test_native_runs_the_default_pipeline_and_keeps_the_graph_for_errors():
    # The JIT'd function went through fold/cse/fuse/plan-memory: the elementwise chain after the
    # matmul is one fused kernel; the session's own module (used to name failing nodes) is not.
    x = tf.placeholder(tf.float32, [4, 8], name="x")
    w = tf.constant(np.linspace(-1, 1, 64, dtype=np.float32).reshape(8, 8))
    y = tf.tanh(tf.nn.relu(tf.matmul(x, w) + 1.0) * 2.0 - 0.5)
    feed = np.random.default_rng(0).standard_normal((4, 8)).astype(np.float32)
    with tf.Session() as sess:
        got = sess.run(y, {x: feed})
        [lowered] = _compiled(sess)
    names = [op.name for op in lowered.native.function.walk()]
    assert "core.fusion" in names
    assert "core.fusion" not in [op.name for op in lowered.function.walk()]
    w_np = np.linspace(-1, 1, 64, dtype=np.float32).reshape(8, 8)
    expected = np.tanh(np.maximum(feed @ w_np + 1.0, 0) * 2.0 - 0.5)
    np.testing.assert_allclose(got, expected, rtol=1e-5, atol=1e-6)
