"""What a generation is keyed by, what it returns, and how it can fail (no LSP, no engine here).

The scheduler (lsp.scheduler), the engine client (lsp.engine_client) and failover (lsp.failover)
share these; the server turns each error into a message for the user.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Hashable
from dataclasses import dataclass
from typing import Any

from engine.schema import DEFAULT_SEED, Request


class ModelUnavailable(Exception):
    """No usable model: str() says why and how to fix it."""


class Superseded(Exception):
    """A newer request for the same document replaced this generation."""


class TimedOut(Exception):
    """A generation ran past the request's time budget (codefusion.timeout); str() says so."""


class Stopped(Exception):
    """The sampler stopped on its cancellation event (raised in the worker thread)."""

    def __init__(self, steps_run: int, seconds: float):
        super().__init__(f"generation cancelled after {steps_run} sampling steps ({seconds:.2f} s)")
        self.steps_run = steps_run
        self.seconds = seconds


@dataclass(frozen=True)
class GenerationKey:
    """What a result depends on: the cache key."""

    nl: str
    lang: str
    k: int
    steps: int | None
    invalid_mode: str
    retrieval: bool
    model: Hashable
    exemplars: int = 0  # the version of the workspace's comment -> code pairs (a new pair: a new result)
    seed: int = DEFAULT_SEED  # the rest of the request (engine.schema.Request), from the command's argument
    start_snr: float | None = None
    noise_slots: int | None = None

    @classmethod
    def of(cls, request: Request, model: Hashable, exemplars: int = 0) -> GenerationKey:
        """The key of a request (engine.schema.Request) to a model."""
        r = request
        return cls(
            r.nl,
            r.lang,
            r.k,
            r.steps,
            r.invalid_mode,
            r.retrieval,
            model,
            exemplars,
            r.seed,
            r.start_snr,
            r.noise_slots,
        )

    def request(self) -> Request:
        """The request this key asks (engine.schema.Request)."""
        return Request(
            self.nl,
            self.lang,
            k=self.k,
            steps=self.steps,
            seed=self.seed,
            start_snr=self.start_snr,
            noise_slots=self.noise_slots,
            retrieval=self.retrieval,
            invalid_mode=self.invalid_mode,
        )


@dataclass
class GenerationResult:
    """Ranked candidates (grammar.pipeline.RankedCandidate), best first, and a message for the user."""

    candidates: list[Any]
    message: str | None
    model_seconds: float  # time in generator.generate (and retrieval)
    pipeline_seconds: float  # time in grammar.pipeline.process (dedupe, syntax checks, ranking)
    steps_run: int  # sampling steps the model ran (cancellation checks seen)
    exemplars: list[str] = dataclasses.field(default_factory=list)  # programs the model's candidates started from
