"""The BANG C emitter: an optimized IR module -> a BangProgram (one `.mlu` kernel per kernel op,
a launch plan over GDRAM buffers, the weights).

`compile_module(module, profile)` walks @main (or the only function) op by op:
  core.constant                 -> a weight buffer when a kernel reads it as a tensor (one-element
                                   constants inside elementwise kernels become literals)
  array.reshape / squeeze / expand_dims / core.identity -> alias the operand's buffer
  elementwise ops, `core.fusion` elementwise groups     -> elementwise.py (one streaming kernel)
  reductions, `core.fusion` reduction groups, softmax   -> reduce.py
  nn.conv2d / math.matmul (+ bias, relu epilogue groups), nn.max_pool / avg_pool
                                -> the tensor-unit kernels of nn.py
  quant.conv2d / quant.matmul followed by quant.dequantize with a power-of-two scale
                                -> one fixed-point conv/mlp kernel with fix_position (float output)
  array.transpose / concat / pad -> copy kernels (movement.py)
Anything else raises CodegenError naming the op and its location.
"""

from __future__ import annotations

import numpy as np

from tfc.ir import dtypes as dt

from . import movement, nn
from .common import (CodegenError, Kernel, c_ident, constant_of, get_target, pow2_exponent, registry,
                     storage_dtype, unsupported, where)
from .elementwise import HANDLERS, Input, classify, elementwise_kernel
from .plan import FORMAT, BangProgram
from .reduce import argmax_kernel, reduce_kernel, softmax_kernel

ALIASES = {"array.reshape", "array.squeeze", "array.expand_dims", "core.identity"}
REDUCTIONS = {"math.reduce_sum": "sum", "math.reduce_mean": "mean", "math.reduce_max": "max",
              "math.reduce_min": "min"}


#: Ops without a BANG C kernel, and why (the CodegenError says so).
_TRANSCENDENTAL = "no table intrinsic for this function in BANG.md (only exp/log/sqrt/rsqrt/recip/sigmoid/tanh)"
_INT_MATH = "integer arithmetic on the vector unit is not emitted (float16/float32 only)"
_HOST = "random/stateful ops run on the host"
_LOSS = "a training loss: not emitted for inference kernels"
UNSUPPORTED = {
    **{f"math.{n}": _TRANSCENDENTAL for n in ("acos", "asin", "atan", "atan2", "cos", "cosh", "sin", "sinh",
                                              "tan", "pow")},
    **{f"math.{n}": _INT_MATH for n in ("floor_div", "floor_mod", "truncate_div", "truncate_mod")},
    **{f"math.{n}": "no rounding intrinsic to float in BANG.md" for n in ("ceil", "floor", "round")},
    **{f"math.{n}": "NaN/Inf classification: the 2xx units saturate, there is no NaN to test"
       for n in ("is_finite", "is_inf", "is_nan")},
    **{f"math.{n}": "boolean/product reductions are not emitted" for n in ("reduce_all", "reduce_any",
                                                                           "reduce_prod")},
    **{f"random.{n}": _HOST for n in ("gamma", "multinomial", "normal", "shuffle", "truncated_normal",
                                      "uniform", "uniform_int")},
    "nn.dropout": _HOST,
    **{f"nn.{n}": _LOSS for n in ("l2_loss", "sigmoid_cross_entropy_with_logits",
                                  "softmax_cross_entropy_with_logits",
                                  "sparse_softmax_cross_entropy_with_logits",
                                  "weighted_cross_entropy_with_logits")},
    "nn.max_pool_with_argmax": "the pooling intrinsics give no indices",
    **{f"array.{n}": "data-dependent indexing (gather/where/one_hot) is not emitted"
       for n in ("gather", "gather_nd", "where", "one_hot")},
    **{f"array.{n}": "matrix-diagonal ops are not emitted" for n in (
        "diag", "diag_part", "matrix_band_part", "matrix_diag", "matrix_diag_part", "matrix_set_diag")},
    "array.range": "folded to a constant at compile time when its bounds are constants",
    "array.shape": "folded to a constant at compile time (static shapes)",
    **{f"linalg.{n}": "linear algebra decompositions are not emitted" for n in (
        "matrix_determinant", "matrix_inverse", "qr")},
    "core.constant": "a weight buffer (or a literal inside an elementwise kernel), not a kernel",
    "core.return": "the plan's outputs",
    "core.yield": "the end of a fused region",
}


