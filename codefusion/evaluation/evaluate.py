"""`codefusion eval`: generate over a JSONL file, run the pipeline, score, write the report.

Outputs, next to REPORT.json (the metrics, one run per steps value and language):
REPORT.md (markdown tables), REPORT.items.jsonl (per item: NL, gold, every candidate with
its score, validity and per-metric hits) and, when several steps values are given,
REPORT_accuracy_vs_steps.png and REPORT_latency_vs_steps.png. Reads only the files it is given.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from codefusion.evaluation import metrics as M
from codefusion.evaluation.options import EvalOptions
from codefusion.runtime import Engine
from engine.config import DEFAULT_ENCODER, ModelConfig
from engine.data import DataError, read_jsonl
from engine.plots import pyplot
from engine.schema import Request
from engine.slots import request_literals_in
from grammar.syntax import LANGS, check

__all__ = ["EvalError", "EvalOptions", "Source", "run", "markdown", "plot_steps", "primary_topk"]


class EvalError(Exception):
    """A problem with the inputs, shown as one line."""


# ---------------------------------------------------------------------------- inputs
def load_records(path: Path, lang: str | None, limit: int | None) -> list[dict]:
    if not path.is_file():
        raise EvalError(f"data file {path} does not exist")
    records: list[dict] = []
    try:
        for n, rec in read_jsonl(path):
            if not isinstance(rec.get("nl"), str) or not isinstance(rec.get("code"), str):
                raise EvalError(f"{path}:{n}: a record needs string fields 'nl' and 'code'")
            rec_lang = lang or rec.get("lang")
            if rec_lang not in LANGS:
                raise EvalError(f"{path}:{n}: unknown lang {rec_lang!r}; pass --lang bash|python|cf")
            records.append(dict(rec, lang=rec_lang, line=n))
            if limit is not None and len(records) >= limit:
                break
    except DataError as exc:
        raise EvalError(str(exc)) from None
    if not records:
        raise EvalError(f"{path} holds no records")
    return records


@dataclass
class Source:
    """What suggest() draws on: the engine's generator, or only a retriever (the retrieval baseline)."""

    generator: Any = None
    retriever: Any = None


def make_source(opts: EvalOptions) -> tuple[Source, dict[str, Any]]:
    """The candidate source (the engine's generator or the retrieval baseline) and its description."""
    if opts.baseline == "retrieval":
        if not opts.train:
            raise EvalError("--baseline retrieval needs --train FILE.jsonl [...]")
        from engine.retrieval import Retriever  # lazy: numpy, not at start-up

        missing = [str(p) for p in opts.train if not Path(p).is_file()]
        if missing:
            raise EvalError(f"training file(s) not found: {', '.join(missing)}")
        dense = None
        if opts.retrieval_dense:  # the hybrid retriever, with the default NL encoder's sentence vectors
            from engine.encoder import NLEncoder  # lazy: torch
            from engine.retrieval import Dense

            enc = NLEncoder(DEFAULT_ENCODER, ModelConfig().nl_max_len)
            dense = Dense(
                embed=enc.sentence_vectors,
                weight=opts.retrieval_dense,
                key=f"{DEFAULT_ENCODER}:{ModelConfig().nl_max_len}",
            )
        return Source(retriever=Retriever.from_jsonl(opts.train, dense=dense)), {
            "kind": "retrieval",
            "train": [str(p) for p in opts.train],
            "default_steps": None,
            "dense_weight": opts.retrieval_dense,
        }
    if opts.baseline is not None:
        raise EvalError(f"unknown baseline {opts.baseline!r}; the only baseline is 'retrieval'")
    if opts.bank is not None:  # exemplar models: another bank, or none
        missing = [str(p) for p in opts.bank if not Path(p).is_file()]
        if missing:
            raise EvalError(f"bank file(s) not found: {', '.join(missing)}")
    from codefusion.runtime import Engine

    # --bank: the shipped bank's rows file keeps its precomputed index; the start SNR and noise slots go
    # with each request (run_one), the generator is not changed for them
    engine = Engine.open(opts.checkpoint, device=opts.device, bank="default" if opts.bank is None else opts.bank)
    gen = engine.generator
    retriever = None
    if opts.with_retrieval:
        retriever = engine.retriever
        if retriever is None:
            raise EvalError("--with-retrieval: the checkpoint's training files are not on this machine")
    return Source(generator=gen, retriever=retriever), {
        "with_retrieval": opts.with_retrieval,
        "kind": getattr(gen, "kind", "model"),
        "checkpoint": opts.checkpoint,
        "exemplars": getattr(getattr(gen, "cfg", None), "exemplars", 0),
        "bank": None
        if getattr(gen, "bank", None) is None
        else (
            [str(p) for p in opts.bank]
            if opts.bank
            else "+".join(n for n, _ in getattr(gen.bank, "layers", ())) or "training files"
        ),
        "start_snr": opts.start_snr,
        "noise_slots": opts.noise_slots,
        "default_steps": getattr(gen, "default_steps", None),
        "languages": list(getattr(gen, "languages", ())),
    }


