"""The CodeFusion language server: NL comments in, code candidates out.

Thin LSP layer over lsp.comments (where is the request), lsp.worker (model,
cache, cancellation) and lsp.converters (LSP objects). One handler per LSP
method; each docstring names it. Run `codefusion-lsp` or `python -m lsp`.

The server never executes generated code and sends no telemetry. In an untrusted workspace (the
client's `trustedWorkspace` option false or absent) it takes no exemplars from open documents and no
exemplar file that is relative or lies in a workspace folder.
"""
from __future__ import annotations

import argparse
import asyncio
import dataclasses
import logging
import os
import sys
import threading
import uuid
from dataclasses import dataclass
from typing import Any, Dict, List, Optional, Sequence, Union
from urllib.parse import unquote, urlparse

from lsprotocol import types
from pygls.exceptions import (JsonRpcException, JsonRpcInvalidParams, JsonRpcInvalidRequest, JsonRpcMethodNotFound,
                              JsonRpcServerNotInitialized)
from pygls.lsp.server import LanguageServer
from pygls.protocol import LanguageServerProtocol

from codefusion.settings import TRUST_DEFAULT, TRUST_KEY, parse_trust
from lsp import converters
from lsp.comments import NLRequest, find_request
from lsp.exemplars import WorkspaceExemplars
from lsp.options import Options, parse_options
from lsp.text import sanitize, split_lines, to_codepoints, units
from lsp.worker import GenerationResult, GenerationService, ModelUnavailable, Superseded, TimedOut

__version__ = "0.1.0"
log = logging.getLogger(__name__)

MAX_DOCUMENT_CHARS = 5_000_000
STATUS_NOTIFICATION = "codefusion/status"
CMD_GENERATE = "codefusion.generate"
CMD_INSERT = "codefusion.insert"
CMD_SHOW_CANDIDATES = "codefusion.showCandidates"  # client-side picker (not run by the server)
GENERATE_TITLE = "Generate code from comment"


class CodeFusionProtocol(LanguageServerProtocol):
    """pygls' protocol, plus: `$/cancelRequest` also reaches command handlers.

    pygls cancels the task of an async feature handler, but a command runs as a
    sub-task that the cancellation does not reach; the service cancels it by id.
    """

    def _handle_cancel_notification(self, msg_id):
        super()._handle_cancel_notification(msg_id)
        server = self._server
        if isinstance(server, CodeFusionServer):
            server.service.cancel_request(msg_id)

    def structure_message(self, data):
        """Also: a request whose params do not fit the protocol (a negative or non-integer
        position, ...) gets an InvalidParams error response; pygls would leave it unanswered.
        Positions are checked strictly: lsprotocol's converter would take 1.5 or "3" for a line."""
        if isinstance(data, dict) and "id" in data and ("method" in data or data.get("jsonrpc") != "2.0") \
                and (data.get("jsonrpc") != "2.0" or not isinstance(data.get("method"), str)):
            if "method" in data or "params" in data:  # a request that is not JSON-RPC 2.0: say so
                self._send_response(data["id"], None, JsonRpcInvalidRequest(
                    "not a JSON-RPC 2.0 request (\"jsonrpc\": \"2.0\" and a string method are needed)").to_response_error())
                return _ANSWERED
        if isinstance(data, dict) and isinstance(data.get("method"), str) and not self._knows(data["method"]):
            if "id" in data:  # JSON-RPC: a request for a method the server does not have
                self._send_response(data["id"], None, JsonRpcMethodNotFound(
                    f"unknown method {sanitize(data['method'])[:100]!r}").to_response_error())
            else:  # an unknown notification is ignored (LSP: `$/` ones may be; so are the others)
                log.debug("ignored the unknown notification %r", data["method"][:100])
            return _ANSWERED
        try:
            if isinstance(data, dict) and str(data.get("method", "")).startswith("textDocument/") \
                    and not _strict_positions(data.get("params")):  # (commands check their own arguments)
                raise JsonRpcInvalidParams("positions must be non-negative integers")
            return super().structure_message(data)
        except JsonRpcException:
            if not (isinstance(data, dict) and "jsonrpc" in data and "method" in data and "id" in data):
                raise
            message = f"invalid parameters for {sanitize(str(data['method']))[:100]}"
            self._send_response(data["id"], None, JsonRpcInvalidParams(message).to_response_error())
            if isinstance(self._server, CodeFusionServer):
                self._server.log(message, types.MessageType.Warning)
            return _ANSWERED

    def _knows(self, method: str) -> bool:
        """An LSP method (lsprotocol knows its types) or one this server registered."""
        return self.get_message_type(method) is not None or method in self.fm.features

    def handle_message(self, message):
        if message is _ANSWERED:
            return
        if getattr(self, "_shutdown", False) and getattr(message, "method", None) not in (None, types.EXIT) \
                and getattr(message, "id", None) is not None:  # LSP: requests after shutdown get InvalidRequest
            self._send_response(message.id, None, JsonRpcInvalidRequest("the server is shutting down").to_response_error())
            return
        super().handle_message(message)

    def _handle_request(self, msg_id, method_name, params):
        """Also: requests before `initialize` get ServerNotInitialized (-32002); a second `initialize`
        gets InvalidRequest (-32600) and leaves the session as it was."""
        initialized = getattr(self, "_cf_initialized", False)
        if method_name == types.INITIALIZE:
            if initialized:
                self._send_response(msg_id, None, JsonRpcInvalidRequest("the server is already initialized").to_response_error())
                return
            self._cf_initialized = True
        elif not initialized and method_name != types.SHUTDOWN:
            self._send_response(msg_id, None, JsonRpcServerNotInitialized().to_response_error())
            return
        super()._handle_request(msg_id, method_name, params)


