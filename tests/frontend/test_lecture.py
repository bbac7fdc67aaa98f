"""The lecture's TF1 examples (shared/seeds: graphs, tensors, sessions, variables, placeholders),
run as written with `import tfc as tf`; what they print is what TensorFlow 2.21
(`tf.compat.v1`, graph mode) printed for the same programs, except where a comment says tfc
differs: shapes print `(None, 3)` as TF 2.x spells them (TF1: `(?, 3)`), variables have no ref
dtype (TF1: `float32_ref`), and '/mlu:0' is a device (TF itself has no MLU).
"""

import textwrap

import numpy as np
import pytest

import tfc as tf


@pytest.fixture(autouse=True)
def _fresh_graph():
    tf.reset_default_graph()


def printed(capsys, text):
    assert capsys.readouterr().out == textwrap.dedent(text).lstrip("\n")


def test_y_equals_w_times_x(capsys):
    x = tf.constant([[0.7, 0.9]])
    w1 = tf.Variable(tf.random_normal([2, 3], stddev=1, seed=1))
    w2 = tf.Variable(tf.random_normal([3, 1], stddev=1, seed=1))
    a = tf.matmul(x, w1)
    y = tf.matmul(a, w2)
    sess = tf.Session()
    sess.run(w1.initializer)
    sess.run(w2.initializer)
    print(sess.run(y))
    sess.close()
    printed(capsys, """
        [[3.957578]]
    """)
    assert [op.type for op in y.graph.get_operations() if op.name.startswith("MatMul")] == ["MatMul"] * 2


def test_matmul_graph_nodes_and_edges():
    w = tf.constant([[1.0, 2.0]], name="w")
    x = tf.constant([[3.0], [4.0]], name="x")
    y = tf.matmul(w, x, name="y")
    assert [(op.name, op.type) for op in tf.get_default_graph().get_operations()] == [
        ("w", "Const"), ("x", "Const"), ("y", "MatMul")]
    assert y.op.inputs == (w, x) and y.shape.as_list() == [1, 1]
    with tf.Session() as sess:
        assert sess.run(y).tolist() == [[11.0]]


def test_constant_and_tensor_attributes(capsys):
    a = tf.constant([2, 3], dtype=tf.float32)
    print(a)
    print(a.name)
    print(a.dtype)
    print(a.shape)
    print(a.device)
    print(a.graph is tf.get_default_graph())
    print(a.op.name, a.op.type, a.op.inputs, a.op.outputs)
    b = tf.constant([1.0, 2.0], name="b")
    result = tf.add(a, b, name="add")
    print(result)
    print(result.op.inputs[0] is a, [t.name for t in result.op.inputs])
    with tf.Session() as sess:
        print(sess.run(result))
        print(result.eval())
    printed(capsys, """
        Tensor("Const:0", shape=(2,), dtype=float32)
        Const:0
        <dtype: 'float32'>
        (2,)

        True
        Const Const () [<tf.Tensor 'Const:0' shape=(2,) dtype=float32>]
        Tensor("add:0", shape=(2,), dtype=float32)
        True ['Const:0', 'b:0']
        [3. 5.]
        [3. 5.]
    """)


def test_shapes_of_each_rank(capsys):
    print(tf.constant(1).shape, tf.constant([1, 2, 3]).shape, tf.constant([[1, 2, 3]] * 3).shape,
          tf.constant([[[1, 2, 3]] * 3] * 2).shape)
    printed(capsys, "() (3,) (3, 3) (2, 3, 3)\n")


def test_dtypes_of_the_table():
    for name in ("int8", "int16", "int32", "int64", "float16", "float32", "float64", "bfloat16",
                 "uint8", "uint16", "uint32", "uint64", "bool", "string", "complex64", "complex128",
                 "qint8", "qint16", "qint32", "quint8", "quint16"):
        assert getattr(tf, name).name == name
    assert tf.placeholder(tf.bfloat16).dtype == tf.bfloat16


def test_devices(capsys):
    with tf.device("/cpu:0"):
        a = tf.constant([1.0, 2.0, 3.0], shape=[3], name="a")
        b = tf.constant([1.0, 2.0, 3.0], shape=[3], name="b")
    with tf.device("/mlu:0"):
        c = a + b
    print(a.device, b.device, c.device)
    sess = tf.Session(config=tf.ConfigProto(log_device_placement=False))
    print(sess.run(c))
    printed(capsys, """
        /device:CPU:0 /device:CPU:0 /device:MLU:0
        [2. 4. 6.]
    """)


def test_sessions_run_eval_close_and_with(capsys):
    a = tf.constant([1.0, 2.0], name="a")
    b = tf.constant([2.0, 3.0], name="b")
    result = a + b
    sess = tf.Session(target="", graph=None, config=None)
    print(sess.run(result))
    sess.close()
    with tf.Session() as sess:
        print(sess.run([a, b, result]))
        print(result.eval())
        print(result.eval(session=sess))
    sess = tf.InteractiveSession()
    print(result.eval())
    sess.close()
    printed(capsys, """
        [3. 5.]
        [array([1., 2.], dtype=float32), array([2., 3.], dtype=float32), array([3., 5.], dtype=float32)]
        [3. 5.]
        [3. 5.]
        [3. 5.]
    """)


