"""Where a request is: the comment at a position in an open document, and the workspace's paths.

Pure functions over pygls's open documents and the settings (no server state, no LSP traffic);
lsp.language_server calls them with its state.
"""

from __future__ import annotations

import dataclasses
import os
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any
from urllib.parse import unquote, urlparse

from lsprotocol import types

from engine.schema import MAX_REQUEST_CHARS, WIRE_KEYS, Request, RequestError, check_length
from lsp.comments import NLRequest, find_request
from lsp.options import Options
from lsp.text import sanitize, split_lines, to_codepoints, units

MAX_DOCUMENT_CHARS = 5_000_000


@dataclass
class Located:
    """A request found in an open document."""

    uri: str
    lang: str  # engine language
    lines: list[str]
    line: int  # cursor, code points
    column: int
    request: NLRequest


def locate(documents: Mapping[str, Any], options: Options, encoding: str, uri: Any, position: Any) -> Located | str:
    """The request at a position of an open document (pygls's `workspace.text_documents`), or a
    message saying why there is none."""
    if not isinstance(uri, str):
        return "no document given"
    doc = documents.get(unquote(uri))
    if doc is None:
        return f"unknown document {sanitize(uri)[:200]} (not opened with textDocument/didOpen)"
    lang = options.engine_language(doc.language_id or "")
    if lang is None:
        return f"CodeFusion does not handle language id {sanitize(str(doc.language_id))!r} (see codefusion.languages)"
    source = doc.source
    if len(source) > MAX_DOCUMENT_CHARS:
        return f"document too large for CodeFusion ({len(source)} characters, limit {MAX_DOCUMENT_CHARS})"
    line, character = position
    lines = split_lines(sanitize(source))  # lone surrogates -> U+FFFD: same length, encodable
    if not (isinstance(line, int) and isinstance(character, int)) or not 0 <= line < len(lines) or character < 0:
        return f"position {line}:{character} is outside the document ({len(lines)} lines)"
    column = to_codepoints(lines[line], character, encoding)
    request = find_request(lines, line, lang)
    if request is None:
        return "no comment at this position"
    return Located(uri, lang, lines, line, column, request)


# what a codefusion.generate argument may set for its one request, beside uri and position: the request
# schema's keys (engine.schema.WIRE_KEYS) but the comment itself
REQUEST_KEYS = tuple(key for key in WIRE_KEYS.values() if key != "nl")


def check_request(located: Located, max_comment_length: int) -> str | None:
    """A message when the comment cannot be sent to the model: empty, or longer than the request schema
    allows (its message, as every surface says it) or than codefusion.maxCommentLength (which may only
    lower that limit)."""
    text = located.request.text
    if not text.strip():
        return "the comment is empty: write what the code should do"
    for limit in (MAX_REQUEST_CHARS, max_comment_length):
        try:
            check_length(text, limit)
        except RequestError as e:
            return str(e) if limit == MAX_REQUEST_CHARS else f"{e} (setting codefusion.maxCommentLength)"
    return None


def request_for(
    located: Located, options: Options, k: int | None = None, overrides: dict[str, Any] | None = None
) -> Request | str:
    """The request (engine.schema) a located comment makes with these settings (k: the caller's) and a
    command's `overrides` (REQUEST_KEYS), or the schema's message saying what is wrong."""
    values: dict[str, Any] = {
        "nl": located.request.text,
        "lang": located.lang,
        "k": options.k if k is None else k,
        "steps": options.steps,
        "retrieval": options.retrieval,
        "invalidMode": options.invalid_mode,
    }
    values.update({key: v for key, v in (overrides or {}).items() if key in REQUEST_KEYS})
    try:
        return Request.from_json(values)
    except RequestError as e:
        return str(e)


def to_client(lines: Sequence[str], encoding: str) -> Callable[[int, int], types.Position]:
    """(line, code-point column) -> the client's Position (its position encoding)."""

    def convert(line: int, column: int) -> types.Position:
        text = lines[line] if 0 <= line < len(lines) else ""
        return types.Position(line=line, character=units(text[:column], encoding))

    return convert


def position_argument(args: Sequence[Any]) -> dict[str, Any] | str:
    """A command's one argument {"uri": ..., "position": {"line": ..., "character": ...}}, or what is wrong."""
    if len(args) != 1 or not isinstance(args[0], dict):
        return 'expected one argument {"uri": ..., "position": {"line": ..., "character": ...}}'
    arg = args[0]
    pos = arg.get("position")
    if not isinstance(arg.get("uri"), str) or not isinstance(pos, dict):
        return 'expected one argument {"uri": ..., "position": {"line": ..., "character": ...}}'
    if not all(isinstance(pos.get(f), int) and not isinstance(pos.get(f), bool) for f in ("line", "character")):
        return "position.line and position.character must be integers"
    return arg


def file_path(uri: str) -> str:
    """The path of a file: URI ('' for other schemes)."""
    parsed = urlparse(uri or "")
    return unquote(parsed.path) if parsed.scheme == "file" else ""


def workspace_roots(params: types.InitializeParams) -> list[str]:
    """The workspace folders of `initialize` (rootUri, rootPath, workspaceFolders) as real paths."""
    uris = [f.uri for f in params.workspace_folders or []] + ([params.root_uri] if params.root_uri else [])
    paths = [file_path(u) for u in uris] + ([params.root_path] if params.root_path else [])
    return sorted({os.path.realpath(p) for p in paths if p})


def restrict(options: Options, roots: Iterable[str]) -> tuple[Options, list[str]]:
    """(options, dropped files) for an untrusted workspace: the exemplar files that are relative (they
    would resolve in the workspace) or lie in one of `roots` (symbolic links followed) are dropped."""
    roots = list(roots)
    kept: list[str] = []
    dropped: list[str] = []
    for f in options.exemplar_files:
        real = os.path.realpath(f) if os.path.isabs(f) else None
        inside = real is None or any(real == r or real.startswith(r.rstrip(os.sep) + os.sep) for r in roots if r)
        (dropped if inside else kept).append(f)
    return dataclasses.replace(options, exemplar_files=tuple(kept)), dropped
