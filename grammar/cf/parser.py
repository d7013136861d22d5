"""A parser for the CF rule DSL (train style and column style), with arity checks.

    rule    := NAME "(" [arg ("," arg)*] ")"
    arg     := rule | LEN(c[K]) | c[K] | number | number% | $A$1 | 'quoted' | "quoted" | bare text

The grammar is ambiguous without the function table: train-style text arguments are
unquoted and run to the call's closing parenthesis, so they can hold spaces, commas and
even parentheses (`TextEquals(Y(SH))`, `TextContains(a, b)`). The parser therefore
reads arguments slot by slot following the function's allowed shapes
(grammar.cf.functions), and backtracks over the possible ends of a bare text
argument (the balanced closing parenthesis first, then every other one). Among all
parses that consume the whole input the first wins; when none does, the error that
got furthest into the input is reported.
"""

from __future__ import annotations

import difflib
import re
from collections.abc import Iterator
from dataclasses import dataclass

from grammar.cf.functions import FUNCTIONS, FunctionSpec
from grammar.cf.nodes import Call, CellRef, ColRef, Node, Number, Text

_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
_NUMBER = re.compile(r"[+-]?(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][+-]?\d+)?(%?)")
_CELLREF = re.compile(r"\$?[A-Za-z]{1,3}\$?\d+")
_COLREF = re.compile(r"c\[\s*(\d+)\s*\]")


class CFSyntaxError(ValueError):
    """A rule that does not parse. `pos` is the 0-based character offset of the problem."""

    def __init__(self, message: str, pos: int):
        super().__init__(message)
        self.message = message
        self.pos = pos


@dataclass(order=True)
class _Failure:
    reach: int  # how far the parse got: the furthest failure is the most informative
    pos: int  # where to point the user
    message: str


