"""Training data: NL->code JSONL pairs, unannotated pre-training code, default paths."""

from __future__ import annotations

import json
import random
import sys
import sysconfig
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path

from engine.errors import DataError, EngineError
from engine.schema import LANGUAGES, MAX_REQUEST_CHARS


@dataclass
class Example:
    nl: str  # the request ("" for unannotated pre-training code)
    code: str
    lang: str
    kd: str = ""  # a distilled program (a teacher's, scripts/research/kd_targets.py): the target of rows trained
    #   without exemplars, so the no-bank path learns one mode per request; "" = code


def default_data_dir() -> Path | None:
    """../shared/data beside the project, when it exists; none when $CODEFUSION_DATA is "none" (what a pip
    install sees: no training files; scripts/bench_cli.py measures so)."""
    import os

    if os.environ.get("CODEFUSION_DATA") == "none":
        return None
    p = Path(__file__).resolve().parent.parent.parent / "shared" / "data"
    return p if p.is_dir() else None


def read_jsonl(path, max_line: int | None = None) -> Iterator[tuple[int, dict]]:
    """(line number, record) for each non-blank line of a JSONL file (the one JSONL reader).
    Read as bytes, a line at a time: `max_line` (bytes) bounds what one line may cost -- a longer one
    is a DataError after reading only that much. Every problem is a DataError naming file and line."""
    with open(path, "rb") as fh:
        yield from _records(fh, path, max_line)  # type: ignore[misc]  # no None without max_lines


def _records(fh, path, max_line: int | None, max_lines: int | None = None) -> Iterator[tuple[int, dict | None]]:
    """(line number, record); past `max_lines` lines (blank ones too), one (line number, None) and the end."""
    n = 0
    while True:
        raw = fh.readline() if max_line is None else fh.readline(max_line + 1)
        if not raw:
            return
        n += 1
        if max_lines is not None and n > max_lines:
            yield n, None
            return
        if max_line is not None and len(raw) > max_line and not (len(raw) == max_line + 1 and raw.endswith(b"\n")):
            raise DataError(f"{path}:{n}: a line longer than {_size(max_line)}")
        try:
            line = raw.decode("utf-8")
        except UnicodeDecodeError:
            raise DataError(f"{path}:{n}: not UTF-8 text") from None
        if not line.strip():
            continue
        try:
            rec = json.loads(line)
        except json.JSONDecodeError as e:
            raise DataError(f"{path}:{n}: not JSON ({e.msg})") from None
        except RecursionError:
            raise DataError(f"{path}:{n}: not JSON (nested too deeply)") from None
        except ValueError as e:  # e.g. an integer of more digits than int() takes
            raise DataError(f"{path}:{n}: not JSON ({str(e).splitlines()[0][:100]})") from None
        if not isinstance(rec, dict):
            raise DataError(f"{path}:{n}: not a JSON object")
        yield n, rec


def _size(n: float) -> str:
    """Bytes, readable: 1 MiB, 64 MiB, 1.0 GiB."""
    if n >= 1 << 30:
        return f"{n / (1 << 30):.1f} GiB"
    if n >= 1 << 20:
        return f"{n / (1 << 20):.0f} MiB"
    return f"{n / 1024:.0f} KiB" if n >= 1024 else f"{int(n)} bytes"


@dataclass(frozen=True)
class BankLimits:
    """What one user exemplar file (codefusion.exemplarFiles, --exemplars, a daemon's or engine's
    bank) may cost, whoever wrote it: a larger file or a longer line is refused; past max_lines lines
    or max_records records the rest is ignored, and the caller is told. Every record is embedded
    and TF-IDF-vectorised, so the record cap bounds the bank's memory and first-load time. Measured
    with engine.banks.exemplar_bank on generated files of distinct one-line records (the 2-core CPU,
    busy, one torch thread): the shipped model, which also embeds them, took 10.0 and 14.1 s (two runs)
    and 156-167 MB of peak RSS over 5,000 records, 22.9 s and 235 MB over 10,000; from its vector
    cache the same 5,000 took 0.8 s. The tiny test model (TF-IDF only) 1.3 s and 98 MB over
    10,000, 9.9 s and 361 MB over 100,000. Reading 1,000,000 lines of `{}` takes about 2 s
    (tests/badinput/test_bank_bad_input.py)."""

    max_bytes: int = 64 << 20
    max_line: int = 1 << 20
    max_lines: int = 1_000_000
    max_records: int = 5_000
    max_nl: int = MAX_REQUEST_CHARS  # characters of a record's NL that are kept: what a request may hold


