"""Device, kernel launch over the task grid, the cycle model and the report."""

from __future__ import annotations

import math
import threading
import time
from dataclasses import dataclass

import numpy as np

from .interp import Program, c_line_of, _dyn_to
from .memory import Gdram, GdramBuffer, MLUError, Pointer, Region
from .profiles import Profile, get_profile

QUEUES = ("compute", "io", "move", "scalar")
UNION_SIZES = {"UNION1": 1, "UNION2": 2, "UNION4": 4, "UNION8": 8, "UNION16": 16}
CNRT_KTYPES = {1: "BLOCK", 4: "UNION1", 8: "UNION2", 16: "UNION4", 32: "UNION8", 64: "UNION16"}


class _Abort(BaseException):
    """Unwinds the other tasks of a cooperative group after one of them failed."""


class Task:
    """One task of a launch; also the IntrinsicContext handed to every intrinsic.

    Timing: `t` is the scalar issue clock; `qc`, `qio`, `qmove` are the times the compute,
    IO-DMA and Move-DMA queues become free. A compute instruction starts when both the
    scalar pipeline has issued it and its queue is free, and costs the scalar pipeline one
    issue cycle; an async copy likewise; a blocking copy also waits for the compute queue
    (its data may come from a vector instruction) and holds the scalar clock until it ends.
    `__sync*` move the scalar clock to the end of the named queues.
    """

    __slots__ = ("profile", "kernel", "file", "statics", "t", "qc", "qio", "qmove", "sc", "sio",
                 "smove", "sscalar", "io_bytes", "taskId", "taskIdX", "taskIdY", "taskIdZ",
                 "taskDim", "taskDimX", "taskDimY", "taskDimZ", "clusterId", "clusterDim",
                 "coreId", "coreDim", "is_mpu", "coop", "coop_index", "core", "device",
                 "user")

    def __init__(self, profile, kernel, file):
        self.profile = profile
        self.kernel = kernel
        self.file = file
        self.t = 0.0
        self.qc = self.qio = self.qmove = 0.0
        self.sc = self.sio = self.smove = self.sscalar = 0.0
        self.io_bytes = 0
        self.coop = None
        self.coop_index = 0
        self.is_mpu = 0
        self.user = {}       # scratch space for intrinsics (per task)

    # --- the IntrinsicContext interface ---
    @property
    def task(self):
        return self

    def view(self, ptr, count, dtype=None):
        if not isinstance(ptr, Pointer):
            self.fail("type error", f"expected a pointer, got {ptr!r}" if ptr is not None
                      else "NULL pointer")
        dt = np.dtype(dtype) if dtype is not None else ptr.dtype
        if dt is None:
            self.fail("type error", "void pointer needs an explicit dtype")
        count = int(count)
        if count < 0:
            self.fail("element count", f"negative count {count}")
        nbytes = count * dt.itemsize
        r = ptr.region
        a = ptr.addr
        if a < r.lo or a + nbytes > r.hi:
            self.fail(f"out-of-bounds {r.space.upper()} access",
                      f"{count} x {dt} ({nbytes} bytes) at {a:#x} outside {r.describe()}")
        i = a - r.base
        return r.buf[i:i + nbytes].view(dt)

    def fail(self, rule: str, detail: str):
        raise MLUError(self.kernel, self.file, 0, rule, detail)

    def charge(self, queue: str, cycles: float):
        cycles = float(cycles)
        if queue == "compute":
            start = self.t if self.t > self.qc else self.qc
            self.qc = start + cycles
            self.sc += cycles
            self.t += 1
        elif queue == "scalar":
            self.t += cycles
            self.sscalar += cycles
        elif queue in ("io", "move"):
            self.dma(queue, cycles, True, 0)
        else:
            self.fail("internal error", f"unknown queue {queue!r}")

    # --- used by the generated code ---
    def dma(self, queue, cycles, async_, offchip_bytes):
        q = self.qio if queue == "io" else self.qmove
        start = self.t if self.t > q else q
        if not async_ and self.qc > start:
            start = self.qc
        end = start + cycles
        if queue == "io":
            self.qio = end
            self.sio += cycles
        else:
            self.qmove = end
            self.smove += cycles
        self.io_bytes += offchip_bytes
        self.t = end if not async_ else self.t + 1

    def sync(self, which="all"):
        t = self.t
        if which == "all":
            t = max(t, self.qc, self.qio, self.qmove)
        elif which == "compute":
            t = max(t, self.qc)
        elif which == "io":
            t = max(t, self.qio)
        elif which == "move":
            t = max(t, self.qmove)
        self.t = t

    def barrier(self, kind):
        self.sync("all")
        if self.coop is not None:
            self.coop.barrier(self.coop_index, kind)

    def end(self) -> float:
        return max(self.t, self.qc, self.qio, self.qmove)


