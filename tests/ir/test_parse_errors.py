"""Malformed IR text raises ParseError `file:line:col: message`, pointing at the offending
token and saying what was expected there.

Each case marks the expected error position with `¤` (removed before parsing)."""

import re

import pytest

from tfc.ir import ParseError, parse_file, parse_module

MARK = "¤"
HEAD = "module {\n  func @main() -> () {\n"
TAIL = "  }\n}\n"
C_I32 = "core.constant() {value = dense<1> : tensor<i32>} : () -> tensor<i32>"


def body(*lines):
    return HEAD + "".join(f"    {line}\n" for line in lines) + TAIL


def locate(marked: str):
    index = marked.index(MARK)
    line = marked.count("\n", 0, index) + 1
    column = index - (marked.rfind("\n", 0, index) + 1) + 1
    return marked.replace(MARK, "", 1), line, column


def parse_error(text: str, filename="bad.ir") -> ParseError:
    with pytest.raises(ParseError) as info:
        parse_module(text, filename)
    return info.value


def check(marked: str, message: str):
    """`message` is a regex the error's message must match in full."""
    text, line, column = locate(marked)
    e = parse_error(text)
    assert re.fullmatch(message, e.message), e.message
    assert (e.line, e.column) == (line, column), str(e)
    assert str(e) == f"bad.ir:{line}:{column}: {e.message}"
    assert (e.filename, e.line, e.column) == ("bad.ir", line, column)
    assert isinstance(e, ValueError)
    return e


