"""Every place the server reaches into pygls's private API (pygls 2.1), and why.

Each override makes the server answer what the LSP / JSON-RPC specifications require where pygls
2.1 does not; each names the upstream issue (or says none was found) and can go when pygls does it:

* `$/cancelRequest` for a command: pygls cancels the future of the request, but an async
  `workspace/executeCommand` handler runs as a sub-task the cancellation does not reach, so the
  server cancels it by request id too (`_handle_cancel_notification`). Upstream, cancellation only
  reaches what pygls itself tracks: https://github.com/openlawlibrary/pygls/issues/517
* a request whose params do not fit the protocol gets InvalidParams (-32602), one not in JSON-RPC
  2.0 gets InvalidRequest (-32600), an unknown method MethodNotFound (-32601); pygls raises in
  `structure_message` and the request is never answered (`structure_message`). Upstream, on how
  strictly pygls structures params: https://github.com/openlawlibrary/pygls/issues/326
* after `shutdown`, requests get InvalidRequest; pygls drops them unanswered (`handle_message`):
  https://github.com/openlawlibrary/pygls/issues/605
* requests before `initialize` get ServerNotInitialized (-32002) and a second `initialize` gets
  InvalidRequest (`_handle_request`); no upstream issue found.
* the reader loop is lsp.framing, not `pygls.io_.run_async` (a bad Content-Length deafens or kills
  pygls's reader; see lsp.framing), so `run_stdio` / `run_tcp` set pygls's `_stop_event` and
  `_server` as `LanguageServer.start_io` / `start_tcp` do; no upstream issue found.
* `send_error` answers a request with an error outside a handler (`_send_response`).
"""

from __future__ import annotations

import asyncio
import logging
import sys
import threading
from collections.abc import Callable
from typing import Any, Protocol, runtime_checkable

from lsprotocol import types
from pygls.exceptions import (
    JsonRpcException,
    JsonRpcInvalidParams,
    JsonRpcInvalidRequest,
    JsonRpcMethodNotFound,
    JsonRpcServerNotInitialized,
)
from pygls.io_ import StdoutWriter
from pygls.lsp.server import LanguageServer
from pygls.protocol import LanguageServerProtocol

from lsp.framing import Source, run_framed
from lsp.text import sanitize

log = logging.getLogger("lsp.server")
_ANSWERED = object()  # a request that structure_message already answered with an error


@runtime_checkable
class Hooks(Protocol):
    """What the protocol asks of the server (lsp.language_server.CodeFusionServer)."""

    def cancel_request(self, msg_id: Any) -> None: ...

    def log(self, message: str, kind: types.MessageType = types.MessageType.Log) -> None: ...


def send_error(protocol: LanguageServerProtocol, msg_id: Any, error: JsonRpcException) -> None:
    """Answer request `msg_id` with an error response."""
    protocol._send_response(msg_id, None, error.to_response_error())


