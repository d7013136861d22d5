"""Per-language normalisation of candidate code (used by the pipeline and the metrics).

* all: strip leading/trailing whitespace.
* bash and python: typographic characters outside string literals, comments and heredoc bodies
  become their ASCII forms (`ascii_typography`): curly quotes ‘ ’ “ ” (a curly pair quotes like an
  ASCII pair), dashes – — and minus −, non-breaking and other Unicode spaces, the ellipsis …;
  zero-width characters go. A shell does not read ‘s/a/b/’ as a quoted word, nor Python “x” as a
  string. Inside ASCII-quoted strings they are data and stay.
* bash: collapse runs of spaces/tabs outside quotes (and heredoc bodies) into one space;
  line breaks are kept (they separate commands).
* python: keep indentation; strip trailing whitespace on each line and drop trailing blank lines.
* cf: print the parse tree canonically (no spaces after commas outside text); rules that do
  not parse only lose the spaces after commas outside quoted text.
"""

from __future__ import annotations

import re

_SINGLE = "‘’‚‛′"  # curly single quotes (and the prime autocorrect gives for ')
_DOUBLE = "“”„‟″"  # curly double quotes (and the double prime)
_ASCII = {
    **{c: "'" for c in _SINGLE},
    **{c: '"' for c in _DOUBLE},
    "–": "-",
    "‐": "-",
    "‑": "-",
    "‒": "-",
    "−": "-",  # en dash, hyphens, figure dash, minus
    "—": "--",
    "―": "--",  # em dash, horizontal bar: what autocorrect makes of "--"
    "…": "...",
    **{
        c: " "
        for c in "\u00a0\u1680\u2000\u2001\u2002\u2003\u2004\u2005\u2006\u2007\u2008\u2009\u200a\u202f\u205f\u3000"
    },
    **{c: "" for c in "\u200b\u200c\u200d\u2060\ufeff"},  # zero-width spaces and joiners, BOM
}
_TYPOGRAPHIC = re.compile("[" + "".join(_ASCII) + "]")
_HEREDOC = re.compile(r"""<<-?\s*(['"]?)(\w+)\1""")


def ascii_typography(code: str, lang: str) -> str:
    """`code` with its typographic characters outside literals, comments and heredoc bodies replaced by
    ASCII (the module docstring); bash and python only, other languages unchanged."""
    if lang not in ("bash", "python") or not _TYPOGRAPHIC.search(code):
        return code
    out: list[str] = []
    quote = ""  # the open string's ASCII delimiter ('"""' for a triple-quoted Python string)
    curly = ""  # the typographic quotes that close it when a typographic quote opened it
    i, n = 0, len(code)
    heredocs: list[str] = []  # bash: terminators of heredocs whose bodies start on the next line
    while i < n:
        ch = code[i]
        if quote:  # inside a string: data, except for the quote that closes it
            if ch == "\n" and lang == "python" and len(quote) == 1:
                quote = curly = ""  # an unterminated one-line string ends with its line
                continue
            if ch == "\\" and quote != "'" or (ch == "\\" and lang == "python"):
                out.append(code[i : i + 2])
                i += 2
                continue
            if curly and ch in curly:
                out.append(quote)
                quote = curly = ""
            elif not curly and code.startswith(quote, i):
                out.append(quote)
                i += len(quote)
                quote = ""
                continue
            else:
                out.append(ch)
            i += 1
            continue
        if ch == "#" and (lang == "python" or not out or out[-1][-1:] in ("", " ", "\t", "\n", ";", "(")):
            end = code.find("\n", i)
            end = n if end < 0 else end
            out.append(code[i:end])  # a comment: data
            i = end
            continue
        if ch == "\n" and heredocs:
            out.append("\n")
            i += 1
            for word in heredocs:  # the bodies, byte for byte, up to their terminator lines
                while i < n:
                    end = code.find("\n", i)
                    end = n if end < 0 else end + 1
                    line = code[i:end]
                    out.append(line)
                    i = end
                    if line.strip() == word:
                        break
            heredocs = []
            continue
        if lang == "bash" and ch == "<":
            if code.startswith("<<<", i):  # a here-string, not a heredoc
                out.append("<<<")
                i += 3
                continue
            m = _HEREDOC.match(code, i)
            if m:
                heredocs.append(m.group(2))
                out.append(m.group(0))
                i = m.end()
                continue
        if ch == "\\":
            out.append(code[i : i + 2])
            i += 2
            continue
        if ch in "'\"":
            quote = code[i : i + 3] if lang == "python" and code.startswith(ch * 3, i) else ch
            out.append(quote)
            i += len(quote)
            continue
        if ch in _SINGLE or ch in _DOUBLE:  # a typographic quote opens a string the same family closes
            quote, curly = _ASCII[ch], (_SINGLE if ch in _SINGLE else _DOUBLE)
            out.append(quote)
            i += 1
            continue
        out.append(_ASCII.get(ch, ch))
        i += 1
    return "".join(out)


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
    code = ascii_typography(code.strip(), lang).strip()
    if lang == "bash":
        return _collapse_bash(code)
    if lang == "python":
        lines = [line.rstrip() for line in code.split("\n")]
        return "\n".join(lines).rstrip()
    if lang == "cf":
        from grammar.cf import normalize_cf

        return normalize_cf(code)
    raise ValueError(f"unknown language {lang!r}")
