"""tf.Variable, assignments, tf.get_variable with variable scopes, the initializers with TF's
seeded values, collections and initializer ops, and reads ordered after assignments.

Expected graphs, values and messages were obtained once from TensorFlow 2.21 (`tf.compat.v1`
after `disable_v2_behavior()`) running the same programs. tfc has no ref dtypes: a variable's
dtype is `tf.float32` where TF1 says `tf.float32_ref` (messages still say `float32_ref`).
"""

import re

import numpy as np
import pytest

import tfc as tf


@pytest.fixture(autouse=True)
def _fresh_graph():
    tf.reset_default_graph()


def ops():
    return [(op.name, op.type) for op in tf.get_default_graph().get_operations()]


def check(got, want, dtype=np.float32):
    assert isinstance(got, (np.ndarray, np.generic)) and got.dtype == dtype
    np.testing.assert_array_equal(got, want)


# tf.Variable -------------------------------------------------------------------------------------
def test_variable_graph_and_attributes():
    v = tf.Variable([1.0, 2.0], name="v")
    assert ops() == [("v/initial_value", "Const"), ("v", "VariableV2"), ("v/Assign", "Assign"),
                     ("v/read", "Identity")]
    assert repr(v) == "<tf.Variable 'v:0' shape=(2,) dtype=float32_ref>" and str(v) == repr(v)
    assert (v.name, v.op.name, v.dtype, v.shape.as_list(), v.device) == ("v:0", "v", tf.float32, [2], "")
    assert v.graph is tf.get_default_graph() and v.get_shape() == v.shape and v.trainable
    assert v.initializer.name == "v/Assign" and v.initial_value.name == "v/initial_value:0"
    assert v.value().name == "v/read:0" and tf.convert_to_tensor(v) is v.value()
    assert v.read_value().name == "read:0" and tf.identity(v).name == "Identity:0"
    assert (v.op.get_attr("shape"), v.op.get_attr("dtype")) == (tf.TensorShape([2]), tf.float32)
    assert (v.initializer.get_attr("T"), v.initializer.get_attr("validate_shape"),
            v.initializer.get_attr("use_locking")) == (tf.float32, True, True)


def test_variable_initial_values():
    w = tf.Variable(lambda: tf.ones([2]), name="w")
    assert w.initial_value.name == "w/Initializer/ones:0"
    x = tf.Variable(3, dtype=tf.float32, name="x")
    assert (x.dtype, x.initial_value.dtype) == (tf.float32, tf.float32)
    assert tf.Variable(1).name == "Variable:0" and tf.Variable(1).name == "Variable_1:0"
    with pytest.raises(TypeError, match="^Expected int32, but got 1.5 of type 'float'.$"):
        tf.Variable(1.5, dtype=tf.int32)
    for bad in ((), (None,)):
        with pytest.raises(ValueError, match="^initial_value must be specified.$"):
            tf.Variable(*bad)
    p = tf.placeholder(tf.float32, [None])
    with pytest.raises(ValueError, match=re.escape(
            'initial_value must have a shape specified: Tensor("Placeholder:0", shape=(None,), '
            'dtype=float32)')):
        tf.Variable(p)


def test_validate_shape_false_gives_an_unknown_shape_that_assignments_may_change():
    p = tf.placeholder(tf.float32, [None])
    v = tf.Variable(p, validate_shape=False, name="v")
    assert v.shape.ndims is None
    grow = tf.assign(v, [1.0, 2.0, 3.0], validate_shape=False)
    assert grow.shape.as_list() == [3]
    with tf.Session() as sess:
        sess.run(v.initializer, {p: [1.0, 2.0]})
        check(sess.run(v), [1, 2])
        check(sess.run(grow), [1, 2, 3])
        check(sess.run(tf.add(v, 1.0)), [2, 3, 4])


