"""tf.Graph, tf.Operation, tf.Tensor and tf.TensorShape: default graphs, names, name scopes,
control dependencies, devices, lookup, collections, and how they print.

Expected names, attributes and messages were obtained once from TensorFlow 2.21
(`tf.compat.v1` after `disable_v2_behavior()`) running the same programs. Where tfc differs on
purpose the test says so: shapes print as `(None, 784)` (TF 2.x's spelling, not TF1's `(?, 784)`),
'/mlu:0' is a device (TF has none), and unknown device types are errors.
"""

import re

import numpy as np
import pytest

import tfc as tf


@pytest.fixture(autouse=True)
def _fresh_graph():
    tf.reset_default_graph()


def names():
    return [op.name for op in tf.get_default_graph().get_operations()]


def ctl(t):
    return [op.name for op in (t.op if isinstance(t, tf.Tensor) else t).control_inputs]


# Default graphs ----------------------------------------------------------------------------------
def test_as_default_nests_and_restores():
    root = tf.get_default_graph()
    g1, g2 = tf.Graph(), tf.Graph()
    with g1.as_default() as entered:
        assert entered is g1 and tf.get_default_graph() is g1
        with g2.as_default():
            assert tf.get_default_graph() is g2
            assert tf.constant(1.0).graph is g2
        assert tf.get_default_graph() is g1
    assert tf.get_default_graph() is root


def test_reset_default_graph_replaces_the_root_graph_but_not_inside_as_default():
    old = tf.get_default_graph()
    tf.constant(1.0)
    tf.reset_default_graph()
    assert tf.get_default_graph() is not old and tf.get_default_graph().get_operations() == []
    with tf.Graph().as_default():
        with pytest.raises(AssertionError, match=re.escape(
                "Do not use tf.reset_default_graph() to clear nested graphs. If you need a cleared "
                "graph, exit the nesting and create a new graph.")):
            tf.reset_default_graph()


# Names -------------------------------------------------------------------------------------------
def test_unique_names_as_tf_makes_them():
    assert [tf.constant(1.0).op.name, tf.constant(1.0).op.name] == ["Const", "Const_1"]
    assert tf.constant(1.0, name="Const").op.name == "Const_2"
    assert [tf.constant(1.0, name="foo").op.name for _ in range(2)] == ["foo", "foo_1"]
    assert tf.constant(1.0, name="FOO").op.name == "FOO_2"          # names clash case-insensitively
    assert tf.constant(1.0, name="Foo_1").op.name == "Foo_1_1"      # foo_1 is taken
    assert tf.constant(1.0, name="foo").op.name == "foo_3"
    assert tf.constant(1.0, name="bar_1").op.name == "bar_1"
    assert [tf.constant(1.0, name="bar").op.name for _ in range(2)] == ["bar", "bar_2"]
    graph = tf.get_default_graph()
    assert graph.unique_name("zzz", mark_as_used=False) == "zzz"
    assert graph.unique_name("zzz") == "zzz" and graph.unique_name("zzz") == "zzz_1"


def test_a_name_ending_in_slash_is_used_exactly():
    assert tf.constant(1.0, name="exact/").op.name == "exact"
    with pytest.raises(ValueError, match="^Duplicate node name in graph: 'exact'$"):
        tf.constant(1.0, name="exact/")


@pytest.mark.parametrize("bad", ["-bad", "a b", "_x"])
def test_invalid_node_names(bad):
    with pytest.raises(ValueError, match=re.escape(
            f"`{bad}` is not a valid node name. Accepted names conform to Regex "
            "/re.compile('^[A-Za-z0-9.][A-Za-z0-9_.\\\\\\\\/>-]*$')/")):
        tf.constant(1.0, name=bad)
    with tf.name_scope("scope"):   # inside a scope the full name starts with the scope
        assert tf.constant(1.0, name="_x").op.name == "scope/_x"


def test_name_scopes():
    with tf.name_scope("scope") as s:
        assert s == "scope/" and tf.constant(1.0).op.name == "scope/Const"
        with tf.name_scope("inner") as inner:
            assert inner == "scope/inner/" and tf.constant(1.0).op.name == "scope/inner/Const"
            assert tf.get_default_graph().get_name_scope() == "scope/inner"
            with tf.name_scope(None) as root:
                assert root == "" and tf.constant(1.0).op.name == "Const"
            with tf.name_scope("scope/") as again:
                assert again == "scope/" and tf.constant(1.0).op.name == "scope/Const_1"
            with tf.name_scope("") as empty:
                assert empty == ""
    with tf.name_scope("scope") as s:
        assert s == "scope_1/"
    with tf.name_scope("Scope") as s:
        assert s == "Scope_2/"
    with tf.name_scope("scope_1") as s:
        assert s == "scope_1_1/"
    with tf.name_scope(None, "dflt") as s:
        assert s == "dflt/"
    assert tf.get_default_graph().get_name_scope() == ""


