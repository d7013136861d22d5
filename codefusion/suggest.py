"""suggest(): the one composition of a suggestion, used by the CLI, the language server and `codefusion eval`.

    model's k candidates (generator.generate: seed, steps, cancellation)
  + the retriever's k labelled training examples beside them (settings.retrieval and a retriever)
  -> one scale: with the checkpoint's fitted score model (codefusion.scoring) each candidate's score is
     its own probability of being right, from its features (model likelihood, retrieval similarity,
     agreement among the candidates, validity, how much of its exemplar it kept); an older checkpoint's
     calibration gives the rate of its rank on dev instead; k of them are shown in all
  -> grammar.pipeline.process: normalise, de-duplicate, syntax-check, rank, cap, danger flags
  -> label_origins: what each shown candidate is (ORIGINS: generated, edited, copy, retrieved)

The same request and settings give the same candidates wherever they are asked (a test shows it).
Nothing is executed.
"""

from __future__ import annotations

import re
import time
from collections.abc import Sequence
from dataclasses import dataclass, replace
from difflib import SequenceMatcher
from typing import Any, Protocol, TypedDict

from codefusion import scoring
from codefusion.settings import Settings
from engine.api import CancelToken, Candidate, GeneratorLike, RetrieverLike, calibration
from engine.schema import DEFAULT_SEED
from engine.slots import adapt_arguments, slot_request
from engine.types import program_key
from grammar.normalize import normalize
from grammar.pipeline import PipelineResult, RankedCandidate, process


class Pipeline(Protocol):
    """What turns the raw candidates into the shown ones: grammar.pipeline.process, or a caller's own."""

    def __call__(self, candidates: Sequence[Candidate], lang: str, k: int, invalid_mode: str) -> PipelineResult: ...


class _BatchRequired(TypedDict):
    nl: str
    lang: str
    settings: Settings


class BatchRequest(_BatchRequired, total=False):
    """One request of suggest_many()."""

    seed: int  # default DEFAULT_SEED


@dataclass
class Suggestions:
    """What a request gets: the ranked candidates (grammar.pipeline.RankedCandidate) and what fed them."""

    candidates: list[RankedCandidate]  # best first, at most k (2k when an uncalibrated checkpoint adds retrieval)
    raw: list[Candidate]  # the engine's candidates then the retrieved ones, before the pipeline
    message: str | None  # for the user, e.g. "all 5 candidates have syntax errors; showing them anyway"
    n_duplicates: int
    n_invalid: int
    model_seconds: float  # generation and retrieval
    pipeline_seconds: float  # grammar's pipeline


def suggest(
    nl: str,
    lang: str,
    settings: Settings,
    generator: GeneratorLike | None = None,
    retriever: RetrieverLike | None = None,
    *,
    seed: int = DEFAULT_SEED,
    cancel: CancelToken = None,
    pipeline: Pipeline = process,
) -> Suggestions:
    """Candidates for the request `nl` in engine language `lang`.

    generator: an engine Generator (codefusion.runtime.Engine.open) or None (retrieval only: the baseline).
    retriever: an engine Retriever, used when settings.retrieval (or when there is no generator).
    Raises what generate raises (engine.api.Cancelled through `cancel`, ValueError on a bad request)."""
    start = time.perf_counter()
    model: list[Candidate] = []
    if generator is not None:
        model = list(generator.generate(nl, lang, k=settings.k, steps=settings.steps, seed=seed, cancel=cancel))
    return _compose(nl, lang, settings, generator, retriever, model, start, pipeline)


def suggest_many(
    requests: list[BatchRequest],
    generator: GeneratorLike,
    retriever: RetrieverLike | None = None,
    *,
    pipeline: Pipeline = process,
) -> list[Suggestions | ValueError]:
    """suggest() for several requests at once ({"nl", "lang", "settings", "seed"?}): the model samples
    them in one batched pass (Generator.generate_many), the rest is suggest()'s own composition, so
    each gets what suggest() alone would give it. An entry is a Suggestions or, for a request the
    model refused (ValueError: an unknown language, ...), that exception."""
    start = time.perf_counter()
    refused: dict[int, ValueError] = {}
    for i, r in enumerate(requests):  # the model's own checks, per request: one bad request fails alone
        try:
            generator.check_request(r["nl"], r["lang"], r["settings"].k)
        except ValueError as e:
            refused[i] = e
    ok = [i for i in range(len(requests)) if i not in refused]
    batch = [
        {
            "nl": requests[i]["nl"],
            "lang": requests[i]["lang"],
            "k": requests[i]["settings"].k,
            "steps": requests[i]["settings"].steps,
            "seed": requests[i].get("seed", DEFAULT_SEED),
        }
        for i in ok
    ]
    models = generator.generate_many(batch) if batch else []
    retrieved = _retrieve_batch([requests[i] for i in ok], retriever)
    answered = {
        i: _compose(
            requests[i]["nl"],
            requests[i]["lang"],
            requests[i]["settings"],
            generator,
            retriever,
            model,
            start,
            pipeline,
            found,
        )
        for i, model, found in zip(ok, models, retrieved)
    }
    return [refused[i] if i in refused else answered[i] for i in range(len(requests))]


