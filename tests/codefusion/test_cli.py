"""`check` and `eval` through the CLI (subprocesses) and through codefusion.evaluation.evaluate with a fake
generator."""

import json
import subprocess
import sys
from pathlib import Path
from types import SimpleNamespace

import pytest

from codefusion.evaluation.evaluate import EvalError, EvalOptions, Source, run
from engine.api import Candidate

REPO = Path(__file__).resolve().parents[2]


def cli(*args, stdin=None):
    return subprocess.run(
        [sys.executable, "-m", "codefusion", *args], capture_output=True, text=True, input=stdin, cwd=REPO, timeout=120
    )


# ------------------------------------------------------------------------------ check
@pytest.mark.parametrize(
    "lang, code",
    [
        ("bash", "ls -la | wc -l"),
        ("python", "def f(x):\n    return x * 2"),
        ("cf", "TextEquals(In Progress)"),
    ],
)
def test_check_valid_exits_0(lang, code):
    out = cli("check", "--lang", lang, code)
    assert out.returncode == 0, out.stdout + out.stderr
    assert out.stdout == ""


def test_check_invalid_exits_1_with_line_col_lines():
    out = cli("check", "--lang", "python", "x = 1\ny = (")
    assert out.returncode == 1
    lines = out.stdout.strip().splitlines()
    assert lines and all(line.split(":")[0].isdigit() and line.split(":")[1].isdigit() for line in lines)
    out = cli("check", "--lang", "cf", "AND(GreaterThan(1))")
    assert out.returncode == 1
    assert out.stdout == "1:1: AND takes at least 2 arguments, got 1\n"


def test_check_reads_stdin_and_prints_notes_to_stderr():
    out = cli("check", "--lang", "bash", "-", stdin="case $x in a) echo;; esac\n")
    assert out.returncode == 0
    assert "note: bashlex does not support case ... esac" in out.stderr
    out = cli("check", "--lang", "bash", "-", stdin="if true; then\n")
    assert out.returncode == 1 and "missing 'fi'" in out.stdout


@pytest.mark.parametrize(
    "args",
    [
        ("check", "--lang", "ruby", "x"),  # unknown language
        ("check", "--lang", "bash"),  # no code
        ("check", "ls"),  # no --lang
        ("check", "--lang", "bash", "   "),  # empty code
    ],
)
def test_check_usage_errors_exit_2(args):
    out = cli(*args)
    assert out.returncode == 2
    assert "error" in out.stderr


# ------------------------------------------------------------------------------ eval
METRIC_KEYS = {"accuracy", "validity", "diversity", "speed", "pipeline"}


def test_eval_retrieval_baseline_writes_every_report(tmp_path, train_file, dev_file):
    out = cli(
        "eval",
        "--baseline",
        "retrieval",
        "--train",
        str(train_file),
        "--data",
        str(dev_file),
        "-k",
        "3",
        "--out",
        str(tmp_path / "rep" / "report.json"),
    )
    assert out.returncode == 0, out.stderr
    report = json.loads((tmp_path / "rep" / "report.json").read_text())
    assert {r["lang"] for r in report["runs"]} == {"bash", "python", "cf"}
    for r in report["runs"]:
        assert METRIC_KEYS <= set(r)
    bash = next(r for r in report["runs"] if r["lang"] == "bash")
    # nearest neighbours: "find . -name '*.py'" ~ "find /src -name '*.pyc'" (template), "wc -l file.txt";
    # "show the current directory" retrieves "ls -la" first and "pwd" second
    assert bash["accuracy"]["pipeline"]["template_match"]["top1"] == pytest.approx(200 / 3)
    assert bash["accuracy"]["pipeline"]["template_match"]["top3"] == pytest.approx(100.0)
    assert bash["accuracy"]["raw"]["exact_match"]["top1"] == 0.0
    assert bash["accuracy"]["raw"]["exact_match"]["top3"] == pytest.approx(100 / 3)
    cf = next(r for r in report["runs"] if r["lang"] == "cf")
    assert cf["accuracy"]["pipeline"]["execution_match"]["top1"] == pytest.approx(100.0)  # GreaterThan(50) ~ (55)
    assert cf["accuracy"]["pipeline"]["exact_match"]["top1"] == pytest.approx(0.0)
    assert cf["accuracy"]["pipeline"]["execution_fallbacks"] == 0
    py = next(r for r in report["runs"] if r["lang"] == "python")
    assert py["accuracy"]["pipeline"]["bleu"]["top1"] > 0
    assert "skipped" in py["accuracy"]["pipeline"]["codebertscore"]
    md = (tmp_path / "rep" / "report.md").read_text()
    assert "template_match [pipeline]" in md and "latency p50" in md
    items = [json.loads(line) for line in (tmp_path / "rep" / "report.items.jsonl").read_text().splitlines()]
    assert len(items) == 7
    assert {"nl", "gold", "candidates"} <= set(items[0])
    assert {"code", "score", "valid", "hits"} <= set(items[0]["candidates"][0])


