"""Document text helpers: LSP line splitting and column units.

LSP splits lines on "\\n", "\\r\\n" and "\\r" only, and counts columns in the
negotiated position encoding (UTF-16 code units unless the client offers
another). The rest of the package works in Python code points; these
functions convert at the edge.
"""

from __future__ import annotations

import re

_EOL = re.compile(r"\r\n|\r|\n")


def split_lines(text: str) -> list[str]:
    """The document's lines without their line endings (LSP rules; always at least one line)."""
    return _EOL.split(text)


def units(s: str, encoding: str = "utf-16") -> int:
    """Length of `s` in the client's column units ("utf-8", "utf-16" or "utf-32")."""
    if encoding == "utf-32":
        return len(s)
    if encoding == "utf-8":
        return len(s.encode("utf-8", "surrogatepass"))
    # UTF-16: characters outside the BMP take two code units.
    return len(s) + sum(1 for ch in s if ord(ch) > 0xFFFF)


def to_codepoints(line: str, column: int, encoding: str = "utf-16") -> int:
    """A client column on `line` as a code-point index, clamped to the line."""
    if column <= 0:
        return 0
    if encoding == "utf-32":
        return min(column, len(line))
    used = 0
    for i, ch in enumerate(line):
        used += units(ch, encoding)
        if used > column:
            return i
    return len(line)


def sanitize(s: str) -> str:
    """Replace lone surrogates (a client can send them as JSON escapes) by U+FFFD."""
    return _SURROGATE.sub("\ufffd", s)


_SURROGATE = re.compile("[\ud800-\udfff]")
