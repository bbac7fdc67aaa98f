"""MLP 784-512-512-10 with a softmax: the multilayer perceptron of the benchmarks, with
seeded weights (Glorot-uniform, small normal biases)."""

import tfc as tf


def dense(x, units, name, activation=None, seed=0):
    with tf.variable_scope(name):
        w = tf.get_variable("weights", [x.shape[1].value, units],
                            initializer=tf.glorot_uniform_initializer(seed=seed))
        b = tf.get_variable("biases", [units],
                            initializer=tf.random_normal_initializer(stddev=0.01, seed=seed + 1))
        y = tf.nn.bias_add(tf.matmul(x, w), b)
        return activation(y) if activation else y


x = tf.placeholder(tf.float32, [None, 784], name="x")
h1 = dense(x, 512, "fc1", tf.nn.relu, seed=1)
h2 = dense(h1, 512, "fc2", tf.nn.relu, seed=3)
logits = dense(h2, 10, "fc3", seed=5)
probs = tf.nn.softmax(logits, name="probs")

inputs = {"x": x}
outputs = {"probs": probs}