def test_invalid_scope_names():
    with pytest.raises(ValueError, match=re.escape(
            "'bad name' is not a valid root scope name. A root scope name has to match the "
            "following pattern: ^[A-Za-z0-9.][A-Za-z0-9_.\\\\/>-]*$")):
        with tf.name_scope("bad name"):
            pass
    with tf.name_scope("outer"):
        with tf.name_scope("_ok") as s:       # nested scopes may start with '_'
            assert s == "outer/_ok/"
        with pytest.raises(ValueError, match=re.escape(
                "'bad name' is not a valid scope name. A scope name has to match the following "
                "pattern: ^[A-Za-z0-9_.\\\\/>-]*$")):
            with tf.name_scope("bad name"):
                pass


# Control dependencies ----------------------------------------------------------------------------
def test_control_dependencies_nest_accumulate_and_clear():
    a, b, x = tf.constant(1.0, name="a"), tf.constant(2.0, name="b"), tf.constant(3.0, name="x")
    with tf.control_dependencies([a]):
        c = tf.identity(x, name="c")
        d = tf.identity(c, name="d")       # its input waits for `a` already
        e = tf.identity(a, name="e")       # a data input is not also a control input
        m = tf.constant(5.0, name="m")
        with tf.control_dependencies([b]):
            f = tf.identity(x, name="f")
            g = tf.identity(c, name="g")   # dominated for the outer block only
            with tf.control_dependencies(None):
                h = tf.identity(x, name="h")
                with tf.control_dependencies([b]):
                    h2 = tf.identity(x, name="h2")
            with tf.control_dependencies([a, b]):   # already in force: not repeated
                i = tf.identity(x, name="i")
        with tf.control_dependencies([b, b.op]):
            j = tf.identity(x, name="j")
    with tf.control_dependencies([b, a]):
        k = tf.identity(x, name="k")
    assert [ctl(t) for t in (c, d, e, m, f, g, h, h2, i, j, k)] == [
        ["a"], [], [], ["a"], ["a", "b"], ["b"], [], ["b"], ["a", "b"], ["a", "b"], ["b", "a"]]


def test_control_dependencies_accept_names_variables_and_ops_and_reject_others():
    a, x = tf.constant(1.0, name="a"), tf.constant(3.0, name="x")
    v = tf.Variable(1.0, name="v")
    with tf.control_dependencies(["a", v, v.initializer]):
        assert ctl(tf.identity(x)) == ["a", "v", "v/Assign"]
    with pytest.raises(TypeError, match="^Can not convert a float into a Tensor or Operation.$"):
        with tf.control_dependencies([1.0]):
            pass
    with tf.Graph().as_default():
        other = tf.constant(1.0)
    with pytest.raises(ValueError, match=re.escape(
            'Tensor Tensor("Const:0", shape=(), dtype=float32) is not an element of this graph.')):
        with tf.control_dependencies([other]):
            pass


def test_group_and_no_op():
    a, b = tf.constant(1.0, name="a"), tf.constant(2.0, name="b")
    g = tf.group(a, b, name="gr")
    assert (g.type, ctl(g)) == ("NoOp", ["a", "b"])
    assert tf.group(a, b).name == "group_deps" and tf.no_op().name == "NoOp"


# Devices -----------------------------------------------------------------------------------------
def test_devices_nest_merge_and_reset():
    def dev(spec):
        with tf.device(spec):
            return tf.constant(1.0).device

    with tf.device("/cpu:0"):
        p = tf.constant(1.0)
        assert p.device == p.op.device == "/device:CPU:0"
        with tf.device("/mlu:0"):
            assert tf.constant(1.0).device == "/device:MLU:0"
            assert dev(None) == "" and dev("") == "/device:MLU:0"
        assert [dev(s) for s in ("/gpu:0", "/device:GPU:1", "/job:worker", "/CPU:0", "/cpu:*",
                                 "cpu:0", "/cpu", "/device:cpu:1", "/mlu:1")] == [
            "/device:GPU:0", "/device:GPU:1", "/job:worker/device:CPU:0", "/device:CPU:0",
            "/device:CPU:0", "/device:CPU:0", "/device:CPU:0", "/device:CPU:1", "/device:MLU:1"]
        assert dev("/job:localhost/replica:0/task:0/device:CPU:0") == \
            "/job:localhost/replica:0/task:0/device:CPU:0"
    with tf.device("/job:worker/task:1"):
        assert dev("/gpu:0") == "/job:worker/task:1/device:GPU:0"
    with tf.device("/gpu:0"):
        assert dev("/job:ps") == "/job:ps/device:GPU:0"
    assert dev("/cpu") == "/device:CPU:*"
    assert dev(lambda op: "/cpu:0") == "/cpu:0"       # a device function decides per op