# ---------------------------------------------------------------------------- one run
def _hits_for(codes: Sequence[str], rec: dict, lang: str, cache: dict, gold_cf) -> list[dict]:
    out = []
    for code in codes:
        if code not in cache:
            cache[code] = M.candidate_hits(code, rec, lang, gold_cf)
        out.append(cache[code])
    return out


def run_one(
    records: Sequence[dict], source: Source, steps: int | None, opts: EvalOptions, items_out, progress_desc: str
) -> list[dict]:
    """Suggest for and score every record for one steps value (the model alone, or the retrieval
    baseline alone: settings.retrieval is off); returns per-item results."""
    iterator: Any = records
    if opts.progress:
        from tqdm import tqdm

        iterator = tqdm(records, desc=progress_desc, unit="item")
    results = []
    engine = Engine(source.generator, source.retriever)
    for idx, rec in enumerate(iterator):
        lang = rec["lang"]
        request = Request(
            rec["nl"],
            lang,
            k=opts.k,
            steps=steps,
            seed=opts.seed,
            start_snr=opts.start_snr,
            noise_slots=opts.noise_slots,
            invalid_mode=opts.invalid_mode,
            retrieval=source.generator is None or source.retriever is not None,
        )
        result = engine.suggest(request)
        raw = result.raw
        gold_cf = M.cf_gold(rec) if lang == "cf" else None
        cache: dict = {}
        raw_codes = [c.code for c in raw]
        raw_valid = [check(c.code, lang).valid for c in raw]
        raw_hits = _hits_for(raw_codes, rec, lang, cache, gold_cf)
        shown_hits = _hits_for([c.code for c in result.candidates], rec, lang, cache, gold_cf)
        item = {
            "index": idx,
            "line": rec["line"],
            "lang": lang,
            "steps": steps,
            "nl": rec["nl"],
            "gold": rec["code"],
            "latency_s": result.model_seconds + result.pipeline_seconds,
            "generation_s": result.model_seconds,
            "message": result.message,
            "n_raw": len(raw),
            "n_duplicates": result.n_duplicates,
            "n_invalid": result.n_invalid,
            "gold_mask_mixed": gold_cf.mixed if gold_cf else None,
            "cf_fallback": (gold_cf.mask is None) if gold_cf else None,
            "cf_fallback_reason": gold_cf.reason if gold_cf else None,
            "candidates": [
                {
                    "code": c.code,
                    "score": c.score,
                    "valid": c.valid,
                    "errors": [str(e) for e in c.errors],
                    "warnings": c.warnings,
                    "source": c.source,
                    "hits": h,
                }
                for c, h in zip(result.candidates, shown_hits)
            ],
            "raw_candidates": [
                {
                    "code": c.code,
                    "score": float(c.score),
                    "valid": v,
                    "hits": h,
                    **{k: c.meta[k] for k in ("copy", "exemplar", "features") if k in (getattr(c, "meta", None) or {})},
                }
                for c, v, h in zip(raw, raw_valid, raw_hits)
            ],
        }
        items_out.write(json.dumps(item, ensure_ascii=False) + "\n")
        results.append(item)
    return results


