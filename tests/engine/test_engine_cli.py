"""The `codefusion` CLI contract: generate (text and --json), train, errors."""

import json
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

import pytest

from engine.testing import write_pairs


def run(*args, timeout=300, env=None):
    return subprocess.run(
        [sys.executable, "-m", "codefusion.cli", *args], capture_output=True, text=True, timeout=timeout, env=env
    )


def test_generate_json_contract(untrained_ckpt):
    r = run(
        "generate",
        "find all python files",
        "--lang",
        "bash",
        "-k",
        "3",
        "--checkpoint",
        str(untrained_ckpt),
        "--json",
        "--raw",
        "--device",
        "cpu",
    )
    assert r.returncode == 0, r.stderr
    out = json.loads(r.stdout)  # --raw: the engine's k candidates
    assert isinstance(out, list) and len(out) == 3
    assert all(set(c) == {"code", "score"} and isinstance(c["code"], str) for c in out)
    assert [c["score"] for c in out] == sorted([c["score"] for c in out], reverse=True)
    r = run(
        "generate",
        "find all python files",
        "--lang",
        "bash",
        "-k",
        "3",
        "--checkpoint",
        str(untrained_ckpt),
        "--json",
        "--device",
        "cpu",
    )
    assert r.returncode == 0, r.stderr
    shown = json.loads(r.stdout)  # what an editor shows: the model's and the retrieved, de-duplicated, ranked
    assert 1 <= len(shown) <= 6 and len({c["code"] for c in shown}) == len(shown)
    from engine.schema import CANDIDATE_KEYS

    assert all(tuple(c) == CANDIDATE_KEYS for c in shown)  # the one candidate schema (engine.schema.CandidateView)
    assert {c["source"] for c in shown} <= {"model", "retrieval"} and "retrieval" in {c["source"] for c in shown}
    assert all(
        (c["origin"] == "retrieved") == (c["source"] == "retrieval") for c in shown
    )  # tests/codefusion/test_labels.py


def test_generate_text_lists_k_candidates(untrained_ckpt):
    r = run(
        "generate",
        "count lines in file.txt",
        "--lang",
        "bash",
        "-k",
        "2",
        "--steps",
        "4",
        "--checkpoint",
        str(untrained_ckpt),
        "--raw",
    )
    assert r.returncode == 0, r.stderr
    assert "[1] score" in r.stdout and "[2] score" in r.stdout
    assert r.stderr == ""  # quiet on success: no third-party bars or warnings


def test_generate_text_goes_through_the_pipeline(untrained_ckpt):
    """Default text output: no two candidates are the same program (k=8 from a tiny model repeats)."""
    r = run(
        "generate",
        "count lines in file.txt",
        "--lang",
        "bash",
        "-k",
        "8",
        "--steps",
        "4",
        "--checkpoint",
        str(untrained_ckpt),
        "--no-retrieval",
    )
    assert r.returncode == 0, r.stderr
    # split on newlines only: an untrained model's programs hold control characters that splitlines() splits on
    lines = [line for line in r.stdout.split("\n") if not line.startswith("warning: ")]
    codes = [lines[i + 1] for i, line in enumerate(lines) if line.startswith("[")]
    assert codes and len(codes) == len(set(codes)) <= 8


def test_unknown_language_and_missing_default_model(tmp_path):
    r = run("generate", "x", "--lang", "cobol")
    assert r.returncode == 2
    env = {**os.environ, "CODEFUSION_CHECKPOINT": str(tmp_path / "nope")}
    r = run("generate", "list files", "--lang", "bash", env=env)
    assert r.returncode == 1 and "checkpoint directory not found" in r.stderr


@pytest.mark.slow
def test_train_tiny_and_resume(tmp_path):
    data = write_pairs(tmp_path / "p.jsonl")
    out = tmp_path / "ck"
    r = run(
        "train",
        "--config",
        "tiny",
        "--data",
        str(data),
        "--out",
        str(out),
        "--max-steps",
        "12",
        "--save-every",
        "6",
        "--device",
        "cpu",
        "--no-progress",
    )
    assert r.returncode == 0, r.stderr
    for f in (
        "model.safetensors",
        "config.json",
        "tokenizer.json",
        "card.md",
        "train_state.safetensors",
        "train_state.json",
        "metrics.jsonl",
        "training_curve.png",
    ):
        assert (out / f).exists(), f
    assert json.loads((out / "train_state.json").read_text())["step"] == 12
    r = run(
        "train",
        "--config",
        "tiny",
        "--data",
        str(data),
        "--out",
        str(out),
        "--max-steps",
        "16",
        "--resume",
        "--device",
        "cpu",
        "--no-progress",
    )
    assert r.returncode == 0, r.stderr
    assert "resumed from" in r.stderr
    assert json.loads((out / "train_state.json").read_text())["step"] == 16
    steps = [json.loads(line)["step"] for line in (out / "metrics.jsonl").read_text().splitlines()]
    assert steps == sorted(steps) and steps[-1] <= 16