class _Coop:
    """Runs the tasks of one union job as cooperative threads (one at a time, deterministic
    order) so that __sync_cluster / __sync_all can block a task until its peers arrive."""

    def __init__(self, tasks: list[Task], runner):
        self.tasks = tasks
        self.runner = runner
        n = len(tasks)
        self.ev = [threading.Event() for _ in range(n)]
        self.done = [False] * n
        self.blocked = [False] * n
        self.arrived: dict = {}
        self.error = None
        self.abort = False
        self.finish = threading.Event()
        for i, t in enumerate(tasks):
            t.coop = self
            t.coop_index = i

    def members(self, i, kind):
        if kind == "cluster":
            c = self.tasks[i].clusterId
            return ("cluster", c), [k for k, t in enumerate(self.tasks) if t.clusterId == c]
        return ("all",), list(range(len(self.tasks)))

    def run(self):
        threads = [threading.Thread(target=self._body, args=(i,), daemon=True)
                   for i in range(len(self.tasks))]
        for th in threads:
            th.start()
        self.ev[0].set()
        self.finish.wait()
        for th in threads:
            th.join(timeout=5)
        if self.error is not None:
            raise self.error

    def _body(self, i):
        self.ev[i].wait()
        self.ev[i].clear()
        if not self.abort:
            try:
                self.runner(self.tasks[i])
            except _Abort:
                pass
            except BaseException as e:  # noqa: BLE001 - handed to the launching thread
                if self.error is None:
                    self.error = e
                self.abort = True
        self.done[i] = True
        self._next(i)

    def _release(self, arr, mem) -> bool:
        """Release the tasks `arr` waiting at a barrier of `mem` if every other member of `mem`
        has arrived or finished: they all continue at the latest arrival time."""
        if not all(m in arr or self.done[m] for m in mem):
            return False
        tmax = max(self.tasks[m].end() for m in arr)
        for m in arr:
            self.tasks[m].t = tmax
            self.blocked[m] = False
        arr.clear()
        return True

    def _release_ready(self):
        for key, arr in list(self.arrived.items()):
            if arr:
                _, mem = self.members(next(iter(arr)), key[0])
                self._release(arr, mem)

    def _wake_unfinished(self):
        for k in range(len(self.tasks)):
            if not self.done[k]:
                self.ev[k].set()

    def _next(self, i):
        if self.abort:
            self._wake_unfinished()
            if all(self.done):
                self.finish.set()
            return
        self._release_ready()
        n = len(self.tasks)
        for k in range(1, n + 1):
            j = (i + k) % n
            if not self.done[j] and not self.blocked[j]:
                self.ev[j].set()
                return
        if all(self.done):
            self.finish.set()
            return
        t = self.tasks[i]
        self.error = MLUError(t.kernel, t.file, 0, "deadlock",
                              "tasks wait at different barriers (__sync_cluster/__sync_all)")
        self.abort = True
        self._wake_unfinished()

    def barrier(self, i, kind):
        key, mem = self.members(i, kind)
        arr = self.arrived.setdefault(key, set())
        arr.add(i)
        if self._release(arr, mem):
            return
        self.blocked[i] = True
        self._next(i)
        self.ev[i].wait()
        self.ev[i].clear()
        if self.abort:
            raise _Abort()


@dataclass
class KernelReport:
    kernel: str
    cycles: float
    compute_cycles: float
    io_cycles: float
    move_cycles: float
    bound: str
    utilization: float
    tasks: int
    wall_seconds: float
    profile: str = ""
    ktype: str = "BLOCK"
    dim: tuple = (1, 1, 1)
    io_bytes: int = 0
    clock_ghz: float = 1.0

    @property
    def time_us(self) -> float:
        return self.cycles / (self.clock_ghz * 1e3)


