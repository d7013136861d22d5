"""Literal slots: the request's file names, numbers, quoted strings and URLs reach the program by copy.

Tellina (Lin et al. 2018) for NL2Bash: literals of the request are replaced by typed slots in
training targets, the model learns templates, and the slots are filled back from the request
after generation. A model trained with `ModelConfig.literal_slots` sees and writes

    NL   "print the last 20 lines of server.log"   ->  "print the last NUM0 lines of FILE0"
    code "tail -n 20 server.log"                   ->  "tail -n NUM0 FILE0"

and `fill` turns its program back into the user's command. Rare tokens (ports, paths, patterns)
then leave the vocabulary, and the model's capacity goes to the utilities and flags.

Pure functions, no model and no I/O: `find_literals` (what counts as a literal), `slot_request`
(the NL at sampling time), `slot_pair` (a training pair), `fill` (the program after sampling).
"""

from __future__ import annotations

import re
from dataclasses import dataclass

KINDS = ("STR", "URL", "FILE", "NUM")  # slot names: KIND + index in order of appearance, e.g. FILE0

# common file extensions a bare name may carry ("server.log"); a glob ("*.foo") or a path ("/x", "~/x",
# "./x") needs none of them
_EXTS = (
    "log txt json py csv gz tgz tar zip bz2 xz 7z sh bash zsh md conf cfg ini yaml yml xml html htm js ts "
    "css c h cc cpp hpp java class jar war go rs rb pl php swift kt sql db sqlite bak tmp old out err pid so o "
    "a iso img bin dat jpg jpeg png gif svg bmp ico pdf doc docx xls xlsx ppt pptx odt mp3 mp4 wav avi mkv mov "
    "flac ogg webm deb rpm properties toml lock env pem key crt csr pub gpg asc tex bib rst ipynb pyc whl "
    "npy npz pkl pickle h5 parquet tsv list repo service socket desktop mount timer cnf vim lua r m"
).split()
_EXT_RE = "|".join(sorted(_EXTS, key=len, reverse=True))

_QUOTED = re.compile(
    r"""(?<![\w])(?:"([^"\n]{1,200})"|'([^'\n]{1,200})'|`([^`\n]{1,200})`|“([^”\n]{1,200})”|‘([^’\n]{1,200})’)"""
)
_URL = re.compile(r"\b(?:https?|ftp)://[^\s'\"<>]+[^\s'\".,;:!?)<>]")
_IP = re.compile(r"(?<![\w.])\d{1,3}(?:\.\d{1,3}){3}(?::\d+)?(?![\w.])")
# a path: starts with / ~ ./ ../ and has at least one more character; or a name with a known extension;
# or a glob with an extension (*.txt, file_*.csv)
_PATH = re.compile(
    r"(?<![\w/~.*-])(?:(?:~|\.{1,2})?/[\w.@%+=:,*?~-]+(?:/[\w.@%+=:,*?~-]*)*|~"
    r"|[\w*?-][\w.*?-]*\.(?:" + _EXT_RE + r")(?:\.(?:" + _EXT_RE + r"))?"
    r"|\*[\w.*?-]*)(?![\w])"
)
_NUM = re.compile(r"(?<![\w.-])\d+(?:\.\d+)?(?![\d.]?\d)(?=[a-zA-Z%]{0,3}\b|[^\w.]|$)")
_SLOT = re.compile(r"(?<![A-Za-z0-9])(" + "|".join(KINDS) + r")(\d)(?!\d)")  # "+NUM0k" is a slot too
_TRAIL = ".,;:!?)"  # sentence punctuation a path match must not swallow


@dataclass(frozen=True)
class Literal:
    kind: str  # one of KINDS
    text: str  # as it appears in the request (quotes stripped)
    start: int  # span of the whole match in the request (quotes included)
    end: int

    def slot(self, index: int) -> str:
        return f"{self.kind}{index}"


