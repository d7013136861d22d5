"""The evaluation metrics: the paper's accuracy metrics plus what an editor user feels.

Per candidate (`candidate_hits`):
* bash: `template` (codefusion.evaluation.template: NL2Bash/Tellina-style template match) and `exact`
  (equal after grammar.normalize).
* cf: `execution` - the predicted and the gold rule give the same mask on the item's `data`
  (grammar.cf.execute; the reference is the gold rule's own mask, not `labels`, which are
  missing for some items and noisy for rank rules, see /work/shared/data/cf/DSL.md). When the
  gold rule cannot be parsed or executed the item falls back to exact normalised match
  (`fallback` is set, and counted). A predicted rule that fails to parse/execute is a miss.
  `exact` is the normalised exact match. `mixed` marks items whose gold mask has both 0s and
  1s (the honest subset: all-0/all-1 masks are matched by many rules).
* python: `exact` - equal token lists under CoNaLa's tokeniser; `bleu` - smoothed sentence
  BLEU, used only to choose the best of the first k for corpus BLEU.

Top-k (k = 1, 3, 5): an item counts when any of its first k candidates hits; for BLEU the
first k candidate with the best sentence BLEU is chosen and corpus BLEU-4 (CoNaLa,
codefusion.evaluation.bleu) is computed over those choices.

Validity: the share of syntactically valid top-1 candidates and of all candidates.
Diversity (over an item's raw candidates): distinct normalised candidates per query; mean
pairwise normalised edit distance (Levenshtein / max length, 0 for fewer than two);
distinct 4-grams ratio (distinct token 4-grams / all token 4-grams, CoNaLa tokens).
Speed: per-query latency p50/p95 (generation + pipeline) and candidates per second of
generation time.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from codefusion.evaluation.bleu import corpus_bleu, sentence_bleu, tokenize_for_bleu_eval
from codefusion.evaluation.template import template_match
from grammar.normalize import normalize

TOP_KS = (1, 3, 5)

# the primary accuracy metric of each language and the per-candidate hit names it reports
PRIMARY = {"bash": "template", "cf": "execution", "python": "bleu"}
HIT_NAMES = {"bash": ("template", "exact"), "cf": ("execution", "exact"), "python": ("exact",)}


@dataclass
class CFGold:
    """The gold rule's mask on the item's data (None when it cannot be executed)."""

    mask: list[int] | None
    reason: str | None = None

    @property
    def mixed(self) -> bool:
        return self.mask is not None and 0 < sum(self.mask[1:]) < len(self.mask) - 1


def cf_gold(record: dict) -> CFGold:
    from grammar.cf import CFExecutionError, CFSyntaxError, execute

    data = record.get("data")
    if not data:
        return CFGold(None, "the item has no data table")
    try:
        return CFGold(execute(record["code"], data))
    except (CFSyntaxError, CFExecutionError, ValueError) as exc:
        return CFGold(None, f"the gold rule cannot be executed: {exc}")


def candidate_hits(pred: str, record: dict, lang: str, gold_cf: CFGold | None = None) -> dict[str, Any]:
    """Per-metric hits of one predicted program against the record's gold `code`."""
    gold = record["code"]
    if lang == "bash":
        return {"template": template_match(pred, gold), "exact": normalize(pred, "bash") == normalize(gold, "bash")}
    if lang == "python":
        return {
            "exact": tokenize_for_bleu_eval(pred) == tokenize_for_bleu_eval(gold),
            "bleu": sentence_bleu(gold, pred),
        }
    if lang == "cf":
        from grammar.cf import CFExecutionError, CFSyntaxError, execute

        exact = normalize(pred, "cf") == normalize(gold, "cf")
        gold_cf = gold_cf or cf_gold(record)
        if gold_cf.mask is None:
            return {"execution": exact, "exact": exact, "fallback": True}
        try:
            execution = execute(pred, record["data"]) == gold_cf.mask
        except (CFSyntaxError, CFExecutionError, ValueError):
            execution = False
        return {"execution": execution, "exact": exact, "fallback": False}
    raise ValueError(f"unknown language {lang!r}")


