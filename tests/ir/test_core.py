"""The IR core: use lists stay right through every rewrite, erase refuses to orphan users,
insertion, block arguments, modules and walk order."""

import numpy as np
import pytest

from tfc.ir import (Block, Builder, Function, FunctionBuilder, Location, Module, Operation,
                    TensorType, Use, dtypes as dt, verify)
from tfc.ir.core import insert_after, insert_before, replace_op
from tfc.ir.opdef import OPS, Operand, define

F32 = TensorType((2,), dt.float32)


def const(value=None):
    value = np.zeros(2, np.float32) if value is None else np.asarray(value)
    return Operation("core.constant", [], [TensorType(value.shape, dt.from_numpy(value.dtype))],
                     {"value": value})


def ident(*values):
    return Operation("core.identity", list(values), [v.type for v in values])


def uses_of(value):
    return [(u.operation, u.index) for u in value.uses]


def check_use_lists(ops):
    """Every operand's use list has exactly one entry for that operand slot, and every use
    listed points at a slot that holds the value."""
    for op in ops:
        for i, v in enumerate(op.operands):
            assert sum(1 for u in v.uses if u.operation is op and u.index == i) == 1
        for r in op.results:
            for u in r.uses:
                assert u.operation.operands[u.index] is r


def test_operands_register_uses():
    a, b = const(), const()
    i = ident(a.result, b.result, a.result)
    assert uses_of(a.result) == [(i, 0), (i, 2)]
    assert uses_of(b.result) == [(i, 1)]
    assert a.result.users() == [i]
    assert a.result.has_uses() and not i.results[0].has_uses()
    assert a.result.owner is a and a.result.index == 0
    assert Use(i, 0) == Use(i, 0) and Use(i, 0) != Use(i, 1)


def test_operand_must_be_a_value():
    with pytest.raises(TypeError, match="must be a Value"):
        Operation("core.identity", [np.zeros(2)], [F32])


def test_set_operand_moves_the_use():
    a, b = const(), const()
    i = ident(a.result, a.result)
    i.set_operand(1, b.result)
    assert uses_of(a.result) == [(i, 0)]
    assert uses_of(b.result) == [(i, 1)]
    assert i.operands == (a.result, b.result)
    i.set_operand(0, b.result)
    assert not a.result.uses
    assert sorted(u.index for u in b.result.uses) == [0, 1]
    check_use_lists([a, b, i])


def test_set_operands_replaces_all():
    a, b = const(), const()
    i = ident(a.result, b.result)
    i.set_operands([b.result])
    assert not a.result.uses
    assert uses_of(b.result) == [(i, 0)]
    assert i.operands == (b.result,)


def test_replace_all_uses_with():
    a, b = const(), const()
    i1 = ident(a.result, a.result)
    i2 = ident(a.result)
    a.result.replace_all_uses_with(b.result)
    assert not a.result.uses
    assert sorted((id(o), k) for o, k in uses_of(b.result)) == sorted(
        [(id(i1), 0), (id(i1), 1), (id(i2), 0)])
    assert i1.operands == (b.result, b.result) and i2.operands == (b.result,)
    check_use_lists([a, b, i1, i2])
    # replacing a value by itself changes nothing
    b.result.replace_all_uses_with(b.result)
    assert len(b.result.uses) == 3


def test_erase_refuses_when_results_are_used_and_names_the_users():
    fb = FunctionBuilder("main", [])
    c = fb.constant(np.zeros(2, np.float32))
    fb.create("core.identity", [c])
    fb.ret([c])
    with pytest.raises(ValueError, match=r"cannot erase core\.constant: result 0 is used by "
                                         r"core\.identity, core\.return"):
        c.owner.erase()
    assert c.owner.parent is fb.block  # nothing changed
    assert len(c.uses) == 2


def test_erase_drops_operand_uses_and_unlinks():
    fb = FunctionBuilder("main", [F32])
    x = fb.args[0]
    i = fb.create("core.identity", [x, x])
    f = fb.ret([x])
    assert len(x.uses) == 3
    i.erase()
    assert i.parent is None and i not in fb.block.ops
    assert uses_of(x) == [(fb.block.ops[-1], 0)]
    assert i.operands == ()
    verify(Module([f]))


