"""Precision lowering: rewrite conv2d / matmul layers with constant weights to int8, int16 or
fp16 per a plan (`precision`).

A *layer* is an `nn.conv2d` (NHWC, f32) or a 2-D `math.matmul` (f32, `a` not transposed) whose
filter / `b` operand is a `core.constant`. Layers are named by kind and position among the
function's layers in op order: `conv2d_0`, `conv2d_1`, `matmul_2`... (`find_layers`), so the
same model frozen at another batch size has the same layer names. Not layers (they stay
fp32): depthwise convolutions (there is no quantized depthwise op), NCHW convolutions, batched
or transpose_a matmuls, and anything whose weight is computed at run time.

Per layer width:
  int8 / int16  x -> quant.quantize{scale=[sx]} (activations per tensor, sx from calibration),
                the weight becomes an integer constant, quant.conv2d / quant.matmul accumulate
                exactly in i32 / i64, then quant.dequantize{scale = sx * sw} back to f32.
                scheme "float": sw per output channel = max|w[..., c]| / qmax;
                scheme "fixed" (MLU): sw per tensor = 2^ceil(log2(max|w| / qmax)), and the
                activation scale must be a power of two as well.
                An activation offset c (float scheme; for inputs that are never negative, such
                as ReLU outputs, c = T / 2 for the calibrated range [0, T]) quantizes x - c
                instead, so the whole signed range covers [0, T] (one more bit of resolution),
                and adds the layer applied to the constant c back after dequantization (an f32
                constant: c * column sums for matmul, a conv of c with zero padding for conv2d).
                The quant ops themselves stay symmetric.
                Float scheme: a constant bias_add right after the layer joins that add.
                Bias correction (float scheme, when calibration gave the input's mean per
                channel, `input_means`): the expected error of the rounded weights,
                E[x] . (w_deq - w), is subtracted in the same f32 add (Nagel et al. 2019).
  fp16          the weight is stored as an f16 constant cast to f32 at its use; the layer's
                activation output (after its bias_add and relu, if they follow alone) is
                stored as f16 (cast) and cast back to f32 for its consumers.
  fp32          unchanged.

Options (pipeline text): `default` (width of layers the plan does not name, fp32), `scheme`
(float|fixed) and `layers`, a list of `name:width[:activation scale[:offset]]` items, e.g.
`precision{layers=[conv2d_0:int8:0.0078125,matmul_2:fp16]}`. An int width needs the
activation scale; `tfc.precision.quantize_module` calibrates and fills it in.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from tfc.ir import dtypes as dt
from tfc.ir.builder import Builder
from tfc.ir.core import Function, Module, Operation, OpResult, Value

from .fold import constant_value
from .manager import Pass, PipelineError, register_pass

WIDTHS = ("int8", "int16", "fp16", "fp32")
INT_WIDTHS = {"int8": dt.int8, "int16": dt.int16}
QMAX = {"int8": 127, "int16": 32767}
WIDTH_BYTES = {"int8": 1, "int16": 2, "fp16": 2, "fp32": 4}
SCHEMES = ("float", "fixed")


class PrecisionError(PipelineError):
    """A plan that cannot be applied: unknown layer or width, a missing scale."""


@dataclass(frozen=True)
class Layer:
    """One quantizable layer of a function."""

    name: str          # conv2d_0, matmul_2...
    op: Operation
    kind: str          # conv2d | matmul
    index: int

    @property
    def input(self) -> Value:
        return self.op.operands[0]

    @property
    def weight(self) -> np.ndarray:
        return constant_value(self.op.operands[1])

    @property
    def location(self) -> str:
        return str(self.op.location) if self.op.location is not None else "?"

    @property
    def out_axis(self) -> int:
        """The weight's output-channel axis."""
        if self.kind == "conv2d":
            return 3
        return 0 if self.op.attributes.get("transpose_b") else 1


def _is_f32_constant(value: Value) -> bool:
    c = constant_value(value)
    return c is not None and c.dtype == np.float32


