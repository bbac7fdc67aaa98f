"""Calibration: run a model on sample inputs and collect per-tensor statistics, from which the
range (threshold, "amax") of each tensor is chosen for symmetric quantization.

    stats = collect(function, samples, values)        # {value: TensorStats}
    amax = stats[v].threshold("entropy", levels=128)  # minmax | percentile | entropy

The function runs on the reference interpreter op by op, so any intermediate value can be
observed. Statistics of |x| per tensor, over all samples:

- minmax: amax = max |x|.
- percentile: a histogram of |x| with `bins` (2048) equal bins over [0, max |x|]; amax is the
  upper edge of the first bin at which the cumulative count reaches p% (99.99 by default) of
  all elements.
- entropy (KL divergence, TensorRT's int8 calibration): the same histogram; for every
  candidate threshold bin i from `levels` (128 for int8, 32768 for int16) to `bins`, the
  reference distribution P = hist[:i] with all the counts beyond i added to its last bin
  (clipping), and Q = hist[:i] merged into `levels` groups (bin j is in group j * levels // i),
  each group's total spread evenly over the group's bins where P is non-empty. Both are
  smoothed (empty bins get 1e-4 counts taken from the others, as MXNet and TVM do; without it a
  clipped tail landing in an empty bin makes KL infinite). amax = i * bin width for the i with
  the smallest KL(P || Q) (the largest such i on ties). As NVIDIA's pytorch-quantization does,
  the zero bin (inflated by ReLU's zeros) is replaced by its neighbour first. When `levels` >=
  `bins` every bin has its own level, KL is 0 everywhere and the threshold is max |x| (so
  int16 entropy calibration equals minmax at 2048 bins).

The histograms need max |x| first, so percentile and entropy run the samples twice.
Progress goes to stderr when a run takes more than a couple of seconds (tqdm if installed).
"""

from __future__ import annotations

import sys
import time
from dataclasses import dataclass, field
from typing import Callable, Iterable

import numpy as np

from tfc.ir.core import Function, Value
from tfc.runtime.interpreter import check_input, run_op

METHODS = ("minmax", "percentile", "entropy")
DEFAULT_BINS = 2048
DEFAULT_PERCENTILE = 99.99


class CalibrationError(ValueError):
    """Bad calibration input: no samples, inputs that do not match the model, unknown method."""


# Progress ------------------------------------------------------------------------------------
class Progress:
    """A progress display for `total` steps: tqdm when it is installed, else one stderr line
    rewritten in place. Nothing is shown before `delay` seconds have passed."""

    def __init__(self, total: int, desc: str, enabled: bool = True, delay: float = 2.0, stream=None):
        self.total, self.desc, self.enabled, self.delay = total, desc, enabled, delay
        self.stream = stream or sys.stderr
        self.count = 0
        self.start = time.monotonic()
        self.last = 0.0
        self.shown = False
        self._tqdm = None
        if enabled:
            try:
                from tqdm import tqdm  # optional: only if already installed
                self._tqdm = tqdm(total=total, desc=desc, delay=delay, leave=False, file=self.stream)
            except Exception:
                self._tqdm = None

    def update(self, n: int = 1) -> None:
        self.count += n
        if not self.enabled:
            return
        if self._tqdm is not None:
            self._tqdm.update(n)
            return
        now = time.monotonic()
        if now - self.start >= self.delay and (now - self.last >= 0.5 or self.count >= self.total):
            self.last = now
            self.shown = True
            rate = self.count / max(now - self.start, 1e-9)
            self.stream.write(f"\r{self.desc}: {self.count}/{self.total} ({rate:.1f}/s)")
            self.stream.flush()

    def close(self) -> None:
        if self._tqdm is not None:
            self._tqdm.close()
        elif self.shown:
            self.stream.write("\n")
            self.stream.flush()


# Samples -------------------------------------------------------------------------------------
def rebatch(function: Function, samples: list[dict[str, np.ndarray]]) -> list[list[np.ndarray]]:
    """The samples as argument lists of `function` (in argument order). Samples whose batch
    (leading) dimension differs from the function's are concatenated and cut into batches of
    the function's size (a remainder that does not fill a batch is dropped)."""
    if not samples:
        raise CalibrationError("calibration needs at least one sample")
    names = [a.name_hint or f"arg{i}" for i, a in enumerate(function.args)]
    for i, s in enumerate(samples):
        missing = [n for n in names if n not in s]
        if missing:
            raise CalibrationError(f"sample {i} has no value for input(s) {', '.join(missing)} "
                                   f"(it has {', '.join(map(str, s)) or 'none'})")
    types = [a.type for a in function.args]
    if all(tuple(np.shape(s[n])) == t.shape for s in samples for n, t in zip(names, types)):
        return [[np.asarray(s[n], t.dtype.numpy) for n, t in zip(names, types)] for s in samples]
    batches = []
    for n, t in zip(names, types):
        arrays = [np.asarray(s[n], t.dtype.numpy) for s in samples]
        if t.shape is None or not t.shape or any(a.shape[1:] != t.shape[1:] for a in arrays):
            got = sorted({tuple(a.shape) for a in arrays})
            raise CalibrationError(f"input '{n}': samples have shapes {got}, the model expects "
                                   f"{list(t.shape) if t.shape is not None else '?'} (any batch size "
                                   "is accepted, the other dimensions must match)")
        batches.append(np.concatenate(arrays, axis=0))
    size = types[0].shape[0]
    total = min(b.shape[0] for b in batches)
    if total < size:
        raise CalibrationError(f"{total} calibration rows are fewer than the model's batch size {size}")
    return [[b[i:i + size] for b in batches] for i in range(0, total - size + 1, size)]


