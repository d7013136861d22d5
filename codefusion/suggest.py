"""suggest(): the one composition of a suggestion, used by the CLI, the language server and `codefusion eval`.

    model's k candidates (generator.generate: seed, steps, cancellation)
  + the retriever's k labelled training examples beside them (settings.retrieval and a retriever)
  -> one scale: with the checkpoint's dev calibration each candidate's score becomes how often a
     candidate at its rank of its source is right on dev, and k of them are shown in all
  -> grammar.pipeline.process: normalise, de-duplicate, syntax-check, rank, cap, danger flags

The same request and settings give the same candidates wherever they are asked (a test shows it).
Nothing is executed.
"""
from __future__ import annotations

import time
from dataclasses import dataclass, replace
from typing import Any, Callable, List, Optional

from codefusion.settings import DEFAULT_SEED, Settings
from grammar.pipeline import process


@dataclass
class Suggestions:
    """What a request gets: the ranked candidates (grammar.pipeline.RankedCandidate) and what fed them."""

    candidates: List[Any]  # best first, at most k (2k when an uncalibrated checkpoint adds retrieval)
    raw: List[Any]  # the engine's candidates then the retrieved ones (engine.api.Candidate), before the pipeline
    message: Optional[str]  # for the user, e.g. "all 5 candidates have syntax errors; showing them anyway"
    n_duplicates: int
    n_invalid: int
    model_seconds: float  # generation and retrieval
    pipeline_seconds: float  # grammar's pipeline


def suggest(nl: str, lang: str, settings: Settings, generator: Any = None, retriever: Any = None, *,
            seed: int = DEFAULT_SEED, cancel: Any = None, pipeline: Callable[..., Any] = process) -> Suggestions:
    """Candidates for the request `nl` in engine language `lang`.

    generator: an engine Generator (engine.api.load_generator) or None (retrieval only: the baseline).
    retriever: an engine Retriever, used when settings.retrieval (or when there is no generator).
    Raises what generate raises (engine.api.Cancelled through `cancel`, ValueError on a bad request)."""
    start = time.perf_counter()
    model: List[Any] = []
    if generator is not None:
        model = list(generator.generate(nl, lang, k=settings.k, steps=settings.steps, seed=seed, cancel=cancel))
    return _compose(nl, lang, settings, generator, retriever, model, start, pipeline)


def suggest_many(requests: List[dict], generator: Any, retriever: Any = None, *,
                 pipeline: Callable[..., Any] = process) -> List[Any]:
    """suggest() for several requests at once ({"nl", "lang", "settings", "seed"?}): the model samples
    them in one batched pass (Generator.generate_many), the rest is suggest()'s own composition, so
    each gets what suggest() alone would give it. An entry is a Suggestions or, for a request the
    model refused (ValueError: an unknown language, ...), that exception."""
    start = time.perf_counter()
    ok, out = [], [None] * len(requests)
    for i, r in enumerate(requests):  # the model's own checks, per request: one bad request fails alone
        try:
            generator.check_request(r["nl"], r["lang"], r["settings"].k)
            ok.append(i)
        except ValueError as e:
            out[i] = e
    batch = [{"nl": requests[i]["nl"], "lang": requests[i]["lang"], "k": requests[i]["settings"].k,
              "steps": requests[i]["settings"].steps, "seed": requests[i].get("seed", DEFAULT_SEED)} for i in ok]
    models = generator.generate_many(batch) if batch else []
    retrieved = _retrieve_batch([requests[i] for i in ok], retriever)
    for i, model, found in zip(ok, models, retrieved):
        r = requests[i]
        out[i] = _compose(r["nl"], r["lang"], r["settings"], generator, retriever, model, start, pipeline, found)
    return out


def _retrieve_batch(requests: List[dict], retriever: Any) -> List[Optional[List[Any]]]:
    """The retrieved examples for a batch, one search per language (None: _compose searches)."""
    from engine.api import search_by_language

    wanted = [r for r in requests if r["settings"].retrieval]
    found = iter(search_by_language(retriever, [r["nl"] for r in wanted], [r["lang"] for r in wanted],
                                    [r["settings"].k for r in wanted]))
    return [next(found) if r["settings"].retrieval else None for r in requests]


def _compose(nl: str, lang: str, settings: Settings, generator: Any, retriever: Any, model: List[Any], start: float,
             pipeline: Callable[..., Any], found: Optional[List[Any]] = None) -> Suggestions:
    """The model's candidates + the retrieved ones (`found`: already searched) -> one scale -> the
    pipeline (the module docstring)."""
    k = settings.k
    retrieved: List[Any] = []
    if retriever is not None and (settings.retrieval or generator is None):
        retrieved = list(found) if found is not None else list(retriever.search(nl, lang, k=settings.k))
    table = _calibration(generator, lang) if model and retrieved else None
    if table is not None:  # one scale: how often a candidate at this rank of its source is right on dev
        model = [replace(c, score=table["model"][min(r, len(table["model"]) - 1)]) for r, c in enumerate(model)]
        retrieved = [replace(c, score=table["retrieval"][min(r, len(table["retrieval"]) - 1)])
                     for r, c in enumerate(retrieved)]
        if table["model_first"]:  # retrieved examples after the model's, only filling (model is non-empty here)
            floor = min(c.score for c in model)
            retrieved = [replace(c, score=min(c.score, floor - 1e-4 * (1 + r))) for r, c in enumerate(retrieved)]
    elif model and retrieved:  # uncalibrated checkpoint: the scores do not compare; show k of each
        k *= 2
    raw = model + retrieved
    model_done = time.perf_counter()
    result = pipeline(raw, lang, k=k, invalid_mode=settings.invalid_mode)
    return Suggestions(list(result.candidates), raw, result.message, getattr(result, "n_duplicates", 0),
                       getattr(result, "n_invalid", 0), model_done - start, time.perf_counter() - model_done)


def _calibration(generator: Any, lang: str) -> Optional[dict]:
    """{"model": [...], "retrieval": [...], "model_first": bool} for this language: rates by rank, and
    whether retrieved examples only fill after the model's candidates (when the checkpoint has them)."""
    from engine.api import calibration

    cal = calibration(generator) or {}
    rows = {src: (cal.get(src) or {}).get(lang) for src in ("model", "retrieval")}
    ok = all(isinstance(v, list) and v and all(isinstance(x, (int, float)) for x in v) for v in rows.values())
    if not ok:
        return None
    first = cal.get("model_first")
    return {**rows, "model_first": isinstance(first, list) and lang in first}


def candidate_json(r: Any) -> dict:
    """A ranked candidate as the CLI's --json and the daemon send it."""
    return {"code": r.code, "score": float(r.score), "source": r.source, "valid": r.valid, "warnings": list(r.warnings)}