def format_reports(reports) -> str:
    reports = list(reports)
    head = ("kernel", "type", "tasks", "cycles", "time(us)", "compute", "io", "move", "bound",
            "util", "wall(s)")
    rows = []
    for r in reports:
        rows.append((r.kernel, r.ktype, str(r.tasks), f"{r.cycles:,.0f}", f"{r.time_us:,.2f}",
                     f"{r.compute_cycles:,.0f}", f"{r.io_cycles:,.0f}", f"{r.move_cycles:,.0f}",
                     r.bound, f"{r.utilization:.1%}", f"{r.wall_seconds:.3f}"))
    if reports:
        tc = sum(r.cycles for r in reports)
        rows.append(("total", "", str(sum(r.tasks for r in reports)), f"{tc:,.0f}",
                     f"{sum(r.time_us for r in reports):,.2f}",
                     f"{sum(r.compute_cycles for r in reports):,.0f}",
                     f"{sum(r.io_cycles for r in reports):,.0f}",
                     f"{sum(r.move_cycles for r in reports):,.0f}", "",
                     f"{(sum(r.utilization * r.cycles for r in reports) / tc if tc else 0):.1%}",
                     f"{sum(r.wall_seconds for r in reports):.3f}"))
    widths = [max(len(h), *(len(r[i]) for r in rows)) if rows else len(h)
              for i, h in enumerate(head)]
    lines = ["  ".join(h.ljust(w) if i < 2 or i == 8 else h.rjust(w)
                       for i, (h, w) in enumerate(zip(head, widths)))]
    lines.append("  ".join("-" * w for w in widths))
    for k, r in enumerate(rows):
        if k == len(rows) - 1 and reports:
            lines.append("  ".join("-" * w for w in widths))
        lines.append("  ".join(c.ljust(w) if i < 2 or i == 8 else c.rjust(w)
                               for i, (c, w) in enumerate(zip(r, widths))))
    return "\n".join(lines)


def _dims(dim):
    if isinstance(dim, int):
        dim = (dim,)
    dim = tuple(int(d) for d in dim)
    if not 1 <= len(dim) <= 3 or any(d < 1 for d in dim):
        raise ValueError(f"dim must be 1 to 3 positive integers, got {dim}")
    return dim + (1,) * (3 - len(dim))