def _accuracy(items: Sequence[dict], lang: str, key: str, scorer) -> dict[str, Any]:
    """Top-k figures of one language over `key` ("candidates" = after the pipeline, or "raw_candidates")."""
    acc: dict[str, Any] = {}
    for name in M.HIT_NAMES[lang]:
        lists = [[c["hits"][name] for c in it[key]] for it in items]
        acc[f"{name}_match"] = {f"top{k}": M.top_k_rate(lists, k) for k in M.TOP_KS}
    if lang == "cf":
        mixed = [it for it in items if it["gold_mask_mixed"]]
        lists = [[c["hits"]["execution"] for c in it[key]] for it in mixed]
        acc["execution_match_mixed"] = {f"top{k}": M.top_k_rate(lists, k) for k in M.TOP_KS}
        acc["execution_match_mixed"]["n_items"] = len(mixed)
        acc["execution_fallbacks"] = sum(1 for it in items if it["cf_fallback"])
    if lang == "python":
        golds = [it["gold"] for it in items]
        codes = [[c["code"] for c in it[key]] for it in items]
        sbleu = [[c["hits"]["bleu"] for c in it[key]] for it in items]
        acc["bleu"] = {f"top{k}": M.top_k_bleu(golds, codes, sbleu, k) for k in M.TOP_KS}
        if scorer is None:
            acc["codebertscore"] = {"skipped": "no --codebert PATH given (a local CodeBERT model directory)"}
        else:
            firsts = [cs[0] if cs else "" for cs in codes]
            f1s = scorer.score_all(firsts, golds)
            acc["codebertscore"] = {"top1_f1": 100.0 * sum(f1s) / len(f1s) if f1s else 0.0}
    return acc


def argument_recall(items: Sequence[dict], key: str = "candidates") -> dict[str, Any]:
    """On items whose reference contains a literal of the request (a file name, number, quoted string or URL,
    engine/slots.py), the share of those literals that the top-1 program contains."""
    want = found = n = 0
    for it in items:
        gold = request_literals_in(it["nl"], it["gold"])
        if not gold:
            continue
        n += 1
        want += len(gold)
        if it[key]:
            found += len(gold & request_literals_in(it["nl"], it[key][0]["code"]))
    return {"top1": 100.0 * found / want if want else None, "n_items": n, "n_literals": want}


def summarize(items: Sequence[dict], lang: str, steps: int | None, scorer=None) -> dict[str, Any]:
    div = M.diversity([[c["code"] for c in it["raw_candidates"]] for it in items], lang)
    gen_seconds = sum(it["generation_s"] for it in items)
    n_cands = sum(len(it["raw_candidates"]) for it in items)
    spd = M.speed([it["latency_s"] for it in items], n_cands, gen_seconds)
    copies = [c["copy"] for it in items for c in it["raw_candidates"] if "copy" in c]
    return {
        "lang": lang,
        "steps": steps,
        "n_items": len(items),
        # exemplar models: share of raw candidates that equal one of their exemplars (whitespace aside)
        "copy_rate": round(sum(copies) / len(copies), 4) if copies else None,
        "primary_metric": M.PRIMARY[lang],
        "argument_recall": argument_recall(items),
        "accuracy": {
            "pipeline": _accuracy(items, lang, "candidates", scorer),
            "raw": _accuracy(items, lang, "raw_candidates", None),
        },
        "validity": {
            "before": M.validity([[c["valid"] for c in it["raw_candidates"]] for it in items]),
            "after": M.validity([[c["valid"] for c in it["candidates"]] for it in items]),
        },
        "diversity": {
            "distinct_per_query": div.distinct_per_query,
            "mean_pairwise_edit_distance": div.mean_pairwise_edit_distance,
            "distinct_4gram_ratio": div.distinct_4gram_ratio,
        },
        "speed": {
            "latency_p50_s": spd.latency_p50_s,
            "latency_p95_s": spd.latency_p95_s,
            "candidates_per_s": spd.candidates_per_s,
        },
        "pipeline": {
            "duplicates_dropped": sum(it["n_duplicates"] for it in items),
            "invalid": sum(it["n_invalid"] for it in items),
            "dangerous_shown": sum(1 for it in items for c in it["candidates"] if c["warnings"]),
            "empty_results": sum(1 for it in items if not it["candidates"]),
        },
    }