CASES = {
    # bad tokens
    "stray token after op": (body("core.return() : () -> () ¤@"),
                             r"expected an op name such as math\.add, got '@'"),
    "misspelled func": ("module {\n  ¤fun @main() -> () {\n  }\n}\n", r"expected 'func', got 'fun'"),
    "missing arrow": ("module {\n  func @main() ¤(tensor<f32>) {\n  }\n}\n", r"expected '->', got '\(tensor<f32>\)'"),
    "missing @": ("module {\n  func ¤main() -> () {\n  }\n}\n", r"expected '@' and the function's name, got 'main\(\)'"),
    "missing =": (body(f"%0 ¤core.constant() : () -> tensor<f32>"), r"expected '=', got 'core\.constant\(\)'"),
    "attr without =": (body("%0 = core.constant() {value ¤: 1} : () -> tensor<f32>"), r"expected '=', got ':'"),
    "attr list separator": (body("core.return() {a = [1 ¤2]} : () -> ()"), r"expected ',' or '\]', got '2\]}'"),
    "attr dict separator": (body("core.return() {a = 1 ¤b = 2} : () -> ()"), r"expected ',' or '}', got 'b'"),
    "bad attr value": (body("core.return() {a = ¤@x} : () -> ()"), r"expected an attribute value, got '@x}'"),
    "missing signature": (body("core.return() ¤core.return() : () -> ()"),
                          r"expected ':' and the op's type signature, got 'core\.return\(\)'"),
    "missing operand paren": (body("core.return ¤%x : () -> ()"), r"expected '\(' and the op's operands, got '%x'"),
    "bad value name": (body("core.return(%¤-) : () -> ()"), r"expected a value name after '%', got '-\)'"),
    "operand not a value": (body("core.return(¤x) : () -> ()"), r"expected a value such as %0, got 'x\)'"),
    "missing region label": ("module {\n  func @main() -> () {\n    core.return() ({ ¤core.yield() : () -> () }) : () -> ()\n  }\n}\n",
                             r"expected '\^bb' and the region's arguments, got 'core\.yield\(\)'"),
    "trailing garbage": ("module {\n}\n¤module {\n}\n", r"expected end of file, got 'module'"),
    "bad location": (body("core.return() : () -> () loc(\"m.py\":¤x)"), r"expected a line number, got 'x\)'"),
    # unknown op
    "unknown op": (body("%0 = ¤math.frobnicate() : () -> tensor<f32>"), r"unknown op 'math\.frobnicate'"),
    "unknown op no results": (body("¤foo() : () -> ()"), r"unknown op 'foo'"),
    # types
    "unknown element type": (body("%0 = core.constant() {value = dense<1> : tensor<i32>} : () -> tensor<4x¤f33>"),
                             r"unknown element type 'f33'"),
    "tf name as element type": ("module {\n  func @main(%x: tensor<?x¤float32>) -> () {\n  }\n}\n",
                                r"unknown element type 'float32'"),
    "unknown element type in dense": (body("%0 = core.constant() {value = dense<1> : tensor<¤q7>} : () -> tensor<i32>"),
                                      r"unknown element type 'q7'"),
    "not a type": ("module {\n  func @main(%x: ¤tensor<4xf32) -> () {\n  }\n}\n",
                   r"expected a tensor type such as tensor<\?x4xf32>, got 'tensor<4xf32\)'"),
    "negative dim": ("module {\n  func @main(%x: ¤tensor<-1xf32>) -> () {\n  }\n}\n",
                     r"expected a tensor type such as tensor<\?x4xf32>, got 'tensor<-1xf32>\)'"),
    # values
    "undefined value": (body("core.return(¤%x) : (tensor<f32>) -> ()"), r"use of undefined value %x"),
    "use before definition": (body("core.return(¤%0) : (tensor<i32>) -> ()", f"%0 = {C_I32}"),
                              r"use of undefined value %0"),
    "value defined twice": (body(f"%a = {C_I32}", f"¤%a = {C_I32}"), r"value %a is defined twice"),
    "result defined twice in one op": (body(f"%b = {C_I32}", "%a, ¤%a = core.identity(%b, %b) : (tensor<i32>, tensor<i32>) -> (tensor<i32>, tensor<i32>)"),
                                       r"value %a is defined twice"),
    "argument defined twice": ("module {\n  func @main(%a: tensor<f32>, ¤%a: tensor<f32>) -> () {\n  }\n}\n",
                               r"value %a is defined twice"),
    "function defined twice": ("module {\n  func @f() -> () {\n    core.return() : () -> ()\n  }\n"
                               "  ¤func @f() -> () {\n    core.return() : () -> ()\n  }\n}\n",
                               r"function @f is defined twice"),
    # signatures
    "wrong operand type": (body(f"%a = {C_I32}", "core.return(¤%a) : (tensor<f32>) -> ()"),
                           r"operand %a has type tensor<i32> but the signature of core\.return says tensor<f32>"),
    "wrong operand shape": ("module {\n  func @main(%x: tensor<?x4xf32>) -> () {\n"
                            "    %y = core.identity(¤%x) : (tensor<2x4xf32>) -> tensor<2x4xf32>\n  }\n}\n",
                            r"operand %x has type tensor<\?x4xf32> but the signature of core\.identity says tensor<2x4xf32>"),
    # strings
    "unterminated string": (body('core.return() {s = ¤"abc} : () -> ()'), r"unterminated string"),
    "unterminated string in loc": (body('core.return() : () -> () loc(¤"m.py:3)'), r"unterminated string"),
    "bad escape": (body(r'core.return() {s = ¤"a\q"} : () -> ()'), r"bad string literal: Invalid \\escape"),
    # dense literals
    "too many elements": (body("%a = core.constant() {value = dense<¤[1, 2, 3]> : tensor<2xi32>} : () -> tensor<2xi32>"),
                          r"bad dense literal: literal has shape \[3\], type says tensor<2xi32>"),
    "too few rows": (body("%a = core.constant() {value = dense<¤[[1, 2]]> : tensor<2x2xi32>} : () -> tensor<2x2xi32>"),
                     r"bad dense literal: literal has shape \[1, 2\], type says tensor<2x2xi32>"),
    "ragged": (body("%a = core.constant() {value = dense<¤[[1, 2], [3]]> : tensor<2x2xi32>} : () -> tensor<2x2xi32>"),
               r"bad dense literal: .*"),
    "int out of range": (body("%a = core.constant() {value = dense<¤[300, 1]> : tensor<2xi8>} : () -> tensor<2xi8>"),
                         r"bad dense literal: .*300.*int8"),
    "splat out of range": (body("%a = core.constant() {value = dense<¤300> : tensor<2xi8>} : () -> tensor<2xi8>"),
                           r"bad dense literal: .*300.*int8"),
    "negative unsigned": (body("%a = core.constant() {value = dense<¤[-1, 1]> : tensor<2xui8>} : () -> tensor<2xui8>"),
                          r"bad dense literal: .*-1.*uint8"),
    "uint64 overflow": (body("%a = core.constant() {value = dense<¤[18446744073709551616]> : tensor<1xui64>} : () -> tensor<1xui64>"),
                        r"bad dense literal: .*"),
    "hex wrong size": (body('%a = core.constant() {value = dense<¤"0x0102"> : tensor<2xi32>} : () -> tensor<2xi32>'),
                       r"bad dense literal: .*"),
    "hex too long": (body('%a = core.constant() {value = dense<¤"0x0100000002000000FF000000"> : tensor<2xi32>} : () -> tensor<2xi32>'),
                     r"bad dense literal: .*"),
    "hex not hex": (body('%a = core.constant() {value = dense<¤"0xZZ"> : tensor<1xi8>} : () -> tensor<1xi8>'),
                    r"bad dense literal: .*"),
    "string count": (body('%a = core.constant() {value = dense<¤["a"]> : tensor<2xstring>} : () -> tensor<2xstring>'),
                     r"bad dense literal: literal has 1 strings, type has 2"),
    "number in string tensor": (body('%a = core.constant() {value = dense<¤[1, 2]> : tensor<2xstring>} : () -> tensor<2xstring>'),
                                r"bad dense literal: string tensors hold strings"),
    "non-latin1 string element": (body('%a = core.constant() {value = dense<¤["\\u20ac"]> : tensor<1xstring>} : () -> tensor<1xstring>'),
                                  r"bad dense literal: .*"),
    "bad dense element": (body("%a = core.constant() {value = dense<[1, ¤x]> : tensor<2xi32>} : () -> tensor<2xi32>"),
                          r"expected a number, got 'x\]>'"),
    "dense missing colon": (body("%a = core.constant() {value = dense<1> ¤tensor<i32>} : () -> tensor<i32>"),
                            r"expected ':' and the tensor type after dense<\.\.\.>, got 'tensor<i32>}'"),
    # end of file
    "missing module brace": (HEAD + "    core.return() : () -> ()\n  }\n¤", r"expected 'func' or '}', got end of file"),
    "missing function brace": (HEAD + "    core.return() : () -> ()\n¤", r"expected an op or '}', got end of file"),
    "eof inside op": (HEAD + "    core.return() : () -> ¤", r"expected a tensor type such as tensor<\?x4xf32>, got end of file"),
    "missing brace no newline": ("module {\n  func @main() -> () {\n    core.return() : () -> ()\n  }¤",
                                 r"expected 'func' or '}', got end of file"),
    "eof after comment": ("module {\n  func @main() -> () {\n  }\n// the end¤", r"expected 'func' or '}', got end of file"),
}


