"""From the engine's raw candidates to what an editor shows.

    process(candidates, lang, k, invalid_mode="rank_last") -> PipelineResult

Steps: normalise each candidate (grammar.normalize: whitespace, ASCII for typographic quotes, dashes and
spaces in Bash and Python), drop empty ones, drop exact and
normalised duplicates (one copy stays, with the better score; a model candidate that equals a
retrieved training example stays the model's, flagged `also_retrieved`), check syntax, then either
rank invalid candidates after the valid ones ("rank_last") or hide them ("hide"), rank by
(valid, score) with the engine's order breaking ties, cap at k, and attach danger warnings.
"hide" never silently returns nothing: when every candidate is invalid they are returned,
marked invalid, with `message` saying so. Nothing is executed.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

from grammar.danger import dangers
from grammar.normalize import normalize
from grammar.syntax import LANGS, SyntaxIssue, check

INVALID_MODES = ("rank_last", "hide")


@dataclass
class RankedCandidate:
    code: str
    score: float
    valid: bool
    errors: list[SyntaxIssue] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    source: str = "model"
    also_retrieved: bool = False  # a model candidate that equals a retrieved training example
    meta: dict = field(
        default_factory=dict
    )  # the engine's meta of the kept candidate ("retrieved": the equal retrieved one's)
    origin: str = ""  # generated | edited | copy | retrieved (codefusion.suggest.label_origins; "" before it)
    exemplar: dict | None = None  # edited/copy/retrieved: the exemplar {"code", "nl", "source", "similarity"}


@dataclass
class PipelineResult:
    candidates: list[RankedCandidate]
    n_raw: int
    n_duplicates: int
    n_invalid: int
    message: str | None = None


def process(candidates: Sequence, lang: str, k: int, invalid_mode: str = INVALID_MODES[0]) -> PipelineResult:
    """Normalise, deduplicate, check, rank and cap `candidates` (objects with code/score/source)."""
    if lang not in LANGS:
        raise ValueError(f"unknown language {lang!r}; expected one of {', '.join(LANGS)}")
    if invalid_mode not in INVALID_MODES:
        raise ValueError(f"invalid_mode must be one of {', '.join(INVALID_MODES)}, not {invalid_mode!r}")
    if k < 1:
        raise ValueError(f"k must be at least 1, not {k}")

    best: dict[str, tuple[int, float, dict]] = {}  # normalised code -> (first position, best score, {source: meta})
    n_empty = 0
    for position, cand in enumerate(candidates):
        code = normalize(cand.code, lang)
        if not code:
            n_empty += 1
            continue
        score = float(cand.score)
        source = getattr(cand, "source", "model")
        meta = getattr(cand, "meta", None) or {}
        kept = best.get(code)
        if kept is None:
            best[code] = (position, score, {source: meta})
        else:
            best[code] = (kept[0], max(kept[1], score), {source: meta, **kept[2]})
    n_duplicates = len(candidates) - n_empty - len(best)

    ranked: list[tuple[bool, float, int, RankedCandidate]] = []
    for code, (position, score, sources) in best.items():
        # the model's own output keeps its attribution even when a retrieved example equals it
        source = "model" if "model" in sources else min(sources)
        also_retrieved = source == "model" and "retrieval" in sources
        verdict = check(code, lang)
        rc = RankedCandidate(
            code=code,
            score=score,
            valid=verdict.valid,
            errors=list(verdict.errors),
            warnings=dangers(code, lang),
            source=source,
            also_retrieved=also_retrieved,
            meta=dict(sources[source], **({"retrieved": sources["retrieval"]} if also_retrieved else {})),
        )
        ranked.append((verdict.valid, score, position, rc))
    ranked.sort(key=lambda t: (not t[0], -t[1], t[2]))
    n_invalid = sum(1 for t in ranked if not t[0])

    message = None
    shown = [t[3] for t in ranked]
    if invalid_mode == "hide":
        valid_only = [c for c in shown if c.valid]
        if valid_only:
            shown = valid_only
        elif shown:
            message = (
                "the only candidate has a syntax error; showing it anyway"
                if len(shown) == 1
                else f"all {len(shown)} candidates have syntax errors; showing them anyway"
            )
    if not ranked:
        message = "the model returned no candidates" if not candidates else "every candidate was empty"
    return PipelineResult(
        candidates=shown[:k], n_raw=len(candidates), n_duplicates=n_duplicates, n_invalid=n_invalid, message=message
    )