class CodeFusionProtocol(LanguageServerProtocol):
    """pygls' protocol, plus the answers listed in the module docstring."""

    def _handle_cancel_notification(self, msg_id):
        super()._handle_cancel_notification(msg_id)
        if isinstance(self._server, Hooks):
            self._server.cancel_request(msg_id)

    def structure_message(self, data):
        """Also: a request whose params do not fit the protocol (a negative or non-integer
        position, ...) gets an InvalidParams error response; pygls would leave it unanswered.
        Positions are checked strictly: lsprotocol's converter would take 1.5 or "3" for a line."""
        if (
            isinstance(data, dict)
            and "id" in data
            and ("method" in data or data.get("jsonrpc") != "2.0")
            and (data.get("jsonrpc") != "2.0" or not isinstance(data.get("method"), str))
        ):
            if "method" in data or "params" in data:  # a request that is not JSON-RPC 2.0: say so
                send_error(
                    self,
                    data["id"],
                    JsonRpcInvalidRequest(
                        'not a JSON-RPC 2.0 request ("jsonrpc": "2.0" and a string method are needed)'
                    ),
                )
                return _ANSWERED
        if isinstance(data, dict) and isinstance(data.get("method"), str) and not self._knows(data["method"]):
            if "id" in data:  # JSON-RPC: a request for a method the server does not have
                send_error(
                    self, data["id"], JsonRpcMethodNotFound(f"unknown method {sanitize(data['method'])[:100]!r}")
                )
            else:  # an unknown notification is ignored (LSP: `$/` ones may be; so are the others)
                log.debug("ignored the unknown notification %r", data["method"][:100])
            return _ANSWERED
        try:
            if (
                isinstance(data, dict)
                and str(data.get("method", "")).startswith("textDocument/")
                and not _strict_positions(data.get("params"))
            ):  # (commands check their own arguments)
                raise JsonRpcInvalidParams("positions must be non-negative integers")
            return super().structure_message(data)
        except JsonRpcException:
            if not (isinstance(data, dict) and "jsonrpc" in data and "method" in data and "id" in data):
                raise
            message = f"invalid parameters for {sanitize(str(data['method']))[:100]}"
            send_error(self, data["id"], JsonRpcInvalidParams(message))
            if isinstance(self._server, Hooks):
                self._server.log(message, types.MessageType.Warning)
            return _ANSWERED

    def _knows(self, method: str) -> bool:
        """An LSP method (lsprotocol knows its types) or one this server registered."""
        return self.get_message_type(method) is not None or method in self.fm.features

    def handle_message(self, message):
        if message is _ANSWERED:
            return
        if (
            getattr(self, "_shutdown", False)
            and getattr(message, "method", None) not in (None, types.EXIT)
            and getattr(message, "id", None) is not None
        ):  # LSP: requests after shutdown get InvalidRequest
            send_error(self, message.id, JsonRpcInvalidRequest("the server is shutting down"))
            return
        super().handle_message(message)

    def _handle_request(self, msg_id, method_name, params):
        """Also: requests before `initialize` get ServerNotInitialized (-32002); a second `initialize`
        gets InvalidRequest (-32600) and leaves the session as it was."""
        initialized = getattr(self, "_cf_initialized", False)
        if method_name == types.INITIALIZE:
            if initialized:
                send_error(self, msg_id, JsonRpcInvalidRequest("the server is already initialized"))
                return
            self._cf_initialized = True
        elif not initialized and method_name != types.SHUTDOWN:
            send_error(self, msg_id, JsonRpcServerNotInitialized())
            return
        super()._handle_request(msg_id, method_name, params)


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


def run_stdio(
    server: LanguageServer, stdin: Any, stdout: Any, max_body: int, on_oversize: Callable[[Any, int], None]
) -> None:
    """LanguageServer.start_io with lsp.framing's reader loop (a bad Content-Length cannot deafen or
    kill the server); exits with the code of `exit` (0 after `shutdown`, 1 without)."""
    server._stop_event = threading.Event()
    server.protocol.set_writer(StdoutWriter(stdout or sys.stdout.buffer))
    source = Source(stdin or sys.stdin.buffer, server.thread_pool)
    code = 0
    try:
        asyncio.run(
            run_framed(
                server._stop_event,
                source,
                server.protocol,
                log,
                server.report_server_error,
                max_body=max_body,
                on_oversize=on_oversize,
            )
        )
    except BrokenPipeError:
        log.error("the connection to the client is lost; shutting down")
    except SystemExit as e:  # `exit`: 0 after `shutdown`, 1 without (the LSP rule)
        code = e.code if isinstance(e.code, int) else 0
    except KeyboardInterrupt:
        pass
    finally:
        server.shutdown()
    if code:
        sys.exit(code)


def run_tcp(
    server: LanguageServer, host: str, port: int, max_body: int, on_oversize: Callable[[Any, int], None] | None
) -> None:
    """LanguageServer.start_tcp with lsp.framing's reader loop."""
    server._stop_event = stop_event = threading.Event()

    async def connection(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        server.protocol.set_writer(writer)
        await run_framed(
            stop_event,
            Source(reader),
            server.protocol,
            log,
            server.report_server_error,
            max_body=max_body,
            on_oversize=on_oversize,
        )
        server.shutdown()

    async def serve() -> None:
        server._server = await asyncio.start_server(connection, host, port)
        async with server._server:
            await server._server.serve_forever()

    try:
        asyncio.run(serve())
    except asyncio.CancelledError:
        pass