@pytest.mark.slow
def test_init_keeps_the_checkpoints_config_and_refuses_a_different_one(tmp_path, tiny_ckpt):
    data = write_pairs(tmp_path / "p.jsonl")
    cfg = json.loads((Path(tiny_ckpt) / "config.json").read_text())["model"]
    common = (
        "train",
        "--config",
        "tiny",
        "--data",
        str(data),
        "--init",
        str(tiny_ckpt),
        "--max-steps",
        "2",
        "--save-every",
        "0",
        "--device",
        "cpu",
        "--no-progress",
    )
    r = run(*common, "--out", str(tmp_path / "bad"), "--set", f"d_model={cfg['d_model'] * 2}")
    assert r.returncode == 1 and "options differ" in r.stderr and "d_model" in r.stderr, r.stderr
    assert not (tmp_path / "bad" / "model.safetensors").exists()
    r = run(*common, "--out", str(tmp_path / "bad2"), "--model", "ar")
    assert r.returncode == 1 and "kind='ar'" in r.stderr, r.stderr
    # the same values (e.g. repeating a command with --resume) are fine; loss weights and sampling
    # defaults may change
    r = run(
        *common,
        "--out",
        str(tmp_path / "ok"),
        "--set",
        f"d_model={cfg['d_model']}",
        "pad_weight=0.25",
        "--model",
        cfg["kind"],
    )
    assert r.returncode == 0, r.stderr
    assert json.loads((tmp_path / "ok" / "config.json").read_text())["model"] == {**cfg, "pad_weight": 0.25}


def test_train_errors_are_one_line(tmp_path):
    r = run("train", "--config", "nosuch", "--data", "x.jsonl", "--out", str(tmp_path / "o"))
    assert r.returncode == 2 and "unknown config" in r.stderr and "Traceback" not in r.stderr
    r = run("train", "--config", "tiny", "--data", str(tmp_path / "missing.jsonl"), "--out", str(tmp_path / "o"))
    assert r.returncode == 1 and "data file not found" in r.stderr


@pytest.mark.slow
def test_pretrain_tasks_run(tmp_path):
    bash = tmp_path / "bash.txt"
    bash.write_text("ls -la\nfind . -name '*.py'\nif [ -f x ]; then echo hi; fi\n")
    cf = tmp_path / "cf.txt"
    cf.write_text("GreaterThan(5)\nTextContains(abc)\n")
    r = run(
        "pretrain",
        "--config",
        "tiny",
        "--data",
        f"bash={bash}",
        f"cf={cf}",
        "--out",
        str(tmp_path / "pre"),
        "--max-steps",
        "6",
        "--device",
        "cpu",
        "--no-progress",
    )
    assert r.returncode == 0, r.stderr
    cfg = json.loads((tmp_path / "pre" / "config.json").read_text())
    assert cfg["train"]["task"] == "pretrain"


@pytest.mark.slow
def test_torchrun_two_processes_gloo(tmp_path):
    data = write_pairs(tmp_path / "p.jsonl")
    out = tmp_path / "ddp"
    env = {**os.environ, "CODEFUSION_THREADS": "1", "OMP_NUM_THREADS": "1"}
    r = subprocess.run(
        [
            sys.executable,
            "-m",
            "torch.distributed.run",
            "--standalone",
            "--nproc_per_node",
            "2",
            "-m",
            "codefusion.cli",
            "train",
            "--config",
            "tiny",
            "--data",
            str(data),
            "--out",
            str(out),
            "--max-steps",
            "6",
            "--device",
            "cpu",
            "--no-progress",
        ],
        capture_output=True,
        text=True,
        timeout=600,
        env=env,
    )
    assert r.returncode == 0, r.stderr[-3000:]
    cfg = json.loads((out / "config.json").read_text())
    assert cfg["world_size"] == 2 and cfg["step"] == 6
    assert Path(out / "model.safetensors").exists()


def test_set_options_are_coerced_to_the_field_type():
    from engine.api import EngineError
    from engine.train import coerce_option

    assert coerce_option("self_condition", True, "false") is False
    assert coerce_option("self_condition", False, "Yes") is True
    assert coerce_option("x0_scale", 1.0, "0.1") == 0.1
    assert coerce_option("d_model", 256, "384") == 384
    with pytest.raises(EngineError, match="true or false"):
        coerce_option("self_condition", True, "maybe")
    with pytest.raises(EngineError, match="takes a int"):
        coerce_option("d_model", 256, "wide")