def test_collections():
    v = tf.Variable(1.0, name="v")
    y = tf.Variable(1.0, trainable=False, name="y")
    z = tf.Variable(1.0, collections=[tf.GraphKeys.LOCAL_VARIABLES], name="z")
    assert tf.global_variables() == [v, y] and tf.trainable_variables() == [v, z]
    assert tf.local_variables() == [z] and tf.global_variables("y") == [y]
    assert tf.get_collection(tf.GraphKeys.GLOBAL_VARIABLES) == [v, y]


# Assignments -------------------------------------------------------------------------------------
def test_assignments_build_tfs_ops_and_return_the_new_value():
    v = tf.Variable([1.0, 2.0], name="v")
    a1, a2, a3 = v.assign([3.0, 4.0]), v.assign_add([1.0, 1.0]), v.assign_sub([0.5, 0.5])
    assert [t.name for t in (a1, a2, a3)] == ["Assign:0", "AssignAdd:0", "AssignSub:0"]
    assert ops()[4:] == [("Assign/value", "Const"), ("Assign", "Assign"), ("AssignAdd/value", "Const"),
                         ("AssignAdd", "AssignAdd"), ("AssignSub/value", "Const"), ("AssignSub", "AssignSub")]
    assert a1.op.get_attr("use_locking") is False and a2.op.get_attr("T") == tf.float32
    assert tf.assign(v, [0.0, 0.0], name="mine").name == "mine:0"
    assert tf.assign_add(v, [0.0, 0.0]).name == "AssignAdd_1:0"
    assert v.assign([1.0, 2.0], read_value=False).type == "Assign"
    with pytest.raises(ValueError, match=re.escape(
            "Dimension 0 in both shapes must be equal, but are 2 and 1. Shapes are [2] and [1]. for "
            "'Assign_2' (op: 'Assign') with input shapes: [2], [1].")):
        v.assign([1.0])
    with pytest.raises(ValueError, match="^Shapes must be equal rank, but are 1 and 0 for 'Assign_3'"):
        v.assign(1.0)
    with tf.Session() as sess:
        sess.run(v.initializer)
        check(sess.run(a1), [3, 4])
        check(sess.run(a2), [4, 5])
        check(sess.run(a3), [3.5, 4.5])
        check(sess.run(v), [3.5, 4.5])
        assert sess.run(a1.op) is None
        check(v.eval(session=sess), [3, 4])


def test_a_counter():
    state = tf.Variable(0, name="counter")
    update = tf.assign(state, tf.add(state, tf.constant(1)))
    with tf.Session() as sess:
        sess.run(tf.global_variables_initializer())
        values = []
        for _ in range(3):
            sess.run(update)
            values.append(sess.run(state))
    assert values == [1, 2, 3] and type(values[0]) is np.int32


def test_load_and_two_sessions_hold_separate_values():
    v = tf.Variable([1.0, 2.0], name="v")
    inc = tf.assign_add(v, [1.0, 1.0])
    s1, s2 = tf.Session(), tf.Session()
    s1.run(v.initializer)
    s1.run(inc)
    with pytest.raises(tf.errors.FailedPreconditionError):
        s2.run(v)
    s2.run(v.initializer)
    check(s1.run(v), [2, 3])
    check(s2.run(v), [1, 2])
    v.load([9.0, 9.0], session=s2)
    check(s2.run(v), [9, 9])
    check(s1.run(v), [2, 3])
    assert s2.run(tf.assign(tf.Variable(0, name="w"), 7)) == 7   # an assign initializes
    with pytest.raises(tf.errors.FailedPreconditionError, match="uninitialized value v_1"):
        tf.Session().run(tf.assign_add(tf.Variable(0, name="v"), 1))


