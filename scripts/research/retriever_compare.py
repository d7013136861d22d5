"""Which retriever finds the best exemplars? TF-IDF (today's), dense MiniLM vectors (the NL encoder
E, mean-pooled) and hybrids, scored on dev like the retrieval floor: the primary metric of the
retrieved programs at top-1 and top-5 (Bash: template match, CF: execution match, Python: mean
sentence BLEU, a proxy for corpus BLEU).

    python scripts/research/retriever_compare.py [--data ../shared/data] [--alpha 0.3 0.5 0.7] [--out F.json]

Exit status 1 when a file is missing.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import numpy as np

LANGS = ("bash", "python", "cf")


def embed(texts: list[str], encoder, batch: int = 256) -> np.ndarray:
    """Mean-pooled, L2-normalised sentence vectors (what all-MiniLM-L6-v2 is trained for)."""
    import torch

    out = []
    with torch.no_grad():
        for i in range(0, len(texts), batch):
            h, m = encoder.run(texts[i : i + batch], "cpu")
            v = (h * m[..., None]).sum(1) / m.sum(1, keepdim=True).clamp(min=1)
            out.append(torch.nn.functional.normalize(v, dim=-1).numpy())
    return np.concatenate(out)


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--data", default="../shared/data")
    p.add_argument("--alpha", nargs="+", type=float, default=[0.3, 0.5, 0.7], help="hybrid weights of TF-IDF")
    p.add_argument("--out", default=None)
    a = p.parse_args(argv)
    from codefusion.evaluation import metrics as M
    from engine.config import DEFAULT_ENCODER
    from engine.data import read_jsonl
    from engine.encoder import NLEncoder
    from engine.retrieval import Retriever

    d = Path(a.data)
    files = {lang: (d / lang / "codefusion-train.jsonl", d / lang / "codefusion-dev.jsonl") for lang in LANGS}
    missing = [str(f) for pair in files.values() for f in pair if not f.is_file()]
    if missing:
        print(f"retriever_compare: missing {', '.join(missing)}", file=sys.stderr)
        return 1
    enc = NLEncoder(DEFAULT_ENCODER, 48)
    results: dict = {}
    for lang, (train_f, dev_f) in files.items():
        train = [r for _, r in read_jsonl(train_f)]
        dev = [dict(r, lang=lang) for _, r in read_jsonl(dev_f)]
        tfidf = Retriever(dict(r, lang=lang) for r in train)
        index = tfidf._index[lang]  # distinct NLs, first code each (as the floor)
        tv = embed(index.nls, enc)
        dv = embed([r["nl"] for r in dev], enc)
        q = tfidf._index[lang]
        sims_t = (q.tfidf([r["nl"] for r in dev]) @ q.entries_t).toarray()
        sims_d = dv @ tv.T
        systems = {
            "tfidf": sims_t,
            "dense": sims_d,
            **{f"hybrid{al:g}": al * sims_t + (1 - al) * sims_d for al in a.alpha},
        }
        key = M.PRIMARY[lang]
        results[lang] = {}
        for name, sims in systems.items():
            top1 = top5 = 0.0
            for rec, row in zip(dev, sims):
                order = np.argsort(-row, kind="stable")[:5]
                gold_cf = M.cf_gold(rec) if lang == "cf" else None
                vals = [float(M.candidate_hits(index.codes[j], rec, lang, gold_cf)[key]) for j in order]
                top1 += vals[0]
                top5 += max(vals)
            results[lang][name] = {"top1": round(100 * top1 / len(dev), 1), "top5": round(100 * top5 / len(dev), 1)}
            got = results[lang][name]
            print(f"{lang:6s} {name:10s} top-1 {got['top1']:5.1f}  top-5 {got['top5']:5.1f}")
    if a.out:
        Path(a.out).write_text(json.dumps(results, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
