"""LSP framing that never trusts Content-Length (replaces pygls's reader loop, `pygls.io_.run_async`).

pygls reads `Content-Length: N` and then exactly N bytes. A length that is too long leaves it
waiting forever (the server goes deaf), a huge one is allocated or kills it, a missing, zero or
LF-only header is never matched. Here:

* a header line is anything up to a newline (CRLF or LF); `Content-Length` is found anywhere in
  the line (so a message that follows garbage is still found), any case, digits only;
* a length over `max_body` (default 8 MiB, `codefusion-lsp --max-message-mib`) or under 1 is
  refused: the body is not read, and its bytes are skipped as junk up to the next header; of an
  over-long request, the first 4 KiB are read to recover its id, and it gets an error answer
  (`on_oversize(id, length)`);
* a body whose bytes stop coming (the length was too long) is read as it is after BODY_IDLE_S;
  a body that is not JSON is dropped, and when it holds the start of the next message (the length
  was too long), the message before it is handled and reading resumes there.

Every problem is logged, none ends the loop; only the end of the stream does.
"""

from __future__ import annotations

import asyncio
import json
import logging
import re
import threading
from collections.abc import Callable
from typing import Any

MAX_BODY = 8 << 20  # bytes
MAX_LINE = 1 << 16  # bytes of one header line kept (longer lines are junk anyway)
BODY_IDLE_S = 1.0  # a body still short after this long without bytes is read as it is
_LENGTH = re.compile(rb"content-length[ \t]*:[ \t]*([^\r\n]*)", re.IGNORECASE)
_NEXT = re.compile(rb"content-length[ \t]*:", re.IGNORECASE)
_ID = re.compile(rb'"id"\s*:\s*(-?\d{1,18}|"(?:[^"\\]|\\.){0,200}")')
PEEK = 4096  # bytes of a refused body read to recover the request's id


class Source:
    """Bytes from stdin (a blocking binary stream, read in a worker thread) or an asyncio stream,
    as lines and bodies, with a time limit on the wait for a body's missing bytes and bytes pushed
    back in front. A line longer than MAX_LINE is cut: memory stays bounded whatever arrives."""

    def __init__(self, stream: Any, executor=None):
        self.stream = stream
        self.executor = executor
        self.is_async = hasattr(stream, "readuntil")  # asyncio.StreamReader
        self.buf = b""
        self._pending: asyncio.Future | None = None  # a stdin read still running after a timeout
        self.eof = False

    def push_back(self, data: bytes) -> None:
        self.buf = data + self.buf

    async def _chunk(self, timeout: float | None) -> bytes | None:
        """The next bytes (b"" at the end of the stream), or None when `timeout` s pass without any."""
        if self.is_async:
            try:
                return await asyncio.wait_for(self.stream.read(1 << 16), timeout)
            except asyncio.TimeoutError:
                return None
        if self._pending is None:
            read = getattr(self.stream, "read1", self.stream.read)
            self._pending = asyncio.get_running_loop().run_in_executor(self.executor, read, 1 << 16)
        try:
            data = await asyncio.wait_for(asyncio.shield(self._pending), timeout)
        except asyncio.TimeoutError:
            return None  # the read goes on; its bytes come with the next call
        self._pending = None
        return data

    async def readline(self) -> bytes:
        """Up to and including the next newline; b"" at the end of the stream."""
        while b"\n" not in self.buf and not self.eof:
            data = await self._chunk(None)
            if not data:
                self.eof = True
                break
            self.buf += data
            if len(self.buf) > MAX_LINE and b"\n" not in self.buf:
                self.buf = self.buf[-64:]  # junk; keep a tail that may start a header
        if b"\n" in self.buf:
            line, self.buf = self.buf.split(b"\n", 1)
            return line + b"\n"
        line, self.buf = self.buf, b""
        return line

    async def body(self, n: int, idle_s: float) -> tuple[bytes, bool]:
        """n bytes, or fewer when the stream ends or stays silent for idle_s (a Content-Length too
        long): (bytes, complete)."""
        while len(self.buf) < n and not self.eof:
            data = await self._chunk(idle_s)
            if data is None:
                break
            if not data:
                self.eof = True
                break
            self.buf += data
        data, self.buf = self.buf[:n], self.buf[n:]
        return data, len(data) == n


