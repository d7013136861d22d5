"""codefusion.suggest: the one composition, with test doubles (the real model: tests/lsp/test_server_model.py)."""

from dataclasses import dataclass, field

import pytest

from codefusion.settings import Settings
from codefusion.suggest import suggest
from engine.api import Candidate


@dataclass
class Loaded:
    meta: dict = field(default_factory=dict)


class Gen:
    def __init__(self, meta=None, fills_arguments=False):
        self.loaded = Loaded(meta or {})
        self.fills_arguments = fills_arguments

    def generate(self, nl, lang, k, steps=None, seed=0, cancel=None):
        return [Candidate(f"echo model{i}", -0.1 * i) for i in range(k)]


class Ret:
    def search(self, nl, lang, k):
        return [Candidate(f"echo retrieved{i}", 0.9 - 0.1 * i, source="retrieval") for i in range(k)]


CAL = {"model": {"bash": [0.30, 0.10, 0.05]}, "retrieval": {"bash": [0.20, 0.08, 0.02]}}


def test_uncalibrated_shows_k_of_each_source():
    res = suggest("x", "bash", Settings(k=3), Gen(), Ret())
    assert len(res.candidates) == 6 and len(res.raw) == 6


def test_calibrated_scores_interleave_by_merit_and_k_means_k():
    res = suggest("x", "bash", Settings(k=3), Gen({"calibration": CAL}), Ret())
    assert [(c.code, c.score) for c in res.candidates] == [
        ("echo model0", 0.30),
        ("echo retrieved0", 0.20),
        ("echo model1", 0.10),
    ]
    other = suggest("x", "python", Settings(k=3), Gen({"calibration": CAL}), Ret())  # no python row: as before
    assert len(other.candidates) == 6


def test_model_first_languages_show_retrieved_examples_only_after_the_model():
    cal = {**CAL, "model_first": ["bash"]}
    res = suggest("x", "bash", Settings(k=4), Gen({"calibration": cal}), Ret())
    assert [c.code for c in res.candidates] == ["echo model0", "echo model1", "echo model2", "echo model3"]
    assert [
        c.source
        for c in suggest("x", "bash", Settings(k=4, retrieval=True), Gen({"calibration": cal}), Ret()).candidates
    ] == ["model"] * 4
    assert all(0 <= c.score <= 1 for c in res.raw[4:])  # still rates, below the model's lowest


def test_retrieval_off_or_alone():
    assert {c.source for c in suggest("x", "bash", Settings(k=2, retrieval=False), Gen(), Ret()).candidates} == {
        "model"
    }
    assert {c.source for c in suggest("x", "bash", Settings(k=2), None, Ret()).candidates} == {"retrieval"}


def test_a_batch_gets_what_each_request_gets_alone(untrained_ckpt):
    """suggest_many / Generator.generate_many (what the shared engine runs) against suggest one by
    one, with a real model: the same candidates; a request the model refuses fails alone."""
    from codefusion.suggest import suggest_many
    from engine.api import load_generator, training_retriever

    gen = load_generator(untrained_ckpt)
    ret = training_retriever(gen)
    reqs = [
        {"nl": "list all files", "lang": "bash", "settings": Settings(k=3)},
        {"nl": "reverse the list xs in place", "lang": "python", "settings": Settings(k=2), "seed": 7},
        {"nl": "count lines", "lang": "bash", "settings": Settings(k=1, steps=3)},
        {"nl": "x", "lang": "cobol", "settings": Settings(k=1)},
    ]
    many = suggest_many(reqs, gen, ret)
    assert isinstance(many[3], ValueError) and "cobol" in str(many[3])
    for r, got in zip(reqs[:3], many[:3]):
        alone = suggest(r["nl"], r["lang"], r["settings"], gen, ret, seed=r.get("seed", 0))
        assert [c.code for c in got.candidates] == [c.code for c in alone.candidates]
        assert [c.score for c in got.candidates] == pytest.approx([c.score for c in alone.candidates], abs=1e-5)


def test_the_real_generator_and_banks_are_what_suggest_takes(untrained_ckpt):
    """suggest()'s parameter types (engine.types.GeneratorLike, RetrieverLike) describe the engine's own
    classes: a loaded Generator, its bank (engine.banks.LayeredBank) and a plain Retriever; an object
    without what suggest() reads is not one (mypy checks the signatures, this the attributes)."""
    from engine.api import GeneratorLike, RetrieverLike, load_generator, training_retriever
    from engine.retrieval import Retriever

    gen = load_generator(untrained_ckpt)
    assert isinstance(gen, GeneratorLike)
    assert isinstance(training_retriever(gen), RetrieverLike)
    assert isinstance(Retriever([{"nl": "list files", "code": "ls", "lang": "bash"}]), RetrieverLike)
    assert not isinstance(Ret(), RetrieverLike)  # no search_batch: suggest_many could not batch it
    assert not isinstance(object(), GeneratorLike)


class TemplateRet:
    """Two tldr-style templates, as the shipped bank returns them."""

    def search(self, nl, lang, k):
        return [
            Candidate("tail --lines 5 path/to/file", 0.8, source="retrieval", meta={"nl": "Show last 5 lines in file"}),
            Candidate("docker ps", 0.7, source="retrieval", meta={"nl": "List running containers"}),
        ][:k]


def test_retrieved_templates_take_the_requests_arguments_when_the_model_fills_them():
    nl = "print the last 20 lines of server.log"
    shown = suggest(nl, "bash", Settings(k=2), Gen(fills_arguments=True), TemplateRet()).candidates
    by_code = {c.code: c for c in shown if c.source == "retrieval"}
    assert "tail --lines 20 server.log" in by_code, list(by_code)
    filled = by_code["tail --lines 20 server.log"]
    assert filled.origin == "retrieved" and filled.exemplar["code"] == "tail --lines 5 path/to/file"
    assert "docker ps" in by_code  # nothing to fill: as retrieved
    # a model that does not fill arguments shows the templates as they are
    plain = suggest(nl, "bash", Settings(k=2), Gen(), TemplateRet()).candidates
    assert "tail --lines 5 path/to/file" in {c.code for c in plain}