def test_initializer_ops():
    v = tf.Variable(1.0, name="v")
    w = tf.Variable(2.0, name="w")
    tf.Variable(3.0, collections=[tf.GraphKeys.LOCAL_VARIABLES], name="z")
    init = tf.global_variables_initializer()
    assert (init.name, init.type, [c.name for c in init.control_inputs]) == (
        "init", "NoOp", ["v/Assign", "w/Assign"])
    assert tf.variables_initializer([w]).name == "init_1"
    empty = tf.variables_initializer([])
    assert (empty.name, empty.type, empty.control_inputs) == ("init_2", "NoOp", [])
    assert [c.name for c in tf.local_variables_initializer().control_inputs] == ["z/Assign"]
    with tf.Session() as sess:
        sess.run(init)
        assert sess.run([v, w]) == [1.0, 2.0]


def test_initialized_value():
    tf.set_random_seed(1)
    weights = tf.Variable(tf.random_normal([3, 2], stddev=0.35), name="weights")
    w2 = tf.Variable(weights.initialized_value(), name="w2")
    w_twice = tf.Variable(weights.initialized_value() * 2.0, name="w_twice")
    with tf.Session() as sess:
        sess.run(tf.global_variables_initializer())
        want = np.float32([[0.106822, 0.198498], [0.146483, 0.081425], [-0.231077, -0.789616]])
        np.testing.assert_allclose(sess.run(weights), want, atol=1e-6)   # TF's numbers
        check(sess.run(w2), sess.run(weights))
        check(sess.run(w_twice), 2 * sess.run(weights))


# Reads ordered after assignments -----------------------------------------------------------------
def test_reads_created_under_control_dependencies_see_the_assigned_value():
    v = tf.Variable(1.0, name="v")
    a = tf.assign(v, 5.0)
    with tf.control_dependencies([a]):
        r1 = v.read_value()
        r2 = tf.identity(v)
        r4 = tf.add(v, 0.0)
    r3 = v.value()
    sess = tf.Session()
    for fetch, want in [(r1, 5.0), (r2, 5.0), (r3, 1.0), (r4, 5.0)]:
        sess.run(v.initializer)
        assert sess.run(fetch) == want
    assert r1.op.control_inputs == [a.op]


def test_snapshots_read_where_used():
    # TF's `v/read` of a ref variable shares the variable's buffer: a fetch (or an op) that
    # runs after an assignment sees the assigned value. These are TF's results.
    v = tf.Variable(1.0, name="v")
    b = tf.assign_add(v, 1.0)
    with tf.control_dependencies([tf.assign_add(v, 1.0)]):
        f = tf.identity(v.value())
    d = tf.assign(v, 2.0)
    e = tf.multiply(d, 3.0)
    sess = tf.Session()
    sess.run(v.initializer)
    assert sess.run([b, v.value()]) == [2.0, 2.0] and sess.run([b, v]) == [3.0, 3.0]
    sess.run(v.initializer)
    assert sess.run(f) == 2.0 and sess.run(v) == 2.0
    assert sess.run(e) == 6.0
    sess.run(v.initializer)
    c = tf.assign_add(v, 10.0)
    assert sess.run(tf.group(b, c)) is None and sess.run(v) == 12.0
    old = v.value()
    step = tf.assign(v, tf.add(old, 1.0))       # read-modify-write reads before it writes
    assert sess.run(step) == 13.0