@pytest.mark.parametrize("marked, message", CASES.values(), ids=CASES.keys())
def test_parse_error(marked, message):
    check(marked, message)


# attributes of core.constant ------------------------------------------------------------------
def _op_error(line: str):
    text = body(line)
    e = parse_error(text)
    op_line = text.splitlines().index("    " + line) + 1
    assert e.line == op_line
    assert str(e).startswith(f"bad.ir:{op_line}:{e.column}: ")
    # the column lies between the op name and the type signature
    assert line.index("core.constant") + 4 < e.column <= line.index(" : (") + 4 + 2
    return e


def test_unknown_attribute():
    e = _op_error("%a = core.constant() {value = dense<1> : tensor<i32>, foo = 1} : () -> tensor<i32>")
    assert e.message == "core.constant: unknown attribute 'foo' (known: value, dtype)"


def test_missing_required_attribute():
    e = _op_error("%a = core.constant() : () -> tensor<i32>")
    assert e.message == "core.constant: missing required attribute 'value' (a dense tensor)"
    e = _op_error("%a = core.constant() {} : () -> tensor<i32>")
    assert "missing required attribute 'value'" in e.message


def test_attribute_of_the_wrong_kind():
    e = _op_error("%a = core.constant() {value = 1} : () -> tensor<i32>")
    assert e.message == "core.constant: attribute 'value' must be a dense tensor, got 1"
    e = _op_error("%a = core.constant() {value = dense<1> : tensor<i32>, dtype = 3} : () -> tensor<i32>")
    assert "attribute 'dtype' must be a dtype such as f32, got 3" in e.message


