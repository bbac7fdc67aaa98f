"""The MLU simulator core: C semantics, memory rules, tasks, copies, the cycle model, errors.

Expected values are hand-computed (C99 semantics) or numpy; the cycle model is checked
against the formulas it states (bytes / bandwidth + DMA latency)."""

import numpy as np
import pytest

from tfc.runtime.mlu import PROFILES, Device, KernelReport, MLUError, format_reports
from tfc.runtime.mlu import interp


def run1(src, nout=16, dtype=np.int32, profile="mlu270", args=(), **kw):
    """Launch kernel `k(out, *args)` once and return (out array, report)."""
    dev = Device(profile)
    prog = dev.load(src, "t.mlu")
    out = dev.malloc(nout * np.dtype(dtype).itemsize)
    rep = dev.launch(prog, "k", [out, *args], **kw)
    return dev.read(out, (nout,), dtype), rep


# ---------------------------------------------------------------------------- C semantics

def test_int_wraparound_and_unsigned():
    src = """
    __mlu_entry__ void k(int *o) {
      int a = 2147483647; a = a + 1;            o[0] = a;          // wraps to INT_MIN
      unsigned int u = 0; u = u - 1;            o[1] = (int)u;     // 0xffffffff -> -1
      int8_t c = 127; c++;                      o[2] = c;          // -128
      uint8_t b = 250; b += 10;                 o[3] = b;          // 4
      int16_t s = (int16_t)40000;               o[4] = s;          // -25536
      int m = 65536 * 65536;                    o[5] = m;          // 0
      unsigned int x = 3000000000u;             o[6] = (int)(x / 7u); // 428571428
      o[7] = (-1 < 1u);                          // 0: -1 converts to unsigned
      long l = 2147483647; l = l + 1;           o[8] = (int)(l >> 16);  // 32768
      o[9] = (int)(~0u >> 28);                  // 15 (logical shift on unsigned)
      o[10] = -16 >> 2;                         // -4 (arithmetic shift on int)
    }"""
    out, _ = run1(src)
    assert list(out[:11]) == [-2**31, -1, -128, 4, -25536, 0, 428571428, 0, 32768, 15, -4]


def test_division_truncates_toward_zero():
    src = """
    __mlu_entry__ void k(int *o) {
      o[0] = 7 / 2; o[1] = -7 / 2; o[2] = 7 / -2; o[3] = -7 / -2;
      o[4] = 7 % 3; o[5] = -7 % 3; o[6] = 7 % -3; o[7] = -7 % -3;
      int a = -9, b = 4; o[8] = a / b; o[9] = a % b;
    }"""
    out, _ = run1(src)
    assert list(out[:10]) == [3, -3, -3, 3, 1, -1, 1, -1, -2, -1]


def test_casts_and_float_semantics():
    src = """
    __mlu_entry__ void k(float *o) {
      o[0] = (float)(int)3.99f;        // 3
      o[1] = (float)(int)-3.99f;       // -3
      o[2] = 1.0f / 3.0f;              // float32 rounding
      half h = (half)0.1f;  o[3] = (float)h;   // fp16 rounding of 0.1
      o[4] = (float)(uint8_t)300;      // 44
      o[5] = 7 / 2 * 1.0f;             // integer division first: 3
      o[6] = 7 / 2.0f;                 // 3.5
      double d = 1.0 / 3.0; o[7] = (float)d;
      o[8] = (float)(int8_t)(200.0f);  // float->int8 out of range: saturates (127)
      o[9] = sizeof(half) + sizeof(double) * 10;  // 82
      int i = 16777217; o[10] = (float)i;        // not representable: 16777216
      o[11] = 1.5f > 1 ? 2.5f : -1.0f;
    }"""
    out, _ = run1(src, dtype=np.float32)
    exp = [3, -3, np.float32(1) / np.float32(3), np.float32(np.float16(0.1)), 44, 3, 3.5,
           np.float32(1 / 3), 127, 82, 16777216, 2.5]
    np.testing.assert_array_equal(out[:12], np.array(exp, np.float32))


