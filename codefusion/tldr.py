"""Bash exemplar banks from tldr-pages (CC BY 4.0): the one the wheel ships, and one from a checkout.

The CodeFusion training files may not be redistributed; tldr-pages may, with its attribution. The
wheel ships a bank built from the converted files in ../shared/data/bash (tldr-train + tldr-dev, every
page, at tldr commit 08e345f4): `build_shipped` (python scripts/build_shipped_bank.py) writes
codefusion_bank/ (rows, the precomputed TF-IDF and sentence vectors, a manifest; engine/banks.py).
A newer checkout converts the same way into a JSONL file a user names in `codefusion.exemplarFiles`:

    git clone --depth 1 https://github.com/tldr-pages/tldr
    codefusion bank --tldr tldr --out ~/.codefusion/tldr.jsonl

The rows are those of ../shared/data/bash/tldr-*.jsonl (see its README): each `- description:` line
with the `` `command` `` line after it; the description loses its trailing colon and tldr's
mnemonic brackets (`[c]reate a g[z]ipped archive` -> `create a gzipped archive`); the command is
rendered as the tldr client spec says (`{{path/to/file}}` -> `path/to/file`, option placeholders
`{{[-s|--long]}}` -> `--long`, `\\{\\{` -> `{{`). Identical (nl, code) pairs are kept once.
Attribution: tldr-pages team and contributors, https://github.com/tldr-pages/tldr.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Iterator
from pathlib import Path

from engine.data import read_jsonl

PLATFORMS = ("common", "linux", "osx")  # English pages a Bash user runs; others are Windows, Android, ...
ATTRIBUTION = "tldr-pages team and contributors (CC BY 4.0), https://github.com/tldr-pages/tldr"

# a mnemonic: one letter or digit in brackets anywhere (`([g])`, `IPv[4]`), or letters touching a letter
_MNEMONIC = re.compile(r"\[([A-Za-z0-9])\]|\[([A-Za-z]+)\](?=[A-Za-z])|(?<=[A-Za-z])\[([A-Za-z]+)\]")
_PLACEHOLDER = re.compile(r"\{\{(.+?)\}\}(?!\})")
_OPEN, _CLOSE = "\x00", "\x01"  # stand-ins for escaped braces while placeholders are rendered


class TldrError(ValueError):
    """A folder that is not a tldr-pages checkout (no pages/<platform>/*.md)."""


def description(line: str) -> str:
    """`- [c]reate a g[z]ipped archive:` -> `create a gzipped archive`."""
    text = line[1:].strip() if line.startswith("-") else line.strip()
    if text.endswith(":"):
        text = text[:-1].rstrip()
    return _MNEMONIC.sub(lambda m: m.group(1) or m.group(2) or m.group(3), text)


def _placeholder(m: re.Match) -> str:
    inner = m.group(1)
    if inner.startswith("[") and inner.endswith("]") and "|" in inner:  # {{[-s|--long]}}: the long form
        return inner[1:-1].split("|")[-1]  # (of several, the last: a command that runs as written)
    return inner


def command(line: str) -> str:
    """`` `tar czf {{path/to/target.tar.gz}} {{[-C|--directory]}} dir` `` -> the command a user types."""
    text = line.strip()
    if text.startswith("`") and text.endswith("`") and len(text) >= 2:
        text = text[1:-1]
    text = text.replace("\\{\\{", _OPEN + _OPEN).replace("\\}\\}", _CLOSE + _CLOSE)
    text = _PLACEHOLDER.sub(_placeholder, text)
    return text.replace(_OPEN, "{").replace(_CLOSE, "}")


def parse_page(text: str) -> Iterator[tuple[str, str]]:
    """(nl, code) for each example of one page: a `- ` line, then (blank lines aside) a `` ` `` line."""
    pending = None
    for raw in text.splitlines():
        line = raw.strip()
        if not line:
            continue
        if line.startswith("- "):
            pending = description(line)
        elif line.startswith("`") and pending is not None:
            code = command(line)
            if pending and code.strip():
                yield pending, code
            pending = None
        else:
            pending = None


def records(root: Path, platforms: Iterable[str] = PLATFORMS) -> Iterator[dict]:
    """Bank rows for every English page of the platforms, in file-name order, each pair once."""
    root = Path(root)
    pages = root / "pages"
    if not pages.is_dir():
        raise TldrError(f"{root}: not a tldr-pages checkout (no pages/ folder)")
    seen: set[tuple[str, str]] = set()
    found = False
    for platform in platforms:
        folder = pages / platform
        if not folder.is_dir():
            continue
        for page in sorted(folder.glob("*.md")):
            found = True
            for nl, code in parse_page(page.read_text(encoding="utf-8", errors="replace")):
                if (nl, code) in seen:
                    continue
                seen.add((nl, code))
                yield {
                    "nl": nl,
                    "code": code,
                    "lang": "bash",
                    "source": "tldr",
                    "page": page.stem,
                    "platform": platform,
                }
    if not found:
        raise TldrError(f"{root}: no pages under pages/{{{','.join(platforms)}}}/*.md")


def write(root: Path, out: Path, platforms: Iterable[str] = PLATFORMS) -> int:
    """Convert a checkout into a JSONL bank at `out`; returns the number of rows."""
    rows = list(records(root, platforms))
    out = Path(out).expanduser()
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = out.with_name(out.name + ".tmp")
    with tmp.open("w", encoding="utf-8") as fh:
        for r in rows:
            fh.write(json.dumps(r, ensure_ascii=False) + "\n")
    tmp.replace(out)
    return len(rows)


def shipped_rows(files: Iterable[Path]) -> list[dict]:
    """The rows of converted tldr JSONL files (nl, code, page, platform), in file order, each (nl, code)
    pair once; a clear error for a file that is not one."""
    rows, seen = [], set()
    for f in files:
        for n, rec in read_jsonl(f):
            nl, code, page = rec.get("nl"), rec.get("code"), rec.get("page")
            if not (isinstance(nl, str) and isinstance(code, str) and isinstance(page, str)) or not nl.strip():
                raise TldrError(f"{f}:{n}: not a converted tldr row (needs nl, code and page)")
            if (nl, code) not in seen:
                seen.add((nl, code))
                rows.append(
                    {
                        "nl": nl,
                        "code": code,
                        "lang": "bash",
                        "source": "tldr",
                        "page": page,
                        "platform": rec.get("platform") if isinstance(rec.get("platform"), str) else "common",
                    }
                )
    if not rows:
        raise TldrError("no tldr rows in " + ", ".join(map(str, files)))
    return rows


def build_shipped(files: Iterable[Path], out: Path) -> dict:
    """Build the shipped bank (engine.banks.build) from converted tldr JSONL files into `out`, with
    its attribution and licence beside it; returns the manifest."""
    from engine.banks import build  # lazy: numpy, not at start-up

    files = [Path(f) for f in files]
    return build(shipped_rows(files), Path(out))
