"""Simulated cycles and simulator wall time of LeNet and VGG19 (batch 1) on the MLU profiles.

    python benchmarks/bench_mlu.py                  # LeNet and VGG19 on mlu270 and mlu370
    python benchmarks/bench_mlu.py --models lenet --profiles mlu370

Each model is compiled with `tfc.mlu.compile_for_mlu` (mlu270: conv/matmul in int16 fixed
point, calibrated on one sample; mlu370: fp32), run once on the simulator, and the table gives
the kernels, the simulated cycles (sum over kernels, each kernel = its slowest core), the
simulated time at the profile's clock, how many kernels are compute bound, and the wall time
of the simulation itself (compilation excluded). `--reports` prints every kernel's report.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
MODELS = {"lenet": ROOT / "models" / "lenet.py", "vgg19": ROOT / "models" / "vgg19.py",
          "mlp": ROOT / "models" / "mlp.py"}


def bench(model: str, profile: str, show_reports: bool = False) -> dict:
    from tfc.mlu import compile_for_mlu
    from tfc.model import calibration_samples, load_model
    from tfc.runtime.mlu import PROFILES, format_reports
    from tfc.runtime.mlu.program import Runner

    path = str(MODELS[model])
    sample = calibration_samples(load_model(path), 1, 1, seed=0)[0]
    t0 = time.perf_counter()
    program = compile_for_mlu(path, None, profile, samples=[sample])
    compile_s = time.perf_counter() - t0
    runner = Runner(program, profile=profile)
    t0 = time.perf_counter()
    outputs, reports = runner(sample)
    wall = time.perf_counter() - t0
    if show_reports:
        print(format_reports(reports))
    cycles = sum(r.cycles for r in reports)
    clock = PROFILES[profile].clock_ghz
    return {"model": model, "profile": profile, "precision": program.plan.get("precision", "?"),
            "kernels": len(reports), "cycles": cycles, "sim_ms": cycles / (clock * 1e6),
            "compute_bound": sum(r.bound == "compute" for r in reports), "wall_s": wall,
            "compile_s": compile_s}


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--models", default="lenet,vgg19")
    parser.add_argument("--profiles", default="mlu270,mlu370")
    parser.add_argument("--reports", action="store_true", help="print each kernel's report")
    args = parser.parse_args(argv)
    rows = []
    for model in args.models.split(","):
        for profile in args.profiles.split(","):
            row = bench(model.strip(), profile.strip(), args.reports)
            rows.append(row)
            print(f"  {model} {profile}: {row['cycles']:.4g} cycles, {row['wall_s']:.2f} s wall",
                  file=sys.stderr, flush=True)
    header = (f"{'model':<7} {'profile':<7} {'precision':<9} {'kernels':>7} {'sim cycles':>14} "
              f"{'sim time':>10} {'compute-bound':>13} {'sim wall':>9} {'compile':>8}")
    print(header)
    print("-" * len(header))
    for r in rows:
        print(f"{r['model']:<7} {r['profile']:<7} {r['precision']:<9} {r['kernels']:>7} "
              f"{r['cycles']:>14,.0f} {r['sim_ms']:>8.3f}ms {r['compute_bound']:>8}/{r['kernels']:<4} "
              f"{r['wall_s']:>8.2f}s {r['compile_s']:>7.1f}s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