def test_variables_and_their_ops_take_the_device():
    with tf.device("/mlu:0"):
        v = tf.Variable(1.0, name="v")
        w = tf.Variable(lambda: tf.ones([2]), name="w")
    assert v.device == "/device:MLU:0"
    assert {op.name: op.device for op in tf.get_default_graph().get_operations()} == {
        "v/initial_value": "/device:MLU:0", "v": "/device:MLU:0", "v/Assign": "/device:MLU:0",
        "v/read": "/device:MLU:0",
        "w/Initializer/ones": "",       # as TF: a callable initial value is built on no device
        "w": "/device:MLU:0", "w/Assign": "/device:MLU:0", "w/read": "/device:MLU:0"}


def test_unknown_devices_are_errors():
    for spec, attribute in [("foo", "foo"), ("/xpu:0", "xpu"), ("/tpu:0", "tpu")]:
        # TF knows TPUs; tfc does not (it runs on the CPU and the MLU).
        with pytest.raises(ValueError, match=re.escape(
                f"Unknown attribute '{attribute}' is encountered while parsing the device spec: "
                f"'{spec}'.")):
            with tf.device(spec):
                pass
    with pytest.raises(ValueError, match="Unknown device type 'XPU' in the device spec"):
        with tf.device("/device:XPU:0"):
            pass
    with pytest.raises(ValueError, match="invalid literal for int"):
        with tf.device("/cpu:x"):
            pass


def test_gpu_ops_run_on_the_cpu():
    with tf.device("/gpu:0"):
        c = tf.add(tf.constant(1.0), 2.0)
        with tf.Session() as sess:
            assert sess.run(c) == 3.0


# Lookup and collections --------------------------------------------------------------------------
def test_get_operation_and_tensor_by_name():
    g = tf.get_default_graph()
    a = tf.constant([[1.0, 2.0]], name="a")
    assert g.get_operation_by_name("a") is a.op and g.get_tensor_by_name("a:0") is a
    assert g.as_graph_element("a:0") is a and g.as_graph_element("a") is a.op
    cases = [
        (lambda: g.get_operation_by_name("a:0"), ValueError,
         "Name 'a:0' appears to refer to a Tensor, not a Operation."),
        (lambda: g.get_operation_by_name("zz"), KeyError,
         "The name 'zz' refers to an Operation not in the graph."),
        (lambda: g.get_operation_by_name(3), TypeError,
         "Operation names are strings (or similar), not int."),
        (lambda: g.get_tensor_by_name("a"), ValueError,
         "The name 'a' refers to an Operation, not a Tensor. Tensor names must be of the form "
         "\"<op_name>:<output_index>\"."),
        (lambda: g.get_tensor_by_name("zz"), ValueError,
         "The name 'zz' looks like an (invalid) Operation name, not a Tensor. Tensor names must be "
         "of the form \"<op_name>:<output_index>\"."),
        (lambda: g.get_tensor_by_name("zz:0"), KeyError,
         "The name 'zz:0' refers to a Tensor which does not exist. The operation, 'zz', does not "
         "exist in the graph."),
        (lambda: g.get_tensor_by_name("a:1"), KeyError,
         "The name 'a:1' refers to a Tensor which does not exist. The operation, 'a', exists but "
         "only has 1 outputs."),
        (lambda: g.get_tensor_by_name("a:x"), ValueError,
         "The name 'a:x' looks a like a Tensor name, but is not a valid one. Tensor names must be "
         "of the form \"<op_name>:<output_index>\"."),
        (lambda: g.get_tensor_by_name(3), TypeError, "Tensor names are strings (or similar), not int."),
        (lambda: g.as_graph_element(3), TypeError, "Can not convert a int into a Tensor or Operation."),
    ]
    for call, cls, message in cases:
        with pytest.raises(cls) as info:
            call()
        assert info.value.args[0] == message


