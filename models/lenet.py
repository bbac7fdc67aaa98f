"""LeNet-5 on 28x28x1 images: conv 5x5x6 (SAME) - max pool - conv 5x5x16 (VALID) - max pool -
fc 120 - fc 84 - fc 10 - softmax, ReLU activations, seeded weights."""

import tfc as tf


def conv(x, size, channels, name, padding, seed):
    with tf.variable_scope(name):
        w = tf.get_variable("weights", [size, size, x.shape[3].value, channels],
                            initializer=tf.glorot_uniform_initializer(seed=seed))
        b = tf.get_variable("biases", [channels],
                            initializer=tf.random_normal_initializer(stddev=0.01, seed=seed + 1))
        y = tf.nn.conv2d(x, w, strides=[1, 1, 1, 1], padding=padding)
        return tf.nn.relu(tf.nn.bias_add(y, b))


def pool(x, name):
    return tf.nn.max_pool(x, ksize=[1, 2, 2, 1], strides=[1, 2, 2, 1], padding="VALID", name=name)


def dense(x, units, name, seed, activation=None):
    with tf.variable_scope(name):
        w = tf.get_variable("weights", [x.shape[1].value, units],
                            initializer=tf.glorot_uniform_initializer(seed=seed))
        b = tf.get_variable("biases", [units],
                            initializer=tf.random_normal_initializer(stddev=0.01, seed=seed + 1))
        y = tf.nn.bias_add(tf.matmul(x, w), b)
        return activation(y) if activation else y


images = tf.placeholder(tf.float32, [None, 28, 28, 1], name="images")
c1 = pool(conv(images, 5, 6, "conv1", "SAME", seed=11), "pool1")      # 14x14x6
c2 = pool(conv(c1, 5, 16, "conv2", "VALID", seed=13), "pool2")        # 5x5x16
flat = tf.reshape(c2, [-1, 5 * 5 * 16])
f1 = dense(flat, 120, "fc1", seed=15, activation=tf.nn.relu)
f2 = dense(f1, 84, "fc2", seed=17, activation=tf.nn.relu)
logits = dense(f2, 10, "fc3", seed=19)
probs = tf.nn.softmax(logits, name="probs")

inputs = {"images": images}
outputs = {"probs": probs}
