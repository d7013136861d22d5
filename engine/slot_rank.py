"""Slot-aware exemplar ranking: a retrieved program that can take the request's literals ranks higher.

A request that names real things ("print the last 20 lines of server.log": a NUM and a FILE,
engine.slots.slot_request) is best served by an exemplar whose program has a place for each of them:
a template's placeholder (`tail --lines count path/to/file`) or a literal of the same kind
(`tail -n 8 path/to/file`), which argument filling (engine.slots.adapt_arguments) then overwrites.
In a template bank (Retriever.slot_rank: the shipped tldr bank, engine.banks.load_shipped) a search's
nearest SLOT_DEPTH entries are ordered by

    similarity + SLOT_WEIGHT x fit,   fit = the share of the request's literals the program can take

(a literal the program already contains counts; the others, per kind, as many as the program has places
of that kind; 0 for a request without literals, whose order does not change). Each hit keeps its
similarity as its score (what the calibrated scorer and the candidate scores read); its meta
"slot_fit" holds the fit, and banks merged in layers (engine.banks.LayeredBank) order by the same key.
Training's exemplars (Retriever.exemplars_loo) are not re-ranked, nor are banks of concrete commands (the
training files, a user's files outside the shipped layer): on all 518 Bash dev items with the training split
as the bank, re-ranking it too gave argument recall 59.9 -> 69.8 but template top-1/top-5 21.8/36.1 ->
21.2/35.1 (codefusion eval --checkpoint models/default --bank .../bash/codefusion-train.jsonl).
"""

from __future__ import annotations

from functools import lru_cache

# engine.slots' placeholder patterns and where a literal stands in code, as argument filling
# (engine.slots.adapt_arguments) uses them
from engine.slots import KINDS, PLACEHOLDERS, code_pattern, find_literals, slot_request

# SLOT_WEIGHT chosen on Bash dev (codefusion eval, k = 5, the shipped model and only the shipped bank): all 518
# items, argument recall 34.0 -> 49.4 (0.15: 46.6), template top-1/top-5 1.4/3.7 -> 1.5/2.9 (19 -> 15 items; 0.15:
# 1.2/2.9), copy rate 0.44 -> 0.28; the first 200, argument recall 33.6 -> 48.0 (0.1: 44.1, 0.3: 53.3). 0.1 does not
# yet bring "print the last 20 lines of server.log" its tail candidate; 0.15 and 0.2 do.
SLOT_WEIGHT = 0.2
SLOT_DEPTH = 30  # how many of the nearest entries are re-ranked


def request_literals(nl: str) -> list[tuple[str, str]]:
    """The request's distinct literals as (kind, text) ([] when none)."""
    return [(slot[:-1], text) for slot, text in slot_request(nl)[1].items()]


@lru_cache(maxsize=1 << 16)
def program_slots(code: str) -> tuple[int, ...]:
    """How many places of each kind (KINDS order) a program has for a literal: placeholders and its
    own literals."""
    counts = dict.fromkeys(KINDS, 0)
    for kind, pat in PLACEHOLDERS.items():
        counts[kind] += sum(1 for _ in pat.finditer(code))
    for lit in find_literals(code):
        counts[lit.kind] += 1
    return tuple(counts[k] for k in KINDS)


def fit(literals: list[tuple[str, str]], code: str) -> float:
    """The share of the request's `literals` (request_literals) that `code` can take: those it already
    contains (as argument filling finds them), then per kind as many as it has places left for."""
    if not literals:
        return 0.0
    places = dict(zip(KINDS, program_slots(code)))
    todo: dict[str, int] = {}
    have = 0
    for kind, text in literals:
        if code_pattern(text, kind).search(code):
            have += 1
            places[kind] = max(0, places[kind] - 1)  # the literal stands in one of them
        else:
            todo[kind] = todo.get(kind, 0) + 1
    return (have + sum(min(n, places[kind]) for kind, n in todo.items())) / len(literals)


def key(candidate) -> float:
    """The ranking key of a hit that rerank() has seen: its score + SLOT_WEIGHT x its fit."""
    return candidate.score + SLOT_WEIGHT * (candidate.meta or {}).get("slot_fit", 0.0)


def rerank(nl: str, hits: list, k: int) -> list:
    """The k best of `hits` (Candidates, best first by similarity) by similarity + SLOT_WEIGHT x fit; each
    hit's meta gets its "slot_fit". A request without literals keeps the order."""
    literals = request_literals(nl)
    if not literals or not SLOT_WEIGHT:
        return hits[:k]
    for c in hits:
        c.meta["slot_fit"] = fit(literals, c.code)
    order = sorted(range(len(hits)), key=lambda i: (-key(hits[i]), i))
    return [hits[i] for i in order[:k]]
