"""One calibrated score across sources: what a candidate at rank r of its source is worth on dev.

A model candidate's score (mean token log-prob, plus the exemplar term) and a retrieved example's
(a TF-IDF cosine) do not compare. The dev set says how often each is right by rank: the share of
model candidates at rank r (the model's own order) that match the reference, and the same for the
retrieved examples. suggest() replaces both scores with these rates, so the candidates interleave
by merit, the cap of k keeps the best of both, and the number shown reads as "right this often on
dev" (Bash: template match; CF: execution match; Python: sentence BLEU / 100). Where interleaving
lost to showing the model's candidates first on the same items ("model_first"), retrieved examples
only fill what the pipeline drops.

    codefusion calibrate --checkpoint DIR --model-items M-LANG.items.jsonl ... --retrieval-items R-LANG.items.jsonl ...

writes the table into the checkpoint's config.json ("calibration") through engine.checkpoint.
"""

from __future__ import annotations

import argparse
import json
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from engine.data import read_jsonl
from engine.plots import pyplot


def _value(hits: dict, lang: str) -> float:
    """The primary metric of one candidate: a hit (0/1), or sentence BLEU in 0..1 for Python."""
    from codefusion.evaluation.metrics import PRIMARY  # here: the CLI builds its parser from this module

    return float(hits.get(PRIMARY[lang], hits.get("exact", False)))


def rates(items: Iterable[dict], k: int) -> dict[str, list[float]]:
    """Per language, the mean primary-metric value of the raw candidate at each rank 1..k."""
    sums: dict[str, list[float]] = {}
    counts: dict[str, list[int]] = {}
    for it in items:
        lang = it["lang"]
        s, c = sums.setdefault(lang, [0.0] * k), counts.setdefault(lang, [0] * k)
        for r, cand in enumerate(it["raw_candidates"][:k]):
            s[r] += _value(cand["hits"], lang)
            c[r] += 1
    return {lang: [round(s / n, 4) if n else 0.0 for s, n in zip(sums[lang], counts[lang])] for lang in sums}


def table(model_items: Iterable[dict], retrieval_items: Iterable[dict], k: int) -> dict:
    """{"model": {lang: [rate at rank 1..k]}, "retrieval": {...}, "model_first": [lang, ...]}."""
    model_items, retrieval_items = list(model_items), list(retrieval_items)
    t: dict[str, Any] = {"model": rates(model_items, k), "retrieval": rates(retrieval_items, k)}
    t["model_first"] = model_first(model_items, retrieval_items, t, k)
    return t


def _top_k(cands: list, lang: str, k: int) -> float:
    """The best primary-metric value among the first k distinct candidates, valid ones first (what
    the pipeline shows, approximately: its normalisation is whitespace here)."""
    seen, kept = set(), []
    for c in cands:
        key = " ".join(c["code"].split()) if isinstance(c.get("code"), str) else id(c)
        if key not in seen:
            seen.add(key)
            kept.append(c)
    kept = [c for c in kept if c.get("valid", True)] + [c for c in kept if not c.get("valid", True)]
    return max((_value(c["hits"], lang) for c in kept[:k]), default=0.0)


def model_first(model_items: list, retrieval_items: list, t: dict, k: int) -> list:
    """Languages where showing the model's k first, retrieved examples only filling what the pipeline
    drops, beat interleaving both by the rates of `t` at top-k on these items (paired by line). The
    rates are marginal: they cannot see that a model's candidates from pure noise are worth most where
    they differ from the exemplars (CF: top-5 76.3 against 68.4 interleaved)."""
    by_key = {(it["lang"], it.get("line")): it for it in retrieval_items}
    totals: dict[str, list[float]] = {}
    for it in model_items:
        lang, other = it["lang"], by_key.get((it["lang"], it.get("line")))
        rm, rr = t["model"].get(lang), t["retrieval"].get(lang)
        if other is None or not rm or not rr:
            continue
        model, retrieved = it["raw_candidates"][:k], other["raw_candidates"][:k]
        rated = [(rm[min(r, len(rm) - 1)], 0, r, c) for r, c in enumerate(model)] + [
            (rr[min(r, len(rr) - 1)], 1, r, c) for r, c in enumerate(retrieved)
        ]
        interleaved = [c for *_, c in sorted(rated, key=lambda x: (-x[0], x[1], x[2]))]
        tot = totals.setdefault(lang, [0.0, 0.0])
        tot[0] += _top_k(interleaved, lang, k)
        tot[1] += _top_k(model + retrieved, lang, k)
    return sorted(lang for lang, (inter, first) in totals.items() if first > inter + 1e-9)


