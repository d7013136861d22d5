"""codefusion.scoring: one score per candidate, P(right) from its own features, fitted on dev items."""

import json
import random
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from codefusion import scoring
from codefusion.settings import Settings
from codefusion.suggest import suggest
from engine.api import Candidate

REPO = Path(__file__).resolve().parents[2]


def _model(code, logprob, start, sim):
    return Candidate(code, logprob + sim, meta={"logprob": logprob, "exemplar_code": start, "exemplar_similarity": sim})


def test_features_of_each_candidate():
    cands = [
        _model("wc -l notes.txt", -0.1, "wc -l path/to/file", 0.8),
        _model("ls -la", -0.9, "du -sh path/to/dir", 0.5),
        Candidate("from noise", -2.0, meta={"logprob": -2.0}),
        Candidate("wc -l path/to/file", 0.8, source="retrieval"),
        Candidate("cat file | wc -l", 0.6, source="retrieval"),
    ]
    f = scoring.features(cands, "bash")
    assert [x["retrieved"] for x in f] == [0, 0, 0, 1, 1]
    assert [x["logprob"] for x in f] == [-0.1, -0.9, -2.0, 0.0, 0.0]
    assert [x["similarity"] for x in f] == [0.8, 0.5, 0.0, 0.8, 0.6]
    assert {x["best_similarity"] for x in f} == {0.8}
    assert f[0]["kept"] == 1.0 and 0 < f[1]["kept"] < 0.5 and f[2]["kept"] == 0.0  # copy / changed / from noise
    assert [x["noise"] for x in f] == [0, 0, 1, 0, 0]
    assert f[0]["agreement"] == f[3]["agreement"] == 1 and f[1]["agreement"] == 0 and f[2]["max_agreement"] == 1
    assert [x["rank"] for x in f] == [0.0, 0.5, 1.0, 0.0, 1.0]
    assert [x["model_top"] for x in f] == [1, 0, 0, 0, 0]
    assert f[2]["valid"] == 1.0 and set(f[0]) == set(scoring.FEATURES)


def test_filling_the_requests_arguments_leaves_the_features_as_they_were():
    """adapt_arguments (a sampling option) puts the request's literals into a candidate: its shape, so its
    agreement and how much of its exemplar it kept, do not change."""
    from engine.slots import adapt_arguments, slot_request

    _, table = slot_request("show the last 20 lines of /var/log/syslog")
    start = "tail -n count path/to/file"
    adapted, edits = adapt_arguments(start, table)
    assert edits and adapted != start
    plain = scoring.features(
        [_model(start, -0.1, start, 0.7), Candidate("tail -n 5 x.log", 0.7, source="retrieval")], "bash"
    )
    filled = scoring.features(
        [_model(adapted, -0.1, start, 0.7), Candidate("tail -n 5 x.log", 0.7, source="retrieval")], "bash"
    )
    assert plain == filled and plain[0]["kept"] == 1.0 and plain[0]["agreement"] == 1.0


def test_auc_and_reliability_by_hand():
    assert scoring.auc([0.9, 0.8, 0.3, 0.1], [True, True, False, False]) == 1.0
    assert scoring.auc([0.1, 0.9], [True, False]) == 0.0
    assert scoring.auc([0.5, 0.5, 0.5], [True, False, False]) == 0.5  # ties count half
    assert scoring.auc([0.5], [True]) is None
    curve = scoring.reliability([0.05, 0.07, 0.95, 1.0], [False, True, True, True])
    assert curve == [
        {"lo": 0.0, "hi": 0.1, "n": 2, "mean_p": 0.06, "right": 0.5},
        {"lo": 0.9, "hi": 1.0, "n": 2, "mean_p": 0.975, "right": 1.0},
    ]


def test_right_is_the_languages_primary_metric():
    assert scoring.right({"template": True, "exact": False}, "bash")
    assert not scoring.right({"execution": False, "exact": True}, "cf")
    assert scoring.right({"bleu": scoring.PYTHON_RIGHT_BLEU, "exact": False}, "python")
    assert not scoring.right({"bleu": 0.2, "exact": False}, "python")


def _items(n, seed=0):
    """Synthetic eval items: a candidate is right more often the nearer its exemplar (similarity)."""
    rng = random.Random(seed)
    items = []
    for i in range(n):
        cands = []
        for r in range(4):
            sim = rng.random()
            cands.append(
                {
                    "code": f"cmd{i}-{r}",
                    "valid": True,
                    "hits": {"template": rng.random() < sim**2},
                    "features": {**{f: 0.0 for f in scoring.FEATURES}, "similarity": sim, "rank": r / 3},
                }
            )
        items.append({"lang": "bash", "line": i + 1, "raw_candidates": cands, "candidates": cands})
    return items


def test_cross_validated_fit_ranks_what_predicts_being_right():
    X, y, groups = scoring.rows(_items(150), "bash")
    p = scoring.cross_validated(X, y, groups)
    assert scoring.auc(p, y) > 0.75
    assert scoring.auc([random.Random(1).random() for _ in y], y) < 0.65  # a score that knows nothing
    model = scoring.fit(X, y)
    assert scoring.usable(model) and model["coef"][scoring.FEATURES.index("similarity")] > 0
    near, far = ({**{f: 0.0 for f in scoring.FEATURES}, "similarity": s} for s in (0.95, 0.05))
    assert scoring.probability(model, near) > 0.6 > 0.15 > scoring.probability(model, far)


def test_rows_refuse_items_without_features():
    with pytest.raises(ValueError, match="no features"):
        scoring.rows([{"lang": "bash", "line": 3, "raw_candidates": [{"hits": {}}]}], "bash")


