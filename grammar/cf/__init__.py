"""The conditional-formatting (CF) rule DSL: parser, function table, executor.

parse(code) -> Call                 CFSyntaxError(message, pos) when the rule does not parse
check_cf(code) -> Verdict           the syntax check behind grammar.syntax.check(code, "cf")
execute(rule, data) -> list[int]    0/1 mask aligned with data rows (header first, mask[0] == 0)
normalize_cf(code) -> str           canonical spacing (no spaces after commas outside text)
"""

from __future__ import annotations

import re

from grammar.cf.executor import CFExecutionError, execute
from grammar.cf.functions import FUNCTIONS, FunctionSpec
from grammar.cf.nodes import Call, unparse
from grammar.cf.parser import CFSyntaxError, parse
from grammar.verdict import SyntaxIssue, Verdict

__all__ = [
    "CFExecutionError",
    "CFSyntaxError",
    "Call",
    "FUNCTIONS",
    "FunctionSpec",
    "check_cf",
    "execute",
    "normalize_cf",
    "parse",
    "unparse",
]


def _line_col(code: str, pos: int) -> tuple[int, int]:
    before = code[: max(0, min(pos, len(code)))]
    return before.count("\n") + 1, pos - (before.rfind("\n") + 1) + 1


def check_cf(code: str) -> Verdict:
    try:
        parse(code)
    except CFSyntaxError as exc:
        line, col = _line_col(code, exc.pos)
        return Verdict(valid=False, errors=[SyntaxIssue(line, col, exc.message)])
    return Verdict(valid=True)


_SPACE_AFTER_COMMA = re.compile(r"""('[^']*'|"[^"]*")|,\s+""")


def normalize_cf(code: str) -> str:
    """Strip, then print the parse tree canonically; for a rule that does not parse, drop
    the spaces after commas outside quoted text."""
    code = code.strip()
    try:
        return unparse(parse(code))
    except CFSyntaxError:
        return _SPACE_AFTER_COMMA.sub(lambda m: m.group(1) or ",", code)
