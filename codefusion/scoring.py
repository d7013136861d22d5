"""One score per candidate: the probability that it is right, from features of that candidate.

The score a user sees used to be a rate by rank (how often the candidate at rank r of its source was right
on dev): the same numbers on every request. Here each candidate of a request gets features of its own,

    retrieved        1 for a retrieved training/bank example, 0 for the model's candidates
    logprob          the model's mean token log-prob of it (engine meta "logprob"; 0 for a retrieved one)
    similarity       how near the request its exemplar is: the bank's similarity of the exemplar it started
                     from (meta "exemplar_similarity"), or a retrieved example's own retrieval score
    best_similarity  the best such similarity of the request: how well the bank covers it at all
    agreement        how many of the request's other candidates (model and retrieved) have its shape: a count,
                     not a share, so that it means the same for any k (a copy and the retrieved example it
                     copies agree once at k=1 as at k=5)
    max_agreement    the highest agreement among the request's candidates (do they agree on anything?)
    kept             how much of its exemplar it kept (token similarity of the shapes; 1 for a retrieved
                     example or a copy; 0 from pure noise): the label copy / edited / generated, graded
    noise            1 for a model candidate from pure noise (no exemplar)
    valid            it parses (grammar.check)
    rank             its place among its source's candidates, 0 .. 1
    model_top        1 for the model's own first choice (its best engine score)
    length           log(1 + the number of tokens of its shape)
    request_length   log(1 + the number of words of the request)

and a logistic regression per language, fitted on dev by `codefusion calibrate --items` (what the editor
shows: `codefusion eval --with-retrieval`), turns them into P(right). "Right" is the language's primary
metric: Bash template match, CF execution match, Python sentence BLEU >= PYTHON_RIGHT_BLEU (or exact).

A candidate's *shape* masks its literals and placeholders (engine.slots: quoted strings, paths, numbers,
URLs; tldr's path/to/file, count, pattern, ...), so that filling the request's arguments into a candidate
(the sampling option adapt_arguments) leaves its features as they were.

Nothing here imports torch; the fitted model is a few numbers in the checkpoint's config.json
("calibration" -> "score" -> language), read through engine.api.calibration.
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterable, Sequence
from dataclasses import is_dataclass, replace
from typing import Any

from engine.slots import PLACEHOLDERS, find_literals

FEATURES = (
    "retrieved",
    "logprob",
    "similarity",
    "best_similarity",
    "agreement",
    "max_agreement",
    "kept",
    "noise",
    "valid",
    "rank",
    "model_top",
    "length",
    "request_length",
)
PYTHON_RIGHT_BLEU = 0.5  # Python has no exact notion of right: a sentence BLEU of half the reference's n-grams
_TOKEN = re.compile(r"\w+|[^\w\s]")


# ------------------------------------------------------------------------------------------ features
def shape(code: str) -> str:
    """The program with its literals and placeholders masked by kind ("tail -n NUM FILE"), whitespace collapsed."""
    spans = [(m.start(), m.end(), kind) for kind, pat in PLACEHOLDERS.items() for m in pat.finditer(code)]
    spans += [(lit.start, lit.end, lit.kind) for lit in find_literals(code)]
    chosen: list = []
    for a, b, kind in sorted(spans, key=lambda s: (s[0], -(s[1] - s[0]))):
        if all(b <= s or a >= e for s, e, _ in chosen):
            chosen.append((a, b, kind))
    out = code
    for a, b, kind in sorted(chosen, reverse=True):
        out = out[:a] + kind + out[b:]
    return " ".join(out.split())


def _kept(a: str, b: str) -> float:
    from difflib import SequenceMatcher

    return SequenceMatcher(None, _TOKEN.findall(a), _TOKEN.findall(b), autojunk=False).ratio()


def features(candidates: Sequence[Any], lang: str, nl: str = "", valid: Sequence[bool] | None = None) -> list[dict]:
    """FEATURES of each of a request's candidates (engine.api.Candidate: the model's, then the retrieved
    ones, with their engine scores and meta, before any calibration) for the request `nl`. `valid`: each
    one's grammar verdict (checked here when not given)."""
    if valid is None:
        from grammar.syntax import check

        valid = [_valid(check, c.code, lang) for c in candidates]
    shapes = [shape(c.code) for c in candidates]
    sims = [_similarity(c) for c in candidates]
    best = max((s for s in sims if s is not None), default=0.0)
    retrieved = [getattr(c, "source", "model") == "retrieval" for c in candidates]
    n_source = {src: retrieved.count(src) for src in (False, True)}
    seen = {False: 0, True: 0}
    out: list[dict[str, float]] = []
    for i, c in enumerate(candidates):
        meta = getattr(c, "meta", None) or {}
        ret = retrieved[i]
        rank = seen[ret] / max(1, n_source[ret] - 1)  # its place among its source's candidates, 0 .. 1
        seen[ret] += 1
        start = meta.get("exemplar_code")
        noise = not ret and not isinstance(start, str)
        kept = 1.0 if ret else _kept(shape(start), shapes[i]) if isinstance(start, str) else 0.0
        similarity = sims[i]
        out.append(
            {
                "retrieved": float(ret),
                "logprob": 0.0 if ret else float(meta.get("logprob", c.score)),
                "similarity": similarity if similarity is not None else 0.0,
                "best_similarity": best,
                "agreement": float(sum(s == shapes[i] for j, s in enumerate(shapes) if j != i)),
                "kept": kept,
                "noise": float(noise),
                "valid": float(bool(valid[i])),
                "rank": rank,
                "model_top": float(not ret and seen[ret] == 1),
                "length": math.log1p(len(_TOKEN.findall(shapes[i]))),
                "request_length": math.log1p(len(nl.split())),
            }
        )
    top = max((f["agreement"] for f in out), default=0.0)
    for f in out:
        f["max_agreement"] = top
    return out


