"""CoNaLa tokeniser and the Moses-style corpus BLEU-4 (no smoothing)."""

import math

import pytest

from codefusion.evaluation.bleu import compute_bleu, corpus_bleu, sentence_bleu, tokenize_for_bleu_eval


def test_tokenizer_follows_conala():
    assert tokenize_for_bleu_eval("os.path.join(a, 'b')") == [
        "os",
        ".",
        "path",
        ".",
        "join",
        "(",
        "a",
        ",",
        "`",
        "b",
        "`",
        ")",
    ]
    assert tokenize_for_bleu_eval("getValue()") == ["get", "Value", "(", ")"]  # camelCase split
    assert tokenize_for_bleu_eval('x = "s"') == ["x", "=", "`", "s", "`"]


def test_known_small_example():
    # hypothesis: a b c d e f (6 tokens); reference: a b c d e g (6 tokens)
    ref, hyp = [["a", "b", "c", "d", "e", "g"]], ["a", "b", "c", "d", "e", "f"]
    result = compute_bleu([ref], [hyp])
    assert result.precisions == pytest.approx((5 / 6, 4 / 5, 3 / 4, 2 / 3))
    assert result.brevity_penalty == 1.0
    expected = math.exp(sum(math.log(p) for p in (5 / 6, 4 / 5, 3 / 4, 2 / 3)) / 4)
    assert result.bleu == pytest.approx(expected)  # 0.7598...
    assert result.bleu == pytest.approx(0.7598356856515925)


def test_brevity_penalty_and_zero_precision():
    # a short hypothesis: c = 4, r = 6 -> bp = exp(1 - 6/4)
    result = compute_bleu([[["a", "b", "c", "d", "e", "f"]]], [["a", "b", "c", "d"]])
    assert result.brevity_penalty == pytest.approx(math.exp(1 - 6 / 4))
    assert result.bleu == pytest.approx(math.exp(1 - 6 / 4))
    # no 4-gram match without smoothing -> 0
    assert compute_bleu([[["a", "b", "c", "d"]]], [["a", "b", "c", "x"]]).bleu == 0.0
    assert compute_bleu([[["a", "b", "c", "d"]]], [["a", "b", "c", "x"]], smooth=True).bleu > 0.0


def test_corpus_bleu_is_corpus_level_not_a_mean():
    refs = ["x = a + b", "print(x)"]
    assert corpus_bleu(refs, refs) == pytest.approx(100.0)
    mixed = corpus_bleu(refs, ["x = a + b", "foo"])
    assert 0.0 < mixed < 100.0  # corpus n-gram counts: the perfect item keeps the score above 0
    assert corpus_bleu(["a b c d"], [""]) == 0.0


def test_sentence_bleu_prefers_closer_candidate():
    gold = "sorted(a, reverse=True)"
    assert sentence_bleu(gold, "sorted(a, reverse=True)") > sentence_bleu(gold, "sorted(a)") > sentence_bleu(gold, "1")
