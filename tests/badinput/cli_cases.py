"""The bad-input cases for the command line (`codefusion`, `codefusion-lsp`), each with what it
expects: the exit code and words of the message. Every case must also print no traceback, and
a failing case prints one line on stderr (argparse's usage errors: its usage line, then one).

`{ckpt}` in an argument is the untrained tiny checkpoint; `{tmp}` a scratch folder, where
`setup` may write files first.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from tests.badinput import spoil


@dataclass(frozen=True)
class CliCase:
    name: str
    argv: Sequence[str | bytes]  # after the program; bytes for arguments that are not valid UTF-8
    code: int  # the expected exit code
    words: str  # what stderr (or stdout with code 0) must contain, case-insensitive
    stdin: bytes | None = None
    setup: Callable[[Path, Path], None] | None = None  # setup(tmp, ckpt)
    program: str = "codefusion"
    expects: str = field(default="")

    def description(self) -> str:
        return self.expects or f"exit {self.code}, says {self.words!r}"


def _spoiled(name: str, spoiler: Callable[[Path], None]) -> Callable[[Path, Path], None]:
    def setup(tmp: Path, ckpt: Path) -> None:
        spoiler(spoil.copy_checkpoint(ckpt, tmp / name))

    return setup


def _write(name: str, data: bytes) -> Callable[[Path, Path], None]:
    def setup(tmp: Path, ckpt: Path) -> None:
        (tmp / name).write_bytes(data)

    return setup


def _mkdir(name: str) -> Callable[[Path, Path], None]:
    def setup(tmp: Path, ckpt: Path) -> None:
        (tmp / name).mkdir(exist_ok=True)

    return setup


def _sparse(name: str, size: int) -> Callable[[Path, Path], None]:
    """A file of `size` bytes that costs no disk (a hole)."""

    def setup(tmp: Path, ckpt: Path) -> None:
        with open(tmp / name, "wb") as fh:
            fh.truncate(size)

    return setup


G = ["generate", "--lang", "bash", "--checkpoint", "{ckpt}"]
GOOD = "list all files"

CLI_CASES: list[CliCase] = [
    # --- generate: the request
    CliCase("generate: empty request", ["generate", "", "--lang", "bash"], 2, "empty"),
    CliCase("generate: whitespace-only request", ["generate", "  \t\n ", "--lang", "bash"], 2, "empty"),
    CliCase("generate: no request at all", ["generate", "--lang", "bash"], 2, "no request"),
    CliCase(
        "generate: request and --nl-file both",
        ["generate", GOOD, "--nl-file", "{tmp}/nl.txt", "--lang", "bash"],
        2,
        "not both",
        setup=_write("nl.txt", b"list files"),
    ),
    CliCase(
        "generate: --nl-file missing",
        ["generate", "--nl-file", "{tmp}/missing.txt", "--lang", "bash"],
        1,
        "missing.txt",
    ),
    CliCase(
        "generate: --nl-file a directory",
        ["generate", "--nl-file", "{tmp}/adir", "--lang", "bash"],
        1,
        "adir",
        setup=_mkdir("adir"),
    ),
    CliCase(
        "generate: --nl-file binary, not UTF-8",
        ["generate", "--nl-file", "{tmp}/bin.txt", "--lang", "bash"],
        1,
        "utf-8",
        setup=_write("bin.txt", bytes(range(128, 256))),
    ),
    CliCase(
        "generate: --nl-file empty",
        ["generate", "--nl-file", "{tmp}/empty.txt", "--lang", "bash"],
        2,
        "empty",
        setup=_write("empty.txt", b""),
    ),
    CliCase("generate: '-' with empty stdin", ["generate", "-", "--lang", "bash"], 2, "empty", stdin=b""),
    CliCase(
        "generate: '-' with invalid UTF-8 on stdin",
        ["generate", "-", "--lang", "bash"],
        1,
        "utf-8",
        stdin=b"\xff\xfe ls",
    ),
    CliCase("generate: invalid UTF-8 in the argument", ["generate", b"list \xff files", *G[1:]], 1, "not valid utf-8"),
    CliCase(
        "generate: a 1 MB request on stdin",
        [*G, "-"],
        2,
        "1100000 characters long; the limit is",
        stdin=b"list files " * 100_000,
        expects="exit 2 at once: the request is over engine.schema.MAX_REQUEST_CHARS",
    ),
    CliCase(
        "generate: a 100 KB request argument",
        [*G, "find " * 20_000],
        2,
        "100000 characters long; the limit is",
        expects="exit 2 at once: the request is over engine.schema.MAX_REQUEST_CHARS",
    ),
    CliCase(
        "generate: NUL and escape characters",
        [*G, "list\x01 files \x1b[31m"],
        0,
        "",
        expects="exit 0: control characters are dropped from the request",
    ),
    # --- generate: numbers and choices
    CliCase("generate: -k 0", [*G, GOOD, "-k", "0"], 2, "k must be an integer in"),
    CliCase("generate: -k -1", [*G, GOOD, "-k", "-1"], 2, "k must be an integer in 1..20"),
    CliCase("generate: -k 1000", [*G, GOOD, "-k", "1000"], 2, "k must be an integer in 1..20"),
    CliCase("generate: -k abc", [*G, GOOD, "-k", "abc"], 2, "invalid int"),
    CliCase("generate: --steps 0", [*G, GOOD, "--steps", "0"], 2, "steps"),
    CliCase("generate: --steps -5", [*G, GOOD, "--steps", "-5"], 2, "steps"),
    CliCase("generate: --steps 10^9", [*G, GOOD, "--steps", "1000000000"], 2, "steps must be an integer in"),
    CliCase("generate: --seed abc", [*G, GOOD, "--seed", "abc"], 2, "invalid int"),
    CliCase("generate: --lang cobol", ["generate", GOOD, "--lang", "cobol"], 2, "unknown language 'cobol'"),
    CliCase("generate: --start-snr -1", [*G, GOOD, "--start-snr", "-1"], 2, "start SNR must be a number"),
    CliCase("generate: --start-snr nan", [*G, GOOD, "--start-snr", "nan"], 2, "start SNR must be a number"),
    CliCase("generate: --lang missing", ["generate", GOOD], 2, "--lang"),
    CliCase("generate: --invalid-mode explode", [*G, GOOD, "--invalid-mode", "explode"], 2, "invalid choice"),
    CliCase("generate: --device tpu", [*G, GOOD, "--device", "tpu"], 2, "unknown device"),
    CliCase("generate: unknown option", [*G, GOOD, "--turbo"], 2, "unrecognized"),
    # --- generate: checkpoints
    CliCase(
        "generate: checkpoint missing",
        ["generate", GOOD, "--lang", "bash", "--checkpoint", "{tmp}/nothing"],
        1,
        "nothing",
    ),
    CliCase(
        "generate: checkpoint a file",
        ["generate", GOOD, "--lang", "bash", "--checkpoint", "{tmp}/nl.txt"],
        1,
        "nl.txt",
        setup=_write("nl.txt", b"list files"),
    ),
    CliCase(
        "generate: config.json a FIFO",
        ["generate", GOOD, "--lang", "bash", "--checkpoint", "{tmp}/fifo"],
        1,
        "config.json",
        setup=_spoiled("fifo", spoil.fifo_config),
        expects="exit 1 at once (no hang), names config.json",
    ),
    CliCase(
        "generate: config.json not JSON",
        ["generate", GOOD, "--lang", "bash", "--checkpoint", "{tmp}/notjson"],
        1,
        "config.json",
        setup=_spoiled("notjson", lambda p: (p / "config.json").write_text("{oops")),
    ),
    CliCase(
        "generate: d_model 16384",
        ["generate", GOOD, "--lang", "bash", "--checkpoint", "{tmp}/big"],
        1,
        "do not match config.json",
        setup=_spoiled("big", spoil.big_model),
        expects="exit 1 before allocating anything: the weights' shapes do not match the config",
    ),
    CliCase(
        "generate: weights truncated",
        ["generate", GOOD, "--lang", "bash", "--checkpoint", "{tmp}/trunc"],
        1,
        "truncated",
        setup=_spoiled("trunc", spoil.truncate_weights),
    ),
    CliCase(
        "generate: weights missing",
        ["generate", GOOD, "--lang", "bash", "--checkpoint", "{tmp}/noweights"],
        1,
        "weights",
        setup=_spoiled("noweights", lambda p: spoil.weights(p).unlink()),
    ),
    CliCase(
        "generate: encoder with a pickled pytorch_model.bin",
        ["generate", GOOD, "--lang", "bash", "--checkpoint", "{tmp}/pickled"],
        1,
        "safetensors",
        setup=_spoiled("pickled", spoil.pickled_encoder),
        expects="exit 1, one line: encoders load from safetensors only",
    ),
    # --- generate: exemplars
    CliCase("generate: --exemplars missing", [*G, GOOD, "--exemplars", "{tmp}/none.jsonl"], 2, "none.jsonl"),
    CliCase(
        "generate: --exemplars not JSONL",
        [*G, GOOD, "--exemplars", "{tmp}/bad.jsonl"],
        1,
        "bad.jsonl:1: not json",
        setup=_write("bad.jsonl", b"this is not json\n"),
    ),
    CliCase(
        "generate: --exemplars binary",
        [*G, GOOD, "--exemplars", "{tmp}/bin.jsonl"],
        1,
        "bin.jsonl:1: not utf-8",
        setup=_write("bin.jsonl", bytes(range(256))),
    ),
    CliCase(
        "generate: --exemplars a 1 GiB file (sparse)",
        [*G, GOOD, "--exemplars", "{tmp}/huge.jsonl"],
        1,
        "huge.jsonl: 1.0 gib; an exemplar file may hold at most",
        setup=_sparse("huge.jsonl", 1 << 30),
        expects="exit 1, one line: refused by its size before a byte is read",
    ),
    CliCase(
        "generate: --exemplars JSON nested 100,000 deep",
        [*G, GOOD, "--exemplars", "{tmp}/deep.jsonl"],
        1,
        "deep.jsonl:1: not json (nested too deeply)",
        setup=_write("deep.jsonl", b"[" * 100_000 + b"]" * 100_000 + b"\n"),
    ),
    CliCase(
        "generate: --exemplars a 2 MiB line",
        [*G, GOOD, "--exemplars", "{tmp}/long.jsonl"],
        1,
        "long.jsonl:1: a line longer than 1 mib",
        setup=_write("long.jsonl", b'{"nl": "' + b"a" * (2 << 20) + b'"}\n'),
    ),
    # --- check
    CliCase(
        "check: rm -rf / is flagged dangerous",
        ["check", "rm -rf /", "--lang", "bash"],
        0,
        "warning: deletes / recursively",
        expects="exit 0 (it parses) and the same danger flag as generate",
    ),
    CliCase(
        "check: NOT( nested 250 deep",
        ["check", "=" + "NOT(" * 250 + "A1" + ")" * 250, "--lang", "cf"],
        1,
        "nested more than",
    ),
    CliCase(
        "check: bash $( nested 2000 deep",
        ["check", "echo " + "$(" * 2000 + "ls" + ")" * 2000, "--lang", "bash"],
        0,
        "tree-sitter says valid",
        expects="exit 0: valid Bash; bashlex's RecursionError is a note, not a crash",
    ),
    CliCase(
        "check: python parentheses 5000 deep",
        ["check", "x = " + "(" * 5000 + "1" + ")" * 5000, "--lang", "python"],
        0,
        "",
        expects="exit 0 (tree-sitter parses it), no RecursionError",
    ),
    CliCase("check: unclosed bash if", ["check", "if true; then echo", "--lang", "bash"], 1, "1:1: syntax error"),
    CliCase("check: empty code", ["check", "", "--lang", "bash"], 2, "no code to check"),
    CliCase(
        "check: invalid UTF-8 on stdin", ["check", "-", "--lang", "python"], 2, "not valid utf-8", stdin=b"x = '\xff'\n"
    ),
    CliCase(
        "check: NUL bytes in python on stdin", ["check", "-", "--lang", "python"], 1, "1:", stdin=b"x = 1\x00\x00\n"
    ),
    CliCase("check: --lang cobol", ["check", "x", "--lang", "cobol"], 2, "invalid choice"),
    # --- the other commands
    CliCase(
        "eval: --data missing",
        ["eval", "--checkpoint", "{ckpt}", "--data", "{tmp}/none.jsonl", "--out", "{tmp}/o"],
        1,
        "none.jsonl",
    ),
    CliCase(
        "eval: --data not JSONL",
        ["eval", "--checkpoint", "{ckpt}", "--data", "{tmp}/bad.jsonl", "--out", "{tmp}/o"],
        1,
        "bad.jsonl",
        setup=_write("bad.jsonl", b"{oops\n"),
    ),
    CliCase(
        "eval: -k 0",
        ["eval", "--checkpoint", "{ckpt}", "--data", "{tmp}/x.jsonl", "--out", "{tmp}/o", "-k", "0"],
        2,
        "must be at least 1",
        setup=_write("x.jsonl", b'{"nl": "list", "code": "ls", "lang": "bash"}\n'),
    ),
    CliCase("train: --data missing", ["train", "--data", "{tmp}/none.jsonl", "--out", "{tmp}/run"], 1, "none.jsonl"),
    CliCase(
        "train: unknown --config",
        ["train", "--config", "giant", "--data", "{tmp}/x.jsonl", "--out", "{tmp}/run"],
        2,
        "unknown config 'giant'",
        setup=_write("x.jsonl", b'{"nl": "list", "code": "ls", "lang": "bash"}\n'),
    ),
    CliCase(
        "train: --lr not a number",
        ["train", "--data", "{tmp}/x.jsonl", "--out", "{tmp}/run", "--lr", "fast"],
        2,
        "invalid float",
    ),
    CliCase(
        "diagnose: checkpoint missing",
        ["diagnose", "--checkpoint", "{tmp}/nothing", "--data", "{tmp}/x.jsonl"],
        1,
        "nothing",
        setup=_write("x.jsonl", b'{"nl": "list", "code": "ls", "lang": "bash"}\n'),
    ),
    CliCase(
        "calibrate: reports missing",
        ["calibrate", "--checkpoint", "{ckpt}", "--model-items", "{tmp}/m.jsonl", "--retrieval-items", "{tmp}/r.jsonl"],
        2,
        "m.jsonl: no such report file",
    ),
    CliCase(
        "card: eval folder missing",
        ["card", "--checkpoint", "{ckpt}", "--eval", "{tmp}/noeval", "--prefix", "x"],
        2,
        "noeval: no such folder",
    ),
    CliCase(
        "serve: beyond loopback without a token",
        ["serve", "--host", "0.0.0.0"],
        1,
        "needs --token",
        expects="exit 1 before Ray starts: listening beyond loopback needs a token",
    ),
    CliCase("serve: --replicas 0", ["serve", "--replicas", "0"], 2, "--replicas must be at least 1"),
    CliCase("serve: --port not a number", ["serve", "--port", "http"], 2, "invalid int"),
    CliCase("unknown subcommand", ["fly"], 2, "invalid choice"),
    CliCase("no subcommand", [], 2, "usage"),
    CliCase("--version", ["--version"], 0, "codefusion"),
    # --- the language server's command line
    CliCase("codefusion-lsp: --tcp without a port", ["--tcp", "localhost"], 2, "HOST:PORT", program="codefusion-lsp"),
    CliCase(
        "codefusion-lsp: --tcp beyond loopback without a token",
        ["--tcp", "0.0.0.0:1"],
        1,
        "needs --token",
        program="codefusion-lsp",
    ),
    CliCase("codefusion-lsp: unknown option", ["--turbo"], 2, "unrecognized", program="codefusion-lsp"),
    CliCase(
        "codefusion-lsp: --max-message-mib 0",
        ["--max-message-mib", "0"],
        2,
        "--max-message-mib must be in",
        program="codefusion-lsp",
    ),
    CliCase("codefusion-lsp: --version", ["--version"], 0, "codefusion-lsp", program="codefusion-lsp"),
]