def _valid(check, code: str, lang: str) -> bool:
    try:
        return bool(check(code, lang).valid)
    except ValueError:  # a language the grammar does not know
        return True


def _similarity(c: Any) -> float | None:
    meta = getattr(c, "meta", None) or {}
    if getattr(c, "source", "model") == "retrieval":
        return float(c.score)
    s = meta.get("exemplar_similarity")
    return float(s) if isinstance(s, (int, float)) else None


# ------------------------------------------------------------------------------------------ the score
def probability(model: dict, feats: dict) -> float:
    """P(right) of one candidate under a fitted model ({"features", "mean", "scale", "coef", "intercept"}, and
    "lo"/"hi": each feature is clipped to the range it had on dev, so a value never seen there -- an edit's
    far lower log-prob on a bank unlike dev's -- does not extrapolate the line)."""
    z = float(model["intercept"])
    n = len(model["features"])
    lo, hi = model.get("lo") or [None] * n, model.get("hi") or [None] * n
    for name, mu, sd, w, a, b in zip(model["features"], model["mean"], model["scale"], model["coef"], lo, hi):
        x = float(feats.get(name, 0.0))
        if isinstance(a, (int, float)) and isinstance(b, (int, float)):
            x = min(max(x, a), b)
        z += w * (x - mu) / (sd or 1.0)
    return 1.0 / (1.0 + math.exp(-max(-60.0, min(60.0, z))))


def usable(model: Any) -> bool:
    """A stored model has what probability() reads, one number per feature."""
    if not isinstance(model, dict):
        return False
    names = model.get("features")
    if not isinstance(names, list) or not names:
        return False
    rows = [model.get(k) for k in ("mean", "scale", "coef")]
    return all(
        isinstance(r, list) and len(r) == len(names) and all(isinstance(x, (int, float)) for x in r) for r in rows
    ) and isinstance(model.get("intercept"), (int, float))


def score_candidates(candidates: Sequence[Any], lang: str, nl: str, model: dict | None) -> list[Any]:
    """The candidates of the request `nl` with meta "features" and, given a fitted model, score = P(right)."""
    if not all(is_dataclass(c) for c in candidates):  # a caller's own candidates (a test's): left as they are
        return list(candidates)
    feats = features(candidates, lang, nl)
    out = []
    for c, f in zip(candidates, feats):
        meta = dict(getattr(c, "meta", None) or {}, features=f)
        if model is not None:
            meta["engine_score"] = float(c.score)
            out.append(replace(c, score=probability(model, f), meta=meta))
        else:
            out.append(replace(c, meta=meta))
    return out


# ------------------------------------------------------------------------------------------ fitting
def right(hits: dict, lang: str) -> bool:
    """Whether a candidate is right by the language's primary metric (the module docstring)."""
    if lang == "python":
        return bool(hits.get("exact")) or float(hits.get("bleu", 0.0)) >= PYTHON_RIGHT_BLEU
    return bool(hits.get({"bash": "template", "cf": "execution"}.get(lang, "exact"), hits.get("exact", False)))


def rows(items: Iterable[dict], lang: str) -> tuple:
    """(X rows of FEATURES, y, item index of each row) from `codefusion eval` items whose raw candidates
    carry "features" (eval of this version); an item without them is refused."""
    X, y, groups = [], [], []
    for n, it in enumerate(items):
        if it["lang"] != lang:
            continue
        for c in it["raw_candidates"]:
            if not isinstance(c.get("features"), dict):
                raise ValueError(
                    f"item {it.get('line')}: its candidates carry no features (run `codefusion eval` of this version)"
                )
            X.append([float(c["features"].get(f, 0.0)) for f in FEATURES])
            y.append(right(c["hits"], lang))
            groups.append(n)
    return X, y, groups


