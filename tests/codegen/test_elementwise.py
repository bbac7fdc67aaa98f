"""Native elementwise kernels (codegen/llvm/elementwise.py) against the interpreter, and the
vectorizable math functions (codegen/llvm/mathlib.py) against numpy.

Tolerances (relative): float32 1e-5 (check_native's default); float64 1e-13 (our exp/sin...
and numpy's differ by an ulp or two); float16 1e-3: the float32 result, within an ulp of
numpy's, may round to the neighbouring half (2**-10 relative). Zeros must also match in sign.
The mathlib sweeps hold float32 to 1e-6 and float64 to 1e-14 relative of numpy.
"""

from __future__ import annotations

import ctypes
import warnings

import numpy as np
import pytest
from llvmlite import ir

from tfc.codegen.llvm import loops, mathlib, target
from tfc.codegen.llvm.elementwise import SCALAR, emit_fused
from tfc.codegen.llvm.emitter import CodegenError, FunctionCompiler, KernelContext
from tfc.codegen.llvm.native import NativeError, NativeFunction
from tfc.codegen.llvm.types import F32, F64, I32, I64
from tfc.ir import FunctionBuilder, Module, TensorType, dtypes as dt, verify
from tfc.ir.opdef import get_op
from tfc.runtime.interpreter import run_function

from .harness import one_op_function

# Compiled functions stay alive for the whole module: an MCJIT engine owns the (cached)
# target machine, so freeing one would free the machine the next compilation uses. (That is
# also why this file does not call harness.check_native, which drops its function; `check`
# below is the same comparison.)
_KEEP: list = []

RNG = np.random.default_rng(20261126)
FLOATS = [np.float16, np.float32, np.float64]
SIGNED = [np.int8, np.int16, np.int32, np.int64]
UNSIGNED = [np.uint8, np.uint16, np.uint32, np.uint64]
INTS = SIGNED + UNSIGNED
TOL = {np.float16: 1e-3, np.float32: 1e-5, np.float64: 1e-13}


@pytest.fixture(autouse=True)
def _quiet():
    with warnings.catch_warnings(), np.errstate(all="ignore"):
        warnings.simplefilter("ignore", RuntimeWarning)
        yield


def jit(function) -> NativeFunction:
    native = NativeFunction.jit(function)
    _KEEP.append(native)
    return native


def compare(expected, got, rtol, atol=0.0):
    for e, g in zip(expected, got):
        assert g.dtype == e.dtype and g.shape == e.shape, (g.dtype, g.shape, e.dtype, e.shape)
        if e.dtype.kind == "f":
            np.testing.assert_allclose(g.astype(np.float64), e.astype(np.float64), rtol=rtol,
                                       atol=atol, equal_nan=True)
            zeros = e == 0
            np.testing.assert_array_equal(np.signbit(g[zeros]), np.signbit(e[zeros]),
                                          err_msg="sign of zero")
        else:
            np.testing.assert_array_equal(g, e)


def check(name, inputs, attrs=None, rtol=None, atol=0.0):
    """check_native: op `name` natively and on the interpreter, results compared."""
    inputs = [np.asarray(x) for x in inputs]
    if rtol is None:
        rtol = TOL.get(inputs[-1].dtype.type, 1e-5)
    function = one_op_function(name, inputs, attrs or {})
    expected = run_function(function, inputs)
    got = jit(function)(*inputs)
    compare(expected, got, rtol, atol)
    return got


def check_function(function, inputs, rtol=1e-5, atol=0.0):
    verify(Module([function]))
    got = jit(function)(*inputs)
    compare(run_function(function, inputs), got, rtol, atol)
    return got


def allowed(name: str, dtype) -> bool:
    dtypes = get_op(name).operands[-1].dtypes
    return dtypes is None or dt.from_numpy(dtype) in dtypes


# Inputs -------------------------------------------------------------------------------------------
SPECIAL = [0.0, -0.0, 1.0, -1.0, 0.5, -0.5, 1.5, 2.5, -2.5, 3.0, -3.0, 0.1, 1e-3, -1e-3, 7.0, 10.0,
           -10.0, 20.0, -20.0, 50.0, 88.7, 89.0, -87.5, -103.5, -104.0, 100.0, -100.0, 709.0,
           710.0, -745.0, -746.0, 1e4, 7e4, 71476.0625, 1e5, 65504.0, 65520.0, 1e6, 2.0 ** 20 + 0.5,
           3e9, 1e15, 1e30, -1e30, 1e300, -1e300, np.inf, -np.inf, np.nan, 1.2e-38, 1e-40, -1e-40,
           6e-8, 5e-324, 2.0 ** -30, 0.9999, -0.9999, 1.0001, -1.0001, np.pi / 2, np.pi, 4.0]


