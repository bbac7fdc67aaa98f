"""tfc's benchmark table: tfc's native code against numpy op by op, onnxruntime, TensorFlow/XLA
and plain TensorFlow, on the workloads of issues 4 and 5.

    python benchmarks/run.py [--quick] [--only NAME[,NAME...]] [--frameworks LIST] [--json FILE]

Prints markdown tables on stdout (progress goes to stderr). See benchmarks/README.md for what
each column means. OpenBLAS reads OPENBLAS_CORETYPE and OPENBLAS_L2_SIZE at start-up: if they
are set, run `env -u OPENBLAS_CORETYPE -u OPENBLAS_L2_SIZE python benchmarks/run.py` for
numpy's real number on this machine.
"""

from __future__ import annotations

import argparse
import gc
import json
import os
import platform
import sys
import tempfile
import time
import traceback
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")      # before TensorFlow is imported

import numpy as np

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
sys.path.insert(0, str(HERE))       # onnx_export, tf_build

THREADS = os.cpu_count() or 1       # "both cores allowed for everyone"
FRAMEWORKS = ["tfc", "numpy", "onnxruntime", "xla", "tf"]
LABELS = {"tfc": "tfc native", "numpy": "numpy op-by-op", "onnxruntime": "onnxruntime",
          "xla": "TF/XLA", "tf": "TF", "numpy-expr": "numpy expression"}
SHORT = {"numpy": "numpy", "onnxruntime": "ORT", "xla": "XLA", "tf": "TF"}
NOT_KERNELS = {"core.constant", "core.return"}