def _retrieve_batch(requests: list[BatchRequest], retriever: RetrieverLike | None) -> list[list[Candidate] | None]:
    """The retrieved examples for a batch, one search per language (None: _compose searches)."""
    if retriever is None:
        return [None] * len(requests)
    from engine.api import search_by_language  # lazy: engine.retrieval imports numpy, not needed at start-up

    wanted = [r for r in requests if r["settings"].retrieval]
    found = iter(
        search_by_language(
            retriever, [r["nl"] for r in wanted], [r["lang"] for r in wanted], [r["settings"].k for r in wanted]
        )
    )
    return [next(found) if r["settings"].retrieval else None for r in requests]


def _compose(
    nl: str,
    lang: str,
    settings: Settings,
    generator: GeneratorLike | None,
    retriever: RetrieverLike | None,
    model: list[Candidate],
    start: float,
    pipeline: Pipeline,
    found: list[Candidate] | None = None,
) -> Suggestions:
    """The model's candidates + the retrieved ones (`found`: already searched) -> one scale -> the
    pipeline (the module docstring)."""
    k = settings.k
    retrieved: list[Candidate] = []
    if retriever is not None and (settings.retrieval or generator is None):
        retrieved = list(found) if found is not None else list(retriever.search(nl, lang, k=settings.k))
        if generator is not None and _fills_arguments(generator):
            retrieved = fill_arguments(retrieved, nl)
    score_model = _score_model(generator, lang) if model and generator is not None else None
    if model:  # each candidate's features (meta "features"); with a fitted score model, score = P(right)
        scored = scoring.score_candidates(model + retrieved, lang, nl, score_model)
        model, retrieved = scored[: len(model)], scored[len(model) :]
    keep_order = generator is not None and score_model is not None and not _rank_by_score(generator, lang)
    table = (
        _calibration(generator, lang)
        if generator is not None and model and retrieved and (score_model is None or keep_order)
        else None
    )
    if keep_order:  # the score is shown, but dev chose the older order (by rank rates) for this language
        model, retrieved = (
            [replace(c, meta={**(c.meta or {}), "p_right": c.score}) for c in cs] for cs in (model, retrieved)
        )
        if table is None:  # no rates: the engine's own order
            n = len(model) + len(retrieved)
            model = [replace(c, score=float(n - r)) for r, c in enumerate(model)]
            retrieved = [replace(c, score=float(len(retrieved) - r) - len(model) - 1) for r, c in enumerate(retrieved)]
    if table is not None:  # an older checkpoint: how often a candidate at this rank of its source is right on dev
        model = [replace(c, score=table["model"][min(r, len(table["model"]) - 1)]) for r, c in enumerate(model)]
        retrieved = [
            replace(c, score=table["retrieval"][min(r, len(table["retrieval"]) - 1)]) for r, c in enumerate(retrieved)
        ]
        if table["model_first"]:  # retrieved examples after the model's, only filling (model is non-empty here)
            floor = min(c.score for c in model)
            retrieved = [replace(c, score=min(c.score, floor - 1e-4 * (1 + r))) for r, c in enumerate(retrieved)]
    elif model and retrieved and score_model is None:  # uncalibrated checkpoint: scores do not compare; k of each
        k *= 2
    raw = model + retrieved
    model_done = time.perf_counter()
    result = pipeline(raw, lang, k=k, invalid_mode=settings.invalid_mode)
    if keep_order:  # each shown candidate carries its own P(right), in the chosen order
        result.candidates = [replace(c, score=float((c.meta or {}).get("p_right", c.score))) for c in result.candidates]
    # a caller's own pipeline (a test's) may give a result without the counts
    n_duplicates, n_invalid = getattr(result, "n_duplicates", 0), getattr(result, "n_invalid", 0)
    return Suggestions(
        label_origins(result.candidates, lang),
        raw,
        result.message,
        n_duplicates,
        n_invalid,
        model_done - start,
        time.perf_counter() - model_done,
    )


