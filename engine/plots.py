"""Training-curve plot (PNG) from metrics.jsonl."""

from __future__ import annotations

import json
from pathlib import Path


def pyplot():
    """matplotlib.pyplot with the file-only Agg backend. matplotlib is the `eval` extra (scripts/setup.sh leaves
    it out: generate and the editor draw nothing); without it, one line saying how to add it."""
    try:
        import matplotlib
    except ImportError:
        from engine.errors import EngineError

        raise EngineError(
            "plots need matplotlib, which the lean install leaves out: "
            "pip install 'codefusion-editor[eval]' (in a checkout: bash scripts/setup.sh eval)"
        ) from None
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def plot_training(metrics: Path, out_png: Path) -> Path:
    plt = pyplot()

    rows = [json.loads(line) for line in Path(metrics).read_text().splitlines() if line.strip()]
    train = [r for r in rows if "loss" in r]
    evals = [r for r in rows if "dev_exact" in r]
    from engine.schedule import SNR_BANDS

    bands = [b[0] for b in SNR_BANDS if any(r.get(f"acc_n_snr{b[0]}") is not None for r in train)]
    ncols = 1 + bool(bands) + bool(evals)
    fig, axes = plt.subplots(1, ncols, figsize=(5.5 * ncols, 4), squeeze=False)
    ax = axes[0][0]
    steps = [r["step"] for r in train]
    ax.plot(steps, [r["loss"] for r in train], label="total", color="black")
    cmap = plt.get_cmap("viridis")
    for i, name in enumerate(bands):
        pts = [(r["step"], r[f"loss_snr{name}"]) for r in train if r.get(f"loss_snr{name}") is not None]
        if pts:
            ax.plot(*zip(*pts), label=f"token SNR {name}", color=cmap(i / max(1, len(bands) - 1)), alpha=0.7)
    ax.set_xlabel("step")
    ax.set_ylabel("loss")
    ax.set_yscale("log")
    ax.set_title("training loss (by token-SNR band)")
    ax.legend(fontsize=7)
    if bands:
        ax = axes[0][1]
        for i, name in enumerate(bands):
            pts = [(r["step"], r[f"acc_n_snr{name}"]) for r in train if r.get(f"acc_n_snr{name}") is not None]
            if pts:
                ax.plot(*zip(*pts), label=f"SNR {name}", color=cmap(i / max(1, len(bands) - 1)))
        ax.set_xlabel("step")
        ax.set_ylim(0, 1)
        ax.set_title("content tokens read off N's estimate (training)")
        ax.legend(fontsize=7)
    if evals:
        ax = axes[0][-1]
        es = [r["step"] for r in evals]
        ax.plot(es, [r["dev_exact"] for r in evals], marker="o", label="exact match")
        if any("dev_template_bash" in r for r in evals):
            ax.plot(es, [r.get("dev_template_bash") for r in evals], marker="o", label="bash template match")
        ax.plot(es, [r["dev_nl_distinct"] for r in evals], marker="x", ls="--", label="distinct outputs / item")
        ax.set_xlabel("step")
        ax.set_ylim(0, 1)
        ax.set_title("dev slice (k=1, default steps)")
        ax.legend()
    fig.tight_layout()
    fig.savefig(out_png, dpi=100)
    plt.close(fig)
    return out_png