class _Parser:
    def __init__(self, src: str):
        self.src = src
        self.failure: _Failure | None = None

    # -- helpers -----------------------------------------------------------
    def fail(self, message: str, pos: int, reach: int | None = None) -> None:
        f = _Failure(pos if reach is None else reach, pos, message)
        if self.failure is None or f.reach > self.failure.reach:
            self.failure = f

    def skip_ws(self, pos: int) -> int:
        while pos < len(self.src) and self.src[pos].isspace():
            pos += 1
        return pos

    def peek(self, pos: int) -> str:
        return self.src[pos] if pos < len(self.src) else ""

    def describe(self, pos: int) -> str:
        return repr(self.src[pos]) if pos < len(self.src) else "end of rule"

    # -- rules -------------------------------------------------------------
    def call(self, pos: int, want_rule: bool) -> Iterator[tuple[Call, int]]:
        start = self.skip_ws(pos)
        m = _NAME.match(self.src, start)
        if not m:
            self.fail(f"expected a function name, found {self.describe(start)}", start)
            return
        name = m.group()
        after = self.skip_ws(m.end())
        if self.peek(after) != "(":
            self.fail(f"expected '(' after {name}", after)
            return
        spec = FUNCTIONS.get(name)
        if spec is None:
            close = difflib.get_close_matches(name, FUNCTIONS, n=1)
            hint = f" (did you mean {close[0]}?)" if close else ""
            self.fail(f"unknown function {name!r}{hint}", start, reach=after + 1)
            return
        if want_rule and not spec.returns_rule:
            self.fail(f"{name} gives a value, not a rule", start, reach=after + 1)
            return
        for args, end in self.arguments(spec, after + 1):
            yield Call(name, tuple(args), start), end

    def arguments(self, spec: FunctionSpec, pos: int) -> Iterator[tuple[list[Node], int]]:
        if spec.variadic_min is not None:
            yield from self.variadic(spec, spec.variadic_min, pos)
            return
        matched = False
        for shape in spec.shapes:
            for args, end in self.slots(shape, pos, spec.name):
                matched = True
                yield args, end
        if not matched:
            self.arity_failure(spec, pos)

    def arity_failure(self, spec: FunctionSpec, pos: int) -> None:
        """Report a wrong argument count when the call is otherwise well formed."""
        close = self.generic_close(pos)
        if close is None:
            return
        inner = self.src[pos:close].strip()
        count = 0 if not inner else self.top_level_commas(pos, close) + 1
        if count in {len(shape) for shape in spec.shapes}:
            return  # the count is fine: a slot reported what is wrong with an argument
        self.fail(f"{spec.name} takes {spec.arity_text()}, got {count}", pos - 1 - len(spec.name), reach=close)

    def generic_close(self, pos: int) -> int | None:
        for i, depth in _parens(self.src, pos):
            if depth < 0:
                return i
        return None

    def top_level_commas(self, pos: int, close: int) -> int:
        depth, quote, n = 0, "", 0
        for ch in self.src[pos:close]:
            if quote:
                quote = "" if ch == quote else quote
            elif ch in "'\"":
                quote = ch
            elif ch in "([":
                depth += 1
            elif ch in ")]":
                depth -= 1
            elif ch == "," and depth == 0:
                n += 1
        return n

    def variadic(self, spec: FunctionSpec, minimum: int, pos: int) -> Iterator[tuple[list[Node], int]]:
        def more(args: list[Node], p: int) -> Iterator[tuple[list[Node], int]]:
            for node, end in self.call(p, want_rule=True):
                q = self.skip_ws(end)
                ch = self.peek(q)
                if ch == ",":
                    yield from more(args + [node], q + 1)
                elif ch == ")":
                    n = len(args) + 1
                    if n >= minimum:
                        yield args + [node], q + 1
                    else:
                        self.fail(f"{spec.name} takes {spec.arity_text()}, got {n}", spec_pos, reach=q)
                else:
                    self.fail(f"expected ',' or ')' in {spec.name}(...), found {self.describe(q)}", q)

        spec_pos = pos - 1 - len(spec.name)
        q = self.skip_ws(pos)
        if self.peek(q) == ")":
            self.fail(f"{spec.name} takes {spec.arity_text()}, got 0", spec_pos, reach=q)
            return
        yield from more([], pos)

    def slots(self, shape: tuple[str, ...], pos: int, name: str) -> Iterator[tuple[list[Node], int]]:
        if not shape:
            q = self.skip_ws(pos)
            if self.peek(q) == ")":
                yield [], q + 1
            else:
                self.fail(f"{name} takes no argument here, found {self.describe(q)}", q)
            return
        kind, rest = shape[0], shape[1:]
        last = not rest
        for node, end in self.slot(kind, pos, last, name):
            q = self.skip_ws(end)
            ch = self.peek(q)
            if last:
                if ch == ")":
                    yield [node], q + 1
                else:
                    self.fail(f"expected ')' to close {name}(...), found {self.describe(q)}", q)
            elif ch == ",":
                for tail, tail_end in self.slots(rest, q + 1, name):
                    yield [node] + tail, tail_end
            else:
                self.fail(f"expected ',' in {name}(...), found {self.describe(q)}", q)

    # -- argument slots ------------------------------------------------------
    def slot(self, kind: str, pos: int, last: bool, name: str) -> Iterator[tuple[Node, int]]:
        start = self.skip_ws(pos)
        if kind == "rule":
            yield from self.call(start, want_rule=True)
        elif kind == "col":
            yield from self.colref(start)
        elif kind == "subject":
            yield from self.colref(start, quiet=True)
            if self.src.startswith("LEN", start):
                yield from self.call(start, want_rule=False)
        elif kind == "count":
            m = _NUMBER.match(self.src, start)
            if m:
                yield Number(float(m.group().rstrip("%")), bool(m.group(1)), m.group(), start), m.end()
            else:
                self.fail(f"{name} needs a number or a percentage, found {self.describe(start)}", start)
        elif kind == "value":
            yield from self.value(start, name)
        elif kind == "text":
            yield from self.text(start, last)
        else:  # pragma: no cover - table error
            raise AssertionError(kind)

    def colref(self, pos: int, quiet: bool = False) -> Iterator[tuple[ColRef, int]]:
        m = _COLREF.match(self.src, pos)
        if m:
            yield ColRef(int(m.group(1)), pos), m.end()
        elif not quiet:
            self.fail(f"expected a column reference c[K], found {self.describe(pos)}", pos)

    def quoted(self, pos: int) -> Iterator[tuple[Text, int]]:
        quote = self.peek(pos)
        if quote not in ("'", '"'):
            return
        i = pos + 1
        chars: list[str] = []
        while i < len(self.src):
            ch = self.src[i]
            if ch == "\\" and i + 1 < len(self.src) and self.src[i + 1] in (quote, "\\"):
                chars.append(self.src[i + 1])
                i += 2
                continue
            if ch == quote:
                yield Text("".join(chars), True, pos), i + 1
                return
            chars.append(ch)
            i += 1

    def value(self, start: int, name: str) -> Iterator[tuple[Node, int]]:
        yield from self.colref(start, quiet=True)
        if self.src.startswith("LEN", start):
            yield from self.call(start, want_rule=False)
        m = _NUMBER.match(self.src, start)
        if m and self.peek(self.skip_ws(m.end())) in (",", ")"):
            yield Number(float(m.group().rstrip("%")), bool(m.group(1)), m.group(), start), m.end()
        m = _CELLREF.match(self.src, start)
        if m and self.peek(self.skip_ws(m.end())) in (",", ")"):
            yield CellRef(m.group(), start), m.end()
        yield from self.quoted(start)
        # bare text operand such as `13 Days`: up to the next top-level ',' or ')'
        end = start
        while end < len(self.src) and self.src[end] not in ",()":
            end += 1
        raw = self.src[start:end].strip()
        if raw and self.peek(end) in (",", ")"):
            yield Text(raw, False, start), end
        elif not raw:
            self.fail(f"{name} is missing a value, found {self.describe(start)}", start)

    def text(self, start: int, last: bool) -> Iterator[tuple[Node, int]]:
        yield from self.quoted(start)
        m = _CELLREF.match(self.src, start)
        if m and self.peek(self.skip_ws(m.end())) in (",", ")"):
            yield CellRef(m.group(), start), m.end()
        # bare text: runs to a closing parenthesis (balanced one first, then the others)
        ends: list[int] = []
        depth = 0
        balanced: int | None = None
        for i in range(start, len(self.src)):
            ch = self.src[i]
            if ch == "(":
                depth += 1
            elif ch == ")":
                ends.append(i)
                if depth == 0 and balanced is None:
                    balanced = i
                depth -= 1
            elif ch == "," and not last and depth == 0 and balanced is None:
                ends.append(i)
        order = ([balanced] if balanced is not None else []) + [e for e in ends if e != balanced]
        for end in order:
            raw = self.src[start:end].strip()
            if raw:
                yield Text(raw, False, start), end
        if not ends:
            self.fail("unclosed text argument: expected ')'", len(self.src))


