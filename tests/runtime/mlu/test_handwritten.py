"""Hand-written BANG C kernels (tests/runtime/mlu/kernels/*.mlu, in the style of mlu-ops) run
through the `tfc mlu-run` command; outputs are checked against numpy, the cycle report must be
printed, and broken kernels must fail with one line naming the file and line."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from click.testing import CliRunner

from tfc.cli import main

KERNELS = Path(__file__).parent / "kernels"


def run(*argv):
    result = CliRunner().invoke(main, ["mlu-run", *map(str, argv)], catch_exceptions=False)
    return result.exit_code, result.output


def error_line(output: str) -> str:
    lines = [ln for ln in output.splitlines() if ln.strip()]
    assert len(lines) == 1, output
    assert lines[0].startswith("error: "), output
    return lines[0]


@pytest.mark.parametrize("profile", ["mlu270", "mlu370"])
def test_pipelined_elementwise_over_tasks(tmp_path, profile):
    rng = np.random.default_rng(0)
    n = 50003                                  # 4 tasks, the last takes the remainder; 3 full tiles + a tail
    x = rng.standard_normal(n).astype(np.float32)
    np.save(tmp_path / "x.npy", x)
    code, out = run(KERNELS / "scaled_abs_pipeline.mlu", "--kernel", "ScaledAbsKernel",
                    "--profile", profile, "--dim", "4,1,1", "--ktype", "BLOCK",
                    "--arg", f"x={tmp_path / 'x.npy'}", "--arg", f"y=out:f32:{n}",
                    "--arg", f"element_num={n}", "--arg", "alpha=0.75", "-o", tmp_path / "out")
    assert code == 0, out
    y = np.load(tmp_path / "out" / "y.npy")
    assert y.shape == (n,) and y.dtype == np.float32
    np.testing.assert_array_equal(y, np.abs(x) * np.float32(0.75))     # exact: abs, one fp32 multiply
    assert "ScaledAbsKernel" in out and "wrote" in out
    assert "total" in out.lower() and "cycles" in out.lower()


SERIAL = """#include <mlu.h>
#define SPAN 4096
__nram__ float buf[SPAN];
__mlu_entry__ void SerialScaledAbs(float *x, float *y, int element_num, float alpha) {
  for (int i = 0; i < element_num; i += SPAN) {
    __memcpy(buf, x + i, SPAN * sizeof(float), GDRAM2NRAM);
    __bang_active_abs(buf, buf, SPAN);
    __bang_mul_scalar(buf, buf, alpha, SPAN);
    __memcpy(y + i, buf, SPAN * sizeof(float), NRAM2GDRAM);
  }
}
"""


def test_pipeline_overlaps_copies_with_compute(tmp_path):
    """One task: the ping-pong kernel hides compute under its DMA; a blocking version of the same
    work (same tile size, same intrinsics) pays both."""
    from tfc.runtime.mlu.cli import run_file

    n = 16 * 4096
    np.save(tmp_path / "x.npy", np.full(n, -1.5, np.float32))
    args = [f"x={tmp_path / 'x.npy'}", f"y=out:f32:{n}", f"element_num={n}", "alpha=2"]
    piped, results, _ = run_file(str(KERNELS / "scaled_abs_pipeline.mlu"), "ScaledAbsKernel", "mlu270",
                                 (1, 1, 1), "BLOCK", args, str(tmp_path))
    assert (results["y"] == 3).all()
    serial_file = tmp_path / "serial.mlu"
    serial_file.write_text(SERIAL)
    serial, results, _ = run_file(str(serial_file), "SerialScaledAbs", "mlu270", (1, 1, 1), "BLOCK",
                                  args, str(tmp_path))
    assert (results["y"] == 3).all()
    assert piped.compute_cycles == serial.compute_cycles          # the same intrinsic calls
    assert serial.cycles >= serial.compute_cycles + serial.io_cycles
    assert piped.cycles < piped.compute_cycles + piped.io_cycles   # overlapped
    assert piped.cycles < 0.8 * serial.cycles
    assert piped.bound == "memory"


@pytest.mark.parametrize("profile", ["mlu270", "mlu370"])
def test_maxpool_kernel(tmp_path, profile):
    rng = np.random.default_rng(1)
    n, h, w, c, kh, kw, sh, sw = 2, 9, 7, 64, 3, 2, 2, 2
    x = rng.standard_normal((n, h, w, c)).astype(np.float16)
    np.save(tmp_path / "x.npy", x)
    ho, wo = (h - kh) // sh + 1, (w - kw) // sw + 1          # 4 x 3: the last column is dropped
    code, out = run(KERNELS / "maxpool_nhwc.mlu", "-k", "MaxPoolKernel", "--profile", profile,
                    "--dim", "4,1,1", "--ktype", "UNION1", "--arg", f"x={tmp_path / 'x.npy'}",
                    "--arg", f"y=out:f16:{n}x{ho}x{wo}x{c}", "--arg", f"n={n}", "--arg", f"h={h}",
                    "--arg", f"w={w}", "--arg", f"c={c}", "--arg", f"kh={kh}", "--arg", f"kw={kw}",
                    "--arg", f"sh={sh}", "--arg", f"sw={sw}", "-o", tmp_path)
    assert code == 0, out
    ref = np.full((n, ho, wo, c), -np.inf, np.float16)
    for i in range(kh):
        for j in range(kw):
            ref = np.maximum(ref, x[:, i:i + sh * (ho - 1) + 1:sh, j:j + sw * (wo - 1) + 1:sw])
    y = np.load(tmp_path / "y.npy")
    assert y.shape == (n, ho, wo, c)
    np.testing.assert_array_equal(y, ref)
    assert "MaxPoolKernel" in out


def test_reduce_sum_kernel(tmp_path):
    rng = np.random.default_rng(2)
    n, tasks = 10007, 4
    x = rng.uniform(-1, 1, n).astype(np.float32)
    np.save(tmp_path / "x.npy", x)
    code, out = run(KERNELS / "reduce_sum.mlu", "-k", "ReduceSumKernel", "--dim", str(tasks),
                    "--arg", f"x={tmp_path / 'x.npy'}", "--arg", f"partial=out:f32:{tasks}",
                    "--arg", f"n={n}", "-o", tmp_path)
    assert code == 0, out
    partial = np.load(tmp_path / "partial.npy")
    per = n // tasks
    bounds = [(t * per, (t + 1) * per if t < tasks - 1 else n) for t in range(tasks)]
    want = np.array([x[a:b].astype(np.float64).sum() for a, b in bounds])
    np.testing.assert_allclose(partial, want, rtol=0, atol=1e-4)      # fp32 sums of ~2500 terms in [-1, 1]
    assert abs(partial.astype(np.float64).sum() - x.astype(np.float64).sum()) < 1e-3
    assert "ReduceSumKernel" in out


# ---------------------------------------------------------------------------------------------
# errors: one line, exit status 2

def _write(tmp_path, text, name="bad.mlu"):
    p = tmp_path / name
    p.write_text(text)
    return p


def test_unsupported_intrinsic_reports_the_line(tmp_path):
    src = _write(tmp_path, """#include <mlu.h>
