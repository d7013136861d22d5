"""Bad framing against the real server process: after each case a proper request is answered and
the server is alive (lsp/framing.py). Plus the framing loop itself on an in-memory stream."""

import asyncio
import json
import os
import select
import subprocess
import sys
import threading
import time

import pytest

from tests.lsp.conftest import REPO, SERVER_ENV

INIT = {
    "jsonrpc": "2.0",
    "id": 1,
    "method": "initialize",
    "params": {"processId": None, "rootUri": None, "capabilities": {}},
}


def frame(msg: dict, length_delta: int = 0, eol: bytes = b"\r\n") -> bytes:
    body = json.dumps(msg).encode()
    return b"Content-Length: " + str(len(body) + length_delta).encode() + eol + eol + body


_LEFT: dict = {}  # bytes read past a message, per server process: the next message starts there


def read_message(proc, timeout: float) -> dict:
    """One framed message from the server's stdout (TimeoutError when none comes)."""
    deadline = time.monotonic() + timeout
    buf = _LEFT.pop(proc.pid, b"")

    def more() -> bytes:
        left = deadline - time.monotonic()
        if left <= 0 or not select.select([proc.stdout], [], [], left)[0]:
            raise TimeoutError("no answer from the server")
        chunk = os.read(proc.stdout.fileno(), 65536)
        if not chunk:
            raise EOFError("the server closed its output")
        return chunk

    while b"\r\n\r\n" not in buf:
        buf += more()
    head, rest = buf.split(b"\r\n\r\n", 1)
    n = int([h for h in head.split(b"\r\n") if h.lower().startswith(b"content-length")][0].split(b":")[1])
    while len(rest) < n:
        rest += more()
    if rest[n:]:
        _LEFT[proc.pid] = rest[n:]
    return json.loads(rest[:n])


BIG_LINE = b"X" * (8 << 20) + b"\r\n"
CASES = {
    "length too long": frame({"jsonrpc": "2.0", "method": "$/ping"}, 400),
    "length too short": frame({"jsonrpc": "2.0", "method": "$/ping", "params": {"x": "y" * 50}}, -30),
    "length zero": b'Content-Length: 0\r\n\r\n{"jsonrpc": "2.0", "method": "$/ping"}',
    "length negative": b'Content-Length: -5\r\n\r\n{"jsonrpc": "2.0", "method": "$/ping"}',
    "length not a number": b"Content-Length: abc\r\n\r\n{}",
    "length 1e20": b"Content-Length: 1e20\r\n\r\n{}",
    "length 10^12": b"Content-Length: 1000000000000\r\n\r\n{}",
    "length with 25 digits": b"Content-Length: 9999999999999999999999999\r\n\r\n{}",
    "header missing": b'\r\n{"jsonrpc": "2.0", "method": "$/ping"}\r\n',
    "body not JSON": b"Content-Length: 9\r\n\r\nnot json!",
    "body JSON but not a message": b"Content-Length: 2\r\n\r\n42",
    "an 8 MiB header line": BIG_LINE + b"\r\n{}",
    "binary garbage": bytes(range(256)) * 64,
    "header without a body at the end": b"Content-Length: 50\r\n\r\n",
}


@pytest.mark.slow
@pytest.mark.parametrize("case", list(CASES))
def test_the_server_answers_after_bad_framing(case):
    proc = subprocess.Popen(
        [sys.executable, "-m", "lsp"],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        env=SERVER_ENV,
        cwd=REPO,
    )
    try:
        proc.stdin.write(CASES[case])
        proc.stdin.flush()
        time.sleep(0.2)
        proc.stdin.write(frame(INIT))
        proc.stdin.flush()
        reply = read_message(proc, timeout=30)
        while reply.get("id") != 1:  # notifications (logs) may come first
            reply = read_message(proc, timeout=30)
        assert "result" in reply and reply["result"]["capabilities"], reply
        assert proc.poll() is None  # alive
    finally:
        proc.kill()
        proc.wait()


@pytest.mark.slow
def test_lf_only_framing_is_understood():
    proc = subprocess.Popen(
        [sys.executable, "-m", "lsp"],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        env=SERVER_ENV,
        cwd=REPO,
    )
    try:
        proc.stdin.write(frame(INIT, eol=b"\n"))
        proc.stdin.flush()
        reply = read_message(proc, timeout=30)
        while "id" not in reply:  # a log message may come first (LSP allows them during initialize)
            reply = read_message(proc, timeout=30)
        assert reply.get("id") == 1 and "result" in reply
    finally:
        proc.kill()
        proc.wait()