MAX_DEPTH = 32  # real rules nest a few levels


def _parens(src: str, pos: int = 0) -> Iterator[tuple[int, int]]:
    """(position, depth after it) for each parenthesis from pos on, outside quoted text."""
    depth, quote = 0, ""
    for i in range(pos, len(src)):
        ch = src[i]
        if quote:
            quote = "" if ch == quote else quote
        elif ch in "'\"":
            quote = ch
        elif ch in "()":
            depth += 1 if ch == "(" else -1
            yield i, depth


def _too_deep(code: str) -> int | None:
    """The position where parentheses (outside quotes) open more than MAX_DEPTH deep, or None."""
    return next((i for i, depth in _parens(code) if depth > MAX_DEPTH), None)


def parse(code: str) -> Call:
    """Parse a CF rule into a Call tree; CFSyntaxError (with a 0-based `pos`) when it is not a rule."""
    if not isinstance(code, str):
        raise TypeError("a CF rule must be a str")
    if not code.strip():
        raise CFSyntaxError("empty rule", 0)
    deep = _too_deep(code)
    if deep is not None:  # the parser recurses per level: refuse before Python's stack does
        raise CFSyntaxError(f"parentheses nested more than {MAX_DEPTH} deep", deep)
    parser = _Parser(code)
    try:
        for node, end in parser.call(0, want_rule=True):
            rest = parser.skip_ws(end)
            if rest == len(code):
                return node
            parser.fail(f"unexpected text after the rule: {code[rest : rest + 20]!r}", rest)
    except RecursionError:
        raise CFSyntaxError("rule too complex to parse", 0) from None
    failure = parser.failure or _Failure(0, 0, "not a CF rule")
    raise CFSyntaxError(failure.message, failure.pos)