def _short(name: str) -> str:
    return name.split(".")[-1]


class Emitter:
    def __init__(self, function, target, source: str = ""):
        self.function = function
        self.target = target
        self.buffers: dict[str, dict] = {}
        self.buf_of: dict[int, str] = {}
        self.weights: dict[str, np.ndarray] = {}
        self.weight_entries: list[dict] = []
        self.sources: dict[str, str] = {}
        self.launches: list[dict] = []
        self.done: set[int] = set()          # ops already emitted as part of another kernel
        self.skip_in_fusion: dict[int, set] = {}   # fusion op id -> ids of ops folded elsewhere
        self.count = 0
        self.source = source

    # buffers -------------------------------------------------------------------------------------
    def new_buffer(self, shape, dtype, kind: str) -> str:
        name = f"b{len(self.buffers)}"
        np_dtype = np.dtype(dtype.numpy if hasattr(dtype, "numpy") else dtype)
        self.buffers[name] = {"bytes": int(np.prod(shape, dtype=np.int64)) * np_dtype.itemsize,
                              "dtype": np_dtype.name, "shape": [int(d) for d in shape], "kind": kind}
        return name

    def weight_buffer(self, array: np.ndarray, name_hint: str = "") -> str:
        array = np.ascontiguousarray(array)
        buf = self.new_buffer(array.shape, array.dtype, "weight")
        wname = f"w{len(self.weight_entries)}" + (f"_{c_ident(name_hint)}" if name_hint else "")
        self.weights[wname] = array
        self.weight_entries.append({"name": wname, "buffer": buf, "dtype": array.dtype.name,
                                    "shape": list(array.shape)})
        return buf

    def buffer_of(self, value) -> str:
        key = id(value)
        if key in self.buf_of:
            return self.buf_of[key]
        const = constant_of(value)
        if const is not None:
            self.buf_of[key] = self.weight_buffer(const)
            return self.buf_of[key]
        raise CodegenError(f"internal: no buffer for {value!r}")

    def output_buffer(self, value, dtype=None) -> str:
        t = value.type
        buf = self.new_buffer(t.shape, dtype or storage_dtype(t.dtype), "temp")
        self.buf_of[id(value)] = buf
        return buf

    # kernels -------------------------------------------------------------------------------------
    def kernel_name(self, what: str) -> str:
        self.count += 1
        return f"k{self.count:02d}_{c_ident(what)}"

    def add_kernel(self, kernel, args: list[dict], op) -> None:
        filename = f"{kernel.name}.mlu"
        self.sources[filename] = kernel.source
        self.launches.append({"kernel": kernel.name, "file": filename, "dim": list(kernel.dim),
                              "ktype": kernel.ktype, "op": where(op), "args": args})

    def launch_arg(self, param: str, ctype: str, bind) -> dict:
        """The launch argument of parameter `param`, bound to ("value", ir value) | ("weight",
        ndarray) | ("output", ir value[, dtype]) (a new buffer) | ("scalar", number)."""
        kind, obj = bind[0], bind[1]
        if kind == "value":
            return {"param": param, "buffer": self.buffer_of(obj)}
        if kind == "weight":
            return {"param": param, "buffer": self.weight_buffer(obj)}
        if kind == "output":
            return {"param": param, "buffer": self.output_buffer(obj, bind[2] if len(bind) > 2 else None)}
        return {"param": param, "value": obj, "ctype": ctype}

    def add_own_kernel(self, kernel: Kernel, op) -> None:
        self.add_kernel(kernel, [self.launch_arg(p.name, p.ctype, p.bind) for p in kernel.params], op)

    # the walk ------------------------------------------------------------------------------------
    def run(self) -> BangProgram:
        f = self.function
        inputs = []
        for i, arg in enumerate(f.args):
            name = arg.name_hint or f"arg{i}"
            buf = self.new_buffer(arg.type.shape, arg.type.dtype, "input")
            self.buf_of[id(arg)] = buf
            inputs.append({"name": name, "buffer": buf, "shape": list(arg.type.shape),
                           "dtype": self.buffers[buf]["dtype"]})
            if not arg.type.is_static:
                raise CodegenError(f"input '{name}' has an unknown shape: the MLU backend needs static shapes")
        ret = None
        for op in f.body.ops:
            if op.name == "core.return":
                ret = op
                continue
            if id(op) in self.done:
                continue
            self.emit_op(op)
        outputs = self.outputs(ret, f)
        self.mark_frees()
        plan = {"format": FORMAT, "profile": self.target.name, "source": self.source,
                "function": f.name, "buffers": self.buffers, "inputs": inputs, "outputs": outputs,
                "weights": self.weight_entries, "launches": self.launches}
        return BangProgram(self.sources, plan, self.weights)

    def outputs(self, ret, f) -> list[dict]:
        names = f.attributes.get("outputs")
        if not (isinstance(names, (tuple, list)) and len(names) == len(ret.operands)):
            names = [f"out{i}" for i in range(len(ret.operands))]
        out, used = [], set()
        for name, value in zip(names, ret.operands):
            buf = self.buffer_of(value)
            if self.buffers[buf]["kind"] != "temp" or buf in used:
                buf = self.copy(value, buf)
            used.add(buf)
            self.buffers[buf]["kind"] = "output"
            out.append({"name": str(name), "buffer": buf, "shape": list(value.type.shape),
                        "dtype": np.dtype(value.type.dtype.numpy).name})
            if value.type.dtype == dt.bool_:
                out[-1]["dtype"] = "bool"
        return out

    def copy(self, value, src_buf: str) -> str:
        name = self.kernel_name("copy")
        nbytes = self.buffers[src_buf]["bytes"]
        kernel = movement.copy_kernel(name, nbytes)
        dst = self.new_buffer(self.buffers[src_buf]["shape"], np.dtype(self.buffers[src_buf]["dtype"]), "temp")
        self.add_kernel(kernel, [{"param": "src", "buffer": src_buf}, {"param": "dst", "buffer": dst}], None)
        self.launches[-1]["op"] = "copy"
        return dst

    def mark_frees(self) -> None:
        last = {}
        for i, launch in enumerate(self.launches):
            for a in launch["args"]:
                if "buffer" in a:
                    last[a["buffer"]] = i
        for launch in self.launches:
            launch["free"] = []
        for buf, i in last.items():
            if self.buffers[buf]["kind"] == "temp":
                self.launches[i]["free"].append(buf)

    def emit_op(self, op) -> None:
        name = op.name
        if name == "core.constant":
            return                                     # made a weight when a kernel reads it
        if name in ALIASES:
            if len(op.operands) != 1 or len(op.results) != 1:
                raise unsupported(op, "identity of several values")
            self.buf_of[id(op.result)] = self.buffer_of(op.operands[0])
            return
        for result in op.results:
            if not result.type.is_static:
                raise unsupported(op, "unknown shape (the MLU backend needs static shapes)")
        handler = OP_HANDLERS.get(name)
        if handler is None and name in HANDLERS:
            handler = _elementwise_op
        if handler is None:
            raise unsupported(op, UNSUPPORTED.get(name, "no BANG C kernel for this op"))
        try:
            handler(self, op)
        except CodegenError as e:
            text = str(e)
            if op.name not in text:
                raise CodegenError(f"{where(op)}: {text}") from None
            raise
        except ValueError as e:                        # nn.py's geometry/dtype checks
            raise CodegenError(f"{where(op)}: {e}") from None


