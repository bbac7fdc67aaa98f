"""Speed and size of precision-lowered models on the CPU (issue 6): models/mlp.py and
models/lenet.py at fp32, fp16, int8 and int16 (tfc.precision.quantize_module, scheme "float", min/max
calibration), natively compiled (cpu-default pipeline, then NativeFunction.jit), at batch 1 and
64; then the int8 kernels alone against the float32 ones and numpy.

    env -u OPENBLAS_CORETYPE -u OPENBLAS_L2_SIZE python benchmarks/bench_precision.py [--budget S] [--no-kernels]

Model table: latency = median over interleaved rounds (each round times every precision of a
model in turn, so load from other processes hits them alike); "weights" = bytes of the IR's
constants as lowered (what the model stores: f16 / i8 weights); "blob" = the native weights
blob after the cpu pipeline (int8 / int16: the GEMM's pre-packed copy of each weight, which
replaces the original). Calibration: 8 batches of 64 rows of `tfc.model.calibration_samples`
(seed 0); "agree" / "rel err" = top-1 agreement and max |y - y32| / max |y32| against fp32 on
2048 held-out rows of the same distribution (seed 1), as tests/precision/test_models.py
measures them (the timed inputs are another seed's rows).
"b64 CPU" = CPU time per call summed over threads (time.process_time): on a shared machine,
where a spawned thread may wait for a core, it is steadier than wall time.
Kernel table: GOP/s = 2 * multiply-adds / median time (int8 / int16: quant.matmul /
quant.conv2d, i32 / i64 results; fp32: math.matmul / nn.conv2d; numpy: int32 and float32 `@`);
"per CPU-s" divides by CPU time instead.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
MODELS = ("mlp", "lenet")
PRECISIONS = ("fp32", "fp16", "int8", "int16")
BATCHES = (1, 64)
HELD_BATCHES = 32          # 2048 held-out rows for "agree" / "rel err"


def log(msg: str) -> None:
    print(msg, file=sys.stderr, flush=True)


def compile_model(loaded, batch: int, precision: str, samples):
    from tfc.codegen.llvm.native import NativeFunction
    from tfc.model import freeze
    from tfc.passes import PassManager, default_pipeline
    import tfc.precision as P

    module = freeze(loaded, batch=batch)
    if precision != "fp32":
        module = P.quantize_module(module, precision, samples=samples, progress=False)
    weights = sum(op.attributes["value"].nbytes for op in module["main"].body.ops
                  if op.name == "core.constant")
    PassManager.parse(default_pipeline("cpu")).run(module)
    native = NativeFunction.jit(module["main"])
    return native, weights, native.plan.weights_bytes


def time_rounds(calls: dict, budget: float, cpu: dict | None = None) -> dict:
    """Median seconds per call of each callable, interleaved in rounds (and, into `cpu`, the
    median CPU seconds per call summed over the process's threads)."""
    for call in calls.values():
        call()
    per_call = {k: max(1e-6, _once(c)) for k, c in calls.items()}
    rounds = 5
    times = {k: [] for k in calls}
    cpus = {k: [] for k in calls}
    for _ in range(rounds):
        for k, call in calls.items():
            reps = max(1, int(budget / rounds / len(calls) / per_call[k]))
            start, start_cpu = time.perf_counter(), time.process_time()
            for _ in range(reps):
                call()
            times[k].append((time.perf_counter() - start) / reps)
            cpus[k].append((time.process_time() - start_cpu) / reps)
    if cpu is not None:
        cpu.update({k: float(np.median(v)) for k, v in cpus.items()})
    return {k: float(np.median(v)) for k, v in times.items()}


def _once(call) -> float:
    start = time.perf_counter()
    call()
    return time.perf_counter() - start


def fmt_time(s: float) -> str:
    return f"{s * 1e6:.0f} us" if s < 1e-3 else f"{s * 1e3:.2f} ms"


def fmt_bytes(n: int) -> str:
    return f"{n / 1024:.1f} KiB" if n < 1 << 20 else f"{n / (1 << 20):.2f} MiB"


def held_outputs(fn, held) -> np.ndarray:
    """The first output of a batch-64 native function on every held-out batch, stacked."""
    return np.concatenate([fn(*[sample[spec.name] for spec in fn.inputs])[0] for sample in held])


def model_table(budget: float) -> str:
    from tfc.model import calibration_samples, load_model

    rows = []
    for name in MODELS:
        loaded = load_model(ROOT / "models" / f"{name}.py")
        samples = calibration_samples(loaded, 8, batch=64, seed=0)
        held = calibration_samples(loaded, HELD_BATCHES, batch=64, seed=1)
        compiled = {}
        for batch in BATCHES:
            for precision in PRECISIONS:
                log(f"compiling {name} {precision} batch {batch}")
                compiled[batch, precision] = compile_model(loaded, batch, precision, samples)
        inputs = {}
        for batch in BATCHES:
            (sample,) = calibration_samples(loaded, 1, batch=batch, seed=99)
            fn = compiled[batch, "fp32"][0]
            inputs[batch] = [sample[spec.name] for spec in fn.inputs]
        log(f"timing {name}")
        times, cpu = {}, {}
        for batch in BATCHES:
            calls = {p: (lambda f=compiled[batch, p][0], x=inputs[batch]: f(*x)) for p in PRECISIONS}
            cpu_b = {}
            times.update({(batch, p): t for p, t in time_rounds(calls, budget, cpu_b).items()})
            cpu.update({(batch, p): t for p, t in cpu_b.items()})
        outputs = {p: held_outputs(compiled[64, p][0], held) for p in PRECISIONS}
        reference = outputs["fp32"].astype(np.float64)
        for precision in PRECISIONS:
            out = outputs[precision]
            agree = float(np.mean(out.argmax(-1) == reference.argmax(-1)))
            rel = float(np.max(np.abs(out - reference)) / np.max(np.abs(reference)))
            _, weights, blob = compiled[64, precision]
            rows.append([name, precision, fmt_time(times[1, precision]), fmt_time(times[64, precision]),
                         f"{times[64, 'fp32'] / times[64, precision]:.2f}x", fmt_time(cpu[64, precision]),
                         f"{cpu[64, 'fp32'] / cpu[64, precision]:.2f}x", fmt_bytes(weights),
                         fmt_bytes(blob), f"{agree * 100:.1f}%", f"{rel:.2g}"])
    header = ["model", "precision", "batch 1", "batch 64", "speed-up b64", "b64 CPU", "CPU speed-up",
              "weights", "blob", "agree", "rel err"]
    return table(header, rows)


def kernel_table(budget: float) -> str:
    from tfc.codegen.llvm.native import NativeFunction
    from tfc.ir import FunctionBuilder, TensorType, dtypes as dt

    def jit(name, arrays, attrs, constant=None):
        types = [TensorType(a.shape, dt.from_numpy(a.dtype)) for a in arrays]
        fb = FunctionBuilder("main", types, [f"x{i}" for i in range(len(arrays))])
        operands = list(fb.args) + ([fb.constant(constant)] if constant is not None else [])
        op = fb.create(name, operands, attrs)
        fn = NativeFunction.jit(fb.ret(list(op.results)))
        return lambda: fn(*arrays)

    rng = np.random.default_rng(0)
    rows = []
    cases = [
        ("matmul 512x512x512", "matmul", (512, 512), (512, 512), {}, 512 ** 3),
        ("matmul 64x784x512 (mlp fc1, weight const)", "matmul", (64, 784), (784, 512), {}, 64 * 784 * 512),
        ("conv lenet conv2 b64 14x14x6 5x5x16", "conv", (64, 14, 14, 6), (5, 5, 6, 16),
         dict(strides=[1, 1], padding="VALID"), 64 * 10 * 10 * 150 * 16),
        ("conv vgg 56x56x64 3x3x64", "conv", (1, 56, 56, 64), (3, 3, 64, 64),
         dict(strides=[1, 1], padding="SAME"), 56 * 56 * 9 * 64 * 64),
    ]
    for title, kind, xs, ws, attrs, macs in cases:
        x8 = rng.integers(-128, 128, xs).astype(np.int8)
        w8 = rng.integers(-128, 128, ws).astype(np.int8)
        x16, w16 = x8.astype(np.int16) * 200, w8.astype(np.int16) * 200
        xf, wf = x8.astype(np.float32), w8.astype(np.float32)
        const = "const" in title
        log(f"kernels: {title}")
        if kind == "matmul":
            calls = {"int8": jit("quant.matmul", [x8] + ([] if const else [w8]), {}, w8 if const else None),
                     "int16": jit("quant.matmul", [x16] + ([] if const else [w16]), {}, w16 if const else None),
                     "fp32": jit("math.matmul", [xf] + ([] if const else [wf]),
                                 {"transpose_a": False, "transpose_b": False}, wf if const else None)}
            x32, w32 = x8.astype(np.int32), w8.astype(np.int32)
            calls["numpy f32"] = lambda: xf @ wf
            if macs <= 1 << 27:
                calls["numpy i32"] = lambda: x32 @ w32
        else:
            calls = {"int8": jit("quant.conv2d", [x8], attrs, w8),
                     "int16": jit("quant.conv2d", [x16], attrs, w16),
                     "fp32": jit("nn.conv2d", [xf], attrs, wf)}
        cpu = {}
        times = time_rounds(calls, budget, cpu)
        gops = {k: 2 * macs / t / 1e9 for k, t in times.items()}
        per_core = {k: 2 * macs / t / 1e9 for k, t in cpu.items()}
        rows.append([title, f"{gops['int8']:.1f}", f"{gops['int16']:.1f}", f"{gops['fp32']:.1f}",
                     f"{gops['int8'] / gops['fp32']:.2f}x",
                     f"{per_core['int8']:.0f} / {per_core['int16']:.0f} / {per_core['fp32']:.0f}",
                     f"{gops['numpy f32']:.1f}" if "numpy f32" in gops else "-",
                     f"{gops['numpy i32']:.2f}" if "numpy i32" in gops else "-"])
    header = ["kernel", "int8 GOP/s", "int16 GOP/s", "fp32 GOP/s", "int8/fp32",
              "per CPU-s int8 / int16 / fp32",
              "numpy f32", "numpy i32"]
    return table(header, rows)


def table(header, rows) -> str:
    widths = [max(len(str(r[i])) for r in [header] + rows) for i in range(len(header))]
    line = lambda r: "| " + " | ".join(str(c).ljust(w) for c, w in zip(r, widths)) + " |"
    return "\n".join([line(header), "|" + "|".join("-" * (w + 2) for w in widths) + "|"]
                     + [line(r) for r in rows])


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--budget", type=float, default=2.0, help="seconds of timing per table cell group")
    parser.add_argument("--no-kernels", action="store_true", help="only the model table")
    parser.add_argument("--no-models", action="store_true", help="only the kernel table")
    opts = parser.parse_args(argv)
    from tfc.codegen.llvm.kernels.linalg import THREADS
    print(f"threads: {THREADS}\n")
    if not opts.no_models:
        print(model_table(opts.budget))
        print()
    if not opts.no_kernels:
        print(kernel_table(opts.budget))
    return 0


if __name__ == "__main__":
    sys.exit(main())