def test_version_and_validation_before_the_model_loads():
    import subprocess
    import sys
    import time

    def cli(*args):
        return subprocess.run(
            [sys.executable, "-m", "codefusion.cli", *args], capture_output=True, text=True, timeout=120
        )

    r = cli("--version")
    assert r.returncode == 0 and r.stdout.startswith("codefusion ")
    for args, msg in (
        (["   ", "--lang", "bash"], "empty"),
        (["x", "--lang", "bash", "-k", "0"], "k must be"),
        (["x", "--lang", "bash", "--steps", "0"], "steps must be"),
    ):
        t0 = time.perf_counter()
        r = cli("generate", *args, "--checkpoint", "/nonexistent")
        assert r.returncode != 0 and msg in r.stderr and len(r.stderr.strip().splitlines()) == 1
        assert time.perf_counter() - t0 < 30  # no model was loaded (the checkpoint does not even exist)


def test_check_reports_danger_flags():
    import subprocess
    import sys

    r = subprocess.run(
        [sys.executable, "-m", "codefusion.cli", "check", "--lang", "bash", "rm -rf /"],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert r.returncode == 0 and "warning:" in r.stdout and "/" in r.stdout
    r = subprocess.run(
        [sys.executable, "-m", "codefusion.cli", "check", "--lang", "bash", "ls -la"],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert r.returncode == 0 and "warning" not in r.stdout


@pytest.fixture
def runtime_dir():
    """A short XDG_RUNTIME_DIR: a socket's path has at most 107 bytes, and under pytest -n tmp_path's is longer
    (/tmp/pytest-of-root/pytest-165/popen-gw0/test_generate_daemon_answers_l0/codefusion/<name>.sock: 114)."""
    from codefusion import daemon

    d = Path(tempfile.mkdtemp(prefix="cfd-", dir="/tmp"))
    yield d
    for sock in (d / "codefusion").glob("*.sock"):  # a daemon a failed test left running
        daemon.stop(sock)
    shutil.rmtree(d, ignore_errors=True)


@pytest.mark.slow
def test_generate_daemon_answers_like_the_cli_and_stays_warm(untrained_ckpt, runtime_dir):
    """`generate --daemon` starts a background process on first use; later calls reuse it and give
    what the plain command gives."""
    env = {**os.environ, "XDG_RUNTIME_DIR": str(runtime_dir)}
    args = (
        "generate",
        "find all python files",
        "--lang",
        "bash",
        "-k",
        "3",
        "--steps",
        "2",
        "--checkpoint",
        str(untrained_ckpt),
        "--device",
        "cpu",
        "--json",
    )
    plain = run(*args, env=env)
    first = run(*args, "--daemon", env=env)
    second = run(*args, "--daemon", env=env)
    assert plain.returncode == first.returncode == second.returncode == 0, first.stderr + second.stderr
    assert json.loads(plain.stdout) == json.loads(first.stdout) == json.loads(second.stdout)
    assert first.stderr == second.stderr == ""
    (sock,) = (runtime_dir / "codefusion").glob("*.sock")
    assert oct(sock.stat().st_mode & 0o777) == "0o600"
    from codefusion import daemon

    assert "error" in daemon.request(sock, {"nl": 3})  # a bad request is answered, the daemon goes on
    assert run(*args, "--daemon", env=env).returncode == 0
    assert len(daemon.request(sock, {"nl": "x", "lang": "bash", "k": 1, "raw": True})["raw"]) == 1
    assert daemon.request(sock, {"shutdown": True}) == {"stopped": True}


@pytest.mark.slow
def test_request_from_stdin_or_a_file_and_bad_requests_are_one_line(untrained_ckpt, tmp_path):
    r = subprocess.run(
        [
            sys.executable,
            "-m",
            "codefusion",
            "generate",
            "-",
            "--lang",
            "bash",
            "--raw",
            "--json",
            "-k",
            "2",
            "--checkpoint",
            str(untrained_ckpt),
        ],
        input="count lines in file.txt",
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert r.returncode == 0 and len(json.loads(r.stdout)) == 2, r.stderr
    big = tmp_path / "nl.txt"
    big.write_text("count lines " * 200_000)  # 2.4 MB: more than argv takes, and than a request may hold
    r = run("generate", "--nl-file", str(big), "--lang", "bash", "--raw", "--checkpoint", str(untrained_ckpt))
    assert r.returncode == 2 and "2400000 characters long; the limit is" in r.stderr and not r.stdout, r.stderr
    for args, msg in [
        (("generate", "--lang", "bash"), "no request"),
        (("generate", "--nl-file", str(tmp_path / "none.txt"), "--lang", "bash"), "FileNotFoundError"),
        (("generate", "x", "--nl-file", str(big), "--lang", "bash"), "not both"),
    ]:
        r = run(*args)
        assert r.returncode in (1, 2) and msg in r.stderr and "Traceback" not in r.stderr, r.stderr
    r = subprocess.run(
        [sys.executable, "-m", "codefusion", "generate", b"ab\xff", "--lang", "bash"],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert r.returncode == 1 and "not valid UTF-8" in r.stderr and "Traceback" not in r.stderr


def test_check_refuses_deep_nesting_in_one_line():
    r = run("check", "--lang", "cf", "NOT(" * 250)
    assert r.returncode == 1 and "nested more than" in r.stdout and "Traceback" not in r.stderr
