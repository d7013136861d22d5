"""Metric functions: execution match (with fallback), exact match, top-k, diversity, speed, validity."""

import pytest

from codefusion.evaluation import metrics as M

DATA = [["Index", "Value"], [0, "5"], [1, "50"], [2, "500"]]


def cf_record(code, data=DATA):
    return {"code": code, "data": data, "lang": "cf"}


def test_cf_execution_match_same_mask_different_rule():
    rec = cf_record("GreaterThan(40)")
    hits = M.candidate_hits("GreaterThanEqual(50)", rec, "cf")
    assert hits == {"execution": True, "exact": False, "fallback": False}
    assert M.candidate_hits("GreaterThan(400)", rec, "cf")["execution"] is False
    assert M.candidate_hits("Foo(1)", rec, "cf")["execution"] is False  # unparsable prediction: miss
    assert M.candidate_hits("GreaterThan(40)", rec, "cf") == {"execution": True, "exact": True, "fallback": False}
    # normalisation: spacing after commas does not matter for exact match
    rec = cf_record("Between(10, 100)")
    assert M.candidate_hits("Between(10,100)", rec, "cf")["exact"]


def test_cf_fallback_to_exact_when_gold_cannot_execute():
    rec = cf_record("TextEquals($B$6)")
    assert M.cf_gold(rec).mask is None
    assert M.candidate_hits("TextEquals($B$6)", rec, "cf") == {"execution": True, "exact": True, "fallback": True}
    assert M.candidate_hits("TextEquals(x)", rec, "cf") == {"execution": False, "exact": False, "fallback": True}
    no_data = {"code": "top(1)", "lang": "cf"}
    assert M.cf_gold(no_data).reason == "the item has no data table"


def test_cf_mixed_mask():
    assert M.cf_gold(cf_record("GreaterThan(40)")).mixed
    assert not M.cf_gold(cf_record("ColorScale()")).mixed
    assert not M.cf_gold(cf_record("GreaterThan(1000)")).mixed


def test_bash_and_python_hits():
    rec = {"code": "find . -name '*.py'", "lang": "bash"}
    assert M.candidate_hits("find /src -name '*.txt'", rec, "bash") == {"template": True, "exact": False}
    assert M.candidate_hits("find  .  -name '*.py'", rec, "bash") == {"template": True, "exact": True}
    rec = {"code": "sorted(a, reverse=True)", "lang": "python"}
    hits = M.candidate_hits("sorted(a,reverse=True)", rec, "python")
    assert hits["exact"] is True and hits["bleu"] == pytest.approx(1.0)
    assert M.candidate_hits("sorted(b)", rec, "python")["exact"] is False


def test_top_k_rate_is_best_of_first_k():
    lists = [[False, True, False], [False, False, False, False, True], [True], []]
    assert M.top_k_rate(lists, 1) == 25.0
    assert M.top_k_rate(lists, 3) == 50.0
    assert M.top_k_rate(lists, 5) == 75.0
    assert M.top_k_rate([], 1) == 0.0


def test_top_k_bleu_chooses_best_candidate():
    golds = ["x = a + b"]
    cands = [["print(1)", "x = a + b"]]
    scores = [[0.01, 1.0]]
    assert M.top_k_bleu(golds, cands, scores, 1) == 0.0
    assert M.top_k_bleu(golds, cands, scores, 3) == pytest.approx(100.0)


def test_edit_distance_and_diversity():
    assert M.levenshtein("kitten", "sitting") == 3
    assert M.normalized_edit_distance("abc", "abc") == 0.0
    assert M.normalized_edit_distance("", "") == 0.0
    assert M.normalized_edit_distance("ab", "cd") == 1.0
    div = M.diversity([["ls -la", "ls  -la", "pwd"], ["a b c d e"]], "bash")
    assert div.distinct_per_query == pytest.approx((2 + 1) / 2)
    # pairs of query 1: (ls -la, ls -la) 0, (ls -la, pwd) 1, (ls -la, pwd) 1 -> 2/3; query 2 has no pair -> 0
    assert div.mean_pairwise_edit_distance == pytest.approx((2 / 3 + 0) / 2)
    # query 1: tokens "ls - la" give no 4-gram; query 2: 2 distinct of 2
    assert div.distinct_4gram_ratio == pytest.approx(1.0)
    repeated = M.diversity([["a b c d", "a b c d e"]], "python")
    assert repeated.distinct_4gram_ratio == pytest.approx(2 / 3)


def test_percentiles_and_speed():
    assert M.percentile([1, 2, 3, 4], 50) == 2.5
    assert M.percentile([1, 2, 3, 4, 5], 95) == pytest.approx(4.8)
    assert M.percentile([], 50) == 0.0
    spd = M.speed([0.1, 0.2, 0.3], n_candidates=15, generation_seconds=0.5)
    assert spd.latency_p50_s == pytest.approx(0.2) and spd.candidates_per_s == pytest.approx(30.0)


def test_validity():
    v = M.validity([[True, False], [False, True, True], []])
    assert v["top1"] == pytest.approx(100 / 3)  # an item without candidates has no valid top-1
    assert v["all"] == pytest.approx(60.0)
