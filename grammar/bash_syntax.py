"""Bash syntax check: tree-sitter-bash and bashlex together.

How the two verdicts combine (each parser catches errors the other misses, and
bashlex rejects some valid Bash):

1. tree-sitter-bash reports ERROR or MISSING nodes -> invalid (its errors are reported).
2. bashlex raises ``NotImplementedError`` (valid constructs it does not implement:
   ``case ... esac``, arithmetic ``$(( ))`` ...) -> "unsupported": a note, the verdict
   is tree-sitter's.
3. bashlex raises ``ParsingError`` (``MatchedPairError`` included) while tree-sitter
   found nothing:
   * if the tree-sitter tree holds a construct bashlex does not implement
     (``[[ ]]`` tests, ``(( ))`` commands, arrays ``a=(...)``, C-style ``for ((;;))``,
     ``select``, ``$'...'`` strings, process substitution ...), bashlex's complaint is about that
     construct: a note, the code stays valid;
   * otherwise -> invalid, with bashlex's message (bashlex positions can be stale, so the
     position is clamped to the code).
4. Any other exception from bashlex (an internal bug) -> a note; tree-sitter decides.
"""

from __future__ import annotations

import bashlex
import bashlex.errors

from grammar.treesitter_util import parse, syntax_issues, walk
from grammar.verdict import SyntaxIssue, Verdict

# tree-sitter-bash node types for constructs bashlex 0.18 does not implement
_BASHLEX_UNSUPPORTED = {
    "test_command": "[[ ... ]] / (( ... )) tests",
    "arithmetic_expansion": "arithmetic $(( ))",
    "case_statement": "case ... esac",
    "c_style_for_statement": "C-style for (( ;; ))",
    "array": "array assignment a=(...)",
    "process_substitution": "process substitution <( )",
    "select_statement": "select",
    "ansi_c_string": "$'...' strings",
    "translated_string": '$"..." strings',
}


def _position(code: str, offset: int | None) -> tuple[int, int]:
    """1-based (line, col) of a character offset, clamped to the code."""
    if offset is None:
        return 1, 1
    offset = max(0, min(offset, len(code)))
    before = code[:offset]
    line = before.count("\n") + 1
    col = offset - (before.rfind("\n") + 1) + 1
    return line, col


def _unsupported_constructs(tree) -> list[str]:
    found: list[str] = []
    for node in walk(tree.root_node):
        label = _BASHLEX_UNSUPPORTED.get(node.type)
        if label and label not in found:
            found.append(label)
    return found


def _guard_bashlex() -> None:
    """bashlex 0.18 loops forever, allocating until the machine runs out of memory, on a word with
    `${` and no `}` after it (subst._paramexpand takes find()'s -1 as the end and restarts at 0);
    a model produced `echo $ln'# -d=" -+ test "${find /; -'s \\;}"`. Raise its ParsingError instead."""
    from bashlex import subst

    original = subst._paramexpand
    if getattr(original, "_codefusion_guard", False):
        return

    def paramexpand(parserobj, string, sindex):
        if string.startswith("${", sindex) and string.find("}", sindex + 2) < 0:
            raise bashlex.errors.ParsingError("bad substitution: no closing '}'", string, sindex)
        return original(parserobj, string, sindex)

    paramexpand._codefusion_guard = True  # type: ignore[attr-defined]  # a marker, read by getattr above
    subst._paramexpand = paramexpand


_guard_bashlex()


def check_bash(code: str) -> Verdict:
    tree, source = parse(code, "bash")
    ts_errors = syntax_issues(tree, source)
    if ts_errors:
        return Verdict(valid=False, errors=ts_errors)
    if not code.strip():
        return Verdict(valid=True)
    try:
        bashlex.parse(code)
    except NotImplementedError as exc:
        detail = ", ".join(_unsupported_constructs(tree)) or str(exc).strip() or "a construct"
        return Verdict(valid=True, notes=[f"bashlex does not support {detail} (tree-sitter says valid)"])
    except bashlex.errors.ParsingError as exc:
        unsupported = _unsupported_constructs(tree)
        if unsupported:
            return Verdict(
                valid=True,
                notes=[
                    f"bashlex rejects {', '.join(unsupported)}, which it does not implement (tree-sitter says valid)"
                ],
            )
        line, col = _position(code, getattr(exc, "position", None))
        message = getattr(exc, "message", None) or str(exc)
        return Verdict(valid=False, errors=[SyntaxIssue(line, col, f"bashlex: {message}")])
    except Exception as exc:  # bashlex internal bug: not the user's error
        return Verdict(valid=True, notes=[f"bashlex failed internally ({type(exc).__name__}); tree-sitter says valid"])
    return Verdict(valid=True)