def test_get_operations_collections_and_finalize():
    g = tf.get_default_graph()
    a = tf.constant(1.0, name="a")
    tf.placeholder(tf.float32, name="p")
    assert [op.name for op in g.get_operations()] == ["a", "p"] and g.version == 2
    assert g.get_all_collection_keys() == []
    tf.add_to_collection("c", 1)
    tf.add_to_collection("c", a)
    assert tf.get_collection("c") == [1, a] and tf.get_collection("c", "a") == [a]
    assert tf.get_collection_ref("c") is g.get_collection_ref("c")
    assert tf.get_collection("c") is not g.get_collection("c")     # a copy
    tf.add_to_collections(["d", "e"], 5)
    g.clear_collection("d")
    assert sorted(g.get_all_collection_keys()) == ["c", "e"] and tf.get_collection("nope") == []
    assert (tf.GraphKeys.GLOBAL_VARIABLES, tf.GraphKeys.TRAINABLE_VARIABLES,
            tf.GraphKeys.LOCAL_VARIABLES) == ("variables", "trainable_variables", "local_variables")
    assert g.is_feedable(a) and g.is_fetchable(a) and not g.building_function
    assert not g.finalized
    g.finalize()
    assert g.finalized
    with pytest.raises(RuntimeError, match="^Graph is finalized and cannot be modified.$"):
        tf.constant(1.0)


# Operations --------------------------------------------------------------------------------------
def test_operation_attributes():
    a = tf.constant([1.0, 2.0], name="a")
    p = tf.placeholder(tf.float32, [None, 2], name="p")
    s = tf.add(p, a, name="s")
    op = s.op
    assert (op.name, op.type, op.device, op.control_inputs) == ("s", "AddV2", "", [])
    assert op.inputs == (p, a) and isinstance(op.inputs, tuple)
    assert op.outputs == [s] and op.values() == (s,) and op.graph is tf.get_default_graph()
    frame = op.traceback[-1]          # the frames of this file that created the op
    assert (frame.filename, frame.name) == (__file__, "test_operation_attributes")
    assert not any("/compiler/" in f.filename for f in op.traceback)    # no tfc frames
    assert a.op.get_attr("dtype") == tf.float32 and p.op.get_attr("dtype") == tf.float32
    assert tf.Variable(1, name="v").initializer.get_attr("T") == tf.int32
    with pytest.raises(ValueError, match="^Operation 's' has no attr named 'zz'.$"):
        op.get_attr("zz")
    assert repr(op) == "<tf.Operation 's' type=AddV2>"
    assert op.node_def.name == "s" and op.node_def.op == "AddV2" and op.node_def.input == ["p", "a"]
    assert op.colocation_groups() == [b"loc:@s"]


def test_operation_prints_as_its_node_def():
    a = tf.constant([2, 3], dtype=tf.float32)
    assert str(a.op) == ('name: "Const"\nop: "Const"\nattr {\n  key: "value"\n  value {\n    tensor {\n'
                         '      dtype: DT_FLOAT\n      tensor_shape {\n        dim {\n          size: 2\n'
                         '        }\n      }\n      tensor_content: "\\000\\000\\000@\\000\\000@@"\n'
                         '    }\n  }\n}\nattr {\n  key: "dtype"\n  value {\n    type: DT_FLOAT\n  }\n}\n')
    assert 'float_val: 1\n' in str(tf.constant(1.0).op)
    x = tf.placeholder(tf.float32, [None, 3], name="x")
    with tf.control_dependencies([a]):
        y = tf.identity(x, name="y")
    text = str(y.op)
    assert text.startswith('name: "y"\nop: "Identity"\ninput: "x"\ninput: "^Const"\n')
    assert "shape {\n      dim {\n        size: -1\n      }\n      dim {\n        size: 3\n" in str(x.op)


