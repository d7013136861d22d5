"""engine/slot_rank.py: an exemplar that can take the request's literals (a template's placeholders, its own
literals of the same kind) ranks above a nearer one that cannot; a request without literals keeps the
retriever's order. Real retrievers over a few tldr-like rows."""

import pytest

from engine import banks, slot_rank
from engine.banks import LayeredBank
from engine.retrieval import Retriever
from engine.slots import adapt_arguments, slot_request

REQUEST = "print the last 20 lines of server.log"  # a NUM and a FILE
ROWS = [  # "print the log" shares the request's words, but has no place for 20 or server.log
    {"nl": "print the last log lines", "code": "logread", "lang": "bash", "page": "logread"},
    {"nl": "show last 5 lines in file", "code": "tail --lines 5 path/to/file", "lang": "bash", "page": "tail"},
    {"nl": "list all files sorted by size", "code": "ls -lS", "lang": "bash", "page": "ls"},
]


def template_bank(rows):
    """A retriever over rows, searched as the shipped template bank is (engine.banks.load_shipped)."""
    r = Retriever(rows)
    r.slot_rank = True
    return r


def test_fit_is_the_share_of_the_request_literals_the_program_can_take():
    literals = slot_rank.request_literals(REQUEST)
    assert literals == [("NUM", "20"), ("FILE", "server.log")]
    assert slot_rank.fit(literals, "tail --lines count path/to/file") == 1.0  # placeholders
    assert slot_rank.fit(literals, "tail -n 8 path/to/file") == 1.0  # its own number, a placeholder path
    assert slot_rank.fit(literals, "tail path/to/file") == 0.5
    assert slot_rank.fit(literals, "logread") == 0.0
    assert slot_rank.fit(slot_rank.request_literals("diff a.txt b.txt"), "diff path/to/file") == 0.5  # one place
    # a literal the program already has counts, whatever its kind there ("/dir/file.txt" is quoted: a STR)
    assert slot_rank.fit(slot_rank.request_literals('count the lines in "/dir/file.txt"'), "wc -l /dir/file.txt") == 1.0
    assert slot_rank.fit([], "tail path/to/file") == 0.0


def test_a_template_that_takes_the_literals_outranks_a_nearer_program_that_cannot(monkeypatch):
    r = template_bank(ROWS)
    monkeypatch.setattr(slot_rank, "SLOT_WEIGHT", 0.0)  # the similarity alone
    plain = r.search(REQUEST, "bash", 2)
    assert [c.code for c in plain] == ["logread", "tail --lines 5 path/to/file"]  # the nearer NL has no place
    # a weight just over the similarity gap (a three-row TF-IDF spreads similarities far wider than a bank
    # does; the shipped model's test in tests/test_wheel.py holds the default weight to the real request)
    monkeypatch.setattr(slot_rank, "SLOT_WEIGHT", plain[0].score - plain[1].score + 0.01)
    hits = r.search(REQUEST, "bash", 2)
    assert [c.code for c in hits] == ["tail --lines 5 path/to/file", "logread"]
    assert [c.meta["slot_fit"] for c in hits] == [1.0, 0.0]
    assert hits[0].score < hits[1].score  # the scores stay the similarities
    # layers merge on the same key: the shipped template outranks the training program
    bank = LayeredBank([("shipped", template_bank(ROWS[1:])), ("training", Retriever(ROWS[:1]))])
    monkeypatch.setattr(slot_rank, "SLOT_WEIGHT", 0.0)
    plain = bank.search(REQUEST, "bash", 2)
    assert [c.code for c in plain] == ["logread", "tail --lines 5 path/to/file"]
    monkeypatch.setattr(slot_rank, "SLOT_WEIGHT", plain[0].score - plain[1].score + 0.01)
    assert [c.code for c in bank.search(REQUEST, "bash", 2)] == ["tail --lines 5 path/to/file", "logread"]


def test_a_request_without_literals_keeps_the_similarity_order(monkeypatch):
    r = template_bank(ROWS)
    got = [(c.code, c.score) for c in r.search("print the last log lines", "bash", 3)]
    monkeypatch.setattr(slot_rank, "SLOT_WEIGHT", 0.0)
    assert got == [(c.code, c.score) for c in r.search("print the last log lines", "bash", 3)]
    assert [s for _, s in got] == sorted((s for _, s in got), reverse=True)


@pytest.mark.parametrize("k", [1, 2, 3])
def test_k_hits_are_returned_even_when_the_bank_is_smaller_than_the_depth(k):
    assert len(template_bank(ROWS).search(REQUEST, "bash", k)) == k


def test_a_bank_of_concrete_commands_keeps_the_similarity_order_and_the_user_layer_follows_its_bank():
    """Only the template bank is re-ranked: the training files and a user's own bank are searched by similarity."""
    plain = Retriever(ROWS)
    assert [c.code for c in plain.search(REQUEST, "bash", 2)][0] == "logread"
    assert all("slot_fit" not in c.meta for c in plain.search(REQUEST, "bash", 3))
    widened = template_bank(ROWS[1:]).with_records([ROWS[0]], bank="user")  # the user's pairs on the shipped layer
    assert widened.slot_rank and not plain.with_records([ROWS[1]]).slot_rank
    assert all("slot_fit" in c.meta for c in widened.search(REQUEST, "bash", 2))


def test_the_shipped_bank_is_a_template_bank_and_finds_the_tail_templates(tmp_path, monkeypatch):
    """The real shipped bank (TF-IDF alone, a cold cache): the tldr tail templates that argument filling turns
    into `tail -n 20 server.log` are among the five nearest, which by similarity alone they are not."""
    monkeypatch.setenv("CODEFUSION_CACHE", str(tmp_path))
    monkeypatch.delenv(banks.ENV, raising=False)  # tests/conftest.py turns the shipped bank off
    shipped = banks.load_shipped()
    assert shipped is not None and shipped.slot_rank
    weight = slot_rank.SLOT_WEIGHT
    monkeypatch.setattr(slot_rank, "SLOT_WEIGHT", 0.0)
    assert not any(c.code.startswith("tail --lines 5") for c in shipped.search(REQUEST, "bash", 5))
    monkeypatch.setattr(slot_rank, "SLOT_WEIGHT", weight)
    codes = [c.code for c in shipped.search(REQUEST, "bash", 5)]
    assert "tail --lines 5 path/to/file" in codes, codes
    assert "tail --lines 20 server.log" in [adapt_arguments(c, slot_request(REQUEST)[1])[0] for c in codes]
