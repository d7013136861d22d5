"""CodeFusionServer: pygls's LanguageServer with CodeFusion's state.

It holds the settings, the workspace's trust and folders, the request scheduler (lsp.scheduler),
the open documents' exemplars and the messages already shown, and says things to the client
(log, pop-ups, the codefusion/status notification, the load progress bar). Finding requests is
lsp.locate's, the LSP objects are lsp.converters', the handlers are lsp.handlers'.

In an untrusted workspace (the client's `trustedWorkspace` option false or absent) it takes no
exemplars from open documents and no exemplar file that is relative or lies in a workspace folder.
"""

from __future__ import annotations

import asyncio
import dataclasses
import logging
import os
import uuid
from collections.abc import Sequence
from typing import Any

from lsprotocol import types
from pygls.exceptions import JsonRpcInvalidRequest
from pygls.lsp.server import LanguageServer

from codefusion.settings import TRUST_DEFAULT, TRUST_KEY, parse_trust
from engine.schema import Request
from lsp import locate as loc
from lsp.exemplars import WorkspaceExemplars
from lsp.generation import GenerationResult, ModelUnavailable, Superseded, TimedOut
from lsp.options import Options, parse_options
from lsp.pygls_compat import CodeFusionProtocol, run_stdio, run_tcp, send_error
from lsp.scheduler import GenerationService
from lsp.text import sanitize

__version__ = "0.1.0"
log = logging.getLogger("lsp.server")

STATUS_NOTIFICATION = "codefusion/status"
RESTRICTED = "restricted (untrusted workspace): open documents and exemplar files in the workspace are not used"


