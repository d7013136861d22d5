"""Checkpoints: the one place that writes and reads them.

A checkpoint is a directory:
    model.safetensors   network weights (no pickle anywhere); E's weights too when fine-tuned
    config.json         {"model": ModelConfig, "train": {...}, "encoder": reference, ...}
    tokenizer.json      the code tokenizer
    card.md             data, steps, dev metrics
    train_state.safetensors + train_state.json   optimizer, LR scheduler, step, RNG (for --resume)

Every failure to read one raises CheckpointError with a one-line message naming the file.
"""

from __future__ import annotations

import json
import random
from dataclasses import dataclass
from pathlib import Path

import torch

from engine.config import ModelConfig
from engine.errors import CheckpointError
from engine.tokenizer import CodeTokenizer

MODEL_FILE, CONFIG_FILE, TOKENIZER_FILE, CARD_FILE = "model.safetensors", "config.json", "tokenizer.json", "card.md"
STATE_FILE, STATE_JSON = "train_state.safetensors", "train_state.json"


@dataclass
class Loaded:
    cfg: ModelConfig
    model: torch.nn.Module  # CodeFusion or ARModel, weights loaded, eval mode, on device
    encoder: torch.nn.Module  # NLEncoder
    tokenizer: CodeTokenizer
    meta: dict  # the rest of config.json (train config, data, metrics)
    path: Path


def build_model(cfg: ModelConfig) -> torch.nn.Module:
    if cfg.kind == "diffusion":
        from engine.model import CodeFusion

        return CodeFusion(cfg)
    if cfg.kind == "ar":
        from engine.ar_model import ARModel

        return ARModel(cfg)
    raise ValueError(f"unknown model kind '{cfg.kind}'")


def save(
    out: Path,
    cfg: ModelConfig,
    model: torch.nn.Module,
    encoder: torch.nn.Module,
    tokenizer: CodeTokenizer,
    meta: dict,
    card: str,
    half: bool = False,
) -> None:
    """Write model.safetensors, config.json, tokenizer.json and card.md into `out`."""
    from safetensors.torch import save_file

    out.mkdir(parents=True, exist_ok=True)
    state = {k: v.detach().cpu().contiguous() for k, v in model.state_dict().items()}
    if not cfg.freeze_encoder:
        state.update({f"encoder.{k}": v.detach().cpu().contiguous() for k, v in encoder.model.state_dict().items()})
    if half:
        state = {k: (v.half() if v.is_floating_point() else v) for k, v in state.items()}
    tmp = out / (MODEL_FILE + ".tmp")
    save_file(state, str(tmp), metadata={"format": "pt"})
    tmp.replace(out / MODEL_FILE)
    (out / CONFIG_FILE).write_text(json.dumps({"model": cfg.to_dict(), **meta}, indent=2, default=str))
    tokenizer.save(out / TOKENIZER_FILE)
    (out / CARD_FILE).write_text(card)


# Model config fields added after checkpoints were shipped: what their absence means (the behaviour
# of the code that wrote those checkpoints), so old checkpoints load and train as they did.
LEGACY_DEFAULTS = {
    "input_scaling": False,
    "skip": False,
    "dec_weight": 1.0,
    "clean_weight": 1.0,
    "skip_posterior": False,
    "exemplars": 0,
    "exemplar_start_snr": 0.0,
    "exemplar_start_snr_lang": {},
    "exemplar_edit": False,
    "exemplar_rank_weight": 0.0,
    "exemplar_rank_weight_lang": {},
    "retrieval_dense_weight": 0.0,
    "exemplar_noise_slots_lang": {},
    "literal_slots": False,
    "adapt_arguments": False,
}


def is_complete(path: Path) -> bool:
    """A checkpoint directory with its weights and config written (not checked further)."""
    return (Path(path) / MODEL_FILE).exists() and (Path(path) / CONFIG_FILE).exists()


