"""One syntax-check entry point for every language CodeFusion serves.

    check(code, lang) -> Verdict(valid, errors=[SyntaxIssue(line, col, message)], notes=[...])

Lines and columns are 1-based; columns count characters (not bytes).
"""

from __future__ import annotations

from grammar.verdict import SyntaxIssue, Verdict

__all__ = ["LANGS", "SyntaxIssue", "Verdict", "check"]

LANGS = ("bash", "python", "cf")


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
