"""The shapes every layer agrees on, in one module that imports nothing of the engine.

    Candidate        one generated or retrieved program with its score (what generate and search return)
    CancelToken      how a caller stops the sampler (is_cancelled reads it)
    program_key      what "the same program" means (whitespace aside)
    GeneratorLike    what codefusion.suggest needs of a model (engine.generator.Generator is one)
    RetrieverLike    what it needs of a bank (engine.retrieval.Retriever and engine.banks.LayeredBank are)
(The request limits, LANGUAGES, DEFAULT_K, MAX_K and the rest, live in engine.schema.)

engine.api re-exports the public ones; engine's own modules import them from here, so that no module
of the engine imports the facade (which would make a circle). Importing this is cheap: no torch, no numpy.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Protocol, runtime_checkable

# A cancellation token: a threading.Event, or any zero-argument callable that
# returns True once the caller wants the sampler to stop.
CancelToken = threading.Event | Callable[[], bool] | None


@dataclass
class Candidate:
    code: str  # the generated program, decoded up to the first end/pad token
    score: float  # mean token log-probability under the head H (higher is better)
    source: str = "model"  # "model" or "retrieval" (a labelled training example)
    meta: dict[str, Any] = field(default_factory=dict)


def is_cancelled(cancel: CancelToken) -> bool:
    if cancel is None:
        return False
    if isinstance(cancel, threading.Event):
        return cancel.is_set()
    return bool(cancel())


def program_key(code: str) -> str:
    """A program with its whitespace runs collapsed: what "the same program" means for exemplars,
    starts and copies."""
    return " ".join(code.split())


@runtime_checkable
class LoadedLike(Protocol):
    """What is read of a loaded checkpoint (engine.checkpoint.Loaded): the rest of its config.json."""

    @property
    def meta(self) -> dict[str, Any]: ...


@runtime_checkable
class GeneratorLike(Protocol):
    """What suggest() and suggest_many() call on a model (engine.generator.Generator)."""

    @property
    def loaded(self) -> LoadedLike: ...  # its checkpoint's meta holds the dev calibration (engine.meta.calibration)

    @property
    def fills_arguments(self) -> bool: ...  # its config's adapt_arguments: the request's literals go into what it shows

    def generate(
        self, nl: str, lang: str, k: int, steps: int | None = None, seed: int = 0, cancel: CancelToken = None
    ) -> list[Candidate]: ...

    def generate_many(self, requests: list[dict[str, Any]]) -> list[list[Candidate]]: ...

    def check_request(self, nl: str, lang: str, k: int) -> None: ...


@runtime_checkable
class RetrieverLike(Protocol):
    """What suggest() and suggest_many() call on a bank (engine.retrieval.Retriever, engine.banks.LayeredBank)."""

    def search(self, nl: str, lang: str, k: int) -> list[Candidate]: ...

    def search_batch(self, nls: list[str], lang: str, k: int) -> list[list[Candidate]]: ...