def read_meta(path: Path) -> dict:
    """config.json as a dict ("model", "train", "data", "metrics", ...), for readers that build no model."""
    f = Path(path) / CONFIG_FILE
    if not f.exists():
        raise CheckpointError(f"{f}: missing (not a CodeFusion checkpoint directory?)")
    try:
        return json.loads(f.read_text(encoding="utf-8"))
    except (json.JSONDecodeError, UnicodeDecodeError) as e:
        raise CheckpointError(f"{f}: corrupt JSON ({e.__class__.__name__}: {e})") from None


def write_card(path: Path, card: str, metrics: dict | None = None) -> None:
    """Replace card.md (and, given, config.json's "metrics": the dev figures the card shows)."""
    path = Path(path)
    if metrics is not None:
        raw = read_meta(path)
        raw["metrics"] = metrics
        (path / CONFIG_FILE).write_text(json.dumps(raw, indent=2, default=str))
    (path / CARD_FILE).write_text(card)


def update_meta(path: Path, **fields) -> None:
    """Set top-level fields of config.json (e.g. calibration=...), leaving the rest as it is."""
    raw = read_meta(Path(path))
    raw.update(fields)
    (Path(path) / CONFIG_FILE).write_text(json.dumps(raw, indent=2, default=str))


def card_header(cfg: ModelConfig, meta: dict) -> list[str]:
    """The card's description of the checkpoint (train writes it alone; the evaluation card adds results)."""
    m = cfg
    lines = [
        f"- kind: {m.kind}; languages: {', '.join(m.languages)} (one model; a language token conditions it)",
        f"- sizes: d={m.d_model}, denoiser {m.denoiser_layers} layers, decoder {m.decoder_layers} layers"
        f"{f', AR decoder {m.ar_layers} layers' if m.kind == 'ar' else ''}, vocab {m.vocab_size} (byte-level BPE), "
        f"{m.code_max_len} code tokens, {m.nl_max_len} NL tokens",
        f"- NL encoder: {m.encoder} ({'frozen' if m.freeze_encoder else 'fine-tuned'}, not stored here)",
        f"- training data: {', '.join(map(str, meta.get('data', [])))} (relative to the data directory)",
        f"- initialised from: {meta.get('init') or 'scratch'}",
        f"- training: {meta.get('step')} steps of batch {meta.get('train', {}).get('batch_size')} x "
        f"{meta.get('world_size', 1)} processes in {meta.get('elapsed_s')} s on {meta.get('hardware')}",
    ]
    if m.kind == "diffusion":
        lines.append(
            f"- default sampling steps: {m.default_steps}; noise: {m.schedule} schedule"
            + (
                f", token SNR {m.snr_max} to {m.snr_min}, last step at SNR {m.sample_end_snr}"
                if m.schedule == "logsnr"
                else ""
            )
            + f"; x0_scale {m.x0_scale}; skip/input scaling: {m.skip}/{m.input_scaling}"
        )
    else:
        lines.append("- decoding: beam search, k beams")
    if m.exemplars:
        lines.append(
            f"- exemplars: the {m.exemplars} nearest training programs by NL ("
            + (
                f"hybrid: {1 - m.retrieval_dense_weight:g} TF-IDF + {m.retrieval_dense_weight:g} sentence vectors"
                if m.retrieval_dense_weight
                else "TF-IDF"
            )
            + ") in the memory"
            + (
                f"; candidate i starts from the i-th nearest noised to token SNR {m.exemplar_start_snr}"
                f"{' (per language: ' + str(m.exemplar_start_snr_lang) + ')' if m.exemplar_start_snr_lang else ''}"
                if m.exemplar_start_snr
                else ""
            )
            + ("; N trained to edit a noised exemplar (exemplar_edit)" if m.exemplar_edit else "")
        )
    return lines


MAX_BYTES = {CONFIG_FILE: 1 << 20, TOKENIZER_FILE: 64 << 20, MODEL_FILE: 4 << 30}


