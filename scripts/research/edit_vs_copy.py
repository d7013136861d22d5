"""Does denoising from a noised exemplar improve on the exemplar itself? Per item and start level.

    python scripts/research/edit_vs_copy.py --data ../shared/data/{bash,python,cf}/codefusion-dev.jsonl \
        --start-snr 50 20 10 5 2 --out models/eval/edit-vs-copy [--limit 200] [--checkpoint DIR]

For every item, candidate i starts from the i-th nearest distinct program (k = 5) noised to each
start SNR. Written per language and start level (JSON + a plot):
- the candidates' top-1 / top-5 (the model's own order) beside the exemplars' (retrieval order);
- edit vs copy: for the candidate that started from the nearest program, how often its primary
  metric (Bash template match, Python sentence BLEU, CF execution match) is above / below that
  program's, and the copy rate (candidates equal to their exemplar).
Refinement earns its keep where "better" outweighs "worse" and the top-k figures rise.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--checkpoint", default=None, help="an exemplar model (default: the shipped one)")
    p.add_argument("--data", nargs="+", required=True, type=Path)
    p.add_argument("--start-snr", nargs="+", type=float, default=[50.0, 20.0, 10.0, 5.0, 2.0])
    p.add_argument("--steps", type=int, default=1)
    p.add_argument("--limit", type=int, default=None, help="the first N items of each file")
    p.add_argument("--out", required=True, type=Path, help="OUT.json and OUT.png")
    a = p.parse_args(argv)

    from tqdm import tqdm

    from codefusion.evaluation import metrics as M
    from codefusion.evaluation.evaluate import load_records
    from codefusion.runtime import Engine

    gen = Engine.open(a.checkpoint).generator  # each generate() below passes its own start SNR
    if not gen.cfg.exemplars or gen.bank is None:
        print("edit_vs_copy: the checkpoint has no exemplars or its bank is not on this machine", file=sys.stderr)
        return 2
    rows = []
    for data in a.data:
        records = load_records(data, None, a.limit)
        if not records:
            continue
        lang = records[0]["lang"]
        key = M.PRIMARY[lang]
        per = {
            snr: {"better": 0, "worse": 0, "same": 0, "copies": 0, "n_cands": 0, "model": [], "exemplars": []}
            for snr in a.start_snr
        }
        for rec in tqdm(records, desc=f"{data.parent.name} edit vs copy", unit="item"):
            value = _scorer(M, rec, lang, key)
            for snr in a.start_snr:
                cands = gen.generate(rec["nl"], lang, 5, steps=a.steps, seed=0, start_snr=snr)
                s = per[snr]
                starts = [c.meta["exemplar_code"] for c in sorted(cands, key=lambda c: c.meta["exemplar"])]
                s["model"].append([value(c.code) for c in cands])
                s["exemplars"].append([value(e) for e in starts])
                first = next(c for c in cands if c.meta["exemplar"] == 0)
                d = value(first.code) - value(first.meta["exemplar_code"])
                s["better" if d > 0 else "worse" if d < 0 else "same"] += 1
                s["copies"] += sum(bool(c.meta.get("copy")) for c in cands)
                s["n_cands"] += len(cands)
        for snr, s in per.items():
            n = len(s["model"])
            rows.append(
                {
                    "data": str(data),
                    "lang": lang,
                    "metric": key,
                    "n_items": n,
                    "start_snr": snr,
                    "steps": a.steps,
                    "model_top1": top(s["model"], 1),
                    "model_top5": top(s["model"], 5),
                    "exemplars_top1": top(s["exemplars"], 1),
                    "exemplars_top5": top(s["exemplars"], 5),
                    "edit_better": s["better"],
                    "edit_worse": s["worse"],
                    "edit_same": s["same"],
                    "copy_rate": round(s["copies"] / max(1, s["n_cands"]), 3),
                }
            )
            r = rows[-1]
            print(
                f"{lang} SNR {snr:g}: model {r['model_top1']}/{r['model_top5']} vs exemplars "
                f"{r['exemplars_top1']}/{r['exemplars_top5']}; edit of the nearest better {r['edit_better']}, "
                f"worse {r['edit_worse']}, same {r['edit_same']}; copy rate {r['copy_rate']}",
                flush=True,
            )
    a.out.parent.mkdir(parents=True, exist_ok=True)
    out_json = a.out.with_suffix(".json")
    out_json.write_text(json.dumps({"checkpoint": str(gen.path), "rows": rows}, indent=1) + "\n")
    _plot(rows, a.out.with_suffix(".png"))
    print(f"wrote {out_json} and {a.out.with_suffix('.png')}")
    return 0


def _scorer(M, rec: dict, lang: str, key: str):
    """code -> the item's primary metric for it (a float), each code scored once."""
    gold = M.cf_gold(rec) if lang == "cf" else None
    cache: dict = {}

    def value(code: str) -> float:
        if code not in cache:
            cache[code] = float(M.candidate_hits(code, rec, lang, gold)[key])
        return cache[code]

    return value


def top(lists: list, k: int) -> float:
    """The share (%) of items whose best of the first k values is a hit (lists: one list of values per item)."""
    return round(100 * sum(max(v[:k]) for v in lists) / len(lists), 1)


def _plot(rows: list, path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    langs = list(dict.fromkeys(r["lang"] for r in rows))
    fig, axes = plt.subplots(2, len(langs), figsize=(4.2 * len(langs), 6.4), squeeze=False)
    for j, lang in enumerate(langs):
        rs = sorted((r for r in rows if r["lang"] == lang), key=lambda r: r["start_snr"])
        x = [r["start_snr"] for r in rs]
        ax = axes[0][j]
        for k, style in ((1, "-"), (5, "--")):
            ax.plot(x, [r[f"model_top{k}"] for r in rs], "o" + style, color="C0", label=f"denoised, top-{k}")
            ax.plot(x, [r[f"exemplars_top{k}"] for r in rs], "s" + style, color="C1", label=f"exemplars, top-{k}")
        ax.set_xscale("log")
        ax.minorticks_off()
        ax.set_xticks(x, [f"{v:g}" for v in x])
        ax.set_title(f"{lang} ({rs[0]['metric']}, {rs[0]['n_items']} dev items)")
        ax.set_xlabel("start token SNR")
        ax.set_ylabel("%")
        ax.legend(fontsize=7)
        ax = axes[1][j]
        ax.bar([i - 0.2 for i in range(len(rs))], [r["edit_better"] for r in rs], 0.4, color="C2", label="edit better")
        ax.bar([i + 0.2 for i in range(len(rs))], [r["edit_worse"] for r in rs], 0.4, color="C3", label="edit worse")
        ax.set_xticks(range(len(rs)), [f"{v:g}" for v in x])
        ax.set_xlabel("start token SNR")
        ax.set_ylabel("items")
        ax.set_title("the nearest program, denoised vs shown")
        ax.legend(fontsize=7)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


if __name__ == "__main__":
    sys.exit(main())
