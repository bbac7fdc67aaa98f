"""The benchmark workloads in TensorFlow itself, for the TF and TF/XLA columns of run.py.

`build(function)` walks a frozen tfc IR function and builds the same network out of TF ops
(tf.linalg.matmul, tf.nn.bias_add, tf.nn.conv2d, tf.nn.max_pool2d, tf.nn.softmax...), with the
frozen IR constants as the weights, so both compute the same function on the same numbers.
`compile(function, xla)` wraps it in a `tf.function` with a fixed input signature, with
`jit_compile=True` (XLA) or without (TF's graph executor with Grappler and oneDNN).
"""

from __future__ import annotations

import numpy as np


def _import_tf():
    import tensorflow as tf

    return tf


class TFBuildError(ValueError):
    """The function uses an op this builder does not translate."""


def build(function):
    """A Python function of TF tensors computing `function`'s results (a list)."""
    tf = _import_tf()
    constants = {}
    for op in function.body.ops:
        if op.name == "core.constant":
            value = np.asarray(op.attributes["value"]).astype(op.results[0].type.dtype.numpy, copy=False)
            constants[id(op.results[0])] = tf.constant(value)

    elementwise = {"math.add": tf.math.add, "math.sub": tf.math.subtract, "math.mul": tf.math.multiply,
                   "math.real_div": tf.math.divide, "math.maximum": tf.math.maximum,
                   "math.minimum": tf.math.minimum, "nn.relu": tf.nn.relu, "nn.relu6": tf.nn.relu6,
                   "math.tanh": tf.math.tanh, "math.exp": tf.math.exp, "math.sigmoid": tf.math.sigmoid,
                   "math.neg": tf.math.negative, "math.abs": tf.math.abs, "math.sqrt": tf.math.sqrt}

    def windowed_padding(attrs):
        if attrs["padding"] != "EXPLICIT":
            return attrs["padding"]
        t, b, l, r = attrs["explicit_paddings"]
        pads = [[0, 0], [t, b], [l, r], [0, 0]]
        return pads if attrs.get("data_format", "NHWC") == "NHWC" else [pads[0], pads[3], pads[1], pads[2]]

    def run(*args):
        env = dict(constants)
        for arg, value in zip(function.args, args):
            env[id(arg)] = value
        for op in function.body.ops:
            name, attrs = op.name, op.attributes
            if name == "core.constant":
                continue
            ins = [env[id(v)] for v in op.operands]
            if name == "core.return":
                return ins
            if name == "core.identity":
                for result, value in zip(op.results, ins):
                    env[id(result)] = value
                continue
            if name in elementwise:
                out = elementwise[name](*ins)
            elif name == "math.matmul":
                out = tf.linalg.matmul(ins[0], ins[1], transpose_a=bool(attrs.get("transpose_a")),
                                       transpose_b=bool(attrs.get("transpose_b")))
            elif name == "nn.bias_add":
                out = tf.nn.bias_add(ins[0], ins[1], data_format=attrs.get("data_format", "NHWC")
                                     if op.operands[0].type.rank > 2 else None)
            elif name == "nn.softmax":
                out = tf.nn.softmax(ins[0], axis=int(attrs.get("axis", -1)))
            elif name == "nn.log_softmax":
                out = tf.nn.log_softmax(ins[0], axis=int(attrs.get("axis", -1)))
            elif name in ("array.reshape", "array.squeeze", "array.expand_dims"):
                out = tf.reshape(ins[0], list(op.results[0].type.shape))
            elif name == "array.transpose":
                out = tf.transpose(ins[0], [int(p) for p in attrs["perm"]])
            elif name == "nn.conv2d":
                out = tf.nn.conv2d(ins[0], ins[1], strides=list(attrs["strides"]),
                                   padding=windowed_padding(attrs),
                                   dilations=list(attrs.get("dilations", (1, 1))),
                                   data_format=attrs.get("data_format", "NHWC"))
            elif name in ("nn.max_pool", "nn.avg_pool"):
                pool = tf.nn.max_pool2d if name == "nn.max_pool" else tf.nn.avg_pool2d
                out = pool(ins[0], ksize=list(attrs["ksize"]), strides=list(attrs["strides"]),
                           padding=attrs["padding"], data_format=attrs.get("data_format", "NHWC"))
            else:
                raise TFBuildError(f"no TensorFlow translation for {name}"
                                   + (f" at {op.location}" if op.location else ""))
            env[id(op.results[0])] = out
        raise TFBuildError("the function has no core.return")

    return run


def compile(function, xla: bool):
    """A `tf.function` over `function` (XLA with `xla=True`) and its input signature."""
    tf = _import_tf()
    signature = [tf.TensorSpec(a.type.shape, tf.as_dtype(a.type.dtype.numpy), name=a.name_hint or f"arg{i}")
                 for i, a in enumerate(function.args)]
    return tf.function(build(function), input_signature=signature, jit_compile=xla)