def _regular(f: Path) -> None:
    """A checkpoint file must be a regular file of a sane size: a FIFO or device would hang or
    stream forever (CheckpointError otherwise)."""
    import os
    import stat

    try:
        st = os.stat(f)
    except FileNotFoundError:
        raise CheckpointError(f"{f}: missing (not a CodeFusion checkpoint directory?)") from None
    except OSError as e:
        raise CheckpointError(f"{f}: cannot be read ({e.strerror})") from None
    if not stat.S_ISREG(st.st_mode):
        raise CheckpointError(f"{f}: not a regular file")
    if st.st_size > MAX_BYTES.get(f.name, 4 << 30):
        raise CheckpointError(f"{f}: {st.st_size} bytes, more than a checkpoint file may hold")


def read_config(path: Path) -> tuple[ModelConfig, dict]:
    f = path / CONFIG_FILE
    if not path.is_dir():
        raise CheckpointError(f"{path}: checkpoint directory not found")
    _regular(f)
    try:
        raw = json.loads(f.read_text(encoding="utf-8"))
        cfg = ModelConfig.from_dict({**LEGACY_DEFAULTS, **raw.pop("model")})
    except (json.JSONDecodeError, UnicodeDecodeError) as e:
        raise CheckpointError(f"{f}: corrupt JSON ({e.__class__.__name__}: {e})") from None
    except (KeyError, TypeError, ValueError) as e:
        raise CheckpointError(f"{f}: invalid model config ({e})") from None
    return cfg, raw


def load(path: Path, device: str = "cpu") -> Loaded:
    """Read and validate a checkpoint directory; build E, the network and the tokenizer."""
    from safetensors import SafetensorError
    from safetensors.torch import load_file

    from engine.encoder import NLEncoder

    path = Path(path)
    cfg, meta = read_config(path)
    tok_file = path / TOKENIZER_FILE
    _regular(tok_file)
    try:
        tokenizer = CodeTokenizer.from_file(tok_file)
    except Exception as e:  # tokenizers raises plain Exception subclasses
        raise CheckpointError(f"{tok_file}: corrupt tokenizer ({str(e).splitlines()[0][:120]})") from None
    if tokenizer.vocab_size != cfg.vocab_size:
        raise CheckpointError(
            f"{tok_file}: vocabulary size {tokenizer.vocab_size} does not match "
            f"config.json's vocab_size {cfg.vocab_size}"
        )
    wfile = path / MODEL_FILE
    _regular(wfile)
    try:
        state = load_file(str(wfile), device="cpu")
    except (SafetensorError, OSError, ValueError, RuntimeError) as e:
        raise CheckpointError(f"{wfile}: truncated or corrupt ({str(e).splitlines()[0][:120]})") from None
    enc_state = {k[len("encoder.") :]: v for k, v in state.items() if k.startswith("encoder.")}
    state = {k: v for k, v in state.items() if not k.startswith("encoder.")}
    state = _upgrade(state, cfg)
    if _rough_bytes(cfg) > DIRECT_BUILD_BYTES:  # a config far beyond its weights: its shapes are checked on the
        with torch.device("meta"):  # meta device against the weights before anything is allocated
            _check_state(build_model(cfg).state_dict(), state, wfile, "")
    encoder = NLEncoder(cfg.encoder, cfg.nl_max_len, frozen=cfg.freeze_encoder)
    if encoder.dim != cfg.encoder_dim:
        raise CheckpointError(
            f"{path / CONFIG_FILE}: encoder_dim {cfg.encoder_dim} does not match the "
            f"encoder '{cfg.encoder}' (hidden size {encoder.dim})"
        )
    if enc_state:
        _load_state(encoder.model, enc_state, wfile, "encoder.")
    model = build_model(cfg)
    _load_state(model, state, wfile, "")
    model.to(device).eval()
    encoder.to(device).eval()
    return Loaded(cfg, model, encoder, tokenizer, meta, path)


# A model whose config asks for at most this much is built straight on the CPU and checked against its weights
# there (_load_state): building it on the meta device first costs a fresh process 0.9 s of CPU (torch's
# meta tensors import torch._dynamo; measured on the shipped model, 2 cores), more than the model's load.
DIRECT_BUILD_BYTES = 1 << 30


