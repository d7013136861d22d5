#!/usr/bin/env bash
# Set up a fresh machine: a virtual environment in .venv with what `codefusion generate` and the language
# server need, and nothing else (pyproject.toml's dependencies). Extras, named as arguments:
#   bash scripts/setup.sh            the lean install (no Ray, no test tools, no Neovim, no matplotlib)
#   bash scripts/setup.sh dev        + everything the test suite uses (scripts/test.sh runs this)
#   bash scripts/setup.sh serve      + Ray Serve for `codefusion serve`;  eval: + matplotlib for plots
#
# torch: on a machine without an NVIDIA driver this installs torch==2.13.0 from the index pip is
# configured with. Whether that wheel is the CPU build depends on the index: PyPI's Linux wheel
# of torch is the CUDA build (several GB with its nvidia-* wheels); PyTorch's CPU index serves the
# CPU build. Choose with:
#   CODEFUSION_TORCH_INDEX=URL   pip's --index-url for torch (e.g. PyTorch's CPU wheel index)
#   CODEFUSION_TORCH="torch==X"  another requirement; "skip" keeps the torch already installed
# With an NVIDIA driver, pip picks torch (a CUDA build) from the project's requirements.
set -euo pipefail
cd "$(dirname "$0")/.."
EXTRAS=$(IFS=,; echo "$*")
case "$EXTRAS" in *[!a-z,]*) echo "setup.sh: extras are names such as dev, serve, eval (got '$EXTRAS')" >&2; exit 2;; esac
PY=${PYTHON:-python3}
[ -x .venv/bin/python ] || "$PY" -m venv .venv
.venv/bin/python -m pip install -q --upgrade pip
TORCH=${CODEFUSION_TORCH:-"torch==2.13.0"}
if [ "$TORCH" != skip ] && ! command -v nvidia-smi >/dev/null 2>&1; then
  if [ -n "${CODEFUSION_TORCH_INDEX:-}" ]; then
    .venv/bin/python -m pip install -q --index-url "$CODEFUSION_TORCH_INDEX" "$TORCH"
  else
    .venv/bin/python -m pip install -q "$TORCH"
  fi
fi
.venv/bin/python -m pip install -q -e ".${EXTRAS:+[$EXTRAS]}"
.venv/bin/python - <<'PY'
import torch
build = f"CUDA {torch.version.cuda}" if torch.version.cuda else "CPU"
print(f"torch {torch.__version__} ({build} build)")
PY
echo "ready: .venv/bin/codefusion, .venv/bin/codefusion-lsp"