def test_erase_op_outside_a_block():
    a = const()
    i = ident(a.result)
    i.erase()
    assert not a.result.uses
    a.erase()


def test_insert_before_and_after():
    b = Block()
    first = b.append(const())
    last = b.append(Operation("core.return", []))
    mid = const()
    insert_after(first, mid)
    assert b.ops == [first, mid, last] and mid.parent is b
    pre = const()
    insert_before(first, pre)
    assert b.ops == [pre, first, mid, last]
    post = const()
    b.insert_after(mid, post)
    before_last = const()
    b.insert_before(last, before_last)
    assert b.ops == [pre, first, mid, post, before_last, last]
    with pytest.raises(ValueError, match="already in a block"):
        b.append(mid)
    with pytest.raises(ValueError, match="not in this block"):
        b.insert_before(const(), const())


def test_builder_before_op_inserts_in_place():
    fb = FunctionBuilder("main", [F32], location=Location("m.py", 3))
    x = fb.args[0]
    ret = fb.create("core.return", [x])
    b = Builder.before_op(ret)
    y = b.op("core.identity", x)
    assert fb.block.ops == [y.owner, ret]
    assert y.owner.location == Location("m.py", 3)


def test_remove_keeps_uses():
    b = Block()
    a = b.append(const())
    i = b.append(ident(a.result))
    b.remove(i)
    assert i.parent is None and b.ops == [a]
    assert uses_of(a.result) == [(i, 0)]


def test_replace_op():
    fb = FunctionBuilder("main", [F32, F32])
    x, y = fb.args
    pair = fb.create("core.identity", [x, y])
    user = fb.create("core.identity", [pair.results[1], pair.results[0], pair.results[1]])
    fb.ret(list(user.results))
    replace_op(pair, [y, x])
    assert pair.parent is None and pair not in fb.block.ops
    assert user.operands == (x, y, x)
    assert not pair.results[0].uses and not pair.results[1].uses
    assert sorted(u.index for u in x.uses) == [0, 2]
    assert [(o, k) for o, k in uses_of(y)] == [(user, 1)]
    check_use_lists(fb.block.ops)


def test_replace_op_count_mismatch():
    a = const()
    with pytest.raises(ValueError, match="1 results, got 2 replacements"):
        replace_op(a, [a.result, a.result])


def test_result_property():
    pair = ident(const().result, const().result)
    with pytest.raises(ValueError, match="2 results, not one"):
        pair.result


def test_block_args_add_and_erase():
    b = Block([F32], ["x"])
    assert [a.name_hint for a in b.args] == ["x"]
    y = b.add_arg(TensorType((3,), dt.int32), "y")
    z = b.add_arg(F32)
    assert [a.index for a in b.args] == [0, 1, 2]
    assert y.owner is b and y.block is b
    b.erase_arg(1)
    assert b.args == [b.args[0], z] and z.index == 1
    b.append(ident(z))
    with pytest.raises(ValueError, match="block argument 1: it is used"):
        b.erase_arg(1)
    assert len(b.args) == 2
    b.erase_arg(0)
    assert b.args == [z] and z.index == 0
    assert z.uses[0].operation.operands[0] is z


def test_function_args_follow_block_args():
    fb = FunctionBuilder("main", [F32], ["x"])
    f = fb.ret([fb.args[0]])
    arg = f.body.add_arg(TensorType((), dt.int8), "k")
    assert f.args[1] is arg
    assert f.arg_types == [F32, TensorType((), dt.int8)]
    f.body.erase_arg(1)
    assert f.arg_types == [F32]


def test_block_ownership_is_exclusive():
    b = Block()
    b.append(Operation("core.return", []))
    f = Function("f", b, [])
    with pytest.raises(ValueError):
        Function("g", b, [])
    with pytest.raises(ValueError):
        Operation("core.identity", [], [], regions=[b])