def test_pointer_arithmetic_and_multidim_nram_arrays():
    src = """
    __nram__ int grid[3][4];
    __mlu_func__ int sum_row(int *row, int n) { int s = 0; for (int i = 0; i < n; ++i) s += row[i]; return s; }
    __mlu_entry__ void k(int *o) {
      for (int r = 0; r < 3; r++)
        for (int c = 0; c < 4; c++) grid[r][c] = r * 10 + c;
      int *p = &grid[1][0];
      o[0] = *(p + 2);                 // 12
      o[1] = p[5];                     // grid[2][1] = 21
      int *q = grid[2];
      o[2] = (int)(q - p);             // 4 elements
      o[3] = sum_row(grid[1], 4);      // 10+11+12+13
      char *b = (char *)p;  int *p2 = (int *)(b + 8);
      o[4] = *p2;                      // 12
      o[5] = sizeof(grid) + sizeof(grid[0]);   // 48 + 16
      int *e = o + 6; *e++ = 7; *e = 8; // o[6] = 7, o[7] = 8
      o[8] = (p2 > p) + (p == &grid[1][0]) * 2;
    }"""
    out, _ = run1(src)
    assert list(out[:9]) == [12, 21, 4, 46, 12, 64, 7, 8, 3]


def test_control_flow_loops_switch_ternary_compound():
    src = """
    #define LIMIT(x) ((x) > 5 ? 5 : (x))
    __mlu_func__ int fact(int n) { return n <= 1 ? 1 : n * fact(n - 1); }
    __mlu_entry__ void k(int *o) {
      int s = 0;
      for (int i = 0; i < 10; i++) { if (i == 2) continue; if (i == 6) break; s += i; }
      o[0] = s;                         // 0+1+3+4+5 = 13
      int j = 0, w = 0;
      while (1) { j++; if (j % 2) continue; w += j; if (j >= 8) break; }
      o[1] = w;                         // 2+4+6+8 = 20
      int d = 0; do { d += 3; } while (d < 10);
      o[2] = d;                         // 12
      int acc = 0;
      for (int x = 0; x < 4; x++) {
        switch (x) { case 0: acc += 1; break; case 1: acc += 10; case 2: acc += 100; break; default: acc += 1000; }
      }
      o[3] = acc;                       // 1 + 110 + 100 + 1000
      o[4] = fact(5);
      int c = 7; c <<= 2; c |= 1; c ^= 3; c %= 7; o[5] = c;   // 28 -> 29 -> 30 -> 2
      o[6] = LIMIT(9) + LIMIT(2);
      int n = 0; for (int t = 10; t > 0; t -= 3) n++;  o[7] = n;   // 10,7,4,1
      int u = 5; int v = u++ + ++u; o[8] = v * 100 + u;               // 5 + 7, u = 7
      int z = 0; for (z = 0; z < 3; z++) {}  o[9] = z;               // loop variable survives
    }"""
    out, _ = run1(src)
    assert list(out[:10]) == [13, 20, 12, 1211, 120, 2, 7, 4, 1207, 3]


def test_preprocessor_keeps_line_numbers():
    src = ("#include <mlu.h>\n#define N 8 /* size */\n#if __BANG_ARCH__ >= 300\n#define V 1\n"
           "#else\n#define V 2\n#endif\n// comment\n__mlu_entry__ void k(int *o) {\n"
           "  o[0] = N * V;\n  o[N] = 1;\n}\n")
    dev = Device("mlu270")
    prog = dev.load(src, "pp.mlu")
    out = dev.malloc(8 * 4)
    with pytest.raises(MLUError) as ei:
        dev.launch(prog, "k", [out])
    assert "pp.mlu:11:" in str(ei.value) and "out-of-bounds GDRAM" in str(ei.value)
    assert dev.read(out, (1,), np.int32)[0] == 16
    dev370 = Device("mlu370")
    out2 = dev370.malloc(64)
    dev370.launch(dev370.load(src.replace("o[N] = 1;", ""), "pp.mlu"), "k", [out2])
    assert dev370.read(out2, (1,), np.int32)[0] == 8


# ---------------------------------------------------------------------------- memory rules

def test_nram_capacity_error_names_variable():
    src = """
    __nram__ float small[1024];
    __nram__ float big[100000];
    __mlu_entry__ void k(float *o) { big[0] = 1.0f; small[0] = 2.0f; }
    """
    dev = Device("mlu270")
    prog = dev.load(src, "cap.mlu")
    with pytest.raises(MLUError) as ei:
        dev.launch(prog, "k", [dev.malloc(64)])
    s = str(ei.value)
    assert s.startswith("k: cap.mlu:3: NRAM capacity") and "'big'" in s and "393216" in s
    # 400 KB fits the 640 KB of usable NRAM on mlu370
    dev370 = Device("mlu370")
    dev370.launch(dev370.load(src, "cap.mlu"), "k", [dev370.malloc(64)])


