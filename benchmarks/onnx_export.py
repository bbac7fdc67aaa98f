"""Export a frozen tfc IR function to ONNX, for the onnxruntime column of benchmarks/run.py.

    from onnx_export import export
    model = export(module["main"])          # an onnx.ModelProto (opset 17)
    session = onnxruntime.InferenceSession(model.SerializeToString())

Covers the ops that the benchmark workloads use (frozen from models/*.py or built by run.py):
core.constant (-> initializers), math.matmul, nn.bias_add, math.add/sub/mul/real_div/maximum/
minimum, nn.relu/relu6, math.tanh/exp/sigmoid/neg, nn.softmax/log_softmax, nn.conv2d,
nn.max_pool/avg_pool, array.reshape/squeeze/expand_dims/transpose and core.identity. Any other
op raises `ExportError` naming it.

Layouts: tfc's windowed ops are NHWC with HWIO filters (TF's convention); ONNX's Conv and pools
are NCHW with OIHW filters. A NHWC op becomes Transpose(0,3,1,2) -> Conv/Pool ->
Transpose(0,2,3,1), and a constant filter is transposed to OIHW once at export; onnxruntime's
own layout optimizer cancels the transposes that meet. TF's SAME padding (the odd element at the
end) becomes explicit `pads`.
"""

from __future__ import annotations

import math

import numpy as np

try:
    import onnx
    from onnx import helper, numpy_helper
except ImportError:  # run.py checks `available()` before exporting
    onnx = None

OPSET = 17
IR_VERSION = 8          # what opset 17 needs; readable by every onnxruntime that runs opset 17

_ELEMENTWISE = {"math.add": "Add", "math.sub": "Sub", "math.mul": "Mul", "math.real_div": "Div",
                "math.maximum": "Max", "math.minimum": "Min", "nn.relu": "Relu",
                "math.tanh": "Tanh", "math.exp": "Exp", "math.sigmoid": "Sigmoid",
                "math.neg": "Neg", "math.abs": "Abs", "math.sqrt": "Sqrt"}
_NHWC_TO_NCHW = [0, 3, 1, 2]
_NCHW_TO_NHWC = [0, 2, 3, 1]


class ExportError(ValueError):
    """The function uses an op (or attribute) this exporter does not translate."""


def available() -> bool:
    return onnx is not None