def test_attribute_given_twice():
    line = "%a = core.constant() {value = dense<1> : tensor<i32>, value = dense<2> : tensor<i32>} : () -> tensor<i32>"
    e = parse_error(body(line))
    assert e.message == "attribute 'value' given twice" and e.line == 3
    assert line.index(", value") + 4 + 1 <= e.column <= line.index(", value") + 4 + 3


def test_result_count_mismatch():
    line = f"%a, %b = {C_I32}"
    text = body(line)
    e = parse_error(text)
    assert e.message == "core.constant defines 2 values but its signature lists 1 result types"
    assert e.line == 3
    assert line.index(" : (") + 4 + 1 <= e.column <= line.index(" : (") + 4 + 4  # from the colon to the (
    e = parse_error(body("%a = core.identity() : () -> ()"))
    assert e.message == "core.identity defines 1 values but its signature lists 0 result types"


def test_operand_count_mismatch():
    text = body(f"%a = {C_I32}", "core.return(%a) : (tensor<i32>, tensor<i32>) -> ()")
    e = parse_error(text)
    assert e.message == "core.return has 1 operands but its signature lists 2 types"
    assert e.line == 4


@pytest.mark.parametrize("marked", [
    body("%a = core.constant() ¤{value = dense<1> : tensor<i32>, foo = 1} : () -> tensor<i32>"),
    body(f"%a, %b = core.constant() {{value = dense<1> : tensor<i32>}} : ¤() -> tensor<i32>"),
    body("%a = core.constant() {value = dense<1> : tensor<i32>, ¤value = dense<2> : tensor<i32>} : () -> tensor<i32>"),
], ids=["unknown attribute", "result count", "attribute twice"])
def test_errors_point_at_a_token_not_white_space(marked):
    text, line, column = locate(marked)
    e = parse_error(text)
    assert (e.line, e.column) == (line, column)


@pytest.mark.parametrize("literal", ["[1.5, 2]", "1.5"])
def test_float_literal_in_int_tensor_is_rejected(literal):
    with pytest.raises(ParseError, match="bad dense literal"):
        parse_module(body(f"%a = core.constant() {{value = dense<{literal}> : tensor<2xi32>}} : () -> tensor<2xi32>"))


def test_dense_needs_static_shape_and_numpy_dtype():
    e = parse_error(body("%a = core.constant() {value = dense<1.0> : tensor<?xf32>} : () -> tensor<?xf32>"))
    assert e.message == "a dense constant needs a fully known shape, got tensor<?xf32>" and e.line == 3
    e = parse_error(body("%a = core.constant() {value = dense<1.0> : tensor<2xbf16>} : () -> tensor<2xbf16>"))
    assert e.message == "dense constants cannot hold bfloat16" and e.line == 3


def test_region_cannot_see_outer_values():
    text = ("module {\n  func @main(%x: tensor<f32>) -> () {\n    core.return() ({\n    ^bb():\n"
            "      core.yield(%x) : (tensor<f32>) -> ()\n    }) : () -> ()\n  }\n}\n")
    e = parse_error(text)
    assert e.message == "use of undefined value %x"
    assert (e.line, e.column) == (5, 18)


def test_default_filename_and_parse_file(tmp_path):
    with pytest.raises(ParseError) as info:
        parse_module("module {\n  bogus\n}\n")
    assert str(info.value) == "<string>:2:3: expected 'func', got 'bogus'"
    path = tmp_path / "model.ir"
    path.write_text("module {\n  func @main() -> () {\n    %0 = math.frobnicate() : () -> tensor<f32>\n  }\n}\n",
                    encoding="utf-8")
    with pytest.raises(ParseError) as info:
        parse_file(path)
    assert str(info.value) == f"{path}:3:10: unknown op 'math.frobnicate'"


def test_columns_count_characters_not_bytes():
    check('module attributes {s = "ü✓😀"} {\n  func @main() -> () {\n    core.return() : () -> () ¤@\n  }\n}\n',
          r"expected an op name such as math\.add, got '@'")
    check('module attributes {s = "ü✓😀", ¤1 = 2} {\n}\n', r"expected an attribute name, got '1'")


def test_found_is_truncated():
    e = parse_error(body("core.return() : () -> () @" + "x" * 50))
    assert e.message == "expected an op name such as math.add, got '@" + "x" * 19 + "'"