def log(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


# Workloads -----------------------------------------------------------------------------------
@dataclass
class Built:
    function: object                     # the IR function (frozen or built)
    inputs: list[np.ndarray]
    freeze_s: float | None = None        # model files: time of load_model + freeze
    numpy_call: Callable | None = None   # instead of the interpreter (matmul: a @ b)
    numpy_expr: Callable | None = None   # a hand-written numpy expression, shown in the notes


@dataclass
class Workload:
    name: str
    title: str
    build: Callable[[], Built]
    model: str | None = None             # models/NAME.py: compiled through the AOT path
    slow: bool = False                   # skipped by --quick


def model_workload(model: str, batch: int) -> Callable[[], Built]:
    def build() -> Built:
        from tfc.model import freeze, load_model

        start = time.perf_counter()
        module = freeze(load_model(ROOT / "models" / f"{model}.py"), batch=batch)
        freeze_s = time.perf_counter() - start
        function = module["main"]
        rng = np.random.default_rng(0)
        inputs = [rng.uniform(0, 1, a.type.shape).astype(a.type.dtype.numpy) for a in function.args]
        return Built(function, inputs, freeze_s)
    return build


def _finish(fb, results, names):
    from tfc.ir import Module, verify

    function = fb.ret(results, {"outputs": tuple(names)})
    verify(Module([function]))
    return function


def elementwise_chain() -> Built:
    """y = tanh(x * 2 + 1) * 0.5 - x on 4M float32, five separate IR ops."""
    from tfc.ir import FunctionBuilder, TensorType, dtypes

    n = 4 * 1024 * 1024
    fb = FunctionBuilder("main", [TensorType((n,), dtypes.float32)], ["x"])
    x = fb.args[0]
    y = fb.op("math.mul", x, fb.constant(np.float32(2.0)))
    y = fb.op("math.add", y, fb.constant(np.float32(1.0)))
    y = fb.op("math.tanh", y)
    y = fb.op("math.mul", y, fb.constant(np.float32(0.5)))
    y = fb.op("math.sub", y, x)
    function = _finish(fb, [y], ["y"])
    x0 = np.random.default_rng(0).uniform(-2, 2, n).astype(np.float32)
    two, one, half = np.float32(2), np.float32(1), np.float32(0.5)
    return Built(function, [x0], numpy_expr=lambda: [np.tanh(x0 * two + one) * half - x0])


def matmul_1024() -> Built:
    from tfc.ir import FunctionBuilder, TensorType, dtypes

    n = 1024
    fb = FunctionBuilder("main", [TensorType((n, n), dtypes.float32)] * 2, ["a", "b"])
    c = fb.op("math.matmul", *fb.args)
    function = _finish(fb, [c], ["c"])
    rng = np.random.default_rng(0)
    a, b = (rng.standard_normal((n, n), dtype=np.float32) for _ in range(2))
    return Built(function, [a, b], numpy_call=lambda: [a @ b])


def conv3x3() -> Built:
    """3x3 conv 64->64, stride 1, SAME, on 1x56x56x64 (NHWC); the filter is a constant."""
    from tfc.ir import FunctionBuilder, TensorType, dtypes

    rng = np.random.default_rng(0)
    fb = FunctionBuilder("main", [TensorType((1, 56, 56, 64), dtypes.float32)], ["x"])
    limit = np.sqrt(6 / (9 * 64 + 9 * 64))
    w = fb.constant(rng.uniform(-limit, limit, (3, 3, 64, 64)).astype(np.float32))
    y = fb.op("nn.conv2d", fb.args[0], w, strides=(1, 1), padding="SAME")
    function = _finish(fb, [y], ["y"])
    return Built(function, [rng.uniform(0, 1, (1, 56, 56, 64)).astype(np.float32)])


WORKLOADS = [
    Workload("mlp-b1", "MLP 784-512-512-10, batch 1", model_workload("mlp", 1), model="mlp"),
    Workload("mlp-b128", "MLP 784-512-512-10, batch 128", model_workload("mlp", 128), model="mlp"),
    Workload("lenet-b64", "LeNet-5, batch 64", model_workload("lenet", 64), model="lenet"),
    Workload("elementwise-4M", "tanh(x*2+1)*0.5-x, 4M f32", elementwise_chain),
    Workload("matmul-1024", "matmul 1024^3 f32", matmul_1024),
    Workload("conv3x3-56", "conv 3x3 64->64, 1x56x56x64", conv3x3),
    Workload("vgg19-b1", "VGG19, batch 1", model_workload("vgg19", 1), model="vgg19", slow=True),
]


def contraction_flops(function) -> int:
    """2 * multiply-adds of the function's matmuls and convolutions (the usual GFLOP count)."""
    total = 0
    for op in function.body.ops:
        if op.name == "math.matmul":
            a, b = (v.type.shape for v in op.operands)
            k = a[-2] if op.attributes.get("transpose_a") else a[-1]
            total += 2 * int(np.prod(op.results[0].type.shape)) * k
        elif op.name == "nn.conv2d":
            kh, kw, cin, _ = op.operands[1].type.shape
            total += 2 * int(np.prod(op.results[0].type.shape)) * kh * kw * cin
    return total


def kernel_count(ops: list[str], explicit=None) -> int:
    """IR ops that become kernels: all but constants, the return and the ops that only alias
    their operand's buffer. `ops` are the manifest's op descriptions ("loc: name")."""
    if explicit is not None:
        return int(explicit)
    from tfc.codegen.llvm.emitter import ALIASING_OPS

    names = [d.rsplit(": ", 1)[-1] for d in ops]
    return sum(1 for n in names if n not in NOT_KERNELS and n not in ALIASING_OPS)


# Runners -------------------------------------------------------------------------------------
@dataclass
class Runner:
    key: str
    call: Callable | None = None
    setup_s: float | None = None         # compile / export+session / trace (excluding 1st call)
    first_call_s: float | None = None
    times: list[float] = field(default_factory=list)
    output: list[np.ndarray] | None = None
    error: str | None = None
    info: dict = field(default_factory=dict)
    estimate: float = 0.0
    target: int = 0


def short_error(e: BaseException) -> str:
    text = f"{type(e).__name__}: {e}".strip().splitlines()[0]
    return text


def setup_tfc(w: Workload, built: Built, tmp: Path) -> Runner:
    """tfc compiles its own freshly built copy of the workload (the same seeded weights): its
    compiler may rewrite the IR it is given, and the other columns must see the frozen IR."""
    from tfc.ir import Module
    from tfc.passes import PassManager, default_pipeline

    r = Runner("tfc")
    function = w.build().function
    module = function.module or Module([function])
    start = time.perf_counter()
    PassManager.parse(default_pipeline("cpu")).run(module)      # as `tfc compile` does
    passes_s = time.perf_counter() - start
    function = module["main"]
    if w.model:
        from tfc.aot import write_cpu_artifacts
        from tfc.runtime import cpu

        folder = tmp / f"{w.name}_tfc"
        start = time.perf_counter()
        manifest = write_cpu_artifacts(module, folder, w.model)
        r.setup_s = passes_s + time.perf_counter() - start
        fn = cpu.load(folder)
        r.info.update(kernels=kernel_count(manifest["ops"], manifest.get("kernels")),
                      temp_bytes=manifest["temp_bytes"], weights_bytes=manifest["weights_bytes"],
                      temp_unplanned=manifest.get("temp_bytes_unplanned"),
                      path="AOT (write_cpu_artifacts + runtime.cpu.load)",
                      notes=manifest.get("notes", []))
    else:
        from tfc.codegen.llvm.native import NativeFunction, describe_op

        start = time.perf_counter()
        fn = NativeFunction.jit(function)
        r.setup_s = passes_s + time.perf_counter() - start
        ops = [describe_op(op) for op in fn.function.body.ops]
        r.info.update(kernels=kernel_count(ops), temp_bytes=fn.temp_bytes,
                      temp_unplanned=getattr(fn.plan, "temp_bytes_unplanned", None),
                      weights_bytes=fn.plan.weights_bytes, path="JIT (NativeFunction.jit)")
    inputs = built.inputs
    r.call = lambda: fn(*inputs)
    return r


def setup_numpy(w: Workload, built: Built) -> Runner:
    r = Runner("numpy")
    if built.numpy_call is not None:
        r.call = built.numpy_call
        r.info["path"] = "a @ b"
    else:
        from tfc.runtime.interpreter import run_function

        function, inputs = built.function, built.inputs
        r.call = lambda: run_function(function, inputs)
        r.info["path"] = "reference interpreter"
    r.setup_s = 0.0
    return r


def setup_numpy_expr(built: Built) -> Runner:
    r = Runner("numpy-expr", call=built.numpy_expr, setup_s=0.0)
    r.info["path"] = "hand-written numpy expression"
    return r


def setup_onnxruntime(w: Workload, built: Built) -> Runner:
    import onnxruntime as ort

    import onnx_export

    r = Runner("onnxruntime")
    start = time.perf_counter()
    model = onnx_export.export(built.function, w.name.replace("-", "_"))
    options = ort.SessionOptions()
    options.intra_op_num_threads = THREADS
    options.inter_op_num_threads = 1
    options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
    options.log_severity_level = 3
    session = ort.InferenceSession(model.SerializeToString(), options, providers=["CPUExecutionProvider"])
    del model
    r.setup_s = time.perf_counter() - start
    feeds = {i.name: x for i, x in zip(session.get_inputs(), built.inputs)}
    r.call = lambda: session.run(None, feeds)
    return r


def setup_tensorflow(w: Workload, built: Built, xla: bool) -> Runner:
    import tensorflow as tf

    import tf_build

    r = Runner("xla" if xla else "tf")
    start = time.perf_counter()
    fn = tf_build.compile(built.function, xla=xla)
    tensors = [tf.constant(x) for x in built.inputs]     # the feed is a TF tensor already
    r.setup_s = time.perf_counter() - start
    r.call = lambda: [t.numpy() for t in fn(*tensors)]
    return r


# Timing --------------------------------------------------------------------------------------
@dataclass
class Options:
    budget: float          # seconds of timed calls per runner and workload (approximately)
    min_runs: int
    max_runs: int
    rounds: int            # runners are interleaved in this many rounds
    gap: float             # seconds of idle between blocks (other libraries' spinning threads)


def warm_up(r: Runner) -> None:
    try:
        start = time.perf_counter()
        r.output = [np.asarray(o) for o in r.call()]
        r.first_call_s = time.perf_counter() - start
        times = []
        for _ in range(2):
            start = time.perf_counter()
            r.call()
            times.append(time.perf_counter() - start)
        r.estimate = min(times)
    except Exception as e:  # noqa: BLE001 - recorded in the table
        r.error = short_error(e)
        r.info["traceback"] = traceback.format_exc()


def time_runners(runners: list[Runner], opts: Options) -> None:
    live = [r for r in runners if r.error is None and r.call is not None]
    for r in live:
        r.target = int(min(max(opts.budget / max(r.estimate, 1e-7), opts.min_runs), opts.max_runs))
    for k in range(opts.rounds):
        order = live[k % len(live):] + live[:k % len(live)] if live else []
        for r in order:
            n = r.target * (k + 1) // opts.rounds - r.target * k // opts.rounds
            if n <= 0:
                continue
            gc.collect()
            time.sleep(opts.gap)
            gc.disable()
            try:
                if r.estimate < 0.05:
                    r.call()              # caches and pages back after the other runners
                for _ in range(n):
                    start = time.perf_counter()
                    r.call()
                    r.times.append(time.perf_counter() - start)
            except Exception as e:  # noqa: BLE001 - recorded in the table
                r.error = "while timing: " + short_error(e)
                r.info["traceback"] = traceback.format_exc()
            finally:
                gc.enable()
        live = [r for r in live if r.error is None]


def rel_error(output, reference) -> float:
    worst = 0.0
    for y, ref in zip(output, reference):
        y, ref = np.asarray(y, np.float64), np.asarray(ref, np.float64)
        if y.shape != ref.shape:
            return float("inf")
        scale = max(float(np.max(np.abs(ref))) if ref.size else 0.0, 1e-30)
        worst = max(worst, float(np.max(np.abs(y - ref))) / scale if ref.size else 0.0)
    return worst


# Formatting ----------------------------------------------------------------------------------
def fmt_time(seconds: float) -> str:
    if seconds < 1e-3:
        return f"{seconds * 1e6:.1f} us"
    if seconds < 1:
        return f"{seconds * 1e3:.2f} ms"
    return f"{seconds:.3f} s"


def fmt_bytes(n: int | None) -> str:
    if n is None:
        return "-"
    for unit, size in (("GiB", 1 << 30), ("MiB", 1 << 20), ("KiB", 1 << 10)):
        if n >= size:
            return f"{n / size:.1f} {unit}"
    return f"{n} B"


def median(times: list[float]) -> float:
    return float(np.median(times))


def spread(times: list[float]) -> float:
    """Half the interquartile range, relative to the median."""
    q1, q2, q3 = np.percentile(times, [25, 50, 75])
    return float((q3 - q1) / 2 / q2) if q2 else 0.0


def table(header: list[str], rows: list[list[str]], align: list[str] | None = None) -> str:
    align = align or ["l"] + ["r"] * (len(header) - 1)
    sep = [":--" if a == "l" else "--:" for a in align]
    lines = ["| " + " | ".join(header) + " |", "|" + "|".join(sep) + "|"]
    lines += ["| " + " | ".join(row) + " |" for row in rows]
    return "\n".join(lines)


def cell_time(r: Runner | None) -> str:
    if r is None:
        return "n/a"
    if r.error:
        text = r.error if len(r.error) <= 90 else r.error[:87] + "..."
        return "error: " + text.replace("|", "/")
    if not r.times:
        return "-"
    return f"{fmt_time(median(r.times))} ±{spread(r.times) * 100:.0f}%"


def ratio(tfc: Runner | None, other: Runner | None) -> str:
    if not tfc or not other or tfc.error or other.error or not tfc.times or not other.times:
        return "-"
    return f"{median(other.times) / median(tfc.times):.2f}x"


def machine_line(versions: dict[str, str]) -> str:
    cpu = platform.processor() or platform.machine()
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    parts = [f"{cpu}, {THREADS} cores", f"Python {platform.python_version()}"]
    parts += [f"{k} {v}" for k, v in versions.items()]
    return "; ".join(parts)


def library_versions(frameworks: list[str], notes: list[str]) -> dict[str, str]:
    import llvmlite

    versions = {"numpy": np.__version__, "llvmlite": llvmlite.__version__}
    try:
        blas = np.show_config(mode="dicts")["Build Dependencies"]["blas"]
        versions["numpy BLAS"] = f"{blas.get('name')} {blas.get('version')}"
    except Exception:  # noqa: BLE001 - only informative
        pass
    if "onnxruntime" in frameworks:
        try:
            import onnx
            import onnxruntime

            versions["onnxruntime"] = onnxruntime.__version__
            versions["onnx"] = onnx.__version__
        except ImportError as e:
            frameworks.remove("onnxruntime")
            notes.append(f"onnxruntime column skipped: {short_error(e)} "
                         "(`pip install -e '.[bench]'` installs onnx and onnxruntime).")
    if "xla" in frameworks or "tf" in frameworks:
        try:
            import tensorflow as tf

            tf.config.threading.set_intra_op_parallelism_threads(THREADS)
            versions["tensorflow"] = tf.__version__
        except Exception as e:  # noqa: BLE001 - TF is optional
            for key in ("xla", "tf"):
                if key in frameworks:
                    frameworks.remove(key)
            notes.append(f"TensorFlow columns skipped: tensorflow is not importable ({short_error(e)}).")
    return versions


def warm_up_llvm() -> None:
    """JIT one tiny function, so that LLVM's one-time start-up is not in the first workload's
    freeze (the session JIT-compiles the variable initializers) or compile time."""
    from tfc.codegen.llvm.native import NativeFunction
    from tfc.ir import FunctionBuilder, TensorType, dtypes

    fb = FunctionBuilder("main", [TensorType((4,), dtypes.float32)], ["x"])
    NativeFunction.jit(fb.ret([fb.op("nn.relu", fb.args[0])]))(np.zeros(4, np.float32))


# Main ----------------------------------------------------------------------------------------
def select(workloads: list[Workload], only: list[str], quick: bool) -> list[Workload]:
    if not only:
        return [w for w in workloads if not (quick and w.slow)]
    chosen = []
    for name in only:
        matches = [w for w in workloads if w.name == name] or \
                  [w for w in workloads if w.name.startswith(name)]
        if not matches:
            raise SystemExit(f"--only {name}: no such workload (have {', '.join(w.name for w in workloads)})")
        chosen += [w for w in matches if w not in chosen]
    return [w for w in workloads if w in chosen]


def run_workload(w: Workload, frameworks: list[str], opts: Options, tmp: Path) -> dict:
    log(f"== {w.name}: building")
    built = w.build()
    runners: dict[str, Runner] = {}
    setups = {
        "tfc": lambda: setup_tfc(w, built, tmp),
        "numpy": lambda: setup_numpy(w, built),
        "onnxruntime": lambda: setup_onnxruntime(w, built),
        "xla": lambda: setup_tensorflow(w, built, xla=True),
        "tf": lambda: setup_tensorflow(w, built, xla=False),
    }
    keys = list(frameworks)
    if "numpy" in frameworks and built.numpy_expr is not None:
        setups["numpy-expr"] = lambda: setup_numpy_expr(built)
        keys.append("numpy-expr")
    for key in keys:
        log(f"   {w.name}: setting up {LABELS[key]}")
        try:
            runners[key] = setups[key]()
        except Exception as e:  # noqa: BLE001 - recorded in the table
            runners[key] = Runner(key, error=short_error(e), info={"traceback": traceback.format_exc()})
            continue
        warm_up(runners[key])
    log(f"   {w.name}: timing " + ", ".join(
        f"{LABELS[k]} ~{fmt_time(r.estimate)}" for k, r in runners.items() if r.error is None))
    time_runners(list(runners.values()), opts)
    # The reference: the interpreter (a @ b for the matmul), computed after the timings.
    reference = runners["numpy"].output if "numpy" in runners and runners["numpy"].output else None
    if reference is None:
        from tfc.runtime.interpreter import run_function

        reference = built.numpy_call() if built.numpy_call else run_function(built.function, built.inputs)
    for r in runners.values():
        if r.output is not None:
            r.info["rel_error"] = rel_error(r.output, reference)
        r.output = None
    flops = contraction_flops(built.function)
    result = {"name": w.name, "title": w.title, "flops": flops, "freeze_s": built.freeze_s,
              "runners": runners}
    for r in runners.values():
        state = r.error or f"median {fmt_time(median(r.times))} over {len(r.times)} runs"
        log(f"   {w.name}: {LABELS[r.key]}: {state}")
        if r.error and "traceback" in r.info:
            log(r.info["traceback"])
    return result


def report(results: list[dict], frameworks: list[str], versions: dict, notes: list[str],
           opts: Options, quick: bool) -> str:
    out = ["# tfc benchmarks", "",
           f"Machine: {machine_line(versions)}.", "",
           f"Median wall time per call after warm-up (± is half the interquartile range); each "
           f"runner is timed for about {opts.budget:g} s ({opts.min_runs}..{opts.max_runs} runs), "
           f"interleaved with the others in {opts.rounds} rounds. Ratios are tfc's speedup: "
           f"other's median / tfc's median (> 1 means tfc is faster). All use {THREADS} threads.", ""]
    others = [k for k in frameworks if k != "tfc"]
    header = ["workload"] + [LABELS[k] for k in frameworks]
    if "tfc" in frameworks:
        header += [f"tfc vs {SHORT[k]}" for k in others]
    rows = []
    for res in results:
        rs = res["runners"]
        row = [res["title"]] + [cell_time(rs.get(k)) for k in frameworks]
        if "tfc" in frameworks:
            row += [ratio(rs.get("tfc"), rs.get(k)) for k in others]
        rows.append(row)
    out += ["## Time per call", "", table(header, rows), ""]

    flop_rows = []
    for res in results:
        if not res["flops"]:
            continue
        row = [res["title"], f"{res['flops'] / 1e9:.3f}"]
        for k in frameworks:
            r = res["runners"].get(k)
            ok = r is not None and not r.error and r.times
            row.append(f"{res['flops'] / median(r.times) / 1e9:.1f}" if ok else "-")
        flop_rows.append(row)
    if flop_rows:
        out += ["## GFLOP/s (2 x multiply-adds of the matmuls and convolutions / median time)", "",
                table(["workload", "GFLOP"] + [LABELS[k] for k in frameworks], flop_rows), ""]

    show_unplanned = any(res["runners"].get("tfc") and res["runners"]["tfc"].info.get("temp_unplanned")
                         is not None for res in results)
    compile_rows = []
    for res in results:
        rs = res["runners"]
        t = rs.get("tfc")
        info = t.info if t else {}
        row = [res["title"],
               f"{res['freeze_s']:.2f} s" if res["freeze_s"] is not None else "-",
               (f"{t.setup_s:.2f} s" if t and t.setup_s is not None else ("error" if t and t.error else "-")),
               info.get("path", "-").split(" (")[0],
               str(info.get("kernels", "-")),
               fmt_bytes(info.get("temp_bytes"))]
        if show_unplanned:
            row.append(fmt_bytes(info.get("temp_unplanned")))
        row.append(fmt_bytes(info.get("weights_bytes")))
        for k in ("onnxruntime", "xla", "tf"):
            if k in frameworks:
                r = rs.get(k)
                if r is None or r.error or r.setup_s is None:
                    row.append("-")
                elif k == "onnxruntime":
                    row.append(f"{r.setup_s:.2f} s")
                else:
                    row.append(f"{r.setup_s + (r.first_call_s or 0):.2f} s")
        compile_rows.append(row)
    header = ["workload", "freeze", "tfc compile", "tfc path", "kernels", "temp arena"]
    header += ["temp, no reuse"] * show_unplanned + ["weights"]
    header += [{"onnxruntime": "ORT export+session", "xla": "XLA 1st call", "tf": "TF 1st call"}[k]
               for k in ("onnxruntime", "xla", "tf") if k in frameworks]
    out += ["## Compilation", "",
            "freeze = load_model + freeze (model files); tfc compile = write_cpu_artifacts (AOT: "
            "codegen, LLVM, object, link) or NativeFunction.jit; kernels = IR ops that become "
            "kernels (all but constants, the return and aliasing reshapes); temp arena = the "
            "manifest's temp_bytes (temp, no reuse: its temp_bytes_unplanned, one buffer per value). The others' set-up: ONNX export + InferenceSession, and for TF "
            "tracing + the first call (which compiles, for XLA).", "",
            table(header, compile_rows), ""]

    acc_rows = []
    for res in results:
        row = [res["title"]]
        for k in frameworks:
            r = res["runners"].get(k)
            e = r.info.get("rel_error") if r else None
            row.append("-" if e is None else (f"{e:.1e}" + (" (!)" if e > 1e-3 else "")))
        acc_rows.append(row)
    out += ["## Accuracy", "",
            "max |y - ref| / max |ref| over the outputs, against the reference interpreter "
            "(a @ b for the matmul); (!) marks more than 1e-3.", "",
            table(["workload"] + [LABELS[k] for k in frameworks], acc_rows), ""]

    runs_rows = [[res["title"]] + [str(len(res["runners"][k].times)) if k in res["runners"] else "-"
                                   for k in frameworks] for res in results]
    out += ["## Timed runs per cell", "", table(["workload"] + [LABELS[k] for k in frameworks], runs_rows), ""]

    all_notes = list(notes)
    if quick:
        all_notes.append("--quick: VGG19 skipped, shorter timings.")
    for res in results:
        expr, tfc = res["runners"].get("numpy-expr"), res["runners"].get("tfc")
        if expr is not None and expr.times:
            all_notes.append(
                f"{res['title']}: a hand-written numpy expression (`np.tanh(x * 2 + 1) * 0.5 - x`, "
                f"temporaries freed as it goes) takes {fmt_time(median(expr.times))} "
                f"({len(expr.times)} runs); tfc's speedup over it: {ratio(tfc, expr)}. The numpy "
                "op-by-op column is the reference interpreter, which keeps every intermediate "
                "alive and copies the result.")
        for r in res["runners"].values():
            if r.error:
                all_notes.append(f"{res['name']}, {LABELS[r.key]}: {r.error}")
            for note in r.info.get("notes", []):
                all_notes.append(f"{res['name']}, {LABELS[r.key]}: {note}")
    if all_notes:
        out += ["## Notes", ""] + [f"- {n}" for n in all_notes] + [""]
    return "\n".join(out)


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true",
                        help="skip VGG19 and time each cell for about 1 s instead of 4 s")
    parser.add_argument("--only", action="append", default=[], metavar="NAME",
                        help="run only these workloads (comma-separated or repeated; a prefix "
                             "works: --only mlp): " + ", ".join(w.name for w in WORKLOADS))
    parser.add_argument("--frameworks", default=",".join(FRAMEWORKS),
                        help=f"columns to measure (default: {','.join(FRAMEWORKS)})")
    parser.add_argument("--budget", type=float, help="seconds of timed calls per cell")
    parser.add_argument("--json", metavar="FILE", help="also write every timing to FILE")
    args = parser.parse_args(argv)

    load_before = os.getloadavg()
    only = [n.strip() for item in args.only for n in item.split(",") if n.strip()]
    workloads = select(WORKLOADS, only, args.quick)
    frameworks = [k.strip() for k in args.frameworks.split(",") if k.strip()]
    unknown = [k for k in frameworks if k not in FRAMEWORKS]
    if unknown:
        parser.error(f"unknown frameworks {unknown}; choose from {FRAMEWORKS}")
    opts = (Options(budget=1.0, min_runs=5, max_runs=1000, rounds=3, gap=0.1) if args.quick else
            Options(budget=4.0, min_runs=15, max_runs=3000, rounds=5, gap=0.2))
    if args.budget:
        opts.budget = args.budget
    notes: list[str] = []
    for var in ("OPENBLAS_CORETYPE", "OPENBLAS_L2_SIZE"):
        if var in os.environ:
            notes.append(f"{var}={os.environ[var]} was set: numpy's BLAS number is not this "
                         "machine's default (run with `env -u OPENBLAS_CORETYPE -u OPENBLAS_L2_SIZE`).")
            log("warning: " + notes[-1])
    versions = library_versions(frameworks, notes)
    for n in notes:
        log("note: " + n)
    warm_up_llvm()
    results = []
    with tempfile.TemporaryDirectory(prefix="tfc-bench-") as tmp:
        for w in workloads:
            results.append(run_workload(w, frameworks, opts, Path(tmp)))
    notes.append("load average when the run started (1, 5, 15 min): "
                 + ", ".join(f"{x:.2f}" for x in load_before)
                 + f"; well above 0, other jobs were sharing the {THREADS} cores")
    print(report(results, frameworks, versions, notes, opts, args.quick))
    if args.json:
        data = {"versions": versions, "notes": notes, "options": opts.__dict__, "workloads": [
            {"name": res["name"], "title": res["title"], "flops": res["flops"], "freeze_s": res["freeze_s"],
             "runners": {k: {"times": r.times, "median": median(r.times) if r.times else None,
                             "setup_s": r.setup_s, "first_call_s": r.first_call_s, "error": r.error,
                             "info": {i: v for i, v in r.info.items() if i != "traceback"}}
                         for k, r in res["runners"].items()}} for res in results]}
        Path(args.json).write_text(json.dumps(data, indent=1) + "\n", encoding="utf-8")
    return 1 if any(r.error for res in results for r in res["runners"].values() if r.key == "tfc") else 0


if __name__ == "__main__":
    sys.exit(main())
