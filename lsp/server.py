"""The CodeFusion language server: NL comments in, code candidates out. `codefusion-lsp`, `python -m lsp`.

A thin layer: the handlers (lsp.handlers, one per LSP method) run on `server`, a CodeFusionServer
(lsp.language_server, the state) over pure functions: lsp.locate (where is the request),
lsp.converters (LSP objects) and lsp.scheduler (the model's requests, cache and cancellation; the
model itself is lsp.engine_client's, the shared engine lsp.failover's). Every use of pygls's
private API is in lsp.pygls_compat, with the upstream issue that makes it necessary.

The server never executes generated code and sends no telemetry. In an untrusted workspace (the
client's `trustedWorkspace` option false or absent) it takes no exemplars from open documents and no
exemplar file that is relative or lies in a workspace folder.
"""

from __future__ import annotations

import argparse
import logging
import sys
from collections.abc import Sequence

from lsp.handlers import server
from lsp.language_server import CodeFusionServer
from lsp.text import sanitize

__all__ = ["CodeFusionServer", "OneLineFormatter", "main", "server"]


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


def main(argv: Sequence[str] | None = None) -> int:
    """Console entry point `codefusion-lsp` (stdio unless --tcp)."""
    parser = argparse.ArgumentParser(prog="codefusion-lsp", description="CodeFusion language server")
    parser.add_argument("--tcp", metavar="HOST:PORT", help="listen on TCP instead of stdio (a session per connection)")
    parser.add_argument("--token", default=None, help="with --tcp beyond loopback: the first line a client must send")
    parser.add_argument(
        "--checkpoint", metavar="DIR", help="model checkpoint when the codefusion.checkpoint setting is null"
    )
    parser.add_argument("--log-file", metavar="FILE", help="write the server's debug log here")
    parser.add_argument(
        "--max-message-mib",
        type=float,
        default=8.0,
        metavar="MIB",
        help="largest message accepted, in MiB (default 8); larger requests get an error answer",
    )
    from engine.api import version

    parser.add_argument("--version", action="version", version=f"codefusion-lsp {version()}")
    args = parser.parse_args(argv)
    if args.log_file:
        logging.basicConfig(
            filename=args.log_file, level=logging.DEBUG, format="%(asctime)s %(name)s %(levelname)s %(message)s"
        )
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

        child = (
            (["--checkpoint", args.checkpoint] if args.checkpoint else [])
            + ["--max-message-mib", str(args.max_message_mib)]
            + (["--log-file", args.log_file] if args.log_file else [])
        )
        serve(host, int(port), child, args.token)
    else:
        server.start_io()
    return 0