def content_length(line: bytes) -> str | None:
    """The raw value of a Content-Length header in this line, or None."""
    m = _LENGTH.search(line)
    return None if m is None else m.group(1).strip().decode("latin-1")


def recover_id(head: bytes) -> Any:
    """The id of the request whose body starts with `head` (None when there is none to see)."""
    if b'"method"' not in head:
        return None  # a notification or a response: nobody waits for an answer
    m = _ID.search(head)
    if m is None:
        return None
    try:
        return json.loads(m.group(1))
    except ValueError:
        return None


async def run_framed(
    stop_event: threading.Event,
    src: Source,
    protocol: Any,
    logger: logging.Logger | None = None,
    error_handler: Callable | None = None,
    max_body: int = MAX_BODY,
    idle_s: float = BODY_IDLE_S,
    on_oversize: Callable[[Any, int], None] | None = None,
) -> None:
    """The message loop: read framed messages and hand them to `protocol` until the stream ends."""
    log = logger or logging.getLogger(__name__)
    length: int | None = None
    oversize: int | None = None  # a refused length over max_body: its id is looked for
    in_headers = False
    while not stop_event.is_set():
        line = await src.readline()
        if not line:
            break  # end of the stream
        value = content_length(line)
        if value is not None:
            in_headers = True
            length = int(value) if value.isdigit() and len(value) <= 12 else None
            if length is None or not 0 < length <= max_body:
                log.warning(
                    "refused Content-Length %r (1..%d bytes); skipping to the next header", value[:40], max_body
                )
                oversize = length if length is not None and length > max_body and on_oversize else None
                length, in_headers = None, oversize is not None
            continue
        if not in_headers:
            if line.strip():
                log.debug("skipped %d bytes outside a message", len(line))
            continue
        if line.strip():
            continue  # another header (Content-Type): nothing to do
        in_headers = False
        if oversize is not None:  # read its start for the id, answer, skip the rest as junk
            head, _ = await src.body(min(oversize, PEEK), idle_s)
            nxt = _NEXT.search(head)
            if nxt is not None:  # the length lied: what follows is the next message; keep it
                src.push_back(head[nxt.start() :])
                head = head[: nxt.start()]
            msg_id = recover_id(head)
            if msg_id is not None and on_oversize is not None:  # (oversize is only set with on_oversize)
                on_oversize(msg_id, oversize)
            oversize = None
            continue
        assert length is not None  # in_headers comes with a valid length (or with oversize, handled above)
        body, complete = await src.body(length, idle_s)
        if not complete:
            log.warning("Content-Length %d but %d bytes came; reading what came", length, len(body))
        length = None
        try:  # structured at the top only: an object inside params that looks like a request stays data
            data = json.loads(body)
            message = protocol.structure_message(data) if isinstance(data, dict) else data
        except Exception as exc:  # not JSON, or not a message: drop it, resynchronise on a header inside
            nxt = _NEXT.search(body)
            if nxt is None:  # the length may have been too short: the next header may begin inside
                src.push_back(body[1:])  # rescanned as lines: junk is skipped, a header is found
            else:
                src.push_back(body[nxt.start() :])
                head = body[: nxt.start()]
                try:  # the length was too long: the message itself is whole before the next header
                    protocol.handle_message(protocol.structure_message(json.loads(head)))
                    continue
                except Exception:
                    pass
            log.warning("dropped a message body that is not a JSON-RPC message (%s)", type(exc).__name__)
            if error_handler and isinstance(exc, UnicodeDecodeError):  # the server tells the user (once)
                error_handler(exc, Exception)
            continue
        try:
            protocol.handle_message(message)
        except Exception as exc:
            log.exception("Unable to handle message")
            if error_handler:
                error_handler(exc, Exception)
