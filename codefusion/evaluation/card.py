"""The model card: a checkpoint's card.md (and config.json "metrics") from `codefusion eval` reports,
beside the retrieval floors and the AR baseline.

    codefusion card --checkpoint models/default --eval models/eval --prefix ft --baseline-prefix ar \
        [--cpu-bench models/eval/bench-cpu.json] [--extra OLD=previous default]

The checkpoint's own description comes from engine.checkpoint.card_header; files are written through
engine.checkpoint.write_card (the checkpoint format has one owner).
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from codefusion.evaluation.metrics import PRIMARY as PRIMARY_KEYS

NAMES = {"template_match": "template match", "bleu": "BLEU-4", "execution_match": "execution match"}
# ../shared/notes/floors.md: TF-IDF nearest-neighbour retrieval from train, scored on dev
FLOORS = {"bash": (19.5, 28.8, 33.4), "python": (21.8, None, None), "cf": (36.8, 55.3, 68.4)}


def _runs(eval_dir: Path, prefix: str, lang: str) -> list[dict]:
    f = eval_dir / f"{prefix}-{lang}.json"
    return json.loads(f.read_text())["runs"] if f.exists() else []


def _fmt(x) -> str:
    return "–" if x is None else f"{x:.1f}"


def table(
    eval_dir: Path,
    prefix: str,
    baseline: str | None,
    name: str,
    kind: str = "diffusion",
    extra=(),
    baseline_name: str = "AR baseline",
) -> tuple[str, dict]:
    """The dev table (markdown) and the metrics stored in config.json."""
    lines = [
        "| language (dev) | system | sampling steps | metric | top-1 | top-3 | top-5 | valid top-1 (after pipeline) "
        "| distinct / query | eval latency p50¹ |",
        "|" + "---|" * 10,
    ]
    metrics: dict = {}
    for lang, fl in FLOORS.items():
        key = _primary_key(lang)
        mname = NAMES.get(key, key)
        lines.append(
            f"| {lang} | retrieval floor | – | {mname} | {_fmt(fl[0])} | {_fmt(fl[1])} | {_fmt(fl[2])} | | | |"
        )
        for sys_name, pre in ((name, prefix), *[(n, p) for p, n in extra], (baseline_name, baseline)):
            if not pre:
                continue
            for r in _runs(eval_dir, pre, lang):
                acc = r["accuracy"]["pipeline"].get(key, {})
                steps = r["steps"] if pre != baseline and kind == "diffusion" and r["steps"] is not None else "–"
                lines.append(
                    f"| {lang} | {sys_name} | {steps} | {mname} | {_fmt(acc.get('top1'))} | {_fmt(acc.get('top3'))} | "
                    f"{_fmt(acc.get('top5'))} | {_fmt(r['validity']['after']['top1'])} | "
                    f"{r['diversity']['distinct_per_query']:.2f} | {r['speed']['latency_p50_s'] * 1000:.0f} ms |"
                )
                if pre not in (prefix, baseline):
                    continue  # extra rows are shown, not stored as this model's metrics
                metrics.setdefault(lang, {})[f"{'diffusion' if pre == prefix else 'ar'}_steps{r['steps']}"] = {
                    "metric": key,
                    **{k: acc.get(k) for k in ("top1", "top3", "top5")},
                    "valid_top1_after": r["validity"]["after"]["top1"],
                    "distinct_per_query": r["diversity"]["distinct_per_query"],
                }
    return "\n".join(lines), metrics


def _primary_key(lang: str) -> str:
    key = PRIMARY_KEYS[lang]
    return key if key in NAMES else f"{key}_match"


def write(
    ckpt: Path,
    eval_dir: Path,
    prefix: str,
    baseline: str | None = None,
    name: str = "CodeFusion (this model)",
    extra=(),
    benches: dict | None = None,
    notes: Path | None = None,
    baseline_name: str = "AR baseline",
) -> Path:
    """Write ckpt/card.md and config.json's metrics; returns the card's path."""
    from engine import checkpoint  # lazy: torch, not at start-up

    cfg, meta = checkpoint.read_config(Path(ckpt))
    tbl, metrics = table(Path(eval_dir), prefix, baseline, name, cfg.kind, extra, baseline_name)
    k = next((json.loads(f.read_text()).get("k") for f in sorted(Path(eval_dir).glob(f"{prefix}-*.json"))), None)
    out = [
        f"# CodeFusion checkpoint: {Path(ckpt).name}",
        "",
        *checkpoint.card_header(cfg, meta),
        "",
        f"## Dev-set results (codefusion eval, k = {k}, seed 0, after the candidate pipeline)",
        "",
        tbl,
        "",
    ]
    for label, f in (benches or {}).items():
        if f and Path(f).exists():
            out += [
                f"## {label} benchmark (python scripts/research/bench_engine.py)",
                "",
                "```json",
                Path(f).read_text().strip(),
                "```",
                "",
            ]
    if notes:
        out += [Path(notes).read_text()]
    checkpoint.write_card(Path(ckpt), "\n".join(out), metrics)
    return Path(ckpt) / checkpoint.CARD_FILE


def add_args(p: argparse.ArgumentParser) -> None:
    p.add_argument("--checkpoint", required=True, help="the checkpoint directory whose card to write")
    p.add_argument("--eval", required=True, help="folder of `codefusion eval` reports PREFIX-LANG.json")
    p.add_argument("--prefix", required=True)
    p.add_argument("--baseline-prefix", default=None, help="the AR baseline's reports")
    p.add_argument("--baseline-name", default="AR baseline", help="its row's name")
    p.add_argument("--name", default="CodeFusion (this model)")
    p.add_argument("--cpu-bench", default=None)
    p.add_argument("--gpu-bench", default=None)
    p.add_argument("--notes", default=None, help="a markdown file appended as is")
    p.add_argument(
        "--extra",
        nargs="*",
        default=[],
        metavar="PREFIX=NAME",
        help="more rows: eval reports PREFIX-LANG.json shown as NAME (e.g. the previous model)",
    )


def run(a: argparse.Namespace) -> int:
    bad = [x for x in a.extra if "=" not in x]
    if bad:
        raise ValueError(f"--extra expects PREFIX=NAME, got {bad[0]!r}")
    if not Path(a.eval).is_dir():
        raise ValueError(f"--eval {a.eval}: no such folder")
    path = write(
        Path(a.checkpoint),
        Path(a.eval),
        a.prefix,
        a.baseline_prefix,
        a.name,
        [tuple(x.split("=", 1)) for x in a.extra],
        {"GPU": a.gpu_bench, "CPU": a.cpu_bench},
        a.notes,
        a.baseline_name,
    )
    print(f"wrote {path}")
    return 0
