"""scripts/bench_lsp.py runs against the real server and prints the figures it promises."""

import re
import subprocess
import sys

import pytest

from tests.lsp.conftest import REPO, SERVER_ENV

BENCH = str(REPO / "scripts" / "bench_lsp.py")


@pytest.mark.slow
def test_bench_prints_overhead_and_end_to_end_percentiles(tiny_ckpt):
    proc = subprocess.run(
        [
            sys.executable,
            BENCH,
            "--checkpoint",
            str(tiny_ckpt),
            "--device",
            "cpu",
            "--steps",
            "2",
            "--n",
            "5",
            "--e2e",
            "2",
        ],
        cwd=REPO,
        env=SERVER_ENV,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert proc.returncode == 0, proc.stderr
    for name in [
        "completion",
        "inlineCompletion",
        "codeAction",
        "codefusion.generate",
        "total",
        "model",
        "server (the rest)",
    ]:
        assert re.search(rf"^  {re.escape(name)}\s+p50\s+[\d.]+ ms\s+p95\s+[\d.]+ ms", proc.stdout, re.M), proc.stdout


def test_bench_without_a_model_says_so(tmp_path):
    proc = subprocess.run(
        [sys.executable, BENCH, "--checkpoint", str(tmp_path / "missing"), "--n", "1", "--e2e", "1"],
        cwd=REPO,
        env={**SERVER_ENV, "CODEFUSION_THREADS": "1"},
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert proc.returncode == 1 and "no usable model" in proc.stderr


@pytest.mark.slow
def test_bench_endurance_prints_latency_and_memory(tiny_ckpt):
    proc = subprocess.run(
        [
            sys.executable,
            BENCH,
            "--checkpoint",
            str(tiny_ckpt),
            "--device",
            "cpu",
            "--steps",
            "1",
            "--endurance",
            "120",
        ],
        cwd=REPO,
        env=SERVER_ENV,
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert proc.returncode == 0, proc.stderr
    assert re.search(r"first completion after ready: \d+ ms", proc.stdout), proc.stdout
    assert re.search(r"endurance, 120 completions on new comments: p50\s+[\d.]+ ms", proc.stdout), proc.stdout
    assert re.search(r"RSS growth from request 100 to 120: [+-][\d.]+ MB", proc.stdout), proc.stdout