def test_calibrate_items_writes_the_score_and_its_report(untrained_ckpt, tmp_path):
    ckpt = tmp_path / "ckpt"
    shutil.copytree(untrained_ckpt, ckpt)
    items = tmp_path / "e.items.jsonl"
    items.write_text("".join(json.dumps(it) + "\n" for it in _items(60)))
    r = subprocess.run(
        [
            sys.executable,
            "-m",
            "codefusion",
            "calibrate",
            "--checkpoint",
            str(ckpt),
            "--items",
            str(items),
            "--report",
            str(tmp_path / "rel.json"),
        ],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert r.returncode == 0, r.stderr
    model = json.loads((ckpt / "config.json").read_text())["calibration"]["score"]["bash"]
    assert scoring.usable(model) and model["n"] == 240
    report = json.loads((tmp_path / "rel.json").read_text())["languages"]["bash"]
    assert report["auc_cv"] > 0.7 and sum(b["n"] for b in report["reliability_cv"]) == 240
    assert (tmp_path / "rel.png").stat().st_size > 1000
    r = subprocess.run(
        [sys.executable, "-m", "codefusion", "calibrate", "--checkpoint", str(ckpt)],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert r.returncode == 2 and r.stderr.count("\n") == 1 and "nothing to calibrate" in r.stderr


class _Loaded:
    def __init__(self, meta):
        self.meta = meta


class _Gen:
    """The engine's candidates for a request: nearer exemplars for a request the bank covers well."""

    def __init__(self, meta):
        self.loaded = _Loaded(meta)

    def generate(self, nl, lang, k, steps=None, seed=0, cancel=None):
        sim = 0.9 if "count" in nl else 0.3
        return [
            _model(f"echo {nl.split()[0]}{i}", -0.1 * i, f"echo {nl.split()[0]}{i}", sim - 0.05 * i) for i in range(k)
        ]


def test_suggest_shows_each_candidates_probability():
    model = scoring.fit(*scoring.rows(_items(100), "bash")[:2])
    gen = _Gen(
        {"calibration": {"score": {"bash": model}, "model": {"bash": [0.3, 0.2]}, "retrieval": {"bash": [0.3, 0.2]}}}
    )
    a = suggest("count lines", "bash", Settings(k=3), gen)
    b = suggest("list files", "bash", Settings(k=3), gen)
    assert [c.score for c in a.candidates] == sorted((c.score for c in a.candidates), reverse=True)
    assert min(c.score for c in a.candidates) > max(c.score for c in b.candidates)  # the better-covered request
    assert all(0 < c.score < 1 for c in a.candidates + b.candidates)
    assert all("features" in c.meta and "engine_score" in c.meta for c in a.raw)


def test_the_shipped_model_scores_differ_between_requests(tmp_path):
    """models/default's fitted score (`codefusion calibrate --items`, models/eval/score-reliability.json):
    two requests get different scores, each a probability; the old per-rank rates were the same numbers on
    every request."""
    from engine.api import calibration, files_bank, load_generator

    ckpt = REPO / "models" / "default"
    cal = json.loads((ckpt / "config.json").read_text())["calibration"]
    assert set(cal["score"]) == {"bash", "python", "cf"} and all(scoring.usable(m) for m in cal["score"].values())
    gen = load_generator(ckpt, device="cpu", bank=None)
    assert calibration(gen)["score"] == cal["score"]
    from tests.grammar.grammar_fixtures import TRAIN, write_jsonl

    gen.bank = files_bank(gen, [write_jsonl(tmp_path / "bank.jsonl", TRAIN)])
    shown = {
        nl: [round(c.score, 6) for c in suggest(nl, "bash", Settings(k=5), gen, gen.bank).candidates]
        for nl in (
            "count the lines of a file",
            "list all files in the current directory",
            "compress the folder logs into an archive",
        )
    }
    assert all(0 < s < 1 for scores in shown.values() for s in scores)
    assert len({tuple(s) for s in shown.values()}) == 3, shown
    assert len({s[0] for s in shown.values()}) == 3, shown  # even the first candidates' scores differ
    # the same score whatever k: at k=1 a request's first candidate is not surer than among 5
    for nl in shown:
        one = suggest(nl, "bash", Settings(k=1), gen, gen.bank).candidates[0]
        five = {c.code: c.score for c in suggest(nl, "bash", Settings(k=5), gen, gen.bank).candidates}
        if one.code in five:
            assert abs(one.score - five[one.code]) < 0.15, (nl, one.score, five[one.code])


def test_signed_features_never_count_against_a_candidate_and_values_are_clipped_to_dev():
    """A log-prob that dev's data would weigh negatively is left out, and a value beyond dev's range
    scores as the range's end: a bank unlike dev's cannot push an odd candidate to the top."""
    rng = random.Random(3)
    X, y = [], []
    for _ in range(600):
        lp, sim = rng.uniform(-0.2, 0.0), rng.random()
        row = {f: 0.0 for f in scoring.FEATURES}
        row.update(logprob=lp, similarity=sim)
        X.append([row[f] for f in scoring.FEATURES])
        y.append(rng.random() < 0.2 + 0.6 * sim - 2.0 * lp)  # lower log-prob, more often right: against SIGNS
    model = scoring.fit(X, y)
    assert model["coef"][scoring.FEATURES.index("logprob")] == 0.0
    assert model["coef"][scoring.FEATURES.index("similarity")] > 0
    base = {f: 0.0 for f in scoring.FEATURES}
    far, edge = dict(base, similarity=5.0), dict(base, similarity=model["hi"][scoring.FEATURES.index("similarity")])
    assert scoring.probability(model, far) == scoring.probability(model, edge)
