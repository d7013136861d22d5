"""Find the natural-language request at a cursor position (pure functions).

A request is one of:

* a block of full-line ``#`` comments: the block that contains the cursor's line,
  or the block that ends on the line just above the cursor when the cursor's
  line is blank. Python, shell scripts and CF rules all use ``#``: a CF rule
  (language id ``cfrule``) always starts with a function name, so a line
  starting with ``#`` cannot be a rule;
* in Python, a function whose body is only a docstring, when the cursor is on
  the ``def`` line, inside the docstring, or on the blank line after it.

Not requests: a shebang (``#!``), tool pragmas (``# noqa``, ``# type:``,
``# pylint:``, ``# shellcheck ...``, ``# -*- coding ...``, ...), which also end a
block, and comments that trail code on the same line (they describe that code).
Detection is line based: a ``#`` line inside a Python multi-line string is
taken for a comment.

Lines and columns are 0-based; columns are code points (see lsp.text for the
conversion from the client's units).
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass

# How far detection looks from the cursor: it never scans a whole huge document.
MAX_BLOCK_LINES = 200
MAX_DEF_LOOKBACK = 60
MAX_DOCSTRING_LINES = 200

_PRAGMA = re.compile(
    r"#\s*(noqa\b|type:|pylint:|mypy:|pyright:|ruff:|fmt:|isort:|flake8:|cython:|shellcheck\s|"
    r"-\*-|vim?:|coding[:=]|pragma\b)",
    re.IGNORECASE,
)
_DEF = re.compile(r"^(\s*)(async\s+)?def\s+\w+")
_DOC_OPEN = re.compile(r"^(\s*)([rRuU]{0,2})(\"\"\"|''')")


@dataclass(frozen=True)
class NLRequest:
    """The natural-language request found at a position."""

    text: str  # the request: the comment's lines joined by a space, markers removed
    kind: str  # "comment" or "docstring"
    start_line: int  # first line of the comment / docstring
    end_line: int  # last line of the comment / docstring (inclusive)
    indent: str  # indentation the generated code gets
    insert_line: int  # the generated code goes at the start of this line (end_line + 1)


def is_comment_line(line: str) -> bool:
    """A full-line `#` comment that can be part of a request (not a shebang or a pragma)."""
    stripped = line.lstrip()
    if not stripped.startswith("#"):
        return False
    if stripped.startswith("#!"):
        return False  # shebang (and lookalikes)
    return not _PRAGMA.match(stripped)


def comment_text(line: str) -> str:
    """The text of one comment line: leading `#` marks and surrounding blanks removed."""
    return line.strip().lstrip("#").strip()


def indentation(line: str) -> str:
    return line[: len(line) - len(line.lstrip(" \t"))]


def _is_blank(line: str) -> bool:
    return not line.strip()


def find_request(lines: Sequence[str], line: int, lang: str) -> NLRequest | None:
    """The request for a cursor on `line` (0-based) of `lines`, or None.

    `lang` is the engine language ("bash", "python" or "cf"); docstrings only count
    in Python. Out-of-range lines give None.
    """
    if not 0 <= line < len(lines):
        return None
    block = _comment_block(lines, line)
    if block is not None:
        return block
    if lang == "python":
        return _docstring_request(lines, line)
    return None


def _comment_block(lines: Sequence[str], line: int) -> NLRequest | None:
    if is_comment_line(lines[line]):
        anchor = line
    elif _is_blank(lines[line]) and line > 0 and is_comment_line(lines[line - 1]):
        anchor = line - 1
    else:
        return None
    start = anchor
    while start > 0 and anchor - start < MAX_BLOCK_LINES and is_comment_line(lines[start - 1]):
        start -= 1
    end = anchor
    while end + 1 < len(lines) and end - anchor < MAX_BLOCK_LINES and is_comment_line(lines[end + 1]):
        end += 1
    text = " ".join(t for t in (comment_text(lines[i]) for i in range(start, end + 1)) if t)
    return NLRequest(
        text=text,
        kind="comment",
        start_line=start,
        end_line=end,
        indent=indentation(lines[end]),
        insert_line=end + 1,
    )


def _strip_trailing_comment(line: str) -> str:
    # Good enough for a signature line: a `#` inside a default string value is rare.
    return line.split("#", 1)[0].rstrip()


def _docstring_request(lines: Sequence[str], line: int) -> NLRequest | None:
    # 1. the nearest `def` at or above the cursor
    def_line = None
    for i in range(line, max(-1, line - MAX_DEF_LOOKBACK), -1):
        if _DEF.match(lines[i]):
            def_line = i
            break
    if def_line is None:
        return None
    def_indent = len(indentation(lines[def_line]))

    # 2. the end of the signature: brackets balanced and the line ends with ':'
    depth = 0
    sig_end = None
    for i in range(def_line, min(len(lines), def_line + MAX_DEF_LOOKBACK)):
        code = _strip_trailing_comment(lines[i])
        depth += sum(code.count(c) for c in "([{") - sum(code.count(c) for c in ")]}")
        if depth <= 0 and code.endswith(":"):
            sig_end = i
            break
    if sig_end is None:
        return None

    # 3. the docstring opens on the next non-blank line, indented deeper than `def`
    doc_start = sig_end + 1
    while doc_start < len(lines) and _is_blank(lines[doc_start]):
        doc_start += 1
    if doc_start >= len(lines):
        return None
    m = _DOC_OPEN.match(lines[doc_start])
    if not m or len(m.group(1)) <= def_indent:
        return None
    quote = m.group(3)
    body_start = m.end()
    first = lines[doc_start][body_start:]
    if quote in first:  # one-line docstring
        doc_end = doc_start
        parts = [first[: first.index(quote)]]
        after = first[first.index(quote) + 3 :]
    else:
        parts = [first]
        closing = None
        for i in range(doc_start + 1, min(len(lines), doc_start + MAX_DOCSTRING_LINES)):
            if quote in lines[i]:
                closing = i
                parts.append(lines[i][: lines[i].index(quote)])
                after = lines[i][lines[i].index(quote) + 3 :]
                break
            parts.append(lines[i])
        if closing is None:
            return None
        doc_end = closing
    if after.strip() and not after.strip().startswith("#"):
        return None  # code after the closing quotes

    # 4. the body holds nothing else: the next code line is outside the function
    for i in range(doc_end + 1, min(len(lines), doc_end + 1 + MAX_BLOCK_LINES)):
        stripped = lines[i].strip()
        if not stripped or stripped.startswith("#"):
            continue
        if len(indentation(lines[i])) > def_indent:
            return None
        break

    # 5. the cursor is on the signature, in the docstring, or on the blank line after it
    on_blank_after = line == doc_end + 1 and _is_blank(lines[line])
    if not (def_line <= line <= doc_end or on_blank_after):
        return None
    text = " ".join(p.strip() for p in parts if p.strip())
    return NLRequest(
        text=text,
        kind="docstring",
        start_line=doc_start,
        end_line=doc_end,
        indent=m.group(1),
        insert_line=doc_end + 1,
    )


MAX_PAIR_CODE_LINES = 8  # a comment's code: the lines under it up to a blank line or comment, at most this many
MAX_PAIRS_PER_DOCUMENT = 500


def comment_code_pairs(lines: Sequence[str]) -> list[tuple[str, str]]:
    """(request, code) pairs a document already holds (comment_code_pairs_at without the lines)."""
    return [(nl, code) for _, nl, code in comment_code_pairs_at(lines)]


def comment_code_pairs_at(lines: Sequence[str]) -> list[tuple[int, str, str]]:
    """(line, request, code) triples a document already holds: each comment block (as find_request
    reads it) directly followed by code, the code being the lines up to the next blank line, comment
    or dedent, with the block's indentation removed; `line` is the comment's first line (0-based).
    The user's own examples, for the exemplar bank (the line is their provenance)."""
    pairs: list[tuple[int, str, str]] = []
    i, n = 0, len(lines)
    while i < n and len(pairs) < MAX_PAIRS_PER_DOCUMENT:
        if not is_comment_line(lines[i]):
            i += 1
            continue
        block = _comment_block(lines, i)
        assert block is not None  # lines[i] is a comment line
        j = block.end_line + 1
        indent = len(block.indent)
        code: list[str] = []
        while (
            j < n
            and len(code) < MAX_PAIR_CODE_LINES
            and not _is_blank(lines[j])
            and not lines[j].lstrip().startswith("#")
            and len(indentation(lines[j])) >= indent
        ):
            code.append(lines[j][indent:].rstrip())
            j += 1
        if block.text and code:
            pairs.append((block.start_line, block.text, "\n".join(code)))
        i = max(j, block.end_line + 1)
    return pairs
