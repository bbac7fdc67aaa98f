"""VGG19 (the lecture's driving example): 16 conv 3x3 + 5 max pools + 3 fully connected
layers on 224x224x3 images, softmax over 1000 classes, ReLU activations, seeded weights
(143.7 M parameters, 548 MB in float32)."""

import tfc as tf

BLOCKS = [(2, 64), (2, 128), (4, 256), (4, 512), (4, 512)]   # (convs, channels) per block


def conv3x3(x, channels, name, seed):
    with tf.variable_scope(name):
        w = tf.get_variable("weights", [3, 3, x.shape[3].value, channels],
                            initializer=tf.glorot_uniform_initializer(seed=seed))
        b = tf.get_variable("biases", [channels], initializer=tf.zeros_initializer())
        y = tf.nn.conv2d(x, w, strides=[1, 1, 1, 1], padding="SAME")
        return tf.nn.relu(tf.nn.bias_add(y, b))


def dense(x, units, name, seed, activation=None):
    with tf.variable_scope(name):
        w = tf.get_variable("weights", [x.shape[1].value, units],
                            initializer=tf.glorot_uniform_initializer(seed=seed))
        b = tf.get_variable("biases", [units], initializer=tf.zeros_initializer())
        y = tf.nn.bias_add(tf.matmul(x, w), b)
        return activation(y) if activation else y


images = tf.placeholder(tf.float32, [None, 224, 224, 3], name="images")
x = images
seed = 100
for block, (convs, channels) in enumerate(BLOCKS, start=1):
    for i in range(1, convs + 1):
        x = conv3x3(x, channels, f"conv{block}_{i}", seed)
        seed += 1
    x = tf.nn.max_pool(x, ksize=[1, 2, 2, 1], strides=[1, 2, 2, 1], padding="VALID", name=f"pool{block}")
x = tf.reshape(x, [-1, 7 * 7 * 512])
x = dense(x, 4096, "fc6", seed, tf.nn.relu)
x = dense(x, 4096, "fc7", seed + 1, tf.nn.relu)
logits = dense(x, 1000, "fc8", seed + 2)
probs = tf.nn.softmax(logits, name="probs")

inputs = {"images": images}
outputs = {"probs": probs}