def find_literals(nl: str) -> list[Literal]:
    """The literals of a request, left to right, non-overlapping; earlier kinds in KINDS win."""
    taken: list[tuple[int, int]] = []
    found: list[Literal] = []

    def free(a: int, b: int) -> bool:
        return all(b <= s or a >= e for s, e in taken)

    def add(kind: str, text: str, a: int, b: int) -> None:
        if text and free(a, b):
            taken.append((a, b))
            found.append(Literal(kind, text, a, b))

    for m in _QUOTED.finditer(nl):
        text = next(g for g in m.groups() if g is not None)
        if text.strip():
            add("STR", text, m.start(), m.end())
    for m in _URL.finditer(nl):
        add("URL", m.group(0), m.start(), m.end())
    for m in _IP.finditer(nl):
        add("STR", m.group(0), m.start(), m.end())
    for m in _PATH.finditer(nl):
        text, b = m.group(0), m.end()
        while text and text[-1] in _TRAIL and len(text) > 1:
            text, b = text[:-1], b - 1
        if text in ("*", "~") or (text.startswith("*") and len(text) < 2):
            continue
        add("FILE", text, m.start(), b)
    for m in _NUM.finditer(nl):
        add("NUM", m.group(0), m.start(), m.end())
    return sorted(found, key=lambda lit: lit.start)


def _numbered(lits: list[Literal]) -> list[tuple[Literal, str]]:
    """Each literal with its slot name; the same text of the same kind shares one slot."""
    seen: dict[tuple[str, str], str] = {}
    counts: dict[str, int] = {}
    out = []
    for lit in lits:
        key = (lit.kind, lit.text)
        if key not in seen:
            if counts.get(lit.kind, 0) >= 10:  # slots are one digit
                continue
            seen[key] = lit.slot(counts.get(lit.kind, 0))
            counts[lit.kind] = counts.get(lit.kind, 0) + 1
        out.append((lit, seen[key]))
    return out


def slot_request(nl: str) -> tuple[str, dict[str, str]]:
    """The request with its literals replaced by slots, and {slot: literal text}."""
    pairs = _numbered(find_literals(nl))
    out, pos = [], 0
    for lit, slot in pairs:
        out.append(nl[pos : lit.start])
        out.append(slot)
        pos = lit.end
    out.append(nl[pos:])
    return "".join(out), {slot: lit.text for lit, slot in pairs}


def code_pattern(text: str, kind: str) -> re.Pattern:
    """Where a literal stands in code: the same text, not inside a longer word or number."""
    body = re.escape(text)
    if kind == "NUM":  # "10" in "-size +10M" and "-mtime -10", not in "100" or "1.0"
        return re.compile(r"(?<![\w.])" + body + r"(?![\d]|\.\d)")
    return re.compile(r"(?<![\w.\-/}$])" + body + r"(?![\w])")


def slot_pair(nl: str, code: str) -> tuple[str, str, dict[str, str]]:
    """A training pair with the request's literals slotted on both sides (where the code has them)."""
    slotted_nl, table = slot_request(nl)
    # longer literals first, so "a.txt" is not cut by a NUM or a shorter path inside it
    for slot, text in sorted(table.items(), key=lambda kv: -len(kv[1])):
        code = code_pattern(text, slot[:-1]).sub(slot, code)
    return slotted_nl, code, table


def fill(code: str, table: dict[str, str]) -> str:
    """The program with its slots replaced by the request's literals (an unknown slot stays as it is)."""
    if not table:
        return code
    return _SLOT.sub(lambda m: table.get(m.group(0), m.group(0)), code)


def unfilled(code: str) -> list[str]:
    """The slots left in a program (the model wrote a slot the request has no literal for)."""
    return [m.group(0) for m in _SLOT.finditer(code)]


def request_literals_in(nl: str, code: str) -> set[str]:
    """The request's literals that a program contains. Argument recall of a candidate on an item is
    |request_literals_in(nl, candidate) & request_literals_in(nl, reference)| / |... reference|."""
    table = slot_request(nl)[1]
    return {t for slot, t in table.items() if code_pattern(t, slot[:-1]).search(code)}