def run_observed(function: Function, args: list[np.ndarray], observe: dict[int, Callable]) -> list[np.ndarray]:
    """Run `function` on the interpreter; call observe[id(value)](array) for observed values
    (block arguments and op results). Returns the outputs."""
    env: dict[int, np.ndarray] = {}
    for i, (arg, value) in enumerate(zip(function.args, args)):
        env[id(arg)] = check_input(value, arg.type, arg.name_hint or f"arg{i}")
        if id(arg) in observe:
            observe[id(arg)](env[id(arg)])
    for op in function.body.ops:
        if op.name == "core.return":
            return [env[id(v)] for v in op.operands]
        for result, value in zip(op.results, run_op(op, [env[id(v)] for v in op.operands])):
            env[id(result)] = value
            if id(result) in observe:
                observe[id(result)](value)
    raise CalibrationError(f"@{function.name} has no core.return")


def run_batches(function: Function, batches: Iterable[list[np.ndarray]]) -> list[list[np.ndarray]]:
    """The outputs of `function` for each batch (interpreter)."""
    return [run_observed(function, args, {}) for args in batches]


# Statistics ----------------------------------------------------------------------------------
@dataclass
class TensorStats:
    """Running statistics of one tensor over the calibration samples."""

    min: float = np.inf
    max: float = -np.inf
    amax: float = 0.0
    count: int = 0
    bins: int = DEFAULT_BINS
    hist: np.ndarray | None = None       # counts of |x| over [0, hist_max], `bins` bins
    hist_max: float = 0.0
    nonfinite: int = 0
    channel_sum: np.ndarray | None = None   # sums over all but the last axis (per channel)
    channel_count: int = 0
    _cache: dict = field(default_factory=dict, repr=False)

    @property
    def channel_mean(self) -> np.ndarray | None:
        """The mean per channel (last axis) over all samples and positions."""
        if self.channel_sum is None or not self.channel_count:
            return None
        return self.channel_sum / self.channel_count

    def add_range(self, x: np.ndarray) -> None:
        x = np.asarray(x, np.float64)
        if x.ndim >= 1 and x.shape[-1] and np.isfinite(x).all():
            rows = x.reshape(-1, x.shape[-1])
            sums = rows.sum(axis=0)
            self.channel_sum = sums if self.channel_sum is None else self.channel_sum + sums
            self.channel_count += rows.shape[0]
        finite = x[np.isfinite(x)] if not np.isfinite(x).all() else x
        self.nonfinite += x.size - finite.size
        self.count += finite.size
        if finite.size:
            self.min = min(self.min, float(finite.min()))
            self.max = max(self.max, float(finite.max()))
            self.amax = max(self.amax, float(np.abs(finite).max()))

    def start_histogram(self) -> None:
        self.hist_max = self.amax
        self.hist = np.zeros(self.bins, np.int64)

    def add_histogram(self, x: np.ndarray) -> None:
        a = np.abs(np.asarray(x, np.float64))
        a = a[np.isfinite(a)]
        if self.hist_max > 0:
            h, _ = np.histogram(a, bins=self.bins, range=(0.0, self.hist_max))
        else:
            h = np.zeros(self.bins, np.int64)
            h[0] = a.size
        self.hist += h

    @property
    def bin_width(self) -> float:
        return self.hist_max / self.bins

    def threshold(self, method: str = "minmax", *, levels: int = 128,
                  percentile: float = DEFAULT_PERCENTILE) -> float:
        """The chosen range max |x| for `method` (`levels` = 128 for int8, 32768 for int16)."""
        if method == "minmax":
            return self.amax
        if method not in METHODS:
            raise CalibrationError(f"unknown calibration method {method!r} (one of {', '.join(METHODS)})")
        if self.hist is None:
            raise CalibrationError(f"{method} calibration needs a histogram: collect with method={method!r}")
        if self.hist_max <= 0:
            return 0.0
        key = (method, levels, percentile)
        if key not in self._cache:
            if method == "percentile":
                i = percentile_bin(self.hist, percentile)
            else:
                i = entropy_bin(self.hist, levels)
            self._cache[key] = i * self.bin_width
        return self._cache[key]