def floats(dtype, n: int = 1023) -> np.ndarray:
    """Special values, then normal(0, 3) and log-uniform magnitudes of both signs."""
    special = np.array(SPECIAL).astype(dtype)
    k = (n - special.size) // 2
    mags = np.exp(RNG.uniform(np.log(1e-6), np.log(1e6), n - special.size - k))
    mags *= RNG.choice([-1.0, 1.0], mags.size)
    return np.concatenate([special, RNG.normal(0, 3, k), mags]).astype(dtype)


def ints(dtype, n: int = 301) -> np.ndarray:
    info = np.iinfo(dtype)
    edges = [info.min, info.min + 1, info.max, info.max - 1, 0, 1, 2, 3, 7]
    if info.min < 0:
        edges += [-1, -2, -3, -7]
    rand = RNG.integers(info.min, info.max, n - len(edges), dtype=dtype, endpoint=True)
    return np.concatenate([np.array(edges, dtype), rand])


# Unary float ops ----------------------------------------------------------------------------------
UNARY = ["exp", "expm1", "log", "log1p", "sin", "cos", "tan", "asin", "acos", "atan", "sinh",
         "cosh", "tanh", "sigmoid", "sqrt", "rsqrt", "reciprocal", "floor", "ceil", "round", "abs", "neg",
         "sign", "square", "is_nan", "is_inf", "is_finite"]


@pytest.mark.parametrize("dtype", FLOATS)
@pytest.mark.parametrize("name", UNARY)
def test_unary_float(name, dtype):
    check(f"math.{name}", [floats(dtype)])


def test_unary_odd_shapes():
    for shape in [(), (1,), (3,), (7,), (0,), (2, 0, 3), (3, 5, 7)]:
        x = RNG.normal(0, 2, shape).astype(np.float32)
        check("math.exp", [x])
        check("math.sin", [x])
    check("math.logical_not", [RNG.random((3, 7)) < 0.5])


def test_sin_cos_huge_arguments():
    # The loop runs fast variants; finite |x| beyond their range re-runs it in full range.
    for dtype, big in ((np.float32, [71476.0625, 1e5, -3e9, 1e30, 3.4e38]),
                       (np.float64, [2.0 ** 20, -1e22, 6381956970095103 * 2.0 ** 797, 1.7e308])):
        x = np.concatenate([RNG.uniform(-10, 10, 37), big, [np.nan, np.inf, -0.0]]).astype(dtype)
        for name in ("math.sin", "math.cos"):
            check(name, [x])
            check(name, [x[:37]])
            check(name, [np.tile(x[37:38], 5)])


# Activations ---------------------------------------------------------------------------------------
@pytest.mark.parametrize("dtype", FLOATS)
@pytest.mark.parametrize("name", ["relu", "relu6", "elu", "selu", "softplus", "softsign"])
def test_activations(name, dtype):
    # elu/selu compute exp(x) - 1 (as TF): near 0 an ulp of difference in exp is an ulp of 1.
    atol = float(np.finfo(dtype).eps) * 2 if name in ("elu", "selu") else 0.0
    check(f"nn.{name}", [floats(dtype)], atol=atol)


@pytest.mark.parametrize("dtype", FLOATS)
def test_leaky_relu(dtype):
    x = floats(dtype, 255)
    for alpha in (0.2, 0.01, 1.7):
        check("nn.leaky_relu", [x], {"alpha": alpha})


@pytest.mark.parametrize("dtype", INTS)
def test_relu_ints(dtype):
    check("nn.relu", [ints(dtype)])


@pytest.mark.parametrize("dtype", FLOATS)
def test_sigmoid_cross_entropy(dtype):
    x = floats(dtype, 255)
    z = RNG.random(255).astype(dtype)
    check("nn.sigmoid_cross_entropy_with_logits", [z, x], atol=1e-7)
    q = (RNG.random((3, 1)) * 3).astype(dtype)
    check("nn.weighted_cross_entropy_with_logits", [z, x, q], atol=1e-7)