# placeholders of template programs (tldr-pages writes `tail --lines count path/to/file`), by the kind of
# literal that takes their place
PLACEHOLDERS = {
    "FILE": re.compile(
        r"(?<![\w/.-])(?:(?:\.\./|\./|~/|/)?path/to/[\w./*-]*|[a-z]+_(?:file|files|directory|dir|folder|path)\d?"
        r"|(?:file|filename|directory|folder|dir)\d?|\*\.ext)(?![\w/.-])"
    ),
    "NUM": re.compile(
        r"(?<![\w/.-])(?:count|number|num|n|lines|seconds|minutes|hours|days|size|amount|limit|depth"
        r"|port|port_number|pid|process_id|timeout|interval|width|height|length|line_number|index"
        r"|bytes|percentage|level|priority|signal_number|exit_code)(?![\w.-])"
    ),
    "STR": re.compile(
        r"(?<![\w/.-])(?:search_pattern|pattern|search_term|search_string|string|text|regex|regexp"
        r"|substring|keyword|word|message|ip_address|remote_host|host|hostname|domain|username|user"
        r"|name|value|query|replacement|old_text|new_text)(?![\w/.-])"
    ),
    "URL": re.compile(r"(?<![\w/.-])(?:https?://(?:www\.)?example\.(?:com|org|net)[\w./?=&%-]*|url|uri)(?![\w/.-])"),
}


def adapt_arguments(code: str, table: dict[str, str]) -> tuple[str, list[tuple[str, str]]]:
    """A template or a neighbour's program made into the user's command: its placeholders
    (`path/to/file`, `count`, `search_pattern`, ...) and then its own literals of the same kind take
    the request's literals (`table`, from slot_request), left to right, each literal once. Returns the
    program and the (old, new) replacements made. Tellina's argument filling, for exemplar starts."""
    todo = {kind: [t for s, t in table.items() if s[:-1] == kind] for kind in KINDS}
    # the request's literals the program already has are used up
    for kind, texts in todo.items():
        todo[kind] = [t for t in texts if not code_pattern(t, kind).search(code)]
    if not any(todo.values()):
        return code, []
    spans: list[tuple[int, int, str]] = []  # (start, end, kind): placeholders first, then concrete literals
    for kind, pat in PLACEHOLDERS.items():
        spans += [(m.start(), m.end(), kind) for m in pat.finditer(code)]
    own = [
        (lit.start, lit.end, lit.kind)
        for lit in find_literals(code)
        if not (lit.kind == "STR" and lit.end - lit.start > len(lit.text))
    ]
    quoted = [
        (lit.start + 1, lit.end - 1, lit.kind)
        for lit in find_literals(code)
        if lit.kind == "STR" and lit.end - lit.start > len(lit.text)
    ]
    chosen: list[tuple[int, int, str]] = []
    for group in (spans, quoted + own):
        for a, b, kind in sorted(group):
            if all(b <= s or a >= e for s, e, _ in chosen):
                chosen.append((a, b, kind))
    order = sorted(chosen, key=lambda sp: (sp not in spans, sp[0]))  # placeholders take literals first
    edits: list[tuple[int, int, str]] = []
    for kind in KINDS:
        places = [sp for sp in order if sp[2] == kind]
        lits = list(todo[kind])
        if kind == "FILE":  # a glob goes where a glob stands (*.ext), a path where a path does
            for want_glob in (True, False):
                for sp in [sp for sp in places if _is_glob(code[sp[0] : sp[1]]) == want_glob]:
                    lit = next((t for t in lits if _is_glob(t) == want_glob), None)
                    if lit is not None:
                        edits.append((sp[0], sp[1], lit))
                        lits.remove(lit)
                        places.remove(sp)
        for sp, lit in zip(places, lits):
            edits.append((sp[0], sp[1], lit))
    out, replaced = code, []
    for a, b, new in sorted(edits, reverse=True):
        replaced.append((out[a:b], new))
        out = out[:a] + new + out[b:]
    return out, replaced[::-1]


def _is_glob(text: str) -> bool:
    return "*" in text or "?" in text