class _Protocol:
    def __init__(self):
        self.messages = []

    def structure_message(self, d):
        return d

    def handle_message(self, m):
        self.messages.append(m)


def test_the_loop_resynchronises_on_an_in_memory_stream():
    """A too-long length followed by a good message: both handled (the first once its bytes stop)."""
    from lsp.framing import Source, run_framed

    async def go():
        reader = asyncio.StreamReader()
        reader.feed_data(frame({"a": 1}, 500) + frame({"b": 2}) + b'Content-Length: 5\r\n\r\n{"c"' + frame({"d": 4}))
        reader.feed_eof()
        p = _Protocol()
        await run_framed(threading.Event(), Source(reader), p, idle_s=0.2)
        return p.messages

    assert asyncio.run(go()) == [{"a": 1}, {"b": 2}, {"d": 4}]


def _session():
    return subprocess.Popen(
        [sys.executable, "-m", "lsp"],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        env=SERVER_ENV,
        cwd=REPO,
    )


def _answer(proc, msg_id, timeout=30):
    reply = read_message(proc, timeout)
    while reply.get("id") != msg_id:
        reply = read_message(proc, timeout)
    return reply


@pytest.mark.slow
def test_lifecycle_errors_and_exit_codes():
    """A request before initialize: -32002; a second initialize: -32600 and the session goes on;
    exit without shutdown: status 1; after shutdown: 0."""
    proc = _session()
    try:
        hover = {
            "jsonrpc": "2.0",
            "id": 7,
            "method": "textDocument/hover",
            "params": {"textDocument": {"uri": "file:///x.sh"}, "position": {"line": 0, "character": 0}},
        }
        proc.stdin.write(frame(hover))
        proc.stdin.flush()
        assert _answer(proc, 7)["error"]["code"] == -32002
        proc.stdin.write(frame(INIT))
        proc.stdin.flush()
        assert "result" in _answer(proc, 1)
        proc.stdin.write(frame(dict(INIT, id=2)))
        proc.stdin.flush()
        assert _answer(proc, 2)["error"]["code"] == -32600
        proc.stdin.write(frame({"jsonrpc": "2.0", "method": "exit"}))
        proc.stdin.flush()
        assert proc.wait(timeout=30) == 1
    finally:
        proc.kill()
    proc = _session()
    try:
        for m in (INIT, {"jsonrpc": "2.0", "id": 3, "method": "shutdown"}):
            proc.stdin.write(frame(m))
            proc.stdin.flush()
            _answer(proc, m["id"])
        proc.stdin.write(frame({"jsonrpc": "2.0", "method": "exit"}))
        proc.stdin.flush()
        assert proc.wait(timeout=30) == 0
    finally:
        proc.kill()


@pytest.mark.slow
def test_tcp_gives_each_editor_its_own_session_and_survives_disconnects():
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    proc = subprocess.Popen(
        [sys.executable, "-m", "lsp", "--tcp", f"127.0.0.1:{port}"],
        env=SERVER_ENV,
        cwd=REPO,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )

    def connect():
        for _ in range(100):
            try:
                return socket.create_connection(("127.0.0.1", port), timeout=30)
            except OSError:
                time.sleep(0.1)
        raise TimeoutError("the TCP server did not come up")

    def ask(sock, msg_id):
        sock.sendall(frame(dict(INIT, id=msg_id)))
        buf = b""
        while True:
            while b"\r\n\r\n" not in buf:
                buf += sock.recv(65536)
            head, rest = buf.split(b"\r\n\r\n", 1)
            n = int([h for h in head.split(b"\r\n") if h.lower().startswith(b"content-length")][0].split(b":")[1])
            while len(rest) < n:
                rest += sock.recv(65536)
            msg, buf = json.loads(rest[:n]), rest[n:]
            if "id" in msg:
                return msg

    try:
        scan = connect()  # a port scan: connect and close
        scan.close()
        a, b = connect(), connect()
        assert ask(a, 11)["id"] == 11 and ask(b, 22)["id"] == 22  # each gets its own answer
        a.close()  # one editor leaves
        time.sleep(0.3)
        assert ask(b, 33)["error"]["code"] == -32600  # the other is still served (already initialized)
        c = connect()  # and new ones are welcome
        assert "result" in ask(c, 44)
        assert proc.poll() is None
        b.close()
        c.close()
    finally:
        proc.terminate()
        proc.wait(timeout=30)


