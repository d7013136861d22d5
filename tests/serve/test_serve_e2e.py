"""The shared engine end to end: `codefusion serve` (a real local Ray head and Ray Serve, the tiny
untrained model, a token) and real language-server processes as editors.

* two editors send completions at once: both answered, by the engine (no model loaded by them);
* a replica killed mid-run: Ray restarts it and no accepted request is lost (each is answered,
  with candidates after a retry or with a message the editor shows);
* the engine enforces its limits and the token itself;
* an unreachable engine: one clear message, or the local model when engineFallback allows.
"""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request

import pytest

from tests.badinput.harness import ENV, REPO, Server

pytestmark = pytest.mark.slow
ray = pytest.importorskip("ray")

TOKEN = "team-secret"
COMMENTS = [
    "list all files",
    "count lines in python files",
    "find big files",
    "show disk usage",
    "delete empty folders",
    "compress the logs",
    "print the date",
    "make a directory",
]


def _port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _get(url: str, token: str = TOKEN, body: bytes = None) -> tuple:
    req = urllib.request.Request(url, data=body, headers={"Authorization": f"Bearer {token}"} if token else {})
    try:
        with urllib.request.urlopen(req, timeout=30) as r:
            return r.status, json.loads(r.read())
    except urllib.error.HTTPError as e:
        raw = e.read()
        try:
            return e.code, json.loads(raw or b"{}")
        except ValueError:  # Ray Serve's own plain-text answers (a route not deployed yet)
            return e.code, {"error": raw.decode("utf-8", "replace")}


