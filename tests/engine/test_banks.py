"""engine/banks.py: the layered exemplar banks (user, shipped, training) and the bank the wheel ships.

Fixture banks are built here (a few tldr-like rows); the last tests load the real shipped bank
(codefusion_bank/) with a cold cache and check that nothing is embedded."""

import hashlib
import json

import numpy as np
import pytest

from engine import banks
from engine.retrieval import Dense, Retriever

ROWS = [  # tldr-like rows (page, platform): templates, not a user's commands
    {
        "nl": "Create a gzipped archive from a directory",
        "code": "tar czf path/to/target.tar.gz path/to/directory",
        "page": "tar",
        "platform": "common",
    },
    {
        "nl": "Extract an archive into the current directory",
        "code": "tar xf path/to/source.tar",
        "page": "tar",
        "platform": "common",
    },
    {
        "nl": "Print the last lines of a file",
        "code": "tail --lines count path/to/file",
        "page": "tail",
        "platform": "common",
    },
    {"nl": "Show disk usage of a directory", "code": "du -sh path/to/directory", "page": "du", "platform": "linux"},
    {"nl": "List all files sorted by size", "code": "ls -lS", "page": "ls", "platform": "common"},
]
TRAINING = [
    {"nl": "print the last 20 lines of the log", "code": "tail -n 20 log", "lang": "bash"},
    {"nl": "count lines in every python file", "code": "find . -name '*.py' | xargs wc -l", "lang": "bash"},
    {"nl": "reverse a list", "code": "x[::-1]", "lang": "python"},
]


class HashEncoder:
    """A stand-in for the NL encoder in unit tests: deterministic bag-of-words vectors (L2-normalised),
    counting how many texts it embeds."""

    def __init__(self, dim=32):
        self.dim, self.embedded = dim, 0

    def sentence_vectors(self, texts):
        self.embedded += len(texts)
        out = np.zeros((len(texts), self.dim), dtype=np.float32)
        for i, t in enumerate(texts):
            for w in t.lower().split():
                out[i, int(hashlib.md5(w.encode()).hexdigest(), 16) % self.dim] += 1.0
        return out / np.maximum(np.linalg.norm(out, axis=1, keepdims=True), 1e-9)


@pytest.fixture
def shipped(tmp_path):
    """A shipped-bank folder built from ROWS with the stand-in encoder, and a Dense of that encoder."""
    enc = HashEncoder()
    manifest = banks.build(ROWS, tmp_path / "bank", encoder=enc, encoder_key="hash:32")
    return tmp_path / "bank", manifest, enc


def _dense(enc):
    return Dense(embed=enc.sentence_vectors, weight=0.7, key="hash:32")


def _write(path, rows):
    path.write_text("".join(json.dumps(r) + "\n" for r in rows), encoding="utf-8")
    return path


def test_the_built_bank_has_a_manifest_with_checksums_and_loads_as_the_same_index(shipped, monkeypatch):
    folder, manifest, enc = shipped
    assert manifest["rows"] == 5 and manifest["entries"] == 5 and manifest["encoder"] == "hash:32"
    assert manifest["source"]["commit"] == "08e345f42639f67d99282813247ac670dc6e87cb"
    for name, digest in manifest["files"].items():
        assert hashlib.sha256((folder / name).read_bytes()).hexdigest() == digest
    from sklearn.feature_extraction.text import TfidfVectorizer

    def no_fit(*a, **k):
        raise AssertionError("the shipped bank fitted a TF-IDF vocabulary")

    monkeypatch.setattr(TfidfVectorizer, "fit_transform", no_fit)
    monkeypatch.setattr(TfidfVectorizer, "fit", no_fit)
    before = enc.embedded
    bank = banks.load_shipped(_dense(enc), folder)
    assert enc.embedded == before  # loading embeds nothing
    hits = bank.search("make a gzipped archive of a directory", "bash", 3)
    assert enc.embedded == before + 1  # the request alone
    monkeypatch.undo()
    ref = Retriever([dict(r, lang="bash") for r in ROWS], dense=_dense(HashEncoder()))  # fitted and embedded here
    want = ref.search("make a gzipped archive of a directory", "bash", 3)
    assert [c.code for c in hits] == [c.code for c in want]
    assert [c.score for c in hits] == pytest.approx([c.score for c in want], abs=2e-3)  # float16 vectors
    assert hits[0].meta["exemplar_source"] == {"bank": "shipped", "page": "tar", "platform": "common"}


