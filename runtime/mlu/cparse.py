"""BANG C -> pycparser AST.

A tiny preprocessor (comments, `#define` object-like and simple function-like macros, `#undef`,
`#if/#ifdef/#ifndef/#elif/#else/#endif`, `#include` and `#pragma` ignored) runs first; every
output line stays on its source line, so pycparser's coordinates are the file's. The BANG
qualifiers are blanked out (same width) and remembered by position; after parsing, each
declaration gets the qualifiers that precede its name within the same declaration.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from pycparser import c_ast, c_parser

from .memory import MLUError

# qualifier -> (kind, value)
QUALIFIERS = {
    "__mlu_entry__": ("func", "entry"),
    "__mlu_global__": ("func", "entry"),
    "__mlu_func__": ("func", "func"),
    "__mlu_device__": ("func", "device"),
    "__mlu_host__": ("func", "host"),
    "__nram__": ("space", "nram"),
    "__wram__": ("space", "wram"),
    "__mlu_shared__": ("space", "sram"),
    "__ldram__": ("space", "ldram"),
    "__mlu_const__": ("space", "const"),
    # harmless C/C++ spellings
    "__inline__": ("ignore", None),
    "__inline": ("ignore", None),
    "__forceinline__": ("ignore", None),
    "__restrict__": ("ignore", None),
    "__restrict": ("ignore", None),
}

BUILTIN_TYPEDEFS = ("half", "bool", "int8_t", "uint8_t", "int16_t", "uint16_t", "int32_t",
                    "uint32_t", "int64_t", "uint64_t", "size_t", "ssize_t", "intptr_t",
                    "uintptr_t", "bfloat16_t", "mluMemcpyDirection_t")

_IDENT = re.compile(r"[A-Za-z_]\w*")
_QUAL_RE = re.compile(r"\b(" + "|".join(re.escape(q) for q in QUALIFIERS) + r")\b")


@dataclass
class ParsedSource:
    ast: c_ast.FileAST
    filename: str
    text: str                                  # the preprocessed text (same line numbers)
    spaces: dict = field(default_factory=dict)     # id(Decl) -> space ("nram", ...)
    funckinds: dict = field(default_factory=dict)  # id(Decl of a function) -> "entry"|"func"|...
    defines: dict = field(default_factory=dict)


def _err(filename, line, rule, detail):
    return MLUError("", filename, line, rule, detail)


def strip_comments(src: str) -> str:
    """Remove // and /* */ comments, keeping every newline (and string literals)."""
    out = []
    i, n = 0, len(src)
    while i < n:
        c = src[i]
        if c == "/" and i + 1 < n and src[i + 1] == "/":
            j = src.find("\n", i)
            if j < 0:
                j = n
            out.append(" ")
            i = j
        elif c == "/" and i + 1 < n and src[i + 1] == "*":
            j = src.find("*/", i + 2)
            if j < 0:
                j = n - 2
            out.append(" " + "\n" * src.count("\n", i, j + 2))
            i = j + 2
        elif c in "\"'":
            j = i + 1
            while j < n and src[j] != c:
                if src[j] == "\\":
                    j += 1
                if j < n and src[j] == "\n":
                    break
                j += 1
            out.append(src[i:j + 1])
            i = j + 1
        else:
            j = i
            while j < n and src[j] not in "/\"'":
                j += 1
            if j == i:
                j = i + 1
            out.append(src[i:j])
            i = j
    return "".join(out)