def _rough_bytes(cfg: ModelConfig) -> int:
    """An over-estimate of the float32 parameters a config builds: embeddings, heads and the projections
    beside them, and per layer attention (self and cross) and the feed-forward block."""
    d = int(cfg.d_model)
    layers = int(cfg.denoiser_layers) + int(cfg.decoder_layers) + int(getattr(cfg, "ar_layers", 0) or 0)
    per_layer = (8 + 2 * int(cfg.ff_mult)) * d * d + 16 * d
    tables = (3 * int(cfg.vocab_size) + 2 * int(cfg.code_max_len) + int(cfg.nl_max_len) + len(cfg.languages) + 8) * d
    return 4 * 2 * (layers * per_layer + tables + 4 * d * (d + int(cfg.encoder_dim)))


def _upgrade(state: dict, cfg: ModelConfig) -> dict:
    """Weights written by earlier code, in today's layout, computing the same function.

    2026-11: self-conditioning went through in_proj on [x_t, x0_prev] (d -> 2d input); today it has
    its own sc_proj fed x0_prev / x0_scale, so sc_proj = W[:, d:] * x0_scale gives the same output."""
    w = state.get("in_proj.weight")
    if cfg.kind == "diffusion" and w is not None and w.shape[1] == 2 * cfg.d_model:
        state = dict(state)
        d = cfg.d_model
        state["in_proj.weight"] = w[:, :d].contiguous()
        if cfg.self_condition:
            state["sc_proj.weight"] = (w[:, d:].float() * cfg.x0_scale).to(w.dtype).contiguous()
    return state


def _load_state(module: torch.nn.Module, state: dict, wfile: Path, prefix: str) -> None:
    expected = module.state_dict()
    _check_state(expected, state, wfile, prefix)
    module.load_state_dict({k: v.to(expected[k].dtype) for k, v in state.items()})


def _check_state(expected: dict, state: dict, wfile: Path, prefix: str) -> None:
    """The weights hold exactly the expected tensors with the expected shapes (CheckpointError)."""
    missing = sorted(set(expected) - set(state))
    unexpected = sorted(set(state) - set(expected))
    if missing or unexpected:
        what = f"missing {prefix}{missing[0]}" if missing else f"unexpected {prefix}{unexpected[0]}"
        raise CheckpointError(
            f"{wfile}: weights do not match config.json ({what}; {len(missing)} missing, {len(unexpected)} unexpected)"
        )
    for k, v in expected.items():
        if tuple(state[k].shape) != tuple(v.shape):
            raise CheckpointError(
                f"{wfile}: weights do not match config.json ({prefix}{k} has shape "
                f"{tuple(state[k].shape)}, expected {tuple(v.shape)})"
            )


# --- training state (for --resume) ---------------------------------------------------
def save_train_state(out: Path, optimizer: torch.optim.Optimizer, lr_sched, step: int, extra: dict) -> None:
    """Optimizer tensors into safetensors, everything else into JSON: no pickle."""
    from safetensors.torch import save_file

    opt = optimizer.state_dict()
    tensors, scalars = {}, {}
    for pid, st in opt["state"].items():
        for name, val in st.items():
            if torch.is_tensor(val):
                tensors[f"opt.{pid}.{name}"] = val.detach().cpu().contiguous()
            else:
                scalars[f"{pid}.{name}"] = val
    tensors["rng.torch"] = torch.get_rng_state()
    if torch.cuda.is_available():
        for i, s in enumerate(torch.cuda.get_rng_state_all()):
            tensors[f"rng.cuda.{i}"] = s
    save_file(tensors, str(out / STATE_FILE))
    state = {
        "step": step,
        "param_groups": opt["param_groups"],
        "scalars": scalars,
        "lr_sched": lr_sched.state_dict() if lr_sched is not None else None,
        "python_random": _jsonable_random_state(),
        **extra,
    }
    (out / STATE_JSON).write_text(json.dumps(state, default=str))


