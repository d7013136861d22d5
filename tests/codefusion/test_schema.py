"""engine.schema: one home for every request limit, and every surface refuses the same bad request with
the same one-line message -- `codefusion generate`, the warm daemon, the shared engine (Ray Serve's
handler, called directly: starting Ray takes a minute) and the language server (a real server process,
tests/lsp/test_server_nomodel.py's kind: no model needed, the request is refused before one is asked)."""

from __future__ import annotations

import asyncio
import json
import math
import sys
from pathlib import Path

import pytest

from engine import schema
from engine.schema import K_RANGE, LANGUAGES, MAX_REQUEST_CHARS, START_SNR_RANGE, Request, RequestError

REPO = Path(__file__).resolve().parents[2]
GOOD = "list all files in the current directory"
# each bad request: the schema's fields, built from the one definition of its limit
BAD = {
    "k too large": {"k": K_RANGE[1] + 1},
    "request too long": {"nl": "a" * (MAX_REQUEST_CHARS + 1)},
    "unknown language": {"lang": "cobol"},
    "bad start SNR": {"start_snr": START_SNR_RANGE[0] - 1.0},
}
assert "cobol" not in LANGUAGES


def expected(case: str) -> str:
    """The schema's one-line message for a bad case."""
    fields = {"nl": GOOD, "lang": "bash", **BAD[case]}
    with pytest.raises(RequestError) as e:
        Request(**fields)
    message = str(e.value)
    assert message and "\n" not in message
    return message


def wire(case: str) -> dict:
    """The bad case as JSON (the daemon's and the shared engine's body)."""
    values = {"nl": GOOD, "lang": "bash", **BAD[case]}
    return {schema.WIRE_KEYS[k]: v for k, v in values.items()}


def test_each_limit_is_refused_with_its_own_message_and_the_edges_pass():
    messages = {case: expected(case) for case in BAD}
    assert len(set(messages.values())) == len(BAD)
    assert str(K_RANGE[1]) in messages["k too large"] and str(MAX_REQUEST_CHARS) in messages["request too long"]
    Request("a" * MAX_REQUEST_CHARS, LANGUAGES[-1], k=K_RANGE[1], start_snr=START_SNR_RANGE[1])
    Request(GOOD, LANGUAGES[0], k=K_RANGE[0], start_snr=START_SNR_RANGE[0])
    for bad in (math.nan, math.inf, True, "10"):
        with pytest.raises(RequestError, match="start SNR"):
            Request(GOOD, "bash", start_snr=bad)
    r = Request.from_json({"nl": GOOD, "lang": "cf", "k": 3, "startSnr": 10, "noiseSlots": 1, "invalidMode": "hide"})
    assert Request.from_json(r.to_json()) == r and r.start_snr == 10.0 and r.noise_slots == 1


def test_the_limits_are_the_ones_every_layer_uses():
    """The one definition, and the places that may not import it (grammar, package.json) tied to it."""
    from codefusion import settings
    from engine.config import ModelConfig
    from grammar.pipeline import INVALID_MODES
    from grammar.syntax import LANGS

    assert tuple(LANGS) == LANGUAGES and tuple(ModelConfig().languages) == LANGUAGES
    assert tuple(INVALID_MODES) == schema.INVALID_MODES
    assert settings.K_RANGE == K_RANGE and settings.STEPS_RANGE == schema.STEPS_RANGE
    assert settings.COMMENT_LENGTH_RANGE[1] == MAX_REQUEST_CHARS == settings.Settings().max_comment_length
    package = json.loads((REPO / "vscode-extension" / "package.json").read_text(encoding="utf-8"))
    props = package["contributes"]["configuration"]["properties"]
    assert props["codefusion.k"]["maximum"] == K_RANGE[1]
    assert props["codefusion.maxCommentLength"]["maximum"] == MAX_REQUEST_CHARS
    import engine.api

    assert engine.api.MAX_K == K_RANGE[1] and engine.api.LANGUAGES == LANGUAGES


def test_docs_contracts_holds_the_generated_request_table():
    assert schema.schema_markdown() in (REPO / "docs" / "contracts.md").read_text(encoding="utf-8"), (
        "docs/contracts.md: paste engine.schema.schema_markdown() into the request section"
    )


def test_the_engine_checks_k_against_the_same_limit(untrained_ckpt):
    from codefusion.runtime import Engine

    engine = Engine.open(untrained_ckpt, device="cpu")
    with pytest.raises(ValueError) as e:
        engine.generator.generate(GOOD, "bash", k=K_RANGE[1] + 1)
    assert str(e.value) == expected("k too large")


@pytest.mark.parametrize("case", sorted(BAD))
def test_the_cli_refuses_it(case, capsys):
    from codefusion.cli import main

    fields = {"nl": GOOD, "lang": "bash", **BAD[case]}
    argv = [
        "generate",
        fields["nl"],
        "--lang",
        fields["lang"],
        "--checkpoint",
        "/nonexistent",
    ]  # refused before loading
    for key, flag in (("k", "-k"), ("start_snr", "--start-snr")):
        if key in fields:
            argv += [flag, str(fields[key])]
    assert main(argv) == 2
    err = capsys.readouterr().err.strip()
    assert err == f"codefusion: error: {expected(case)}"


