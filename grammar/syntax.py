"""One syntax-check entry point for every language CodeFusion serves.

    check(code, lang) -> Verdict(valid, errors=[SyntaxIssue(line, col, message)], notes=[...])

Lines and columns are 1-based; columns count characters (not bytes).
"""
from __future__ import annotations

from dataclasses import dataclass, field

LANGS = ("bash", "python", "cf")


@dataclass(frozen=True)
class SyntaxIssue:
    line: int  # 1-based
    col: int  # 1-based, in characters
    message: str

    def __str__(self) -> str:
        return f"{self.line}:{self.col}: {self.message}"


@dataclass
class Verdict:
    valid: bool
    errors: list[SyntaxIssue] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)


def check(code: str, lang: str) -> Verdict:
    """Check `code` in `lang` ("bash", "python" or "cf"); ValueError for another lang."""
    if not isinstance(code, str):
        raise TypeError(f"code must be a str, not {type(code).__name__}")
    if lang == "python":
        from grammar.python_syntax import check_python

        return check_python(code)
    if lang == "bash":
        from grammar.bash_syntax import check_bash

        return check_bash(code)
    if lang == "cf":
        from grammar.cf import check_cf

        return check_cf(code)
    raise ValueError(f"unknown language {lang!r}; expected one of {', '.join(LANGS)}")
