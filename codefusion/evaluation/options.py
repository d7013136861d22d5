"""Options of `codefusion eval` (light: imported when the CLI parser is built); defaults from codefusion.settings."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from codefusion.settings import DEFAULT_K, DEFAULT_SEED, Settings

DEFAULT_INVALID_MODE = Settings().invalid_mode


@dataclass
class EvalOptions:
    data: Path
    out: Path  # REPORT.json; REPORT.md, REPORT.items.jsonl and plots go beside it
    checkpoint: str | None = None  # None: the shipped default model
    lang: str | None = None  # None: each record's `lang`
    k: int = DEFAULT_K
    steps: list[int | None] = field(default_factory=lambda: [None])  # None: the checkpoint's default
    limit: int | None = None
    seed: int = DEFAULT_SEED
    device: str | None = None
    baseline: str | None = None  # "retrieval" or None (the checkpoint's generator)
    train: list[Path] = field(default_factory=list)  # training JSONL files for the retrieval baseline
    codebert: str | None = None  # local CodeBERT directory for CodeBERTScore
    invalid_mode: str = DEFAULT_INVALID_MODE
    progress: bool = True
    start_snr: float | None = None  # exemplar models: SDEdit start level (None: the checkpoint's; 0: noise)
    noise_slots: int | None = None  # exemplar models: candidates from pure noise beside the exemplar starts
    bank: list[Path] | None = None  # exemplar models: JSONL bank (None: the training files; []: none)
    retrieval_dense: float = 0.0  # --baseline retrieval: weight of sentence vectors (0: TF-IDF, the floor)
    with_retrieval: bool = False  # what the editor shows: the model's and the retrieved candidates on one
    #   (calibrated) scale, k in all; default: the model alone