@pytest.mark.parametrize("damage", ["vectors", "rows", "tfidf", "manifest"])
def test_a_file_that_does_not_match_the_manifest_is_refused_in_one_line(shipped, damage):
    folder, manifest, enc = shipped
    target = folder / (banks.MANIFEST if damage == "manifest" else manifest["names"][damage])
    data = bytearray(target.read_bytes())
    data[len(data) // 2] ^= 0x01
    target.write_bytes(bytes(data))
    with pytest.raises(banks.ShippedBankError) as e:
        banks.load_shipped(_dense(enc), folder)
    msg = str(e.value)
    assert "\n" not in msg and ("does not match" in msg or "unreadable" in msg or "manifest" in msg), msg
    assert "reinstall" in msg or "rebuild" in msg


def test_another_encoder_embeds_the_bank_once_instead_of_using_its_vectors(shipped, tmp_path, monkeypatch):
    folder, _, _ = shipped
    monkeypatch.setenv("CODEFUSION_CACHE", str(tmp_path / "cache"))
    other = HashEncoder(dim=16)
    bank = banks.load_shipped(Dense(embed=other.sentence_vectors, weight=0.7, key="other:16"), folder)
    assert other.embedded == len(ROWS)
    assert bank.search("show disk usage", "bash", 1)[0].code == "du -sh path/to/directory"
    again = HashEncoder(dim=16)
    banks.load_shipped(Dense(embed=again.sentence_vectors, weight=0.7, key="other:16"), folder)
    assert again.embedded == 0  # cached


def test_layers_merge_into_one_ranking_with_ties_to_the_earlier_layer_and_say_where_each_came_from(shipped, tmp_path):
    folder, _, enc = shipped
    dense = _dense(enc)
    train = _write(tmp_path / "train.jsonl", TRAINING)
    base = banks.LayeredBank(
        [("shipped", banks.load_shipped(dense, folder)), ("training", Retriever.from_jsonl([train], dense=dense))]
    )
    assert base.languages == ("bash", "python") and base.layer_names("bash") == ("shipped", "training")
    hits = base.search("print the last 20 lines of the log", "bash", 4)
    assert [c.score for c in hits] == sorted((c.score for c in hits), reverse=True)  # one ranking, by score
    assert hits[0].code == "tail -n 20 log"  # the training pair is nearer than the template
    assert hits[0].meta["exemplar_source"] == {"bank": "training", "file": str(train), "line": 1}
    assert {c.meta["exemplar_source"]["bank"] for c in hits} == {"shipped", "training"}
    # the user's pairs: the same request as a shipped row (an equal score) goes first, as does a nearer one
    user = [
        {
            "nl": "Print the last lines of a file",
            "code": "tail -n 5 notes.txt",
            "lang": "bash",
            "file": "/home/me/notes.sh",
            "line": 7,
        },
        {"nl": "convert string s to upper case", "code": "s.upper()", "lang": "python"},
        {"nl": "highlight blank cells", "code": "Blanks()", "lang": "cf", "file": "rules.cfrule", "line": 2},
    ]
    layered = base.with_records(user)
    got = layered.search("Print the last lines of a file", "bash", 3)
    assert got[0].code == "tail -n 5 notes.txt"
    assert got[0].meta["exemplar_source"] == {"bank": "user", "file": "/home/me/notes.sh", "line": 7}
    assert got[1].code == "tail --lines count path/to/file" and got[1].score == pytest.approx(got[0].score, abs=1e-3)
    assert got[1].meta["exemplar_source"]["page"] == "tail"
    py = layered.search("convert string s to upper case", "python", 1)[0]
    assert py.code == "s.upper()" and py.meta["exemplar_source"] == {"bank": "user"}
    cf = layered.search("highlight blank cells", "cf", 1)[0]  # a language no layer has: a layer of its own
    assert cf.meta["exemplar_source"] == {"bank": "user", "file": "rules.cfrule", "line": 2}
    assert base.search("highlight blank cells", "cf", 1) == []  # the base bank is not changed
    with pytest.raises(ValueError, match="unknown language"):
        layered.search("x", "perl", 1)


def test_the_no_bank_hint_is_said_once_per_surface_and_never_for_a_language_with_a_bank(tmp_path, monkeypatch):
    monkeypatch.setenv("CODEFUSION_CACHE", str(tmp_path))
    bank = Retriever([{"nl": "list files", "code": "ls", "lang": "bash"}])
    assert banks.hint_once("bash", bank, "cli") is None
    first = banks.hint_once("python", bank, "cli")
    assert first and "\n" not in first and "Python" in first and "exemplarFiles" in first and "--exemplars" in first
    assert banks.hint_once("python", bank, "cli") is None
    assert banks.hint_once("python", None, "lsp") == first  # another surface: its own once
    assert "CF" in banks.hint_once("cf", None, "cli")


def test_cli_generate_says_the_hint_once_for_a_language_without_a_bank(tmp_path, monkeypatch, capsys):
    """A real (untrained) model whose training files hold only Bash pairs, and no shipped bank: the
    first Python request prints the line, the second does not; a Bash request never does."""
    from codefusion.cli import main
    from engine.testing import TINY_PAIRS, untrained_checkpoint

    monkeypatch.setenv("CODEFUSION_CACHE", str(tmp_path / "cache"))
    monkeypatch.setenv(banks.ENV, "none")
    ckpt = untrained_checkpoint(tmp_path, pairs=[p for p in TINY_PAIRS if p[2] == "bash"])
    args = [
        "generate",
        "reverse a list x",
        "--lang",
        "python",
        "--checkpoint",
        str(ckpt),
        "--device",
        "cpu",
        "-k",
        "2",
        "--json",
    ]
    assert main(args) == 0
    first = capsys.readouterr()
    assert json.loads(first.out) is not None  # stdout stays JSON
    assert first.err.count("\n") == 1 and "no example bank for Python" in first.err
    assert main(args) == 0
    assert "example bank" not in capsys.readouterr().err
    assert (
        main(["generate", "list all files", "--lang", "bash", "--checkpoint", str(ckpt), "--device", "cpu", "-k", "2"])
        == 0
    )
    assert "example bank" not in capsys.readouterr().out


def test_a_tiny_model_draws_exemplars_from_every_layer_and_its_candidates_say_which(tmp_path, monkeypatch):
    """A real tiny exemplar model (hybrid retrieval with the real encoder), a shipped bank built with that
    encoder, its training files and a user's file: each candidate names the bank of the exemplar it
    copies or starts from; a user pair with the request's own NL goes first."""
    from engine.api import exemplar_bank, load_generator
    from engine.encoder import NLEncoder
    from engine.testing import TINY_PAIRS, untrained_checkpoint

    monkeypatch.setenv("CODEFUSION_CACHE", str(tmp_path / "cache"))
    ckpt = untrained_checkpoint(
        tmp_path, pairs=TINY_PAIRS, exemplars=2, retrieval_dense_weight=0.7, exemplar_start_snr=50.0
    )
    cfg = json.loads((ckpt / "config.json").read_text())["model"]
    enc = NLEncoder(cfg["encoder"], cfg["nl_max_len"])
    key = f"{cfg['encoder']}:{cfg['nl_max_len']}"
    banks.build(ROWS, tmp_path / "bank", encoder=enc, encoder_key=key)
    monkeypatch.setenv(banks.ENV, str(tmp_path / "bank"))
    gen = load_generator(ckpt, "cpu")
    assert gen.bank.layer_names("bash") == ("shipped", "training")

    def sources(nl, k=2):  # (untrained: the candidates are not copies) the exemplar each starts from: its bank
        cands = gen.generate(nl, "bash", k=k, steps=1, seed=0)
        return {c.meta["exemplar_code"]: c.meta.get("exemplar_source") for c in cands}

    got = sources("Show disk usage of a directory")
    assert got["du -sh path/to/directory"] == {"bank": "shipped", "page": "du", "platform": "linux"}
    got = sources("find all python files")
    assert got["find . -name '*.py'"]["bank"] == "training" and got["find . -name '*.py'"]["line"] == 2
    user = _write(
        tmp_path / "mine.jsonl", [{"nl": "Show disk usage of a directory", "code": "du -sh /srv", "lang": "bash"}]
    )
    gen.bank = exemplar_bank(gen, [user])
    assert gen.exemplars_for("Show disk usage of a directory", "bash", 2) == ["du -sh /srv", "du -sh path/to/directory"]
    got = sources("Show disk usage of a directory")
    assert got["du -sh /srv"] == {"bank": "user", "file": str(user), "line": 1}
    batch = gen.generate_many([{"nl": "Show disk usage of a directory", "lang": "bash", "k": 2, "steps": 1}])[0]
    assert {c.meta["exemplar_code"]: c.meta.get("exemplar_source") for c in batch} == got


def test_a_copy_names_the_exemplar_it_copies_else_the_one_it_started_from():
    ex = [
        banks.Exemplar("ls -a", {"bank": "user", "file": "f", "line": 1}),
        banks.Exemplar("du -sh", {"bank": "shipped"}),
        "wc -l",
    ]
    assert banks.exemplar_source(ex, "du  -sh", 0) == {
        "bank": "shipped"
    }  # a copy of the second, started from the first
    assert banks.exemplar_source(ex, None, 0) == {"bank": "user", "file": "f", "line": 1}
    assert banks.exemplar_source(ex, None, 2) is None  # a plain string: provenance unknown
    import pickle

    back = pickle.loads(pickle.dumps(ex[0]))
    assert back == "ls -a" and back.source == ex[0].source


def test_the_shipped_bank_loads_with_a_cold_cache_and_embeds_nothing(tmp_path, monkeypatch):
    """The real shipped bank and model, as after a pip install (no training files, an empty cache): the
    first request embeds the request and nothing else, and writes no vectors to the cache."""
    import engine.data
    from engine.api import load_generator
    from engine.encoder import NLEncoder

    monkeypatch.delenv(banks.ENV, raising=False)
    monkeypatch.delenv("CODEFUSION_DATA", raising=False)
    monkeypatch.setattr(engine.data, "default_data_dir", lambda: None)
    cache = tmp_path / "cache"
    monkeypatch.setenv("CODEFUSION_CACHE", str(cache))
    folder = banks.shipped_dir()
    assert folder is not None and (folder / "ATTRIBUTION.md").is_file()
    embedded = []
    real = NLEncoder.sentence_vectors

    def spy(self, texts, *a, **k):
        embedded.append(len(texts))
        return real(self, texts, *a, **k)

    monkeypatch.setattr(NLEncoder, "sentence_vectors", spy)
    gen = load_generator(None, "cpu")
    assert gen.bank is not None and gen.bank.layer_names("bash") == ("shipped",)
    assert embedded == []  # loading embedded nothing
    cands = gen.generate("print the last 20 lines of server.log", "bash", k=5)
    assert embedded == [1]  # the request alone
    assert len(cands) == 5 and all(c.meta["exemplar_source"]["bank"] == "shipped" for c in cands)
    assert all(c.meta["exemplar_source"]["page"] for c in cands)
    # nothing embedded, no vectors cached: only the bank's TF-IDF rows (engine.retrieval._cached_tfidf)
    assert [p.name[:6] for p in cache.rglob("*") if p.is_file()] == ["tfidf-"]
    manifest = json.loads((folder / banks.MANIFEST).read_text())
    assert manifest["rows"] >= 30000 and manifest["encoder"] == f"{gen.cfg.encoder}:{gen.cfg.nl_max_len}"


def test_eval_bank_given_the_shipped_rows_file_uses_its_precomputed_index(shipped, tmp_path, monkeypatch):
    """`codefusion eval --bank <the shipped bank's rows file>`: the shipped bank as a pip install has it
    (nothing embedded); any other file is indexed as it is."""
    from types import SimpleNamespace

    from engine.api import files_bank

    folder, manifest, enc = shipped
    monkeypatch.setenv(banks.ENV, str(folder))
    assert banks.shipped_file() == folder / manifest["names"]["rows"]
    gen = SimpleNamespace()  # no checkpoint: TF-IDF only
    bank = files_bank(gen, [folder / manifest["names"]["rows"]])
    assert bank.layer_names("bash") == ("shipped",)
    assert bank.search("show disk usage", "bash", 1)[0].meta["exemplar_source"]["page"] == "du"
    other = files_bank(gen, [_write(tmp_path / "mine.jsonl", TRAINING)])
    assert other.search("reverse a list", "python", 1)[0].meta["exemplar_source"] == {
        "file": str(tmp_path / "mine.jsonl"),
        "line": 3,
    }
    assert files_bank(gen, []) is None
