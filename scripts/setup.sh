#!/usr/bin/env bash
# Set up a fresh machine: a virtual environment in .venv with the project and its test tools.
# On a machine without CUDA the CPU build of torch is installed first (a bare `torch`
# requirement would pull a multi-GB CUDA build); with an NVIDIA driver, pip picks a CUDA build.
set -euo pipefail
cd "$(dirname "$0")/.."
PY=${PYTHON:-python3}
[ -x .venv/bin/python ] || "$PY" -m venv .venv
.venv/bin/python -m pip install -q --upgrade pip
if ! command -v nvidia-smi >/dev/null 2>&1; then
  .venv/bin/python -m pip install -q "torch==2.13.0"
fi
.venv/bin/python -m pip install -q -e ".[dev]"
echo "ready: .venv/bin/codefusion, .venv/bin/codefusion-lsp"