def test_tcp_beyond_loopback_needs_a_token():
    r = subprocess.run(
        [sys.executable, "-m", "lsp", "--tcp", "0.0.0.0:1"],
        env=SERVER_ENV,
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert r.returncode != 0 and "--token" in r.stderr


@pytest.mark.slow
@pytest.mark.parametrize(
    "position",
    [
        {"line": 1.5, "character": 0},
        {"line": "3", "character": 0},
        {"line": 0, "character": True},
        {"line": -1, "character": 0},
    ],
)
def test_positions_that_are_not_non_negative_integers_get_invalid_params(position):
    proc = _session()
    try:
        proc.stdin.write(frame(INIT))
        proc.stdin.flush()
        _answer(proc, 1)
        req = {
            "jsonrpc": "2.0",
            "id": 5,
            "method": "textDocument/completion",
            "params": {"textDocument": {"uri": "file:///x.sh"}, "position": position},
        }
        proc.stdin.write(frame(req))
        proc.stdin.flush()
        assert _answer(proc, 5)["error"]["code"] == -32602
        proc.stdin.write(frame(dict(req, id=6, params=dict(req["params"], position={"line": 0, "character": 0}))))
        proc.stdin.flush()
        assert "result" in _answer(proc, 6)  # and a proper one is answered
    finally:
        proc.kill()


@pytest.mark.slow
def test_requests_that_are_not_json_rpc_2_get_invalid_request_and_nested_lookalikes_stay_data():
    proc = _session()
    try:
        proc.stdin.write(frame(INIT))
        proc.stdin.flush()
        _answer(proc, 1)
        for msg_id, req in [
            (8, {"jsonrpc": "1.0", "id": 8, "method": "shutdown"}),
            (9, {"id": 9, "method": "shutdown"}),
            (10, {"jsonrpc": "2.0", "id": 10, "method": 42}),
        ]:
            proc.stdin.write(frame(req))
            proc.stdin.flush()
            assert _answer(proc, msg_id)["error"]["code"] == -32600
        nested = {
            "jsonrpc": "2.0",
            "method": "workspace/didChangeConfiguration",
            "params": {"settings": {"x": {"jsonrpc": "2.0", "id": 77, "method": "shutdown"}}},
        }
        proc.stdin.write(frame(nested) + frame({"jsonrpc": "2.0", "id": 12, "method": "shutdown"}))
        proc.stdin.flush()
        seen = []
        while not seen or seen[-1] != 12:
            seen.append(read_message(proc, 30).get("id"))
        assert 77 not in seen  # it was data inside params, not a request
    finally:
        proc.kill()


def test_an_oversized_request_is_answered_by_its_id_and_the_loop_goes_on():
    """Over max_body: the first bytes give the id, on_oversize answers it, the rest is skipped."""
    from lsp.framing import Source, recover_id, run_framed

    refused = []

    async def go():
        reader = asyncio.StreamReader()
        big = frame({"jsonrpc": "2.0", "id": 7, "method": "x", "params": {"p": "q" * 5000}})
        note = frame({"jsonrpc": "2.0", "method": "y", "params": {"p": "q" * 5000}})
        reader.feed_data(big + note + frame({"b": 2}))
        reader.feed_eof()
        p = _Protocol()
        await run_framed(
            threading.Event(),
            Source(reader),
            p,
            idle_s=0.2,
            max_body=1000,
            on_oversize=lambda i, n: refused.append((i, n)),
        )
        return p.messages

    assert asyncio.run(go()) == [{"b": 2}]
    assert refused == [(7, len(json.dumps({"jsonrpc": "2.0", "id": 7, "method": "x", "params": {"p": "q" * 5000}})))]
    assert recover_id(b'{"jsonrpc": "2.0", "id": "a\\"b", "method": "m"') == 'a"b'
    assert recover_id(b'{"jsonrpc": "2.0", "id": 3, "result": null}') is None  # a response: nobody waits