# Features whose weight may only have this sign: a surer model, a nearer exemplar, more agreement, a program
# that parses never make a candidate less likely right. A weight fitted against its sign (collinear features
# on dev's narrow range: there the model's log-prob is near 0 for the copies that make 96 % of candidates)
# would reward what dev never showed; such a feature is left out (weight 0) and the rest refitted.
SIGNS = {"logprob": 1, "similarity": 1, "best_similarity": 1, "agreement": 1, "max_agreement": 1, "valid": 1}


def fit(X: list, y: list, C: float = 1.0) -> dict:
    """A logistic regression on standardised features (scikit-learn, L2 with strength 1/C), the SIGNS kept."""
    import numpy as np
    from sklearn.linear_model import LogisticRegression

    A = np.asarray(X, dtype=float)
    mean, scale = A.mean(0), A.std(0)
    scale[scale < 1e-9] = 1.0
    yy = np.asarray(y, dtype=int)
    if yy.min() == yy.max():
        raise ValueError(f"cannot fit a score: every candidate is {'right' if yy[0] else 'wrong'}")
    Z = (A - mean) / scale
    active = list(range(len(FEATURES)))
    while True:
        lr = LogisticRegression(C=C, max_iter=1000).fit(Z[:, active], yy)
        wrong = [j for j, w in zip(active, lr.coef_[0]) if SIGNS.get(FEATURES[j], 0) * w < 0]
        if not wrong:
            break
        active = [j for j in active if j not in wrong]
    coef = np.zeros(len(FEATURES))
    coef[active] = lr.coef_[0]
    return {
        "features": list(FEATURES),
        "mean": [round(float(v), 6) for v in mean],
        "scale": [round(float(v), 6) for v in scale],
        "coef": [round(float(v), 6) for v in coef],
        "intercept": round(float(lr.intercept_[0]), 6),
        "lo": [round(float(v), 6) for v in A.min(0)],
        "hi": [round(float(v), 6) for v in A.max(0)],
        "n": int(len(yy)),
        "positives": int(yy.sum()),
    }


def cross_validated(X: list, y: list, groups: list, folds: int = 5, seed: int = 0) -> list:
    """Each row's P(right) from a model fitted on the other folds (folds of whole items: a request's
    candidates are never on both sides)."""
    import random

    items = sorted(set(groups))
    random.Random(seed).shuffle(items)
    fold_of = {g: i % folds for i, g in enumerate(items)}
    out = [0.0] * len(y)
    for f in range(folds):
        train = [i for i, g in enumerate(groups) if fold_of[g] != f]
        test = [i for i, g in enumerate(groups) if fold_of[g] == f]
        if not test:
            continue
        model = fit([X[i] for i in train], [y[i] for i in train])
        for i in test:
            out[i] = probability(model, dict(zip(FEATURES, X[i])))
    return out


def auc(scores: Sequence[float], labels: Sequence[bool]) -> float | None:
    """Area under the ROC curve: P(a right candidate scores above a wrong one), ties count half."""
    pos = [s for s, right in zip(scores, labels) if right]
    neg = [s for s, right in zip(scores, labels) if not right]
    if not pos or not neg:
        return None
    order = sorted([(s, 1) for s in pos] + [(s, 0) for s in neg])
    rank_sum, i = 0.0, 0
    while i < len(order):  # mid-ranks for ties
        j = i
        while j < len(order) and order[j][0] == order[i][0]:
            j += 1
        mid = (i + j + 1) / 2
        rank_sum += mid * sum(o[1] for o in order[i:j])
        i = j
    return (rank_sum - len(pos) * (len(pos) + 1) / 2) / (len(pos) * len(neg))


def reliability(scores: Sequence[float], labels: Sequence[bool], bins: int = 10) -> list:
    """The reliability curve: per bin of predicted P (equal width), its count, mean P and share right."""
    out = []
    for b in range(bins):
        lo, hi = b / bins, (b + 1) / bins
        idx = [i for i, s in enumerate(scores) if lo <= s < hi or (b == bins - 1 and s == 1.0)]
        if idx:
            out.append(
                {
                    "lo": lo,
                    "hi": hi,
                    "n": len(idx),
                    "mean_p": round(sum(scores[i] for i in idx) / len(idx), 4),
                    "right": round(sum(bool(labels[i]) for i in idx) / len(idx), 4),
                }
            )
    return out