def test_module_rejects_duplicate_function_names():
    def fn(name):
        b = Block()
        b.append(Operation("core.return", []))
        return Function(name, b, [])

    m = Module([fn("main"), fn("helper")])
    assert [f.name for f in m] == ["main", "helper"]
    assert m["helper"].module is m
    with pytest.raises(ValueError, match="already has a function @main"):
        m.add(fn("main"))
    with pytest.raises(ValueError, match="@x"):
        Module([fn("x"), fn("x")])
    assert list(m.functions) == ["main", "helper"]


@pytest.fixture(scope="module")
def nest_op():
    """A test-only op with regions, removed again so the op table stays as declared."""
    name = "test.core_nest_op"
    if name not in OPS:
        define(name, operands=[Operand("x", variadic=True)], infer=lambda types, attrs: list(types),
               compute=lambda *xs: xs, doc="Test-only op with regions.")
    yield name
    OPS.pop(name, None)


def test_walk_order_includes_regions(nest_op):
    fb = FunctionBuilder("main", [F32])
    x = fb.args[0]
    c0 = fb.create("core.identity", [x])
    r1 = Block([F32])
    inner1 = Builder(r1).create("core.identity", [r1.args[0]])
    y1 = Builder(r1).create("core.yield", [inner1.result])
    r2 = Block([F32])
    inner_nest_region = Block([F32])
    deep = Builder(inner_nest_region).create("core.identity", [inner_nest_region.args[0]])
    y_deep = Builder(inner_nest_region).create("core.yield", [deep.result])
    inner2 = Builder(r2).create(nest_op, [r2.args[0]], regions=[inner_nest_region])
    y2 = Builder(r2).create("core.yield", [inner2.result])
    outer = fb.create(nest_op, [c0.result], regions=[r1, r2])
    f = fb.ret([outer.result])
    ret = f.body.terminator
    expected = [c0, outer, inner1, y1, inner2, deep, y_deep, y2, ret]
    assert list(f.walk()) == expected
    m = Module([f])
    assert list(m.walk()) == expected
    assert list(outer.walk()) == [outer, inner1, y1, inner2, deep, y_deep, y2]
    assert r1.parent_op is outer and outer.regions == [r1, r2]
    verify(m)
    # erasing an op erases its regions' ops and their uses
    f.body.ops[-1].erase()
    outer.erase()
    assert not inner_nest_region.args[0].uses and not r1.args[0].uses
    assert inner1.parent is None and deep.parent is None
    assert not c0.result.uses


def test_walk_tolerates_erasing_during_the_walk():
    fb = FunctionBuilder("main", [])
    consts = [fb.constant(np.float32(i)).owner for i in range(3)]
    fb.ret([])
    seen = []
    for op in fb.block.walk():
        seen.append(op)
        if op.name == "core.constant":
            op.erase()
    assert seen == consts + [fb.block.ops[-1]]
    assert [o.name for o in fb.block.ops] == ["core.return"]



def test_clone_is_deep_and_prints_the_same():
    from tfc.ir import parse_module
    from tfc.passes import PassManager
    module = parse_module("""module {
  func @main(%x: tensor<2x3xf32>) -> (tensor<2x3xf32>) {
    %0 = core.constant() {value = dense<2.0> : tensor<f32>} : () -> tensor<f32>
    %1 = math.mul(%x, %0) : (tensor<2x3xf32>, tensor<f32>) -> tensor<2x3xf32>
    %2 = nn.relu(%1) : (tensor<2x3xf32>) -> tensor<2x3xf32>
    core.return(%2) : (tensor<2x3xf32>) -> ()
  }
}
""")
    PassManager.parse("fuse").run(module)
    assert any(op.regions for op in module.walk())          # a fused group: a region to copy
    copy = module.clone()
    assert str(copy) == str(module)
    verify(copy)
    old_ops = {id(op) for op in module.walk()}
    old_values = {id(v) for op in module.walk() for v in op.results} | {
        id(a) for a in module["main"].args}
    for op in copy.walk():
        assert id(op) not in old_ops
        assert not any(id(v) in old_values for v in list(op.results) + list(op.operands))
    # Rewriting the copy leaves the original alone.
    copy["main"].body.ops[0].attributes["value"] = np.float32(3.0)
    assert float(module["main"].body.ops[0].attributes["value"]) == 2.0