# tf.get_variable and variable scopes -------------------------------------------------------------
def test_get_variable_in_scopes():
    with tf.variable_scope("foo") as vs:
        assert (vs.name, vs.original_name_scope) == ("foo", "foo/")
        a = tf.get_variable("a", [2])
        assert a.name == "foo/a:0" and tf.constant(1.0).name == "foo/Const:0"
        with tf.variable_scope("bar"):
            b = tf.get_variable("b", [1], initializer=tf.zeros_initializer())
    assert b.name == "foo/bar/b:0"
    assert ops() == [
        ("foo/a/Initializer/random_uniform/shape", "Const"), ("foo/a/Initializer/random_uniform/min", "Const"),
        ("foo/a/Initializer/random_uniform/max", "Const"),
        ("foo/a/Initializer/random_uniform/RandomUniform", "RandomUniform"),
        ("foo/a/Initializer/random_uniform/sub", "Sub"), ("foo/a/Initializer/random_uniform/mul", "Mul"),
        ("foo/a/Initializer/random_uniform", "AddV2"), ("foo/a", "VariableV2"), ("foo/a/Assign", "Assign"),
        ("foo/a/read", "Identity"), ("foo/Const", "Const"), ("foo/bar/b/Initializer/zeros", "Const"),
        ("foo/bar/b", "VariableV2"), ("foo/bar/b/Assign", "Assign"), ("foo/bar/b/read", "Identity")]
    with tf.variable_scope("foo"):
        assert tf.constant(1.0).name == "foo_1/Const:0"
    with tf.variable_scope(vs):              # a scope object opens a new name scope of its name
        assert tf.get_variable_scope().name == "foo" and tf.constant(1.0).name == "foo_2/Const:0"
        with tf.variable_scope("bar", reuse=True):
            assert tf.get_variable("b") is b
    with tf.name_scope("ns"):
        assert tf.get_variable("g", [1]).name == "g:0"          # name scopes do not apply
        assert tf.Variable(1.0, name="v").name == "ns/v:0"
    with tf.variable_scope("vs2"), tf.name_scope("ns2"):
        assert tf.get_variable("q", [1]).name == "vs2/q:0"
        assert tf.constant(1.0).name == "vs2/ns2/Const:0"


def test_reuse():
    with tf.variable_scope("foo"):
        a = tf.get_variable("a", [2])    # LINE-A
        with tf.variable_scope("bar"):
            b = tf.get_variable("b", [1])
    with open(__file__) as f:
        line = next(i for i, text in enumerate(f, 1) if "# LINE-A" in text)
    message = ("Variable foo/a already exists, disallowed. Did you mean to set reuse=True or "
               "reuse=tf.AUTO_REUSE in VarScope? Originally defined at:\n\n"
               f'  File "{__file__}", line {line}, in test_reuse\n')
    with pytest.raises(ValueError) as info:
        tf.get_variable("foo/a", [2])
    assert str(info.value) == message
    with tf.variable_scope("foo", reuse=True):
        assert tf.get_variable("a", [2]) is a and tf.get_variable("a") is a
        with tf.variable_scope("bar"):
            assert tf.get_variable("b") is b and tf.get_variable_scope().reuse is True
        with tf.variable_scope("bar", reuse=False):     # reuse is inherited
            assert tf.get_variable_scope().reuse is True
        cases = [
            (lambda: tf.get_variable("zz", [2]),
             "Variable foo/zz does not exist, or was not created with tf.get_variable(). Did you mean "
             "to set reuse=tf.AUTO_REUSE in VarScope?"),
            (lambda: tf.get_variable("a", [3]),
             "Trying to share variable foo/a, but specified shape (3,) and found shape (2,)."),
            (lambda: tf.get_variable("a", [2], dtype=tf.int32),
             "Trying to share variable foo/a, but specified dtype int32 and found dtype float32_ref."),
        ]
        for call, text in cases:
            with pytest.raises(ValueError) as info:
                call()
            assert str(info.value) == text
    with tf.variable_scope("foo", reuse=tf.AUTO_REUSE):
        assert tf.get_variable("a", [2]) is a and tf.get_variable("c", [2]).name == "foo/c:0"
        assert tf.get_variable_scope().reuse is tf.AUTO_REUSE
        assert repr(tf.AUTO_REUSE) == "<_ReuseMode.AUTO_REUSE: 1>"
        with tf.variable_scope("t", reuse=True):
            assert tf.get_variable_scope().reuse is True
    with tf.variable_scope("s", reuse=True):
        with tf.variable_scope("t", reuse=tf.AUTO_REUSE):
            assert tf.get_variable_scope().reuse is tf.AUTO_REUSE
    with tf.variable_scope("rv") as rv:
        r = tf.get_variable("r", [1])
        rv.reuse_variables()
        assert tf.get_variable("r", [1]) is r