class Preprocessor:
    def __init__(self, filename: str, defines: dict | None = None):
        self.filename = filename
        self.objects: dict[str, str] = {}
        self.functions: dict[str, tuple[list[str], str]] = {}
        for k, v in (defines or {}).items():
            self.objects[k] = str(v)

    # ---- macro expansion -------------------------------------------------------------
    def expand(self, text: str, line: int, disabled: frozenset = frozenset(), depth: int = 0) -> str:
        if depth > 50:
            raise _err(self.filename, line, "preprocessor", "macro expansion too deep")
        if not (self.objects or self.functions):
            return text
        out = []
        i, n = 0, len(text)
        while i < n:
            c = text[i]
            if c in "\"'":
                j = i + 1
                while j < n and text[j] != c:
                    j += 2 if text[j] == "\\" else 1
                out.append(text[i:j + 1])
                i = j + 1
                continue
            m = _IDENT.match(text, i) if (c.isalpha() or c == "_") else None
            if not m:
                if c.isdigit():   # a number like 1e5f or 0x10: copy whole
                    j = i
                    while j < n and (text[j].isalnum() or text[j] in "._"):
                        j += 1
                    out.append(text[i:j])
                    i = j
                    continue
                out.append(c)
                i += 1
                continue
            name = m.group(0)
            j = m.end()
            if name in disabled:
                out.append(name)
                i = j
                continue
            if name in self.objects:
                body = self.expand(self.objects[name], line, disabled | {name}, depth + 1)
                out.append(body)
                i = j
                continue
            if name in self.functions:
                k = j
                while k < n and text[k] in " \t":
                    k += 1
                if k < n and text[k] == "(":
                    args, end = self._split_args(text, k, line)
                    params, body = self.functions[name]
                    if len(params) == 1 and params[0] == "" and args == [""]:
                        args = []
                        params = []
                    if len(args) != len(params):
                        raise _err(self.filename, line, "preprocessor",
                                   f"macro {name} takes {len(params)} arguments, got {len(args)}")
                    exp_args = {p: self.expand(a, line, disabled, depth + 1)
                                for p, a in zip(params, args)}
                    body = _IDENT.sub(lambda mm: exp_args.get(mm.group(0), mm.group(0)), body)
                    out.append(self.expand(body, line, disabled | {name}, depth + 1))
                    i = end
                    continue
            out.append(name)
            i = j
        return "".join(out)

    def _split_args(self, text: str, k: int, line: int):
        depth = 0
        args, cur = [], []
        i = k
        while i < len(text):
            c = text[i]
            if c == "(":
                depth += 1
                if depth > 1:
                    cur.append(c)
            elif c == ")":
                depth -= 1
                if depth == 0:
                    args.append("".join(cur).strip())
                    return args, i + 1
                cur.append(c)
            elif c == "," and depth == 1:
                args.append("".join(cur).strip())
                cur = []
            else:
                cur.append(c)
            i += 1
        raise _err(self.filename, line, "preprocessor",
                   "function-like macro call must close its parentheses on the same line")

    # ---- #if expressions --------------------------------------------------------------
    def eval_cond(self, expr: str, line: int) -> bool:
        expr = re.sub(r"\bdefined\s*\(\s*(\w+)\s*\)|\bdefined\s+(\w+)",
                      lambda m: "1" if (m.group(1) or m.group(2)) in self.objects
                      or (m.group(1) or m.group(2)) in self.functions else "0", expr)
        expr = self.expand(expr, line)
        expr = _IDENT.sub(lambda m: m.group(0) if m.group(0) in ("and", "or", "not") else "0", expr)
        expr = expr.replace("&&", " and ").replace("||", " or ")
        expr = re.sub(r"!(?!=)", " not ", expr)
        expr = re.sub(r"(\d+)[uUlL]+\b", r"\1", expr)
        expr = expr.replace("/", "//")
        try:
            return bool(eval(expr, {"__builtins__": {}}, {}))
        except Exception:
            raise _err(self.filename, line, "preprocessor",
                       f"cannot evaluate #if expression {expr.strip()!r}") from None

    # ---- driver -----------------------------------------------------------------------
    def run(self, src: str) -> str:
        src = strip_comments(src.replace("\r\n", "\n"))
        lines = src.split("\n")
        out = []
        stack = []          # (active, any_taken, parent_active)
        active = True
        i = 0
        while i < len(lines):
            lineno = i + 1
            text = lines[i]
            nlines = 1
            while text.endswith("\\") and i + nlines < len(lines):
                text = text[:-1] + " " + lines[i + nlines]
                nlines += 1
            i += nlines
            s = text.strip()
            if s.startswith("#"):
                d = s[1:].strip()
                m = re.match(r"(\w+)\s*(.*)$", d)
                kw, rest = (m.group(1), m.group(2).strip()) if m else ("", "")
                if kw in ("if", "ifdef", "ifndef"):
                    if not active:
                        cond = False
                    elif kw == "ifdef":
                        cond = rest.split()[0] in self.objects or rest.split()[0] in self.functions
                    elif kw == "ifndef":
                        cond = not (rest.split()[0] in self.objects or rest.split()[0] in self.functions)
                    else:
                        cond = self.eval_cond(rest, lineno)
                    stack.append([cond, cond, active])
                    active = active and cond
                elif kw == "elif":
                    if not stack:
                        raise _err(self.filename, lineno, "preprocessor", "#elif without #if")
                    top = stack[-1]
                    cond = top[2] and not top[1] and self.eval_cond(rest, lineno)
                    top[0] = cond
                    top[1] = top[1] or cond
                    active = top[2] and cond
                elif kw == "else":
                    if not stack:
                        raise _err(self.filename, lineno, "preprocessor", "#else without #if")
                    top = stack[-1]
                    top[0] = not top[1]
                    top[1] = True
                    active = top[2] and top[0]
                elif kw == "endif":
                    if not stack:
                        raise _err(self.filename, lineno, "preprocessor", "#endif without #if")
                    active = stack.pop()[2]
                elif not active:
                    pass
                elif kw == "define":
                    self._define(rest, lineno)
                elif kw == "undef":
                    self.objects.pop(rest.split()[0], None)
                    self.functions.pop(rest.split()[0], None)
                elif kw in ("include", "pragma", "line", "ident", ""):
                    pass
                elif kw == "error":
                    raise _err(self.filename, lineno, "#error", rest)
                elif kw == "warning":
                    pass
                else:
                    raise _err(self.filename, lineno, "unsupported construct",
                               f"preprocessor directive #{kw}")
                out.extend([""] * nlines)
                continue
            if not active:
                out.extend([""] * nlines)
                continue
            out.append(self.expand(text, lineno))
            out.extend([""] * (nlines - 1))
        if stack:
            raise _err(self.filename, len(lines), "preprocessor", "unterminated #if")
        return "\n".join(out)

    def _define(self, rest: str, line: int):
        m = re.match(r"([A-Za-z_]\w*)(\(([^)]*)\))?\s*(.*)$", rest)
        if not m:
            raise _err(self.filename, line, "preprocessor", f"bad #define {rest!r}")
        name, fn, params, body = m.group(1), m.group(2), m.group(3), m.group(4).strip()
        if fn is not None:
            ps = [p.strip() for p in params.split(",")]
            if "..." in ps:
                raise _err(self.filename, line, "unsupported construct", "variadic macro")
            self.functions[name] = (ps, body)
            self.objects.pop(name, None)
        else:
            self.objects[name] = body
            self.functions.pop(name, None)