def _fills_arguments(generator: GeneratorLike) -> bool:
    """Whether the checkpoint fills the request's literals into what it shows (config "model" "adapt_arguments")."""
    return bool(generator.fills_arguments)


def fill_arguments(retrieved: list[Candidate], nl: str) -> list[Candidate]:
    """Retrieved examples made into the user's command: a template's placeholders (tldr's `path/to/file`,
    `count`) and then its own literals of the same kind take the request's file names, numbers, ports...
    (engine.slots.adapt_arguments, as the model's candidates get). meta "template" keeps the example as
    retrieved and "filled" the (old, new) replacements; an example with nothing to fill is left as it is."""
    table = slot_request(nl)[1]
    if not table:
        return retrieved
    out = []
    for c in retrieved:
        code, filled = adapt_arguments(c.code, table)
        out.append(
            replace(c, code=code, meta={**(c.meta or {}), "template": c.code, "filled": filled}) if filled else c
        )
    return out


def _rank_by_score(generator: GeneratorLike, lang: str) -> bool:
    """Whether candidates are shown in the order of their score (P(right)) for this language: config.json
    "calibration" "rank_by_score" lists the languages where that order did not lose to the rank rates on dev
    (absent: every language)."""
    langs = (calibration(generator) or {}).get("rank_by_score")
    return not isinstance(langs, list) or lang in langs


def _score_model(generator: GeneratorLike, lang: str) -> dict[str, Any] | None:
    """The checkpoint's fitted score model for this language (codefusion.scoring), when it has one."""
    model = ((calibration(generator) or {}).get("score") or {}).get(lang)
    return model if scoring.usable(model) and isinstance(model, dict) else None


def _calibration(generator: GeneratorLike, lang: str) -> dict[str, Any] | None:
    """{"model": [...], "retrieval": [...], "model_first": bool} for this language: rates by rank, and
    whether retrieved examples only fill after the model's candidates (when the checkpoint has them)."""
    cal = calibration(generator) or {}
    rows = {src: (cal.get(src) or {}).get(lang) for src in ("model", "retrieval")}
    ok = all(isinstance(v, list) and v and all(isinstance(x, (int, float)) for x in v) for v in rows.values())
    if not ok:
        return None
    first = cal.get("model_first")
    return {**rows, "model_first": isinstance(first, list) and lang in first}


# What a shown candidate is (its "origin"), from the engine's meta (engine/generator.py _finish, mix_starts):
#   generated  the model's own program: sampled from noise, or from an exemplar it changed substantially
#              (kept less than EDIT_MIN_SIMILARITY of it) or a model without exemplars;
#   edited     sampled from exemplar X (a nearest training/bank program, noised) and differs from X while
#              keeping at least EDIT_MIN_SIMILARITY of it;
#   copy       identical to exemplar X, whitespace aside (the model gave back a program of its memory);
#   retrieved  a retrieved training/bank example shown beside the model's candidates (not the model's).
#   (ORIGINS: engine.schema's, a shown candidate's "origin"; the JSON of a shown candidate is
#   codefusion.runtime.candidate_json)
# similarity = difflib's ratio over word and punctuation tokens: 2 * (tokens kept in order) / (both lengths);
# at 0.5 or more an edit kept at least half of its exemplar ("ls -la /tmp" vs "ls -la /var": 0.8)
EDIT_MIN_SIMILARITY = 0.5
_TOKEN = re.compile(r"\w+|[^\w\s]")


def token_similarity(a: str, b: str) -> float:
    """difflib's ratio over the two programs' word and punctuation tokens (1.0: the same tokens)."""
    return SequenceMatcher(None, _TOKEN.findall(a), _TOKEN.findall(b), autojunk=False).ratio()


def label_origins(candidates: list[RankedCandidate], lang: str) -> list[RankedCandidate]:
    """The pipeline's candidates with `origin` and `exemplar` set (ORIGINS above). `exemplar` names X:
    {"code", "nl", "source", "similarity"}; "source" is the bank provenance the engine gives (meta
    "exemplar_source"), None where it gives none; "nl" is X's request where it is known."""
    return [
        replace(c, **_origin(c, lang)) if hasattr(c, "origin") and hasattr(c, "exemplar") else c for c in candidates
    ]  # a caller's own pipeline may give candidates without these fields: left as they are


