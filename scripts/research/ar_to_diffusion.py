"""Start a diffusion checkpoint from an AR one (DiffuLLaMA's adaptation, issue 22): N = the AR decoder, shifted.

    python scripts/research/ar_to_diffusion.py --ar models/ar-baseline --out runs/ard0 [--exemplars 0]

The result is an ordinary CodeFusion checkpoint (ar_shift, score_interp, N as deep as the AR decoder, D without
layers) to go on with `codefusion train --init OUT`. It prints the diffusion loss of the AR weights and of a
fresh network on a few training pairs at three noise levels, so the start is visibly ahead or not.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
from pathlib import Path

import torch

from engine import checkpoint
from engine.ar_model import diffusion_from_ar
from engine.config import ModelConfig
from engine.data import load_pairs
from engine.model import CodeFusion
from engine.schedule import make_schedule

DIFFUSION = ModelConfig()  # the diffusion defaults (schedule, scales, sampling)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--ar", type=Path, required=True)
    ap.add_argument("--out", type=Path, required=True)
    ap.add_argument("--exemplars", type=int, default=0)
    ap.add_argument("--check", type=Path, nargs="*", default=[], help="JSONL pairs for the loss check")
    a = ap.parse_args()
    ld = checkpoint.load(a.ar)
    if ld.cfg.kind != "ar":
        raise SystemExit(f"{a.ar}: not an AR checkpoint")
    keep = ("languages", "encoder", "encoder_dim", "freeze_encoder", "nl_max_len", "vocab_size", "d_model")
    keep += ("n_heads", "ff_mult", "dropout")
    cfg = dataclasses.replace(
        DIFFUSION,
        **{f: getattr(ld.cfg, f) for f in keep},
        kind="diffusion",
        denoiser_layers=ld.cfg.ar_layers,
        decoder_layers=0,
        ar_shift=True,
        score_interp=True,
        skip=False,
        skip_posterior=False,
        exemplars=a.exemplars,
        exemplar_start_snr=DIFFUSION.exemplar_start_snr if a.exemplars else 0.0,
        code_max_len=min(DIFFUSION.code_max_len, ld.cfg.code_max_len),
    )
    model = diffusion_from_ar(ld.model, cfg)
    if a.check:
        _loss_check(model, cfg, ld, a.check)
    meta = {
        "train": {},
        "data": ld.meta.get("data", []),
        "init": f"AR checkpoint {a.ar} (step {ld.meta.get('step')}), adapted by diffusion_from_ar",
        "step": 0,
    }
    card = f"# CodeFusion checkpoint adapted from the AR model {a.ar}\n\nNot trained as diffusion yet.\n"
    checkpoint.save(a.out, cfg, model, ld.encoder, ld.tokenizer, meta, card)
    print(json.dumps({"out": str(a.out), "params_M": round(sum(p.numel() for p in model.parameters()) / 1e6, 2)}))


@torch.no_grad()
def _loss_check(model, cfg, ld, files) -> None:
    """The diffusion loss (N's CE, D+H's CE) of the adapted weights and of a fresh network, 64 pairs, 3 noise levels."""
    rows = load_pairs(files)[:64]
    tok = ld.tokenizer
    y = torch.tensor([tok.encode_padded(r.code, cfg.code_max_len) for r in rows])
    enc, mask = ld.encoder([r.nl for r in rows], "cpu")
    lang = torch.tensor([cfg.languages.index(r.lang) for r in rows])
    sched = make_schedule(cfg)
    torch.manual_seed(0)
    fresh = CodeFusion(cfg).eval()
    for name, m in (("adapted", model.eval()), ("fresh", fresh)):
        mem, mm = m.memory(enc, mask, lang)
        for frac in (0.1, 0.5, 0.95):
            t = torch.full((len(rows),), int(frac * sched.T))
            _, parts = m.loss(y, mem, mm, t, sched, self_cond_p=0.0)
            print(
                f"{name:8s} t/T={frac:.2f}  N CE {parts['ce_n'].mean():.2f}  D+H CE {parts['ce'].mean():.2f}  "
                f"D+H acc {parts['acc_dh'].mean():.3f}"
            )


if __name__ == "__main__":
    main()
