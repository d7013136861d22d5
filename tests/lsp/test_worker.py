"""lsp.scheduler (and lsp.engine_client, lsp.failover) with a fake generator (unit level; the end-to-end tests use
the real model)."""

import asyncio
import time
from dataclasses import dataclass, field
from types import SimpleNamespace

import pytest

from engine.api import Cancelled, CheckpointError, NoDefaultModelError, is_cancelled
from lsp.generation import ModelUnavailable, Superseded
from lsp.options import Options
from lsp.scheduler import GenerationService


class FakeGenerator:
    """Sleeps `steps` x 10 ms, checking the cancellation token every step like the sampler."""

    languages = ("bash", "python", "cf")
    loaded = SimpleNamespace(meta={})  # a checkpoint without calibration (engine.types.GeneratorLike)
    fills_arguments = False  # shows its candidates as they are
    kind = "diffusion"
    default_steps = 5

    def __init__(self):
        self.calls = []
        self.steps_seen = []

    def generate(self, nl, lang, k=5, steps=None, seed=0, cancel=None):
        self.calls.append((nl, lang, k, steps))
        n = 0
        for n in range(steps or self.default_steps):
            if is_cancelled(cancel):
                self.steps_seen.append(n)
                raise Cancelled("generation cancelled")
            time.sleep(0.01)
        self.steps_seen.append(n + 1)
        return [Cand(f"echo {nl} {i}", -0.1 * i) for i in range(k)]


@dataclass
class Cand:
    code: str
    score: float
    source: str = "model"
    meta: dict = field(default_factory=dict)


@dataclass
class Result:
    candidates: list[Cand]
    message: str = None


def pipeline(cands, lang, k, invalid_mode):
    return Result(sorted(cands, key=lambda c: -c.score)[:k])


def make(loader=None):
    gen = FakeGenerator()
    statuses = []
    service = GenerationService(
        loader=loader or (lambda options: gen),
        pipeline=pipeline,
        on_status=lambda state, message: statuses.append((state, message)),
    )
    return service, gen, statuses


async def test_generates_caches_and_reports_status():
    service, gen, statuses = make()
    opts = Options(k=3, steps=2)
    key = service.key_for("list files", "bash", opts)
    r = await service.generate(key, "doc", opts)
    assert [c.code for c in r.candidates] == ["echo list files 0", "echo list files 1", "echo list files 2"]
    assert [s for s, _ in statuses] == ["loading", "ready"]
    again = await service.generate(key, "doc", opts)
    assert again is r and len(gen.calls) == 1
    # k=1 takes the best of the cached k=3 result without running the model
    one = await service.generate(service.key_for("list files", "bash", opts, k=1), "doc", opts)
    assert [c.code for c in one.candidates] == ["echo list files 0"] and len(gen.calls) == 1
    service.shutdown()


async def start_slow(service, nl, wait=0.1, request_id=None):
    """A 1000-step generation for document "doc" (10 s if it ran to the end), running in the
    background for `wait` seconds."""
    opts = Options(steps=1000)
    await service.ensure_model(opts)
    task = asyncio.ensure_future(
        service.generate(service.key_for(nl, "bash", opts), "doc", opts, request_id=request_id)
    )
    await asyncio.sleep(wait)
    return task


async def test_client_cancel_stops_the_sampler_early():
    service, gen, _ = make()
    task = await start_slow(service, "slow", wait=0.2, request_id=7)
    start = time.perf_counter()
    assert service.cancel_request(7)
    with pytest.raises(asyncio.CancelledError):
        await task
    # the worker thread is free again quickly: the next generation does not wait 10 s
    fast = Options(steps=1)
    await service.generate(service.key_for("fast", "bash", fast), "doc2", fast)
    assert time.perf_counter() - start < 2.0
    assert gen.steps_seen[0] < 1000
    service.shutdown()


async def test_newer_request_for_the_same_document_supersedes():
    service, gen, _ = make()
    old = await start_slow(service, "old")
    new_opts = Options(steps=2)
    new = await service.generate(service.key_for("new", "bash", new_opts), "doc", new_opts)
    with pytest.raises(Superseded):
        await old
    assert new.candidates[0].code == "echo new 0"
    service.shutdown()


async def test_identical_requests_share_one_generation_and_survive_one_cancel():
    service, gen, _ = make()
    opts = Options(steps=20)
    await service.ensure_model(opts)
    key = service.key_for("same", "bash", opts)
    a = asyncio.ensure_future(service.generate(key, "doc", opts, request_id="a"))
    b = asyncio.ensure_future(service.generate(key, "doc", opts, request_id="b"))
    await asyncio.sleep(0.05)
    service.cancel_request("a")
    result = await b
    assert result.candidates and len(gen.calls) == 1
    with pytest.raises(asyncio.CancelledError):
        await a
    service.shutdown()


