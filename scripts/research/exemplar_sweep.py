"""Accuracy of an exemplar model against the start level and the number of sampling steps.

    python scripts/research/exemplar_sweep.py --checkpoint runs/ex1 --out runs/sweep \
        --data ../shared/data/{bash,python,cf}/codefusion-dev.jsonl --start-snr 0 2 5 --steps 1 3 5 [--limit 150]

For every start SNR (0 = pure noise; > 0 = the nearest exemplar noised to that token SNR) it runs
`codefusion eval` over each data file for all step counts, then writes sweep.json (primary metric
top-1 / top-5 per language, start level and steps) and sweep.png (one panel a language, beside the
TF-IDF retrieval floor on the same items). Exit status 1 when any run failed.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--checkpoint", required=True)
    p.add_argument("--data", nargs="+", required=True, type=Path)
    p.add_argument("--out", required=True, type=Path, help="folder for the reports, sweep.json and sweep.png")
    p.add_argument("--start-snr", nargs="+", type=float, default=[0.0, 2.0, 5.0])
    p.add_argument("--steps", nargs="+", type=int, default=[1, 3, 5])
    p.add_argument("--limit", type=int, default=None, help="the first N items of each file")
    from engine.api import DEFAULT_K

    p.add_argument("-k", type=int, default=DEFAULT_K)
    a = p.parse_args(argv)

    from codefusion.evaluation.evaluate import primary_topk, run
    from codefusion.evaluation.options import EvalOptions

    a.out.mkdir(parents=True, exist_ok=True)
    rows, failed = [], []
    for data in a.data:
        name = data.parent.name or data.stem
        train = data.with_name(data.name.replace("-dev", "-train"))
        floor = None
        if train.exists() and train != data:
            rep = run(
                EvalOptions(
                    data=data,
                    out=a.out / f"floor-{name}.json",
                    baseline="retrieval",
                    train=[train],
                    k=a.k,
                    limit=a.limit,
                    progress=False,
                )
            )
            floor = {r["lang"]: primary_topk(r) for r in rep["runs"]}
        for snr in a.start_snr:
            try:
                rep = run(
                    EvalOptions(
                        data=data,
                        out=a.out / f"{name}-snr{snr:g}.json",
                        checkpoint=a.checkpoint,
                        steps=list(a.steps),
                        k=a.k,
                        limit=a.limit,
                        start_snr=snr,
                        progress=False,
                    )
                )
            except Exception as e:  # one failed run must not lose the others
                failed.append(f"{name} start_snr={snr:g}: {type(e).__name__}: {e}")
                continue
            for r in rep["runs"]:
                rows.append(
                    {
                        "data": str(data),
                        "lang": r["lang"],
                        "start_snr": snr,
                        "steps": r["steps"],
                        **primary_topk(r),
                        "copy_rate": r.get("copy_rate"),
                        "distinct": r["diversity"]["distinct_per_query"],
                        "floor": (floor or {}).get(r["lang"]),
                    }
                )
            print(
                f"{name} start_snr={snr:g}: "
                + ", ".join(
                    f"{x['steps']} steps {x['top1']:.1f}/{x['top5']:.1f}"
                    for x in rows
                    if x["data"] == str(data) and x["start_snr"] == snr
                ),
                flush=True,
            )
    (a.out / "sweep.json").write_text(
        json.dumps({"checkpoint": a.checkpoint, "rows": rows, "failed": failed}, indent=2)
    )
    if rows:
        plot(rows, a.out / "sweep.png")
    for f in failed:
        print(f"FAILED {f}", file=sys.stderr)
    return 1 if failed else 0


def plot(rows: list[dict], out_png: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    langs = sorted({r["lang"] for r in rows})
    fig, axes = plt.subplots(1, len(langs), figsize=(5 * len(langs), 4), squeeze=False)
    for ax, lang in zip(axes[0], langs):
        mine = [r for r in rows if r["lang"] == lang]
        for i, snr in enumerate(sorted({r["start_snr"] for r in mine})):
            pts = sorted((r["steps"], r["top1"], r["top5"]) for r in mine if r["start_snr"] == snr)
            color = plt.get_cmap("viridis")(i / max(1, len({r["start_snr"] for r in mine}) - 1))
            label = "from noise" if snr == 0 else f"exemplar at SNR {snr:g}"
            ax.plot([p[0] for p in pts], [p[1] for p in pts], "o-", color=color, label=f"{label} top-1")
            ax.plot([p[0] for p in pts], [p[2] for p in pts], "s--", color=color, label=f"{label} top-5")
        floor = next((r["floor"] for r in mine if r["floor"]), None)
        if floor:
            ax.axhline(floor["top1"], color="grey", lw=1, label="retrieval floor top-1")
            ax.axhline(floor["top5"], color="grey", lw=1, ls="--", label="retrieval floor top-5")
        ax.set_xlabel("sampling steps")
        ax.set_ylabel("primary metric (%)")
        ax.set_title(lang)
        ax.legend(fontsize=6)
    fig.tight_layout()
    fig.savefig(out_png, dpi=100)
    plt.close(fig)


if __name__ == "__main__":
    sys.exit(main())
