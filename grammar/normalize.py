"""Per-language normalisation of candidate code (used by the pipeline and the metrics).

* all: strip leading/trailing whitespace.
* bash: collapse runs of spaces/tabs outside quotes (and heredoc bodies) into one space;
  line breaks are kept (they separate commands).
* python: keep indentation; strip trailing whitespace on each line and drop trailing blank lines.
* cf: print the parse tree canonically (no spaces after commas outside text); rules that do
  not parse only lose the spaces after commas outside quoted text.
"""
from __future__ import annotations


def _collapse_bash(code: str) -> str:
    if "<<" in code:  # heredoc bodies are data: keep them byte for byte
        return code
    out: list[str] = []
    quote = ""
    escaped = False
    pending_space = False
    for ch in code:
        if quote:
            out.append(ch)
            if escaped:
                escaped = False
            elif ch == "\\" and quote == '"':
                escaped = True
            elif ch == quote:
                quote = ""
            continue
        if escaped:
            out.append(ch)
            escaped = False
            continue
        if ch in " \t":
            pending_space = True
            continue
        if pending_space and out and out[-1] != "\n" and ch != "\n":
            out.append(" ")
        pending_space = False
        if ch == "\\":
            escaped = True
        elif ch in "'\"`":
            quote = ch
        out.append(ch)
    return "".join(out)


def normalize(code: str, lang: str) -> str:
    code = code.strip()
    if lang == "bash":
        return _collapse_bash(code)
    if lang == "python":
        lines = [line.rstrip() for line in code.split("\n")]
        return "\n".join(lines).rstrip()
    if lang == "cf":
        from grammar.cf import normalize_cf

        return normalize_cf(code)
    raise ValueError(f"unknown language {lang!r}")