class CodeFusionServer(LanguageServer):
    """Holds the state: settings, the generation service, messages already shown."""

    max_body = 8 << 20  # bytes of one message (codefusion-lsp --max-message-mib)

    def __init__(self, checkpoint: str | None = None):
        super().__init__(
            "codefusion-lsp",
            __version__,
            protocol_cls=CodeFusionProtocol,
            text_document_sync_kind=types.TextDocumentSyncKind.Incremental,
        )
        self.default_checkpoint = checkpoint  # --checkpoint: used when the setting is null
        self.options = self._with_default_checkpoint(Options())
        self.service = GenerationService(on_status=self.send_status, on_log=self.log, on_warning=self.show_once)
        self.exemplars = WorkspaceExemplars()  # the open documents' comment -> code pairs
        self.trusted = TRUST_DEFAULT  # Workspace Trust, as the client says (initializationOptions.trustedWorkspace)
        self.roots: list[str] = []  # the workspace folders (initialize), real paths
        self._shown: set = set()
        self._progress_token: str | None = None  # the load progress bar, while one is shown
        self._loading = False

    # ------------------------------------------------------------ transport

    def refuse_oversize(self, msg_id: Any, length: int) -> None:
        """A request over the size cap (lsp.framing skipped it): an error answer, so the editor does not wait."""
        send_error(
            self.protocol,
            msg_id,
            JsonRpcInvalidRequest(
                f"message of {length} bytes refused: the limit is {self.max_body} bytes "
                "(codefusion-lsp --max-message-mib)"
            ),
        )

    def start_io(self, stdin=None, stdout=None) -> None:
        """stdio, with lsp.framing's reader loop (a bad Content-Length cannot deafen or kill the server)."""
        run_stdio(self, stdin, stdout, self.max_body, self.refuse_oversize)

    def start_tcp(self, host: str, port: int) -> None:
        """TCP, with lsp.framing's reader loop."""
        run_tcp(self, host, port, self.max_body, self.refuse_oversize)

    def cancel_request(self, msg_id: Any) -> None:
        """`$/cancelRequest`: also cancel a command's handler task (lsp.pygls_compat)."""
        self.service.cancel_request(msg_id)

    # ------------------------------------------------------------ messages

    def log(self, message: str, kind: types.MessageType = types.MessageType.Log) -> None:
        """window/logMessage (details for the output panel)."""
        self.window_log_message(types.LogMessageParams(type=kind, message=message))

    def show_once(self, message: str, kind: types.MessageType = types.MessageType.Warning) -> None:
        """window/showMessage, once per distinct message."""
        if message in self._shown:
            return
        self._shown.add(message)
        self.window_show_message(types.ShowMessageParams(type=kind, message=message))

    def send_status(self, state: str, message: str) -> None:
        """codefusion/status notification, work-done progress while loading, and the no-model message.
        In an untrusted workspace the ready message says what is not used."""
        if state == "ready" and not self.trusted:
            message = f"{message}; {RESTRICTED}"
        self.protocol.notify(STATUS_NOTIFICATION, {"state": state, "message": message})
        self.log(f"model {state}: {message}", types.MessageType.Error if state == "error" else types.MessageType.Info)
        self._loading = state == "loading"
        if state == "loading":
            asyncio.ensure_future(self._progress_begin(message))
        else:
            self._progress_end(message)
        if state == "error":
            self.show_once(message, types.MessageType.Error)

    def _supports_progress(self) -> bool:
        window = self.client_capabilities.window if self.protocol.client_capabilities else None
        return bool(window and window.work_done_progress)

    async def _progress_begin(self, message: str) -> None:
        if not self._supports_progress() or self._progress_token is not None:
            return
        token = self._progress_token = f"codefusion-load-{uuid.uuid4()}"
        try:
            await self.work_done_progress.create_async(token)
        except Exception as exc:  # the client refused the token: no progress bar
            self.log(f"no progress bar: {exc}")
            self._progress_token = None
            return
        self.work_done_progress.begin(
            token, types.WorkDoneProgressBegin(title="CodeFusion", message=message, cancellable=False)
        )
        if not self._loading:  # the load ended while the client created the token
            self._progress_end("done")

    def _progress_end(self, message: str) -> None:
        token = self._progress_token
        if token is not None and token in self.work_done_progress.tokens:  # begun: end it now
            self._progress_token = None
            self.work_done_progress.end(token, types.WorkDoneProgressEnd(message=message))
            del self.work_done_progress.tokens[token]

    def report_server_error(self, error: Exception, source: Any) -> None:
        """Errors outside a request (e.g. a message that is not valid UTF-8): say so, keep running."""
        if isinstance(error, UnicodeDecodeError):
            self.show_once(
                "CodeFusion ignored a message from the editor that is not valid UTF-8 "
                f"({error.reason} at byte {error.start})",
                types.MessageType.Error,
            )
            return
        # a malformed notification or similar: the log, not a pop-up (pygls shows "Error in server")
        self.log(
            f"ignored a message the server could not handle: {type(error).__name__}: {str(error)[:300]}",
            types.MessageType.Warning,
        )

    # ------------------------------------------------------------ settings

    def _with_default_checkpoint(self, options: Options) -> Options:
        if options.checkpoint is None and self.default_checkpoint:
            return dataclasses.replace(options, checkpoint=self.default_checkpoint)
        return options

    def apply_settings(self, raw: Any, initial: bool = False) -> None:
        """New settings (and the workspace's trust, when the payload says; at initialize an absent
        trust is the safe default, untrusted). Untrusted: the exemplar files are restricted."""
        options, warnings, notes = parse_options(raw)
        trusted, warning = parse_trust(raw)
        if warning:
            warnings.append(warning)
        before = self.trusted
        if trusted is not None or initial:
            self.trusted = TRUST_DEFAULT if trusted is None else trusted
        if initial or self.trusted != before:
            self.log(
                (
                    "the workspace is trusted: open documents and workspace exemplar files are used"
                    if self.trusted
                    else RESTRICTED
                )
                + ("" if trusted is not None else f" (the client did not send {TRUST_KEY})")
            )
        options, dropped = self._restrict(options)
        for f in dropped:
            warnings.append(
                f"codefusion.exemplarFiles: {sanitize(f)[:300]} is not used: it is relative or lies in the "
                "untrusted workspace (only files outside the workspace count there)"
            )
        self.options = self._with_default_checkpoint(options)
        for note in notes:
            self.log(note)
        for warning in warnings:
            self.log(warning, types.MessageType.Warning)
            self.window_show_message(types.ShowMessageParams(type=types.MessageType.Warning, message=warning))

    def set_roots(self, params: types.InitializeParams) -> None:
        """The workspace folders of `initialize` (rootUri, rootPath, workspaceFolders) as real paths."""
        self.roots = loc.workspace_roots(params)

    def _restrict(self, options: Options) -> tuple[Options, list[str]]:
        """(options, dropped files): untrusted, lsp.locate.restrict with the folders of `initialize`
        and those that workspace/didChangeWorkspaceFolders added."""
        if self.trusted or not options.exemplar_files:
            return options, []
        try:
            folders = self.workspace.folders.values()
        except RuntimeError:  # not initialized yet: no workspace
            folders = ()
        return loc.restrict(
            options, self.roots + [os.path.realpath(p) for p in (loc.file_path(f.uri) for f in folders) if p]
        )

    def preload(self) -> None:
        """Load the model in the background (so the first request does not wait for it)."""
        if self.options.languages:
            asyncio.ensure_future(self._preload())

    async def _preload(self) -> None:
        try:
            await self.service.ensure_model(self.options)
        except ModelUnavailable:
            pass  # already reported through send_status

    # ------------------------------------------------------------ requests

    def _encoding(self) -> str:
        return str(self.workspace.position_encoding or "utf-16")

    def locate(self, uri: Any, position: Any) -> loc.Located | str:
        """The request at a position, or a message saying why there is none."""
        return loc.locate(self.workspace.text_documents, self.options, self._encoding(), uri, position)

    def check_request(self, located: loc.Located) -> str | None:
        """A message when the comment cannot be sent to the model (empty or too long)."""
        return loc.check_request(located, self.options.max_comment_length)

    def to_client(self, lines: Sequence[str]):
        return loc.to_client(lines, self._encoding())

    async def generate_for(
        self, located: loc.Located, k: int | None = None, request: Request | None = None
    ) -> GenerationResult:
        """Candidates for a located request (raises ModelUnavailable, Superseded, TimedOut, ValueError, CancelledError);
        `request`: the one the comment makes (loc.request_for), else the settings'. The open documents' pairs join
        the bank in a trusted workspace only."""
        if self.trusted:
            changed = self.exemplars.refresh(self.workspace.text_documents.values(), self.options.engine_language)
        else:
            changed = self.exemplars.clear()
        if changed:
            self.service.set_workspace_exemplars(self.exemplars.records(), self.exemplars.version)
        key = self.service.key_for(located.request.text, located.lang, self.options, k, request)
        return await self.service.generate(key, located.uri, self.options, request_id=self.protocol.msg_id)

    async def candidates_or_message(
        self, located: loc.Located, k: int | None = None, overrides: dict[str, Any] | None = None
    ):
        """(candidates, message): never raises for model problems, only for client cancellation. `overrides`:
        request fields a command sets for this one request (loc.REQUEST_KEYS); a bad one is refused with the
        request schema's message, as every surface refuses it."""
        problem = self.check_request(located)
        if problem:
            return [], problem
        request = loc.request_for(located, self.options, k, overrides)
        if isinstance(request, str):
            return [], request
        try:
            result = await self.generate_for(located, k, request)
        except (ModelUnavailable, Superseded, TimedOut, ValueError) as exc:
            return [], str(exc)
        except Exception as exc:  # a bug or a broken install: say so, keep serving
            log.exception("generation failed")
            self.log(f"generation failed: {type(exc).__name__}: {exc}", types.MessageType.Error)
            return [], f"generation failed: {type(exc).__name__}: {exc}"
        return result.candidates, result.message
