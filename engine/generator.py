"""Generator: a loaded checkpoint that turns (NL, language) into k scored candidates."""
from __future__ import annotations

import os
from pathlib import Path
from typing import Optional

import torch

from engine import checkpoint
from engine.api import CancelToken, Candidate
from engine.sampling import diffusion_sample, initial_noise, sequence_scores
from engine.schedule import SqrtSchedule

MAX_K = 64


def configure_threads() -> None:
    """CODEFUSION_THREADS=N caps torch's CPU threads (several processes on few cores thrash)."""
    n = os.environ.get("CODEFUSION_THREADS")
    if n and n.isdigit() and int(n) > 0:
        torch.set_num_threads(int(n))


def pick_device(device: Optional[str]) -> str:
    if device in (None, "", "auto"):
        return "cuda" if torch.cuda.is_available() else "cpu"
    if device.startswith("cuda") and not torch.cuda.is_available():
        raise ValueError(f"device '{device}' requested but CUDA is not available")
    if device != "cpu" and not device.startswith("cuda"):
        raise ValueError(f"unknown device '{device}' (use cpu, cuda or auto)")
    return device


class Generator:
    def __init__(self, loaded: checkpoint.Loaded, device: str):
        self.loaded = loaded
        self.cfg = loaded.cfg
        self.model = loaded.model
        self.encoder = loaded.encoder
        self.tokenizer = loaded.tokenizer
        self.device = device
        self.schedule = SqrtSchedule(self.cfg.diffusion_steps)

    @classmethod
    def load(cls, path: Path, device: Optional[str] = None) -> "Generator":
        configure_threads()
        dev = pick_device(device)
        return cls(checkpoint.load(path, dev), dev)

    @property
    def languages(self) -> tuple:
        return tuple(self.cfg.languages)

    @property
    def default_steps(self) -> int:
        return self.cfg.default_steps

    @property
    def kind(self) -> str:
        return self.cfg.kind

    @property
    def path(self) -> Path:
        return self.loaded.path

    def _memory(self, nls: list[str], langs: list[str]):
        """(memory, mask, lang ids) for the requests."""
        enc, mask = self.encoder(nls, self.device)
        lang = torch.tensor([self.cfg.languages.index(lg) for lg in langs], device=self.device)
        return (*self.model.cond(enc, mask, lang), lang)

    @torch.inference_mode()
    def generate(self, nl: str, lang: str, k: int = 5, steps: Optional[int] = None, seed: int = 0,
                 cancel: CancelToken = None, guidance: float = 1.0, clamp: Optional[str] = None,
                 ar_mode: str = "beam") -> list[Candidate]:
        """k candidates from k noise seeds (seed, seed+1, ...) in one batched pass, best first."""
        if lang not in self.cfg.languages:
            raise ValueError(f"language '{lang}' is not served by this model ({', '.join(self.cfg.languages)})")
        if not isinstance(nl, str) or not nl.strip():
            raise ValueError("the NL request is empty")
        if not 1 <= k <= MAX_K:
            raise ValueError(f"k must be in 1..{MAX_K}, got {k}")
        steps = self.cfg.default_steps if steps is None else int(steps)
        mem, mem_mask, lang_id = self._memory([nl.strip()], [lang])  # (1, Lm, d)
        if self.cfg.kind == "ar":
            from engine.ar_model import ar_generate
            res = ar_generate(self.model, mem, mem_mask, k, mode=ar_mode, seed=seed, cancel=cancel)
            return [Candidate(self.tokenizer.decode(ids), score, meta={"kind": "ar"}) for ids, score in res]
        x_T = initial_noise(k, self.cfg.code_max_len, self.cfg.d_model, seed, self.device)
        uncond = None
        if guidance != 1.0:  # seeded: the result still depends only on (seed, i)
            uncond = self.model.cond.unconditional(lang_id.expand(k), torch.Generator().manual_seed(seed))
        ids, lp = diffusion_sample(
            self.model, mem.expand(k, -1, -1), mem_mask.expand(k, -1), x_T, steps, self.schedule,
            clamp=self.cfg.clamp if clamp is None else clamp, guidance=guidance, uncond=uncond, cancel=cancel,
            spacing=self.cfg.step_spacing)
        scores = sequence_scores(ids, lp)
        cands = [Candidate(self.tokenizer.decode(row), s, meta={"seed": seed + i, "steps": steps})
                 for i, (row, s) in enumerate(zip(ids.tolist(), scores))]
        return sorted(cands, key=lambda c: -c.score)
