"""Training data: NL->code JSONL pairs, unannotated pre-training code, default paths."""
from __future__ import annotations

import json
import random
import sys
import sysconfig
from dataclasses import dataclass
from pathlib import Path
from typing import Iterable, Iterator, Optional

from engine.api import EngineError, LANGUAGES


@dataclass
class Example:
    nl: str  # the request ("" for unannotated pre-training code)
    code: str
    lang: str


def default_data_dir() -> Optional[Path]:
    """../shared/data beside the project, when it exists."""
    p = Path(__file__).resolve().parent.parent.parent / "shared" / "data"
    return p if p.is_dir() else None


class DataError(EngineError, ValueError):
    """A data file that cannot be read as JSONL; the message names the file and line."""


def read_jsonl(path) -> Iterator[tuple[int, dict]]:
    """(line number, record) for each non-blank line of a JSONL file (the one JSONL reader)."""
    with open(path, encoding="utf-8") as fh:
        n = 0
        while True:
            try:
                line = fh.readline()
            except UnicodeDecodeError:
                raise DataError(f"{path}:{n + 1}: not UTF-8 text") from None
            if not line:
                break
            n += 1
            if not line.strip():
                continue
            try:
                rec = json.loads(line)
            except json.JSONDecodeError as e:
                raise DataError(f"{path}:{n}: not JSON ({e.msg})") from None
            if not isinstance(rec, dict):
                raise DataError(f"{path}:{n}: not a JSON object")
            yield n, rec


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


def resolve_data_path(p: str) -> Optional[Path]:
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


def load_pairs(files: Iterable, lang: Optional[str] = None) -> list[Example]:
    """Read JSONL files of {"nl", "code", "lang"} records. Rows without nl or code are skipped."""
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
            out.append(Example(nl.strip(), code, lg))
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
    total = sum(n ** alpha for n in counts.values())
    return [(counts[e.lang] ** alpha / total) / counts[e.lang] for e in examples]


def log(msg: str) -> None:
    print(msg, file=sys.stderr, flush=True)
