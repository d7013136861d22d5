"""The linter and the type checker (issue 25): scripts/test.sh runs them before the tests, and the configuration in
pyproject.toml means what it says (strict on the typed joints, the default checks elsewhere)."""

import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
BIN = Path(sys.executable).parent
UNTYPED = "def untyped(x):\n    return x\n"


def test_test_sh_runs_ruff_and_mypy_before_the_tests():
    lines = [line.split("#")[0].strip() for line in (REPO / "scripts" / "test.sh").read_text().splitlines()]
    want = [".venv/bin/ruff check", ".venv/bin/ruff format --check", ".venv/bin/mypy"]
    found = [next((i for i, line in enumerate(lines) if line.startswith(w)), None) for w in want]
    assert None not in found, dict(zip(want, found))
    pytest_at = next(i for i, line in enumerate(lines) if "-m pytest" in line)
    assert max(found) < pytest_at
    assert "set -euo pipefail" in lines  # a finding stops the run


def test_mypy_is_strict_on_the_typed_joints_and_basic_elsewhere(tmp_path):
    """An unannotated function is an error in engine.schema (a strict module) and none in engine.plots."""
    (tmp_path / "engine").mkdir()
    (tmp_path / "engine" / "__init__.py").write_text("")
    for name in ("schema", "plots"):
        (tmp_path / "engine" / f"{name}.py").write_text(UNTYPED)
    cmd = [str(BIN / "mypy"), "--config-file", str(REPO / "pyproject.toml"), "--cache-dir", "/dev/null"]
    r = subprocess.run(
        [*cmd, "engine/schema.py", "engine/plots.py"], cwd=tmp_path, capture_output=True, text=True, timeout=120
    )
    assert r.returncode == 1, r.stdout + r.stderr
    errors = [line for line in r.stdout.splitlines() if ": error:" in line]
    assert len(errors) == 1, r.stdout
    assert errors[0].startswith("engine/schema.py:1:") and "[no-untyped-def]" in errors[0], r.stdout


def test_ruff_finds_what_its_rules_name(tmp_path):
    """The rule set in pyproject.toml is the one that runs: an unused import (F401) and a mutable default
    argument (B006) are findings."""
    path = tmp_path / "bad.py"
    path.write_text("import os\n\n\ndef f(x=[]):\n    return x\n")
    r = subprocess.run(
        [str(BIN / "ruff"), "check", "--config", str(REPO / "pyproject.toml"), "--output-format", "concise", str(path)],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert r.returncode == 1
    assert "F401" in r.stdout and "B006" in r.stdout, r.stdout