@pytest.fixture(scope="module")
def engine(untrained_ckpt, tmp_path_factory):
    port = _port()
    log = open(tmp_path_factory.mktemp("serve") / "serve.log", "w+")
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "codefusion",
            "serve",
            "--checkpoint",
            str(untrained_ckpt),
            "--port",
            str(port),
            "--token",
            TOKEN,
            "--num-cpus",
            "2",
            "--batch-wait-ms",
            "20",
        ],
        env={**ENV, "CODEFUSION_THREADS": "1"},
        cwd=REPO,
        stdout=log,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    url = f"http://127.0.0.1:{port}"
    try:  # whatever goes wrong, the engine and its Ray processes (one process group) are stopped
        deadline = time.monotonic() + 240
        up = False
        while time.monotonic() < deadline and not up and proc.poll() is None:
            try:
                up = _get(url + "/v1/health")[0] == 200
            except OSError:
                pass
            time.sleep(0 if up else 1)
        log.seek(0)
        assert up, f"codefusion serve did not come up (exit code {proc.poll()}): {log.read()[-3000:]}"
        yield url
    finally:
        try:
            os.killpg(proc.pid, signal.SIGTERM)
            proc.wait(timeout=60)
        except (ProcessLookupError, subprocess.TimeoutExpired):
            try:
                os.killpg(proc.pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
        log.close()


def _editor(url: str, **extra) -> Server:
    s = Server({"engineUrl": url, "engineToken": TOKEN, "engineFallback": False, "k": 2, "timeout": 60, **extra})
    s.initialize()
    assert s.wait_ready() == "ready", s.notices()
    return s


def _complete(s: Server, i: int, tag: str) -> dict:
    uri = f"file:///serve/{tag}-{i}.sh"
    s.open(uri, f"#!/bin/bash\n# {COMMENTS[i % len(COMMENTS)]} ({tag} {i})\n\n")
    reply = s.call(
        "workspace/executeCommand",
        {"command": "codefusion.generate", "arguments": [{"uri": uri, "position": {"line": 2, "character": 0}}]},
        timeout=120,
    )
    assert reply is not None, f"{tag} {i}: no answer"
    return reply


def test_two_editors_are_answered_by_one_engine_and_a_killed_replica_loses_nothing(engine):
    a, b = _editor(engine), _editor(engine)
    try:
        for s in (a, b):
            assert any("shared engine" in n for n in s.notices()), s.notices()
        results = {}

        def run(s, tag, n, first=0):
            results[tag] = [_complete(s, i, tag) for i in range(first, first + n)]

        threads = [threading.Thread(target=run, args=(a, "a", 4)), threading.Thread(target=run, args=(b, "b", 4))]
        for t in threads:
            t.start()
        for t in threads:
            t.join(300)
        for tag in ("a", "b"):
            assert len(results[tag]) == 4
            for r in results[tag]:
                assert "result" in r and r["result"]["candidates"], r  # answered, with candidates
        status, health = _get(engine + "/v1/health")
        assert status == 200 and health["batches"], health
        pid = health["pid"]

        # a replica dies while both editors keep asking: every request is answered
        threads = [
            threading.Thread(target=run, args=(a, "a2", 4, 10)),
            threading.Thread(target=run, args=(b, "b2", 4, 10)),
        ]
        for t in threads:
            t.start()
        time.sleep(0.5)
        os.kill(pid, signal.SIGKILL)
        for t in threads:
            t.join(300)
        answered = results["a2"] + results["b2"]
        print(
            "after the kill:",
            [("candidates" if r["result"]["candidates"] else r["result"]["message"]) for r in answered],
        )
        assert len(answered) == 8
        for r in answered:  # candidates (retried on the restarted replica) or a message the editor shows
            assert "result" in r and (r["result"]["candidates"] or r["result"]["message"]), r
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline:  # Ray restarted the replica: a new process answers
            try:
                status, health = _get(engine + "/v1/health")
                if status == 200 and health["pid"] != pid:
                    break
            except OSError:
                pass
            time.sleep(1)
        assert health["pid"] != pid, "the replica was not restarted"
        assert _complete(a, 99, "after")["result"]["candidates"]
        for s in (a, b):
            assert s.alive()
    finally:
        a.close()
        b.close()


def test_the_engine_enforces_its_token_and_limits(engine):
    body = json.dumps({"nl": "list files", "lang": "bash"}).encode()
    assert _get(engine + "/v1/generate", token=None, body=body)[0] == 401
    assert _get(engine + "/v1/generate", token="wrong", body=body)[0] == 401
    status, answer = _get(engine + "/v1/generate", body=body)
    assert status == 200 and answer["candidates"] and answer["replica"]
    for bad, words in [
        ({"nl": "x", "lang": "bash", "k": 500}, "k must"),
        ({"nl": "x", "lang": "bash", "steps": 10**6}, "steps must"),
        ({"nl": "", "lang": "bash"}, "empty"),
        ({"nl": "x", "lang": "cobol"}, "unknown language"),
        ({"nl": "list files " * 500, "lang": "bash"}, "5500 characters long"),
    ]:
        status, answer = _get(engine + "/v1/generate", body=json.dumps(bad).encode())
        assert status == 400 and words in answer["error"], (bad, answer)
    status, answer = _get(engine + "/v1/generate", body=b"{" + b" " * (70 << 10) + b"}")
    assert status == 413
    assert _get(engine + "/v1/version")[1]["version"]


def test_an_unreachable_engine_says_so_or_hands_over_to_the_local_model(untrained_ckpt):
    dead = f"http://127.0.0.1:{_port()}"
    s = Server({"engineUrl": dead, "engineFallback": False, "timeout": 5})
    try:
        s.initialize()
        assert s.wait_ready() == "error"
        assert any("did not answer" in n and dead in n for n in s.notices()), s.notices()
        s.probe()  # still serving (no candidates)
    finally:
        s.close()
    # the local model's first request on a busy machine (pytest -n 2 beside it) may take more than 5 s
    s = Server({"engineUrl": dead, "engineFallback": True, "timeout": 60, "checkpoint": str(untrained_ckpt)})
    try:
        s.initialize()
        assert s.wait_ready() == "ready"
        assert any("using the local model" in n for n in s.notices()), s.notices()
        assert _complete(s, 0, "fallback")["result"]["candidates"]
    finally:
        s.close()
