"""`codefusion-lsp --tcp HOST:PORT`: one language-server session per connection.

Each connection gets its own server process on stdio (`python -m lsp`), and the bytes are relayed
both ways: two editors never see each other's answers, one disconnecting (or a port scan that
connects and closes) ends only its own session, and the listener stays up. Beyond the loopback
interface a token is required: the first line a client sends must be it (for tunnels; refused
connections are closed at once).
"""

from __future__ import annotations

import asyncio
import hmac
import ipaddress
import logging
import sys

log = logging.getLogger(__name__)


def is_loopback(host: str) -> bool:
    if host in ("localhost", ""):
        return host == "localhost"
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


async def _pump(reader: asyncio.StreamReader, writer, close_on_end: bool = True) -> None:
    try:
        while True:
            data = await reader.read(1 << 16)
            if not data:
                break
            writer.write(data)
            await writer.drain()
    except (ConnectionError, asyncio.CancelledError):
        pass
    finally:
        if close_on_end:
            try:
                writer.close()
            except (ConnectionError, RuntimeError):
                pass


async def _session(
    reader: asyncio.StreamReader, writer: asyncio.StreamWriter, child_args: list[str], token: str | None
) -> None:
    peer = writer.get_extra_info("peername")
    if token is not None:
        try:
            line = await asyncio.wait_for(reader.readline(), 10)
        except (asyncio.TimeoutError, ValueError, ConnectionError):
            line = b""
        if not hmac.compare_digest(line.strip(), token.encode()):
            log.warning("refused %s: wrong or missing token", peer)
            writer.close()
            return
    proc = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "lsp",
        *child_args,
        stdin=asyncio.subprocess.PIPE,
        stdout=asyncio.subprocess.PIPE,
        stderr=None,
    )
    log.info("session for %s: server process %s", peer, proc.pid)
    assert proc.stdin is not None and proc.stdout is not None  # both PIPE
    up = asyncio.ensure_future(_pump(reader, proc.stdin))
    down = asyncio.ensure_future(_pump(proc.stdout, writer))
    await asyncio.wait([up, down], return_when=asyncio.FIRST_COMPLETED)
    for task in (up, down):
        task.cancel()
    if proc.returncode is None:
        proc.terminate()
        try:
            await asyncio.wait_for(proc.wait(), 10)
        except asyncio.TimeoutError:
            proc.kill()
    try:
        writer.close()
    except (ConnectionError, RuntimeError):
        pass
    log.info("session for %s ended", peer)


def serve(host: str, port: int, child_args: list[str], token: str | None = None) -> None:
    """Listen until interrupted; every connection is a session of its own."""
    if not is_loopback(host) and not token:
        raise SystemExit(f"codefusion-lsp: listening on {host} (beyond loopback) needs --token TOKEN")

    async def main() -> None:
        srv = await asyncio.start_server(lambda r, w: _session(r, w, child_args, token), host, port)
        async with srv:
            await srv.serve_forever()

    try:
        asyncio.run(main())
    except KeyboardInterrupt:
        pass