def percentile_bin(hist: np.ndarray, percentile: float) -> int:
    """The number of bins i such that hist[:i] holds at least `percentile`% of all counts
    (the smallest such i; the threshold is its upper edge i * width)."""
    if not 0 < percentile <= 100:
        raise CalibrationError(f"percentile must be in (0, 100], got {percentile}")
    total = int(hist.sum())
    if total == 0:
        return len(hist)
    need = percentile / 100.0 * total
    cumulative = np.cumsum(hist)
    i = int(np.searchsorted(cumulative, need - 1e-9 * total, side="left")) + 1
    return min(i, len(hist))


def kl_divergence(p: np.ndarray, q: np.ndarray) -> float:
    """KL(P || Q) of two count vectors, each normalized to sum 1 (inf where P > 0 = Q)."""
    p = p / p.sum()
    q = q / q.sum()
    mask = p > 0
    if np.any(q[mask] == 0):
        return np.inf
    return float(np.sum(p[mask] * np.log(p[mask] / q[mask])))


def quantized_distribution(hist: np.ndarray, levels: int, mask: np.ndarray | None = None) -> np.ndarray:
    """`hist` merged into `levels` groups (bin j in group j * levels // len(hist)), each
    group's count spread evenly over the group's bins where `mask` is true (default: the
    non-empty bins of `hist`); 0 elsewhere."""
    i = len(hist)
    group = (np.arange(i) * levels) // i
    nonzero = hist != 0 if mask is None else np.asarray(mask, bool)
    sums = np.bincount(group, weights=hist.astype(np.float64), minlength=levels)
    counts = np.bincount(group, weights=nonzero.astype(np.float64), minlength=levels)
    spread = np.divide(sums, counts, out=np.zeros_like(sums), where=counts > 0)
    return np.where(nonzero, spread[group], 0.0)


SMOOTHING = 1e-4


def smooth(counts: np.ndarray, eps: float = SMOOTHING) -> np.ndarray:
    """Give every empty bin `eps` counts, taken evenly from the non-empty bins (MXNet's and
    TVM's smoothing, which keeps KL finite where Q is empty and P is not)."""
    zeros = counts == 0
    n_zero, n_nonzero = int(zeros.sum()), int((~zeros).sum())
    if n_nonzero == 0:
        return counts.astype(np.float64)
    take = eps * n_zero / n_nonzero
    return np.where(zeros, eps, counts - take)


def entropy_divergences(hist: np.ndarray, levels: int) -> tuple[np.ndarray, np.ndarray]:
    """(candidate bin counts i, KL(P_i || Q_i)) for i = levels .. len(hist): P_i = hist[:i]
    with the tail's counts added to its last bin, Q_i = hist[:i] quantized to `levels` levels
    and expanded over the bins where P_i is non-empty, both smoothed (see `smooth`)."""
    h = hist.astype(np.float64).copy()
    if len(h) > 1:
        h[0] = h[1]
    n = len(h)
    if levels >= n:
        return np.array([n]), np.array([0.0])
    tail = np.concatenate([np.cumsum(h[::-1])[::-1], [0.0]])     # tail[i] = sum(h[i:])
    candidates = np.arange(levels, n + 1)
    divergences = np.empty(len(candidates))
    for k, i in enumerate(candidates):
        p = h[:i].copy()
        p[i - 1] += tail[i]
        q = quantized_distribution(h[:i], levels, mask=p != 0)
        if p.sum() <= 0 or q.sum() <= 0:
            divergences[k] = np.inf
            continue
        divergences[k] = kl_divergence(smooth(p), smooth(q))
    return candidates, divergences


def entropy_bin(hist: np.ndarray, levels: int) -> int:
    """The candidate bin count i with the smallest KL divergence (the last one on ties)."""
    candidates, divergences = entropy_divergences(hist, levels)
    if not np.isfinite(divergences).any():
        return len(hist)
    best = divergences.min()
    return int(candidates[np.flatnonzero(divergences <= best)[-1]])


# Collection ----------------------------------------------------------------------------------
def collect(function: Function, samples: list[dict[str, np.ndarray]], values: list[Value], *,
            method: str = "minmax", bins: int = DEFAULT_BINS, progress: bool = True,
            batches: list[list[np.ndarray]] | None = None) -> dict[Value, TensorStats]:
    """Statistics of `values` (block arguments or op results of `function`'s body) over the
    samples. `method` decides whether histograms are collected (percentile, entropy)."""
    if method not in METHODS:
        raise CalibrationError(f"unknown calibration method {method!r} (one of {', '.join(METHODS)})")
    if batches is None:
        batches = rebatch(function, samples)
    stats = {v: TensorStats(bins=bins) for v in values}
    passes = 1 if method == "minmax" else 2
    bar = Progress(len(batches) * passes, "calibrating", enabled=progress)
    try:
        run = {id(v): stats[v].add_range for v in values}
        for args in batches:
            run_observed(function, args, run)
            bar.update()
        if passes == 2:
            for s in stats.values():
                s.start_histogram()
            run = {id(v): stats[v].add_histogram for v in values}
            for args in batches:
                run_observed(function, args, run)
                bar.update()
    finally:
        bar.close()
    return stats
