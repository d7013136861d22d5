"""engine.retrieval.Retriever: TF-IDF nearest distinct training NLs, filtered by language."""

import json

import pytest
from grammar_fixtures import TRAIN

from engine.retrieval import Retriever


def test_nearest_neighbour_and_scores():
    r = Retriever(TRAIN)
    cands = r.search("find all the python files", "bash", k=3)
    assert cands[0].code == "find . -name '*.py'"
    assert all(c.source == "retrieval" for c in cands)
    scores = [c.score for c in cands]
    assert scores == sorted(scores, reverse=True) and 0 < scores[0] <= 1.0


def test_distinct_nls_and_language_filter():
    r = Retriever(TRAIN)
    cands = r.search("list all files in the current directory", "bash", k=10)
    assert len(cands) == 5  # six bash records, one NL repeated
    assert cands[0].code == "ls -la" and cands[0].score == pytest.approx(1.0)
    assert "ls -a" not in [c.code for c in cands]
    assert {c.code for c in r.search("sort a list", "python", k=10)} == {
        "x[::-1]",
        "sorted(a, reverse=True)",
        "s.lower()",
    }
    assert r.search("greater than 50", "cf", k=1)[0].code == "GreaterThan(50)"


def test_from_jsonl_and_errors(tmp_path):
    path = tmp_path / "t.jsonl"
    path.write_text("".join(json.dumps(r) + "\n" for r in TRAIN[:3]), encoding="utf-8")
    r = Retriever.from_jsonl([path])
    assert r.languages == ("bash",)
    assert r.search("anything", "python", k=5) == []  # no python training data
    with pytest.raises(ValueError, match="unknown language"):
        r.search("x", "perl", k=5)
    bad = tmp_path / "bad.jsonl"
    bad.write_text("{not json\n", encoding="utf-8")
    with pytest.raises(ValueError, match="bad.jsonl:1"):
        Retriever.from_jsonl([bad])
    with pytest.raises(ValueError, match="no usable training records"):
        Retriever([{"nl": "x"}])


def test_with_records_puts_user_examples_on_the_same_scale():
    """Extra records are scored with the base index's vocabulary (so their cosine similarities compare
    with the training entries'): an exact NL match comes first at ~1; the base is left as it was."""
    base = Retriever(TRAIN)
    mine = base.with_records(
        [
            {"nl": "zap the quux records", "code": "quux --zap", "lang": "bash"},
            {"nl": "blorp the flange", "code": "flange --blorp", "lang": "bash"},
            {"nl": "double x", "code": "x * 2", "lang": "python"},
        ]
    )
    hits = mine.search("zap the quux records", "bash", k=3)
    assert hits[0].code == "quux --zap" and hits[0].score > 0.99
    assert hits[1].score < hits[0].score
    assert mine.search("double x", "python", k=1)[0].code == "x * 2"
    assert [c.code for c in base.search("zap the quux records", "bash", k=3)] != [
        h.code for h in hits
    ]  # base unchanged


def test_hybrid_search_blends_a_dense_cosine_and_caches_the_bank_vectors(tmp_path, monkeypatch):
    """Dense vectors that make "count lines" and "print the working directory" twins: at weight 1
    the dense cosine alone decides, at 0 TF-IDF does; the bank's vectors are cached on disk."""
    import numpy as np

    from engine.retrieval import Dense

    monkeypatch.setenv("CODEFUSION_CACHE", str(tmp_path))
    calls = []

    def embed(texts):
        calls.append(len(texts))
        v = np.array([[1.0, 0.0] if ("count" in t or "working directory" in t) else [0.0, 1.0] for t in texts])
        return v.astype(np.float32)

    records = [dict(r, lang=r["lang"]) for r in TRAIN]
    only_dense = Retriever(records, dense=Dense(embed, 1.0, "fake"))
    assert {c.code for c in only_dense.search("count lines in file.txt", "bash", k=2)} == {"wc -l file.txt", "pwd"}
    assert list(tmp_path.glob("nl-vectors-*.cfvec"))  # engine.cache
    before = sum(calls)
    Retriever(records, dense=Dense(embed, 1.0, "fake"))  # the bank's vectors come from the cache
    assert sum(calls) == before
    tfidf = Retriever(records, dense=Dense(embed, 0.0, "fake"))
    assert tfidf.search("count lines in file.txt", "bash", k=1)[0].code == "wc -l file.txt"


def test_a_big_exemplar_file_is_embedded_once_workspace_pairs_each_time(tmp_path, monkeypatch):
    """with_records: a file of CACHE_MIN_ROWS or more entries (a tldr bank) has its sentence vectors
    cached, so a restarted server does not embed it again; a few workspace pairs are embedded afresh."""
    import numpy as np

    from engine.retrieval import CACHE_MIN_ROWS, Dense

    monkeypatch.setenv("CODEFUSION_CACHE", str(tmp_path))
    calls = []

    def embed(texts):
        calls.append(len(texts))
        return np.tile(np.array([[0.6, 0.8]], dtype=np.float32), (len(texts), 1))

    base = Retriever([dict(r) for r in TRAIN], dense=Dense(embed, 0.5, "fake"))
    big = [
        {"nl": f"print line number {i} of a file", "code": f"sed -n {i}p f", "lang": "bash"}
        for i in range(CACHE_MIN_ROWS)
    ]
    calls.clear()
    first = base.with_records(big)
    assert calls == [CACHE_MIN_ROWS]
    again = base.with_records(big)  # the next start: from the cache
    assert calls == [CACHE_MIN_ROWS]
    v1, v2 = first._index["bash"].vectors, again._index["bash"].vectors
    assert v1.shape == v2.shape == (CACHE_MIN_ROWS + len(base._index["bash"].nls), 2)
    assert np.allclose(v1, v2, atol=1e-3)
    base.with_records(big[:3])
    base.with_records(big[:3])
    assert calls == [CACHE_MIN_ROWS, 3, 3]
