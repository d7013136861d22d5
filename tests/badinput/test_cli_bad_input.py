"""The command line's bad-input suite (tests/badinput/cli_cases.py): each case's exit code and
message, no traceback ever, and one line on stderr for each failure."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.badinput.cli_cases import CLI_CASES, CliCase
from tests.badinput.harness import ENV, REPO, tracebacks

pytestmark = pytest.mark.slow

PROGRAMS = {"codefusion": [sys.executable, "-m", "codefusion"], "codefusion-lsp": [sys.executable, "-m", "lsp"]}


def _arg(a, tmp: Path, ckpt: Path):
    if isinstance(a, bytes):  # an argument that is not valid UTF-8 reaches Python as surrogate escapes
        return os.fsdecode(a)
    return a.replace("{tmp}", str(tmp)).replace("{ckpt}", str(ckpt))


@pytest.mark.parametrize("case", CLI_CASES, ids=[c.name for c in CLI_CASES])
def test_cli_bad_input(case: CliCase, untrained_ckpt, tmp_path):
    if case.setup:
        case.setup(tmp_path, Path(untrained_ckpt))
    argv = PROGRAMS[case.program] + [_arg(a, tmp_path, Path(untrained_ckpt)) for a in case.argv]
    env = {k: v for k, v in ENV.items() if k != "CODEFUSION_ENGINE_TOKEN"}
    r = subprocess.run(
        argv, input=case.stdin if case.stdin is not None else b"", capture_output=True, env=env, cwd=REPO, timeout=120
    )
    out, err = r.stdout.decode("utf-8", "replace"), r.stderr.decode("utf-8", "replace")
    assert not tracebacks(err) and not tracebacks(out), f"traceback:\n{err[-2000:]}"
    assert r.returncode == case.code, f"{case.description()}: exit {r.returncode}\nstderr: {err[-1000:]}"
    text = (err + out).lower()
    assert case.words.lower() in text, f"{case.description()}: {case.words!r} not in:\n{text[-1000:]}"
    if case.code != 0:  # one line at most (argparse's usage block before it aside; check lists errors on stdout)
        lines = [line for line in err.splitlines() if line.strip() and not line.startswith(("usage:", " "))]
        assert len(lines) <= 1, f"{case.description()}: more than one line on stderr:\n{err[-1000:]}"


def test_the_whole_suite_has_at_least_130_cases():
    from tests.badinput.lsp_cases import CASES

    assert len(CASES) + len(CLI_CASES) >= 130