def _read(paths) -> list[dict]:
    for p in paths:
        if not Path(p).is_file():
            raise ValueError(f"{p}: no such report file")
    return [rec for p in paths for _, rec in read_jsonl(p)]


def add_args(p: argparse.ArgumentParser) -> None:
    p.add_argument("--checkpoint", required=True)
    p.add_argument(
        "--items",
        nargs="+",
        default=[],
        metavar="REPORT.items.jsonl",
        help="`codefusion eval --with-retrieval` items of this checkpoint on dev: fit each language's "
        "score (codefusion.scoring: P(right) from each candidate's features)",
    )
    p.add_argument(
        "--report",
        type=Path,
        default=None,
        metavar="FILE.json",
        help="with --items: the score's cross-validated AUC and reliability curve per language "
        "(and FILE.png beside it; the plot needs the [eval] extra)",
    )
    p.add_argument(
        "--model-items",
        nargs="+",
        default=[],
        metavar="REPORT.items.jsonl",
        help="older table: `codefusion eval` items of this checkpoint on dev (rates by rank)",
    )
    p.add_argument(
        "--retrieval-items",
        nargs="+",
        default=[],
        metavar="REPORT.items.jsonl",
        help="older table: `codefusion eval --baseline retrieval` items on the same dev files",
    )
    p.add_argument("-k", type=int, default=None, help="ranks to calibrate (default: the setting's k)")


def run(a: argparse.Namespace) -> int:
    from codefusion.settings import Settings
    from engine import checkpoint  # lazy: torch, not at start-up

    if bool(a.model_items) != bool(a.retrieval_items):
        raise ValueError("--model-items and --retrieval-items go together")
    if not a.items and not a.model_items:
        raise ValueError("nothing to calibrate: give --items (the score) or --model-items and --retrieval-items")
    if a.report is not None and not a.items:
        raise ValueError("--report needs --items")
    k = a.k or Settings().k
    cal = dict(checkpoint.read_meta(Path(a.checkpoint)).get("calibration") or {})
    if a.model_items:
        t = table(_read(a.model_items), _read(a.retrieval_items), k)
        cal.update(t)
        for source in ("model", "retrieval"):
            for lang, row in sorted(t[source].items()):
                print(f"{source:9s} {lang:6s} " + " ".join(f"{v:.3f}" for v in row))
        print("the model's candidates first (retrieved examples fill): " + (", ".join(t["model_first"]) or "none"))
    if a.items:
        models, report = score_report(_read(a.items), k)
        cal["score"] = {**(cal.get("score") or {}), **models}
        for lang, r in sorted(report["languages"].items()):
            print(
                f"score {lang:6s} AUC {r['auc_cv']:.3f} (5-fold by item, {r['n_candidates']} candidates, "
                f"{r['positives']} right); top-1 {r['ranked_by_score']['top1']:.1f} / top-{k} "
                f"{r['ranked_by_score']['topk']:.1f} ranked by it, {r['as_shown']['top1']:.1f} / "
                f"{r['as_shown']['topk']:.1f} as shown in the run"
            )
        if a.report is not None:
            report["checkpoint"] = str(a.checkpoint)
            report["items"] = [str(p) for p in a.items]
            a.report.parent.mkdir(parents=True, exist_ok=True)
            a.report.write_text(json.dumps(report, indent=2) + "\n")
            print(f"wrote {a.report}, {plot_reliability(report, a.report.with_suffix('.png'))}")
    checkpoint.update_meta(Path(a.checkpoint), calibration=cal)
    return 0


