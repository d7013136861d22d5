"""The engine's public contract: load a checkpoint, generate candidates.

Everything outside engine/ (the grammar pipeline, `codefusion eval`, the language
server) talks to the model only through this module. It imports torch lazily so
that importing it is cheap (the language server imports it on its hot path).
"""
from __future__ import annotations

import os
import threading
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Optional, Union

LANGUAGES = ("bash", "python", "cf")
DEFAULT_K = 5  # candidates per request: the one Python home of this default (package.json repeats it; a test ties them)
MAX_K = 64  # the most candidates one request may ask for
MAX_REQUEST_CHARS = 1000  # longer requests are cut (the NL encoder reads 48 word pieces anyway)

# A cancellation token: a threading.Event, or any zero-argument callable that
# returns True once the caller wants the sampler to stop.
CancelToken = Union[threading.Event, Callable[[], bool], None]


@dataclass
class Candidate:
    code: str  # the generated program, decoded up to the first end/pad token
    score: float  # mean token log-probability under the head H (higher is better)
    source: str = "model"  # "model" or "retrieval" (a labelled training example)
    meta: dict = field(default_factory=dict)


class EngineError(Exception):
    """Base class of errors the CLI and the server show as one line."""


class CheckpointError(EngineError):
    """A checkpoint is missing, truncated, corrupt or mismatched. str() names the file."""


class NoDefaultModelError(CheckpointError):
    """No --checkpoint was given and no shipped default model is installed."""


class Cancelled(EngineError):
    """generate() was stopped through its cancellation token."""


def is_cancelled(cancel: CancelToken) -> bool:
    if cancel is None:
        return False
    if isinstance(cancel, threading.Event):
        return cancel.is_set()
    return bool(cancel())


def default_checkpoint_dir() -> Optional[Path]:
    """The shipped default model: $CODEFUSION_CHECKPOINT, else models/default in the repository, else
    the copy a wheel installs (the package `codefusion_model`)."""
    env = os.environ.get("CODEFUSION_CHECKPOINT")
    if env:
        return Path(env)
    here = Path(__file__).resolve().parent.parent / "models" / "default"
    if (here / "config.json").exists():
        return here
    import importlib.util

    spec = importlib.util.find_spec("codefusion_model")
    if spec is not None and spec.submodule_search_locations:
        installed = Path(list(spec.submodule_search_locations)[0])
        if (installed / "config.json").exists():
            return installed
    return None


def training_retriever(generator):
    """A TF-IDF retriever over the training files that the generator's checkpoint lists under "data"
    (those that exist on this machine), or None when there are none. An exemplar model's bank is
    that same index: it is shared, not built twice."""
    bank = getattr(generator, "bank", None)
    return bank if bank is not None else _files_bank(generator)


def _files_bank(generator):
    """A fresh retriever over the training files the generator's checkpoint lists (None without them)."""
    from engine.generator import dense_for, training_bank

    loaded = getattr(generator, "loaded", None)
    return training_bank(getattr(loaded, "meta", {}) or {}, dense_for(loaded) if loaded is not None else None)


def exemplar_bank(generator, files=(), records=()):
    """The programs an exemplar model draws on (and retrieval shows): its training files found here,
    with JSONL `files` (nl, code, lang per line) and `records` (dicts alike, e.g. workspace pairs)
    in front, scored on the training index's vocabulary so that similarities compare. A ValueError
    names a missing or unreadable file. None when there is nothing."""
    from pathlib import Path as _Path

    from engine.data import read_jsonl
    from engine.retrieval import Retriever

    missing = [str(f) for f in files if not _Path(f).is_file()]
    if missing:
        raise ValueError(f"exemplar file(s) not found: {', '.join(missing)}")
    extra = [rec for f in files for _, rec in read_jsonl(f)] + list(records)
    base = getattr(generator, "base_bank", None)
    if base is None:  # a model without exemplars: its training files, once
        base = _files_bank(generator)
        if hasattr(generator, "base_bank"):
            generator.base_bank = base
    if not extra:
        return base
    if base is None:
        try:
            return Retriever(extra)
        except ValueError:  # nothing usable
            return None
    return base.with_records(extra)


def search_by_language(retriever, nls: list, langs: list, ns: list) -> list:
    """The retriever's nearest examples for a batch of requests: one `search_batch` per language
    with the largest n asked there, each request taking its own prefix (results are best first).
    Entries are lists of Candidates, or None for all when the retriever cannot search in batches."""
    search = getattr(retriever, "search_batch", None)
    out: list = [None] * len(nls)
    if search is None:
        return out
    for lang in dict.fromkeys(langs):
        idx = [i for i, lg in enumerate(langs) if lg == lang]
        for i, hits in zip(idx, search([nls[i] for i in idx], lang, max(ns[i] for i in idx))):
            out[i] = hits[: ns[i]]
    return out


def calibration(generator) -> Optional[dict]:
    """The checkpoint's dev calibration ({"model"|"retrieval": {lang: [rate at rank 1..k]}}, see
    codefusion.evaluation.calibrate), or None."""
    meta = getattr(getattr(generator, "loaded", None), "meta", None) or {}
    cal = meta.get("calibration")
    return cal if isinstance(cal, dict) else None


def version() -> str:
    """The installed package's version."""
    from engine import version as _version

    return _version()


def load_generator(checkpoint: Union[str, Path, None] = None, device: Optional[str] = None):
    """Load a checkpoint directory (diffusion or autoregressive) and return a Generator.

    checkpoint=None uses the shipped default model (NoDefaultModelError if absent).
    device=None picks CUDA when available, else CPU.
    Raises CheckpointError with a one-line message on any bad checkpoint.
    """
    from engine.generator import Generator  # lazy: pulls in torch

    if checkpoint is None:
        checkpoint = default_checkpoint_dir()
        if checkpoint is None:
            raise NoDefaultModelError(
                "no default model is installed (models/default is missing); pass --checkpoint DIR "
                "or train one: codefusion train --config small --data FILE.jsonl --out DIR"
            )
    return Generator.load(Path(checkpoint), device=device)