OP_HANDLERS = {}
op_handler = registry(OP_HANDLERS)


# Elementwise -----------------------------------------------------------------------------------
def _budget(em) -> int:
    return em.target.nram_usable


def _elementwise_op(em: Emitter, op) -> None:
    inputs = [classify(v, v, op.result.type.shape, f"in{i}", _budget(em)) for i, v in enumerate(op.operands)]
    kernel = elementwise_kernel(em.kernel_name(_short(op.name)), [op], inputs, op.result, op.result,
                                em.target, comment=f"{where(op)}")
    em.add_own_kernel(kernel, op)


@op_handler("core.fusion")
def _fusion(em: Emitter, op) -> None:
    kind = op.attributes.get("kind")
    region = op.regions[0]
    ops = [o for o in region.ops if o.name != "core.yield"]
    result = region.ops[-1].operands[0]
    names = "_".join(_short(o.name) for o in ops)[:40]
    comment = "fused: " + ", ".join(where(o) for o in ops)
    if kind == "contraction_epilogue":
        return _contraction(em, op, ops, dict(zip(map(id, region.args), op.operands)))
    skip = em.skip_in_fusion.get(id(op), {})
    if kind == "elementwise":
        shape = result.type.shape
        inputs = []
        for i, (arg, outer) in enumerate(zip(region.args, op.operands)):
            if not arg.uses:
                continue
            inp = classify(arg, outer, shape, f"in{i}", _budget(em))
            if id(outer) in skip:
                inp.dtype = skip[id(outer)]
                inp.kind = "stream"
            inputs.append(inp)
        kernel = elementwise_kernel(em.kernel_name(names), _skipping(ops, skip), inputs, result,
                                    op.result, em.target, comment=comment)
        em.add_own_kernel(kernel, op)
        return
    if kind == "reduction":
        red = ops[-1]
        if red.name not in REDUCTIONS:
            raise unsupported(red, "fused reduction kind")
        src = red.operands[0]
        shape = src.type.shape
        inputs = [classify(arg, outer, shape, f"in{i}", _budget(em))
                  for i, (arg, outer) in enumerate(zip(region.args, op.operands)) if arg.uses]
        a, r, b = _reduction_view(red)
        kernel = reduce_kernel(em.kernel_name(names), REDUCTIONS[red.name], ops[:-1], inputs, src,
                               a, r, b, op.result, em.target, comment=comment)
        em.add_own_kernel(kernel, op)
        return
    raise unsupported(op, f"fusion kind {kind!r}")


