"""What the default pass pipeline buys: each model (and the 4M elementwise chain) compiled
natively without passes and with the CPU's default pipeline.

    python benchmarks/bench_passes.py [--quick] [--batch N ...]

Prints one markdown table: kernels (ops that become kernels; a fused group counts once), the
peak temporary memory (without passes: one buffer per value, as a runtime without a memory
planner allocates; with the pipeline: the planned arena), and the median latency of each
build. `--quick` skips VGG19. The outputs of both builds are compared (fp32, 1e-5 relative).
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

from run import elementwise_chain, fmt_bytes, fmt_time, model_workload, table  # noqa: E402


def build(function, pipeline: str):
    from tfc.codegen.llvm.native import NativeFunction
    from tfc.ir import Module
    from tfc.passes import PassManager
    from tfc.passes.fuse import count_kernels

    module = Module([function.clone()])
    if pipeline:
        PassManager.parse(pipeline).run(module)
    start = time.perf_counter()
    native = NativeFunction.jit(module["main"])
    return native, count_kernels(module["main"]), time.perf_counter() - start


def latencies(natives, inputs, budget: float, rounds: int = 5) -> list[float]:
    """Median time per call of each callable, timed in interleaved rounds (so a slow spell of
    the machine hits both builds alike)."""
    times = [[] for _ in natives]
    for native in natives:
        native(*inputs)
    for _ in range(rounds):
        for native, out in zip(natives, times):
            end = time.perf_counter() + budget / rounds
            while time.perf_counter() < end or len(out) < 3:
                start = time.perf_counter()
                native(*inputs)
                out.append(time.perf_counter() - start)
    return [statistics.median(t) for t in times]


def main(argv=None) -> int:
    from tfc.passes import default_pipeline

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="skip VGG19, 1 s per cell")
    parser.add_argument("--batch", type=int, action="append",
                        help="batch of mlp and lenet (repeatable; default 1 and 64; VGG19 runs batch 1)")
    opts = parser.parse_args(argv)
    budget = 1.0 if opts.quick else 3.0
    batches = opts.batch or [1, 64]
    workloads = [(f"{m}-b{n}", model_workload(m, n)) for m in ("mlp", "lenet") for n in batches]
    workloads.append(("elementwise-4M", elementwise_chain))
    if not opts.quick:
        workloads.append(("vgg19-b1", model_workload("vgg19", 1)))
    pipeline = default_pipeline("cpu")
    rows, failed = [], False
    for name, make in workloads:
        print(f"{name}: building", file=sys.stderr, flush=True)
        built = make()
        plain, plain_kernels, plain_s = build(built.function, "")
        optimized, kernels, optimized_s = build(built.function, pipeline)
        want, got = plain(*built.inputs), optimized(*built.inputs)
        for w, g in zip(want, got):
            if not np.allclose(g, w, rtol=1e-5, atol=1e-6):
                print(f"{name}: outputs differ by {np.max(np.abs(g - w))}", file=sys.stderr)
                failed = True
        t_plain, t_opt = latencies([plain, optimized], built.inputs, budget)
        rows.append([name, f"{plain_kernels} -> {kernels}",
                     f"{fmt_bytes(plain.plan.temp_bytes_unplanned)} -> {fmt_bytes(optimized.temp_bytes)}",
                     fmt_time(t_plain), fmt_time(t_opt), f"{t_plain / t_opt:.2f}x",
                     f"{plain_s:.1f} s / {optimized_s:.1f} s"])
    print(f"Default pipeline: `{pipeline}`\n")
    print(table(["workload", "kernels", "peak temp (one buffer per value -> planned)",
                 "latency, no passes", "latency, pipeline", "speed-up", "compile (no passes / pipeline)"],
                rows, ["l", "r", "r", "r", "r", "r", "r"]))
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