def find_layers(function: Function) -> list[Layer]:
    """The quantizable layers of `function`, in op order, with their stable names."""
    layers = []
    for op in function.body.ops:
        kind = None
        if op.name == "nn.conv2d" and op.attributes.get("data_format", "NHWC") == "NHWC":
            kind = "conv2d"
        elif op.name == "math.matmul" and not op.attributes.get("transpose_a"):
            a, b = op.operands
            if a.type.shape is not None and len(a.type.shape) == 2 and b.type.shape is not None \
                    and len(b.type.shape) == 2:
                kind = "matmul"
        if kind is None:
            continue
        x, w = op.operands
        if x.type.dtype != dt.float32 or not _is_f32_constant(w):
            continue
        index = len(layers)
        layers.append(Layer(f"{kind}_{index}", op, kind, index))
    return layers


def pow2_scale(amax: float, qmax: int) -> float:
    """The fixed-point scale 2^pos, pos the smallest integer with amax / 2^pos <= qmax."""
    if not amax > 0 or not math.isfinite(amax):
        return 1.0
    pos = math.ceil(math.log2(amax / qmax))
    # guard against log2 rounding: make sure amax / 2^pos fits and 2^(pos-1) would not
    while amax / 2.0 ** pos > qmax:
        pos += 1
    while amax / 2.0 ** (pos - 1) <= qmax:
        pos -= 1
    return 2.0 ** pos


def float_scale(amax: float, qmax: int) -> float:
    """The float-scheme scale amax / qmax (1.0 for an all-zero tensor)."""
    if not amax > 0 or not math.isfinite(amax):
        return 1.0
    return amax / qmax


def weight_scales(w: np.ndarray, width: str, scheme: str, axis: int) -> list[float]:
    """Symmetric weight scales: per output channel (float) or one power of two (fixed)."""
    qmax = QMAX[width]
    if scheme == "fixed":
        return [pow2_scale(float(np.max(np.abs(w), initial=0.0)), qmax)]
    other = tuple(a for a in range(w.ndim) if a != axis)
    amax = np.max(np.abs(w), axis=other, initial=0.0)
    return [float_scale(float(a), qmax) for a in amax]


def quantize_array(x: np.ndarray, width: str, scales: list[float], axis: int | None) -> np.ndarray:
    """x quantized exactly as quant.quantize computes it."""
    from tfc.ir.ops.quant import _quantize

    return _quantize(x, INT_WIDTHS[width], tuple(scales), axis if len(scales) > 1 else None)


def parse_layer_spec(spec: str) -> tuple[str, str, float | None, float]:
    parts = spec.split(":")
    if len(parts) not in (2, 3, 4):
        raise PrecisionError(f"bad layer item {spec!r}: expected name:width[:activation scale[:offset]]")
    name, width = parts[0].strip(), parts[1].strip()
    if width not in WIDTHS:
        raise PrecisionError(f"layer {name}: unknown width {width!r} (one of {', '.join(WIDTHS)})")
    scale = None
    if len(parts) >= 3:
        try:
            scale = float(parts[2])
        except ValueError:
            raise PrecisionError(f"layer {name}: bad activation scale {parts[2]!r}") from None
        if not (scale > 0 and math.isfinite(scale)):
            raise PrecisionError(f"layer {name}: activation scale must be positive, got {scale}")
    offset = 0.0
    if len(parts) == 4:
        try:
            offset = float(parts[3])
        except ValueError:
            raise PrecisionError(f"layer {name}: bad activation offset {parts[3]!r}") from None
        if not math.isfinite(offset):
            raise PrecisionError(f"layer {name}: activation offset must be finite, got {offset}")
    return name, width, scale, offset


def layer_spec(name: str, width: str, scale: float | None = None, offset: float = 0.0) -> str:
    spec = f"{name}:{width}" + (f":{scale!r}" if scale is not None else "")
    return spec + (f":{offset!r}" if offset else "")


