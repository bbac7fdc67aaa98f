"""Precision lowering of a frozen model: int8 / int16 / fp16 per layer, and the search for the
lowest width per layer that keeps the model within an accuracy budget.

    import tfc.precision as P
    q = P.quantize_module(module, "int8", samples=samples)                # every layer int8
    q = P.quantize_module(module, {"conv2d_0": "int16", "matmul_2": "int8"}, samples=samples)
    result = P.search(module, samples, tolerance=0.99)                   # per-layer widths
    print(result.table())

Layers are the conv2d / matmul ops with constant weights (see tfc.passes.precision.find_layers;
named conv2d_0, matmul_2... in op order). Activation scales come from calibration
(tfc.calibrate: minmax, percentile or entropy) over `samples` (dicts of input name -> array,
any batch size); weights use their own max per output channel (scheme "float") or one power of
two per tensor (scheme "fixed", the MLU's `dst = round(src / 2^pos)`). Samples run on the
reference interpreter.

Activation offset (float scheme, on by default): a layer input that is never negative on the
calibration samples (ReLU and max-pool outputs) would use only half of the symmetric integer
range, i.e. 7 of int8's 8 bits. Such inputs are quantized as x - T/2 over [-T/2, T/2] (T the
calibrated range) and the layer's response to the constant T/2 is added back in f32 after
dequantization, which halves the rounding step; the quant ops stay symmetric. Measured on
models/lenet.py with seeded normal inputs, int8 everywhere: top-1 agreement 97.4% without,
99.1% with the offset (2048 held-out samples, minmax calibration).
Bias correction (float scheme): the expected output error of the rounded weights,
E[x] . (w_deq - w) with E[x] the calibrated mean of each input channel, is subtracted in the
same f32 add (about 10% lower rms error on LeNet). The fixed scheme uses neither correction.

Calibration defaults to "percentile" (99.99% of |x|; best on LeNet/MLP int8); for int16 the
range is the max whatever the method (at 16 bits clipping costs more than it saves).

The search (`search`): the budget is top-1 agreement with fp32 of at least `tolerance`, or a
maximum relative output error max|y - y32| / max|y32|, both measured on held-out samples.
1. Sensitivity: each layer alone at each width (the others fp32): its output error.
2. Greedy: every layer starts at the lowest width; while the budget is not met, the layer
   whose current width hurts most (largest single-layer error) moves up its ladder
   int8 -> int16 -> fp16 -> fp32, skipping widths that measured no better than the current one.
3. Trim: each raised layer is tried one step lower again (least sensitive first) and kept there
   if the budget still holds.
4. Verify: the plan is checked on a second held-out set; if it fails there, the greedy goes on
   until both sets meet the budget.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np

from tfc.ir.core import Module

from . import calibrate as cal

WIDTHS = ("int8", "int16", "fp16", "fp32")
QMAX = {"int8": 127, "int16": 32767}
LEVELS = {"int8": 128, "int16": 32768}
WIDTH_BYTES = {"int8": 1, "int16": 2, "fp16": 2, "fp32": 4}


class PrecisionError(ValueError):
    """A bad precision request: unknown width or layer, integer widths without samples..."""


def _passes():
    from tfc.passes import precision as pp  # registers the pass
    return pp


def _main(module: Module):
    functions = list(module)
    if len(functions) != 1:
        names = ", ".join(f.name for f in functions)
        raise PrecisionError(f"precision lowering expects a module with one function, got {len(functions)} ({names})")
    return functions[0]


def layers(module: Module):
    """The quantizable layers of the module's function (tfc.passes.precision.Layer)."""
    return _passes().find_layers(_main(module))


