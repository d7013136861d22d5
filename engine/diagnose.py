"""Does the denoiser denoise? `codefusion diagnose`: figures per noise level and per step count.

For items of a JSONL file (their reference programs y), at a ladder of token-SNR levels
(schedule.py: token SNR = d s^2 ab / (1 - ab)), the share of content tokens (not PAD; EOS
counts) recovered by
    x_t alone        the nearest token embedding of x_t itself: what is free to read
    N                the nearest embedding of N's estimate x0_hat (no output prior)
    N, self-cond     the same after a second pass fed the first estimate (as sampling does)
    D+H              the tokens decoder and head read from x0_hat (with the prior if the model has one)
A denoiser that uses x_t is at least as good as "x_t alone" wherever that reads something; one
that ignores x_t is flat across levels (shared/notes/diffusion-pitfalls.md).

Then generation from pure noise with 1, 2, 5, 10, 20 steps (k = 1, seed 0): content-token
accuracy position by position against y, and exact match of the program text.
"""

from __future__ import annotations

import json
from pathlib import Path

import torch

SNR_LEVELS = (0.0, 0.1, 0.3, 1.0, 2.0, 5.0, 10.0, 20.0, 50.0, 100.0)  # 0 = pure noise (t = T)
STEP_COUNTS = (1, 2, 5, 10, 20)


def _acc(pred: torch.Tensor, y: torch.Tensor, content: torch.Tensor) -> float:
    return float(((pred == y) & content).sum() / content.sum().clamp(min=1))


@torch.inference_mode()
def diagnose(
    loaded,
    rows: list[dict],
    device: str = "cpu",
    seed: int = 0,
    levels=SNR_LEVELS,
    step_counts=STEP_COUNTS,
    batch: int = 64,
    progress: bool = False,
) -> dict:
    """loaded: checkpoint.Loaded of a diffusion model; rows: dicts with nl, code, lang."""
    from engine.sampling import diffusion_sample, initial_noise
    from engine.schedule import make_schedule, snr_band
    from engine.tokenizer import PAD_ID

    cfg, model, enc, tok = loaded.cfg, loaded.model, loaded.encoder, loaded.tokenizer
    if cfg.kind != "diffusion":
        raise ValueError("diagnose needs a diffusion checkpoint")
    rows = [r for r in rows if r.get("lang") in cfg.languages]
    if not rows:
        raise ValueError("no items in a language this model serves")
    schedule = make_schedule(cfg)
    t_end = schedule.t_at_snr(cfg.sample_end_snr) if cfg.schedule == "logsnr" else None
    model.eval()
    gen = torch.Generator().manual_seed(seed)
    sums: dict = {}
    steps_sums: dict = {}
    bar = None
    if progress:
        from tqdm import tqdm

        bar = tqdm(total=len(rows), desc="diagnose", unit="item", dynamic_ncols=True)
    for i in range(0, len(rows), batch):
        part = rows[i : i + batch]
        y = torch.tensor([tok.encode_padded(r["code"], cfg.code_max_len) for r in part], device=device)
        content = y != PAD_ID
        e, m = enc([r["nl"] for r in part], device)
        lang = torch.tensor([cfg.languages.index(r["lang"]) for r in part], device=device)
        mem, mm = model.cond(e, m, lang)
        x0 = model.embed_tokens(y)
        for snr in levels:
            t_int = schedule.T if snr == 0 else schedule.t_at_snr(snr)
            t = torch.full((len(part),), t_int, device=device, dtype=torch.long)
            noise = torch.randn(x0.shape, generator=gen).to(device)
            x_t = schedule.add_noise(x0, noise, t)
            x0_hat = model.denoise(x_t, t, mem, mm)
            prior = model.prior_logits(x_t, t, schedule) if cfg.output_prior else None
            x0_sc = model.denoise(x_t, t, mem, mm, x0_hat) if cfg.self_condition else x0_hat
            figs = {
                "x_t alone": _acc(model.nearest_tokens(x_t), y, content),
                "N": _acc(model.nearest_tokens(x0_hat), y, content),
                "N, self-cond": _acc(model.nearest_tokens(x0_sc), y, content),
                "D+H": _acc(model.decode(x0_sc, mem, mm, prior)[1].argmax(-1), y, content),
            }
            n = int(content.sum())
            s = sums.setdefault(
                snr, {"t": t_int, "token_snr": float(schedule.token_snr(t_int)), "n": 0, **{k: 0.0 for k in figs}}
            )
            for k, v in figs.items():
                s[k] += v * n
            s["n"] += n
        for n_steps in step_counts:
            x_T = initial_noise(len(part), cfg.code_max_len, cfg.d_model, seed + i, device)
            ids, _ = diffusion_sample(
                model, mem, mm, x_T, n_steps, schedule, clamp=cfg.clamp, spacing=cfg.step_spacing, t_end=t_end
            )
            exact = sum(tok.decode(row) == tok.decode(ref) for row, ref in zip(ids.tolist(), y.tolist()))
            s = steps_sums.setdefault(n_steps, {"token_acc": 0.0, "exact": 0, "n_tokens": 0, "n_items": 0})
            s["token_acc"] += _acc(ids, y, content) * int(content.sum())
            s["n_tokens"] += int(content.sum())
            s["exact"] += exact
            s["n_items"] += len(part)
        if bar is not None:
            bar.update(len(part))
    if bar is not None:
        bar.close()
    by_level = []
    for s in sums.values():
        row = {"token_snr": round(s["token_snr"], 3), "t": s["t"], "band": snr_band(s["token_snr"]), "n_tokens": s["n"]}
        row.update({k: round(s[k] / max(1, s["n"]), 4) for k in ("x_t alone", "N", "N, self-cond", "D+H")})
        by_level.append(row)
    by_steps = [
        {
            "steps": n,
            "token_acc": round(s["token_acc"] / max(1, s["n_tokens"]), 4),
            "exact": round(s["exact"] / max(1, s["n_items"]), 4),
            "n_items": s["n_items"],
        }
        for n, s in steps_sums.items()
    ]
    return {
        "checkpoint": str(loaded.path),
        "n_items": len(rows),
        "schedule": cfg.schedule,
        "x0_scale": cfg.x0_scale,
        "by_level": by_level,
        "by_steps": by_steps,
        "verdict": verdict(by_level),
    }