__nram__ float buf[64];

__mlu_entry__ void Bad(float *x) {
  __memcpy(buf, x, 64 * sizeof(float), GDRAM2NRAM);
  __bang_not_an_intrinsic(buf, buf, 64);
}
""")
    np.save(tmp_path / "x.npy", np.zeros(64, np.float32))
    code, out = run(src, "-k", "Bad", "--arg", f"x={tmp_path / 'x.npy'}")
    assert code == 2
    line = error_line(out)
    assert "bad.mlu:6" in line and "__bang_not_an_intrinsic" in line


def test_unsupported_construct_reports_the_line(tmp_path):
    src = _write(tmp_path, """#include <mlu.h>
__mlu_entry__ void Bad(float *x, int n) {
  int i = 0;
again:
  i++;
  if (i < n) goto again;
}
""")
    code, out = run(src, "-k", "Bad", "--arg", "x=out:f32:4", "--arg", "n=3")
    assert code == 2
    line = error_line(out)
    assert "bad.mlu:" in line and "goto" in line.lower()


def test_nram_overflow_names_kernel_and_variable(tmp_path):
    src = _write(tmp_path, """#include <mlu.h>
__nram__ float big[120000];          /* 480 KB > the 384 KB usable on MLU270 */

__mlu_entry__ void Overflow(float *y) {
  __bang_write_zero(big, 128);
  __memcpy(y, big, 128 * sizeof(float), NRAM2GDRAM);
}
""")
    code, out = run(src, "-k", "Overflow", "--arg", "y=out:f32:128")
    assert code == 2
    line = error_line(out)
    assert "big" in line and "Overflow" in line and "nram" in line.lower()
    code, out = run(src, "-k", "Overflow", "--profile", "mlu370", "--arg", "y=out:f32:128", "-o", tmp_path)
    assert code == 0, out                      # 640 KB usable on MLU370


def test_alignment_rule_on_mlu270_only(tmp_path):
    src = _write(tmp_path, """#include <mlu.h>