# Calibration ---------------------------------------------------------------------------------
@dataclass
class Calibration:
    """Activation statistics of every layer input, by layer name."""

    stats: dict[str, cal.TensorStats]
    method: str
    percentile: float = cal.DEFAULT_PERCENTILE

    def one_sided(self, layer: str) -> bool:
        """The layer's input was never negative on the calibration samples (ReLU outputs...)."""
        st = self.stats[layer]
        return st.count > 0 and st.min >= 0

    def amax(self, layer: str, width: str, offset: bool = False) -> float:
        """The calibrated range max |x| (with `offset` for a one-sided input: the histogram is
        quantized to twice as many levels, as the offset doubles the resolution)."""
        levels = LEVELS[width] * (2 if offset and self.one_sided(layer) else 1)
        method = self.method
        if method == "percentile" and width == "int16":
            # int16's rounding step at the full range is far below the error of clipping even
            # 0.01% of the values: its MSE-optimal range is the max (as entropy finds, too)
            method = "minmax"
        return self.stats[layer].threshold(method, levels=levels, percentile=self.percentile)

    def scale(self, layer: str, width: str, scheme: str) -> float:
        return self.params(layer, width, scheme, offset=False)[0]

    def params(self, layer: str, width: str, scheme: str, offset: bool = True) -> tuple[float, float]:
        """(activation scale, activation offset) of a layer at an integer width. The offset is
        used for one-sided inputs in the float scheme only (see tfc.passes.precision)."""
        pp = _passes()
        use_offset = offset and scheme == "float" and self.one_sided(layer)
        amax = self.amax(layer, width, use_offset)
        if scheme == "fixed":
            return pp.pow2_scale(amax, QMAX[width]), 0.0
        if use_offset and amax > 0:
            return pp.float_scale(amax / 2, QMAX[width]), amax / 2
        return pp.float_scale(amax, QMAX[width]), 0.0


def calibrate(module: Module, samples, *, method: str = "percentile", percentile: float = cal.DEFAULT_PERCENTILE,
              progress: bool = True) -> Calibration:
    """Statistics of each layer's input activation over `samples`."""
    if method not in cal.METHODS:
        raise PrecisionError(f"unknown calibration method {method!r} (one of {', '.join(cal.METHODS)})")
    function = _main(module)
    found = layers(module)
    values = list({id(layer.input): layer.input for layer in found}.values())
    stats = cal.collect(function, samples, values, method=method, progress=progress)
    return Calibration({layer.name: stats[layer.input] for layer in found}, method, percentile)


# Applying a plan -----------------------------------------------------------------------------
def _normalize_plan(module: Module, precision) -> dict[str, str]:
    names = [layer.name for layer in layers(module)]
    if isinstance(precision, str):
        if precision not in WIDTHS:
            raise PrecisionError(f"precision must be one of {', '.join(WIDTHS)} or a dict layer -> width, "
                                 f"got {precision!r}")
        return {n: precision for n in names}
    if not isinstance(precision, dict):
        raise PrecisionError(f"precision must be a width or a dict layer -> width, got {precision!r}")
    unknown = sorted(set(precision) - set(names))
    if unknown:
        raise PrecisionError(f"unknown layer(s) {', '.join(unknown)} (layers: {', '.join(names) or 'none'})")
    for name, width in precision.items():
        if width not in WIDTHS:
            raise PrecisionError(f"layer {name}: unknown width {width!r} (one of {', '.join(WIDTHS)})")
    return {n: precision.get(n, "fp32") for n in names}


def plan_pass(plan: dict[str, str], calibration: Calibration | None, scheme: str = "float",
              offset: bool = True, bias_correction: bool = True):
    """The `precision` pass instance for a plan (activation scales from `calibration`;
    `offset`: shift one-sided activations, float scheme only)."""
    pp = _passes()
    if scheme not in pp.SCHEMES:
        raise PrecisionError(f"scheme must be float or fixed, got {scheme!r}")
    specs = []
    for name, width in plan.items():
        if width in QMAX:
            if calibration is None:
                raise PrecisionError(f"layer {name} is {width}: integer widths need calibration samples")
            specs.append(pp.layer_spec(name, width, *calibration.params(name, width, scheme, offset)))
        else:
            specs.append(pp.layer_spec(name, width))
    means = None
    if calibration is not None and bias_correction and scheme == "float":
        means = {n: calibration.stats[n].channel_mean for n in plan
                 if n in calibration.stats and calibration.stats[n].channel_mean is not None}
    return pp.LowerPrecision(default="fp32", scheme=scheme, layers=tuple(specs), input_means=means)


def apply_plan(module: Module, plan: dict[str, str], calibration: Calibration | None,
               scheme: str = "float", offset: bool = True, bias_correction: bool = True) -> Module:
    """A copy of `module` with the plan applied (the module itself is not changed)."""
    out = module.clone()
    plan_pass(plan, calibration, scheme, offset, bias_correction).run(out)
    from tfc.ir import verify
    verify(out)
    return out