class Device:
    """A simulated MLU board: GDRAM plus a chip of the given profile."""

    def __init__(self, profile: str | Profile = "mlu270", gdram_bytes: int = 16 * 1024 ** 3):
        self.profile = get_profile(profile)
        self.gdram = Gdram(gdram_bytes)

    # --- GDRAM ---
    def malloc(self, nbytes: int, name: str = "") -> GdramBuffer:
        return self.gdram.malloc(nbytes, self, name)

    def _check(self, buf):
        if not isinstance(buf, GdramBuffer) or buf.device is not self:
            raise MLUError("", "", 0, "GDRAM", f"{buf!r} is not a buffer of this device")
        if buf.freed:
            raise MLUError("", "", 0, "GDRAM", f"{buf!r} was freed")

    def write(self, buf: GdramBuffer, array, offset: int = 0):
        self._check(buf)
        a = np.ascontiguousarray(array)
        b = a.reshape(-1).view(np.uint8)
        if offset < 0 or offset + b.size > buf.nbytes:
            raise MLUError("", "", 0, "out-of-bounds GDRAM access",
                           f"writing {b.size} bytes at offset {offset} into a {buf.nbytes}-byte "
                           f"buffer")
        buf.region.buf[offset:offset + b.size] = b

    def read(self, buf: GdramBuffer, shape=None, dtype=np.float32, offset: int = 0) -> np.ndarray:
        self._check(buf)
        dt = np.dtype(dtype)
        if shape is None:
            shape = ((buf.nbytes - offset) // dt.itemsize,)
        elif isinstance(shape, int):
            shape = (shape,)
        n = int(np.prod(shape, dtype=np.int64)) * dt.itemsize
        if offset < 0 or offset + n > buf.nbytes:
            raise MLUError("", "", 0, "out-of-bounds GDRAM access",
                           f"reading {n} bytes at offset {offset} from a {buf.nbytes}-byte buffer")
        return buf.region.buf[offset:offset + n].view(dt).reshape(shape).copy()

    def free(self, buf: GdramBuffer):
        self._check(buf)
        self.gdram.free(buf)

    # --- programs ---
    def load(self, source: str, filename: str = "kernel.mlu") -> Program:
        return Program(source, filename, self.profile)

    def launch(self, prog: Program, kernel: str, args=(), dim=(1, 1, 1),
               ktype: str = "BLOCK") -> KernelReport:
        wall0 = time.perf_counter()
        p = self.profile
        file = prog.filename
        fi = prog.funcs.get(kernel)
        if fi is None or fi.fn is None:
            raise MLUError(kernel, file, 0, "no such kernel",
                           f"{kernel!r} is not defined (kernels: {', '.join(prog.kernels) or 'none'})")
        if not fi.is_entry:
            raise MLUError(kernel, file, fi.line, "not a kernel",
                           f"{kernel!r} is not declared __mlu_entry__/__mlu_global__")
        if prog.profile.name != p.name:
            raise MLUError(kernel, file, 0, "profile",
                           f"program loaded for {prog.profile.name}, device is {p.name}")
        try:
            dx, dy, dz = _dims(dim)
        except (TypeError, ValueError) as e:
            raise MLUError(kernel, file, 0, "launch dimension", str(e)) from None
        if isinstance(ktype, int):
            ktype = CNRT_KTYPES.get(ktype, str(ktype))
        kt = str(ktype).upper().replace("CNRT_FUNC_TYPE_", "")
        ntask = dx * dy * dz
        if kt == "BLOCK":
            n = 0
        elif kt in UNION_SIZES:
            n = UNION_SIZES[kt]
            if n > p.clusters:
                raise MLUError(kernel, file, 0, "task type",
                               f"{kt} needs {n} clusters; {p.name} has {p.clusters}")
            if dx % (p.cores_per_cluster * n):
                raise MLUError(kernel, file, 0, "task type",
                               f"{kt}: dim.x must be a multiple of {p.cores_per_cluster * n} "
                               f"({p.cores_per_cluster} cores x {n} clusters), got dim=({dx}, "
                               f"{dy}, {dz})")
        else:
            raise MLUError(kernel, file, 0, "task type",
                           f"unknown task type {ktype!r} (BLOCK, UNION1/2/4/8/16)")
        args = list(args)
        if len(args) != len(fi.params):
            raise MLUError(kernel, file, fi.line, "kernel arguments",
                           f"{kernel} takes {len(fi.params)} arguments, got {len(args)}")
        cargs = [self._arg(a, name, t, kernel, file, fi.line)
                 for a, (name, t) in zip(args, fi.params)]
        layout = prog.layout(kernel, block=(n == 0))
        sizes = {s: max(64, (v[0] + 63) // 64 * 64) for s, v in layout.items()}
        cpc = p.cores_per_cluster
        ncores = p.cores
        mems: dict = {}
        srams: dict = {}
        statics_cache: dict = {}

        def statics_for(core, cluster):
            key = (core, cluster)
            st = statics_cache.get(key)
            if st is not None:
                return st
            m = mems.get(core)
            if m is None:
                m = mems[core] = {s: np.zeros(sizes[s], np.uint8)
                                  for s in ("nram", "wram", "ldram")}
            st = [None] * len(prog.statics)
            for space, (_, items) in layout.items():
                if not items:
                    continue
                if space == "sram":
                    buf = srams.get(cluster)
                    if buf is None:
                        buf = srams[cluster] = np.zeros(sizes["sram"], np.uint8)
                else:
                    buf = m[space]
                for v, off in items:
                    r = Region(space, v.name, buf, 0, off, off + v.t.size)
                    st[v.sid] = Pointer(r, off, v.target)
            statics_cache[key] = st
            return st

        def mk(tid, core, cluster):
            t = Task(p, kernel, file)
            t.taskId = tid
            t.taskIdX = tid % dx
            t.taskIdY = (tid // dx) % dy
            t.taskIdZ = tid // (dx * dy)
            t.taskDim, t.taskDimX, t.taskDimY, t.taskDimZ = ntask, dx, dy, dz
            t.core = core
            t.device = self
            t.statics = statics_for(core, cluster)
            return t

        fn = fi.fn

        def run(task):
            try:
                fn(task, *cargs)
            except _Abort:
                raise
            except MLUError as e:
                if not e.line:
                    e.line = c_line_of(e.__traceback__)
                e.file = e.file or file
                e.kernel = e.kernel or kernel
                raise e.with_traceback(None) from None
            except RecursionError:
                raise MLUError(kernel, file, c_line_of(sys_exc_tb()), "runtime error",
                               "recursion too deep") from None
            except Exception as e:  # noqa: BLE001 - reported with the C line
                line = c_line_of(e.__traceback__)
                msg = f"{type(e).__name__}: {e}"
                rule = "runtime error"
                if isinstance(e, (TypeError, AttributeError)) and "NoneType" in str(e):
                    rule, msg = "null pointer dereference", "operation on a NULL pointer"
                raise MLUError(kernel, file, line, rule, msg) from e

        all_tasks: list[Task] = []
        core_free = [0.0] * (ncores + p.clusters)   # 4 cores per cluster, then the MPUs
        with np.errstate(all="ignore"):
            if n == 0:
                for tid in range(ntask):
                    core = tid % ncores
                    t = mk(tid, core, None)
                    t.clusterId, t.clusterDim, t.coreId, t.coreDim = 0, 0, 0, 1
                    run(t)
                    core_free[core] += t.end()
                    all_tasks.append(t)
            else:
                job_size = cpc * n
                groups = p.clusters // n
                coop = prog.uses_barrier(kernel)
                for j in range(ntask // job_size):
                    g = j % groups
                    job: list[Task] = []
                    cores_used = []
                    for c in range(n):
                        lc = j * n + c
                        pc = g * n + c
                        mpu = mk(lc * cpc, ncores + pc, pc)
                        mpu.clusterId, mpu.clusterDim = lc, ntask // cpc
                        mpu.coreId, mpu.coreDim, mpu.is_mpu = 0x80, cpc, 1
                        job.append(mpu)
                        cores_used.append(ncores + pc)
                        for k in range(cpc):
                            tid = lc * cpc + k
                            t = mk(tid, pc * cpc + k, pc)
                            t.clusterId, t.clusterDim = lc, ntask // cpc
                            t.coreId, t.coreDim = k, cpc
                            job.append(t)
                            cores_used.append(pc * cpc + k)
                    if coop:
                        _Coop(job, run).run()
                    else:
                        for t in job:
                            run(t)
                    start = max(core_free[c] for c in cores_used)
                    end = start + max(t.end() for t in job)
                    for c in cores_used:
                        core_free[c] = end
                    all_tasks.extend(job)
        return self._report(kernel, kt, (dx, dy, dz), ntask, all_tasks, core_free, wall0)

    def _report(self, kernel, kt, dim, ntask, tasks, core_free, wall0):
        p = self.profile
        io_bytes = sum(t.io_bytes for t in tasks)
        dram_cycles = io_bytes / p.gdram_bytes_per_cycle
        cycles = max(max(core_free), dram_cycles, 1.0)
        comp = sum(t.sc for t in tasks)
        io = sum(t.sio for t in tasks)
        move = sum(t.smove for t in tasks)
        u_comp = comp / (cycles * p.cores)
        u_mem = dram_cycles / cycles
        u_move = move / (cycles * p.cores)
        if u_comp >= max(u_mem, u_move):
            bound, util = "compute", u_comp
        else:
            bound, util = "memory", max(u_mem, u_move)
        return KernelReport(kernel=kernel, cycles=float(math.ceil(cycles)),
                            compute_cycles=comp, io_cycles=io, move_cycles=move, bound=bound,
                            utilization=min(1.0, util), tasks=ntask,
                            wall_seconds=time.perf_counter() - wall0, profile=p.name, ktype=kt,
                            dim=dim, io_bytes=io_bytes, clock_ghz=p.clock_ghz)

    def _arg(self, a, name, t, kernel, file, line):
        if t.is_ptr:
            if isinstance(a, GdramBuffer):
                self._check(a)
                return Pointer(a.region, a.addr, t.target)
            if isinstance(a, Pointer):
                return Pointer(a.region, a.addr, t.target)
            if a is None:
                return None
            raise MLUError(kernel, file, line, "kernel arguments",
                           f"parameter {name!r} is a pointer ({t}); got {type(a).__name__}")
        if isinstance(a, (GdramBuffer, Pointer)):
            raise MLUError(kernel, file, line, "kernel arguments",
                           f"parameter {name!r} is a {t}; got a buffer")
        if isinstance(a, np.ndarray) and a.ndim == 0:
            a = a[()]
        if not isinstance(a, (int, float, bool, np.integer, np.floating, np.bool_)):
            raise MLUError(kernel, file, line, "kernel arguments",
                           f"parameter {name!r} ({t}): cannot pass {type(a).__name__}")
        if t.is_int and isinstance(a, (float, np.floating)) and float(a) != int(a):
            raise MLUError(kernel, file, line, "kernel arguments",
                           f"parameter {name!r} is {t}; got non-integer {a}")
        return _dyn_to(t)(int(a) if isinstance(a, (bool, np.bool_)) else a)


def sys_exc_tb():
    import sys
    return sys.exc_info()[2]
