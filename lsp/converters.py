"""Pure functions from pipeline results to LSP objects and command results.

Candidates are `grammar.pipeline.RankedCandidate`s (code, score, valid, errors,
warnings, source, origin, exemplar), best first; their labels (generated, edited, copy,
retrieved) are worded by codefusion.suggest.origin_text, as the CLI words them. Positions here are code
points; the server converts them to the client's units (`to_client`).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from lsprotocol import types

from codefusion.runtime import candidate_json, candidate_view
from codefusion.suggest import origin_of
from engine.schema import DANGER_MARK, candidate_label
from lsp.comments import NLRequest

_FENCE = {"bash": "bash", "python": "python", "cf": ""}

# (line, code-point column) -> client Position
ToClient = Callable[[int, int], types.Position]


def indent_code(code: str, indent: str) -> str:
    """The code's lines joined by "\\n", every non-blank line but the first prefixed by `indent`."""
    lines = code.replace("\r\n", "\n").replace("\r", "\n").split("\n")
    return "\n".join([lines[0]] + [indent + line if line.strip() else "" for line in lines[1:]])


def label(c: Any) -> str:
    """First non-blank line of the code, marked when dangerous or retrieved (engine.schema.candidate_label)."""
    return candidate_label(c.code, list(c.warnings), c.source)


def error_strings(c: Any) -> list[str]:
    return list(candidate_view(c).errors)


def what(c: Any) -> str:
    """What the candidate is (its label): "generated", "edited from exemplar `...`", "copy of an exemplar
    ...", "retrieved example ..."; a generated one that equals a training example says so
    (codefusion.runtime.candidate_view)."""
    return candidate_view(c).what


def detail(c: Any) -> str:
    """Score, validity, the label and danger reasons: "score -0.42 · valid · generated · ⚠ deletes / recursively"."""
    parts = [f"score {c.score:.2f}", "valid" if c.valid else "invalid"]
    if not c.valid and c.errors:
        parts[-1] += f" ({error_strings(c)[0]})"
    parts.append(what(c))
    parts += [f"{DANGER_MARK}{w}" for w in c.warnings]
    return " · ".join(parts)


def documentation(c: Any, lang: str) -> types.MarkupContent:
    """The whole snippet in a fenced markdown code block, with the detail line under it."""
    fence = "````" if "```" in c.code else "```"
    value = f"{fence}{_FENCE.get(lang, '')}\n{c.code}\n{fence}\n\n{detail(c)}"
    origin, exemplar = origin_of(c)
    if origin == "edited" and isinstance(exemplar, dict) and isinstance(exemplar.get("code"), str):
        ex = exemplar["code"]
        f2 = "````" if "```" in ex else "```"
        value += f"\n\nThe exemplar it was edited from:\n\n{f2}{_FENCE.get(lang, '')}\n{ex}\n{f2}"
    return types.MarkupContent(kind=types.MarkupKind.Markdown, value=value)


# ---------------------------------------------------------------- edits


@dataclass(frozen=True)
class CursorEdit:
    """Where completion / inline completion put a candidate: replace line[start:end] by text(code)."""

    line: int
    start: int
    end: int
    lead: str  # text before the code: "\\n" + indent after a comment, or the missing indentation
    indent: str  # indentation of the code's following lines

    def text(self, code: str) -> str:
        return self.lead + indent_code(code, self.indent)


def cursor_edit(request: NLRequest, lines: Sequence[str], line: int, column: int) -> CursorEdit | None:
    """The edit for a cursor on the blank line after the request or at the end of its last line.

    None when the cursor is anywhere else (no completion there).
    """
    if not 0 <= line < len(lines):
        return None
    text = lines[line]
    column = max(0, min(column, len(text)))
    indent = request.indent
    if line == request.insert_line and not text.strip():
        prefix = text[:column]
        if indent.startswith(prefix):
            return CursorEdit(line, column, column, indent[len(prefix) :], indent)
        return CursorEdit(line, 0, column, indent, indent)
    if line == request.end_line and column >= len(text.rstrip()):
        return CursorEdit(line, column, column, "\n" + indent, indent)
    return None


def insertion(request: NLRequest, lines: Sequence[str], code: str) -> tuple[int, int, str]:
    """(line, column, text) inserting `code` below the request with its indentation."""
    body = request.indent + indent_code(code, request.indent)
    if request.insert_line < len(lines):
        return request.insert_line, 0, body + "\n"
    last = request.end_line  # the request ends the document without a final newline
    return last, len(lines[last]), "\n" + body


# ---------------------------------------------------------------- LSP objects


def completion_items(
    candidates: Sequence[Any], lang: str, edit: CursorEdit, to_client: ToClient
) -> list[types.CompletionItem]:
    rng = types.Range(start=to_client(edit.line, edit.start), end=to_client(edit.line, edit.end))
    items = []
    for i, c in enumerate(candidates):
        new_text = edit.text(c.code)
        items.append(
            types.CompletionItem(
                label=label(c),
                label_details=types.CompletionItemLabelDetails(description=origin_of(c)[0]),
                kind=types.CompletionItemKind.Snippet,
                detail=detail(c),
                documentation=documentation(c, lang),
                sort_text=f"{i:04d}",
                # Clients filter on the text in the edit's range (blank or empty here): keep
                # every candidate whatever the user typed on the line.
                filter_text=label(c),
                preselect=i == 0,
                insert_text_format=types.InsertTextFormat.PlainText,
                text_edit=types.TextEdit(range=rng, new_text=new_text),
            )
        )
    return items


def inline_items(candidates: Sequence[Any], edit: CursorEdit, to_client: ToClient) -> list[types.InlineCompletionItem]:
    rng = types.Range(start=to_client(edit.line, edit.start), end=to_client(edit.line, edit.end))
    return [types.InlineCompletionItem(insert_text=edit.text(c.code), range=rng) for c in candidates]


def workspace_edit(
    uri: str, request: NLRequest, lines: Sequence[str], code: str, to_client: ToClient
) -> types.WorkspaceEdit:
    line, col, text = insertion(request, lines, code)
    pos = to_client(line, col)
    return types.WorkspaceEdit(changes={uri: [types.TextEdit(range=types.Range(start=pos, end=pos), new_text=text)]})


def comment_range(request: NLRequest, lines: Sequence[str], to_client: ToClient) -> types.Range:
    return types.Range(
        start=to_client(request.start_line, len(request.indent) if request.kind == "comment" else 0),
        end=to_client(request.end_line, len(lines[request.end_line])),
    )


# ---------------------------------------------------------------- command results


def candidate_dict(c: Any) -> dict[str, Any]:
    """A candidate of the codefusion.generate result: the one shown-candidate schema (engine.schema.CandidateView),
    as `codefusion generate --json`, the daemon and the shared engine send it."""
    return candidate_json(c)


def generate_result(
    request: NLRequest,
    lang: str,
    candidates: Sequence[Any],
    message: str | None,
    lines: Sequence[str],
    to_client: ToClient,
) -> dict[str, Any]:
    """The `codefusion.generate` result (docs/contracts.md).

    insertAt is where `codefusion.insert` puts the code: the start of the line after the
    request (or the end of the request's line when it ends the document).
    """
    line, col, _ = insertion(request, lines, "")
    pos = to_client(line, col)
    return {
        "comment": request.text,
        "lang": lang,
        "message": message,
        "candidates": [candidate_dict(c) for c in candidates],
        "insertAt": {"line": pos.line, "character": pos.character},
        "indent": request.indent,
    }


def empty_result(message: str) -> dict[str, Any]:
    return {"candidates": [], "message": message}