def _same_pads(size: int, kernel: int, stride: int, dilation: int) -> tuple[int, int]:
    """TF's SAME padding of one spatial dimension: (before, after), the odd element after."""
    out = -(-size // stride)
    effective = (kernel - 1) * dilation + 1
    total = max((out - 1) * stride + effective - size, 0)
    return total // 2, total - total // 2


class _Exporter:
    def __init__(self, function):
        self.function = function
        self.nodes: list = []
        self.initializers: list = []
        self.names: dict[int, str] = {}
        self.constants: dict[int, np.ndarray] = {}
        self.counter = 0

    def fresh(self, hint: str = "t") -> str:
        self.counter += 1
        return f"{hint}_{self.counter}"

    def name(self, value) -> str:
        key = id(value)
        if key not in self.names:       # a constant becomes an initializer when first used
            self.names[key] = self.initializer(self.constants[key])
        return self.names[key]

    def initializer(self, array: np.ndarray, hint: str = "const") -> str:
        name = self.fresh(hint)
        self.initializers.append(numpy_helper.from_array(np.ascontiguousarray(array), name))
        return name

    def node(self, op_type: str, inputs: list[str], hint: str = "t", output: str | None = None,
             **attrs) -> str:
        output = output or self.fresh(hint)
        self.nodes.append(helper.make_node(op_type, inputs, [output], name=self.fresh(op_type),
                                           **attrs))
        return output

    # ops -------------------------------------------------------------------------------------
    def convert(self, op) -> None:
        name = op.name
        if name == "core.constant":
            array = np.asarray(op.attributes["value"]).astype(op.results[0].type.dtype.numpy, copy=False)
            self.constants[id(op.results[0])] = array
            return
        if name == "core.identity":
            for operand, result in zip(op.operands, op.results):
                self.names[id(result)] = self.name(operand)
            return
        result = op.results[0]
        if name == "nn.conv2d":     # reads its operands itself: a constant filter goes in as OIHW
            self.names[id(result)] = self._conv(op)
            return
        ins = [self.name(v) for v in op.operands]
        if name in _ELEMENTWISE:
            out = self.node(_ELEMENTWISE[name], ins)
        elif name == "nn.relu6":
            zero = self.initializer(np.zeros((), result.type.dtype.numpy))
            six = self.initializer(np.full((), 6, result.type.dtype.numpy))
            out = self.node("Clip", [ins[0], zero, six])
        elif name == "math.matmul":
            a, b = ins
            if op.attributes.get("transpose_a"):
                a = self.node("Transpose", [a], perm=self._swap_last(op.operands[0]))
            if op.attributes.get("transpose_b"):
                b = self.node("Transpose", [b], perm=self._swap_last(op.operands[1]))
            out = self.node("MatMul", [a, b])
        elif name == "nn.bias_add":
            bias = ins[1]
            rank = op.operands[0].type.rank
            if op.attributes.get("data_format", "NHWC") == "NCHW" and rank > 2:
                shape = [-1] + [1] * (rank - 2)
                bias = self.node("Reshape", [bias, self.initializer(np.array(shape, np.int64), "shape")])
            out = self.node("Add", [ins[0], bias])
        elif name in ("nn.softmax", "nn.log_softmax"):
            kind = "Softmax" if name == "nn.softmax" else "LogSoftmax"
            out = self.node(kind, ins, axis=int(op.attributes.get("axis", -1)))
        elif name in ("array.reshape", "array.squeeze", "array.expand_dims"):
            shape = self.initializer(np.array(result.type.shape, np.int64), "shape")
            out = self.node("Reshape", [ins[0], shape])
        elif name == "array.transpose":
            out = self.node("Transpose", ins, perm=[int(p) for p in op.attributes["perm"]])
        elif name in ("nn.max_pool", "nn.avg_pool"):
            out = self._pool(op, ins)
        else:
            raise ExportError(f"no ONNX translation for {name}"
                              + (f" at {op.location}" if op.location else ""))
        self.names[id(result)] = out

    @staticmethod
    def _swap_last(value) -> list[int]:
        perm = list(range(value.type.rank))
        perm[-2], perm[-1] = perm[-1], perm[-2]
        return perm

    def _spatial(self, op, kernel) -> tuple[list[int], list[int], list[int]]:
        """strides, dilations and ONNX pads [top, left, bottom, right] of a windowed op."""
        attrs = op.attributes
        fmt = attrs.get("data_format", "NHWC")
        shape = op.operands[0].type.shape
        hw = shape[1:3] if fmt == "NHWC" else shape[2:4]
        strides = [int(s) for s in attrs["strides"]]
        dilations = [int(d) for d in attrs.get("dilations", (1, 1))]
        padding = attrs["padding"]
        if padding == "VALID":
            pads = [0, 0, 0, 0]
        elif padding == "SAME":
            (t, b), (l, r) = (_same_pads(hw[i], kernel[i], strides[i], dilations[i]) for i in range(2))
            pads = [t, l, b, r]
        else:   # EXPLICIT: [top, bottom, left, right]
            t, b, l, r = (int(p) for p in attrs["explicit_paddings"])
            pads = [t, l, b, r]
        return strides, dilations, pads

    def _to_nchw(self, op, x: str) -> str:
        if op.attributes.get("data_format", "NHWC") == "NHWC":
            return self.node("Transpose", [x], perm=_NHWC_TO_NCHW)
        return x

    def _from_nchw(self, op, y: str) -> str:
        if op.attributes.get("data_format", "NHWC") == "NHWC":
            return self.node("Transpose", [y], perm=_NCHW_TO_NHWC)
        return y

    def _conv(self, op) -> str:
        x, filt = op.operands
        kh, kw = filt.type.shape[:2]
        if id(filt) in self.constants:       # HWIO -> OIHW once, at export
            w = self.initializer(self.constants[id(filt)].transpose(3, 2, 0, 1), "filter_oihw")
        else:
            w = self.node("Transpose", [self.name(filt)], perm=[3, 2, 0, 1])
        strides, dilations, pads = self._spatial(op, (kh, kw))
        y = self.node("Conv", [self._to_nchw(op, self.name(x)), w], kernel_shape=[kh, kw], strides=strides,
                      dilations=dilations, pads=pads)
        return self._from_nchw(op, y)

    def _pool(self, op, ins: list[str]) -> str:
        kernel = [int(k) for k in op.attributes["ksize"]]
        strides, _, pads = self._spatial(op, kernel)
        extra = {"count_include_pad": 0} if op.name == "nn.avg_pool" else {}
        kind = "MaxPool" if op.name == "nn.max_pool" else "AveragePool"
        y = self.node(kind, [self._to_nchw(op, ins[0])], kernel_shape=kernel, strides=strides,
                      pads=pads, **extra)
        return self._from_nchw(op, y)

    # the graph -------------------------------------------------------------------------------
    def run(self, graph_name: str):
        function = self.function
        inputs = []
        for i, arg in enumerate(function.args):
            name = arg.name_hint or f"arg{i}"
            self.names[id(arg)] = name
            inputs.append(helper.make_tensor_value_info(
                name, helper.np_dtype_to_tensor_dtype(arg.type.dtype.numpy), list(arg.type.shape)))
        ret = function.body.terminator
        for op in function.body.ops:
            if op is not ret:
                self.convert(op)
        out_names = function.attributes.get("outputs") or [f"out{i}" for i in range(len(ret.operands))]
        outputs = []
        for name, value in zip(out_names, ret.operands):
            # Rename the producing node's output when that is safe, else add an Identity.
            source = self.name(value)
            producer = next((n for n in self.nodes if source in n.output), None)
            if producer is not None and sum(v is value for v in ret.operands) == 1:
                producer.output[list(producer.output).index(source)] = name
                for n in self.nodes:
                    for j, inp in enumerate(n.input):
                        if inp == source:
                            n.input[j] = name
                self.names[id(value)] = name
            else:
                self.node("Identity", [source], output=name)
            outputs.append(helper.make_tensor_value_info(
                name, helper.np_dtype_to_tensor_dtype(value.type.dtype.numpy), list(value.type.shape)))
        graph = helper.make_graph(self.nodes, graph_name, inputs, outputs, self.initializers)
        model = helper.make_model(graph, producer_name="tfc-benchmarks",
                                  opset_imports=[helper.make_opsetid("", OPSET)])
        model.ir_version = IR_VERSION
        return model


def export(function, graph_name: str = "main"):
    """`function` (a static-shaped tfc IR function) as an onnx.ModelProto."""
    if onnx is None:
        raise ImportError("onnx is not installed (pip install -e '.[bench]')")
    for arg in function.args:
        if not arg.type.is_static:
            raise ExportError(f"input {arg.name_hint} has a dynamic type {arg.type}")
    return _Exporter(function).run(graph_name)


def check(model) -> None:
    """onnx's checker (skipping the >2 GB path: VGG19 is 548 MB, under the limit)."""
    onnx.checker.check_model(model)


if __name__ == "__main__":   # export a model file: python benchmarks/onnx_export.py models/mlp.py out.onnx
    import sys

    from tfc.model import freeze, load_model

    path, out = sys.argv[1], sys.argv[2]
    batch = int(sys.argv[3]) if len(sys.argv) > 3 else 1
    model = export(freeze(load_model(path), batch=batch)["main"])
    check(model)
    onnx.save(model, out)
    print(f"wrote {out}: {len(model.graph.node)} nodes, "
          f"{sum(math.prod(t.dims) for t in model.graph.initializer)} weights")
