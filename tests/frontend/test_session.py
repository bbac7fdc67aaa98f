"""tf.Session and tf.InteractiveSession: fetch structures, feeds, the default session, eval and
run, make_callable, and the errors of bad fetches, feeds and runs.

Expected values, classes and messages were obtained once from TensorFlow 2.21 (`tf.compat.v1`
after `disable_v2_behavior()`) running the same programs. TF raises plain ValueError/TypeError/
RuntimeError for bad fetches, feeds and closed sessions; tfc's errors are those classes AND the
matching tf.errors class (so `except tf.errors.OpError` catches every failed run). Shapes print
as `(None, 3)` where TF1 prints `(?, 3)`.
"""

import collections
import re

import numpy as np
import pytest

import tfc as tf


@pytest.fixture(autouse=True)
def _fresh_graph():
    tf.reset_default_graph()


@pytest.fixture
def g():
    """A small graph: constants, placeholders, an intermediate tensor."""
    ns = collections.namedtuple("G", "a b st sts p q s i")
    a = tf.constant([1.0, 2.0], name="a")
    s = tf.add(a, 1.0, name="s")
    return ns(a, tf.constant(3, name="b"), tf.constant("hi", name="st"),
              tf.constant(["x", "yz"], name="sts"), tf.placeholder(tf.float32, [None, 3], name="p"),
              tf.placeholder(tf.int32, name="q"), s, tf.identity(s, name="i"))


def check(got, want, dtype):
    assert isinstance(got, np.ndarray) and got.dtype == dtype
    np.testing.assert_array_equal(got, want)


# Fetches -----------------------------------------------------------------------------------------
def test_fetch_values_are_arrays_scalars_and_bytes(g):
    with tf.Session() as sess:
        check(sess.run(g.a), [1, 2], np.float32)
        b = sess.run(g.b)
        assert type(b) is np.int32 and b == 3                 # numpy scalar for a 0-d tensor
        assert sess.run(g.st) == b"hi"
        check(sess.run(g.sts), [b"x", b"yz"], object)
        assert sess.run(g.s.op) is None                       # an op gives None


def test_fetch_structures(g):
    NT = collections.namedtuple("NT", ["x", "y"])
    with tf.Session() as sess:
        lst = sess.run([g.a, g.b])
        assert isinstance(lst, list) and lst[1] == 3
        tup = sess.run((g.a, g.s.op))
        assert isinstance(tup, tuple) and tup[1] is None
        d = sess.run({"x": g.a, "y": [g.b, (g.b, g.s.op)]})
        assert d["y"] == [3, (3, None)]
        nt = sess.run(NT(g.a, g.b))
        assert type(nt) is NT and nt.y == 3
        od = sess.run(collections.OrderedDict([("k", g.a), ("j", g.b)]))
        assert type(od) is collections.OrderedDict and list(od) == ["k", "j"]
        assert sess.run([]) == [] and sess.run({}) == {}
        check(sess.run("a:0"), [1, 2], np.float32)
        assert sess.run("a") is None
        assert sess.run(["s:0", "s"])[1] is None
        x, y = sess.run([g.a, g.a])
        check(x, [1, 2], np.float32) and check(y, [1, 2], np.float32)


def test_bad_fetches(g):
    sess = tf.Session()
    with tf.Graph().as_default():
        z = tf.constant(1.0, name="z")
    cases = [
        (None, TypeError, 'Argument `fetch` = None has invalid type "NoneType". Cannot be None'),
        ([g.a, None], TypeError, 'Argument `fetch` = None has invalid type "NoneType". Cannot be None'),
        (3, TypeError, 'Argument `fetch` = 3 has invalid type "int" must be a string or Tensor. (Can not '
                       'convert a int into a Tensor or Operation.)'),
        ("zz:0", ValueError, "Argument `fetch` = zz:0 cannot be interpreted as a Tensor. (\"The name "
                             "'zz:0' refers to a Tensor which does not exist. The operation, 'zz', does "
                             "not exist in the graph.\")"),
        ("zz", ValueError, "Argument `fetch` = zz cannot be interpreted as a Tensor. (\"The name 'zz' "
                           "refers to an Operation not in the graph.\")"),
        (z, ValueError, 'Argument `fetch` = Tensor("z:0", shape=(), dtype=float32) cannot be '
                        'interpreted as a Tensor. (Tensor Tensor("z:0", shape=(), dtype=float32) is '
                        'not an element of this graph.)'),
    ]
    for fetch, cls, message in cases:
        with pytest.raises(cls) as info:
            sess.run(fetch)
        assert str(info.value) == message
    with pytest.raises(tf.errors.InvalidArgumentError):      # also a tf.errors class in tfc
        sess.run(z)


