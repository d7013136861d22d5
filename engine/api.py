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
    """The bank a request's retrieved examples come from: the generator's own (an exemplar model's,
    with the user's exemplars when given), else the default layers (default_bank); None when there is
    none. Shared with the exemplars, not built twice."""
    bank = getattr(generator, "bank", None)
    return bank if bank is not None else default_bank(generator)


def default_bank(generator):
    """The bank every request searches without user exemplars (engine.banks): the shipped bank (Bash)
    and the training files the checkpoint lists, when they are on this machine; None when neither is.
    Built once per generator (kept as its base_bank)."""
    base = getattr(generator, "base_bank", None)
    if base is None:
        from engine.banks import LayeredBank, default_layers

        layers = [(name, r) for name, r in default_layers(generator) if r is not None]
        base = LayeredBank(layers) if layers else None
        if base is not None and hasattr(generator, "base_bank"):
            generator.base_bank = base
    return base


def exemplar_bank(generator, files=(), records=(), notes: Optional[list] = None, skip_bad: bool = False):
    """The programs an exemplar model draws on (and retrieval shows): the user's JSONL `files` (nl, code,
    lang per line; engine.data.read_exemplar_files, what its limits cut said in `notes`) and `records`
    (dicts alike, e.g. workspace pairs, with "file" and "line" when known) first, then the default bank
    (default_bank), in one ranking (engine.banks). A ValueError names a missing or unreadable file;
    with skip_bad (the language server) that file is left out and said in `notes` instead.
    None when there is nothing."""
    from engine.banks import LayeredBank
    from engine.data import read_exemplar_files

    extra = read_exemplar_files(files, notes=notes, skip_bad=skip_bad) + list(records)
    base = default_bank(generator)
    if not extra:
        return base
    if base is None:
        from engine.generator import dense_for

        loaded = getattr(generator, "loaded", None)
        bank = LayeredBank([], dense=dense_for(loaded) if loaded is not None else None).with_records(extra)
        return bank if bank.layers else None
    return base.with_records(extra, bank="user")


def files_bank(generator, files):
    """A bank over JSONL files alone (`codefusion eval --bank`): the shipped bank's own rows file gives the
    shipped bank with its precomputed index; other files are indexed here."""
    from engine.banks import LayeredBank, load_shipped, shipped_file
    from engine.generator import dense_for
    from engine.retrieval import Retriever

    loaded = getattr(generator, "loaded", None)
    dense = dense_for(loaded) if loaded is not None else None
    if not files:
        return None
    shipped = shipped_file()
    if shipped is not None and [Path(f).resolve() for f in files] == [shipped.resolve()]:
        return LayeredBank([("shipped", load_shipped(dense, shipped.parent))])
    return Retriever.from_jsonl(files, dense=dense)


def bank_hint(generator, lang: str, surface: str) -> Optional[str]:
    """One line for the user the first time `surface` ("cli", "lsp") serves `lang` with no exemplar bank
    for it (Python and CF on a pip install: none may be redistributed): how to add their own examples.
    None after that, or when the language has a bank (engine.banks.hint_once)."""
    from engine.banks import hint_once

    return hint_once(lang, training_retriever(generator), surface)


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


def embed_banks_in_background(on: bool = True, progress: bool = True) -> None:
    """Where a user waits for an answer (generate, its daemon, the language server): a big bank that is not
    in the cache yet is embedded on a thread (a progress bar on stderr when `progress`) and TF-IDF serves it
    until then, instead of embedding it before the first answer (engine.retrieval.embed_in_background)."""
    from engine.retrieval import embed_in_background

    embed_in_background(on, progress)


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


def load_generator(checkpoint: Union[str, Path, None] = None, device: Optional[str] = None, bank: str = "default"):
    """Load a checkpoint directory (diffusion or autoregressive) and return a Generator.

    checkpoint=None uses the shipped default model (NoDefaultModelError if absent).
    device=None picks CUDA when available, else CPU.
    bank "default": an exemplar model draws on default_bank (the shipped bank, the training files found
    here) from the first request; None: no bank until the caller sets one (generator.bank).
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
    gen = Generator.load(Path(checkpoint), device=device, bank=None)
    if bank == "default" and gen.cfg.exemplars:  # built now: the first request pays nothing
        gen.bank = default_bank(gen)
    return gen