def _origin(c: RankedCandidate, lang: str) -> dict[str, Any]:
    meta = c.meta or {}
    if c.source == "retrieval":  # the example as retrieved, before its arguments were filled
        example = str(meta.get("template", c.code))
        return {"origin": "retrieved", "exemplar": _exemplar(example, meta.get("nl"), meta.get("exemplar_source"), 1.0)}
    start = meta.get("exemplar_code")
    if not isinstance(start, str) and not meta.get("copy"):
        return {"origin": "generated", "exemplar": None}

    def norm(code: str) -> str:
        try:
            return normalize(code, lang)
        except ValueError:  # a language the grammar does not know
            return code

    seen = meta.get("retrieved") or {}  # a retrieved example equal to this candidate (the pipeline's merge)
    source = meta.get("exemplar_source")
    copied = source or seen.get("exemplar_source")
    if isinstance(start, str) and program_key(norm(start)) == program_key(c.code):
        return {"origin": "copy", "exemplar": _exemplar(norm(start), seen.get("nl"), copied, 1.0)}
    # equal to another exemplar of its memory than the one it started from (or a noise start); a candidate
    # without exemplar_code gets here only as a copy (returned "generated" above otherwise)
    if meta.get("copy") or not isinstance(start, str):
        return {"origin": "copy", "exemplar": _exemplar(c.code, seen.get("nl"), copied, 1.0)}
    sim = token_similarity(norm(start), c.code)
    if sim >= EDIT_MIN_SIMILARITY:
        return {"origin": "edited", "exemplar": _exemplar(norm(start), None, source, round(sim, 3))}
    return {"origin": "generated", "exemplar": None}


def _exemplar(code: str, nl: object, source: object, similarity: float) -> dict[str, Any]:
    """The exemplar object of a label; a source that JSON cannot carry becomes its str()."""
    if source is not None and not isinstance(source, (str, int, float, dict, list)):
        source = str(source)
    return {"code": code, "nl": nl if isinstance(nl, str) else None, "source": source, "similarity": similarity}


def origin_of(r: object) -> tuple[str, dict[str, Any] | None]:
    """(origin, exemplar) of a shown candidate; for one that label_origins never saw (an older engine,
    a test's pipeline): retrieved or generated by its source."""
    origin = getattr(r, "origin", "") or ("retrieved" if getattr(r, "source", "model") == "retrieval" else "generated")
    return origin, getattr(r, "exemplar", None)


def source_text(source: object) -> str:
    """An exemplar's provenance in a few words: "training bank, pairs.jsonl line 2", "shipped bank, page
    tar" ("" when unknown). `source` is the engine's meta "exemplar_source": {"bank", "file", "line",
    "page", "platform"} (the fields it has), or a string."""
    if isinstance(source, str):
        return source
    if not isinstance(source, dict):
        return ""
    parts = [f"{source['bank']} bank"] if source.get("bank") else []
    if source.get("page"):
        parts.append(f"page {source['page']}" + (f" ({source['platform']})" if source.get("platform") else ""))
    if source.get("file"):
        parts.append(
            str(source["file"]).replace("\\", "/").rsplit("/", 1)[-1]
            + (f" line {source['line']}" if source.get("line") is not None else "")
        )
    return ", ".join(parts)


def origin_text(origin: str, exemplar: dict[str, Any] | None) -> str:
    """The label as words, the same in the CLI and the editor: "generated", "edited from exemplar `ls -la
    /tmp` (source ...)", "copy of an exemplar for “list files”", "retrieved example (source ...)"."""
    ex = exemplar if isinstance(exemplar, dict) else {}
    first = next((line.strip() for line in str(ex.get("code") or "").splitlines() if line.strip()), "")
    if len(first) > 40:
        first = first[:39] + "…"
    nl = f" for “{ex['nl']}”" if isinstance(ex.get("nl"), str) and ex["nl"].strip() else ""
    where = source_text(ex.get("source"))
    where = f" ({where})" if where else ""
    if origin == "edited":
        return f"edited from exemplar `{first}`{where}"
    if origin == "copy":
        return f"copy of an exemplar{nl}{where}"
    if origin == "retrieved":
        return f"retrieved example{nl}{where}"
    return "generated"
