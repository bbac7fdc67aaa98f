"""Compiling one IR function to one native entry point.

    i32 NAME(i8** args, i8** results, i8* temp, i8* weights)

`args[i]` and `results[i]` point at the row-major buffers of the function's arguments and
results, `temp` at a scratch arena of `plan.temp_bytes` bytes (64-byte aligned) and `weights`
at the blob of large constants (`plan.weights`). The arena holds the other values, placed by
the liveness-based planner of `tfc.passes.plan_memory` (values whose lives overlap never share
bytes; plain elementwise kernels may write over an operand that dies there), and each
kernel's scratch, placed at its op in space free while it runs. The return value is 0, or 1 + the index of
the op that failed at run time (an integer division by zero, an index out of range...).

Every op becomes a kernel emitted inline into the entry function by its entry in `KERNELS`
(kernels/*.py): loop nests that read operand buffers and write the result's buffer. Ops that
only reinterpret their operand (reshape, squeeze, expand_dims, identity) alias its buffer.
Small constants are LLVM globals; large ones live in the weights blob.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Callable

import numpy as np
from llvmlite import ir

from tfc.ir.core import Function, Operation, Value
from tfc.ir.types import TensorType
from tfc.passes import plan_memory as memory_plan
from tfc.passes.plan_memory import MemoryPlan

from . import target
from .types import I8, I8P, I32, I64, i64, storage_type

ALIGN = 64
INLINE_CONSTANT_LIMIT = 64          # constants up to this many elements become LLVM globals

# Kernels: op name -> emit(k: KernelContext, op). Families register themselves on import.
KERNELS: dict[str, Callable[["KernelContext", Operation], None]] = {}
ALIASING_OPS = memory_plan.ALIASING_OPS   # reshape, squeeze, expand_dims, identity


def kernel(*names: str):
    """Register the decorated function as the kernel of ops `names`."""
    def register(fn):
        for name in names:
            if name in KERNELS:
                raise ValueError(f"two kernels for {name}")
            KERNELS[name] = fn
        return fn
    return register


class CodegenError(NotImplementedError):
    """The backend cannot compile this op (the message names it and its location)."""


@dataclass(frozen=True)
class Storage:
    kind: str          # "arg", "result", "temp", "weight", "global"
    index: int = 0     # argument/result index, or byte offset in temp/weights
    name: str = ""     # global's name


def _nbytes(type: TensorType) -> int:
    return type.num_elements * type.dtype.numpy.itemsize


def _align(n: int) -> int:
    return (n + ALIGN - 1) // ALIGN * ALIGN


@dataclass
class Plan:
    """Where every value of the function lives."""

    storage: dict[int, Storage] = field(default_factory=dict)
    temp_bytes: int = 0
    weights: list[tuple[int, np.ndarray]] = field(default_factory=list)   # (offset, array)
    weights_bytes: int = 0
    globals: dict[str, np.ndarray] = field(default_factory=dict)
    copies: list[tuple[int, Value]] = field(default_factory=list)        # results copied at the end
    memory: MemoryPlan | None = None       # the temp arena's plan (values and kernel scratch)

    @property
    def temp_bytes_unplanned(self) -> int:
        """The arena size with one buffer per value and per scratch request (no reuse)."""
        return self.memory.naive_bytes if self.memory is not None else self.temp_bytes

    def weights_blob(self) -> np.ndarray:
        blob = np.zeros(max(self.weights_bytes, 1), np.uint8)
        for offset, array in self.weights:
            raw = np.ascontiguousarray(array).view(np.uint8).reshape(-1)
            blob[offset:offset + raw.size] = raw
        return blob


def alias_root(value: Value) -> Value:
    """The value whose buffer `value` shares (itself unless produced by an aliasing op)."""
    return memory_plan.alias_root(value)


def writes_in_place(op: Operation) -> bool:
    """Whether op's kernel may write its result over an operand's buffer: only the plain
    elementwise loop nest (each element is read before the same element is written), and not
    when it pre-checks an operand or may run the loop twice (the fast/full-range mathlib
    variants: `emit_fused`'s output must not alias its inputs then)."""
    from . import mathlib
    from .elementwise import PRECHECKS, SCALAR, emit_elementwise

    if op.name not in SCALAR or op.name in PRECHECKS or KERNELS.get(op.name) is not emit_elementwise:
        return False
    return op.name.split(".", 1)[-1] not in mathlib.FAST


#: op name -> packs(op, operand index): whether the op's kernel, given that operand as a
#: constant, reads it only through its own copy made at compile time (a pre-packed weight it
#: appends to the weights blob). A constant whose every use is such needs no storage itself.
PACKS_CONSTANT: dict[str, Callable[[Operation, int], bool]] = {}


def only_packed(value: Value) -> bool:
    """Every use of `value` (through aliasing ops) is a kernel that packs it (PACKS_CONSTANT)."""
    for use in value.uses:
        op = use.operation
        if op.name in ALIASING_OPS:
            if not all(only_packed(r) for r in op.results):
                return False
        elif not PACKS_CONSTANT.get(op.name, lambda op, i: False)(op, use.index):
            return False
    return True


def plan_function(function: Function, in_place: bool = True, reuse: bool = True) -> Plan:
    """Storage for every value: arguments and results in the caller's buffers, constants as
    globals or in the weights blob, and the other values in the temp arena, planned by
    `tfc.passes.plan_memory` (liveness-based reuse, in place where `writes_in_place`;
    reuse=False: one buffer per value, for comparison)."""
    from . import kernels  # noqa: F401  (registers the kernels `writes_in_place` looks at)

    plan = Plan()
    for i, arg in enumerate(function.args):
        plan.storage[id(arg)] = Storage("arg", i)
    memory = memory_plan.plan_memory(function, writes_in_place if in_place else None, reuse=reuse)
    plan.memory = memory
    for root, i in memory.results.items():
        plan.storage[id(root)] = Storage("result", i)
    for i, value in enumerate(function.body.terminator.operands):
        if memory.results.get(alias_root(value)) != i:
            plan.copies.append((i, value))
    for op in function.body.ops:
        for result in op.results:
            if op.name in ALIASING_OPS or id(result) in plan.storage:
                continue
            if op.name == "core.constant":
                array = op.attributes["value"]
                if only_packed(result):
                    continue                    # its kernels' packed copies are all it needs
                if array.size <= INLINE_CONSTANT_LIMIT:
                    name = f"const{len(plan.globals)}"
                    plan.globals[name] = array
                    plan.storage[id(result)] = Storage("global", name=name)
                else:
                    plan.storage[id(result)] = Storage("weight", plan.weights_bytes)
                    plan.weights.append((plan.weights_bytes, array))
                    plan.weights_bytes = _align(plan.weights_bytes + array.nbytes)
                continue
            plan.storage[id(result)] = Storage("temp", memory.offsets[result])
    plan.temp_bytes = memory.peak_bytes
    return plan


class KernelContext:
    """What a kernel emitter sees: the builder positioned in the entry function, the module,
    typed pointers to every value's buffer, and `fail_if` for run-time errors."""

    def __init__(self, compiler: "FunctionCompiler", op: Operation, op_index: int):
        self.compiler = compiler
        self.builder: ir.IRBuilder = compiler.builder
        self.module: ir.Module = compiler.module
        self.op = op
        self.op_index = op_index

    def ptr(self, value: Value) -> ir.Value:
        """A pointer to `value`'s first element, typed by its storage type."""
        return self.compiler.pointer(value)

    def fail_if(self, condition: ir.Value) -> None:
        """Return this op's error status from the entry point when `condition` (i1) holds."""
        fail = self.builder.append_basic_block(f"fail.op{self.op_index}")
        ok = self.builder.append_basic_block(f"ok.op{self.op_index}")
        self.builder.cbranch(condition, fail, ok)
        self.builder.position_at_end(fail)
        self.builder.ret(ir.Constant(I32, self.op_index + 1))
        self.builder.position_at_end(ok)

    def function(self, name: str, type: ir.FunctionType) -> ir.Function:
        """A module-level function `name` (declared once)."""
        return self.compiler.declare(name, type)

    def scratch(self, nbytes: int) -> ir.Value:
        """An i8* to `nbytes` of 64-byte aligned scratch for this op, in the temp arena: a
        region free while this op runs (it overlaps no value live at this op nor this op's
        other scratch, but may reuse the space of values dead by now or not yet computed)."""
        plan = self.compiler.plan
        offset = plan.memory.allocate_at(self.op_index, nbytes)
        plan.temp_bytes = plan.memory.peak_bytes
        return self.builder.gep(self.compiler.entry.args[2], [i64(offset)])


class FunctionCompiler:
    def __init__(self, function: Function, name: str, module: ir.Module | None = None):
        self.function = function
        self.name = name
        self.module = module or target.new_module(name)
        self.plan = plan_function(function)
        fn_type = ir.FunctionType(I32, [I8P.as_pointer(), I8P.as_pointer(), I8P, I8P])
        self.entry = ir.Function(self.module, fn_type, name)
        for arg, arg_name in zip(self.entry.args, ("args", "results", "temp", "weights")):
            arg.name = arg_name
            arg.add_attribute("noalias")
        # The prologue computes every base pointer once; kernels start in the next block.
        self.prologue = ir.IRBuilder(self.entry.append_basic_block("prologue"))
        self.builder = ir.IRBuilder(self.entry.append_basic_block("start"))
        self._pointers: dict[int, ir.Value] = {}
        self._globals: dict[str, ir.GlobalVariable] = {}

    def declare(self, name: str, type: ir.FunctionType) -> ir.Function:
        existing = self.module.globals.get(name)
        return existing if existing is not None else ir.Function(self.module, type, name)

    # buffers ---------------------------------------------------------------------------------
    def pointer(self, value: Value) -> ir.Value:
        root = alias_root(value)
        key = id(root)
        elem = storage_type(value.type.dtype).as_pointer()
        if key not in self._pointers:
            self._pointers[key] = self._raw_pointer(root)
        return self.builder.bitcast(self._pointers[key], elem)

    def _raw_pointer(self, value: Value) -> ir.Value:
        storage = self.plan.storage.get(id(value))
        if storage is None:
            raise CodegenError(f"{value} has no buffer: a constant only packed copies of which "
                               f"are stored (PACKS_CONSTANT) was read directly")
        b = self.prologue
        args, results, temp, weights = self.entry.args
        if storage.kind in ("arg", "result"):
            table = args if storage.kind == "arg" else results
            return b.load(b.gep(table, [i64(storage.index)]))
        if storage.kind == "temp":
            return b.gep(temp, [i64(storage.index)])
        if storage.kind == "weight":
            return b.gep(weights, [i64(storage.index)])
        return b.bitcast(self._global(storage.name), I8P)

    def _global(self, name: str) -> ir.GlobalVariable:
        if name not in self._globals:
            array = np.ascontiguousarray(self.plan.globals[name])
            raw = bytearray(array.view(np.uint8).reshape(-1).tobytes()) or bytearray(1)
            ty = ir.ArrayType(I8, len(raw))
            gv = ir.GlobalVariable(self.module, ty, f"{self.name}.{name}")
            gv.global_constant = True
            gv.linkage = "internal"
            gv.align = ALIGN
            gv.initializer = ir.Constant(ty, raw)
            self._globals[name] = gv
        return self._globals[name]

    # emission --------------------------------------------------------------------------------
    def compile(self) -> ir.Module:
        for index, op in enumerate(self.function.body.ops):
            if op.name in ("core.return", "core.constant") or op.name in ALIASING_OPS:
                continue
            emit = KERNELS.get(op.name)
            if emit is None:
                where = f" at {op.location}" if op.location else ""
                raise CodegenError(f"the LLVM backend has no kernel for {op.name}{where}")
            emit(KernelContext(self, op, index), op)
            # Kernels may append allocas to the prologue block (llvmlite's goto_entry_block):
            # keep the prologue's own insertion point after them.
            self.prologue.position_at_end(self.prologue.block)
        for i, value in self.plan.copies:
            self._copy_to_result(i, value)
        self.builder.ret(ir.Constant(I32, 0))
        self.prologue.branch(self.entry.blocks[1])
        return self.module

    def _copy_to_result(self, index: int, value: Value) -> None:
        b = self.builder
        args, results, _, _ = self.entry.args
        dst = b.load(b.gep(results, [i64(index)]))
        src = b.bitcast(self.pointer(value), I8P)
        memcpy = self.declare("llvm.memcpy.p0i8.p0i8.i64",
                              ir.FunctionType(ir.VoidType(), [I8P, I8P, I64, ir.IntType(1)]))
        b.call(memcpy, [dst, src, i64(_nbytes(value.type)), ir.Constant(ir.IntType(1), 0)])


def compile_function(function: Function, name: str = "tfc_main") -> tuple[ir.Module, Plan]:
    """The LLVM module holding `function`'s entry point `name`, and its buffer plan."""
    for value in list(function.args) + [r for op in function.body.ops for r in op.results]:
        if not value.type.is_static:
            raise CodegenError(f"the LLVM backend needs static shapes; {value.type} is not")
    compiler = FunctionCompiler(function, name)
    module = compiler.compile()
    return module, compiler.plan