def test_wram_and_sram_capacity_and_local_nram():
    dev = Device("mlu270")
    src = "__mlu_entry__ void k(float *o) { __wram__ int8_t w[1048577]; w[0] = 1; }"
    with pytest.raises(MLUError, match=r"k: t.mlu:1: WRAM capacity: .*'w'"):
        dev.launch(dev.load(src, "t.mlu"), "k", [dev.malloc(64)])
    src = "__mlu_shared__ char s[3000000];\n__mlu_entry__ void k(float *o) { s[0] = 1; }"
    with pytest.raises(MLUError, match=r"SRAM capacity: .*'s'"):
        dev.launch(dev.load(src, "t.mlu"), "k", [dev.malloc(64)], dim=(4, 1, 1), ktype="UNION1")
    src = "__mlu_shared__ char s[64];\n__mlu_entry__ void k(float *o) { s[0] = 1; }"
    with pytest.raises(MLUError, match=r"BLOCK tasks have no SRAM"):
        dev.launch(dev.load(src, "t.mlu"), "k", [dev.malloc(64)])


def test_alignment_rules_mlu270_only():
    src = """
    __nram__ char a[1024];
    __nram__ char b[1024];
    __wram__ char w[1024];
    __mlu_entry__ void k(char *o, int n) {
      __memcpy(b, a, n, NRAM2NRAM);
      __memcpy(w, o, 64, GDRAM2WRAM);
    }"""
    for prof in ("mlu270", "mlu370"):
        dev = Device(prof)
        prog = dev.load(src, "al.mlu")
        buf = dev.malloc(1024)
        dev.launch(prog, "k", [buf, 256])
        if prof == "mlu270":
            with pytest.raises(MLUError) as ei:
                dev.launch(prog, "k", [buf, 100])
            s = str(ei.value)
            assert s.startswith("k: al.mlu:6: alignment") and "multiple of 128" in s
        else:
            dev.launch(prog, "k", [buf, 100])
    dev = Device("mlu270")
    src2 = "__wram__ char w[1024];\n__mlu_entry__ void k(char *o) { __memcpy(w, o, 100, GDRAM2WRAM); }"
    with pytest.raises(MLUError, match=r"al2.mlu:2: alignment: GDRAM2WRAM of 100 bytes"):
        dev.launch(dev.load(src2, "al2.mlu"), "k", [dev.malloc(1024)])


def test_wrong_copy_direction():
    src = """
    __nram__ float a[64];
    __mlu_entry__ void k(float *o) {
      __memcpy(a, o, 256, NRAM2GDRAM);
    }"""
    dev = Device("mlu270")
    with pytest.raises(MLUError) as ei:
        dev.launch(dev.load(src, "dir.mlu"), "k", [dev.malloc(256)])
    s = str(ei.value)
    assert s.startswith("k: dir.mlu:4: copy direction: NRAM2GDRAM needs a GDRAM destination")
    assert "dst in NRAM" in s


def test_gdram_and_nram_out_of_bounds():
    dev = Device("mlu270")
    src = """
    __nram__ float a[64];
    __mlu_entry__ void k(float *o, int n) {
      __memcpy(a, o, n * 4, GDRAM2NRAM);
    }"""
    prog = dev.load(src, "oob.mlu")
    buf = dev.malloc(32 * 4)
    dev.launch(prog, "k", [buf, 32])
    with pytest.raises(MLUError, match=r"k: oob.mlu:4: out-of-bounds GDRAM access"):
        dev.launch(prog, "k", [buf, 33])
    big = dev.malloc(1024)
    with pytest.raises(MLUError, match=r"out-of-bounds NRAM access: .* 'a'"):
        dev.launch(prog, "k", [big, 65])
    src2 = "__mlu_entry__ void k(float *o) { o[-1] = 1.0f; }"
    with pytest.raises(MLUError, match=r"k: t.mlu:1: out-of-bounds GDRAM access"):
        dev.launch(dev.load(src2, "t.mlu"), "k", [buf])