# Binary float ops ---------------------------------------------------------------------------------
BINARY = ["add", "sub", "mul", "real_div", "maximum", "minimum", "squared_difference", "atan2",
          "pow", "floor_div", "floor_mod", "truncate_div", "truncate_mod", "equal", "not_equal",
          "less", "less_equal", "greater", "greater_equal"]
DIVISORS = [0.0, -0.0, 1.0, -1.0, 0.5, -2.5, 3.0, 7.0, 1e-3, 1e30, np.inf, -np.inf, np.nan, 2.0,
            -3.0]


@pytest.mark.parametrize("dtype", FLOATS)
@pytest.mark.parametrize("name", BINARY)
def test_binary_float(name, dtype):
    if not allowed(f"math.{name}", dtype):
        pytest.skip(f"math.{name} does not take {np.dtype(dtype).name}")
    x = floats(dtype, 4 * 37).reshape(4, 1, 37)
    y = np.array(DIVISORS, dtype).reshape(15, 1)
    check(f"math.{name}", [x, y])                # broadcasting both ways: [4, 15, 37]
    check(f"math.{name}", [x[:, 0, :], x[::-1, 0, :]])


# Integer ops ------------------------------------------------------------------------------------
INT_UNARY = ["abs", "neg", "sign", "square", "round"]
INT_BINARY = ["add", "sub", "mul", "maximum", "minimum", "squared_difference", "equal",
              "not_equal", "less", "less_equal", "greater", "greater_equal"]


@pytest.mark.parametrize("dtype", INTS)
def test_int_ops(dtype):
    x = ints(dtype)
    for name in INT_UNARY:
        if allowed(f"math.{name}", dtype):
            check(f"math.{name}", [x])
    y = np.roll(x, 5)
    for name in INT_BINARY:
        if allowed(f"math.{name}", dtype):
            check(f"math.{name}", [x, y])                       # wraps around
    # (Small 8/16-bit broadcasts: LLVM takes seconds over [N, 1] x [23] int8 loop nests.)
    check("math.sub", [x[:6].reshape(3, 2, 1), y[:5]])


@pytest.mark.parametrize("dtype", INTS)
def test_int_division(dtype):
    info = np.iinfo(dtype)
    x = ints(dtype, 101)
    y = np.roll(x, 3)
    y[y == 0] = 5
    if info.min < 0:
        y[0] = -1                                  # INT_MIN / -1 wraps
    for name in ("floor_div", "floor_mod", "truncate_div", "truncate_mod"):
        if allowed(f"math.{name}", dtype):
            got = check(f"math.{name}", [x, y])
            if info.min < 0 and name in ("floor_div", "truncate_div"):
                assert got[0][0] == info.min
            divisor = np.array([[3], [-7 if info.min else 7]], dtype)
            check(f"math.{name}", [x[:12].reshape(4, 1, 3), divisor])


@pytest.mark.parametrize("dtype", SIGNED)
def test_int_pow(dtype):
    x = np.array([-3, -2, -1, 0, 1, 2, 3, 5, 7, np.iinfo(dtype).min, np.iinfo(dtype).max], dtype)
    y = np.array([0, 1, 2, 3, 5, 7, 8, 15, 16, 31, 33, 63, 64, 100], np.int64)
    y = np.clip(y, 0, np.iinfo(dtype).max).astype(dtype)
    check("math.pow", [x.reshape(-1, 1), y])       # integer powers wrap


@pytest.mark.parametrize("name,dtype", [("floor_div", np.int32), ("floor_mod", np.int64),
                                        ("truncate_div", np.uint8), ("truncate_mod", np.int32),
                                        ("floor_div", np.int8), ("floor_mod", np.uint64)])
def test_integer_division_by_zero_fails(name, dtype):
    x = np.arange(12, dtype=dtype).reshape(4, 3)
    y = np.array([3, 0, 5], dtype)
    native = jit(one_op_function(f"math.{name}", [x, y], {}))
    with pytest.raises(NativeError, match=f"math.{name}"):
        native(x, y)
    ok = np.array([3, 2, 5], dtype)
    compare(run_function(native.function, [x, ok]), native(x, ok), 0)
    # an empty result divides nothing: no error (as TF)
    check(f"math.{name}", [np.zeros((0, 3), dtype), y])


def test_int_pow_negative_exponent_fails():
    x = np.arange(6, dtype=np.int32)
    y = np.array([1, 2, -1, 0, 3, 4], np.int32)
    native = jit(one_op_function("math.pow", [x, y], {}))
    with pytest.raises(NativeError, match="math.pow"):
        native(x, y)
    check("math.pow", [np.zeros((0,), np.int64), np.array([-2], np.int64)])
    # floats: no check
    check("math.pow", [x.astype(np.float32), y.astype(np.float32)])


