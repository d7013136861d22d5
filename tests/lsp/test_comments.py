"""lsp.comments: where is the natural-language request (table-driven)."""

import pytest

from lsp.comments import MAX_BLOCK_LINES, find_request, is_comment_line

BASH = """#!/bin/bash
# shellcheck disable=SC2086
# list all files
# sorted by size

ls -la  # trailing comment
if true; then
    # count lines in a.txt
    
fi
""".split("\n")  # noqa: W293  (a whitespace-only line inside a block is part of the test)

PY = '''import os  # noqa: F401
# type: ignore


def f(x):
    """Return the square of x."""


async def g(
    a,
    b: int = 3,
) -> int:
    """
    Read a file and
    print its lines.
    """

def h():
    """Has a body."""
    return 1
#
# add two numbers
x = 1'''.split("\n")


@pytest.mark.parametrize(
    "lines,line,lang,expected",
    [
        # cursor on a comment line: the whole block (shebang and pragma are not part of it)
        (BASH, 2, "bash", ("list all files sorted by size", "comment", 2, 3, "", 4)),
        (BASH, 3, "bash", ("list all files sorted by size", "comment", 2, 3, "", 4)),
        # cursor on the blank line after the block
        (BASH, 4, "bash", ("list all files sorted by size", "comment", 2, 3, "", 4)),
        # shebang, pragma, trailing comment, plain code: nothing
        (BASH, 0, "bash", None),
        (BASH, 1, "bash", None),
        (BASH, 5, "bash", None),
        (BASH, 6, "bash", None),
        # indented comment keeps its indentation; whitespace-only line after it
        (BASH, 7, "bash", ("count lines in a.txt", "comment", 7, 7, "    ", 8)),
        (BASH, 8, "bash", ("count lines in a.txt", "comment", 7, 7, "    ", 8)),
        # out of range
        (BASH, -1, "bash", None),
        (BASH, 99, "bash", None),
        # python pragmas
        (PY, 0, "python", None),
        (PY, 1, "python", None),
        # docstring-only function: on the def line, in the docstring, on the blank line after
        (PY, 4, "python", ("Return the square of x.", "docstring", 5, 5, "    ", 6)),
        (PY, 5, "python", ("Return the square of x.", "docstring", 5, 5, "    ", 6)),
        (PY, 6, "python", ("Return the square of x.", "docstring", 5, 5, "    ", 6)),
        # multi-line signature and docstring
        (PY, 9, "python", ("Read a file and print its lines.", "docstring", 12, 15, "    ", 16)),
        (PY, 14, "python", ("Read a file and print its lines.", "docstring", 12, 15, "    ", 16)),
        (PY, 16, "python", ("Read a file and print its lines.", "docstring", 12, 15, "    ", 16)),
        # a function with a real body is not a request
        (PY, 17, "python", None),
        (PY, 18, "python", None),
        # an empty `#` line belongs to the block
        (PY, 21, "python", ("add two numbers", "comment", 20, 21, "", 22)),
        (PY, 22, "python", None),
        # docstrings only count in Python
        (PY, 5, "bash", None),
    ],
)
def test_find_request(lines, line, lang, expected):
    req = find_request(lines, line, lang)
    if expected is None:
        assert req is None
    else:
        assert (req.text, req.kind, req.start_line, req.end_line, req.indent, req.insert_line) == expected


@pytest.mark.parametrize(
    "line,expected",
    [
        ("# hello", True),
        ("   ## hello", True),
        ("#", True),
        ("#!/bin/sh", False),
        ("# noqa", False),
        ("# type: List[int]", False),
        ("# -*- coding: utf-8 -*-", False),
        ("# shellcheck disable=SC2034", False),
        ("x = 1  # note", False),
        ("", False),
    ],
)
def test_is_comment_line(line, expected):
    assert is_comment_line(line) is expected


def test_empty_comment_is_found_with_empty_text():
    req = find_request(["#", ""], 1, "bash")
    assert req is not None and req.text == ""


def test_block_scan_is_bounded():
    lines = ["# x"] * (MAX_BLOCK_LINES * 5) + [""]
    req = find_request(lines, len(lines) - 1, "bash")
    assert req.end_line == len(lines) - 2
    assert req.end_line - req.start_line == MAX_BLOCK_LINES


def test_comment_at_end_of_document_without_newline():
    req = find_request(["echo hi", "# print the date"], 1, "bash")
    assert req.insert_line == 2 and req.text == "print the date"


def test_cf_rules_use_hash_comments():
    lines = ["# highlight values above 10", ""]
    assert find_request(lines, 1, "cf").text == "highlight values above 10"
