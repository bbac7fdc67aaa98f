"""The verifier: checks a module is well formed before and after every transformation.

It checks that every operand is defined before its use (in the same block, or as an argument
of it: regions are isolated from the values around them), that each op is in the op table
with attributes that fit its schema, that operand dtypes are accepted and declared result
types agree with the op's type inference, and that blocks end with their terminator.
"""

from __future__ import annotations

from .core import Block, Function, Module, Operation
from .opdef import TERMINATOR, InferenceError, get_op


# Ops whose results are what their region's core.yield gives (the fused groups of passes/fuse.py).
YIELDING_OPS = frozenset({"core.fusion"})


class VerifyError(ValueError):
    """The module is malformed. `errors` lists every problem found, first one first."""

    def __init__(self, errors: list[str]):
        super().__init__(errors[0] if len(errors) == 1 else
                         f"{len(errors)} errors:\n" + "\n".join(errors))
        self.errors = errors


def where(op: Operation, function: Function) -> str:
    if op.location is not None:
        return f"{op.location}: {op.name}"
    index = next((i for i, o in enumerate(function.walk()) if o is op), "?")
    return f"@{function.name} op #{index}: {op.name}"


def verify(module: Module) -> None:
    """Raise VerifyError if anything in `module` is malformed."""
    errors: list[str] = []
    for function in module:
        errors.extend(verify_function(function))
    if errors:
        raise VerifyError(errors)


def verify_function(function: Function) -> list[str]:
    errors: list[str] = []
    _verify_block(function.body, function, errors, terminator="core.return")
    ret = function.body.terminator
    if ret is not None and ret.name == "core.return":
        got = [v.type for v in ret.operands]
        if len(got) != len(function.result_types) or any(
                not g.is_compatible_with(e) for g, e in zip(got, function.result_types)):
            errors.append(f"{where(ret, function)}: returns ({', '.join(map(str, got))}) but "
                          f"@{function.name} declares ({', '.join(map(str, function.result_types))})")
    return errors


def _verify_block(block: Block, function: Function, errors: list[str], terminator: str) -> None:
    defined = {id(a) for a in block.args}
    if not block.ops or block.ops[-1].name != terminator:
        last = block.ops[-1].name if block.ops else "nothing"
        errors.append(f"@{function.name}: block must end with {terminator}, ends with {last}")
    for position, op in enumerate(block.ops):
        for i, operand in enumerate(op.operands):
            if id(operand) not in defined:
                errors.append(f"{where(op, function)}: operand {i} is used before it is defined "
                              "(or comes from outside this block)")
        _verify_op(op, function, errors, is_last=position == len(block.ops) - 1)
        for region in op.regions:
            _verify_block(region, function, errors, terminator="core.yield")
        defined.update(id(r) for r in op.results)


def _verify_op(op: Operation, function: Function, errors: list[str], is_last: bool) -> None:
    try:
        opdef = get_op(op.name)
    except KeyError:
        errors.append(f"{where(op, function)}: unknown op")
        return
    if opdef.has(TERMINATOR) and not is_last:
        errors.append(f"{where(op, function)}: a terminator must be the last op of its block")
    try:
        attrs = opdef.normalize_attrs(op.attributes)
        inferred = opdef.infer_types([v.type for v in op.operands], attrs)
    except InferenceError as e:
        errors.append(f"{where(op, function)}: {e.args[0]}")
        return
    if op.name in YIELDING_OPS and len(op.regions) != 1:
        errors.append(f"{where(op, function)}: needs one region, has {len(op.regions)}")
    elif op.name in YIELDING_OPS:
        # The region's arguments mirror the op's operands and its results are what the region
        # yields, which the op table's inference cannot see.
        block, operand_types = op.regions[0], [v.type for v in op.operands]
        if [a.type for a in block.args] != operand_types:
            errors.append(f"{where(op, function)}: the region's arguments "
                          f"({', '.join(str(a.type) for a in block.args)}) do not match the operands "
                          f"({', '.join(map(str, operand_types))})")
        if block.terminator is not None and block.terminator.name == "core.yield":
            inferred = [v.type for v in block.terminator.operands]
    declared = [r.type for r in op.results]
    if len(declared) != len(inferred):
        errors.append(f"{where(op, function)}: has {len(declared)} results, expected {len(inferred)}")
        return
    for i, (d, t) in enumerate(zip(declared, inferred)):
        if not d.is_compatible_with(t):
            errors.append(f"{where(op, function)}: result {i} is declared {d} but its operands and attributes give {t}")