class _Skipped:
    """A quant.dequantize folded into the conv/matmul before it: passes its operand through."""

    def __init__(self, op):
        self.op = op
        self.name = "core.identity"
        self.operands = op.operands
        self.result = op.result
        self.results = op.results
        self.attributes = {}
        self.location = op.location


def _skipping(ops, skip):
    if not skip:
        return ops
    out = []
    for o in ops:
        if o.name == "quant.dequantize" and id(o.operands[0]) in skip.get("args", set()):
            out.append(_Skipped(o))
        else:
            out.append(o)
    return out


def _reduction_view(op):
    shape = list(op.operands[0].type.shape)
    axes = op.attributes.get("axes")
    rank = len(shape)
    axes = sorted({a % rank for a in (range(rank) if axes is None else axes)}) if rank else []
    if not axes:
        axes = []
    if axes and axes != list(range(axes[0], axes[-1] + 1)):
        raise unsupported(op, f"reduction over non-contiguous axes {axes}")
    if not axes:
        return int(np.prod(shape, dtype=np.int64)), 1, 1
    a = int(np.prod(shape[:axes[0]], dtype=np.int64))
    r = int(np.prod(shape[axes[0]:axes[-1] + 1], dtype=np.int64))
    b = int(np.prod(shape[axes[-1] + 1:], dtype=np.int64))
    if r == 0:
        raise unsupported(op, "an empty reduction")
    return a, r, b


@op_handler(*REDUCTIONS)
def _reduction(em: Emitter, op) -> None:
    src = op.operands[0]
    inp = Input("in0", src, src, "stream", src.type.dtype)
    a, r, b = _reduction_view(op)
    kernel = reduce_kernel(em.kernel_name(_short(op.name)), REDUCTIONS[op.name], [], [inp], src, a, r, b,
                           op.result, em.target, comment=where(op))
    em.add_own_kernel(kernel, op)