def test_eval_errors_are_one_line(tmp_path, train_file):
    out = cli(
        "eval",
        "--baseline",
        "retrieval",
        "--train",
        str(train_file),
        "--data",
        str(tmp_path / "nope.jsonl"),
        "--out",
        str(tmp_path / "r.json"),
    )
    assert out.returncode == 1 and out.stderr.strip() == f"error: data file {tmp_path / 'nope.jsonl'} does not exist"
    bad = tmp_path / "bad.jsonl"
    bad.write_text('{"nl": "x"}\n', encoding="utf-8")
    out = cli(
        "eval",
        "--baseline",
        "retrieval",
        "--train",
        str(train_file),
        "--data",
        str(bad),
        "--out",
        str(tmp_path / "r.json"),
    )
    assert out.returncode == 1 and "bad.jsonl:1" in out.stderr
    good = tmp_path / "good.jsonl"
    good.write_text('{"nl": "x", "code": "ls", "lang": "bash"}\n', encoding="utf-8")
    out = cli("eval", "--baseline", "retrieval", "--data", str(good), "--out", str(tmp_path / "r.json"))
    assert out.returncode == 1 and "--train" in out.stderr
    out = cli("eval", "--data", str(bad), "--out", str(tmp_path / "r.json"), "-k", "0")
    assert out.returncode == 2


class FakeGenerator:
    """A test double for engine generators: returns fixed candidates, more distinct ones for more steps."""

    languages = ("bash",)
    loaded = SimpleNamespace(meta={})  # a checkpoint without calibration (engine.types.GeneratorLike)
    fills_arguments = False  # shows its candidates as they are

    def __init__(self):
        self.calls = []

    def generate(self, nl, lang, k=5, steps=None, seed=0, cancel=None):
        self.calls.append((nl, lang, k, steps, seed))
        good = "wc -l a.txt" if "count" in nl else "pwd"
        pool = ["ls  -la", "ls -la", "if then", good, "rm -rf /"] if steps and steps > 5 else ["ls -la", "ls -la"]
        return [Candidate(code, -float(i)) for i, code in enumerate(pool[:k])]


def test_eval_with_fake_generator_several_steps_and_plots(tmp_path, dev_file):
    gen = FakeGenerator()
    opts = EvalOptions(data=dev_file, out=tmp_path / "r.json", lang=None, k=5, steps=[2, 10], progress=False)
    records = [json.loads(line) for line in dev_file.read_text().splitlines()]
    bash_only = tmp_path / "bash.jsonl"
    bash_only.write_text("".join(json.dumps(r) + "\n" for r in records if r["lang"] == "bash"), encoding="utf-8")
    opts.data = bash_only
    report = run(opts, Source(generator=gen), source_info={"kind": "fake", "languages": ["bash"], "default_steps": 10})
    assert [c[3] for c in gen.calls] == [2, 2, 2, 10, 10, 10]
    few, many = report["runs"]
    assert (few["steps"], many["steps"]) == (2, 10)
    assert few["accuracy"]["pipeline"]["template_match"]["top5"] == 0.0
    # steps=10: pwd for "show the current directory", wc -l for "count the lines"
    assert many["accuracy"]["pipeline"]["template_match"]["top5"] == pytest.approx(200 / 3)
    assert many["accuracy"]["pipeline"]["template_match"]["top1"] == 0.0
    assert few["diversity"]["distinct_per_query"] == 1.0 and many["diversity"]["distinct_per_query"] == 4.0
    assert many["validity"]["before"]["all"] == pytest.approx(80.0)
    assert many["validity"]["after"]["top1"] == 100.0
    assert many["pipeline"]["duplicates_dropped"] == 3 and many["pipeline"]["dangerous_shown"] == 3
    for name in ("r_accuracy_vs_steps.png", "r_latency_vs_steps.png"):
        png = tmp_path / name
        assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_eval_rejects_languages_the_model_does_not_serve(tmp_path, dev_file):
    opts = EvalOptions(data=dev_file, out=tmp_path / "r.json", progress=False)
    with pytest.raises(EvalError, match="does not serve cf, python"):
        run(opts, Source(generator=FakeGenerator()), source_info={"kind": "fake", "languages": ["bash"]})
