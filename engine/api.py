"""The engine's public contract: load a checkpoint, generate candidates.

Everything outside engine/ (the grammar pipeline, `codefusion eval`, the language server) talks to the
model only through this module. It is a facade: it defines nothing, and no module of the engine
imports it (the names live in engine.schema, engine.types, engine.errors, engine.meta, engine.banks,
engine.retrieval and engine.generator; tests/test_architecture.py keeps the engine free of import circles).

Importing it is cheap (the language server imports it on its hot path): the names from the torch-free
modules are bound now; those of engine.banks and engine.retrieval (numpy) and engine.generator (torch)
are imported the first time they are asked for (`from engine.api import load_generator` loads torch).
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

from engine import version
from engine.errors import Cancelled, CheckpointError, EngineError, NoDefaultModelError
from engine.meta import calibration, default_checkpoint_dir
from engine.schema import DEFAULT_K, LANGUAGES, MAX_K, MAX_REQUEST_CHARS
from engine.types import CancelToken, Candidate, GeneratorLike, RetrieverLike, is_cancelled

if TYPE_CHECKING:  # what __getattr__ below imports on first use, for type checkers and the import graph
    from engine.banks import bank_hint, default_bank, exemplar_bank, files_bank, training_retriever
    from engine.generator import load_generator
    from engine.retrieval import embed_in_background as embed_banks_in_background
    from engine.retrieval import search_by_language

# name -> (module, its name there): imported on first use (start-up speed: numpy, torch)
_LAZY = {
    "training_retriever": ("engine.banks", "training_retriever"),
    "default_bank": ("engine.banks", "default_bank"),
    "exemplar_bank": ("engine.banks", "exemplar_bank"),
    "files_bank": ("engine.banks", "files_bank"),
    "bank_hint": ("engine.banks", "bank_hint"),
    "search_by_language": ("engine.retrieval", "search_by_language"),
    # a big bank not in the cache yet is embedded on a thread, TF-IDF serving it until then
    "embed_banks_in_background": ("engine.retrieval", "embed_in_background"),
    "load_generator": ("engine.generator", "load_generator"),
}

__all__ = [
    "DEFAULT_K",
    "LANGUAGES",
    "MAX_K",
    "MAX_REQUEST_CHARS",
    "CancelToken",
    "Cancelled",
    "Candidate",
    "CheckpointError",
    "EngineError",
    "GeneratorLike",
    "NoDefaultModelError",
    "RetrieverLike",
    "bank_hint",
    "calibration",
    "default_bank",
    "default_checkpoint_dir",
    "embed_banks_in_background",
    "exemplar_bank",
    "files_bank",
    "is_cancelled",
    "load_generator",
    "search_by_language",
    "training_retriever",
    "version",
]


def __getattr__(name: str) -> Any:
    if name not in _LAZY:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    module, attr = _LAZY[name]
    value = getattr(importlib.import_module(module), attr)
    globals()[name] = value  # once: later lookups do not come here
    return value