__nram__ float a[64];

__mlu_entry__ void Short(float *x, float *y) {
  __memcpy(a, x, 16 * sizeof(float), GDRAM2NRAM);
  __bang_add(a, a, a, 16);
  __memcpy(y, a, 16 * sizeof(float), NRAM2GDRAM);
}
""")
    np.save(tmp_path / "x.npy", np.arange(16, dtype=np.float32))
    code, out = run(src, "-k", "Short", "--arg", f"x={tmp_path / 'x.npy'}", "--arg", "y=out:f32:16")
    assert code == 2
    line = error_line(out)
    assert "Short" in line and "bad.mlu:6" in line and "alignment" in line
    code, out = run(src, "-k", "Short", "--profile", "mlu370", "--arg", f"x={tmp_path / 'x.npy'}",
                    "--arg", "y=out:f32:16", "-o", tmp_path)
    assert code == 0, out
    np.testing.assert_array_equal(np.load(tmp_path / "y.npy"), 2 * np.arange(16, dtype=np.float32))


@pytest.mark.parametrize("argv, needle", [
    (["--arg", "y=out:f32:16"], "needs --arg for x"),
    (["--arg", "x=out:f32:16", "--arg", "y=out:f32:16", "--arg", "z=3"], "no parameter 'z'"),
    (["--arg", "x=out:f99:16", "--arg", "y=out:f32:16"], "unknown dtype"),
    (["--arg", "x=out:f32:0", "--arg", "y=out:f32:16"], "bad shape"),
    (["--arg", "x=3", "--arg", "y=out:f32:16"], "is a pointer"),
    (["--arg", "x=missing.npy", "--arg", "y=out:f32:16"], "cannot load"),
    (["--arg", "x=abc", "--arg", "y=out:f32:16"], "neither"),
    (["--dim", "0,1,1", "--arg", "x=out:f32:16", "--arg", "y=out:f32:16"], "--dim"),
])
def test_argument_errors(tmp_path, argv, needle):
    src = _write(tmp_path, """#include <mlu.h>
__mlu_entry__ void K(float *x, float *y) { }
""", "k.mlu")
    code, out = run(src, "-k", "K", *argv)
    assert code == 2
    assert needle in error_line(out)


def test_dtype_mismatch_is_reported(tmp_path):
    np.save(tmp_path / "x.npy", np.ones(64))                       # float64: the kernel wants float
    code, out = run(KERNELS / "scaled_abs_pipeline.mlu", "-k", "ScaledAbsKernel",
                    "--arg", f"x={tmp_path / 'x.npy'}", "--arg", "y=out:f32:64",
                    "--arg", "element_num=64", "--arg", "alpha=1")
    assert code == 2 and "float64" in error_line(out) and "float32" in error_line(out)
    np.save(tmp_path / "x.npy", np.ones(64, np.float32))
    code, out = run(KERNELS / "scaled_abs_pipeline.mlu", "-k", "ScaledAbsKernel",
                    "--arg", f"x={tmp_path / 'x.npy'}", "--arg", "y=out:f16:64",
                    "--arg", "element_num=64", "--arg", "alpha=1")
    assert code == 2 and "out:f32" in error_line(out)


def test_unknown_kernel_and_missing_file(tmp_path):
    src = _write(tmp_path, "__mlu_entry__ void K(float *x) { }\n", "k.mlu")
    code, out = run(src, "-k", "Nope", "--arg", "x=out:f32:4")
    assert code == 2 and "Nope" in error_line(out)
    code, out = run(tmp_path / "none.mlu", "-k", "K")
    assert code == 2 and "cannot read" in error_line(out)
