"""tfc.codegen.bang: the BANG C backend for Cambricon MLUs (see emitter.py; run the result with
tfc.runtime.mlu.program.run_program)."""

from .common import TARGETS, CodegenError
from .emitter import compile_module
from .plan import BangProgram, KernelSource

__all__ = ["compile_module", "BangProgram", "KernelSource", "CodegenError", "TARGETS"]
