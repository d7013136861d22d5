"""What each shown candidate is (generated, edited, copy, retrieved) and the quiet plain output of
`codefusion generate` (issue 24: honest labels; no plain output line is there for bookkeeping only)."""

import json
import re
import subprocess
import sys

import pytest

from codefusion.runtime import candidate_json
from codefusion.suggest import (
    EDIT_MIN_SIMILARITY,
    label_origins,
    origin_text,
    token_similarity,
)
from engine.api import Candidate
from engine.schema import ORIGINS
from grammar.pipeline import process

SRC = {"bank": "shipped", "page": "find", "platform": "common"}


def _labelled(raw, lang="bash"):
    return [candidate_json(c) for c in label_origins(process(raw, lang, k=len(raw)).candidates, lang)]


# (the engine's candidate, its label, the exemplar's code or None)
LABELS = [
    # started from an exemplar and gave it back (whitespace aside): a copy of that exemplar
    (
        Candidate(
            "find . -name '*.py'",
            -0.1,
            meta={"exemplar": 0, "exemplar_code": "find .  -name '*.py'", "copy": True, "exemplar_source": SRC},
        ),
        "copy",
        "find . -name '*.py'",
    ),
    # started from one exemplar, gave back another of its memory: a copy too
    (
        Candidate("wc -l a.txt", -0.2, meta={"exemplar": 1, "exemplar_code": "ls -la", "copy": True}),
        "copy",
        "wc -l a.txt",
    ),
    # from pure noise (a mixed start) yet equal to an exemplar it was conditioned on: a copy
    (Candidate("pwd", -0.3, meta={"start": "noise", "copy": True}), "copy", "pwd"),
    # started from an exemplar, kept most of it: edited
    (
        Candidate("ls -la /var", -0.4, meta={"exemplar": 0, "exemplar_code": "ls -la /tmp", "copy": False}),
        "edited",
        "ls -la /tmp",
    ),
    # started from an exemplar, changed it substantially: generated
    (
        Candidate("du -sh ~", -0.5, meta={"exemplar": 2, "exemplar_code": "grep -i error log.txt", "copy": False}),
        "generated",
        None,
    ),
    # from pure noise, not a copy: generated
    (Candidate("echo done", -0.6, meta={"start": "noise", "copy": False}), "generated", None),
    # a model without exemplars: generated
    (Candidate("date", -0.7, meta={"seed": 0, "steps": 1}), "generated", None),
    # a retrieved example beside the model's
    (
        Candidate("cat notes.txt", 0.9, source="retrieval", meta={"nl": "show notes", "exemplar_source": SRC}),
        "retrieved",
        "cat notes.txt",
    ),
]


@pytest.mark.parametrize("cand, origin, exemplar", LABELS, ids=[f"{o}: {c.code}" for c, o, _ in LABELS])
def test_every_label(cand, origin, exemplar):
    (shown,) = _labelled([cand])
    assert shown["origin"] == origin and shown["source"] == cand.source
    if exemplar is None:
        assert shown["exemplar"] is None
    else:
        assert shown["exemplar"]["code"] == exemplar
        assert shown["exemplar"]["source"] == cand.meta.get("exemplar_source")
    assert (
        origin_text(shown["origin"], shown["exemplar"]).split()[0]
        == {"generated": "generated", "edited": "edited", "copy": "copy", "retrieved": "retrieved"}[origin]
    )
    json.dumps(shown)  # what --json and the daemon send


def test_the_edit_threshold_is_the_token_similarity():
    assert token_similarity("ls -la /tmp", "ls -la /var") == pytest.approx(0.8)
    assert token_similarity("a b", "a b") == 1.0 and token_similarity("a", "b") == 0.0
    start = "tar -czf out.tar.gz dir"
    for code in ("tar -xzf out.tar.gz dir", "tar -czf x dir", "zip -r out.zip dir", "echo hi"):
        (shown,) = _labelled([Candidate(code, 0.0, meta={"exemplar": 0, "exemplar_code": start, "copy": False})])
        assert shown["origin"] == ("edited" if token_similarity(start, code) >= EDIT_MIN_SIMILARITY else "generated")
        if shown["origin"] == "edited":
            assert shown["exemplar"]["similarity"] == round(token_similarity(start, code), 3)


