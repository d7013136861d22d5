"""Shared tree-sitter helpers: build parsers once, collect ERROR and MISSING nodes."""

from __future__ import annotations

from collections.abc import Iterator
from functools import cache

from tree_sitter import Language, Node, Parser, Tree

from grammar.verdict import SyntaxIssue


@cache
def parser_for(lang: str) -> Parser:
    """A cached tree-sitter parser for "python" or "bash"."""
    if lang == "python":
        import tree_sitter_python

        language = tree_sitter_python.language()
    elif lang == "bash":
        import tree_sitter_bash

        language = tree_sitter_bash.language()
    else:
        raise ValueError(f"no tree-sitter grammar for {lang!r}")
    return Parser(Language(language))


def parse(code: str, lang: str) -> tuple[Tree, bytes]:
    source = code.encode("utf-8")
    return parser_for(lang).parse(source), source


def walk(node: Node) -> Iterator[Node]:
    """Every node of the tree, pre-order (iterative: deep trees do not hit the recursion limit)."""
    stack = [node]
    while stack:
        current = stack.pop()
        yield current
        stack.extend(reversed(current.children))


def _char_col(source: bytes, row: int, byte_col: int) -> int:
    """1-based character column of a (row, byte column) point."""
    lines = source.split(b"\n")
    line = lines[row] if row < len(lines) else b""
    return len(line[:byte_col].decode("utf-8", errors="replace")) + 1


def syntax_issues(tree: Tree, source: bytes) -> list[SyntaxIssue]:
    """One SyntaxIssue per outermost ERROR node and per MISSING node, in source order."""
    issues: list[SyntaxIssue] = []
    stack = [tree.root_node]
    while stack:
        node = stack.pop()
        if node.is_missing:
            row, col = node.start_point
            issues.append(SyntaxIssue(row + 1, _char_col(source, row, col), f"missing {node.type!r}"))
            continue
        if node.is_error:
            row, col = node.start_point
            snippet = source[node.start_byte : node.end_byte].decode("utf-8", errors="replace")
            snippet = snippet.splitlines()[0] if snippet.strip() else snippet
            if len(snippet) > 30:
                snippet = snippet[:27] + "..."
            message = f"syntax error at {snippet!r}" if snippet else "syntax error"
            issues.append(SyntaxIssue(row + 1, _char_col(source, row, col), message))
            # nested MISSING nodes inside an ERROR still matter; nested ERRORs are the same error
            issues.extend(
                SyntaxIssue(n.start_point[0] + 1, _char_col(source, *n.start_point), f"missing {n.type!r}")
                for n in walk(node)
                if n.is_missing
            )
            continue
        if node.has_error:
            stack.extend(reversed(node.children))
    issues.sort(key=lambda i: (i.line, i.col))
    return issues