# Feeds -------------------------------------------------------------------------------------------
def test_feeding_placeholders(g):
    with tf.Session() as sess:
        check(sess.run(g.p, {g.p: np.ones((2, 3))}), np.ones((2, 3)), np.float32)
        check(sess.run(g.p, {g.p: [[1, 2, 3]]}), [[1, 2, 3]], np.float32)
        check(sess.run(g.p, {"p:0": [[1, 2, 3]]}), [[1, 2, 3]], np.float32)
        check(sess.run(g.p, {g.p: np.array([[1, 2, 3]], np.float64)}), [[1, 2, 3]], np.float32)
        # A fetched feed comes back as the fed array, 0-d included (TF's numpy conversion).
        check(sess.run(g.q, {g.q: 5}), 5, np.int32)
        check(sess.run(g.q, {g.q: 1.5}), 1, np.int32)           # numpy's conversion, as TF
        check(sess.run(g.q, {g.q: True}), 1, np.int32)
        check(sess.run(g.q, {g.q: [[1, 2]]}), [[1, 2]], np.int32)    # unknown shape: anything
        check(sess.run(tf.add(g.p, 1.0), {g.p: [[1, 2, 3]]}), [[2, 3, 4]], np.float32)


def test_feeding_any_tensor(g):
    v = tf.Variable([0.5, 0.5], name="v")
    with tf.Session() as sess:
        check(sess.run(g.i, {g.s: [10.0, 20.0]}), [10, 20], np.float32)    # an intermediate
        check(sess.run(g.s, {g.a: [5.0, 6.0]}), [6, 7], np.float32)        # a constant
        check(sess.run(g.s, {g.s: [1.0, 2.0]}), [1, 2], np.float32)        # fetch what is fed
        # A fed variable needs no initializing: every read of it in the run sees the feed.
        check(sess.run(tf.add(v, 1.0), {v: [0.0, 1.0]}), [1, 2], np.float32)
        check(sess.run(v.read_value(), {v: [3.0, 4.0]}), [3, 4], np.float32)
        check(sess.run(v.value() * 2.0, {v.value(): [1.0, 2.0]}), [2, 4], np.float32)
        sess.run(v.initializer)
        aa = tf.assign_add(v, [1.0, 1.0], name="aa")
        with pytest.raises(tf.errors.InvalidArgumentError) as info:
            sess.run(aa, {v: [3.0, 4.0]})
        assert "Input 0 of node aa was passed float from v:0 incompatible with expected float_ref." \
            in info.value.message
        check(sess.run(v), [0.5, 0.5], np.float32)


