"""The host target: LLVM initialization, a target machine for this CPU (its name and
features), the optimization pipeline (new pass manager, O3 with loop and SLP vectorization),
JIT compilation and object-file emission."""

from __future__ import annotations

import functools

import llvmlite.binding as llvm
from llvmlite import ir


@functools.cache
def _initialized() -> bool:
    llvm.initialize_native_target()
    llvm.initialize_native_asmprinter()
    llvm.initialize_native_asmparser()
    return True


@functools.cache
def host_cpu() -> tuple[str, str]:
    """(cpu name, feature string) of this machine."""
    _initialized()
    return llvm.get_host_cpu_name(), llvm.get_host_cpu_features().flatten()


def has_feature(name: str) -> bool:
    return f"+{name}" in host_cpu()[1].split(",")


def vector_width_f32() -> int:
    """Floats per vector register: 16 with AVX-512, 8 with AVX2/AVX, else 4."""
    if has_feature("avx512f"):
        return 16
    if has_feature("avx"):
        return 8
    return 4


def target_machine(reloc: str = "pic", jit: bool = False) -> llvm.TargetMachine:
    """A new target machine for this CPU (an MCJIT engine takes ownership of the one it is
    given, so they are never shared)."""
    _initialized()
    cpu, features = host_cpu()
    target = llvm.Target.from_default_triple()
    return target.create_target_machine(cpu=cpu, features=features, opt=3, reloc=reloc,
                                        codemodel="jitdefault" if jit else "default", jit=jit)


@functools.cache
def _data_layout() -> str:
    return str(target_machine().target_data)


def new_module(name: str) -> ir.Module:
    module = ir.Module(name=name)
    module.triple = llvm.get_process_triple()
    module.data_layout = _data_layout()
    return module


def parse_and_optimize(module: ir.Module | str, jit: bool = False) -> llvm.ModuleRef:
    """Verify and optimize `module` at O3 with loop and SLP vectorization."""
    _initialized()
    ref = llvm.parse_assembly(str(module))
    ref.verify()
    tm = target_machine(jit=jit)
    options = llvm.create_pipeline_tuning_options(speed_level=3)
    options.loop_vectorization = True
    options.slp_vectorization = True
    options.loop_unrolling = True
    options.loop_interleaving = True
    builder = llvm.create_pass_builder(tm, options)
    builder.getModulePassManager().run(ref, builder)
    return ref


class JitModule:
    """A module compiled to machine code in this process; keeps the engine alive."""

    def __init__(self, module: ir.Module | str):
        ref = parse_and_optimize(module, jit=True)
        self.engine = llvm.create_mcjit_compiler(ref, target_machine(jit=True))
        self.engine.finalize_object()

    def address(self, name: str) -> int:
        addr = self.engine.get_function_address(name)
        if not addr:
            raise KeyError(f"no function {name} in the compiled module")
        return addr


def emit_object(module: ir.Module | str) -> bytes:
    return target_machine().emit_object(parse_and_optimize(module))


def emit_assembly(module: ir.Module | str) -> str:
    return target_machine().emit_assembly(parse_and_optimize(module))