@op_handler("nn.softmax", "nn.log_softmax")
def _softmax(em: Emitter, op) -> None:
    axis = op.attributes.get("axis", -1)
    rank = len(op.operands[0].type.shape)
    if axis % rank != rank - 1:
        raise unsupported(op, "softmax over an axis other than the last")
    kernel = softmax_kernel(em.kernel_name(_short(op.name)), op.operands[0], op.result, em.target,
                            log=op.name == "nn.log_softmax", comment=where(op))
    em.add_own_kernel(kernel, op)


@op_handler("math.argmax", "math.argmin")
def _argmax(em: Emitter, op) -> None:
    rank = len(op.operands[0].type.shape)
    if rank == 0 or op.attributes.get("axis", -1) % rank != rank - 1:
        raise unsupported(op, "arg max/min over an axis other than the last")
    kernel = argmax_kernel(em.kernel_name(_short(op.name)), op.operands[0], op.result, em.target,
                           is_min=op.name == "math.argmin", comment=where(op))
    em.add_own_kernel(kernel, op)


# Data movement ---------------------------------------------------------------------------------
@op_handler("array.transpose", "array.concat", "array.pad", "array.stack")
def _movement(em: Emitter, op) -> None:
    kernel = movement.kernel_for(em.kernel_name(_short(op.name)), op, em.target)
    em.add_own_kernel(kernel, op)


@op_handler("array.split", "array.unstack")
def _split(em: Emitter, op) -> None:
    kernel = movement.split_kernel(em.kernel_name(_short(op.name)), op)
    em.add_own_kernel(kernel, op)


@op_handler("array.slice", "array.strided_slice", "array.reverse", "array.broadcast_to", "array.tile")
def _affine(em: Emitter, op) -> None:
    if len(op.operands) != 1:
        raise unsupported(op, "indices given as tensors")
    kernel = movement.affine_copy_kernel(em.kernel_name(_short(op.name)), op, em.target)
    em.add_own_kernel(kernel, op)


# Tensor unit (nn.py) ---------------------------------------------------------------------------
def _conv_pad(op):
    padding = op.attributes.get("padding", "VALID")
    if padding == "EXPLICIT":
        p = list(op.attributes.get("explicit_paddings", ()))
        return tuple(int(v) for v in p[:4])
    return padding


def _check_conv_attrs(op):
    if op.attributes.get("data_format", "NHWC") != "NHWC":
        raise unsupported(op, "data_format NCHW (the MLU kernels take NHWC)")
    if tuple(op.attributes.get("dilations", (1, 1))) not in ((1, 1), (1, 1, 1, 1)):
        raise unsupported(op, "dilated convolution")


def _strides(op):
    s = list(op.attributes.get("strides", (1, 1)))
    return (s[1], s[2]) if len(s) == 4 else (s[0], s[1])


def _launch_nn(em: Emitter, ks, op, bindings: dict) -> None:
    """bindings: param -> ("value", v) | ("weight", ndarray) | ("output", v, dtype)."""
    for pname, _ in ks.params:
        if pname not in bindings:
            raise CodegenError(f"{where(op)}: internal: nothing bound to parameter {pname} of {ks.name}")
    em.add_kernel(ks, [em.launch_arg(pname, ctype, bindings[pname]) for pname, ctype in ks.params], op)


def _contraction(em: Emitter, fusion, ops, outer_of) -> None:
    """conv2d / matmul (+ bias) (+ relu) as one tensor-unit kernel."""
    main = ops[0]
    bias_value, relu = None, False
    for o in ops[1:]:
        if o.name in ("nn.bias_add", "math.add"):
            bias_value = [v for v in o.operands if v is not (ops[0].result if o is ops[1] else None)
                          and v.type.shape == (o.result.type.shape[-1],)][-1]
        elif o.name == "nn.relu":
            relu = True
        else:
            raise unsupported(o, "in a contraction epilogue")
    outer = lambda v: outer_of.get(id(v), v)   # noqa: E731
    _tensor_op(em, main, [outer(v) for v in main.operands], fusion.result,
               outer(bias_value) if bias_value is not None else None, relu, None, fusion)


