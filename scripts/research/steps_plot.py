"""Compare checkpoints by sampling steps: the primary metric of several `codefusion eval` reports.

Each ARM=REPORT.json[,REPORT.json...] names an arm and its eval reports (their runs are merged by step
count, later files winning). Writes OUT.md (a table: arm, steps, top-1 / top-3 / top-5, argument recall,
valid top-1, latency p50) and OUT.png (top-1 solid and top-5 dashed against steps, a line per arm).

    python scripts/research/steps_plot.py --out models/eval/d7-ab-bash-nb \\
        default=runs/d6-bash-nb.json,runs/def-bash-nb.json kd=runs/K-bash-nb.json
"""

from __future__ import annotations

import argparse
import json
import sys
import textwrap
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(REPO))

from engine.plots import pyplot  # noqa: E402


def runs_of(files: list[str]) -> dict[int, dict]:
    by_steps: dict[int, dict] = {}
    for f in files:
        for r in json.loads(Path(f).read_text())["runs"]:
            by_steps[int(r["steps"])] = r
    return dict(sorted(by_steps.items()))


def metric_key(r: dict) -> str:
    """The accuracy key of a run's primary metric ("template" -> "template_match", "bleu" -> "bleu")."""
    name, acc = r["primary_metric"], r["accuracy"]["pipeline"]
    return name if name in acc else f"{name}_match"


def row(arm: str, steps: int, r: dict) -> dict:
    acc = r["accuracy"]["pipeline"][metric_key(r)]
    return {
        "arm": arm,
        "lang": r["lang"],
        "metric": metric_key(r),
        "steps": steps,
        "n": r["n_items"],
        "top1": acc["top1"],
        "top3": acc.get("top3"),
        "top5": acc["top5"],
        "argument_recall": (r.get("argument_recall") or {}).get("top1"),
        "valid_top1": r["validity"]["after"]["top1"],
        "p50_ms": 1000 * r["speed"]["latency_p50_s"] if "latency_p50_s" in r.get("speed", {}) else None,
    }


def fmt(v, digits=1) -> str:
    return "" if v is None else f"{v:.{digits}f}"


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("arms", nargs="+", metavar="ARM=REPORT.json[,...]")
    ap.add_argument("--out", type=Path, required=True, help="path without suffix: OUT.md and OUT.png")
    ap.add_argument("--title", default="")
    a = ap.parse_args(argv)
    rows = []
    for spec in a.arms:
        arm, _, files = spec.partition("=")
        if not arm or not files:
            raise SystemExit(f"steps_plot: expected ARM=REPORT.json[,...], got '{spec}'")
        rows += [row(arm, s, r) for s, r in runs_of(files.split(",")).items()]
    lines = [
        f"# {a.title or 'Sampling steps per arm'}",
        "",
        "| arm | lang | items | steps | top-1 | top-3 | top-5 | argument recall top-1 | valid top-1 | p50 ms |",
        "|---|---|---|---|---|---|---|---|---|---|",
    ]
    for r in rows:
        lines.append(
            f"| {r['arm']} | {r['lang']} | {r['n']} | {r['steps']} | {fmt(r['top1'])} | {fmt(r['top3'])} | "
            f"{fmt(r['top5'])} | {fmt(r['argument_recall'])} | {fmt(r['valid_top1'])} | {fmt(r['p50_ms'], 0)} |"
        )
    a.out.parent.mkdir(parents=True, exist_ok=True)
    a.out.with_suffix(".md").write_text("\n".join(lines) + "\n")
    plt = pyplot()
    fig, ax = plt.subplots(figsize=(6.5, 4))
    for i, arm in enumerate(dict.fromkeys(r["arm"] for r in rows)):
        mine = [r for r in rows if r["arm"] == arm]
        xs = [r["steps"] for r in mine]
        color = f"C{i}"
        ax.plot(xs, [r["top1"] for r in mine], "-o", color=color, label=f"{arm} top-1")
        ax.plot(xs, [r["top5"] for r in mine], "--s", color=color, label=f"{arm} top-5")
    ax.set_xlabel("sampling steps")
    ax.set_ylabel(f"{rows[0]['metric']} (%)")
    ax.set_title(textwrap.fill(a.title or "sampling steps per arm", 80), fontsize=8)
    ax.legend(fontsize=7, ncol=2)
    fig.tight_layout()
    fig.savefig(a.out.with_suffix(".png"), dpi=110)
    print(a.out.with_suffix(".md").read_text())
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
