"""Helpers every API family uses to add ops to the graph, following TF's op wrappers: an op
named NAME (default: its type) opens the name scope NAME, converts its Python inputs to
constants inside it (so `tf.add(x, 1)` makes `AddV2/y` and `AddV2`, and `x + 1` makes `add/y`
and `add`), and takes the scope's name."""

from __future__ import annotations

import contextlib
from typing import Any, Callable

from tfc.ir.dtypes import DType

from ..framework import Graph, Operation, Tensor, convert_to_tensor, get_default_graph


def graph_for(inputs) -> Graph:
    """The graph new ops go into: the graph of the first tensor input, else the default."""
    for x in _flat(inputs):
        if isinstance(x, Tensor):
            return x.graph
        element = x._as_graph_element() if hasattr(x, "_as_graph_element") else None
        if element is not None and hasattr(element, "graph"):
            return element.graph
    return get_default_graph()


def _flat(values):
    for v in values:
        if isinstance(v, (list, tuple)):
            yield from _flat(v)
        else:
            yield v


@contextlib.contextmanager
def op_scope(name: str | None, default_name: str, values=()):
    """`ops.name_scope(name, default_name, values)`: enter the graph of `values` and a fresh
    name scope; yields the scope string ('add/')."""
    graph = graph_for(values)
    with graph.as_default(), graph.name_scope(name or default_name) as scope:
        yield scope


def make_op(op_type: str, inputs: list[Tensor], lower: Callable, *, name: str | None = None,
            attrs: dict[str, Any] | None = None, stateful: bool = False) -> Operation:
    """Add one graph op whose IR comes from `lower(ctx, op, *input_values)`. `name` ending in
    '/' is used exactly (it is a scope opened by `op_scope`)."""
    return graph_for(inputs).create_op(op_type, list(inputs), lower, name=name, attrs=attrs,
                                       stateful=stateful)


def outputs(op: Operation):
    """The op's only output, or the list of its outputs."""
    return op.outputs[0] if len(op.outputs) == 1 else op.outputs


def convert_same_dtype(op_type: str, named_values: list[tuple[str, Any]], dtype: DType | None = None):
    """Tensors for `named_values`, all of one dtype, as TF's op wrappers convert them: Python
    values take the dtype of the first tensor among them; tensors of different dtypes raise
    TypeError in TF's words."""
    first_name = named_values[0][0]
    if dtype is None:
        for arg_name, v in named_values:
            if isinstance(v, Tensor) or hasattr(v, "_as_tensor"):
                dtype, first_name = convert_to_tensor(v).dtype, arg_name
                break
    tensors = []
    for arg_name, v in named_values:
        if isinstance(v, Tensor) or hasattr(v, "_as_tensor"):
            t = convert_to_tensor(v)
            if dtype is not None and t.dtype != dtype:
                raise TypeError(f"Input '{arg_name}' of '{op_type}' Op has type {t.dtype.name} that "
                                f"does not match type {dtype.name} of argument '{first_name}'.")
        else:
            t = convert_to_tensor(v, dtype=dtype, name=arg_name)
            if dtype is None:
                dtype, first_name = t.dtype, arg_name
        tensors.append(t)
    return tensors


def apply_op(op_type: str, name: str | None, named_inputs: list[tuple[str, Any]], lower: Callable, *,
             same_dtype: bool = True, dtype: DType | None = None, default_name: str | None = None,
             attrs: dict[str, Any] | None = None, stateful: bool = False):
    """Create op `op_type` under name scope `name` (default `default_name` or the type), its
    inputs converted there; returns its output (or outputs). Without `attrs`, an op whose
    inputs share one dtype gets TF's attribute `T` (its `get_attr("T")`)."""
    values = [v for _, v in named_inputs]
    with op_scope(name, default_name or op_type, values) as scope:
        if same_dtype and named_inputs:
            tensors = convert_same_dtype(op_type, named_inputs, dtype)
            if attrs is None:       # TF's ops on same-typed inputs name their type "T"
                attrs = {"T": tensors[0].dtype}
        else:
            tensors = [convert_to_tensor(v, name=n) for n, v in named_inputs]
        op = make_op(op_type, tensors, lower, name=scope, attrs=attrs, stateful=stateful)
    return outputs(op)


def ir_op(op_type: str, ir_name: str, name: str | None, named_inputs: list[tuple[str, Any]], *,
          default_name: str | None = None, same_dtype: bool = True, attrs: dict[str, Any] | None = None,
          **ir_attrs):
    """A graph op that lowers to one IR op `ir_name` with attributes `ir_attrs`."""
    def lower(ctx, op, *values):
        return ctx.b.op(ir_name, *values, **ir_attrs)

    return apply_op(op_type, name, named_inputs, lower, same_dtype=same_dtype,
                    default_name=default_name, attrs=attrs)