@register_pass
@dataclass(frozen=True)
class LowerPrecision(Pass):
    """Rewrite layers to int8 / int16 / fp16 per the plan (see the module docstring)."""

    name = "precision"
    default: str = "fp32"
    scheme: str = "float"
    layers: tuple[str, ...] = ()
    # layer name -> mean of its input per input channel (from calibration): bias correction of
    # the weights' rounding (float scheme only; not settable from pipeline text)
    input_means: Any = field(default=None, compare=False)

    def __post_init__(self):
        if self.default not in WIDTHS:
            raise PrecisionError(f"precision: default must be one of {', '.join(WIDTHS)}, got {self.default!r}")
        if self.scheme not in SCHEMES:
            raise PrecisionError(f"precision: scheme must be float or fixed, got {self.scheme!r}")
        for spec in self.layers:
            parse_layer_spec(spec)

    def plan(self) -> dict[str, tuple[str, float | None, float]]:
        out = {}
        for spec in self.layers:
            name, width, scale, offset = parse_layer_spec(spec)
            out[name] = (width, scale, offset)
        return out

    def run(self, module: Module) -> bool:
        plan = self.plan()
        changed = False
        seen = set()
        for function in module:
            layers = find_layers(function)
            seen |= {layer.name for layer in layers}
            for layer in layers:
                width, scale, offset = plan.get(layer.name, (self.default, None, 0.0))
                changed |= self.rewrite(layer, width, scale, offset)
        unknown = sorted(set(plan) - seen)
        if unknown:
            hint = "" if seen else "; run `precision` before `fuse`, which hides layers in fusion regions"
            raise PrecisionError(f"precision: the plan names layers the module does not have: "
                                 f"{', '.join(unknown)} (layers: {', '.join(sorted(seen)) or 'none'}{hint})")
        return changed

    def rewrite(self, layer: Layer, width: str, scale: float | None, offset: float = 0.0) -> bool:
        if width == "fp32":
            return False
        if width == "fp16":
            _rewrite_fp16(layer)
            return True
        if scale is None:
            raise PrecisionError(f"precision: layer {layer.name} ({layer.location}) is {width} but has no "
                                 "activation scale (calibrate with tfc.precision.quantize_module)")
        if self.scheme == "fixed" and math.frexp(scale)[0] != 0.5:
            raise PrecisionError(f"precision: layer {layer.name}: the fixed-point scheme needs a power-of-two "
                                 f"activation scale, got {scale!r}")
        if self.scheme == "fixed" and offset:
            raise PrecisionError(f"precision: layer {layer.name}: the fixed-point scheme has no activation offset")
        mean = None
        if self.input_means is not None and self.scheme == "float" and layer.name in self.input_means:
            mean = np.asarray(self.input_means[layer.name], np.float64)
            channels = layer.input.type.shape[-1]
            if mean.shape not in ((), (channels,)):
                raise PrecisionError(f"precision: layer {layer.name}: input mean has shape {mean.shape}, "
                                     f"expected ({channels},)")
        _rewrite_int(layer, width, scale, self.scheme, offset, mean)
        return True


def _rewrite_fp16(layer: Layer) -> None:
    op = layer.op
    b = Builder.before_op(op)
    w16 = b.constant(layer.weight.astype(np.float16))
    w32 = b.op("math.cast", w16, to=dt.float32)
    weight = op.operands[1]
    op.set_operand(1, w32)
    if isinstance(weight, OpResult) and not weight.uses:
        weight.op.erase()
    y = activation_output(op.result)
    after = Builder(y.op.parent, before=_next_op(y.op), location=y.op.location)
    y16 = after.op("math.cast", y, to=dt.float16)
    y32 = after.op("math.cast", y16, to=dt.float32)
    for use in list(y.uses):
        if use.operation is not y16.op:
            use.operation.set_operand(use.index, y32)


EPILOGUE = ("nn.relu", "nn.relu6")


def _sole_user(value: Value) -> Operation | None:
    users = value.users()
    return users[0] if len(users) == 1 and len(value.uses) == 1 else None


def _constant_bias(value: Value) -> tuple[Operation, np.ndarray] | None:
    """The nn.bias_add (NHWC, constant f32 bias, `value` as its input) that alone reads `value`."""
    user = _sole_user(value)
    if user is None or user.name != "nn.bias_add" or user.operands[0] is not value:
        return None
    if user.attributes.get("data_format", "NHWC") != "NHWC":
        return None
    bias = constant_value(user.operands[1])
    if bias is None or bias.dtype != np.float32:
        return None
    return user, bias


def activation_output(value: Value) -> Value:
    """The end of a layer's epilogue: `value` followed by its sole-user bias_add and relu."""
    found = _constant_bias(value)
    if found is not None:
        value = found[0].result
    user = _sole_user(value)
    if user is not None and user.name in EPILOGUE:
        value = user.result
    return value


def _next_op(op: Operation) -> Operation:
    ops = op.parent.ops
    return ops[ops.index(op) + 1]