def test_bad_feeds(g):
    sess = tf.Session()
    with tf.Graph().as_default():
        z = tf.constant(1.0, name="z")
    cases = [
        ({g.p: [[1, 2]]}, ValueError,
         "Cannot feed value of shape (1, 2) for Tensor p:0, which has shape (None, 3)"),
        ({g.p: [1, 2, 3]}, ValueError,
         "Cannot feed value of shape (3,) for Tensor p:0, which has shape (None, 3)"),
        ({g.s: [10.0]}, ValueError, "Cannot feed value of shape (1,) for Tensor s:0, which has shape (2,)"),
        ({g.p: [["a", "b", "c"]]}, ValueError, "could not convert string to float: np.str_('a')"),
        ({g.q: 2**40}, TypeError,
         "Type of feed value 1099511627776 with type <class 'int'> is not compatible with Tensor type "
         "<class 'numpy.int32'>. Try explicitly setting the type of the feed tensor to a larger type "
         "(e.g. int64)."),
        ({g.q: g.b}, TypeError,
         "The value of a feed cannot be a tf.Tensor object. Acceptable feed values include Python "
         "scalars, strings, lists, numpy ndarrays, or TensorHandles. For reference, the tensor object "
         'was Tensor("b:0", shape=(), dtype=int32) which was passed to the argument `feed_dict` with '
         'key Tensor("q:0", dtype=int32).'),
        ({3: 4}, TypeError, "Cannot interpret feed_dict key as Tensor: Can not convert a int into a Tensor."),
        ({"zz:0": 4}, TypeError,
         "Cannot interpret feed_dict key as Tensor: The name 'zz:0' refers to a Tensor which does not "
         "exist. The operation, 'zz', does not exist in the graph."),
        ({"a": 4}, TypeError,
         "Cannot interpret feed_dict key as Tensor: The name 'a' refers to an Operation, not a Tensor. "
         "Tensor names must be of the form \"<op_name>:<output_index>\"."),
        ({z: 1.0}, TypeError,
         'Cannot interpret feed_dict key as Tensor: Tensor Tensor("z:0", shape=(), dtype=float32) is '
         "not an element of this graph."),
    ]
    for feed, cls, message in cases:
        with pytest.raises(cls) as info:
            sess.run(g.i, feed)
        assert str(info.value) == message
    with pytest.raises(tf.errors.InvalidArgumentError):      # also a tf.errors class in tfc
        sess.run(g.p, {g.p: [[1, 2]]})


# Run-time errors ---------------------------------------------------------------------------------
def _run_error(fetch, feed=None):
    with pytest.raises(tf.errors.OpError) as info:
        tf.Session().run(fetch, feed)
    return info.value


def _line_of(text):
    with open(__file__) as f:
        return next(i for i, line in enumerate(f, 1) if text in line)


def test_unfed_placeholder():
    x = tf.placeholder(tf.float32, [None, 3], name="x")    # LINE-X
    y = tf.add(x, 1.0)
    q = tf.placeholder(tf.int64, name="q")
    for fetch in (x, y):
        e = _run_error(fetch)
        assert type(e) is tf.errors.InvalidArgumentError and e.op is x.op
        assert e.message == (
            "Graph execution error:\n\nDetected at node 'x' defined at (most recent call last):\n"
            f'    File "{__file__}", line {_line_of("# LINE-X")}, in test_unfed_placeholder\n'
            "Node: 'x'\nYou must feed a value for placeholder tensor 'x' with dtype float and shape "
            "[?,3]\n\t [[{{node x}}]]")
    assert "You must feed a value for placeholder tensor 'q' with dtype int64\n" in _run_error(q).message


def test_uninitialized_variable():
    v = tf.Variable([1.0, 2.0], name="v")    # LINE-V
    for fetch in (v.value(), tf.add(v, 1.0)):
        e = _run_error(fetch)
        assert type(e) is tf.errors.FailedPreconditionError and e.op.name == "v/read"
        assert e.message == (
            "Graph execution error:\n\nDetected at node 'v/read' defined at (most recent call last):\n"
            f'    File "{__file__}", line {_line_of("# LINE-V")}, in test_uninitialized_variable\n'
            "Node: 'v/read'\nAttempting to use uninitialized value v\n\t [[{{node v/read}}]]")
    assert "Attempting to use uninitialized value v\n" in _run_error(v).message
    assert "Attempting to use uninitialized value v\n" in _run_error(tf.assign_add(v, [1.0, 1.0])).message


def test_integer_division_by_zero_names_the_op():
    y = tf.placeholder(tf.int32, name="y")
    dz = tf.floordiv(tf.constant(1), y, name="dz")    # LINE-DZ
    e = _run_error(dz, {y: 0})
    assert type(e) is tf.errors.InvalidArgumentError and e.op is dz.op and e.node_def.name == "dz"
    assert e.message == (
        "Graph execution error:\n\nDetected at node 'dz' defined at (most recent call last):\n"
        f'    File "{__file__}", line {_line_of("# LINE-DZ")}, in test_integer_division_by_zero_names_the_op\n'
        "Node: 'dz'\nInteger division by zero\n\t [[{{node dz}}]]")


