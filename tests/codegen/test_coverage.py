"""Every op of the op table has an LLVM kernel, except the few listed here with the reason;
a session whose function holds one of them runs it on the reference interpreter."""

import numpy as np

import tfc as tf
from tfc import session as session_module
from tfc.codegen.llvm import kernels  # noqa: F401  (registers the kernels)
from tfc.codegen.llvm.emitter import ALIASING_OPS, KERNELS
from tfc.ir.opdef import OPS

NOT_COMPILED = {
    "core.constant": "a buffer (an LLVM global or part of the weights), not a kernel",
    "core.return": "the entry point's results",
    "core.yield": "ends a region",
    "array.where": "its result's shape depends on the data; the backend needs static shapes",
    "linalg.qr": "no native Householder QR yet (only the orthogonal initializer uses it)",
    "random.gamma": "TF's rejection sampler is not ported to native code yet",
    "random.multinomial": "TF's sharded sampler is not ported to native code yet",
    "random.shuffle": "TF's sequential Fisher-Yates is not ported to native code yet",
}


def test_every_op_has_a_kernel_or_a_reason():
    missing = sorted(n for n in OPS if n not in KERNELS and n not in ALIASING_OPS)
    assert missing == sorted(NOT_COMPILED)


def test_session_falls_back_to_the_interpreter(monkeypatch):
    monkeypatch.setattr(session_module, "DEFAULT_ENGINE", "native")
    tf.reset_default_graph()
    x = tf.constant(np.arange(10, dtype=np.float32))
    y = tf.random_shuffle(x, seed=3) * 2.0
    with tf.Session() as sess:
        out = sess.run(y)
        lowered = next(iter(sess.graph.__dict__["_tfc_compiled"].values()))
    assert lowered.native is None and "random.shuffle" in lowered.native_error
    np.testing.assert_array_equal(np.sort(out), np.arange(10, dtype=np.float32) * 2)