def quantize_module(module: Module, precision="int8", *, scheme: str = "float", samples=None,
                    method: str = "percentile", percentile: float = cal.DEFAULT_PERCENTILE,
                    calibration: Calibration | None = None, offset: bool = True,
                    bias_correction: bool = True, progress: bool = True) -> Module:
    """A copy of `module` with its layers lowered: `precision` is one width for every layer
    ("fp32", "fp16", "int8", "int16") or a dict layer name -> width (others fp32). Integer
    widths need `samples` (or a `calibration` from `calibrate`). `offset=False` turns off the
    activation offset of one-sided inputs (float scheme; the fixed scheme never uses it)."""
    plan = _normalize_plan(module, precision)
    if calibration is None and any(w in QMAX for w in plan.values()):
        if not samples:
            raise PrecisionError("integer precision needs calibration samples (samples=[{input: array}, ...])")
        calibration = calibrate(module, samples, method=method, percentile=percentile, progress=progress)
    return apply_plan(module, plan, calibration, scheme, offset, bias_correction)


# Measuring -----------------------------------------------------------------------------------
@dataclass
class Metrics:
    agreement: float      # fraction of rows whose argmax (last axis of the first output) matches fp32
    rel_error: float      # max |y - y32| / max |y32| over all outputs and samples
    rms_error: float = 0.0  # rms(y - y32) / rms(y32): the smooth measure the search ranks layers by

    def __str__(self):
        return (f"top-1 agreement {self.agreement * 100:.2f}%, max rel. error {self.rel_error:.3g}, "
                f"rms rel. error {self.rms_error:.3g}")


@dataclass
class Budget:
    """top-1 agreement >= tolerance and/or max relative error <= max_rel_error."""

    tolerance: float | None = None
    max_rel_error: float | None = None

    def __post_init__(self):
        if self.tolerance is None and self.max_rel_error is None:
            raise PrecisionError("a budget needs --tolerance (top-1 agreement) or --max-rel-error")
        if self.tolerance is not None and not 0 < self.tolerance <= 1:
            raise PrecisionError(f"tolerance is a fraction in (0, 1] (top-1 agreement), got {self.tolerance}")
        if self.max_rel_error is not None and not self.max_rel_error >= 0:
            raise PrecisionError(f"max relative error must be >= 0, got {self.max_rel_error}")

    def met(self, m: Metrics) -> bool:
        ok = True
        if self.tolerance is not None:
            ok &= m.agreement >= self.tolerance
        if self.max_rel_error is not None:
            ok &= m.rel_error <= self.max_rel_error
        return ok

    def badness(self, m: Metrics) -> tuple:
        """Sort key of a measured error (larger is worse): the rms error, which is smooth,
        where the top-1 misses of one layer are a handful of near ties and mostly noise."""
        return (m.rms_error, m.rel_error, 1.0 - m.agreement)

    def __str__(self):
        parts = []
        if self.tolerance is not None:
            parts.append(f"top-1 agreement >= {self.tolerance * 100:g}%")
        if self.max_rel_error is not None:
            parts.append(f"max rel. error <= {self.max_rel_error:g}")
        return " and ".join(parts)


class Evaluator:
    """Runs plans on a fixed set of batches and compares with the fp32 outputs."""

    def __init__(self, module: Module, batches):
        self.module = module
        self.batches = batches
        self.reference = cal.run_batches(_main(module), batches)
        self.runs = 0

    def outputs(self, module: Module):
        self.runs += 1
        return cal.run_batches(_main(module), self.batches)

    def metrics(self, module: Module) -> Metrics:
        return compare(self.outputs(module), self.reference)


def compare(outputs, reference) -> Metrics:
    """Top-1 agreement (first output, argmax of the last axis) and max relative error."""
    agree = total = 0
    err = ref = sq_err = sq_ref = 0.0
    for got, want in zip(outputs, reference):
        g0, w0 = np.asarray(got[0], np.float64), np.asarray(want[0], np.float64)
        if w0.ndim >= 1 and w0.shape[-1] > 1:
            a, b = g0.reshape(-1, w0.shape[-1]), w0.reshape(-1, w0.shape[-1])
            agree += int(np.sum(np.argmax(a, axis=1) == np.argmax(b, axis=1)))
            total += a.shape[0]
        for g, w in zip(got, want):
            g, w = np.asarray(g, np.float64), np.asarray(w, np.float64)
            if w.size:
                err = max(err, float(np.max(np.abs(g - w))))
                ref = max(ref, float(np.max(np.abs(w))))
                sq_err += float(np.sum((g - w) ** 2))
                sq_ref += float(np.sum(w ** 2))
    agreement = agree / total if total else 1.0
    rel = err / ref if ref > 0 else (0.0 if err == 0 else math.inf)
    rms = math.sqrt(sq_err / sq_ref) if sq_ref > 0 else (0.0 if sq_err == 0 else math.inf)
    return Metrics(agreement, rel, rms)