# ---------------------------------------------------------------------------- report files
def _fmt(x: Any) -> str:
    if isinstance(x, float):
        return f"{x:.1f}"
    return str(x)


def markdown(report: dict) -> str:
    src = report["source"]
    lines = [
        f"# CodeFusion evaluation: {report['data']}",
        "",
        f"source: {src.get('kind')} ({src.get('checkpoint') or ', '.join(src.get('train', []))}); "
        f"k = {report['k']}, seed = {report['seed']}, invalid mode = {report['invalid_mode']}",
        "",
    ]
    for run in report["runs"]:
        lines += [
            f"## {run['lang']}, steps = {run['steps']} ({run['n_items']} items)",
            "",
            "| metric | top-1 | top-3 | top-5 |",
            "|---|---|---|---|",
        ]
        for stage in ("pipeline", "raw"):
            for name, vals in run["accuracy"][stage].items():
                if isinstance(vals, dict) and "top1" in vals:
                    extra = f" ({vals['n_items']} items)" if "n_items" in vals else ""
                    lines.append(
                        f"| {name}{extra} [{stage}] | {_fmt(vals['top1'])} | {_fmt(vals['top3'])} | "
                        f"{_fmt(vals['top5'])} |"
                    )
        lines.append("")
        acc = run["accuracy"]["pipeline"]
        if "execution_fallbacks" in acc:
            lines.append(
                f"CF items scored by exact match because the gold rule cannot be executed: {acc['execution_fallbacks']}"
            )
        if "codebertscore" in acc:
            cbs = acc["codebertscore"]
            lines.append(f"CodeBERTScore: {cbs.get('skipped') or _fmt(cbs.get('top1_f1'))}")
        ar = run.get("argument_recall") or {}
        if ar.get("n_items"):
            lines.append(
                f"Argument recall (top-1): {_fmt(ar['top1'])} % of {ar['n_literals']} request literals "
                f"that the reference holds ({ar['n_items']} items)"
            )
        v, d, s, p = run["validity"], run["diversity"], run["speed"], run["pipeline"]
        lines += [
            "",
            "| validity | top-1 valid % | all candidates valid % |",
            "|---|---|---|",
            f"| before pipeline | {_fmt(v['before']['top1'])} | {_fmt(v['before']['all'])} |",
            f"| after pipeline | {_fmt(v['after']['top1'])} | {_fmt(v['after']['all'])} |",
            "",
            "| diversity / speed | value |",
            "|---|---|",
            f"| distinct candidates per query | {_fmt(d['distinct_per_query'])} |",
            f"| mean pairwise normalised edit distance | {d['mean_pairwise_edit_distance']:.3f} |",
            f"| distinct 4-grams ratio | {d['distinct_4gram_ratio']:.3f} |",
            f"| latency p50 (s) | {s['latency_p50_s']:.4f} |",
            f"| latency p95 (s) | {s['latency_p95_s']:.4f} |",
            f"| candidates / s | {_fmt(s['candidates_per_s'])} |",
            f"| duplicates dropped / invalid / dangerous shown | {p['duplicates_dropped']} / {p['invalid']} / "
            f"{p['dangerous_shown']} |",
            "",
        ]
    return "\n".join(lines) + "\n"


def primary_topk(run: dict) -> dict[str, float]:
    acc = run["accuracy"]["pipeline"]
    name = {"bash": "template_match", "cf": "execution_match", "python": "bleu"}[run["lang"]]
    return {k: acc[name][k] for k in ("top1", "top3", "top5")}