# Sessions ----------------------------------------------------------------------------------------
def test_close_and_with_blocks(g):
    sess = tf.Session()
    assert sess.graph is tf.get_default_graph() and sess.sess_str == b""
    sess.close()
    sess.close()                                              # closing twice is fine
    with pytest.raises(RuntimeError, match="^Attempted to use a closed Session.$"):
        sess.run(g.a)
    with pytest.raises(tf.errors.FailedPreconditionError):    # also a tf.errors class in tfc
        sess.run(g.a)
    with tf.Session() as s2:
        assert tf.get_default_session() is s2 and tf.get_default_graph() is s2.graph
        check(g.a.eval(), [1, 2], np.float32)
    assert tf.get_default_session() is None
    with pytest.raises(RuntimeError, match="^Attempted to use a closed Session.$"):
        s2.run(g.a)


def test_session_arguments():
    other = tf.Graph()
    with other.as_default():
        z = tf.constant(1.0, name="z")
    assert tf.Session(graph=other).run(z) == 1.0
    with tf.Session(graph=other) as sess:
        assert tf.get_default_graph() is other and sess.run("z:0") == 1.0
    c = tf.constant(2.0)
    config = tf.ConfigProto(allow_soft_placement=True, log_device_placement=False)
    assert tf.Session("", None, config).run(c) == 2.0
    options = tf.RunOptions(trace_level=tf.RunOptions.FULL_TRACE)
    assert tf.Session().run(c, options=options, run_metadata=tf.RunMetadata()) == 2.0
    with pytest.raises(TypeError, match='^Argument `graph` must be a tf.Graph, but got "int"$'):
        tf.Session(graph=3)


def test_eval_run_and_the_default_session(g):
    sess = tf.Session()
    with pytest.raises(ValueError, match=re.escape(
            "Cannot evaluate tensor using `eval()`: No default session is registered. Use `with "
            "sess.as_default()` or pass an explicit session to `eval(session=sess)`")):
        g.a.eval()
    with pytest.raises(ValueError, match=re.escape(
            "Cannot execute operation using `run()`: No default session is registered.")):
        g.s.op.run()
    check(g.a.eval(session=sess), [1, 2], np.float32)
    assert g.s.op.run(session=sess) is None
    with tf.Graph().as_default():
        z = tf.constant(1.0)
    with sess.as_default():
        assert tf.get_default_session() is sess
        check(g.p.eval({g.p: [[1, 2, 3]]}), [[1, 2, 3]], np.float32)
        assert g.s.op.run() is None
        with pytest.raises(ValueError, match=re.escape(
                "Cannot use the default session to evaluate tensor: the tensor's graph is different "
                "from the session's graph. Pass an explicit session to `eval(session=sess)`.")):
            z.eval()
    with pytest.raises(ValueError, match=re.escape(
            "Cannot use the given session to evaluate tensor: the tensor's graph is different from "
            "the session's graph.")):
        z.eval(session=sess)


def test_interactive_session(g):
    sess = tf.InteractiveSession()
    assert tf.get_default_session() is sess
    check(g.a.eval(), [1, 2], np.float32)
    with tf.Session() as inner:                  # nesting restores the interactive session
        assert tf.get_default_session() is inner
    assert tf.get_default_session() is sess
    sess.close()
    assert tf.get_default_session() is None


def test_make_callable(g):
    sess = tf.Session()
    check(sess.make_callable(g.p, [g.p])([[1, 2, 3]]), [[1, 2, 3]], np.float32)
    p_value, a_value = sess.make_callable([g.p, g.a], feed_list=[g.p])([[1, 2, 3]])
    check(a_value, [1, 2], np.float32)
    assert sess.make_callable(g.s.op)() is None


def test_runs_compile_once_per_signature(g):
    sess = tf.Session()
    for batch in (1, 2, 1):
        sess.run(tf.get_default_graph().get_tensor_by_name("p:0"), {g.p: np.zeros((batch, 3))})
    compiled = tf.get_default_graph()._tfc_compiled
    assert len(compiled) == 2
