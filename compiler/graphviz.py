"""Drawing IR as a Graphviz graph (`tfc graph`).

Each function becomes a graph read top to bottom: its arguments (ellipses), constants (small
grey notes with their type), ops (boxes with the op name and result type) and its results (the
`return` node), with one edge per use of a value, labelled with the value's shape. A fused
group (`core.fusion`) is drawn as a cluster holding its ops, labelled with its kind; edges go
straight from the values outside the group to the ops inside that read them, and from the op
that computes the group's output to its users.

    dot = module_to_dot(module)
    Path("model.dot").write_text(dot)
    render("model.dot", "svg")        # model.svg, if Graphviz's `dot` program is installed
"""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

from tfc.ir import Function, Module, Operation, Value

#: Fill colours of fused groups, by kind.
CLUSTER_COLORS = {"elementwise": "#e3f2fd", "reduction": "#fff3e0", "contraction_epilogue": "#e8f5e9"}
FORMATS = ("svg", "png")


def quote(text: str) -> str:
    """A dot string literal ("\\n" in `text` stays a line break)."""
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n") + '"'


def _type_label(value: Value) -> str:
    return str(value.type)[len("tensor<"):-1]


class _Drawer:
    def __init__(self, function: Function, prefix: str):
        self.function = function
        self.prefix = prefix
        self.lines: list[str] = []            # nodes (inside their clusters)
        self.edges: list[str] = []            # edges, after all nodes
        self.source: dict[int, str] = {}      # value -> node that computes it
        self.count = 0
        self.clusters = 0

    def node(self, label: str, indent: str, **attrs) -> str:
        name = f"{self.prefix}n{self.count}"
        self.count += 1
        attrs = {"label": label, **attrs}
        text = ", ".join(f"{k}={quote(str(v))}" for k, v in attrs.items())
        self.lines.append(f"{indent}{name} [{text}];")
        return name

    def edge(self, value: Value, target: str, indent: str) -> None:
        source = self.source.get(id(value))
        if source is not None:
            self.edges.append(f"{source} -> {target} [label={quote(_type_label(value))}];")

    def draw(self, indent: str = "  ") -> list[str]:
        for i, arg in enumerate(self.function.args):
            label = f"%{arg.name_hint or f'arg{i}'}\n{_type_label(arg)}"
            self.source[id(arg)] = self.node(label, indent, shape="ellipse", style="filled",
                                             fillcolor="#fffde7")
        for op in self.function.body.ops:
            self.op(op, indent)
        return self.lines + [indent + e for e in self.edges]

    def op(self, op: Operation, indent: str) -> None:
        if op.name == "core.constant":
            self.source[id(op.result)] = self.node(
                _type_label(op.result), indent, shape="note", fontsize="9", color="grey55",
                fontcolor="grey35")
            return
        if op.name == "core.return":
            node = self.node("return", indent, shape="doubleoctagon")
            for value in op.operands:
                self.edge(value, node, indent)
            return
        if op.name == "core.fusion" and op.regions:
            self.fusion(op, indent)
            return
        label = op.name
        if op.results:
            label += "\n" + ", ".join(_type_label(r) for r in op.results)
        tooltip = str(op.location) if op.location is not None else op.name
        node = self.node(label, indent, shape="box", style="rounded", tooltip=tooltip)
        for value in op.operands:
            self.edge(value, node, indent)
        for result in op.results:
            self.source[id(result)] = node

    def fusion(self, op: Operation, indent: str) -> None:
        region = op.regions[0]
        kind = op.attributes.get("kind", "fused")
        cluster = f"cluster_{self.prefix}{self.clusters}"
        self.clusters += 1
        self.lines.append(f"{indent}subgraph {cluster} {{")
        inner = indent + "  "
        self.lines.append(f"{inner}label={quote(f'fused: {kind}')};")
        self.lines.append(f'{inner}style="rounded,filled"; color="#5c7fb8"; '
                          f'fillcolor={quote(CLUSTER_COLORS.get(kind, "#eeeeee"))};')
        for arg, operand in zip(region.args, op.operands):
            if id(operand) in self.source:
                self.source[id(arg)] = self.source[id(operand)]
        for inner_op in region.ops:
            if inner_op.name == "core.yield":
                for value, result in zip(inner_op.operands, op.results):
                    if id(value) in self.source:
                        self.source[id(result)] = self.source[id(value)]
            else:
                self.op(inner_op, inner)
        self.lines.append(f"{indent}}}")


HEADER = ["  rankdir=TB;", '  graph [fontname="Helvetica", fontsize=12];',
          '  node [fontname="Helvetica", fontsize=11];', '  edge [fontname="Helvetica", fontsize=9];']


def function_to_dot(function: Function, graph_name: str | None = None) -> str:
    """One function as a dot digraph."""
    lines = [f"digraph {quote(graph_name or function.name)} {{"] + HEADER
    lines += _Drawer(function, "").draw()
    lines.append("}")
    return "\n".join(lines) + "\n"


def module_to_dot(module: Module) -> str:
    """A module as one dot digraph: its only function, or each function in a cluster."""
    functions = list(module)
    if len(functions) == 1:
        return function_to_dot(functions[0])
    lines = ['digraph "module" {'] + HEADER
    for i, function in enumerate(functions):
        lines.append(f"  subgraph cluster_f{i} {{")
        lines.append(f"    label={quote('@' + function.name)};")
        lines += _Drawer(function, f"f{i}_").draw("    ")
        lines.append("  }")
    lines.append("}")
    return "\n".join(lines) + "\n"


def dot_program() -> str | None:
    """The path of Graphviz's `dot`, or None if it is not installed."""
    return shutil.which("dot")


def render(dot_path, fmt: str, output=None) -> Path:
    """Run `dot -T<fmt>` on `dot_path`; returns the image's path (default: same stem).
    Raises FileNotFoundError without `dot`, RuntimeError if dot fails."""
    if fmt not in FORMATS:
        raise ValueError(f"format must be one of {', '.join(FORMATS)}, got {fmt!r}")
    program = dot_program()
    if program is None:
        raise FileNotFoundError("the Graphviz program `dot` is not installed")
    dot_path = Path(dot_path)
    output = Path(output) if output is not None else dot_path.with_suffix("." + fmt)
    done = subprocess.run([program, f"-T{fmt}", str(dot_path), "-o", str(output)],
                          capture_output=True, text=True)
    if done.returncode != 0:
        raise RuntimeError(f"dot failed: {done.stderr.strip() or done.returncode}")
    return output