def test_host_side_buffers():
    dev = Device("mlu370")
    b = dev.malloc(40)
    dev.write(b, np.arange(10, dtype=np.int32))
    np.testing.assert_array_equal(dev.read(b, (2, 5), np.int32), np.arange(10).reshape(2, 5))
    with pytest.raises(MLUError, match="out-of-bounds"):
        dev.write(b, np.zeros(11, np.int32))
    with pytest.raises(MLUError, match="out-of-bounds"):
        dev.read(b, (11,), np.int32)
    dev.free(b)
    with pytest.raises(MLUError, match="freed"):
        dev.read(b, (1,), np.int32)


# ---------------------------------------------------------------------------- tasks and builtins

def test_block_tasks_write_their_ids():
    src = """
    __mlu_entry__ void k(int *o) {
      o[taskId * 4 + 0] = taskId; o[taskId * 4 + 1] = taskIdX + 10 * taskIdY + 100 * taskIdZ;
      o[taskId * 4 + 2] = taskDim * 1000 + taskDimX * 100 + taskDimY * 10 + taskDimZ;
      o[taskId * 4 + 3] = clusterDim;
    }"""
    out, rep = run1(src, nout=4 * 12, dim=(3, 2, 2), ktype="BLOCK")
    out = out.reshape(12, 4)
    assert list(out[:, 0]) == list(range(12))
    exp = [x + 10 * y + 100 * z for z in range(2) for y in range(2) for x in range(3)]
    assert list(out[:, 1]) == exp
    assert set(out[:, 2]) == {12322} and set(out[:, 3]) == {0}
    assert rep.tasks == 12


def test_union_tasks_mpu_and_dims():
    src = """
    __mlu_entry__ void k(int *o) {
      if (__is_mpu()) { o[64 + clusterId] = coreId; return; }
      o[taskId] = clusterId * 100 + coreId * 10 + coreDim;
      o[32 + taskId] = clusterDim;
    }"""
    out, rep = run1(src, nout=80, dim=(8, 1, 1), ktype="UNION1")
    assert list(out[:8]) == [4, 14, 24, 34, 104, 114, 124, 134]
    assert list(out[32:40]) == [2] * 8
    assert list(out[64:66]) == [0x80, 0x80]                # the MPU of each cluster ran
    dev = Device("mlu270")
    prog = dev.load(src, "u.mlu")
    buf = dev.malloc(80 * 4)
    with pytest.raises(MLUError, match=r"UNION1: dim.x must be a multiple of 4"):
        dev.launch(prog, "k", [buf], dim=(6, 1, 1), ktype="UNION1")
    with pytest.raises(MLUError, match=r"UNION2: dim.x must be a multiple of 8"):
        dev.launch(prog, "k", [buf], dim=(4, 1, 1), ktype="UNION2")
    with pytest.raises(MLUError, match=r"UNION8 needs 8 clusters; mlu270 has 4"):
        dev.launch(prog, "k", [buf], dim=(32, 1, 1), ktype="UNION8")
    with pytest.raises(MLUError, match="unknown task type"):
        dev.launch(prog, "k", [buf], ktype="UNION3")


def test_sync_cluster_barrier_shares_sram():
    # the MPU fills SRAM, every core waits at __sync_cluster and then reads it
    src = """
    __mlu_shared__ int table[16];
    __nram__ int tmp[32];
    __mlu_entry__ void k(int *o) {
      if (__is_mpu()) {
        for (int i = 0; i < 16; i++) table[i] = i * i + clusterId;
      }
      __sync_cluster();
      if (__is_mpu()) return;
      __memcpy(tmp, table, 64, SRAM2NRAM);
      o[taskId] = tmp[coreId * 4 + 1];
    }"""
    out, _ = run1(src, nout=8, dim=(8, 1, 1), ktype="UNION1")
    assert list(out) == [(4 * c + 1) ** 2 + cl for cl in range(2) for c in range(4)]


def test_memcpy_2d_strided():
    # gather a 4x3 column block out of a 4x8 row-major matrix, then scatter it back transposed-free
    src = """
    __nram__ float tile[4][32];
    __mlu_entry__ void k(float *o, float *m) {
      __memcpy(tile, m + 2, 3 * sizeof(float), GDRAM2NRAM, 32 * sizeof(float), 8 * sizeof(float), 3);
      __memcpy(o, tile, 3 * sizeof(float), NRAM2GDRAM, 3 * sizeof(float), 32 * sizeof(float), 3);
    }"""
    dev = Device("mlu270")
    prog = dev.load(src, "m2.mlu")
    m = np.arange(32, dtype=np.float32).reshape(4, 8)
    mb = dev.malloc(m.nbytes)
    dev.write(mb, m)
    ob = dev.malloc(12 * 4)
    dev.launch(prog, "k", [ob, mb])
    np.testing.assert_array_equal(dev.read(ob, (4, 3), np.float32), m[:, 2:5])
    # the last segment of the source would pass the end of the matrix
    src_bad = src.replace("m + 2,", "m + 6,")
    with pytest.raises(MLUError, match=r"m2.mlu:4: out-of-bounds GDRAM access"):
        dev.launch(dev.load(src_bad, "m2.mlu"), "k", [ob, mb])