def test_default_name_scopes_are_made_unique():
    names = []
    for _ in range(2):
        with tf.variable_scope(None, default_name="dflt") as s:
            names.append(s.name)
    with tf.variable_scope("dflt"):
        with tf.variable_scope(None, default_name="in") as s:
            names.append(s.name)
    with tf.variable_scope("dflt_1") as s:
        names.append(s.name)
    with tf.variable_scope(None, default_name="dflt") as s:
        names.append(s.name)
    assert names == ["dflt", "dflt_1", "dflt/in", "dflt_1", "dflt_2"]
    with pytest.raises(TypeError, match="^If default_name is None then name_or_scope is required$"):
        with tf.variable_scope(None):
            pass
    with pytest.raises(ValueError, match="^reuse=True cannot be used without a name_or_scope$"):
        with tf.variable_scope(None, default_name="x", reuse=True):
            pass


def test_get_variable_initializers_and_errors():
    with tf.variable_scope("init", initializer=tf.constant_initializer(7.0)):
        x = tf.get_variable("x", [2])
        with tf.variable_scope("inner"):
            y = tf.get_variable("y", [2])                       # inherited
            z = tf.get_variable("z", [2], initializer=tf.ones_initializer())
    c = tf.get_variable("c", initializer=tf.constant([1.0, 2.0]))
    assert c.shape.as_list() == [2] and tf.get_variable("py", initializer=3.0).shape.as_list() == []
    i = tf.get_variable("i", [2], dtype=tf.int32)
    assert i.initial_value.op.type == "Const" and i.initial_value.op.name == "i/Initializer/zeros"
    f = tf.get_variable("f", [2], initializer=lambda shape, dtype, partition_info: tf.fill(shape, 4.0))
    g = tf.get_variable("g", initializer=lambda: tf.constant([5.0]))
    with tf.variable_scope("dt", dtype=tf.float64):
        assert tf.get_variable("d", [1]).dtype == tf.float64
    with pytest.raises(ValueError, match=re.escape(
            "Variable noshape did not get an initializer, so its `shape` argument must be specified.")):
        tf.get_variable("noshape")
    with pytest.raises(ValueError, match="^If initializer is a constant, do not specify shape.$"):
        tf.get_variable("c2", [2], initializer=tf.constant([1.0, 2.0]))
    assert tf.get_variable("nt", [1], trainable=False) not in tf.trainable_variables()
    assert tf.get_variable("coll", [1], collections=["mine"]) in tf.get_collection("mine")
    assert [v.name for v in tf.trainable_variables(scope="init")] == ["init/x:0", "init/inner/y:0",
                                                                         "init/inner/z:0"]
    with tf.Session() as sess:
        sess.run(tf.global_variables_initializer())
        assert [sess.run(v).tolist() for v in (x, y, z, c, i, f, g)] == [
            [7, 7], [7, 7], [1, 1], [1, 2], [0, 0], [4, 4], [5]]


def test_regularizers_as_tf_builds_them():
    with tf.variable_scope("reg", regularizer=lambda w: tf.reduce_sum(w)):
        tf.get_variable("r", [1])
    # TF runs the regularizer twice: once to see it gives a loss, once under r/Regularizer/.
    assert [name for name, _ in ops()[-4:]] == ["Const", "Sum", "reg/r/Regularizer/Const",
                                                "reg/r/Regularizer/Sum"]
    (loss,) = tf.get_collection(tf.GraphKeys.REGULARIZATION_LOSSES)
    assert loss.name == "reg/r/Regularizer/Sum:0"


