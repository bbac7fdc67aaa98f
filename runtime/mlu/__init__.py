"""MLU simulator: runs BANG C source (parsed with pycparser, translated once to Python) over a
model of the chip's memories, tasks and queues, with a cycle estimate per kernel.

    from tfc.runtime.mlu import Device
    dev = Device("mlu270")
    x = dev.malloc(4096); dev.write(x, data)
    prog = dev.load(source, "kernel.mlu")
    report = dev.launch(prog, "kernel", args=[x, 1024], dim=(4, 1, 1), ktype="UNION1")
"""

from .memory import MLUError, Pointer, GdramBuffer, Region  # noqa: F401
from .profiles import PROFILES, Profile, get_profile  # noqa: F401
from .interp import Program, LOCAL_INTRINSICS, DIRECTIONS  # noqa: F401
from .launch import Device, KernelReport, Task, format_reports  # noqa: F401

IntrinsicContext = Task

__all__ = ["Device", "MLUError", "PROFILES", "Profile", "KernelReport", "format_reports",
           "Pointer", "GdramBuffer", "Program", "IntrinsicContext", "DIRECTIONS"]