def test_a_copy_that_equals_a_retrieved_example_names_its_request():
    """The pipeline merges the model's copy with the equal retrieved example: the label keeps the example's NL."""
    shown = _labelled(
        [
            Candidate("pwd", -0.1, meta={"start": "noise", "copy": True}),
            Candidate("pwd", 0.5, source="retrieval", meta={"nl": "print the working directory"}),
        ]
    )
    assert [(c["origin"], c["exemplar"]["nl"]) for c in shown] == [("copy", "print the working directory")]
    assert origin_text("copy", shown[0]["exemplar"]) == "copy of an exemplar for “print the working directory”"


def test_labels_of_a_real_exemplar_model_follow_the_definitions(tmp_path):
    """An (untrained) exemplar model through suggest(): every shown candidate carries a label, and each label
    is what its definition says of the engine's own meta."""
    from codefusion.settings import Settings
    from codefusion.suggest import suggest
    from engine.api import load_generator, training_retriever
    from engine.generator import program_key
    from engine.testing import untrained_checkpoint

    gen = load_generator(untrained_checkpoint(tmp_path, exemplars=2), "cpu")
    gen.cfg.exemplar_noise_slots_lang = {"bash": 1}
    res = suggest("find all python files", "bash", Settings(k=4, steps=1), gen, training_retriever(gen))
    assert {c.origin for c in res.candidates} <= set(ORIGINS) and all(c.origin for c in res.candidates)
    assert {c.source == "retrieval" for c in res.candidates} == {c.origin == "retrieved" for c in res.candidates}
    for c in res.candidates:
        start = c.meta.get("exemplar_code")
        if c.origin == "copy":
            assert c.meta.get("copy") or program_key(start) == program_key(c.code)
        elif c.origin == "edited":
            assert token_similarity(start, c.code) >= EDIT_MIN_SIMILARITY
        elif c.origin == "generated":
            assert not c.meta.get("copy") and (start is None or token_similarity(start, c.code) < EDIT_MIN_SIMILARITY)
        else:  # retrieved: the example and its request
            assert c.exemplar["code"] == c.code and c.exemplar["nl"]


@pytest.mark.slow
def test_a_trained_exemplar_model_copies_and_says_so():
    """A tiny trained exemplar model started from barely noised exemplars gives them back: labelled copy, with
    the exemplar's code; from pure noise the model's own programs are generated (or copies it makes anyway)."""
    from codefusion.settings import Settings
    from codefusion.suggest import suggest
    from engine.api import load_generator
    from engine.testing import cached_tiny_checkpoint

    # TINY_PAIRS; the variant tests/engine/test_engine_exemplars.py trains too: one training, cached
    gen = load_generator(cached_tiny_checkpoint(steps=300, model_overrides={"exemplars": 2}), "cpu")
    gen.cfg.exemplar_start_snr, gen.cfg.exemplar_start_snr_lang, gen.cfg.exemplar_noise_slots_lang = 1000.0, {}, {}
    res = suggest("find all python files", "bash", Settings(k=2, steps=2, retrieval=False), gen)
    copies = [c for c in res.candidates if c.origin == "copy"]
    assert copies and any(c.exemplar["code"] == "find . -name '*.py'" for c in copies), [
        (c.code, c.origin) for c in res.candidates
    ]
    gen.cfg.exemplar_start_snr = 0.0
    res = suggest("find all python files", "bash", Settings(k=2, steps=2, retrieval=False), gen)
    assert all(c.origin in ("generated", "copy") for c in res.candidates)
    assert all(c.exemplar is None for c in res.candidates if c.origin == "generated")