_ANSWERED = object()  # a request that structure_message already answered with an error
RESTRICTED = "restricted (untrusted workspace): open documents and exemplar files in the workspace are not used"


def _file_path(uri: str) -> str:
    """The path of a file: URI ('' for other schemes)."""
    parsed = urlparse(uri or "")
    return unquote(parsed.path) if parsed.scheme == "file" else ""


def _strict_positions(params, depth: int = 0) -> bool:
    """Every "line" / "character" inside a "position", "start" or "end" object is a non-negative int."""
    if depth > 8:
        return True
    if isinstance(params, dict):
        for key, value in params.items():
            if key in ("position", "start", "end") and isinstance(value, dict):
                for field in ("line", "character"):
                    v = value.get(field)
                    if field in value and (not isinstance(v, int) or isinstance(v, bool) or v < 0):
                        return False
            if isinstance(value, (dict, list)) and not _strict_positions(value, depth + 1):
                return False
    elif isinstance(params, list):
        return all(_strict_positions(v, depth + 1) for v in params[:64])
    return True


@dataclass
class Located:
    """A request found in an open document."""

    uri: str
    lang: str  # engine language
    lines: List[str]
    line: int  # cursor, code points
    column: int
    request: NLRequest


class CodeFusionServer(LanguageServer):
    """Holds the state: settings, the generation service, messages already shown."""

    def __init__(self, checkpoint: Optional[str] = None):
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
        self.roots: List[str] = []  # the workspace folders (initialize), real paths
        self._shown: set = set()
        self._progress_token: Optional[str] = None  # the load progress bar, while one is shown
        self._loading = False

    # ------------------------------------------------------------ transport

    max_body = 8 << 20  # bytes of one message (codefusion-lsp --max-message-mib)

    def refuse_oversize(self, msg_id: Any, length: int) -> None:
        """A request over the size cap (lsp.framing skipped it): an error answer, so the editor does not wait."""
        self.protocol._send_response(msg_id, None, JsonRpcInvalidRequest(
            f"message of {length} bytes refused: the limit is {self.max_body} bytes "
            f"(codefusion-lsp --max-message-mib)").to_response_error())

    def start_io(self, stdin=None, stdout=None) -> None:
        """stdio, with lsp.framing's reader loop (a bad Content-Length cannot deafen or kill the server)."""
        from pygls.io_ import StdoutWriter

        from lsp.framing import Source, run_framed

        self._stop_event = threading.Event()
        self.protocol.set_writer(StdoutWriter(stdout or sys.stdout.buffer))
        source = Source(stdin or sys.stdin.buffer, self.thread_pool)
        code = 0
        try:
            asyncio.run(run_framed(self._stop_event, source, self.protocol, log, self.report_server_error,
                                   max_body=self.max_body, on_oversize=self.refuse_oversize))
        except BrokenPipeError:
            log.error("the connection to the client is lost; shutting down")
        except SystemExit as e:  # `exit`: 0 after `shutdown`, 1 without (the LSP rule)
            code = e.code if isinstance(e.code, int) else 0
        except KeyboardInterrupt:
            pass
        finally:
            self.shutdown()
        if code:
            sys.exit(code)

    def start_tcp(self, host: str, port: int) -> None:
        """TCP, with lsp.framing's reader loop."""
        from lsp.framing import Source, run_framed

        self._stop_event = stop_event = threading.Event()

        async def connection(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
            self.protocol.set_writer(writer)  # type: ignore[arg-type]
            await run_framed(stop_event, Source(reader), self.protocol, log, self.report_server_error,
                             max_body=self.max_body, on_oversize=self.refuse_oversize)
            self.shutdown()

        async def serve() -> None:
            self._server = await asyncio.start_server(connection, host, port)
            async with self._server:
                await self._server.serve_forever()

        try:
            asyncio.run(serve())
        except asyncio.CancelledError:
            pass

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
        self.work_done_progress.begin(token, types.WorkDoneProgressBegin(title="CodeFusion", message=message, cancellable=False))
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
        self.log(f"ignored a message the server could not handle: {type(error).__name__}: {str(error)[:300]}",
                 types.MessageType.Warning)

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
            self.log(("the workspace is trusted: open documents and workspace exemplar files are used"
                      if self.trusted else RESTRICTED)
                     + ("" if trusted is not None else f" (the client did not send {TRUST_KEY})"))
        options, dropped = self._restrict(options)
        for f in dropped:
            warnings.append(f"codefusion.exemplarFiles: {sanitize(f)[:300]} is not used: it is relative or lies in the "
                            "untrusted workspace (only files outside the workspace count there)")
        self.options = self._with_default_checkpoint(options)
        for note in notes:
            self.log(note)
        for warning in warnings:
            self.log(warning, types.MessageType.Warning)
            self.window_show_message(types.ShowMessageParams(type=types.MessageType.Warning, message=warning))

    def set_roots(self, params: types.InitializeParams) -> None:
        """The workspace folders of `initialize` (rootUri, rootPath, workspaceFolders) as real paths."""
        uris = [f.uri for f in params.workspace_folders or []] + ([params.root_uri] if params.root_uri else [])
        paths = [_file_path(u) for u in uris] + ([params.root_path] if params.root_path else [])
        self.roots = sorted({os.path.realpath(p) for p in paths if p})

    def _restrict(self, options: Options) -> tuple:
        """(options, dropped files): untrusted, the exemplar files that are relative (they would resolve
        in the workspace) or lie in a workspace folder (symbolic links followed) are dropped."""
        if self.trusted or not options.exemplar_files:
            return options, []
        workspace = getattr(self.protocol, "_workspace", None)  # pygls' folders, kept by didChangeWorkspaceFolders
        folders = workspace.folders.values() if workspace is not None else ()
        roots = self.roots + [os.path.realpath(p) for p in (_file_path(f.uri) for f in folders) if p]
        kept, dropped = [], []
        for f in options.exemplar_files:
            real = os.path.realpath(f) if os.path.isabs(f) else None
            inside = real is None or any(real == r or real.startswith(r.rstrip(os.sep) + os.sep) for r in roots if r)
            (dropped if inside else kept).append(f)
        return dataclasses.replace(options, exemplar_files=tuple(kept)), dropped

    def preload(self) -> None:
        """Load the model in the background (so the first request does not wait for it)."""
        if self.options.languages:
            asyncio.ensure_future(self._preload())

    async def _preload(self) -> None:
        try:
            await self.service.ensure_model(self.options)
        except ModelUnavailable:
            pass  # already reported through send_status

    # ------------------------------------------------------------ locating requests

    def locate(self, uri: Any, position: Any) -> Union[Located, str]:
        """The request at a position, or a message saying why there is none."""
        if not isinstance(uri, str):
            return "no document given"
        doc = self.workspace.text_documents.get(unquote(uri))
        if doc is None:
            return f"unknown document {sanitize(uri)[:200]} (not opened with textDocument/didOpen)"
        lang = self.options.engine_language(doc.language_id or "")
        if lang is None:
            return f"CodeFusion does not handle language id {sanitize(str(doc.language_id))!r} (see codefusion.languages)"
        source = doc.source
        if len(source) > MAX_DOCUMENT_CHARS:
            return f"document too large for CodeFusion ({len(source)} characters, limit {MAX_DOCUMENT_CHARS})"
        line, character = position
        lines = split_lines(sanitize(source))  # lone surrogates -> U+FFFD: same length, encodable
        if not (isinstance(line, int) and isinstance(character, int)) or not 0 <= line < len(lines) or character < 0:
            return f"position {line}:{character} is outside the document ({len(lines)} lines)"
        column = to_codepoints(lines[line], character, self._encoding())
        request = find_request(lines, line, lang)
        if request is None:
            return "no comment at this position"
        return Located(uri, lang, lines, line, column, request)

    def check_request(self, located: Located) -> Optional[str]:
        """A message when the comment cannot be sent to the model (empty or too long)."""
        text = located.request.text
        if not text.strip():
            return "the comment is empty: write what the code should do"
        limit = self.options.max_comment_length
        if len(text) > limit:
            return f"the comment is {len(text)} characters long; the limit is {limit} (setting codefusion.maxCommentLength)"
        return None

    def _encoding(self) -> str:
        return str(self.workspace.position_encoding or "utf-16")

    def to_client(self, lines: Sequence[str]):
        encoding = self._encoding()

        def convert(line: int, column: int) -> types.Position:
            text = lines[line] if 0 <= line < len(lines) else ""
            return types.Position(line=line, character=units(text[:column], encoding))

        return convert

    async def generate_for(self, located: Located, k: Optional[int] = None) -> GenerationResult:
        """Candidates for a located request (raises ModelUnavailable, Superseded, TimedOut, ValueError, CancelledError).
        The open documents' pairs join the bank in a trusted workspace only."""
        if self.trusted:
            changed = self.exemplars.refresh(self.workspace.text_documents.values(), self.options.engine_language)
        else:
            changed = self.exemplars.clear()
        if changed:
            self.service.set_workspace_exemplars(self.exemplars.records(), self.exemplars.version)
        key = self.service.key_for(located.request.text, located.lang, self.options, k)
        return await self.service.generate(key, located.uri, self.options, request_id=self.protocol.msg_id)

    async def candidates_or_message(self, located: Located, k: Optional[int] = None):
        """(candidates, message): never raises for model problems, only for client cancellation."""
        problem = self.check_request(located)
        if problem:
            return [], problem
        try:
            result = await self.generate_for(located, k)
        except ModelUnavailable as exc:
            return [], str(exc)
        except (Superseded, TimedOut) as exc:
            return [], str(exc)
        except ValueError as exc:
            return [], str(exc)
        except Exception as exc:  # a bug or a broken install: say so, keep serving
            log.exception("generation failed")
            self.log(f"generation failed: {type(exc).__name__}: {exc}", types.MessageType.Error)
            return [], f"generation failed: {type(exc).__name__}: {exc}"
        return result.candidates, result.message


server = CodeFusionServer()


# ---------------------------------------------------------------- lifecycle


@server.feature(types.INITIALIZE)
def initialize(ls: CodeFusionServer, params: types.InitializeParams) -> None:
    """initialize: read initializationOptions (settings, and trustedWorkspace) and the workspace folders."""
    ls.set_roots(params)
    ls.apply_settings(params.initialization_options, initial=True)


@server.feature(types.INITIALIZED)
def initialized(ls: CodeFusionServer, params: types.InitializedParams) -> None:
    """initialized: start loading the model in the background."""
    ls.preload()


@server.feature(types.WORKSPACE_DID_CHANGE_CONFIGURATION)
async def did_change_configuration(ls: CodeFusionServer, params: types.DidChangeConfigurationParams) -> None:
    """workspace/didChangeConfiguration: new settings (pulled with workspace/configuration when not sent)."""
    settings = params.settings
    if settings is None:
        workspace = ls.client_capabilities.workspace
        if not (workspace and workspace.configuration):
            return  # nothing sent and nothing to pull: keep the current settings
        items = [types.ConfigurationItem(section="codefusion")]
        result = await ls.workspace_configuration_async(types.ConfigurationParams(items=items))
        settings = result[0] if result else None
    before = ls.options.model_key
    ls.apply_settings(settings)
    if ls.options.model_key != before:
        ls.preload()


@server.feature(types.TEXT_DOCUMENT_DID_CLOSE)
def did_close(ls: CodeFusionServer, params: types.DidCloseTextDocumentParams) -> None:
    """textDocument/didClose: stop the document's running generations."""
    ls.service.cancel_document(params.text_document.uri)


@server.feature(types.SHUTDOWN)
def shutdown(ls: CodeFusionServer, params: None) -> None:
    """shutdown: stop running generations."""
    ls.service.shutdown()


# ---------------------------------------------------------------- features


def _locate_cursor_edit(ls: CodeFusionServer, params):
    """The request at the cursor and the edit that inserts there, or (None, None)."""
    located = ls.locate(params.text_document.uri, (params.position.line, params.position.character))
    if isinstance(located, str):
        return None, None
    return located, converters.cursor_edit(located.request, located.lines, located.line, located.column)


@server.feature(types.TEXT_DOCUMENT_COMPLETION, types.CompletionOptions(resolve_provider=False))
async def completion(ls: CodeFusionServer, params: types.CompletionParams) -> types.CompletionList:
    """textDocument/completion: the candidates, best first, on the line after a comment or at its end."""
    empty = types.CompletionList(is_incomplete=False, items=[])
    located, edit = _locate_cursor_edit(ls, params)
    if edit is None:
        return empty
    candidates, message = await ls.candidates_or_message(located)
    if message and not candidates:
        ls.log(f"completion: {message}")
        return types.CompletionList(is_incomplete=True, items=[])
    items = converters.completion_items(candidates, located.lang, edit, ls.to_client(located.lines))
    return types.CompletionList(is_incomplete=False, items=items)


@server.feature(types.TEXT_DOCUMENT_INLINE_COMPLETION, types.InlineCompletionOptions())
async def inline_completion(ls: CodeFusionServer, params: types.InlineCompletionParams) -> types.InlineCompletionList:
    """textDocument/inlineCompletion: ghost text; an automatic trigger gets 1 candidate, an explicit one k."""
    empty = types.InlineCompletionList(items=[])
    located, edit = _locate_cursor_edit(ls, params)
    if edit is None:
        return empty
    automatic = params.context.trigger_kind == types.InlineCompletionTriggerKind.Automatic
    candidates, message = await ls.candidates_or_message(located, k=1 if automatic else None)
    if message and not candidates:
        ls.log(f"inline completion: {message}")
    return types.InlineCompletionList(items=converters.inline_items(candidates, edit, ls.to_client(located.lines)))


def _supports_resolve(ls: CodeFusionServer) -> bool:
    doc = ls.client_capabilities.text_document
    action = doc.code_action if doc else None
    support = action.resolve_support if action else None
    return bool(support and "edit" in support.properties)


def show_title(k: int) -> str:
    """The picker action's title: "Show 1 candidate…", "Show 5 candidates…"."""
    return f"Show {k} candidate{'' if k == 1 else 's'}…"


@server.feature(
    types.TEXT_DOCUMENT_CODE_ACTION,
    types.CodeActionOptions(code_action_kinds=[types.CodeActionKind.RefactorRewrite], resolve_provider=True),
)
async def code_action(ls: CodeFusionServer, params: types.CodeActionParams) -> List[types.CodeAction]:
    """textDocument/codeAction: "Generate code from comment" and "Show N candidates…" on a comment.

    Clients that can resolve code actions get the edit (and so the generation)
    only when the user picks the action; others get it computed now.
    """
    uri = params.text_document.uri
    position = params.range.start
    located = ls.locate(uri, (position.line, position.character))
    if isinstance(located, str) and params.range.end.line != position.line:
        position = params.range.end
        located = ls.locate(uri, (position.line, position.character))
    if isinstance(located, str) or ls.check_request(located):
        return []
    anchor = {"uri": uri, "position": {"line": position.line, "character": position.character}}
    show = types.CodeAction(
        title=show_title(ls.options.k),
        kind=types.CodeActionKind.RefactorRewrite,
        command=types.Command(title=show_title(ls.options.k), command=CMD_SHOW_CANDIDATES, arguments=[anchor]),
    )
    generate = types.CodeAction(title=GENERATE_TITLE, kind=types.CodeActionKind.RefactorRewrite, data=anchor)
    if not _supports_resolve(ls):
        generate = await code_action_resolve(ls, generate)
        if generate.edit is None:
            return [show]
    return [generate, show]


@server.feature(types.CODE_ACTION_RESOLVE)
async def code_action_resolve(ls: CodeFusionServer, action: types.CodeAction) -> types.CodeAction:
    """codeAction/resolve: the edit that inserts the best candidate below the comment."""
    data = action.data if isinstance(action.data, dict) else {}
    position = data.get("position") if isinstance(data.get("position"), dict) else {}
    located = ls.locate(data.get("uri"), (position.get("line"), position.get("character")))
    if isinstance(located, str):
        action.disabled = types.CodeActionDisabled(reason=located)
        return action
    candidates, message = await ls.candidates_or_message(located)
    if not candidates:
        action.disabled = types.CodeActionDisabled(reason=message or "no candidates")
        return action
    action.edit = converters.workspace_edit(
        located.uri, located.request, located.lines, candidates[0].code, ls.to_client(located.lines)
    )
    return action


# ---------------------------------------------------------------- commands


def _position_argument(args: Sequence[Any]) -> Union[Dict[str, Any], str]:
    if len(args) != 1 or not isinstance(args[0], dict):
        return 'expected one argument {"uri": ..., "position": {"line": ..., "character": ...}}'
    arg = args[0]
    pos = arg.get("position")
    if not isinstance(arg.get("uri"), str) or not isinstance(pos, dict):
        return 'expected one argument {"uri": ..., "position": {"line": ..., "character": ...}}'
    if not all(isinstance(pos.get(f), int) and not isinstance(pos.get(f), bool) for f in ("line", "character")):
        return "position.line and position.character must be integers"
    return arg


@server.command(CMD_GENERATE)
async def generate_command(ls: CodeFusionServer, *args: Any) -> Dict[str, Any]:
    """workspace/executeCommand codefusion.generate: all candidates for a client-side picker."""
    arg = _position_argument(args)
    if isinstance(arg, str):
        return converters.empty_result(arg)
    located = ls.locate(arg["uri"], (arg["position"]["line"], arg["position"]["character"]))
    if isinstance(located, str):
        return converters.empty_result(located)
    candidates, message = await ls.candidates_or_message(located)
    return converters.generate_result(
        located.request, located.lang, candidates, message, located.lines, ls.to_client(located.lines)
    )


@server.command(CMD_INSERT)
async def insert_command(ls: CodeFusionServer, *args: Any) -> Dict[str, bool]:
    """workspace/executeCommand codefusion.insert: apply one candidate below the comment (workspace/applyEdit)."""
    arg = _position_argument(args)
    if isinstance(arg, str) or not isinstance(arg.get("code"), str):
        ls.log(f"{CMD_INSERT}: {arg if isinstance(arg, str) else 'code must be a string'}", types.MessageType.Warning)
        return {"applied": False}
    located = ls.locate(arg["uri"], (arg["position"]["line"], arg["position"]["character"]))
    if isinstance(located, str):
        ls.log(f"{CMD_INSERT}: {located}", types.MessageType.Warning)
        return {"applied": False}
    edit = converters.workspace_edit(
        located.uri, located.request, located.lines, sanitize(arg["code"]), ls.to_client(located.lines)
    )
    result = await ls.workspace_apply_edit_async(types.ApplyWorkspaceEditParams(edit=edit, label="CodeFusion"))
    return {"applied": bool(result and result.applied)}


# ---------------------------------------------------------------- entry point


class OneLineFormatter(logging.Formatter):
    """A log record in one line, never a traceback: an exception becomes `(TypeName: message)`, and
    of a message with more lines (pygls puts tracebacks in its messages) only the first is kept;
    `--log-file` keeps everything."""

    def format(self, record: logging.LogRecord) -> str:
        exc, record.exc_info, record.exc_text = record.exc_info, None, None
        try:
            line = super().format(record)
        finally:
            record.exc_info = exc
        first = line.split("\n", 1)[0]
        if first != line:
            first += " (more with --log-file)"
        if exc and exc[1] is not None:
            first += f" ({type(exc[1]).__name__}: {sanitize(str(exc[1])).splitlines()[0][:300] if str(exc[1]) else ''})"
        return first[:2000]


def main(argv: Optional[Sequence[str]] = None) -> int:
    """Console entry point `codefusion-lsp` (stdio unless --tcp)."""
    parser = argparse.ArgumentParser(prog="codefusion-lsp", description="CodeFusion language server")
    parser.add_argument("--tcp", metavar="HOST:PORT", help="listen on TCP instead of stdio (a session per connection)")
    parser.add_argument("--token", default=None, help="with --tcp beyond loopback: the first line a client must send")
    parser.add_argument("--checkpoint", metavar="DIR", help="model checkpoint when the codefusion.checkpoint setting is null")
    parser.add_argument("--log-file", metavar="FILE", help="write the server's debug log here")
    parser.add_argument("--max-message-mib", type=float, default=8.0, metavar="MIB",
                        help="largest message accepted, in MiB (default 8); larger requests get an error answer")
    from engine.api import version

    parser.add_argument("--version", action="version", version=f"codefusion-lsp {version()}")
    args = parser.parse_args(argv)
    if args.log_file:
        logging.basicConfig(filename=args.log_file, level=logging.DEBUG, format="%(asctime)s %(name)s %(levelname)s %(message)s")
    else:  # the editor shows stderr: one line per problem, never a traceback (--log-file has them)
        handler = logging.StreamHandler(sys.stderr)
        handler.setFormatter(OneLineFormatter("%(levelname)s %(name)s: %(message)s"))
        logging.basicConfig(handlers=[handler], level=logging.WARNING)
    if not 0 < args.max_message_mib <= 1024:
        parser.error(f"--max-message-mib must be in (0, 1024], got {args.max_message_mib}")
    server.max_body = int(args.max_message_mib * (1 << 20))
    server.default_checkpoint = args.checkpoint
    server.options = server._with_default_checkpoint(server.options)
    if args.tcp:
        host, _, port = args.tcp.rpartition(":")
        if not host or not port.isdigit():
            parser.error("--tcp expects HOST:PORT, e.g. 127.0.0.1:2087")
        from lsp.tcp import serve

        child = (["--checkpoint", args.checkpoint] if args.checkpoint else []) + \
            ["--max-message-mib", str(args.max_message_mib)] + \
            (["--log-file", args.log_file] if args.log_file else [])
        serve(host, int(port), child, args.token)
    else:
        server.start_io()
    return 0
