"""Continuous paragraph denoising (CPD): which parts of a program get noised.

The paper noises only identifier and keyword positions. They are found with
tree-sitter for Python (identifiers, keywords) and Bash (command names, variable
names, shell keywords), and for CF rules with the function names (NAME before '(').
"""

from __future__ import annotations

import re
from functools import cache

CF_FUNC = re.compile(r"[A-Za-z_][A-Za-z0-9_]*(?=\s*\()")
_KEYWORD = re.compile(r"[A-Za-z_]+")


@cache
def _parser(lang: str):
    from tree_sitter import Language, Parser

    if lang == "python":
        import tree_sitter_python

        language = tree_sitter_python.language()
    else:
        import tree_sitter_bash

        language = tree_sitter_bash.language()
    return Parser(Language(language))


def keyword_identifier_spans(code: str, lang: str) -> list[tuple[int, int]]:
    """Character spans [start, end) of identifiers and keywords in `code`."""
    if lang == "cf":
        return [m.span() for m in CF_FUNC.finditer(code)]
    data = code.encode("utf-8")
    tree = _parser(lang).parse(data)
    byte_spans: list[tuple[int, int]] = []
    stack = [tree.root_node]
    while stack:
        node = stack.pop()
        kind = node.type
        if lang == "python":
            hit = kind == "identifier" or (not node.is_named and _KEYWORD.fullmatch(kind) is not None)
        else:
            hit = kind in ("command_name", "variable_name") or (
                not node.is_named and _KEYWORD.fullmatch(kind) is not None
            )
        if hit and node.end_byte > node.start_byte:
            byte_spans.append((node.start_byte, node.end_byte))
            continue
        stack.extend(node.children)
    # byte offsets -> character offsets
    char_at = [0] * (len(data) + 1)
    pos = 0
    for i, ch in enumerate(code):
        n = len(ch.encode("utf-8"))
        for b in range(pos, pos + n):
            char_at[b] = i
        pos += n
    char_at[len(data)] = len(code)
    return sorted((char_at[s], char_at[e]) for s, e in byte_spans)


def token_mask(offsets: list[tuple[int, int]], spans: list[tuple[int, int]]) -> list[bool]:
    """True for each token whose character offsets overlap one of the spans."""
    out = []
    for a, b in offsets:
        out.append(any(a < e and s < b for s, e in spans))
    return out


def masked_text(code: str, spans: list[tuple[int, int]], mask_token: str) -> str:
    """The program with every span replaced by the encoder's mask token (what E encodes in CPD)."""
    parts, last = [], 0
    for s, e in spans:
        if s < last:
            continue
        parts += [code[last:s], mask_token]
        last = e
    parts.append(code[last:])
    return "".join(parts)
