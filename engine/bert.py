"""A BERT encoder (all-MiniLM-L6-v2, the default NL encoder) without transformers, for inference.

Importing transformers' BERT costs a fresh process 1.5 s of CPU on 2 cores (measured: modeling_bert pulls in
torch._dynamo and torch.distributed.tensor), more than the rest of `codefusion generate`. A frozen BERT
encoder is a few dozen lines of torch: the same modules and weight names as transformers' BertModel (the
pooler left out), read from the same model.safetensors, and its tokenizer from tokenizer.json with the
`tokenizers` library. Its outputs agree with transformers' to float precision
(tests/engine/test_fast_load.py). engine.encoder uses it for a frozen encoder whose config.json says
model_type "bert"; anything else (another architecture, a fine-tuned encoder) goes through transformers.
"""

from __future__ import annotations

import json
from pathlib import Path
from types import SimpleNamespace

import torch
import torch.nn as nn
import torch.nn.functional as F

FILES = ("config.json", "tokenizer.json", "model.safetensors")


def supported(path: Path) -> dict | None:
    """The encoder directory's config when this module can run it (BERT, absolute positions, GELU, the
    three files present), else None."""
    path = Path(path)
    if not all((path / f).is_file() for f in FILES):
        return None
    try:
        cfg = json.loads((path / "config.json").read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    ok = (
        isinstance(cfg, dict)
        and cfg.get("model_type") == "bert"
        and cfg.get("hidden_act") == "gelu"
        and cfg.get("position_embedding_type", "absolute") == "absolute"
        and all(
            isinstance(cfg.get(k), int) and cfg[k] > 0
            for k in (
                "hidden_size",
                "num_attention_heads",
                "num_hidden_layers",
                "intermediate_size",
                "vocab_size",
                "max_position_embeddings",
                "type_vocab_size",
            )
        )
        and cfg["hidden_size"] % cfg["num_attention_heads"] == 0
    )
    return cfg if ok else None


class _Embeddings(nn.Module):
    def __init__(self, c):
        super().__init__()
        self.word_embeddings = nn.Embedding(c.vocab_size, c.hidden_size)
        self.position_embeddings = nn.Embedding(c.max_position_embeddings, c.hidden_size)
        self.token_type_embeddings = nn.Embedding(c.type_vocab_size, c.hidden_size)
        self.LayerNorm = nn.LayerNorm(c.hidden_size, eps=c.layer_norm_eps)

    def forward(self, ids):
        pos = torch.arange(ids.shape[1], device=ids.device)
        x = self.word_embeddings(ids) + self.token_type_embeddings.weight[0] + self.position_embeddings(pos)[None]
        return self.LayerNorm(x)


class _SelfAttention(nn.Module):
    def __init__(self, c):
        super().__init__()
        self.heads, self.dim = c.num_attention_heads, c.hidden_size // c.num_attention_heads
        self.query = nn.Linear(c.hidden_size, c.hidden_size)
        self.key = nn.Linear(c.hidden_size, c.hidden_size)
        self.value = nn.Linear(c.hidden_size, c.hidden_size)

    def forward(self, x, bias):
        B, L, _ = x.shape

        def split(t):
            return t.view(B, L, self.heads, self.dim).transpose(1, 2)

        q, k, v = split(self.query(x)), split(self.key(x)), split(self.value(x))
        out = F.scaled_dot_product_attention(q, k, v, attn_mask=bias)  # what transformers' "sdpa" attention runs
        return out.transpose(1, 2).reshape(B, L, -1)


class _Residual(nn.Module):  # BertSelfOutput / BertOutput: dense, then LayerNorm(x + input)
    def __init__(self, d_in, c):
        super().__init__()
        self.dense = nn.Linear(d_in, c.hidden_size)
        self.LayerNorm = nn.LayerNorm(c.hidden_size, eps=c.layer_norm_eps)

    def forward(self, h, x):
        return self.LayerNorm(self.dense(h) + x)


class _Attention(nn.Module):
    def __init__(self, c):
        super().__init__()
        self.self = _SelfAttention(c)
        self.output = _Residual(c.hidden_size, c)


class _Intermediate(nn.Module):
    def __init__(self, c):
        super().__init__()
        self.dense = nn.Linear(c.hidden_size, c.intermediate_size)


class _Layer(nn.Module):
    def __init__(self, c):
        super().__init__()
        self.attention = _Attention(c)
        self.intermediate = _Intermediate(c)
        self.output = _Residual(c.intermediate_size, c)

    def forward(self, x, bias):
        a = self.attention.output(self.attention.self(x, bias), x)
        return self.output(F.gelu(self.intermediate.dense(a)), a)


class _Encoder(nn.Module):
    def __init__(self, c):
        super().__init__()
        self.layer = nn.ModuleList(_Layer(c) for _ in range(c.num_hidden_layers))


class BertModel(nn.Module):
    """transformers' BertModel without its pooler: model(input_ids=, attention_mask=).last_hidden_state."""

    def __init__(self, config: dict):
        super().__init__()
        self.config = SimpleNamespace(**{"layer_norm_eps": 1e-12, **config})
        self.embeddings = _Embeddings(self.config)
        self.encoder = _Encoder(self.config)

    def forward(self, input_ids, attention_mask):
        x = self.embeddings(input_ids)
        bias = (1.0 - attention_mask[:, None, None, :].to(x.dtype)) * torch.finfo(x.dtype).min
        for layer in self.encoder.layer:
            x = layer(x, bias)
        return SimpleNamespace(last_hidden_state=x)

    @classmethod
    def load(cls, path: Path, config: dict) -> BertModel:
        from safetensors.torch import load_file

        state = load_file(str(Path(path) / "model.safetensors"), device="cpu")
        model = cls(config)
        want = model.state_dict()
        missing = [k for k in want if k not in state]
        if missing:
            raise ValueError(f"model.safetensors lacks {missing[0]} (and {len(missing) - 1} more)")
        bad = [k for k in want if tuple(state[k].shape) != tuple(want[k].shape)]
        if bad:
            raise ValueError(
                f"model.safetensors: {bad[0]} has shape {tuple(state[bad[0]].shape)}, "
                f"the config says {tuple(want[bad[0]].shape)}"
            )
        model.load_state_dict({k: state[k].float() for k in want})
        return model


class _Batch(dict):
    def to(self, device):
        return _Batch({k: v.to(device) for k, v in self.items()})


class Tokenizer:
    """tokenizer.json through the `tokenizers` library, called as transformers' fast tokenizer is here:
    tok(texts, padding=True, truncation=True, max_length=N, return_tensors="pt") -> {input_ids, attention_mask}."""

    def __init__(self, path: Path):
        from tokenizers import Tokenizer as _Tok

        self._tok = _Tok.from_file(str(Path(path) / "tokenizer.json"))
        self._tok.no_truncation()
        self._tok.no_padding()
        pad = self._tok.token_to_id("[PAD]")
        self.pad_id = 0 if pad is None else pad

    def __call__(self, texts, padding=True, truncation=True, max_length=512, return_tensors="pt"):
        if truncation:
            self._tok.enable_truncation(max_length)  # special tokens included, as transformers truncates
        else:
            self._tok.no_truncation()
        ids = [e.ids for e in self._tok.encode_batch(list(texts))]
        n = max((len(s) for s in ids), default=0)
        input_ids = torch.full((len(ids), n), self.pad_id, dtype=torch.long)
        mask = torch.zeros((len(ids), n), dtype=torch.long)
        for i, s in enumerate(ids):
            input_ids[i, : len(s)] = torch.tensor(s, dtype=torch.long)
            mask[i, : len(s)] = 1
        return _Batch(input_ids=input_ids, attention_mask=mask)