def load_train_state(path: Path, optimizer: torch.optim.Optimizer, lr_sched) -> dict:
    from safetensors import SafetensorError
    from safetensors.torch import load_file

    jf, tf = path / STATE_JSON, path / STATE_FILE
    for f in (jf, tf):
        if not f.exists():
            raise CheckpointError(f"{f}: missing, cannot resume")
    try:
        state = json.loads(jf.read_text())
    except json.JSONDecodeError as e:
        raise CheckpointError(f"{jf}: corrupt JSON ({e})") from None
    try:
        tensors = load_file(str(tf))
    except (SafetensorError, OSError) as e:
        raise CheckpointError(f"{tf}: truncated or corrupt ({e})") from None
    opt_state: dict = {}
    for key, val in tensors.items():
        if key.startswith("opt."):
            _, pid, name = key.split(".", 2)
            opt_state.setdefault(int(pid), {})[name] = val
    for key, val in state["scalars"].items():
        pid, name = key.split(".", 1)
        opt_state.setdefault(int(pid), {})[name] = val
    optimizer.load_state_dict({"state": opt_state, "param_groups": state["param_groups"]})
    if lr_sched is not None and state.get("lr_sched"):
        lr_sched.load_state_dict(state["lr_sched"])
    torch.set_rng_state(tensors["rng.torch"])
    cuda = [tensors[k] for k in sorted(k for k in tensors if k.startswith("rng.cuda."))]
    if cuda and torch.cuda.is_available() and len(cuda) == torch.cuda.device_count():
        torch.cuda.set_rng_state_all(cuda)
    rs = state.get("python_random")
    if rs:
        random.setstate((rs[0], tuple(rs[1]), rs[2]))
    return state


def _jsonable_random_state() -> list:
    v, internal, gauss = random.getstate()
    return [v, list(internal), gauss]


# model config fields that only choose how to sample: a shipped copy may set them (chosen on dev)
SAMPLING_FIELDS = (
    "default_steps",
    "noise_sampler",
    "exemplar_start_snr",
    "exemplar_start_snr_lang",
    "sample_end_snr",
    "clamp",
    "step_spacing",
    "exemplar_rank_weight",
    "exemplar_rank_weight_lang",
    "retrieval_dense_weight",
    "exemplar_noise_slots_lang",
    "adapt_arguments",
)


def export_half(src: Path, dst: Path, **sampling) -> Path:
    """Copy a checkpoint with fp16 weights (what ships in models/): half the size. `sampling` sets
    SAMPLING_FIELDS of the copy's model config (e.g. default_steps=3)."""
    import shutil

    from safetensors.torch import load_file, save_file

    src, dst = Path(src), Path(dst)
    read_config(src)  # validates
    bad = sorted(set(sampling) - set(SAMPLING_FIELDS))
    if bad:
        raise ValueError(
            f"export_half can only set sampling fields ({', '.join(SAMPLING_FIELDS)}), not {', '.join(bad)}"
        )
    dst.mkdir(parents=True, exist_ok=True)
    state = load_file(str(src / MODEL_FILE))
    save_file(
        {k: (v.half() if v.is_floating_point() else v) for k, v in state.items()},
        str(dst / MODEL_FILE),
        metadata={"format": "pt"},
    )
    for f in (CONFIG_FILE, TOKENIZER_FILE, CARD_FILE, "metrics.jsonl", "training_curve.png"):
        if (src / f).exists():
            shutil.copy(src / f, dst / f)
    from engine.data import data_name

    raw = json.loads((dst / CONFIG_FILE).read_text())
    raw["model"].update(sampling)
    ModelConfig.from_dict(raw["model"])  # still valid
    # data files named relative to the data directory, so the copy finds them on another machine
    raw["data"] = [data_name(d) if isinstance(d, str) and "=" not in d else d for d in raw.get("data", [])]
    (dst / CONFIG_FILE).write_text(json.dumps(raw, indent=2, default=str))
    return dst