def score_report(items: list, k: int) -> tuple[dict, dict]:
    """Per language: the score model fitted on all `items` ({lang: model}) and a report of how it does on
    items it did not see (5-fold cross-validation by item): AUC, the reliability curve, and top-1 / top-k
    of the primary metric when the shown candidates are ranked by it, beside the run's own order."""
    from codefusion import scoring

    models, langs = {}, {}
    for lang in sorted({it["lang"] for it in items}):
        mine = [it for it in items if it["lang"] == lang]
        X, y, groups = scoring.rows(mine, lang)
        p = scoring.cross_validated(X, y, groups)
        models[lang] = scoring.fit(X, y)
        by_item: dict = {}
        for g, prob in zip(groups, p):
            by_item.setdefault(g, []).append(prob)
        ranked = [_shown_by(it, by_item.get(n, []), k) for n, it in enumerate(mine)]
        langs[lang] = {
            "n_items": len(mine),
            "n_candidates": len(y),
            "positives": int(sum(y)),
            "right": f"bleu >= {scoring.PYTHON_RIGHT_BLEU}"
            if lang == "python"
            else {"bash": "template", "cf": "execution"}.get(lang, "exact"),
            "auc_cv": round(scoring.auc(p, y) or 0.0, 4),
            "reliability_cv": scoring.reliability(p, y),
            "ranked_by_score": _topk(ranked, lang, k),
            "as_shown": _topk([it["candidates"] for it in mine], lang, k),
            "model": models[lang],
        }
    report = {
        "what": "P(right) of each raw candidate (model + retrieved) from its features (codefusion.scoring), "
        "fitted per language by logistic regression; AUC and reliability from 5-fold cross-validation "
        "by item on these dev items",
        "features": list(scoring.FEATURES),
        "k": k,
        "languages": langs,
    }
    return models, report


def _shown_by(item: dict, probs: list, k: int) -> list:
    """The raw candidates as the pipeline would show them with these scores: one per program (its best
    score), valid ones first, best first, k of them."""
    best: dict = {}
    for c, prob in zip(item["raw_candidates"], probs):
        key = " ".join(str(c.get("code", "")).split())
        if key not in best or prob > best[key][0]:
            best[key] = (prob, c)
    order = sorted(best.values(), key=lambda x: (not x[1].get("valid", True), -x[0]))
    return [c for _, c in order[:k]]


def _topk(shown: list, lang: str, k: int) -> dict:
    """Mean primary metric (percent) of the first shown candidate and of the best of the first k."""
    n = max(1, len(shown))
    return {
        "top1": round(100 * sum(_value(s[0]["hits"], lang) if s else 0.0 for s in shown) / n, 2),
        "topk": round(100 * sum(max((_value(c["hits"], lang) for c in s[:k]), default=0.0) for s in shown) / n, 2),
    }


def plot_reliability(report: dict, out_png: Path) -> Path:
    """The reliability curves (predicted P against the share right, per language) and each language's AUC."""
    plt = pyplot()
    langs = report["languages"]
    fig, axes = plt.subplots(1, 2, figsize=(11, 4.5))
    ax = axes[0]
    ax.plot([0, 1], [0, 1], "k:", label="perfect")
    for lang, r in sorted(langs.items()):
        pts = r["reliability_cv"]
        ax.plot(
            [b["mean_p"] for b in pts],
            [b["right"] for b in pts],
            "o-",
            label=f"{lang} (AUC {r['auc_cv']:.2f}, {r['n_candidates']} cand.)",
        )
    ax.set_xlabel("score (predicted P(right), cross-validated)")
    ax.set_ylabel("share right on dev")
    ax.set_xlim(0, 1)
    ax.set_ylim(0, 1)
    ax.legend(fontsize=8)
    ax.set_title("reliability of the candidate score")
    ax = axes[1]
    width = 0.8 / max(1, len(langs))
    for i, (lang, r) in enumerate(sorted(langs.items())):
        pts = r["reliability_cv"]
        ax.bar(
            [b["lo"] + 0.05 + (i - (len(langs) - 1) / 2) * width * 0.1 for b in pts],
            [b["n"] for b in pts],
            width=width * 0.1,
            label=lang,
        )
    ax.set_yscale("log")
    ax.set_xlabel("score bin")
    ax.set_ylabel("candidates")
    ax.set_title("candidates per score bin")
    ax.legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(out_png, dpi=110)
    plt.close(fig)
    return out_png