@op_handler("nn.conv2d", "math.matmul")
def _float_contraction(em: Emitter, op) -> None:
    _tensor_op(em, op, list(op.operands), op.result, None, False, None, op)


def _tensor_op(em, op, operands, result, bias, relu, fix, anchor, out_dtype=None):
    x, w = operands
    wconst = constant_of(w)
    if wconst is None:
        raise unsupported(op, "a non-constant filter/weight (the kernels read pre-arranged weights)")
    dtype = np.dtype(x.type.dtype.numpy).name
    if fix is None and not em.target.float_conv:
        raise unsupported(op, f"{dtype} on {em.target.name}: its conv/matmul units take int8/int16 "
                              "only; quantize the model first (tfc compile --precision int16, or "
                              "tfc.precision.quantize_module(..., scheme='fixed'))")
    name = em.kernel_name(_short(op.name))
    kw = dict(bias=bias is not None, relu=relu, fix_position=fix)
    if out_dtype is not None:
        kw["out_dtype"] = out_dtype
    bias_bind = None
    odt_out = np.dtype(out_dtype) if out_dtype is not None else None
    if bias is not None:
        bconst = constant_of(bias)
        odt = np.dtype(out_dtype or ("float32" if fix is not None else dtype))
        bias_bind = ("weight", bconst.astype(odt)) if bconst is not None else ("value", bias)
    if op.name in ("nn.conv2d", "quant.conv2d"):
        _check_conv_attrs(op)
        n, h, wd, ci = x.type.shape
        kh, kwid, _, co = wconst.shape
        sh, sw = _strides(op)
        ks = nn.emit_conv2d(name, n, h, wd, ci, co, kh, kwid, sh, sw, _conv_pad(op), dtype,
                            em.target.name, **kw)
        binds = {"input": ("value", x), "filter": ("weight", ks.arrange["filter"](wconst)),
                 "output": ("output", result, odt_out)}
    else:
        if op.attributes.get("transpose_a"):
            raise unsupported(op, "transpose_a")
        if len(x.type.shape) != 2:
            raise unsupported(op, "batched matmul")
        b = wconst.T if op.attributes.get("transpose_b") else wconst
        m, k = x.type.shape
        ks = nn.emit_matmul(name, m, k, b.shape[1], dtype, em.target.name, **kw)
        binds = {"a": ("value", x), "weight": ("weight", ks.arrange["weight"](b)),
                 "output": ("output", result, odt_out)}
    if bias_bind is not None:
        binds["bias"] = bias_bind
    _launch_nn(em, ks, anchor, binds)


@op_handler("nn.depthwise_conv2d")
def _depthwise(em: Emitter, op) -> None:
    _check_conv_attrs(op)
    x, w = op.operands
    wconst = constant_of(w)
    if wconst is None:
        raise unsupported(op, "a non-constant filter")
    n, h, wd, c = x.type.shape
    kh, kw, _, mult = wconst.shape
    sh, sw = _strides(op)
    ks = nn.emit_depthwise_conv2d(em.kernel_name("depthwise_conv2d"), n, h, wd, c, kh, kw, sh, sw,
                                  _conv_pad(op), np.dtype(x.type.dtype.numpy).name, em.target.name,
                                  multiplier=mult)
    _launch_nn(em, ks, op, {"input": ("value", x), "filter": ("weight", ks.arrange["filter"](wconst)),
                            "output": ("output", op.result, None)})


@op_handler("nn.max_pool", "nn.avg_pool")
def _pool(em: Emitter, op) -> None:
    if op.attributes.get("data_format", "NHWC") != "NHWC":
        raise unsupported(op, "data_format NCHW")
    x = op.operands[0]
    n, h, w, c = x.type.shape
    ksize = list(op.attributes["ksize"])
    strides = list(op.attributes["strides"])
    if len(ksize) == 4:
        if ksize[0] != 1 or ksize[3] != 1:
            raise unsupported(op, "pooling over the batch or channel axis")
        ksize = ksize[1:3]
    if len(strides) == 4:
        strides = strides[1:3]
    kind = "max" if op.name == "nn.max_pool" else "avg"
    name = em.kernel_name(_short(op.name))
    ks = nn.emit_pool(name, kind, n, h, w, c, ksize[0], ksize[1], strides[0], strides[1],
                      op.attributes.get("padding", "VALID"), np.dtype(x.type.dtype.numpy).name,
                      em.target.name)
    _launch_nn(em, ks, op, {"input": ("value", x), "output": ("output", op.result, None)})