@pytest.mark.parametrize(
    "error,words",
    [
        (NoDefaultModelError("no default model is installed"), ["no model", "codefusion.checkpoint"]),
        (CheckpointError("config.json missing"), ["cannot load the checkpoint", "config.json missing"]),
    ],
)
async def test_missing_model_is_reported_once_with_a_fix(error, words):
    calls = []

    def loader(options):
        calls.append(options)
        raise error

    service, _, statuses = make(loader)
    opts = Options()
    for _ in range(2):
        with pytest.raises(ModelUnavailable) as info:
            await service.generate(service.key_for("x", "bash", opts), "doc", opts)
        for w in words:
            assert w in str(info.value)
    assert len(calls) == 1  # not retried until the setting changes
    assert [s for s, _ in statuses] == ["loading", "error"]
    other = Options(checkpoint="/elsewhere")
    with pytest.raises(ModelUnavailable):
        await service.ensure_model(other)
    assert len(calls) == 2
    service.shutdown()


async def test_language_the_model_does_not_serve():
    service, gen, _ = make()
    gen.languages = ("bash",)
    opts = Options()
    with pytest.raises(ValueError, match="does not serve python"):
        await service.generate(service.key_for("x", "python", opts), "doc", opts)
    service.shutdown()


async def test_retrieval_adds_examples_after_the_model_candidates():
    class Retriever:
        def search(self, nl, lang, k=5):
            return [Cand("find . -name '*.py'", 0.9, source="retrieval")]

    gen = FakeGenerator()
    service = GenerationService(loader=lambda o: gen, pipeline=pipeline, retriever_factory=lambda g: Retriever())
    off = Options(k=2, steps=1, retrieval=False)
    on = Options(k=2, steps=1, retrieval=True)
    plain = await service.generate(service.key_for("x", "bash", off), "doc", off)
    assert [c.source for c in plain.candidates] == ["model", "model"]
    mixed = await service.generate(service.key_for("x", "bash", on), "doc", on)
    assert sorted(c.source for c in mixed.candidates) == ["model", "model", "retrieval"]
    service.shutdown()


async def test_fast_request_shares_a_running_wider_one_and_does_not_supersede_it():
    service, gen, _ = make()
    opts = Options(k=4, steps=20)
    await service.ensure_model(opts)
    full = asyncio.ensure_future(service.generate(service.key_for("same", "bash", opts), "doc", opts))
    await asyncio.sleep(0.05)
    one = await service.generate(service.key_for("same", "bash", opts, k=1), "doc", opts)
    assert [c.code for c in one.candidates] == ["echo same 0"]
    assert len((await full).candidates) == 4 and len(gen.calls) == 1
    service.shutdown()


async def test_closing_the_document_stops_its_generation():
    service, gen, _ = make()
    task = await start_slow(service, "slow")
    service.cancel_document("doc")
    with pytest.raises(Superseded):
        await asyncio.wait_for(task, 5)
    assert gen.steps_seen[0] < 1000
    service.shutdown()


async def test_a_request_past_its_time_budget_stops_the_sampler_and_says_so():
    from lsp.generation import TimedOut

    service, gen, _ = make()
    opts = Options(k=2, steps=300, timeout=1)  # 300 x 10 ms: 3 s
    start = time.perf_counter()
    with pytest.raises(TimedOut, match="codefusion.timeout"):
        await service.generate(service.key_for("slow", "bash", opts), "doc", opts)
    assert time.perf_counter() - start < 2.0
    await asyncio.sleep(0.1)
    assert gen.steps_seen and gen.steps_seen[-1] < 150  # stopped early, not run to the end
    service.shutdown()


async def test_a_shared_engine_that_does_not_answer_hands_over_to_the_local_model_and_takes_back(monkeypatch):
    """codefusion.engineUrl with engineFallback: the local model stands in while the engine is
    unreachable; once it answers again (asked every ENGINE_RETRY_S), it takes over again."""
    import socket
    import threading
    from http.server import ThreadingHTTPServer

    import lsp.failover as failover
    from codefusion.remote import EngineClient
    from tests.codefusion.test_remote import _Fake

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        dead = f"http://127.0.0.1:{s.getsockname()[1]}"
    service, gen, statuses = make()
    service._pipeline = pipeline
    opts = Options(k=2, steps=1, engine_url=dead, engine_fallback=True, timeout=3, retrieval=False)
    r = await service.generate(service.key_for("list files", "bash", opts), "doc", opts)
    assert [c.code for c in r.candidates] == ["echo list files 0", "echo list files 1"]  # the local model
    assert statuses[-1][0] == "ready" and "does not answer" in statuses[-1][1]
    engine = service.generator
    assert isinstance(engine, failover.RemoteEngine) and engine.local is gen

    server = ThreadingHTTPServer(("127.0.0.1", 0), _Fake)  # the engine is back
    threading.Thread(target=server.serve_forever, daemon=True).start()
    _Fake.plan, _Fake.seen = [], []
    try:
        engine.client = EngineClient(f"http://127.0.0.1:{server.server_address[1]}", timeout=5)
        monkeypatch.setattr(failover, "ENGINE_RETRY_S", 0.0)
        r = await service.generate(service.key_for("count lines", "bash", opts), "doc", opts)
        assert [c.code for c in r.candidates] == ["ls"] and engine.local is None  # the engine's answer
        assert _Fake.seen and _Fake.seen[0][0]["nl"] == "count lines"
    finally:
        server.shutdown()
        service.shutdown()
