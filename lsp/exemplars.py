"""The user's own examples: comment -> code pairs found in the open documents.

Indexed per document and only when its version changed (`refresh`, called before a request), so
a pair the user just wrote is an exemplar for the next request without a restart. The records go
to engine.api.exemplar_bank beside the training files and the `codefusion.exemplarFiles`; each
names its document ("file": the path of a file: URI, else the URI) and the comment's line ("line",
1-based), the provenance a candidate drawn from it shows. The server uses them only in a trusted
workspace (lsp.server: trustedWorkspace).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from urllib.parse import unquote, urlparse

from lsp.comments import comment_code_pairs_at
from lsp.text import split_lines

MAX_DOCUMENT_CHARS = 2_000_000  # larger documents are not scanned


def document_file(uri: str) -> str:
    """The path of a file: URI (what a user recognises), else the URI itself (untitled:, ...)."""
    parsed = urlparse(uri)
    return unquote(parsed.path) if parsed.scheme == "file" else uri


class WorkspaceExemplars:
    def __init__(self) -> None:
        self._docs: dict[str, tuple[int, list[dict]]] = {}  # uri -> (document version, records)
        self.version = 0  # bumped whenever the set of records changes

    def refresh(self, documents: Iterable, engine_language: Callable[[str], str | None]) -> bool:
        """Re-read the documents whose version changed; True when the records changed."""
        changed = False
        seen = set()
        for doc in documents:
            seen.add(doc.uri)
            lang = engine_language(doc.language_id or "")
            version = doc.version if doc.version is not None else -1
            old = self._docs.get(doc.uri)
            if old is not None and old[0] == version and version != -1:
                continue
            records: list[dict] = []
            source = doc.source
            if lang is not None and len(source) <= MAX_DOCUMENT_CHARS:
                where = document_file(doc.uri)
                records = [
                    {"nl": nl, "code": code, "lang": lang, "file": where, "line": line + 1}
                    for line, nl, code in comment_code_pairs_at(split_lines(source))
                ]
            if old is None or old[1] != records:
                changed = changed or bool(records) or bool(old and old[1])
            self._docs[doc.uri] = (version, records)
        for uri in set(self._docs) - seen:  # closed documents
            changed = changed or bool(self._docs[uri][1])
            del self._docs[uri]
        if changed:
            self.version += 1
        return changed

    def records(self) -> list[dict]:
        return [r for _, recs in self._docs.values() for r in recs]

    def clear(self) -> bool:
        """Forget every document (an untrusted workspace); True when there were records."""
        had = bool(self.records())
        self._docs.clear()
        if had:
            self.version += 1
        return had