def plot_steps(report: dict, out: Path) -> list[str]:
    """Accuracy and latency against the number of steps (one line per language and k)."""
    plt = pyplot()

    def figure(title: str, ylabel: str, suffix: str, draw) -> str:
        fig, ax = plt.subplots(figsize=(6, 4))
        for lang in sorted({r["lang"] for r in report["runs"]}):
            runs = [r for r in report["runs"] if r["lang"] == lang]
            draw(ax, lang, [r["steps"] for r in runs], runs)
        ax.set_xlabel("sampling steps")
        ax.set_ylabel(ylabel)
        ax.set_title(title)
        ax.legend(fontsize="small")
        fig.tight_layout()
        path = out.with_name(out.stem + suffix)
        fig.savefig(path, dpi=100)
        plt.close(fig)
        return str(path)

    def accuracy(ax, lang, xs, runs):
        for k in ("top1", "top3", "top5"):
            ax.plot(xs, [primary_topk(r)[k] for r in runs], marker="o", label=f"{lang} {k}")

    def latency(ax, lang, xs, runs):
        ax.plot(xs, [r["speed"]["latency_p50_s"] for r in runs], marker="o", label=f"{lang} p50")
        ax.plot(xs, [r["speed"]["latency_p95_s"] for r in runs], marker="s", label=f"{lang} p95")

    return [
        figure("top-k accuracy vs steps", "accuracy (primary metric, %)", "_accuracy_vs_steps.png", accuracy),
        figure("latency vs steps", "latency per query (s)", "_latency_vs_steps.png", latency),
    ]


# ---------------------------------------------------------------------------- entry point
def run(opts: EvalOptions, source: Source | None = None, source_info: dict | None = None) -> dict:
    """Run the whole evaluation and write the report files; returns the report dict.

    `source` replaces the configured one (tests pass a fake generator here).
    """
    if opts.k < 1:
        raise EvalError("-k must be at least 1")
    if opts.lang is not None and opts.lang not in LANGS:
        raise EvalError(f"unknown lang {opts.lang!r}; expected one of {', '.join(LANGS)}")
    if any(s is not None and s < 1 for s in opts.steps):
        raise EvalError("--steps values must be at least 1")
    try:  # the per-request options against the schema's limits now, before the model loads
        Request(
            "check",
            "bash",
            k=opts.k,
            start_snr=opts.start_snr,
            noise_slots=opts.noise_slots,
            invalid_mode=opts.invalid_mode,
        )
    except ValueError as e:
        raise EvalError(str(e)) from None
    records = load_records(Path(opts.data), opts.lang, opts.limit)
    if source is None:
        source, source_info = make_source(opts)
    source_info = source_info or {"kind": "custom"}
    served = source_info.get("languages")
    unserved = sorted({r["lang"] for r in records} - set(served)) if served else []
    if served and unserved:
        raise EvalError(
            f"the model does not serve {', '.join(unserved)} (it serves {', '.join(served)}); "
            f"pass --lang or another --data file"
        )
    steps_values = list(opts.steps) or [None]
    if source_info.get("kind") == "retrieval" and steps_values != [None]:
        steps_values = [None]
        source_info["note"] = "--steps ignored: retrieval has no sampling steps"
    scorer = None
    if opts.codebert and any(r["lang"] == "python" for r in records):
        from codefusion.evaluation.codebertscore import CodeBERTScorer

        scorer = CodeBERTScorer(opts.codebert, device=opts.device)

    out = Path(opts.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    items_path = out.with_name(out.stem + ".items.jsonl")
    langs = sorted({r["lang"] for r in records})
    report: dict[str, Any] = {
        "data": str(opts.data),
        "source": source_info,
        "k": opts.k,
        "seed": opts.seed,
        "invalid_mode": opts.invalid_mode,
        "limit": opts.limit,
        "runs": [],
    }
    with open(items_path, "w", encoding="utf-8") as items_out:
        for steps in steps_values:
            label = steps if steps is not None else source_info.get("default_steps")
            items = run_one(records, source, steps, opts, items_out, f"eval steps={label}")
            for lang in langs:
                lang_items = [it for it in items if it["lang"] == lang]
                report["runs"].append(summarize(lang_items, lang, label, scorer))
    report["files"] = {"json": str(out), "markdown": str(out.with_suffix(".md")), "items": str(items_path)}
    if len(steps_values) > 1:
        report["files"]["plots"] = plot_steps(report, out)
    out.write_text(json.dumps(report, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    out.with_suffix(".md").write_text(markdown(report), encoding="utf-8")
    return report
