"""Literal slots (engine/slots.py): what counts as a literal, slotting a pair, filling a program, and a
literal_slots model that writes slots and hands back the request's literals."""

import pytest

from engine.slots import adapt_arguments, fill, find_literals, request_literals_in, slot_pair, slot_request, unfilled


@pytest.mark.parametrize(
    "nl, kinds",
    [
        ("print the last 20 lines of server.log", [("NUM", "20"), ("FILE", "server.log")]),
        ("kill the process listening on port 8080", [("NUM", "8080")]),
        ("find all *.py files under /home/user/src", [("FILE", "*.py"), ("FILE", "/home/user/src")]),
        ("search for 'hello world' in notes.txt", [("STR", "hello world"), ("FILE", "notes.txt")]),
        ("download https://example.com/a.tar.gz", [("URL", "https://example.com/a.tar.gz")]),
        ("ping 192.168.1.10 three times", [("STR", "192.168.1.10")]),
        ("files larger than 10MB in ~/Downloads.", [("NUM", "10"), ("FILE", "~/Downloads")]),
        ("convert list `l` to a string", [("STR", "l")]),
        ("list the files in the current directory", []),
        ("round 1.125 to 2 decimals, e.g. for money", [("NUM", "1.125"), ("NUM", "2")]),
    ],
)
def test_find_literals(nl, kinds):
    assert [(lit.kind, lit.text) for lit in find_literals(nl)] == kinds


def test_slot_request_numbers_each_kind_and_shares_repeated_text():
    nl, table = slot_request("copy a.txt to b.txt, then copy a.txt to /tmp")
    assert nl == "copy FILE0 to FILE1, then copy FILE0 to FILE2"
    assert table == {"FILE0": "a.txt", "FILE1": "b.txt", "FILE2": "/tmp"}


@pytest.mark.parametrize(
    "nl, code, slotted",
    [
        ("print the last 20 lines of server.log", "tail -n 20 server.log", "tail -n NUM0 FILE0"),
        ("Find files larger than 50k", "find . -size +50k", "find . -size +NUM0k"),
        ("find *.txt files modified 2 days ago", 'find . -name "*.txt" -mtime 2', 'find . -name "FILE0" -mtime NUM0'),
        (
            "Find files under ${userdir}/${i}/incoming older than 2 days",
            "find ${userdir}/${i}/incoming -mtime +2",
            "find ${userdir}/${i}/incoming -mtime +NUM0",
        ),  # a path inside a longer word stays
        ("show 100 lines", "head -n 1000 f", "head -n 1000 f"),  # 100 is not inside 1000
        ("read 'data.csv' with pandas", "pd.read_csv('data.csv')", "pd.read_csv('STR0')"),
    ],
)
def test_slot_pair_and_fill_round_trip(nl, code, slotted):
    _, got, table = slot_pair(nl, code)
    assert got == slotted
    assert fill(got, table) == code


def test_fill_leaves_unknown_slots_and_reports_them():
    code = fill("cp FILE0 FILE1", {"FILE0": "a.txt"})
    assert code == "cp a.txt FILE1"
    assert unfilled(code) == ["FILE1"]
    assert fill("ls", {}) == "ls"


def test_request_literals_in_is_argument_recall():
    nl = "print the last 20 lines of server.log"
    assert request_literals_in(nl, "tail -n 20 server.log") == {"20", "server.log"}
    assert request_literals_in(nl, "tail -n 10 app.log") == set()
    assert request_literals_in(nl, "tail -200 server.log") == {"server.log"}


@pytest.mark.parametrize(
    "nl, template, want",
    [
        ("print the last 20 lines of server.log", "tail --lines count path/to/file", "tail --lines 20 server.log"),
        (
            "print the last 20 lines of server.log",
            "tail -n 10 app.log",
            "tail -n 20 server.log",
        ),  # a neighbour's literals
        ("find *.log files in /var/log", "find path/to/directory -name '*.ext'", "find /var/log -name '*.log'"),
        ("search for 'TODO' in main.py", "grep 'search_pattern' path/to/file", "grep 'TODO' main.py"),
        ("kill the process on port 8080", "fuser -k port/tcp", "fuser -k 8080/tcp"),
        ("copy a.txt to /tmp/backup", "cp path/to/source_file path/to/target_file", "cp a.txt /tmp/backup"),
        ("download https://x.org/f.zip", "wget https://example.com/foo", "wget https://x.org/f.zip"),
        ("list the files here", "ls -la path/to/directory", "ls -la path/to/directory"),  # nothing to fill in
        ("show 5 lines of a.txt", "head -n 5 a.txt", "head -n 5 a.txt"),  # already the request's
    ],
)
def test_adapt_arguments_makes_a_template_the_users_command(nl, template, want):
    code, replaced = adapt_arguments(template, slot_request(nl)[1])
    assert code == want
    assert (code != template) == bool(replaced)


@pytest.mark.slow
def test_a_literal_slots_model_reads_slots_and_fills_the_request_in(tmp_path):
    """A tiny model trained with literal_slots on pairs whose literals vary learns the template; the
    request's own literals come back in its program, though it never saw them in training."""
    import json

    from engine.generator import Generator
    from engine.train import TrainArgs, train

    rows = []
    for i, (n, f) in enumerate([(5, "a.log"), (7, "b.txt"), (12, "c.csv"), (3, "d.json")] * 8):
        rows.append({"nl": f"print the last {n + i} lines of {f}", "code": f"tail -n {n + i} {f}", "lang": "bash"})
        rows.append({"nl": f"count the lines of {f}", "code": f"wc -l {f}", "lang": "bash"})
    data = tmp_path / "pairs.jsonl"
    data.write_text("\n".join(json.dumps(r) for r in rows))
    out = train(
        TrainArgs(
            config="tiny",
            data=[str(data)],
            out=str(tmp_path / "m"),
            device="cpu",
            max_steps=400,
            progress=False,
            model_overrides={"literal_slots": "true", "default_steps": "10"},
        )
    )
    gen = Generator.load(out, "cpu")
    assert gen.cfg.literal_slots
    codes = [c.code for c in gen.generate("print the last 42 lines of server.log", "bash", k=3)]
    assert any("server.log" in c and "42" in c for c in codes), codes


def test_the_generator_fills_the_requests_literals_into_what_it_decodes(tmp_path):
    """The decode step of a real (untrained) model: with adapt_arguments a template's placeholders take
    the request's literals; without it the program is left as decoded."""
    from engine.api import load_generator
    from engine.testing import untrained_checkpoint

    gen = load_generator(untrained_checkpoint(tmp_path, exemplars=2), "cpu")
    plan = gen._plan("print the last 20 lines of server.log", "bash", 1, 1, 0, ["tail --lines count path/to/file"], 0.0)
    ids = gen.tokenizer.encode_padded("tail --lines count path/to/file", gen.cfg.code_max_len)
    gen.cfg.adapt_arguments = False
    assert gen._decode(plan, ids) == "tail --lines count path/to/file"
    gen.cfg.adapt_arguments = True
    assert gen._decode(plan, ids) == "tail --lines 20 server.log"
