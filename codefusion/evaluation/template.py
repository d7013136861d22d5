"""Bash template match as in NL2Bash/Tellina, with the exact definition used here.

`bash_template(cmd)` turns a command into a template string:

1. Parse with bashlex. For every simple command (a bashlex `command` node):
   * the utility is its first word (leading `VAR=value` assignments are dropped), kept verbatim;
   * flags are the words that start with `-` and are longer than one character
     (`-name`, `-la`, `--force`); they are kept verbatim and sorted;
   * every other word is an argument and becomes the placeholder `ARG` (one per argument),
     placed after the sorted flags;
   * a redirection becomes its operator followed by `ARG` (`>` ARG, `2>&1` stays `>&` ARG);
   * a command substitution `$(...)`/`` `...` `` or process substitution inside an argument
     is an argument (the whole word is one `ARG`); it is not expanded.
2. Pipes `|` and the operators `&&`, `||`, `;`, `&` are kept between commands, as are the
   reserved words of compound commands (`for`, `do`, `done`, `if`, `then`, `fi`, ...).
3. When bashlex cannot parse the command (a syntax error or a construct it does not
   implement), a whitespace split stands in: the first token and every token after `|`,
   `&&`, `||` or `;` is a utility, `-x` tokens are flags (sorted within the command), the
   rest are `ARG`.

Two commands match when their templates are equal strings. Tellina also types its
arguments (File, Pattern, ...); this template uses one untyped placeholder, as the
CodeFusion floors in /work/shared/notes/floors.md do.
"""

from __future__ import annotations

from functools import lru_cache

import bashlex

ARG = "ARG"
_OPERATORS = {"|", "&&", "||", ";", "&", "|&"}


def _is_flag(word: str) -> bool:
    return len(word) > 1 and word.startswith("-")


def _command(node) -> list[str]:
    utility: str | None = None
    flags: list[str] = []
    rest: list[str] = []
    for part in node.parts:
        kind = part.kind
        if kind == "assignment" and utility is None:
            continue
        if kind == "word":
            if utility is None:
                utility = part.word
            elif _is_flag(part.word):
                flags.append(part.word)
            else:
                rest.append(ARG)
        elif kind == "redirect":
            rest.extend([str(part.type), ARG])
        else:
            rest.append(ARG)
    return ([utility] if utility else []) + sorted(flags) + rest


def _walk(node) -> list[str]:
    kind = node.kind
    if kind == "command":
        return _command(node)
    if kind == "operator":
        return [node.op]
    if kind == "pipe":
        return [node.pipe]
    if kind == "reservedword":
        return [node.word]
    if kind in ("word", "assignment"):
        return [ARG]
    if kind == "redirect":
        return [str(node.type), ARG]
    tokens: list[str] = []
    for attr in ("parts", "list"):
        for child in getattr(node, attr, None) or []:
            tokens.extend(_walk(child))
    return tokens


def _fallback(code: str) -> list[str]:
    tokens: list[str] = []
    command: list[str] = []

    def flush() -> None:
        if command:
            flags = sorted(t for t in command[1:] if _is_flag(t))
            args = [ARG for t in command[1:] if not _is_flag(t)]
            tokens.extend([command[0]] + flags + args)
            command.clear()

    for tok in code.split():
        if tok in _OPERATORS:
            flush()
            tokens.append(tok)
        else:
            command.append(tok)
    flush()
    return tokens


@lru_cache(maxsize=65536)
def bash_template(code: str) -> str:
    """The template string of a Bash command (see the module docstring)."""
    code = code.strip()
    try:
        trees = bashlex.parse(code)
    except Exception:  # ParsingError, NotImplementedError or a bashlex bug: whitespace fallback
        return " ".join(_fallback(code))
    tokens: list[str] = []
    for tree in trees:
        tokens.extend(_walk(tree))
    return " ".join(tokens)


def template_match(predicted: str, gold: str) -> bool:
    return bash_template(predicted) == bash_template(gold)