# Search --------------------------------------------------------------------------------------
@dataclass
class LayerReport:
    name: str
    location: str
    kind: str
    weights: int                  # number of weight elements
    out_channels: int
    width: str
    sensitivity: dict[str, Metrics]   # width -> metrics with only this layer at that width

    def weight_bytes(self, width: str, scheme: str = "float") -> int:
        scales = 0
        if width in QMAX:
            scales = 4 * (self.out_channels if scheme == "float" else 1) + 4   # + the activation scale
        return self.weights * WIDTH_BYTES[width] + scales

    def bytes_saved(self, scheme: str = "float") -> int:
        return self.weight_bytes("fp32") - self.weight_bytes(self.width, scheme)


@dataclass
class SearchResult:
    plan: dict[str, str]
    module: Module
    calibration: Calibration | None
    budget: Budget
    layers: list[LayerReport]
    search_metrics: Metrics
    verify_metrics: Metrics
    met: bool
    scheme: str
    method: str
    lowest: str
    evaluations: int = 0
    history: list[str] = field(default_factory=list)

    def table(self) -> str:
        """The report: layer, model line, chosen width, its error contribution, bytes saved."""
        rows = [("layer", "model line", "width", "error alone: rms rel / top-1 miss", "weights fp32", "saved",
                 "note")]
        for r in self.layers:
            if r.width == "fp32":
                contrib = "0 / 0%"
            else:
                m = r.sensitivity[r.width]
                contrib = f"{m.rms_error:.2e} / {(1 - m.agreement) * 100:.2f}%"
            note = "" if r.width == self.lowest else f"needed more bits than {self.lowest}"
            rows.append((r.name, r.location, r.width, contrib, _kb(r.weight_bytes("fp32")),
                         _kb(r.bytes_saved(self.scheme)), note))
        total32 = sum(r.weight_bytes("fp32") for r in self.layers)
        saved = sum(r.bytes_saved(self.scheme) for r in self.layers)
        rows.append(("total", "", "", "", _kb(total32), f"{_kb(saved)} ({saved / max(total32, 1) * 100:.0f}%)", ""))
        widths = [max(len(str(row[i])) for row in rows) for i in range(len(rows[0]))]
        lines = ["  ".join(str(c).ljust(w) for c, w in zip(row, widths)).rstrip() for row in rows]
        lines.insert(1, "  ".join("-" * w for w in widths))
        status = "met" if self.met else "NOT met"
        lines.append(f"budget {self.budget}: {status}; search set: {self.search_metrics}; "
                     f"held-out set: {self.verify_metrics}")
        lines.append(f"scheme {self.scheme}, calibration {self.method}, {self.evaluations} plan evaluations")
        return "\n".join(lines) + "\n"


def _kb(n: int) -> str:
    return f"{n / 1024:.1f} KiB" if n >= 1024 else f"{n} B"


def split_samples(samples, parts=(0.5, 0.25, 0.25)):
    """Calibration / search / verification sets of a sample list (in order)."""
    n = len(samples)
    if n < 3:
        raise PrecisionError(f"the search needs at least 3 samples (calibration, search, held-out), got {n}")
    a = max(1, int(n * parts[0]))
    b = max(a + 1, min(n - 1, a + int(n * parts[1])))
    return samples[:a], samples[a:b], samples[b:]