def constant_input_response(layer: Layer, value, w: np.ndarray) -> np.ndarray:
    """The layer with weights `w` applied to an input that is `value` everywhere (a scalar, or
    one value per input channel), zero padding included, in float64: [co] for a matmul or a
    conv without border effects, else [1, oh, ow, co]."""
    w = np.asarray(w, np.float64)
    value = np.asarray(value, np.float64)
    if layer.kind == "matmul":
        wk = w.T if layer.op.attributes.get("transpose_b") else w          # [K, N]
        return np.broadcast_to(value, (wk.shape[0],)) @ wk
    from tfc.ir.ops.nn import _conv2d

    shape = (1,) + tuple(layer.input.type.shape[1:])
    attrs = {k: v for k, v in layer.op.attributes.items() if k != "data_format"}
    out = _conv2d(np.broadcast_to(value, shape).astype(np.float64), w, **attrs)
    if np.allclose(out, out[:1, :1, :1, :], rtol=1e-12, atol=0):       # no border effect (VALID)
        out = out[0, 0, 0]
    return out


def offset_correction(layer: Layer, offset: float, w: np.ndarray) -> np.ndarray:
    """The layer with weights `w` (the dequantized integer weights) applied to a constant
    input `offset` (zero padding included), as f32: what the layer adds for the part of its
    input that the offset removed before quantization. With the dequantized weights the result
    equals the layer on the dequantized (offset-restored) input, so the weight error still
    multiplies x, not x - offset (a ReLU output's many zeros would otherwise all carry it)."""
    return constant_input_response(layer, offset, w).astype(np.float32)


def _rewrite_int(layer: Layer, width: str, sx: float, scheme: str, offset: float = 0.0,
                 input_mean: np.ndarray | None = None) -> None:
    op = layer.op
    w = layer.weight
    axis = layer.out_axis
    sw = weight_scales(w, width, scheme, axis)
    qw = quantize_array(w, width, sw, axis)
    b = Builder.before_op(op)
    x = layer.input
    if offset:
        x = b.op("math.sub", x, b.constant(np.float32(offset)))
    qx = b.op("quant.quantize", x, dtype=INT_WIDTHS[width], scale=[sx])
    wq = b.constant(qw)
    if layer.kind == "conv2d":
        attrs = {k: op.attributes[k] for k in ("strides", "padding", "explicit_paddings", "dilations")
                 if k in op.attributes}
        acc = b.op("quant.conv2d", qx, wq, **attrs)
        acc_axis = 3
    else:
        acc = b.op("quant.matmul", qx, wq, transpose_b=bool(op.attributes.get("transpose_b")))
        acc_axis = 1
    out_scales = [float(np.float64(sx) * np.float64(s)) for s in sw]
    attrs = {"scale": out_scales}
    if len(out_scales) > 1:
        attrs["axis"] = acc_axis
    y = b.op("quant.dequantize", acc, **attrs)
    shape = [1] * w.ndim
    shape[axis] = -1
    w_deq = qw.astype(np.float64) * np.asarray(sw, np.float64).reshape(shape if len(sw) > 1 else ())
    add = None
    if offset:
        add = constant_input_response(layer, offset, w_deq)
    if input_mean is not None:
        # bias correction: remove the expected output error E[x] . (w_deq - w) of the weights
        bias = constant_input_response(layer, input_mean, w_deq - w.astype(np.float64))
        add = -bias if add is None else add - bias
    absorbed = _constant_bias(op.result) if scheme == "float" else None
    if absorbed is not None:
        # the layer's bias joins the same f32 add (an elementwise op that fuses with the
        # dequantize, the relu and the next layer's quantize; nn.bias_add does not)
        bias_op, bias = absorbed
        add = bias.astype(np.float64) if add is None else add + bias.astype(np.float64)
    if add is not None:
        y = b.op("math.add", y, b.constant(np.asarray(add, np.float32)))
    if absorbed is not None:
        bias_value = bias_op.operands[1]
        bias_op.result.replace_all_uses_with(y)
        bias_op.erase()
        if isinstance(bias_value, OpResult) and not bias_value.uses:
            bias_value.op.erase()
    op.result.replace_all_uses_with(y)
    weight = op.operands[1]
    op.erase()
    if isinstance(weight, OpResult) and not weight.uses:
        weight.op.erase()
