"""CoNaLa's BLEU: its tokeniser and the Moses-style corpus BLEU-4 (no smoothing).

`tokenize_for_bleu_eval` follows CoNaLa's evaluation script (conala-baseline /
eval/conala_eval.py); `compute_bleu` follows the `compute_bleu` CoNaLa imports
(tensorflow/nmt bleu.py): clipped n-gram precisions for n = 1..4 summed over the corpus,
geometric mean, brevity penalty exp(1 - r/c) when the candidate corpus is shorter.
With smooth=False any zero precision gives BLEU 0.
"""

from __future__ import annotations

import collections
import math
import re
from collections.abc import Sequence
from dataclasses import dataclass


def tokenize_for_bleu_eval(code: str) -> list[str]:
    code = re.sub(r"([^A-Za-z0-9_])", r" \1 ", code)
    code = re.sub(r"([a-z])([A-Z])", r"\1 \2", code)
    code = re.sub(r"\s+", " ", code)
    code = code.replace('"', "`")
    code = code.replace("'", "`")
    return [t for t in code.split(" ") if t]


def _ngrams(tokens: Sequence[str], max_order: int) -> collections.Counter:
    counts: collections.Counter = collections.Counter()
    for order in range(1, max_order + 1):
        for i in range(len(tokens) - order + 1):
            counts[tuple(tokens[i : i + order])] += 1
    return counts


@dataclass(frozen=True)
class BleuResult:
    bleu: float  # 0..1
    precisions: tuple[float, ...]
    brevity_penalty: float
    length_ratio: float
    translation_length: int
    reference_length: int


def compute_bleu(
    reference_corpus: Sequence[Sequence[Sequence[str]]],
    translation_corpus: Sequence[Sequence[str]],
    max_order: int = 4,
    smooth: bool = False,
) -> BleuResult:
    """Corpus BLEU of token lists; each item has a list of reference token lists."""
    matches = [0] * max_order
    possible = [0] * max_order
    ref_len = trans_len = 0
    for references, translation in zip(reference_corpus, translation_corpus):
        ref_len += min(len(r) for r in references)
        trans_len += len(translation)
        merged: collections.Counter = collections.Counter()
        for reference in references:
            merged |= _ngrams(reference, max_order)
        overlap = _ngrams(translation, max_order) & merged
        for ngram, count in overlap.items():
            matches[len(ngram) - 1] += count
        for order in range(1, max_order + 1):
            if len(translation) - order + 1 > 0:
                possible[order - 1] += len(translation) - order + 1
    precisions = []
    for i in range(max_order):
        if smooth:
            precisions.append((matches[i] + 1.0) / (possible[i] + 1.0))
        else:
            precisions.append(matches[i] / possible[i] if possible[i] > 0 else 0.0)
    geo_mean = math.exp(sum(math.log(p) / max_order for p in precisions)) if min(precisions) > 0 else 0.0
    ratio = trans_len / ref_len if ref_len else 0.0
    if ratio > 1.0:
        bp = 1.0
    elif ratio == 0.0:
        bp = 0.0
    else:
        bp = math.exp(1 - 1.0 / ratio)
    return BleuResult(geo_mean * bp, tuple(precisions), bp, ratio, trans_len, ref_len)


def corpus_bleu(references: Sequence[str], hypotheses: Sequence[str]) -> float:
    """CoNaLa corpus BLEU-4 of code strings (one reference each), in 0..100."""
    refs = [[tokenize_for_bleu_eval(r)] for r in references]
    hyps = [tokenize_for_bleu_eval(h) for h in hypotheses]
    return 100.0 * compute_bleu(refs, hyps).bleu


def sentence_bleu(reference: str, hypothesis: str) -> float:
    """Smoothed sentence BLEU-4 (0..1): used only to pick the best of k candidates."""
    return compute_bleu([[tokenize_for_bleu_eval(reference)]], [tokenize_for_bleu_eval(hypothesis)], smooth=True).bleu
