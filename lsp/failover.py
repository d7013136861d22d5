"""Failover between a shared engine (`codefusion serve`, codefusion.engineUrl) and the local model.

With codefusion.engineFallback on, the local model stands in while the shared engine cannot be
reached; every ENGINE_RETRY_S the engine is asked again, and it takes back over when it answers.
Nothing here speaks LSP or loads a model itself: the engine client passes its loader in.
"""

from __future__ import annotations

import dataclasses
import time
from collections.abc import Callable, Sequence
from typing import Any

from codefusion.remote import EngineClient, EngineUnreachable, RequestError
from engine.api import Cancelled
from lsp.generation import GenerationKey, GenerationResult, ModelUnavailable, Stopped
from lsp.options import Options

ENGINE_RETRY_S = 30.0  # while the local model stands in, how often the shared engine is asked again


class RemoteEngine:
    """A shared engine (`codefusion serve`) standing in for the model: the worker sends it the request
    and gets ranked candidates back. `local` is the model that takes over while it cannot be reached
    (codefusion.engineFallback); every ENGINE_RETRY_S the engine is tried again, and it takes back
    over when it answers."""

    kind = "remote"

    def __init__(self, client: Any, languages: Sequence[str], options: Options):
        self.client = client
        self.languages = tuple(languages)
        self.path = client.url
        self.options = options
        self.local: Any = None  # the local model, loaded on first need
        self.local_retriever: Any = None
        self.down_since: float | None = None  # the engine stopped answering (monotonic time); None: up
        self.problem: str | None = None  # why the local model stands in, said once when it loads

    def should_retry(self) -> bool:
        return self.down_since is not None and time.monotonic() - self.down_since >= ENGINE_RETRY_S


def load_engine(options: Options, loader: Callable[[Options], Any]) -> RemoteEngine:
    """For codefusion.engineUrl: the engine if it answers its health check; else, with
    engineFallback, the engine with the local model standing in; else ModelUnavailable saying why."""
    try:
        client = EngineClient(options.engine_url or "", options.engine_token, timeout=float(options.timeout))
    except ValueError as exc:
        raise ModelUnavailable(f"codefusion.engineUrl: {exc}") from None
    try:
        return RemoteEngine(
            client, client.health(timeout=min(10.0, float(options.timeout))).get("languages") or (), options
        )
    except (EngineUnreachable, RequestError) as exc:
        if not options.engine_fallback:
            raise ModelUnavailable(f"{exc} (codefusion.engineUrl; codefusion.engineFallback is off)") from None
        engine = RemoteEngine(client, (), options)
        engine.local = loader(dataclasses.replace(options, engine_url=None))
        engine.languages = tuple(getattr(engine.local, "languages", ()))
        engine.down_since = time.monotonic()
        engine.problem = f"{exc}; using the local model (codefusion.engineFallback)"
        return engine


def ask_engine(
    engine: RemoteEngine,
    key: GenerationKey,
    should_stop: Callable[[], bool],
    start: float,
    loader: Callable[[Options], Any],
    retriever_factory: Callable[[Any], Any],
    say: Callable[[str], None],
) -> GenerationResult | None:
    """In the worker thread: the shared engine's answer; None when the local model takes over
    (the engine stopped answering and codefusion.engineFallback is on). `say` warns the user."""
    if engine.local is not None and engine.should_retry():  # is the engine back?
        try:
            engine.client.health(timeout=2.0)
            engine.local = engine.local_retriever = None
            engine.down_since = None
            say(f"the shared engine at {engine.path} answers again; using it")
        except (EngineUnreachable, RequestError):
            engine.down_since = time.monotonic()
    if engine.local is None:
        try:
            res = engine.client.suggest(
                key.nl,
                key.lang,
                key.k,
                key.steps,
                retrieval=key.retrieval,
                invalid_mode=key.invalid_mode,
                cancel=should_stop,
                seed=key.seed,
                start_snr=key.start_snr,
                noise_slots=key.noise_slots,
            )
            return GenerationResult(res.candidates, res.message, res.model_seconds, res.pipeline_seconds, 0)
        except Cancelled:
            raise Stopped(0, time.perf_counter() - start) from None
        except RequestError as exc:
            return GenerationResult([], str(exc), 0.0, 0.0, 0)
        except EngineUnreachable as exc:
            if not engine.options.engine_fallback:
                return GenerationResult([], f"{exc} (codefusion.engineFallback is off)", 0.0, 0.0, 0)
            say(f"{exc}; using the local model (codefusion.engineFallback)")
            engine.local = loader(dataclasses.replace(engine.options, engine_url=None))
            engine.down_since = time.monotonic()
    if engine.local_retriever is None and key.retrieval:
        engine.local_retriever = retriever_factory(engine.local)
    return None
