"""The everyday check (scripts/everyday_check.py): every request's acceptance rule accepts its
hand-written correct answers and rejects its wrong ones (a broken rule fails here), the request file
is checked line by line, and (slow) the script runs end to end against a fresh install of the wheel."""

import json
import re
import subprocess
import sys
from pathlib import Path

import pytest

from grammar.syntax import check
from tests.conftest import wheel_build_lock

REPO = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(REPO / "scripts"))
import everyday_check as ev  # noqa: E402

REQUESTS = ev.load_requests()


def test_the_set_has_enough_requests_of_each_language():
    langs = [r["lang"] for r in REQUESTS]
    assert len(REQUESTS) >= 44 and langs.count("bash") >= 26 and langs.count("python") >= 18
    assert all(r["example_ok"] and r["example_bad"] for r in REQUESTS)


@pytest.mark.parametrize("req", REQUESTS, ids=[r["id"] for r in REQUESTS])
def test_rule_accepts_its_correct_answers_and_rejects_its_wrong_ones(req):
    for code in req["example_ok"]:
        assert ev.judge(req, code, check(code, req["lang"]).valid) == [], code
    for code in req["example_bad"]:
        assert ev.judge(req, code, check(code, req["lang"]).valid) != [], code


def test_judge_names_each_failed_part():
    rule = {"must": [r"\btail\b", r"server\.log"], "must_not": [r"\+20"]}
    assert ev.judge(rule, "tail -n 20 server.log", True) == []
    assert ev.judge(rule, "head -n 20 server.log", True) == [r"must /\btail\b/"]
    assert ev.judge(rule, "tail -n +20 server.log", False) == [r"must_not /\+20/", "syntax"]


def _line(**over):
    rec = {
        "id": "x1",
        "lang": "bash",
        "nl": "list files",
        "must": [r"\bls\b"],
        "must_not": [],
        "note": "",
        "example_ok": ["ls"],
        "example_bad": ["pwd"],
    }
    rec.update(over)
    return json.dumps(rec)


@pytest.mark.parametrize(
    "lines, message",
    [
        ([_line(), _line()], "r.jsonl:2: duplicate id 'x1'"),
        ([_line(must=["(unclosed"])], "bad regex '(unclosed'"),
        ([_line(lang="cf")], "lang 'cf' is not one of bash, python"),
        ([_line(must=[])], "x1 has no must regex"),
        ([_line(nl=None)], "field 'nl' must be a str"),
        (["{not json"], ":1: not JSON"),
        ([""], "no requests"),
    ],
)
def test_a_bad_request_file_is_named_with_its_line(tmp_path, lines, message):
    f = tmp_path / "r.jsonl"
    f.write_text("\n".join(lines) + "\n")
    with pytest.raises(ev.CheckError) as e:
        ev.load_requests(f)
    assert message in str(e.value) and "\n" not in str(e.value)


def test_limit_takes_the_first_n_of_each_language():
    picked = ev.select(REQUESTS, 2)
    assert [r["lang"] for r in picked].count("bash") == 2 and [r["lang"] for r in picked].count("python") == 2
    assert picked == [r for r in REQUESTS if r in picked]  # file order kept
    assert ev.select(REQUESTS, None) == REQUESTS


def test_summary_counts_top1_and_any_of_k():
    rows = [
        {"lang": "bash", "top1": True, "anyk": True},
        {"lang": "bash", "top1": False, "anyk": True},
        {"lang": "python", "top1": False, "anyk": False},
    ]
    s = ev.summarise(rows)
    assert s["bash"] == {"n": 2, "top1": 1, "anyk": 2, "top1_pct": 50.0, "anyk_pct": 100.0}
    assert s["python"]["anyk"] == 0 and s["overall"] == {
        "n": 3,
        "top1": 1,
        "anyk": 2,
        "top1_pct": 33.3,
        "anyk_pct": 66.7,
    }


