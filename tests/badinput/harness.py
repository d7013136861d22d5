"""A raw client for the real server process (`python -m lsp`): bytes in, parsed messages out.

pytest-lsp cannot send what the bad-input suite needs (broken framing, positions as floats,
requests that are not JSON-RPC 2.0), so this client writes bytes to the server's stdin and a
reader thread parses what comes back. It answers the server's own requests (workspace/
configuration with the current settings, anything else with null) as an editor would.
"""

from __future__ import annotations

import itertools
import json
import os
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[2]
ENV = {**os.environ, "PYTHONPATH": os.pathsep.join(filter(None, [str(REPO), os.environ.get("PYTHONPATH")]))}
PROBE_URI = "file:///badinput/probe.sh"
PROBE_TEXT = "#!/bin/bash\n# list all files in the current directory\n\necho done\n"


def frame(msg: Any, length_delta: int = 0, eol: bytes = b"\r\n") -> bytes:
    body = msg if isinstance(msg, bytes) else json.dumps(msg).encode()
    return b"Content-Length: " + str(len(body) + length_delta).encode() + eol + eol + body


class Server:
    """One real server process. `messages` holds every message it sent, in order."""

    def __init__(self, options: dict | None = None, args: Sequence[str] = (), env: dict | None = None):
        self.options = dict(options or {})
        self.stderr = tempfile.TemporaryFile()
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "lsp", *args],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=self.stderr,
            env={**ENV, **(env or {})},
            cwd=REPO,
        )
        self.messages: list[dict] = []
        self.cond = threading.Condition()
        self.closed = False
        self._ids = itertools.count(1000)
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()

    # --- reading
    def _read(self) -> None:
        out = self.proc.stdout
        try:
            while True:
                length = None
                while True:
                    line = out.readline()
                    if not line:
                        raise EOFError
                    if line in (b"\r\n", b"\n"):
                        break
                    if line.lower().startswith(b"content-length:"):
                        length = int(line.split(b":")[1])
                msg = json.loads(out.read(length))
                if "method" in msg and "id" in msg:  # a request from the server: answer like an editor
                    self._answer_server_request(msg)
                with self.cond:
                    self.messages.append(msg)
                    self.cond.notify_all()
        except (EOFError, ValueError, OSError):
            with self.cond:
                self.closed = True
                self.cond.notify_all()

    def _answer_server_request(self, msg: dict) -> None:
        result: Any = None
        if msg["method"] == "workspace/configuration":
            items = (msg.get("params") or {}).get("items") or []
            result = [self.options if item.get("section") == "codefusion" else None for item in items]
        try:
            self.send({"jsonrpc": "2.0", "id": msg["id"], "result": result})
        except OSError:
            pass

    def wait_for(self, pred: Callable[[dict], bool], timeout: float, start: int = 0) -> dict | None:
        """The first message from index `start` on that satisfies pred, or None after timeout."""
        deadline = time.monotonic() + timeout
        with self.cond:
            while True:
                for msg in self.messages[start:]:
                    if pred(msg):
                        return msg
                left = deadline - time.monotonic()
                if left <= 0 or self.closed:
                    return None
                self.cond.wait(left)

    def response(self, msg_id: Any, timeout: float = 30.0, start: int = 0) -> dict | None:
        return self.wait_for(lambda m: m.get("id") == msg_id and "method" not in m, timeout, start)

    def notices(self, start: int = 0) -> list[str]:
        """Texts of window/showMessage, window/logMessage and codefusion/status since `start`."""
        with self.cond:
            msgs = list(self.messages[start:])
        return [
            str((m.get("params") or {}).get("message", ""))
            for m in msgs
            if m.get("method") in ("window/showMessage", "window/logMessage", "codefusion/status")
        ]

    def mark(self) -> int:
        with self.cond:
            return len(self.messages)

    # --- writing
    def send(self, data: bytes | dict) -> None:
        self.proc.stdin.write(data if isinstance(data, bytes) else frame(data))
        self.proc.stdin.flush()

    def request(self, method: str, params: Any = None, msg_id: Any = None) -> Any:
        msg_id = next(self._ids) if msg_id is None else msg_id
        msg = {"jsonrpc": "2.0", "id": msg_id, "method": method}
        if params is not None:
            msg["params"] = params
        self.send(msg)
        return msg_id

    def notify(self, method: str, params: Any = None) -> None:
        msg = {"jsonrpc": "2.0", "method": method}
        if params is not None:
            msg["params"] = params
        self.send(msg)

    def call(self, method: str, params: Any = None, timeout: float = 60.0) -> dict | None:
        start = self.mark()
        return self.response(self.request(method, params), timeout, start)

    # --- the session
    def initialize(self, timeout: float = 60.0) -> dict:
        reply = self.call(
            "initialize",
            {
                "processId": None,
                "rootUri": None,
                "capabilities": {"workspace": {"configuration": True}, "window": {"workDoneProgress": True}},
                "initializationOptions": self.options,
            },
            timeout,
        )
        assert reply and "result" in reply, f"initialize: {reply}"
        self.notify("initialized", {})
        return reply

    def wait_ready(self, timeout: float = 180.0) -> str:
        """Waits for codefusion/status ready or error; returns the state."""
        msg = self.wait_for(
            lambda m: (
                m.get("method") == "codefusion/status" and (m.get("params") or {}).get("state") in ("ready", "error")
            ),
            timeout,
        )
        assert msg, "no codefusion/status ready/error"
        return msg["params"]["state"]

    def open(self, uri: str, text: str, language_id: str = "shellscript", version: int = 1) -> None:
        self.notify(
            "textDocument/didOpen",
            {"textDocument": {"uri": uri, "languageId": language_id, "version": version, "text": text}},
        )

    def probe(self, attempts: int = 3, timeout: float = 20.0) -> dict:
        """A normal completion on a fresh copy of the probe document: the server must answer it.
        Retries (a broken frame may swallow the first one while the server resynchronises)."""
        for _ in range(attempts):
            self.open(PROBE_URI, PROBE_TEXT)
            start = self.mark()
            msg_id = self.request(
                "textDocument/completion", {"textDocument": {"uri": PROBE_URI}, "position": {"line": 2, "character": 0}}
            )
            reply = self.response(msg_id, timeout, start)
            if reply is not None:
                assert "result" in reply, f"the probe completion got {reply}"
                return reply
            if not self.alive():
                break
        raise AssertionError(f"deaf or dead: no answer to a normal completion (exit code {self.proc.poll()})")

    def alive(self) -> bool:
        return self.proc.poll() is None

    def stderr_text(self) -> str:
        if self.stderr.closed:
            return self._stderr_final
        self.stderr.seek(0)
        return self.stderr.read().decode("utf-8", "replace")

    def close(self) -> int | None:
        """shutdown + exit when it is alive; returns the exit code."""
        try:
            if self.alive():
                self.call("shutdown", None, 30)
                self.notify("exit")
            return self.proc.wait(timeout=30)
        except (OSError, subprocess.TimeoutExpired):
            self.proc.kill()
            return self.proc.wait()
        finally:
            self._stderr_final = self.stderr_text()
            self.stderr.close()


def tracebacks(text: str) -> list[str]:
    """Python tracebacks in a text (stderr, or the server's log messages)."""
    return [part[:400] for part in text.split("Traceback (most recent call last)")[1:]]
