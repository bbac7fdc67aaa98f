"""The shared runtime functions of generated code (the GEMM, the parallel-for), compiled once
per process for JIT use.

Kernels emit calls to `tfc_sgemm`, `tfc_parallel_for`... and `declare_sgemm` & co. put their
full definitions into the module, which is what an AOT object needs. A JIT-compiled function
would then recompile the GEMM's 48 micro-kernels (over a second) every time; instead
`use_process_library` turns those definitions into declarations and resolves them to one copy
compiled the first time it is needed.
"""

from __future__ import annotations

import functools

import llvmlite.binding as llvm
from llvmlite import ir

from . import gemm, parallel, target


def _emit_all(module: ir.Module) -> None:
    parallel.declare_parallel_for(module)
    for relu in (False, True):
        gemm.declare_sgemm(module, relu=relu)
        gemm.declare_sgemm_parallel(module, relu=relu)


@functools.cache
def _library() -> tuple[target.JitModule, frozenset[str]]:
    module = target.new_module("tfc_library")
    _emit_all(module)
    names = frozenset(f.name for f in module.functions if f.blocks and f.linkage != "internal")
    jit = target.JitModule(module)
    for name in names:
        llvm.add_symbol(name, jit.address(name))
    return jit, names


def use_process_library(module: ir.Module) -> None:
    """Replace the bodies of library functions in `module` by declarations of the process's
    compiled copies (their internal helpers are then dead and dropped by the optimizer)."""
    _, names = _library()
    for fn in module.functions:
        if fn.name in names and fn.blocks:
            fn.blocks = []
            fn.linkage = ""
