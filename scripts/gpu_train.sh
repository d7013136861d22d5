#!/usr/bin/env bash
# Launches scripts/gpu_train.py (the whole training run: variants, evaluation, packing; see its
# docstring). Options come as flags or as the environment variables it documents, e.g.
#   OUT=runs/gpu bash scripts/gpu_train.sh
#   SMOKE=1 DEVICE=cpu bash scripts/gpu_train.sh
# Its exit status is the program's: 1 when a variant failed, 2 for a malformed variant.
set -euo pipefail
cd "$(dirname "$0")/.."
exec "${PY:-python3}" scripts/gpu_train.py "$@"
