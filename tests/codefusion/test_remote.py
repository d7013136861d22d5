"""codefusion/remote.py: the shared engine's request checks and its client, against a small
standard-library HTTP server standing in for the engine (the real one: tests/serve)."""

from __future__ import annotations

import json
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from codefusion.remote import (
    MAX_BODY_BYTES,
    EngineClient,
    EngineUnreachable,
    RequestError,
    authorized,
    parse_request,
    ranked_from_json,
)
from codefusion.runtime import candidate_json, candidate_view


def test_parse_request_applies_the_limits_and_defaults():
    from engine.schema import DEFAULT_K, MAX_REQUEST_CHARS

    r = parse_request(json.dumps({"nl": "list files", "lang": "bash"}).encode())
    assert r.k == DEFAULT_K and r.steps is None and r.retrieval is True and r.start_snr is None
    assert parse_request(json.dumps({"nl": "x", "lang": "bash", "startSnr": 10}).encode()).start_snr == 10.0
    for body, status, words in [
        (b"not json", 400, "JSON"),
        (b"[1]", 400, "object"),
        (json.dumps({"nl": " ", "lang": "bash"}).encode(), 400, "empty"),
        (json.dumps({"nl": "x" * (MAX_REQUEST_CHARS + 1), "lang": "bash"}).encode(), 400, "the limit is"),
        (json.dumps({"nl": "x", "lang": "go"}).encode(), 400, "unknown language 'go'"),
        (json.dumps({"nl": "x", "lang": "bash", "k": 0}).encode(), 400, "^k must"),
        (json.dumps({"nl": "x", "lang": "bash", "k": True}).encode(), 400, "^k must"),
        (json.dumps({"nl": "x", "lang": "bash", "steps": 5000}).encode(), 400, "^steps must"),
        (json.dumps({"nl": "x", "lang": "bash", "startSnr": -1}).encode(), 400, "^start SNR must"),
        (json.dumps({"nl": "x", "lang": "bash", "retrieval": "yes"}).encode(), 400, "^retrieval must"),
        (json.dumps({"nl": "x", "lang": "bash", "invalidMode": "boom"}).encode(), 400, "^invalid mode must"),
        (b"{" + b" " * MAX_BODY_BYTES + b"}", 413, "bytes"),
    ]:
        with pytest.raises(RequestError, match=words) as e:
            parse_request(body)
        assert e.value.status == status


def test_the_token_is_compared_whole():
    assert authorized(None, None) and authorized("anything", "")
    assert authorized("Bearer s3", "s3")
    assert not authorized(None, "s3") and not authorized("Bearer s", "s3") and not authorized("s3", "s3")


def test_candidates_survive_the_wire():
    from grammar.pipeline import RankedCandidate
    from grammar.syntax import SyntaxIssue

    c = RankedCandidate(
        "ls -la", 0.5, False, [SyntaxIssue(1, 2, "oops: a, b")], ["danger"], "retrieval", True, origin="retrieved"
    )
    assert ranked_from_json(json.loads(json.dumps(candidate_json(c)))) == c
    labelled = RankedCandidate(
        "ls -la",
        0.5,
        True,
        [],
        [],
        "model",
        origin="copy",
        exemplar={"code": "ls -la", "nl": "list", "source": {"bank": "shipped", "page": "ls"}, "similarity": 1.0},
    )  # its label reaches the editor (meta stays behind)
    assert ranked_from_json(json.loads(json.dumps(candidate_json(labelled)))) == labelled
    # what the editor shows of an engine's candidate is what it shows of its own
    assert candidate_view(ranked_from_json(candidate_json(labelled))) == candidate_view(labelled)
    older = {
        "code": "ls",
        "score": 1.0,
        "source": "model",
        "valid": False,
        "warnings": [],
        "errors": [[3, 4, "bad"]],
        "alsoRetrieved": True,
    }  # an older engine's form
    back = ranked_from_json(older)
    assert back.also_retrieved and (back.errors[0].line, back.errors[0].col, back.errors[0].message) == (3, 4, "bad")


class _Fake(BaseHTTPRequestHandler):
    """Answers like the engine; `plan` lists what the next requests get (status or "slow")."""

    plan: list = []
    seen: list = []

    def log_message(self, *args):
        pass

    def _reply(self, status, body):
        data = json.dumps(body).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def do_GET(self):
        self._reply(200, {"status": "ok", "languages": ["bash"]})

    def do_POST(self):
        body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
        _Fake.seen.append((body, self.headers.get("Authorization")))
        step = _Fake.plan.pop(0) if _Fake.plan else 200
        if step == "text404":  # Ray Serve's proxy before the application is deployed
            self.send_response(404)
            self.send_header("Content-Length", "9")
            self.end_headers()
            self.wfile.write(b"not found")
            return
        if step == "slow":
            time.sleep(3)
            step = 200
        if step != 200:
            return self._reply(step, {"error": f"status {step}"})
        self._reply(
            200,
            {
                "candidates": [
                    candidate_json(
                        type(
                            "C",
                            (),
                            {
                                "code": "ls",
                                "score": 0.9,
                                "source": "model",
                                "valid": True,
                                "warnings": [],
                                "errors": [],
                                "also_retrieved": False,
                            },
                        )()
                    )
                ],
                "message": None,
                "modelSeconds": 0.01,
                "pipelineSeconds": 0.0,
                "replica": "r1",
            },
        )


@pytest.fixture
def fake():
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Fake)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    _Fake.plan, _Fake.seen = [], []
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()


def test_the_client_sends_the_token_and_retries_a_dead_replica(fake):
    client = EngineClient(fake, token="s3", timeout=10)
    assert client.health()["languages"] == ["bash"]
    _Fake.plan = [503, "text404", 502]
    res = client.suggest("list files", "bash", 3)
    assert [c.code for c in res.candidates] == ["ls"] and res.replica == "r1"
    assert len(_Fake.seen) == 4 and all(auth == "Bearer s3" for _, auth in _Fake.seen)
    assert _Fake.seen[0][0]["k"] == 3


def test_the_client_reports_refusals_and_unreachable_engines(fake):
    for status in (400, 404):  # the engine's own (JSON) refusals are final
        _Fake.plan = [status]
        with pytest.raises(RequestError, match=f"HTTP {status}"):
            EngineClient(fake).suggest("x", "bash", 1)
    _Fake.plan = [503] * 10
    with pytest.raises(EngineUnreachable, match="did not answer"):
        EngineClient(fake, retries=2).suggest("x", "bash", 1)
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        dead = f"http://127.0.0.1:{s.getsockname()[1]}"
    with pytest.raises(EngineUnreachable, match="did not answer"):
        EngineClient(dead, retries=1, timeout=3).health()
    with pytest.raises(ValueError, match="expected http"):
        EngineClient("ftp://x")


def test_the_client_stops_at_once_when_cancelled(fake):
    from engine.api import Cancelled

    _Fake.plan = ["slow"]
    t = time.monotonic()
    with pytest.raises(Cancelled):
        EngineClient(fake).suggest("x", "bash", 1, cancel=lambda: time.monotonic() - t > 0.2)
    assert time.monotonic() - t < 1.5
