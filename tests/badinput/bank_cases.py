"""Hostile exemplar banks and vector caches, each with what it expects (issue 26).

A bank case writes a file (or names a path) in a temporary folder and states what reading it as a
user exemplar file must give: "refused" (engine.data.DataError, one line naming the file), "cut"
(the records within the limits, and one note saying what was ignored) or "read". The same table
runs against the engine (tests/badinput/test_bank_bad_input.py: time and extra RSS within the issue's
budget) and against the real server (test_lsp_bad_input.py's runner: a warning, and the next request
is answered). Nothing here writes a gigabyte: the huge files are sparse.
"""

from __future__ import annotations

import json
import os
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

BUDGET_S = 10.0  # the budget for one case
BUDGET_RSS_MB = 200.0

GOOD = {"nl": "list the files here", "code": "ls -la", "lang": "bash"}


@dataclass(frozen=True)
class BankCase:
    name: str
    make: Callable[[Path], Path]  # writes the file under the folder, returns the path to name in the settings
    expects: str  # "refused", "cut" or "read"
    words: str  # in the message (refusal or note), lower case
    min_records: int = 0  # "cut" / "read": at least this many records kept


def _write(name: str, data: bytes) -> Callable[[Path], Path]:
    def make(tmp: Path) -> Path:
        p = tmp / name
        p.write_bytes(data)
        return p

    return make


def _sparse(name: str, size: int, head: bytes = b"") -> Callable[[Path], Path]:
    """A file of `size` bytes that costs no disk: `head`, then a hole (zeros)."""

    def make(tmp: Path) -> Path:
        p = tmp / name
        with open(p, "wb") as fh:
            fh.write(head)
            fh.truncate(size)
        return p

    return make


def _lines(name: str, n: int, line: bytes) -> Callable[[Path], Path]:
    def make(tmp: Path) -> Path:
        p = tmp / name
        with open(p, "wb") as fh:
            chunk = line * 100_000
            for _ in range(n // 100_000):
                fh.write(chunk)
            fh.write(line * (n % 100_000))
        return p

    return make


def _records(name: str, n: int) -> Callable[[Path], Path]:
    """n distinct valid records (a bank of millions of lines that are all usable)."""

    def make(tmp: Path) -> Path:
        p = tmp / name
        with open(p, "w", encoding="utf-8") as fh:
            for i in range(n):
                fh.write(
                    json.dumps({"nl": f"list the files of folder {i}", "code": f"ls dir{i}", "lang": "bash"}) + "\n"
                )
        return p

    return make


def _fifo(tmp: Path) -> Path:
    p = tmp / "fifo.jsonl"
    os.mkfifo(p)
    return p


def _directory(tmp: Path) -> Path:
    p = tmp / "folder.jsonl"
    p.mkdir()
    return p


GOOD_LINE = (json.dumps(GOOD) + "\n").encode()

BANK_CASES: list[BankCase] = [
    BankCase("a 1 GiB file (sparse)", _sparse("huge.jsonl", 1 << 30, GOOD_LINE), "refused", "1.0 gib"),
    BankCase("a 100 MB line", _sparse("longline.jsonl", 100_000_000, b'{"nl": "'), "refused", "may hold at most"),
    BankCase(
        "a 2 MiB line in a small file",
        _write("line2m.jsonl", GOOD_LINE + b'{"nl": "' + b"a" * (2 << 20) + b'"}\n'),
        "refused",
        "line2m.jsonl:2: a line longer than 1 mib",
    ),
    BankCase(
        "binary (an ELF header and random bytes)",
        _write("binary.jsonl", b"\x7fELF\x02\x01\x01" + os.urandom(4096)),
        "refused",
        "not utf-8 text",
    ),
    BankCase("NUL bytes", _write("nul.jsonl", b"\0" * 10_000), "refused", "nul.jsonl:1: not utf-8 text (a nul byte"),
    BankCase(
        "JSON nested 100,000 deep",
        _write("deep.jsonl", b"[" * 100_000 + b"]" * 100_000 + b"\n"),
        "refused",
        "deep.jsonl:1: not json (nested too deeply)",
    ),
    BankCase(
        "a record whose nl is nested 500 deep",
        _write("deepnl.jsonl", GOOD_LINE + b'{"nl": ' + b"[" * 500 + b"]" * 500 + b', "code": "x", "lang": "bash"}\n'),
        "read",
        "",
        1,
    ),
    BankCase(
        "an integer of a million digits",
        _write("digits.jsonl", b'{"nl": ' + b"9" * 1_000_000 + b"}\n"),
        "refused",
        "digits.jsonl:1: not json",
    ),
    BankCase("2,000,000 blank lines", _lines("blank.jsonl", 2_000_000, b"\n"), "cut", "the first 1,000,000 lines"),
    BankCase(
        "1,500,000 lines of {}", _lines("empty-objects.jsonl", 1_500_000, b"{}\n"), "cut", "the first 1,000,000 lines"
    ),
    BankCase("150,000 usable records", _records("many.jsonl", 150_000), "cut", "5,000 records", 5_000),
    BankCase(
        "a JSON array, not JSONL",
        _write("array.jsonl", b"[" + GOOD_LINE.strip() + b"]\n"),
        "refused",
        "array.jsonl:1: not a json object",
    ),
    BankCase("a folder named as a file", _directory, "refused", "not a regular file"),
    BankCase("a FIFO (a read would block)", _fifo, "refused", "not a regular file"),
    BankCase(
        "an nl of 1,000,000 characters",
        _write("longnl.jsonl", json.dumps({"nl": "x" * 1_000_000, "code": "ls", "lang": "bash"}).encode() + b"\n"),
        "read",
        "",
        1,
    ),
]