BANK_LIMITS = BankLimits()


def read_exemplar_files(
    files: Iterable,
    limits: BankLimits = BANK_LIMITS,
    notes: list | None = None,
    skip_bad: bool = False,
    _stated: BankLimits | None = None,
) -> list[dict]:
    """The records of user exemplar files (JSONL of nl, code, lang), each with its provenance
    ("file": the path as given, "line": 1-based), within `limits` over all the files together.
    A file that is missing, not a regular file, too large, not UTF-8 or not JSONL, or that holds a
    line over the limit, is refused: DataError, one line naming the file (and the line); with
    `skip_bad` it is left out instead (its records too) and the refusal goes to `notes`, so that one
    bad file does not cost the others. What was cut (lines or records past the limits) is said in
    one line appended to `notes`."""
    if skip_bad:
        out: list[dict] = []
        for f in files:
            left = BankLimits(
                limits.max_bytes, limits.max_line, limits.max_lines, limits.max_records - len(out), limits.max_nl
            )
            try:
                out += read_exemplar_files([f], left, notes, _stated=limits)
            except ValueError as exc:  # DataError, or not found
                _note(notes, f"{str(exc).splitlines()[0] if str(exc) else type(exc).__name__}; the file is not used")
        return out
    out = []
    lines_left = limits.max_lines
    for f in files:
        if len(out) >= limits.max_records or lines_left <= 0:
            _note(notes, f"{f}: not read (the exemplar bank's limits are reached by the files before it)")
            continue
        path = Path(f)
        try:
            st = path.stat()
        except OSError:  # a ValueError, not a DataError: the command line's usage error (exit 2), as before
            raise ValueError(f"exemplar file(s) not found: {f}") from None
        if not path.is_file():
            raise DataError(f"{f}: not a regular file")
        if st.st_size > limits.max_bytes:
            raise DataError(
                f"{f}: {_size(st.st_size)}; an exemplar file may hold at most {_size(limits.max_bytes)} (refused)"
            )
        cut = None
        read = 0
        with open(path, "rb") as fh:
            _sniff(fh, f)
            for n, rec in _records(fh, f, limits.max_line, lines_left):
                read = n
                if rec is None:
                    cut = f"the first {lines_left:,} lines"
                    break
                if fh.tell() > limits.max_bytes:  # a file that grew, or one whose size the system does not say
                    cut = f"the first {_size(limits.max_bytes)}"
                    break
                nl, code = rec.get("nl"), rec.get("code")
                if not isinstance(nl, str) or not isinstance(code, str):
                    continue
                if len(out) >= limits.max_records:
                    cut = f"{limits.max_records:,} records"
                    break
                out.append(
                    {"nl": nl[: limits.max_nl], "code": code, "lang": rec.get("lang"), "file": str(f), "line": n}
                )
        lines_left -= min(read, lines_left) if cut is None or cut.endswith("lines") else read
        if cut is not None:
            stated = _stated or limits  # the limits of the whole bank, not of what was left for this file
            message = (
                f"{f}: read {cut}; the rest is ignored (exemplar banks are limited to {stated.max_records:,} "
                f"records, {stated.max_lines:,} lines, {_size(stated.max_bytes)} a file)"
            )
            _note(notes, message)
    return out


SNIFF_BYTES = 64 << 10


def _sniff(fh, path) -> None:
    """A binary file is refused before it is parsed: a NUL byte or bytes that are not UTF-8 in its first
    64 KiB (a DataError naming the line); the file is then read from its start."""
    import codecs

    head = fh.read(SNIFF_BYTES)
    fh.seek(0)
    nul = head.find(b"\0")
    if nul >= 0:
        line = head.count(b"\n", 0, nul) + 1
        raise DataError(f"{path}:{line}: not UTF-8 text (a NUL byte: a binary file?)")
    try:
        codecs.getincrementaldecoder("utf-8")().decode(head, final=False)
    except UnicodeDecodeError as e:
        line = head.count(b"\n", 0, e.start) + 1
        raise DataError(f"{path}:{line}: not UTF-8 text") from None


def _note(notes: list | None, message: str) -> None:
    if notes is not None:
        notes.append(message)
    else:
        log(message)