def test_bad_options_fail_with_one_line(tmp_path, capsys):
    assert ev.main(["--checkpoint", str(tmp_path), "--limit", "1"]) == 1
    assert ev.main(["--limit", "0"]) == 1
    assert ev.main(["--ref", "no-such-ref-of-this-repo", "--limit", "1"]) == 1
    assert ev.main(["--exemplars", str(tmp_path / "none.jsonl"), "--limit", "1"]) == 1
    err = capsys.readouterr().err.strip().splitlines()
    assert err[3] == f"error: --exemplars {tmp_path / 'none.jsonl'}: no such file"
    err = err[:3]
    assert len(err) == 3 and "not a checkpoint directory" in err[0] and "--limit must be at least 1" in err[1]
    assert err[2].startswith("error: --ref no-such-ref-of-this-repo: ")


@pytest.mark.slow
def test_the_script_runs_end_to_end_against_a_fresh_install(tiny_ckpt, tmp_path):
    out = tmp_path / "report.json"
    with wheel_build_lock():  # the script builds the wheel in the tree: one test process at a time
        r = subprocess.run(
            [
                sys.executable,
                str(REPO / "scripts" / "everyday_check.py"),
                "--checkpoint",
                str(tiny_ckpt),
                "--deps",
                "reuse",
                "--limit",
                "2",
                "--no-shipped-bank",
                "--out",
                str(out),
            ],
            cwd=tmp_path,
            capture_output=True,
            text=True,
            timeout=600,
        )
    assert r.returncode == 0, r.stderr
    assert r.stderr == ""  # no progress bar without a terminal, and nothing else
    report = json.loads(out.read_text())
    m, rows = report["meta"], report["requests"]
    assert [x["id"] for x in rows] == [x["id"] for x in ev.select(REQUESTS, 2)]
    assert m["n_requests"] == 4 and m["errors"] == 0 and m["daemons_stopped"] == 1 and m["deps"] == "reuse"
    venv = Path(m["venv"])
    assert all(Path(f).is_relative_to(venv) for f in m["modules"].values())
    assert not venv.exists()  # the temp dir is removed
    assert m["shipped_bank"] is None and m["shipped_bank_off"]
    assert m["retrieved_candidates"] == sum(c["source"] == "retrieval" for x in rows for c in x["candidates"])
    for row in rows:  # each candidate judged by its request's rule and the syntax check
        req = next(x for x in REQUESTS if x["id"] == row["id"])
        assert row["candidates"] and "error" not in row
        for c in row["candidates"]:
            assert c["syntax_ok"] == check(c["code"], row["lang"]).valid
            assert c["failed"] == ev.judge(req, c["code"], c["syntax_ok"]) and c["accepted"] == (c["failed"] == [])
        assert row["top1"] == row["candidates"][0]["accepted"] and row["anyk"] == any(
            c["accepted"] for c in row["candidates"]
        )
    s = report["summary"]
    assert s["bash"]["n"] == s["python"]["n"] == 2 and s["overall"]["n"] == 4
    for lang in ("bash", "python"):
        part = [x for x in rows if x["lang"] == lang]
        assert s[lang]["top1"] == sum(x["top1"] for x in part) and s[lang]["anyk"] == sum(x["anyk"] for x in part)
    md = out.with_suffix(".md").read_text()
    assert re.search(r"^\| overall \| 4 \| \d \(", md, re.M) and md.count("\n| b0") == 2 and md.count("\n| p0") == 2
    assert "| overall | 4 |" in r.stdout


def test_own_example_files_reach_every_generate_call(monkeypatch, tmp_path):
    seen = []

    def fake_run(cmd, **kw):  # a test double of the installed CLI: records what it was asked
        seen.append(cmd)
        return subprocess.CompletedProcess(cmd, 0, stdout="[]", stderr="")

    monkeypatch.setattr(ev.subprocess, "run", fake_run)
    req = {"lang": "python", "nl": "sleep for 5 seconds"}
    bank = str(tmp_path / "mine.jsonl")
    assert ev.ask(tmp_path, tmp_path, {}, req, 5, None, [bank])["candidates"] == []
    cmd = seen[-1]
    assert cmd[cmd.index("--exemplars") + 1] == bank and cmd[-2:] == ["--", "sleep for 5 seconds"]
    ev.ask(tmp_path, tmp_path, {}, req, 5, None)
    assert "--exemplars" not in seen[-1]