def verdict(by_level: list[dict], top_min: float = 0.95, from_snr: float = 5.0) -> dict:
    """The denoising issue's bar: N's own estimate reads >= 95 % of content tokens at the top
    level and at least as much as "x_t alone" at every level above token SNR 5."""
    top = max(by_level, key=lambda r: r["token_snr"])
    behind = [r["token_snr"] for r in by_level if r["token_snr"] > from_snr and r["N"] < r["x_t alone"]]
    return {
        "top_snr": top["token_snr"],
        "N_at_top": top["N"],
        "top_ok": top["N"] >= top_min,
        "levels_where_N_below_x_t": behind,
        "uses_x_t": top["N"] >= top_min and not behind,
    }


def plot(res: dict, out_png: Path) -> Path:
    from engine.plots import pyplot

    plt = pyplot()

    fig, (a, b) = plt.subplots(1, 2, figsize=(11, 4))
    lv = [r for r in res["by_level"] if r["token_snr"] > 0]
    xs = [r["token_snr"] for r in lv]
    for key, style in (("x_t alone", "k--"), ("N", "o-"), ("N, self-cond", "s-"), ("D+H", "^-")):
        a.plot(xs, [r[key] for r in lv], style, label=key)
    a.set_xscale("log")
    a.set_xlabel("token SNR  (d s² ᾱ / (1 − ᾱ))")
    a.set_ylabel("content tokens recovered")
    a.set_ylim(0, 1.02)
    a.set_title("readout by noise level")
    a.legend()
    st = res["by_steps"]
    b.plot([r["steps"] for r in st], [r["token_acc"] for r in st], "o-", label="content-token accuracy")
    b.plot([r["steps"] for r in st], [r["exact"] for r in st], "s-", label="exact match")
    b.set_xscale("log")
    b.set_xticks([r["steps"] for r in st], [str(r["steps"]) for r in st])
    b.set_xlabel("sampling steps (from pure noise, k=1)")
    b.set_ylim(0, 1.02)
    b.set_title("generation vs steps")
    b.legend()
    fig.suptitle(f"{Path(res['checkpoint']).name}: {res['n_items']} items")
    fig.tight_layout()
    fig.savefig(out_png, dpi=100)
    plt.close(fig)
    return out_png


def run(
    checkpoint_dir: str,
    data: str,
    n: int = 128,
    out: str | None = None,
    device: str | None = None,
    seed: int = 0,
    progress: bool = True,
) -> dict:
    from engine import checkpoint
    from engine.data import load_pairs
    from engine.generator import configure_threads, pick_device

    configure_threads()
    dev = pick_device(device)
    rows = [{"nl": e.nl, "code": e.code, "lang": e.lang} for e in load_pairs([data])][:n]
    res = diagnose(checkpoint.load(Path(checkpoint_dir), dev), rows, dev, seed=seed, progress=progress)
    res["data"] = str(data)
    if out:
        outp = Path(out)
        outp.parent.mkdir(parents=True, exist_ok=True)
        outp.write_text(json.dumps(res, indent=2))
        plot(res, outp.with_suffix(".png"))
    return res


def format_table(res: dict) -> str:
    lines = ["| token SNR | band | x_t alone | N | N, self-cond | D+H |", "|---|---|---|---|---|---|"]
    for r in res["by_level"]:
        lines.append(
            f"| {r['token_snr']:.2f} | {r['band']} | {r['x_t alone']:.3f} | {r['N']:.3f} | "
            f"{r['N, self-cond']:.3f} | {r['D+H']:.3f} |"
        )
    lines += ["", "| steps | content-token accuracy | exact |", "|---|---|---|"]
    for r in res["by_steps"]:
        lines.append(f"| {r['steps']} | {r['token_acc']:.3f} | {r['exact']:.3f} |")
    v = res["verdict"]
    lines += [
        "",
        f"N reads {v['N_at_top']:.1%} at token SNR {v['top_snr']:.0f}; below x_t alone at SNR "
        f"{v['levels_where_N_below_x_t'] or 'none'} (> 5): {'uses x_t' if v['uses_x_t'] else 'does NOT use x_t'}",
    ]
    return "\n".join(lines)