# Initializers with TF's numbers ------------------------------------------------------------------
INITIALIZERS = {
    "rn": lambda seed: tf.random_normal_initializer(0.5, 2.0, seed=seed),
    "tn": lambda seed: tf.truncated_normal_initializer(0.0, 1.0, seed=seed),
    "ru": lambda seed: tf.random_uniform_initializer(-1.0, 1.0, seed=seed),
    "gu": lambda seed: tf.glorot_uniform_initializer(seed=seed),
    "gn": lambda seed: tf.glorot_normal_initializer(seed=seed),
    "vs": lambda seed: tf.variance_scaling_initializer(seed=seed),
    "vsu": lambda seed: tf.variance_scaling_initializer(2.0, "fan_avg", "uniform", seed=seed),
    "vsn": lambda seed: tf.variance_scaling_initializer(1.0, "fan_out", "untruncated_normal", seed=seed),
    "orth": lambda seed: tf.orthogonal_initializer(seed=seed),
}

# TF 2.21's values: tf.set_random_seed(1234) alone (op seeds 0, 1, 2... in creation order), then
# op-level seed 7 alone. Each variable is [2, 3]; orth_wide is [3, 4] with gain 2.
GRAPH_SEED_VALUES = {
    "rn": [[-0.10400408506393433, 4.490989685058594, -2.3693225383758545], [-4.696562767028809, 0.6011026501655579, -0.5673791170120239]],
    "tn": [[-0.32364845275878906, 1.8577390909194946, 0.39556974172592163], [0.2311697006225586, -0.5653132200241089, 0.4953683316707611]],
    "ru": [[0.055257558822631836, 0.6602761745452881, -0.8985600471496582], [-0.5374362468719482, 0.35129761695861816, -0.9660134315490723]],
    "gu": [[1.0088365077972412, 0.1777942180633545, 0.31020820140838623], [1.0125782489776611, -0.9763712882995605, -0.17760568857192993]],
    "gn": [[0.3330425024032593, 1.0770373344421387, -0.7099313735961914], [0.07003480195999146, 0.056233566254377365, 0.06829581409692764]],
    "vs": [[0.9190846085548401, -0.050006937235593796, 1.076244831085205], [0.5975369215011597, -0.32955238223075867, -1.084925651550293]],
    "vsu": [[1.0884265899658203, -0.26706576347351074, 1.1725704669952393], [0.5775442123413086, 1.0120213031768799, 0.9690370559692383]],
    "vsn": [[0.14308887720108032, 0.3616223633289337, -0.7016714215278625], [0.46598193049430847, 0.1629747599363327, -0.5607735514640808]],
    "orth": [[-0.729971170425415, -0.16096359491348267, -0.6642537117004395], [-0.4753836691379547, -0.5787101984024048, 0.6626498103141785]],
    "orth_wide": [[-1.0927302837371826, 1.0379490852355957, 0.9495180249214172, -0.9094051122665405], [-1.121324896812439, -1.1330375671386719, 0.8079754114151001, 0.8977931141853333], [-0.8462899327278137, 1.0096166133880615, -1.0041090250015259, 1.1208181381225586]],
    "default": [[0.8717993497848511, -0.4313359260559082], [0.35457003116607666, 0.8124524354934692]],
}
OP_SEED_VALUES = {
    "rn": [[0.4061086177825928, -1.9078047275543213, 2.8336703777313232], [2.841240882873535, -0.14014047384262085, 0.11929771304130554]],
    "tn": [[-0.046945683658123016, -1.2039023637771606, 1.1668351888656616], [1.1706204414367676, 0.7166261076927185, 0.5711334943771362]],
    "ru": [[-0.03211808204650879, 0.012406110763549805, -0.4897124767303467], [-0.7505154609680176, 0.8660202026367188, 0.32921862602233887]],
    "gu": [[-0.03518354892730713, 0.013590216636657715, -0.5364531874656677], [-0.8221485614776611, 0.9486775398254395, 0.3606410026550293]],
    "gn": [[-0.033754196017980576, -0.8656122088432312, 0.8389607667922974], [0.8416823744773865, 0.5152580142021179, 0.41064804792404175]],
    "vs": [[-0.037738338112831116, -0.9677838683128357, 0.9379866123199463], [0.9410294890403748, 0.5760759711265564, 0.45911845564842224]],
    "vsu": [[-0.04975712299346924, 0.019219517707824707, -0.758659303188324], [-1.1626936197280884, 1.3416328430175781, 0.5100233554840088]],
    "vsn": [[-0.027104102075099945, -0.6950733661651611, 0.673672616481781], [0.6758580207824707, -0.1847926378250122, -0.10989928245544434]],
    "orth": [[-0.03877091407775879, 0.9636511206626892, -0.264335572719574], [-0.9933683276176453, -0.008515119552612305, 0.11465823650360107]],
    "orth_wide": [[-0.04770374298095703, 1.1895244121551514, -1.4472882747650146, -0.6986507773399353], [-1.9104689359664917, 0.3677619695663452, 0.43819546699523926, -0.15114444494247437], [-0.01297407504171133, 0.8614552617073059, -0.15942712128162384, 1.7978625297546387]],
}