# ---------------------------------------------------------------------------- intrinsics plumbing

def test_intrinsic_calls_and_unknown_function(monkeypatch):
    calls = []

    def fake_fill(ctx, args):
        dst, n, value = args
        assert isinstance(n, int) and isinstance(value, float)
        ctx.view(dst, n)[:] = value
        ctx.charge("compute", n / 32)
        calls.append((dst.space, dst.dtype, n))

    monkeypatch.setitem(interp.LOCAL_INTRINSICS, "__fake_fill", fake_fill)
    src = """
    __nram__ float buf[64];
    __mlu_entry__ void k(float *o) {
      __fake_fill(buf, 64, 2.5f);
      __memcpy(o, buf, 256, NRAM2GDRAM);
    }"""
    out, rep = run1(src, nout=64, dtype=np.float32)
    assert np.all(out == 2.5) and calls == [("nram", np.dtype(np.float32), 64)]
    assert rep.compute_cycles == 2.0
    dev = Device("mlu270")
    with pytest.raises(MLUError) as ei:
        dev.load("__mlu_entry__ void k(float *o) {\n  __bang_no_such_thing(o, 4);\n}", "u.mlu")
    assert "u.mlu:2: unsupported intrinsic/function" in str(ei.value)
    assert "__bang_no_such_thing" in str(ei.value)


def test_intrinsic_fail_is_located(monkeypatch):
    def bad(ctx, args):
        ctx.view(args[0], 1000)       # past the 64-element buffer

    monkeypatch.setitem(interp.LOCAL_INTRINSICS, "__fake_bad", bad)
    src = "__nram__ float b[64];\n__mlu_entry__ void k(float *o) {\n  int x = 1;\n  __fake_bad(b);\n}"
    dev = Device("mlu270")
    with pytest.raises(MLUError) as ei:
        dev.launch(dev.load(src, "f.mlu"), "k", [dev.malloc(4)])
    assert str(ei.value).startswith("k: f.mlu:4: out-of-bounds NRAM access")


# ---------------------------------------------------------------------------- cycle model

COPY = """
#define TILE 8192
__nram__ char buf[TILE];
__mlu_entry__ void k(char *dst, char *src, int nbytes) {
  if (__is_mpu()) return;
  int per = nbytes / taskDim;
  char *s = src + taskId * per, *d = dst + taskId * per;
  for (int off = 0; off < per; off += TILE) {
    __memcpy(buf, s + off, TILE, GDRAM2NRAM);
    __memcpy(d + off, buf, TILE, NRAM2GDRAM);
  }
}"""