def test_variables_and_initializers(capsys):
    tf.set_random_seed(1)
    weights = tf.Variable(tf.random_normal([3, 2], stddev=0.35), name="weights")
    biases = tf.Variable(tf.zeros([2]), name="biases")
    w2 = tf.Variable(weights.initialized_value(), name="w2")
    w_twice = tf.Variable(weights.initialized_value() * 2.0, name="w_twice")
    print(weights)
    print(weights.dtype, weights.shape, weights.name, weights.op.name, weights.trainable)   # TF: float32_ref
    print(weights.initializer.name)
    init_op = tf.global_variables_initializer()
    with tf.Session() as sess:
        sess.run(init_op)
        print(sess.run(weights))
        print(sess.run(biases))
        print(sess.run(w2))
        print(sess.run(w_twice))
    v = tf.Variable(tf.fill([2], 9.0))
    u = tf.Variable(tf.ones([2, 2], tf.int32))
    t = tf.Variable(tf.constant(3.0))
    with tf.Session() as sess:
        sess.run(tf.variables_initializer([v, u, t]))
        print(sess.run([v, u, t]))
    printed(capsys, """
        <tf.Variable 'weights:0' shape=(3, 2) dtype=float32_ref>
        <dtype: 'float32'> (3, 2) weights:0 weights True
        weights/Assign
        [[ 0.10682164  0.19849822]
         [ 0.14648294  0.08142474]
         [-0.23107745 -0.7896163 ]]
        [0. 0.]
        [[ 0.10682164  0.19849822]
         [ 0.14648294  0.08142474]
         [-0.23107745 -0.7896163 ]]
        [[ 0.21364328  0.39699644]
         [ 0.2929659   0.16284947]
         [-0.4621549  -1.5792326 ]]
        [array([9., 9.], dtype=float32), array([[1, 1],
               [1, 1]], dtype=int32), np.float32(3.0)]
    """)


def test_random_helpers_of_the_table():
    tf.set_random_seed(5)
    tensors = [tf.zeros([2]), tf.ones([2]), tf.fill([2], 7.0), tf.constant(1.0, shape=[2]),
               tf.random_normal([2]), tf.truncated_normal([2]), tf.random_uniform([2]),
               tf.random_gamma([2], 2.0), tf.random_shuffle([1, 2, 3]),
               tf.multinomial(tf.log([[0.5, 0.5]]), 3)]
    with tf.Session() as sess:
        values = sess.run(tensors)
    assert [v.shape for v in values] == [(2,)] * 8 + [(3,), (1, 3)]
    assert values[2].tolist() == [7.0, 7.0] and sorted(values[8].tolist()) == [1, 2, 3]


def test_assign_updates(capsys):
    state = tf.Variable(0, name="counter")
    one = tf.constant(1)
    new_value = tf.add(state, one)
    update = tf.assign(state, new_value)
    init_op = tf.global_variables_initializer()
    with tf.Session() as sess:
        sess.run(init_op)
        print(sess.run(state))
        for _ in range(3):
            sess.run(update)
            print(sess.run(state))
    x = tf.Variable(10.0)
    add = tf.assign_add(x, 5.0)
    sub = tf.assign_sub(x, 2.0)
    with tf.Session() as sess:
        sess.run(tf.global_variables_initializer())
        print(sess.run(add), sess.run(sub), sess.run(x))
    printed(capsys, """
        0
        1
        2
        3
        15.0 13.0 13.0
    """)


def test_placeholders_and_feed_dict(capsys):
    input1 = tf.placeholder(tf.float32)
    input2 = tf.placeholder(tf.float32)
    output = tf.multiply(input1, input2)
    with tf.Session() as sess:
        print(sess.run([output], feed_dict={input1: [7.], input2: [2.]}))
    x = tf.placeholder(tf.float32, shape=(1024, 1024), name="x")
    y = tf.matmul(x, x)
    print(x, y)
    with tf.Session() as sess:
        rand_array = np.ones((1024, 1024), np.float32) / 1024
        print(sess.run(y, feed_dict={x: rand_array})[0, :3])
    p = tf.placeholder(tf.float32, shape=[None, 3], name="p")
    print(p)                                                     # TF1: shape=(?, 3)
    printed(capsys, """
        [array([14.], dtype=float32)]
        Tensor("x:0", shape=(1024, 1024), dtype=float32) Tensor("MatMul:0", shape=(1024, 1024), dtype=float32)
        [0.00097656 0.00097656 0.00097656]
        Tensor("p:0", shape=(None, 3), dtype=float32)
    """)