@pytest.mark.parametrize("case", sorted(BAD))
def test_the_daemon_refuses_it(case):
    from codefusion import daemon

    # the daemon's whole reply to one message; the request is refused before the model is asked
    reply = daemon.respond(wire(case), engine=None, ident={"install": "test"})
    assert reply == {"error": expected(case)}


RAY_NOISE = pytest.mark.filterwarnings("ignore::DeprecationWarning")  # Ray Serve's own pydantic deprecations


@RAY_NOISE
@pytest.mark.parametrize("case", sorted(BAD))
def test_the_shared_engine_refuses_it(case):
    pytest.importorskip("ray.serve")
    from starlette.requests import Request as HttpRequest

    from codefusion.serve import Replica

    replica = Replica.__new__(Replica)  # the HTTP handler only: the body is refused before the model is asked
    replica.token = None
    body = json.dumps(wire(case)).encode()
    scope = {
        "type": "http",
        "method": "POST",
        "path": "/v1/generate",
        "headers": [(b"content-length", str(len(body)).encode())],
        "query_string": b"",
        "root_path": "",
        "scheme": "http",
        "server": ("127.0.0.1", 8420),
    }
    sent = [{"type": "http.request", "body": body, "more_body": False}]

    async def receive():
        return sent.pop(0) if sent else {"type": "http.disconnect"}

    response = asyncio.run(replica(HttpRequest(scope, receive)))
    assert response.status_code == 400
    assert json.loads(response.body) == {"error": expected(case)}


@RAY_NOISE
def test_every_surface_sends_the_one_candidate_schema(untrained_ckpt, capsys):
    """The same request gives the same candidates, in engine.schema.CandidateView's shape, from
    `generate --json`, the daemon and the shared engine's handler (one model, in this process)."""
    import threading

    from codefusion import daemon
    from codefusion.cli import main
    from codefusion.runtime import Engine
    from codefusion.serve import Replica
    from engine.schema import CANDIDATE_KEYS

    request = Request(GOOD, "bash", k=3, steps=2, seed=1)
    assert (
        main(
            [
                "generate",
                GOOD,
                "--lang",
                "bash",
                "-k",
                "3",
                "--steps",
                "2",
                "--seed",
                "1",
                "--json",
                "--checkpoint",
                str(untrained_ckpt),
                "--device",
                "cpu",
            ]
        )
        == 0
    )
    cli = json.loads(capsys.readouterr().out)
    engine = Engine.open(untrained_ckpt, device="cpu")
    from_daemon = daemon.respond(request.to_json(), engine, {"install": "test"})["candidates"]
    replica = Replica.__new__(Replica)  # the replica's answer to a batch of one, without Ray
    replica.engine, replica.batches, replica._lock, replica.replica = engine, [], threading.Lock(), "test"
    served = replica._answer([request])[0]["candidates"]
    for shown in (cli, from_daemon, served):
        assert shown and all(tuple(c) == CANDIDATE_KEYS for c in shown)
        assert [c["code"] for c in shown] == [c["code"] for c in cli]
        assert [c["score"] for c in shown] == pytest.approx([c["score"] for c in cli], abs=1e-4)
        assert [{k: v for k, v in c.items() if k != "score"} for c in shown] == [
            {k: v for k, v in c.items() if k != "score"} for c in cli
        ]


def test_docs_contracts_holds_the_generated_candidate_shape():
    assert schema.candidate_markdown() in (REPO / "docs" / "contracts.md").read_text(encoding="utf-8"), (
        "docs/contracts.md: paste engine.schema.candidate_markdown() into the request section"
    )


@pytest.mark.asyncio
async def test_the_language_server_refuses_them(tmp_path):
    """A real server process (no model: each request is refused before one is asked): the comment too long,
    and codefusion.generate's request fields (k, lang, startSnr) that break the schema."""
    from lsprotocol import types
    from pytest_lsp import LanguageClient

    from tests.lsp.conftest import SERVER_ENV, open_doc, start

    client = LanguageClient()
    await client.start_io(sys.executable, "-m", "lsp", env=SERVER_ENV)
    try:
        await start(client, {"checkpoint": str(tmp_path / "no-model")})
        uri = "file:///tmp/cf_schema/a.sh"
        nl = {"nl": GOOD, **BAD["request too long"]}["nl"]
        open_doc(client, uri, f"#!/bin/bash\n# {GOOD}\n\n# {nl}\n\necho done\n")
        for case in sorted(BAD):
            fields = {"lang": "bash", **BAD[case]}
            line = 3 if "nl" in fields else 1
            extra = {schema.WIRE_KEYS[k]: v for k, v in fields.items() if k not in ("nl", "lang") or v != "bash"}
            result = await client.workspace_execute_command_async(
                types.ExecuteCommandParams(
                    command="codefusion.generate",
                    arguments=[{"uri": uri, "position": {"line": line, "character": 0}, **extra}],
                )
            )
            assert result["candidates"] == [] and result["message"] == expected(case), case
    finally:
        await client.shutdown_session()