def _find_qualifiers(text: str):
    """Blank out BANG qualifiers (same width); return (text, [(start, end, kind, value)]),
    positions as (line, col) with 1-based columns."""
    lines = text.split("\n")
    # paren depth at the start of each line (to know if a qualifier sits in a parameter list)
    quals = []
    flat = text
    # offsets of line starts
    starts = [0]
    for ln in lines:
        starts.append(starts[-1] + len(ln) + 1)
    matches = list(_QUAL_RE.finditer(flat))
    if not matches:
        return text, []
    # paren depth per offset: compute lazily by scanning once
    depth_at = {}
    want = sorted(m.start() for m in matches)
    d = 0
    wi = 0
    for pos, ch in enumerate(flat):
        while wi < len(want) and want[wi] == pos:
            depth_at[pos] = d
            wi += 1
        if wi >= len(want):
            break
        if ch == "(":
            d += 1
        elif ch == ")":
            d -= 1
    import bisect
    chars = list(flat)
    for m in matches:
        q = m.group(1)
        kind, value = QUALIFIERS[q]
        s = m.start()
        for k in range(s, m.end()):
            chars[k] = " "
        if kind == "ignore":
            continue
        in_parens = depth_at.get(s, 0) > 0
        # scan to the end of this declaration
        dd = 0
        e = m.end()
        while e < len(flat):
            ch = flat[e]
            if ch in "([":
                dd += 1
            elif ch in ")]":
                dd -= 1
                if dd < 0:
                    break
            elif dd == 0 and (ch in ";{" or (in_parens and ch == ",")):
                break
            e += 1
        ls = bisect.bisect_right(starts, s) - 1
        le = bisect.bisect_right(starts, e) - 1
        quals.append(((ls + 1, s - starts[ls] + 1), (le + 1, e - starts[le] + 1), kind, value))
    return "".join(chars), quals


_UNSUPPORTED_WORDS = {
    "template": "C++ templates", "namespace": "C++ namespaces",
    "static_cast": "C++ casts", "reinterpret_cast": "C++ casts",
    "goto": "goto", "asm": "inline assembly",
    "__asm__": "inline assembly",
}


def parse(source: str, filename: str = "kernel.mlu", defines: dict | None = None) -> ParsedSource:
    defs = {"__BANG__": "1"}
    defs.update(defines or {})
    pp = Preprocessor(filename, defs)
    text = pp.run(source)
    text, quals = _find_qualifiers(text)
    # reject C++-only words up front, with their line (pycparser would give a vaguer message)
    for ln, line in enumerate(text.split("\n"), 1):
        if "extern" in line and '"C"' in line:
            raise _err(filename, ln, "unsupported construct", 'extern "C" (write plain C)')
        for w in _IDENT.findall(line):
            if w in _UNSUPPORTED_WORDS:
                raise _err(filename, ln, "unsupported construct", _UNSUPPORTED_WORDS[w])
    prelude = "".join(f"typedef int {t};" for t in BUILTIN_TYPEDEFS)
    full = prelude + f'\n#line 1 "{filename}"\n' + text
    try:
        ast = c_parser.CParser().parse(full, filename=filename)
    except Exception as e:  # pycparser.plyparser.ParseError and friends
        msg = str(e)
        m = re.match(r"(.*?):(\d+):(\d+):\s*(.*)", msg) or re.match(r"(.*?):(\d+):\s*(.*)", msg)
        line = int(m.group(2)) if m else 0
        detail = m.groups()[-1] if m else msg
        if "end of input" in msg:
            line = max(1, text.count("\n") + 1)
            detail = "unexpected end of input (unbalanced braces?)"
        raise _err(filename, line, "unsupported construct or syntax error", detail) from None
    ps = ParsedSource(ast, filename, text, defines=dict(pp.objects))
    if quals:
        _attach(ps, quals)
    return ps


def _attach(ps: ParsedSource, quals):
    class V(c_ast.NodeVisitor):
        def visit_Decl(self, node):
            if node.coord is not None and node.name:
                pos = (node.coord.line, node.coord.column)
                isfunc = isinstance(node.type, c_ast.FuncDecl)
                for start, end, kind, value in quals:
                    if start <= pos <= end:
                        if kind == "func" and isfunc:
                            ps.funckinds[id(node)] = value
                        elif kind == "space" and not isfunc:
                            ps.spaces[id(node)] = value
            self.generic_visit(node)

    V().visit(ps.ast)