def search(module: Module, samples, *, tolerance: float | None = None, max_rel_error: float | None = None,
           scheme: str = "float", method: str = "percentile", percentile: float = cal.DEFAULT_PERCENTILE,
           widths=WIDTHS, calib_samples=None, search_samples=None, verify_samples=None,
           offset: bool = True, progress: bool = True, log=None) -> SearchResult:
    """Find the lowest width per layer that keeps the model within the budget (see the module
    docstring). `samples` is split into calibration / search / held-out sets unless they are
    given separately."""
    budget = Budget(tolerance, max_rel_error)
    widths = tuple(w for w in WIDTHS if w in widths)
    if not widths or widths[-1] != "fp32":
        widths = widths + ("fp32",) if "fp32" not in widths else widths
    if calib_samples is None or search_samples is None or verify_samples is None:
        calib_samples, search_samples, verify_samples = split_samples(list(samples))
    function = _main(module)
    found = layers(module)
    if not found:
        raise PrecisionError("the module has no conv2d / matmul layer with constant weights")
    calibration = None
    if any(w in QMAX for w in widths):
        calibration = calibrate(module, calib_samples, method=method, percentile=percentile, progress=progress)
    searcher = Evaluator(module, cal.rebatch(function, search_samples))
    verifier = Evaluator(module, cal.rebatch(function, verify_samples))
    say = log or (lambda msg: None)

    def measure(plan, evaluators):
        q = apply_plan(module, plan, calibration, scheme, offset)
        return [e.metrics(q) for e in evaluators]

    # 1. sensitivity
    fp32 = {layer.name: "fp32" for layer in found}
    steps = [(layer, w) for layer in found for w in widths if w != "fp32"]
    sensitivity: dict[str, dict[str, Metrics]] = {layer.name: {"fp32": Metrics(1.0, 0.0, 0.0)} for layer in found}
    bar = cal.Progress(len(steps), "sensitivity", enabled=progress)
    for layer, w in steps:
        (m,) = measure({**fp32, layer.name: w}, [searcher])
        sensitivity[layer.name][w] = m
        say(f"sensitivity {layer.name} {w}: {m}")
        bar.update()
    bar.close()

    def ladder(name):
        """The widths this layer may take, in order, skipping ones no better than the previous."""
        out = [widths[0]]
        for w in widths[1:]:
            if w == "fp32" or budget.badness(sensitivity[name][w]) < budget.badness(sensitivity[name][out[-1]]):
                out.append(w)
        return out

    ladders = {layer.name: ladder(layer.name) for layer in found}

    # 2. greedy
    plan = {layer.name: widths[0] for layer in found}
    history = []
    sets = [searcher]
    while True:
        ms = measure(plan, sets)
        if all(budget.met(m) for m in ms):
            if verifier in sets:
                break
            (mv,) = measure(plan, [verifier])
            if budget.met(mv):
                break
            say(f"plan meets the budget on the search set but not on the held-out set ({mv}): continuing")
            history.append(f"held-out check failed ({mv}); continuing on both sets")
            sets = [searcher, verifier]
            continue
        raisable = [n for n in plan if plan[n] != "fp32"]
        if not raisable:
            break
        worst = max(raisable, key=lambda n: budget.badness(sensitivity[n][plan[n]]))
        lad = ladders[worst]
        plan[worst] = lad[lad.index(plan[worst]) + 1]
        history.append(f"{worst} -> {plan[worst]} ({'; '.join(map(str, ms))})")
        say(f"raise {worst} to {plan[worst]}")

    # 3. trim: try each raised layer one step lower, least sensitive first
    check = [searcher, verifier]
    if all(budget.met(m) for m in measure(plan, check)):
        raised = [n for n in plan if plan[n] != ladders[n][0]]
        raised.sort(key=lambda n: budget.badness(sensitivity[n][ladders[n][ladders[n].index(plan[n]) - 1]]))
        for n in raised:
            while plan[n] != ladders[n][0]:
                lower = ladders[n][ladders[n].index(plan[n]) - 1]
                trial = {**plan, n: lower}
                if all(budget.met(m) for m in measure(trial, check)):
                    plan = trial
                    history.append(f"{n} lowered back to {lower}")
                    say(f"lower {n} back to {lower}")
                else:
                    break

    # 4. final verification
    final = apply_plan(module, plan, calibration, scheme, offset)
    ms, mv = searcher.metrics(final), verifier.metrics(final)
    reports = []
    for layer in found:
        w = layer.weight
        reports.append(LayerReport(layer.name, layer.location, layer.kind, int(w.size),
                                   int(w.shape[layer.out_axis]), plan[layer.name], sensitivity[layer.name]))
    return SearchResult(plan, final, calibration, budget, reports, ms, mv, budget.met(ms) and budget.met(mv), scheme,
                        method, widths[0], searcher.runs + verifier.runs, history)
