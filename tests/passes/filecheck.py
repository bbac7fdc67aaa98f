"""A tiny FileCheck: check printed IR against CHECK patterns.

    check(output, '''
        CHECK: %[[X:[0-9]+]] = math.add
        CHECK-NEXT: nn.relu(%[[X]])
        CHECK-NOT: math.mul
        CHECK-SAME: tensor<2xf32>
    ''')

Directives (one per line; text before the directive, such as `//`, is ignored; lines without
one are ignored):

    CHECK:      the pattern occurs after the previous match
    CHECK-NEXT: ... on the line right after the previous match's line
    CHECK-SAME: ... on the same line as the previous match, after it
    CHECK-NOT:  the pattern does not occur between the previous match and the next one (or the
                end of the output)

A pattern is literal text, except `{{regex}}` (a regular expression), `[[NAME:regex]]` (match
and remember as NAME) and `[[NAME]]` (what NAME matched). Runs of blanks match any run of
blanks. A failure raises AssertionError showing the pattern and the output.
"""

from __future__ import annotations

import re

_DIRECTIVE = re.compile(r"\bCHECK(-NEXT|-SAME|-NOT)?:(.*)$")
_TOKEN = re.compile(r"\{\{(.*?)\}\}|\[\[([A-Za-z_][A-Za-z0-9_]*)(?::(.*?))?\]\](?!\])|[ \t]+")


def parse_directives(patterns: str | list[str]) -> list[tuple[str, str]]:
    lines = patterns.splitlines() if isinstance(patterns, str) else list(patterns)
    out = []
    for line in lines:
        m = _DIRECTIVE.search(line)
        if m:
            kind = {None: "CHECK", "-NEXT": "CHECK-NEXT", "-SAME": "CHECK-SAME", "-NOT": "CHECK-NOT"}[m.group(1)]
            out.append((kind, m.group(2).strip()))
    if not out:
        raise ValueError("no CHECK directives in the patterns")
    return out


def compile_pattern(pattern: str, variables: dict[str, str]) -> re.Pattern:
    parts, pos = [], 0
    for m in _TOKEN.finditer(pattern):
        parts.append(re.escape(pattern[pos:m.start()]))
        regex, name, definition = m.group(1), m.group(2), m.group(3)
        if regex is not None:
            parts.append(f"(?:{regex})")
        elif name is not None and definition is not None:
            parts.append(f"(?P<{name}>{definition})")
        elif name is not None:
            if name not in variables:
                raise AssertionError(f"pattern {pattern!r} uses [[{name}]] before it is defined")
            parts.append(re.escape(variables[name]))
        else:
            parts.append(r"[ \t]+")
        pos = m.end()
    parts.append(re.escape(pattern[pos:]))
    return re.compile("".join(parts))


def _line_bounds(text: str, pos: int) -> tuple[int, int]:
    start = text.rfind("\n", 0, pos) + 1
    end = text.find("\n", pos)
    return start, len(text) if end < 0 else end


def _fail(message: str, output: str, pos: int) -> AssertionError:
    line = output.count("\n", 0, pos) + 1
    return AssertionError(f"{message}\n(searching from line {line} of the output)\n--- output ---\n{output}")


def check(output: str, patterns: str | list[str]) -> None:
    """Raise AssertionError unless `output` satisfies `patterns` (see the module docstring)."""
    variables: dict[str, str] = {}
    pos = 0                      # end of the previous match
    previous_end: int | None = None
    nots: list[str] = []

    def check_nots(start: int, end: int) -> None:
        for pattern in nots:
            m = compile_pattern(pattern, variables).search(output, start, end)
            if m:
                raise _fail(f"CHECK-NOT: {pattern}\nfound: {output[_line_bounds(output, m.start())[0]:_line_bounds(output, m.start())[1]]!r}",
                            output, start)
        nots.clear()

    for kind, pattern in parse_directives(patterns):
        if kind == "CHECK-NOT":
            nots.append(pattern)
            continue
        regex = compile_pattern(pattern, variables)
        if kind == "CHECK":
            m = regex.search(output, pos)
        else:
            if previous_end is None:
                raise AssertionError(f"{kind}: {pattern} has no previous match to follow")
            line_start, line_end = _line_bounds(output, previous_end)
            if kind == "CHECK-SAME":
                m = regex.search(output, previous_end, line_end)
            else:
                if line_end >= len(output):
                    m = None
                else:
                    next_start, next_end = _line_bounds(output, line_end + 1)
                    m = regex.search(output, next_start, next_end)
        if m is None:
            raise _fail(f"{kind}: {pattern}\nnot found", output, pos)
        check_nots(pos, m.start())
        variables.update({k: v for k, v in m.groupdict().items() if v is not None})
        pos = previous_end = m.end()
    check_nots(pos, len(output))


def opt(text: str, pipeline, **options) -> str:
    """Parse and verify IR `text`, run `pipeline` on it (verifying after every pass) and
    return the printed result: the IR-text test's `tfc opt -p PIPELINE`."""
    from tfc.ir import parse_module, print_module, verify
    from tfc.passes import PassManager

    module = parse_module(text)
    verify(module)
    PassManager.parse(pipeline, **options).run(module)
    return print_module(module)