# Fixed point: quant.conv2d / quant.matmul + dequantize --------------------------------------------
@op_handler("quant.conv2d", "quant.matmul")
def _quant_contraction(em: Emitter, op) -> None:
    users = op.result.users()
    if len(users) != 1:
        raise unsupported(op, "its integer result has several users (it must feed one quant.dequantize)")
    user = users[0]
    deq, fusion = None, None
    if user.name == "quant.dequantize":
        deq = user
    elif user.name == "core.fusion" and user.attributes.get("kind") == "elementwise":
        region = user.regions[0]
        for arg, outer in zip(region.args, user.operands):
            if outer is op.result:
                inner_users = arg.users()
                if len(inner_users) == 1 and inner_users[0].name == "quant.dequantize":
                    deq, fusion = inner_users[0], user
    if deq is None:
        raise unsupported(op, "its result must feed a quant.dequantize (its integer sums are not stored)")
    scales = [float(s) for s in deq.attributes["scale"]]
    pos = pow2_exponent(scales[0]) if len(set(scales)) == 1 else None
    if pos is None:
        raise unsupported(op, "the dequantize scale must be one power of two (the fixed-point "
                              "scheme: quantize_module(..., scheme='fixed'))")
    out_dtype = np.dtype(deq.attributes.get("dtype", dt.float32).numpy).name
    if fusion is None:
        em.done.add(id(deq))
        result, bias, relu = _epilogue(em, deq.result)
        _tensor_op(em, op, list(op.operands), result, bias, relu, pos, op, out_dtype=out_dtype)
    else:
        _tensor_op(em, op, list(op.operands), op.result, None, False, pos, op, out_dtype=out_dtype)
        # the fusion reads the float output in place of the integer sums
        skip = em.skip_in_fusion.setdefault(id(fusion), {})
        skip[id(op.result)] = deq.result.type.dtype
        region = fusion.regions[0]
        skip.setdefault("args", set()).update(
            id(a) for a, o in zip(region.args, fusion.operands) if o is op.result)


def _epilogue(em: Emitter, value):
    """Fold a following bias add (nn.bias_add, or math.add of a [C] vector) and then nn.relu,
    each the single user of the value before it, into the tensor-unit kernel. Returns the
    last folded value, the bias value (or None) and whether relu is applied."""
    bias, relu = None, False
    users = value.users()
    if len(users) == 1 and value.type.dtype == dt.float32:
        u = users[0]
        channels = value.type.shape[-1] if value.type.shape else None
        if u.name == "nn.bias_add" and u.operands[0] is value and \
                u.attributes.get("data_format", "NHWC") == "NHWC":
            bias = u.operands[1]
        elif u.name == "math.add" and u.result.type.shape == value.type.shape:
            others = [v for v in u.operands if v is not value]
            if len(others) == 1 and others[0].type.shape == (channels,):
                bias = others[0]
        if bias is not None:
            em.done.add(id(u))
            value = u.result
            users = value.users()
    if len(users) == 1 and users[0].name == "nn.relu":
        em.done.add(id(users[0]))
        value = users[0].result
        relu = True
    return value, bias, relu


def compile_module(module, profile="mlu270", *, function: str | None = None, source: str = "") -> BangProgram:
    """The BANG C program of `module`'s @main (or its only function), for `profile`."""
    target = get_target(profile)
    functions = list(module)
    if function is not None:
        f = module[function]
    elif "main" in module.functions:
        f = module["main"]
    elif len(functions) == 1:
        f = functions[0]
    else:
        raise CodegenError("the module has several functions and no @main")
    return Emitter(f, target, source or str(f.attributes.get("source", ""))).run()