@pytest.mark.parametrize("graph_seed, op_seed, expected", [(1234, None, GRAPH_SEED_VALUES),
                                                           (None, 7, OP_SEED_VALUES)])
def test_initializers_draw_tfs_numbers(graph_seed, op_seed, expected):
    if graph_seed is not None:
        tf.set_random_seed(graph_seed)
    variables = [tf.get_variable(name, [2, 3], initializer=make(op_seed))
                 for name, make in INITIALIZERS.items()]
    variables.append(tf.get_variable("orth_wide", [3, 4],
                                     initializer=tf.orthogonal_initializer(gain=2.0, seed=op_seed)))
    if graph_seed is not None:
        variables.append(tf.get_variable("default", [2, 2]))     # glorot_uniform, unseeded
    with tf.Session() as sess:
        sess.run(tf.global_variables_initializer())
        for v in variables:
            got, want = sess.run(v), np.float32(expected[v.op.name])
            if v.op.name.startswith("orth"):        # QR differs from TF's in the last bit
                np.testing.assert_allclose(got, want, rtol=0, atol=1e-6)
            else:
                np.testing.assert_array_equal(got, want)


def test_initializer_graphs():
    tf.get_variable("ru", [2], initializer=tf.random_uniform_initializer(seed=1))
    tf.get_variable("orth", [2, 2], initializer=tf.orthogonal_initializer(seed=1))
    tf.get_variable("big", [40, 40], initializer=tf.zeros_initializer())
    tf.get_variable("const", [2], initializer=tf.constant_initializer([1.0, 2.0]))
    assert [name for name, _ in ops()] == [
        "ru/Initializer/random_uniform/shape", "ru/Initializer/random_uniform/min",
        "ru/Initializer/random_uniform/max", "ru/Initializer/random_uniform/RandomUniform",
        "ru/Initializer/random_uniform/sub", "ru/Initializer/random_uniform/mul",
        "ru/Initializer/random_uniform", "ru", "ru/Assign", "ru/read",
        "orth/Initializer/random_normal/shape", "orth/Initializer/random_normal/mean",
        "orth/Initializer/random_normal/stddev", "orth/Initializer/random_normal/RandomStandardNormal",
        "orth/Initializer/random_normal/mul", "orth/Initializer/random_normal", "orth/Initializer/Qr",
        "orth/Initializer/DiagPart", "orth/Initializer/Sign", "orth/Initializer/mul",
        "orth/Initializer/Reshape/shape", "orth/Initializer/Reshape", "orth/Initializer/mul_1/x",
        "orth/Initializer/mul_1", "orth", "orth/Assign", "orth/read",
        "big/Initializer/zeros/shape_as_tensor", "big/Initializer/zeros/Const", "big/Initializer/zeros",
        "big", "big/Assign", "big/read",
        "const/Initializer/Const", "const", "const/Assign", "const/read"]