def data_name(p) -> str:
    """How a checkpoint names a data file: relative to $CODEFUSION_DATA or the default data
    directory when it lies under one (so the name resolves on another machine), else as given."""
    import os

    path = Path(p).resolve()
    for root in (os.environ.get("CODEFUSION_DATA"), default_data_dir()):
        if root:
            try:
                return str(path.relative_to(Path(root).resolve()))
            except ValueError:
                pass
    return str(p)


def resolve_data_path(p: str) -> Path | None:
    """A data file named in a checkpoint: an existing absolute path, or a path relative to
    $CODEFUSION_DATA or the default data directory (checkpoints store relative names)."""
    import os

    path = Path(p)
    if path.is_absolute():
        return path if path.exists() else None
    for root in (os.environ.get("CODEFUSION_DATA"), default_data_dir()):
        if root and (Path(root) / path).exists():
            return Path(root) / path
    return path if path.exists() else None


def load_pairs(files: Iterable, lang: str | None = None) -> list[Example]:
    """Read JSONL files of {"nl", "code", "lang"} records (and an optional "kd", see Example). Rows
    without nl or code are skipped."""
    out: list[Example] = []
    for f in files:
        path = Path(f)
        if not path.exists():
            raise EngineError(f"{path}: data file not found")
        for n, rec in read_jsonl(path):
            nl, code = rec.get("nl"), rec.get("code")
            lg = lang or rec.get("lang")
            if not isinstance(nl, str) or not isinstance(code, str) or not nl.strip() or not code.strip():
                continue
            if lg not in LANGUAGES:
                raise EngineError(f"{path}:{n}: unknown or missing lang '{lg}' (use --lang)")
            kd = rec.get("kd")
            out.append(Example(nl.strip(), code, lg, kd if isinstance(kd, str) and kd.strip() else ""))
    return out


def load_pretrain(specs: Iterable[str], max_per_lang: int = 50_000, seed: int = 0) -> list[Example]:
    """Unannotated code. Each spec is LANG=PATH (one snippet a line) or python=stdlib
    (the running interpreter's standard-library source, cut into short chunks)."""
    rng = random.Random(seed)
    out: list[Example] = []
    for spec in specs:
        if "=" not in spec:
            raise EngineError(f"pretrain corpus '{spec}': expected LANG=PATH or python=stdlib")
        lang, src = spec.split("=", 1)
        if lang not in LANGUAGES:
            raise EngineError(f"pretrain corpus '{spec}': unknown language '{lang}'")
        if lang == "python" and src == "stdlib":
            snippets = list(stdlib_snippets())
        else:
            path = Path(src)
            if not path.exists():
                raise EngineError(f"{path}: pre-training corpus not found")
            snippets = [ln.rstrip("\n") for ln in path.open(encoding="utf-8", errors="replace")]
        snippets = [s for s in dict.fromkeys(snippets) if s.strip()]  # distinct, non-blank
        rng.shuffle(snippets)
        out += [Example("", s, lang) for s in snippets[:max_per_lang]]
    return out


def stdlib_snippets(max_lines: int = 4, max_chars: int = 160) -> Iterable[str]:
    """Short, self-contained chunks of the standard library: statements of up to max_lines."""
    root = Path(sysconfig.get_paths()["stdlib"])
    for f in sorted(root.glob("*.py")):
        try:
            lines = f.read_text(encoding="utf-8").splitlines()
        except (UnicodeDecodeError, OSError):
            continue
        chunk: list[str] = []
        for ln in lines:
            s = ln.strip()
            if not s or s.startswith("#"):
                if chunk:
                    text = "\n".join(chunk)
                    if len(text) <= max_chars:
                        yield _dedent(text)
                    chunk = []
                continue
            chunk.append(ln)
            if len(chunk) >= max_lines:
                text = "\n".join(chunk)
                if len(text) <= max_chars and not text.rstrip().endswith((":", ",", "(", "\\")):
                    yield _dedent(text)
                chunk = []


def _dedent(text: str) -> str:
    import textwrap

    return textwrap.dedent(text)


def language_weights(examples: list[Example], alpha: float = 0.5) -> list[float]:
    """Sampling weights that up-weight small languages: p(lang) ~ n_lang^alpha."""
    counts: dict[str, int] = {}
    for e in examples:
        counts[e.lang] = counts.get(e.lang, 0) + 1
    total = sum(n**alpha for n in counts.values())
    return [(counts[e.lang] ** alpha / total) / counts[e.lang] for e in examples]


def log(msg: str) -> None:
    print(msg, file=sys.stderr, flush=True)