@pytest.mark.parametrize("profile", ["mlu270", "mlu370"])
def test_copy_kernel_is_memory_bound_at_bandwidth(profile):
    dev = Device(profile)
    p = PROFILES[profile]
    prog = dev.load(COPY, "copy.mlu")
    n = 1 << 20
    a, b = dev.malloc(n), dev.malloc(n)
    x = np.random.default_rng(0).integers(0, 255, n, dtype=np.uint8)
    dev.write(a, x)
    for dim, kt in (((1, 1, 1), "BLOCK"), ((16, 1, 1), "BLOCK"), ((4, 1, 1), "UNION1")):
        rep = dev.launch(prog, "k", [b, a, n], dim=dim, ktype=kt)
        assert np.array_equal(dev.read(b, (n,), np.uint8), x)
        ideal = 2 * n / p.gdram_bytes_per_cycle        # read + write through GDRAM
        assert rep.bound == "memory"
        assert ideal <= rep.cycles <= ideal * 1.15 + 2 * (n // 8192) * p.dma_latency_cycles
        assert rep.io_bytes == 2 * n


def test_async_overlap_is_faster_than_blocking():
    body = """
    __nram__ float ping[2][1024];
    __nram__ float outb[2][1024];
    __mlu_entry__ void k(float *y, float *x, int tiles) {
      %s
    }"""
    blocking = """
      for (int t = 0; t < tiles; t++) {
        __memcpy(ping[0], x + t * 1024, 4096, GDRAM2NRAM);
        __fake_work(outb[0], ping[0], 1024);
        __memcpy(y + t * 1024, outb[0], 4096, NRAM2GDRAM);
      }"""
    pipelined = """
      __memcpy_async(ping[0], x, 4096, GDRAM2NRAM);
      __sync();
      for (int t = 0; t < tiles; t++) {
        if (t + 1 < tiles) __memcpy_async(ping[(t + 1) % 2], x + (t + 1) * 1024, 4096, GDRAM2NRAM);
        __fake_work(outb[t % 2], ping[t % 2], 1024);
        __sync_compute();
        __memcpy_async(y + t * 1024, outb[t % 2], 4096, NRAM2GDRAM);
        __sync();
      }"""

    def work(ctx, args):
        dst, src, n = args
        ctx.view(dst, n)[:] = ctx.view(src, n) * 2
        ctx.charge("compute", 60.0)

    interp.LOCAL_INTRINSICS["__fake_work"] = work
    try:
        dev = Device("mlu270")
        x = np.arange(8 * 1024, dtype=np.float32)
        xb, yb = dev.malloc(x.nbytes), dev.malloc(x.nbytes)
        dev.write(xb, x)
        reps = []
        for b in (blocking, pipelined):
            prog = dev.load(body % b, "pipe.mlu")
            reps.append(dev.launch(prog, "k", [yb, xb, 8]))
            np.testing.assert_array_equal(dev.read(yb, (x.size,), np.float32), 2 * x)
    finally:
        del interp.LOCAL_INTRINSICS["__fake_work"]
    blk, pip = reps
    assert blk.compute_cycles == pip.compute_cycles == 8 * 60
    assert blk.io_cycles == pytest.approx(pip.io_cycles)
    # blocking: every load, compute and store in sequence; pipelined: loads hide behind the rest
    per_copy = 100 + 4096 / 102.4
    assert blk.cycles >= 8 * (2 * per_copy + 60)
    assert pip.cycles < blk.cycles - 6 * 60


def test_report_fields_and_table():
    out, rep = run1("__mlu_entry__ void k(int *o) { o[taskId] = 1; }", dim=(4, 1, 1))
    assert isinstance(rep, KernelReport) and rep.kernel == "k" and rep.tasks == 4
    assert rep.bound in ("compute", "memory") and 0 <= rep.utilization <= 1
    assert rep.cycles >= 1 and rep.wall_seconds >= 0
    table = format_reports([rep, rep])
    lines = table.splitlines()
    assert lines[0].split()[:4] == ["kernel", "type", "tasks", "cycles"]
    assert lines[-1].startswith("total") and " 8 " in lines[-1]


# ---------------------------------------------------------------------------- error messages

@pytest.mark.parametrize("src,line,rule", [
    ("__mlu_entry__ void k(int *o) {\n  struct S { int a; } s;\n}", 2, "unsupported construct"),
    ("__mlu_entry__ void k(int *o) {\n  int x = 1;\n  o[0] = y;\n}", 3, "undeclared identifier"),
    ("template <typename T>\n__mlu_entry__ void k(T *o) {}", 1, "unsupported construct"),
    ("__mlu_entry__ void k(int *o) {\n  o[0] = 1\n}", 3, "syntax error"),
    ("__mlu_entry__ void k(int *o) {\n  lbl: o[0] = 1;\n  goto lbl;\n}", 3, "unsupported construct"),
    ("#foo\n__mlu_entry__ void k(int *o) {}", 1, "unsupported construct"),
])
def test_load_errors_have_lines(src, line, rule):
    dev = Device("mlu270")
    with pytest.raises(MLUError) as ei:
        dev.load(src, "e.mlu")
    e = ei.value
    assert e.line == line and e.file == "e.mlu" and rule in str(e), str(e)


def test_runtime_errors_name_kernel_file_line():
    dev = Device("mlu270")
    src = "__mlu_entry__ void k(int *o, int d) {\n  int a = 10;\n  o[0] = a / d;\n}"
    with pytest.raises(MLUError) as ei:
        dev.launch(dev.load(src, "z.mlu"), "k", [dev.malloc(4), 0])
    assert str(ei.value) == "k: z.mlu:3: division by zero: integer division by zero"
    src = "__mlu_entry__ void k(int *o) {\n  int *p = 0;\n  o[0] = *p;\n}"
    with pytest.raises(MLUError, match=r"k: z.mlu:3: null pointer dereference"):
        dev.launch(dev.load(src, "z.mlu"), "k", [dev.malloc(4)])
    prog = dev.load("__mlu_func__ void h() {}\n__mlu_entry__ void k(int *o) { h(); }", "z.mlu")
    with pytest.raises(MLUError, match="not a kernel"):
        dev.launch(prog, "h", [])
    with pytest.raises(MLUError, match="no such kernel"):
        dev.launch(prog, "nope", [])
    with pytest.raises(MLUError, match="takes 1 arguments, got 2"):
        dev.launch(prog, "k", [dev.malloc(4), 3])
    with pytest.raises(MLUError, match="is a pointer"):
        dev.launch(prog, "k", [3])


def test_scalar_interpreter_speed():
    """A per-element scalar loop (the kernel's own choice) runs at Python-loop speed."""
    import time
    src = """
    __nram__ float v[8192];
    __mlu_entry__ void k(float *o) {
      float s = 0.0f;
      for (int r = 0; r < 25; r++)
        for (int i = 0; i < 8192; i++) { v[i] = (float)(i & 7) * 0.5f; s += v[i]; }
      o[0] = s;
    }"""
    t0 = time.perf_counter()
    out, rep = run1(src, nout=1, dtype=np.float32)
    dt = time.perf_counter() - t0
    assert out[0] == np.float32(25 * 1024 * 14)
    assert dt < 10, dt      # ~400k statements


def test_globals_enums_pointer_tables_and_address_of_locals():
    src = """
    __mlu_const__ float tab[4] = {1.5f, 2.5f, 3.5f, 4.5f};
    const int K = 3;
    enum Mode { A = 2, B, C = 10 };
    __nram__ float ping[64];
    __nram__ float pong[64];
    __mlu_func__ void split(int n, int *q, int *r) { *q = n / 4; *r = n % 4; }
    __mlu_entry__ void k(float *o) {
      float *bufs[2] = {ping, pong};
      for (int i = 0; i < 4; i++) bufs[i % 2][i] = tab[i] * K;
      int q = 0, r = 0;
      split(23, &q, &r);
      float loc[4] = {0.0f, 1.0f, 2.0f, 3.0f};     // an unqualified local array: LDRAM
      __memcpy(ping + 8, loc, 16, LDRAM2NRAM);
      o[0] = ping[0]; o[1] = pong[1]; o[2] = ping[2]; o[3] = pong[3];
      o[4] = q; o[5] = r; o[6] = B + C; o[7] = ping[11];
    }"""
    out, _ = run1(src, nout=8, dtype=np.float32)
    assert list(out) == [4.5, 7.5, 10.5, 13.5, 5, 3, 13, 3]


def test_sync_all_across_clusters_and_deadlock():
    src = """
    __mlu_shared__ int flag[4];
    __mlu_entry__ void k(int *o) {
      if (!__is_mpu()) o[taskId] = 1;
      __sync_all();
      if (!__is_mpu()) {
        int s = 0;
        for (int i = 0; i < taskDim; i++) s += o[i];   // every task's write is visible
        o[8 + taskId] = s;
      }
    }"""
    out, rep = run1(src, nout=16, dim=(8, 1, 1), ktype="UNION2")
    assert list(out[8:16]) == [8] * 8
    bad = """
    __mlu_entry__ void k(int *o) {
      if (coreId == 0) __sync_all(); else __sync_cluster();
      o[0] = 1;
    }"""
    dev = Device("mlu270")
    with pytest.raises(MLUError, match="deadlock"):
        dev.launch(dev.load(bad, "d.mlu"), "k", [dev.malloc(64)], dim=(8, 1, 1), ktype="UNION2")


def test_switch_outside_loops_and_continue_through_switch():
    src = """
    __mlu_entry__ void k(int *o) {
      switch (taskId) { case 0: o[0] = 5; break; default: o[1] = 6; }
      int s = 0;
      for (int i = 0; i < 6; i++) { switch (i % 3) { case 0: continue; case 1: s += 10; break; } s += 1; }
      o[2] = s;
      int x = 3;
      switch (x) { case 1: o[3] = 1; }
    }"""
    out, _ = run1(src, nout=4, dim=(2, 1, 1))
    assert list(out) == [5, 6, 24, 0]