# Logic, select, add_n ------------------------------------------------------------------------------
def test_logic():
    a, b = RNG.random((5, 1)) < 0.5, RNG.random((7,)) < 0.5
    for name in ("logical_and", "logical_or", "logical_xor", "equal", "not_equal"):
        check(f"math.{name}", [a, b])


@pytest.mark.parametrize("dtype", [np.float16, np.float32, np.float64, np.int8, np.uint64,
                                   np.bool_])
def test_select_v2(dtype):
    cond = RNG.random((4, 1, 5)) < 0.5
    x = (RNG.normal(0, 50, (3, 1)) if dtype != np.bool_ else RNG.random((3, 1)) < 0.5).astype(dtype)
    y = (RNG.normal(0, 50, (3, 5)) if dtype != np.bool_ else RNG.random((3, 5)) < 0.5).astype(dtype)
    check("math.select_v2", [cond, x, y])
    check("math.select_v2", [np.array(True), x, y])


@pytest.mark.parametrize("dtype", [np.float16, np.float32, np.int64, np.bool_])
def test_select(dtype):
    def values(shape):
        v = RNG.normal(0, 10, shape)
        return (v > 0 if dtype == np.bool_ else v).astype(dtype)
    for shape in [(7,), (4, 3), (3, 2, 5), (1, 4), (0, 3)]:
        x, y = values(shape), values(shape)
        check("math.select", [RNG.random(shape) < 0.5, x, y])            # same shape
        check("math.select", [np.array(False), x, y])                     # scalar cond
        check("math.select", [np.array(True), x, y])
        if len(shape) > 1:
            check("math.select", [RNG.random(shape[:1]) < 0.5, x, y])     # rows
    check("math.select", [np.array(True), values(()), values(())])


@pytest.mark.parametrize("dtype", [np.float16, np.float32, np.float64, np.int32, np.uint8])
def test_add_n(dtype):
    xs = [(RNG.normal(0, 3e4, (3, 5))).astype(dtype) for _ in range(4)]   # float16 overflows
    check("math.add_n", xs)
    check("math.add_n", xs[:1])


# Cast ---------------------------------------------------------------------------------------------
CAST_TYPES = FLOATS + INTS + [np.bool_]


def cast_inputs(src) -> np.ndarray:
    if src == np.bool_:
        return np.array([True, False, True])
    if np.dtype(src).kind in "iu":
        return ints(src, 101)
    values = SPECIAL + [-1.0, 300.0, -129.5, -128.9, 255.9, 256.0, 32767.5, -32769.0, 65535.9,
                        2.0 ** 31, -2.0 ** 31, 2.0 ** 31 - 0.5, 4294967295.9, 4294967296.0, 5e9,
                        -5e9, 2.0 ** 63, -2.0 ** 63, 1.8e19, 2.0 ** 64, -1e20, -0.7, 0.7, 1e-8,
                        1 + 2.0 ** -11 + 2.0 ** -40, 1 + 2.0 ** -11, 1 + 3 * 2.0 ** -11,
                        2049.0, 65519.99, 6.0e-8, 2.98e-8, 2.9802322387695312e-08]
    return np.concatenate([np.array(values), RNG.normal(0, 1e4, 60)]).astype(src)


@pytest.mark.parametrize("src", CAST_TYPES)
def test_cast_all_pairs(src):
    x = cast_inputs(src)
    fb = FunctionBuilder("main", [TensorType(x.shape, dt.from_numpy(src))], ["x"])
    outs = [fb.op("math.cast", fb.args[0], to=dt.from_numpy(to)) for to in CAST_TYPES]
    if np.dtype(src).kind == "f":
        outs += [fb.op("math.cast", fb.args[0], to=dt.from_numpy(to), truncate=True)
                 for to in FLOATS]
    check_function(fb.ret(outs), [x], rtol=0)     # conversions are exact


# Shapes, layouts, fusion ---------------------------------------------------------------------------
@pytest.mark.parametrize("shapes", [[(1,), (1,)], [(3,), (3,)], [(7,), (1,)], [(1023,), (1023,)],
                                    [(), ()], [(), (7,)], [(0, 3), (3,)], [(2, 1, 3), (4, 1)],
                                    [(5, 1, 1, 6), (1, 3, 4, 1)]])
