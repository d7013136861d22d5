"""codefusion.suggest: the one composition, with test doubles (the real model: tests/lsp/test_server_model.py)."""
from dataclasses import dataclass, field

from codefusion.settings import Settings
from codefusion.suggest import suggest
from engine.api import Candidate


@dataclass
class Loaded:
    meta: dict = field(default_factory=dict)


class Gen:
    def __init__(self, meta=None):
        self.loaded = Loaded(meta or {})

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
    assert [(c.code, c.score) for c in res.candidates] == [("echo model0", 0.30), ("echo retrieved0", 0.20),
                                                          ("echo model1", 0.10)]
    other = suggest("x", "python", Settings(k=3), Gen({"calibration": CAL}), Ret())  # no python row: as before
    assert len(other.candidates) == 6


def test_retrieval_off_or_alone():
    assert {c.source for c in suggest("x", "bash", Settings(k=2, retrieval=False), Gen(), Ret()).candidates} == {"model"}
    assert {c.source for c in suggest("x", "bash", Settings(k=2), None, Ret()).candidates} == {"retrieval"}
