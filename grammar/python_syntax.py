"""Python syntax check with tree-sitter-python (ERROR and MISSING nodes)."""

from __future__ import annotations

from grammar.treesitter_util import parse, syntax_issues
from grammar.verdict import Verdict


def check_python(code: str) -> Verdict:
    tree, source = parse(code, "python")
    errors = syntax_issues(tree, source)
    return Verdict(valid=not errors, errors=errors)