# ---------------------------------------------------------------- the CLI's output


def _cli(*args, timeout=300):
    return subprocess.run([sys.executable, "-m", "codefusion", *args], capture_output=True, text=True, timeout=timeout)


@pytest.fixture
def dup_bank(tmp_path):
    """A user bank whose retrieved examples repeat one program: the pipeline drops duplicates on every call."""
    f = tmp_path / "dups.jsonl"
    f.write_text(
        "".join(
            json.dumps({"nl": f"list the files in folder {i}", "code": "ls  -la", "lang": "bash"}) + "\n"
            for i in range(6)
        )
    )
    return f


HEADER = re.compile(
    r"^\[(\d+)\] score -?\d+\.\d{3}( · invalid syntax)? · (generated|edited from exemplar `.*`|"
    r"copy of an exemplar.*|retrieved example.*)$"
)


def test_plain_output_has_no_bookkeeping_lines_and_verbose_shows_them(untrained_ckpt, dup_bank):
    args = [
        "generate",
        "list the files in folder",
        "--lang",
        "bash",
        "-k",
        "3",
        "--steps",
        "1",
        "--checkpoint",
        str(untrained_ckpt),
        "--device",
        "cpu",
        "--exemplars",
        str(dup_bank),
    ]
    shown = json.loads(_cli(*args, "--json").stdout)
    plain, verbose = _cli(*args), _cli(*args, "--verbose")
    assert plain.returncode == verbose.returncode == 0, plain.stderr + verbose.stderr
    expected = []  # each candidate: its header, its warnings, its code; nothing else
    for i, c in enumerate(shown, 1):
        expected.append(
            f"[{i}] score {c['score']:.3f}"
            + ("" if c["valid"] else " · invalid syntax")
            + " · "
            + origin_text(c["origin"], c["exemplar"])
        )
        expected += [f"warning: {w}" for w in c["warnings"]] + c["code"].split("\n")
    assert plain.stdout.splitlines() == expected
    assert all(HEADER.match(line) for line in plain.stdout.splitlines() if line.startswith("["))
    assert {c["origin"] for c in shown} == {"retrieved", "generated"}
    retrieved = next(c for c in shown if c["origin"] == "retrieved")
    assert retrieved["source"] == "retrieval" and retrieved["exemplar"]["nl"].startswith("list the files in folder")
    extra = verbose.stdout.splitlines()[: len(verbose.stdout.splitlines()) - len(expected)]
    assert verbose.stdout.splitlines()[len(extra) :] == expected
    assert len(extra) == 1 and re.fullmatch(
        r"\(\d+ duplicate candidate\(s\) dropped; --raw shows the model's own\)", extra[0]
    )


def test_check_and_generate_print_a_danger_alike(untrained_ckpt, tmp_path):
    """The retrieved example is dangerous: generate prints check's warning line for it, word for word."""
    code = "find . -name '*.txt' | xargs sed -i 's/foo/bar/g'"
    bank = tmp_path / "b.jsonl"
    bank.write_text(json.dumps({"nl": "replace foo with bar in every text file", "code": code, "lang": "bash"}) + "\n")
    check = _cli("check", "--lang", "bash", code)
    gen = _cli(
        "generate",
        "replace foo with bar in every text file",
        "--lang",
        "bash",
        "-k",
        "1",
        "--steps",
        "1",
        "--checkpoint",
        str(untrained_ckpt),
        "--device",
        "cpu",
        "--exemplars",
        str(bank),
    )
    assert check.returncode == 0 and gen.returncode == 0, check.stderr + gen.stderr
    warn = [line for line in check.stdout.splitlines() if line.startswith("warning: ")]
    assert warn and "in place" in warn[0]
    lines = gen.stdout.splitlines()
    at = lines.index(code)
    assert lines[at - len(warn) : at] == warn