def test_broadcast_shapes(shapes):
    x, y = (RNG.normal(0, 3, s).astype(np.float32) for s in shapes)
    check("math.add", [x, y])
    check("math.squared_difference", [y, x])
    check("math.floor_div", [(x * 10).astype(np.int32), np.ones(shapes[1], np.int32) * 3])


def test_transposed_operands():
    x = RNG.normal(0, 2, (5, 7, 3)).astype(np.float32)
    y = RNG.normal(0, 2, (3, 1, 7)).astype(np.float32)
    fb = FunctionBuilder("main", [TensorType(x.shape, dt.float32), TensorType(y.shape, dt.float32)],
                         ["x", "y"])
    t = fb.op("array.transpose", fb.args[0], perm=[2, 0, 1])             # [3, 5, 7]
    e = fb.op("math.tanh", fb.op("math.exp", t))
    out = fb.op("math.atan2", e, fb.args[1])
    check_function(fb.ret([out, fb.op("math.floor_mod", t, fb.args[1])]), [x, y])


def compile_fused(function, group_size: int):
    """Compile `function`, emitting its last `group_size` ops as one emit_fused loop."""
    compiler = FunctionCompiler(function, "tfc_main")
    ops = [op for op in function.body.ops if op.name not in ("core.return", "core.constant")]
    from tfc.codegen.llvm import kernels  # noqa: F401
    from tfc.codegen.llvm.emitter import KERNELS
    for index, op in enumerate(ops[:-group_size]):
        KERNELS[op.name](KernelContext(compiler, op, index), op)
    last = len(ops) - 1
    emit_fused(KernelContext(compiler, ops[last], last), ops[-group_size:], ops[-1].results[0])
    compiler.builder.ret(ir.Constant(I32, 0))
    compiler.prologue.branch(compiler.entry.blocks[1])
    jitted = target.JitModule(compiler.module)
    _KEEP.append(jitted)
    entry = ctypes.CFUNCTYPE(ctypes.c_int32, *[ctypes.c_void_p] * 4)(jitted.address("tfc_main"))
    temp = np.zeros(max(compiler.plan.temp_bytes, 1) + 64, np.uint8)

    def run(*inputs):
        outs = [np.empty(t.shape, t.dtype.numpy) for t in function.result_types]
        args = (ctypes.c_void_p * len(inputs))(*[a.ctypes.data for a in inputs])
        res = (ctypes.c_void_p * len(outs))(*[o.ctypes.data for o in outs])
        status = entry(ctypes.addressof(args), ctypes.addressof(res), temp.ctypes.data, 0)
        return status, outs
    return run


def test_fused_chain():
    # sin(x * 2 + 1) -> exp -> / y as one loop; huge x make it re-run in full range. (Only
    # correctly rounded operations precede sin: sin of a huge value is ill-conditioned.)
    x = RNG.normal(0, 1, (4, 33)).astype(np.float32)
    y = RNG.normal(0, 1, (33,)).astype(np.float32)
    fb = FunctionBuilder("main", [TensorType(x.shape, dt.float32), TensorType(y.shape, dt.float32)],
                         ["x", "y"])
    t = fb.op("math.add", fb.op("math.mul", fb.args[0], fb.constant(np.float32(2))),
              fb.constant(np.float32(1)))
    e = fb.op("math.exp", fb.op("math.sin", t))
    function = fb.ret([fb.op("math.real_div", e, fb.args[1])])
    verify(Module([function]))
    run = compile_fused(function, 5)
    for big in ([], [3e5, -1e30, 3.4e38, np.nan, np.inf]):
        x[0, :len(big)] = big
        status, got = run(x, y)
        assert status == 0
        compare(run_function(function, [x, y]), got, 1e-5)


def test_fused_division_checks():
    x = np.arange(12, dtype=np.int32).reshape(4, 3)
    fb = FunctionBuilder("main", [TensorType((4, 3), dt.int32), TensorType((3,), dt.int32)],
                         ["x", "y"])
    q = fb.op("math.floor_div", fb.op("math.add", fb.args[0], fb.args[0]), fb.args[1])
    function = fb.ret([q])
    run = compile_fused(function, 2)                # the divisor is outside the group
    assert run(x, np.array([1, 0, 2], np.int32))[0] == 2
    status, got = run(x, np.array([1, -1, 2], np.int32))
    assert status == 0
    compare(run_function(function, [x, np.array([1, -1, 2], np.int32)]), got, 0)
    fb = FunctionBuilder("main", [TensorType((4, 3), dt.int32)], ["x"])
    function = fb.ret([fb.op("math.floor_mod", fb.args[0], fb.op("math.neg", fb.args[0]))])
    with pytest.raises(CodegenError):
        compile_fused(function, 2)                  # divisor computed inside the group