# Tensors -----------------------------------------------------------------------------------------
def test_tensor_attributes_and_printing():
    p = tf.placeholder(tf.float32, [None, 784], name="x")
    assert str(p) == 'Tensor("x:0", shape=(None, 784), dtype=float32)'
    assert repr(p) == "<tf.Tensor 'x:0' shape=(None, 784) dtype=float32>"
    assert (p.name, p.dtype, p.value_index, p.device, p.graph) == (
        "x:0", tf.float32, 0, "", tf.get_default_graph())
    assert p.op.name == "x" and p.get_shape() == p.shape
    assert str(p.shape) == "(None, 784)" and p.shape.as_list() == [None, 784]
    assert repr(p.shape[1]) == "Dimension(784)" and p.shape[1] == 784 and p.shape[1].value == 784
    assert p.shape[0].value is None and (p.shape[0] == 3) is None     # unknown: neither
    u = tf.placeholder(tf.int32, name="u")
    assert str(u) == 'Tensor("u:0", dtype=int32)' and str(u.shape) == "<unknown>"
    assert u.shape.ndims is None and u.shape.dims is None
    s = tf.constant(1.0)
    assert (str(s), str(s.shape)) == ('Tensor("Const:0", shape=(), dtype=float32)', "()")
    with tf.device("/mlu:0"):
        m = tf.placeholder(tf.float32, name="m")
    assert str(m) == 'Tensor("m:0", dtype=float32, device=/device:MLU:0)'
    assert str(p.dtype) == "<dtype: 'float32'>" and repr(p.dtype) == "tf.float32"


def test_set_shape_and_consumers():
    p = tf.placeholder(tf.float32, [None, None], name="p")
    p.set_shape([3, None])
    p.set_shape([None, 4])
    assert p.shape.as_list() == [3, 4]
    with pytest.raises(ValueError, match=re.escape(
            "Dimension 0 in both shapes must be equal, but are 3 and 5. Shapes are [3,4] and [5,4].")):
        p.set_shape([5, 4])
    with pytest.raises(ValueError, match="^Shapes must be equal rank, but are 2 and 1$"):
        p.set_shape([3])
    u = tf.placeholder(tf.float32)
    u.set_shape([2, 2])
    assert u.shape.as_list() == [2, 2]
    y, z = tf.identity(p, name="y"), tf.identity(p, name="z")
    assert p.consumers() == [y.op, z.op]


def test_python_operations_a_graph_tensor_does_not_allow():
    p = tf.placeholder(tf.float32, [2], name="x")
    with pytest.raises(TypeError, match=re.escape(
            "Using a symbolic `tf.Tensor` as a Python `bool` is not allowed.")):
        bool(p)
    with pytest.raises(TypeError, match=re.escape(
            "Iterating over a symbolic `tf.Tensor` is not allowed.")):
        iter(p)
    with pytest.raises(TypeError, match=re.escape(
            "len is not well defined for a symbolic Tensor (x:0). Please call `x.shape` rather than "
            "`len(x)` for shape information.")):
        len(p)
    assert {p: 1}[p] == 1 and p == p and p != tf.identity(p)


def test_tensor_shape_and_dimension():
    s = tf.TensorShape([1, None])
    assert str(s) == "(1, None)" and s.rank == 2 and not s.is_fully_defined()
    assert str(tf.TensorShape([5])) == "(5,)" and str(tf.TensorShape(None)) == "<unknown>"
    assert str(s.merge_with([None, 2])) == "(1, 2)" and s.is_compatible_with([1, 7])
    assert tf.TensorShape([1, None]).most_specific_compatible_shape([2, 3]).as_list() == [None, None]
    assert str(tf.TensorShape([1]).concatenate([2])) == "(1, 2)"
    assert tf.constant([[1, 2], [3, 4]]).shape.num_elements() == 4
    cases = [
        (lambda: s.merge_with([2, 2]), "Shapes (1, None) and (2, 2) are not compatible"),
        (lambda: s.assert_is_compatible_with([2, 2]), "Shapes (1, None) and [2, 2] are incompatible"),
        (lambda: s.with_rank(3), "Shape (1, None) must have rank 3"),
        (lambda: tf.TensorShape([1]).assert_has_rank(2), "Shape (1,) must have rank 2"),
        (lambda: tf.TensorShape([1]).assert_same_rank([1, 2]), "Shapes (1,) and (1, 2) must have the same rank"),
        (lambda: tf.TensorShape([None]).assert_is_fully_defined(), "Shape (None,) is not fully defined"),
        (lambda: tf.Dimension(1).merge_with(2), "Dimensions 1 and 2 are not compatible"),
        (lambda: tf.Dimension(1).assert_is_compatible_with(2), "Dimensions 1 and 2 are not compatible"),
    ]
    for call, message in cases:
        with pytest.raises(ValueError) as info:
            call()
        assert str(info.value) == message
    assert repr(tf.Dimension(3)) == "Dimension(3)" and str(tf.Dimension(None)) == "?"
    assert tf.Dimension(3) + 1 == 4 and (tf.Dimension(None) + 1).value is None
    assert np.prod(tf.TensorShape([2, 3]).as_list()) == 6