def top_k_rate(hit_lists: Sequence[Sequence[bool]], k: int) -> float:
    """Percent of items with a hit among their first k candidates."""
    if not hit_lists:
        return 0.0
    return 100.0 * sum(1 for hits in hit_lists if any(hits[:k])) / len(hit_lists)


def top_k_bleu(
    golds: Sequence[str], candidate_lists: Sequence[Sequence[str]], sentence_scores: Sequence[Sequence[float]], k: int
) -> float:
    """Corpus BLEU-4 (0..100) choosing, per item, the best-by-sentence-BLEU of its first k candidates."""
    chosen = []
    for cands, scores in zip(candidate_lists, sentence_scores):
        if not cands:
            chosen.append("")
            continue
        best = max(range(min(k, len(cands))), key=lambda i: (scores[i], -i))
        chosen.append(cands[best])
    return corpus_bleu(golds, chosen)


def levenshtein(a: str, b: str) -> int:
    if len(a) < len(b):
        a, b = b, a
    previous = list(range(len(b) + 1))
    for i, ca in enumerate(a, 1):
        current = [i]
        for j, cb in enumerate(b, 1):
            current.append(min(previous[j] + 1, current[j - 1] + 1, previous[j - 1] + (ca != cb)))
        previous = current
    return previous[-1]


def normalized_edit_distance(a: str, b: str) -> float:
    longest = max(len(a), len(b))
    return levenshtein(a, b) / longest if longest else 0.0


@dataclass(frozen=True)
class Diversity:
    distinct_per_query: float
    mean_pairwise_edit_distance: float
    distinct_4gram_ratio: float


def diversity(candidate_lists: Sequence[Sequence[str]], lang: str) -> Diversity:
    """Diversity of each query's candidates (see the module docstring), averaged over queries."""
    distinct, pairwise, ratios = [], [], []
    for cands in candidate_lists:
        normed = [normalize(c, lang) for c in cands]
        distinct.append(len(set(normed)))
        pairs = [(i, j) for i in range(len(normed)) for j in range(i + 1, len(normed))]
        pairwise.append(
            sum(normalized_edit_distance(normed[i], normed[j]) for i, j in pairs) / len(pairs) if pairs else 0.0
        )
        grams = [
            tuple(toks[i : i + 4]) for toks in (tokenize_for_bleu_eval(c) for c in normed) for i in range(len(toks) - 3)
        ]
        if grams:
            ratios.append(len(set(grams)) / len(grams))
    return Diversity(_mean(distinct), _mean(pairwise), _mean(ratios))


def _mean(xs: Sequence[float]) -> float:
    return sum(xs) / len(xs) if xs else 0.0


def percentile(values: Sequence[float], q: float) -> float:
    """Linear-interpolation percentile (q in 0..100), as numpy's default."""
    if not values:
        return 0.0
    xs = sorted(values)
    pos = (len(xs) - 1) * q / 100.0
    lo, hi = math.floor(pos), math.ceil(pos)
    return xs[lo] + (xs[hi] - xs[lo]) * (pos - lo)


@dataclass(frozen=True)
class Speed:
    latency_p50_s: float
    latency_p95_s: float
    candidates_per_s: float


def speed(latencies: Sequence[float], n_candidates: int, generation_seconds: float) -> Speed:
    return Speed(
        percentile(latencies, 50),
        percentile(latencies, 95),
        n_candidates / generation_seconds if generation_seconds > 0 else 0.0,
    )


def validity(valid_lists: Sequence[Sequence[bool]]) -> dict[str, float]:
    """{"top1": % of items whose first candidate is valid, "all": % of all candidates valid}."""
    firsts = [v[0] for v in valid_lists if v]
    flat = [x for v in valid_lists for x in v]
    return {
        "top1": 100.0 * sum(firsts) / len(valid_lists) if valid_lists else 0.0,
        "all": 100.0 * sum(flat) / len(flat) if flat else 0.0,
    }