def test_every_elementwise_op_has_a_kernel():
    from tfc.ir.opdef import ELEMENTWISE, OPS
    missing = [name for name, op in OPS.items()
               if ELEMENTWISE in op.traits and name.split(".")[0] in ("math", "nn")
               and name not in SCALAR]
    assert missing == []


# mathlib accuracy sweeps ----------------------------------------------------------------------------
def mathlib_kernel(name: str, ty):
    """`out[i] = name(x[i])` as a vectorized native loop over float/double arrays."""
    module = target.new_module("sweep")
    ptr = ty.as_pointer()
    fn = ir.Function(module, ir.FunctionType(ir.VoidType(), [ptr, ptr, I64]), "sweep")
    for arg in fn.args[:2]:
        arg.add_attribute("noalias")
    b = ir.IRBuilder(fn.append_basic_block())
    with loops.for_range(b, 0, fn.args[2]) as i:
        value = mathlib.call(b, module, name, b.load(b.gep(fn.args[0], [i])))
        b.store(value, b.gep(fn.args[1], [i]))
    b.ret_void()
    jitted = target.JitModule(module)
    _KEEP.append(jitted)
    entry = ctypes.CFUNCTYPE(None, ctypes.c_void_p, ctypes.c_void_p, ctypes.c_int64)(
        jitted.address("sweep"))

    def run(x):
        out = np.empty_like(x)
        entry(x.ctypes.data, out.ctypes.data, x.size)
        return out
    return run


def sweep_inputs(dtype) -> np.ndarray:
    if dtype == np.float32:
        grid = np.arange(0, 2 ** 32, 4099, dtype=np.uint64).astype(np.uint32).view(np.float32)
        dense = [np.linspace(-110, 110, 400_001), np.linspace(-1, 1, 200_001),
                 np.linspace(-1e5, 1e5, 200_001)]
    else:
        grid = RNG.integers(0, 2 ** 64, 1_000_000, dtype=np.uint64).view(np.float64)
        dense = [np.linspace(-750, 750, 400_001), np.linspace(-1, 1, 200_001),
                 np.linspace(-2e6, 2e6, 200_001), np.geomspace(1e-300, 1e300, 100_001)]
    return np.concatenate([grid] + [d.astype(dtype) for d in dense] +
                          [np.array(SPECIAL).astype(dtype)])


REFERENCES = {"exp": np.exp, "expm1": np.expm1, "log": np.log, "log1p": np.log1p, "tanh": np.tanh,
              "sin": np.sin, "cos": np.cos}


def assert_close(got, want, rtol):
    tiny = np.finfo(got.dtype).smallest_subnormal
    bad = ~((got == want) | (np.isnan(got) & np.isnan(want)) |
            (np.abs(got.astype(np.float64) - want) <= rtol * np.abs(want) + tiny))
    bad |= (got == 0) & (want == 0) & (np.signbit(got) != np.signbit(want))
    assert not bad.any(), list(zip(np.flatnonzero(bad)[:5], got[bad][:5], want[bad][:5]))


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("name", sorted(REFERENCES) + ["sigmoid"])
def test_mathlib_sweep(name, dtype):
    x = sweep_inputs(dtype)
    got = mathlib_kernel(name, F32 if dtype == np.float32 else F64)(x)
    if name == "sigmoid":       # the reference formula, in the dtype
        assert_close(got, 1 / (1 + np.exp(-x)), 1e-6 if dtype == np.float32 else 1e-14)
        return
    ref = REFERENCES[name]
    if dtype == np.float32:
        assert_close(got, ref(x.astype(np.float64)).astype(np.float32), 1e-6)   # to the truth
        assert_close(got, ref(x), 1e-6)                                         # to numpy
    else:
        assert_close(got, ref(x), 1e-14)
    if name in ("sin", "cos"):   # the elementwise path: fast variant, full range where needed
        native = jit(one_op_function(f"math.{name}", [x], {}))
        assert_close(native(x)[0], got, 1e-6 if dtype == np.float32 else 1e-14)
