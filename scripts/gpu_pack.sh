#!/usr/bin/env bash
# Packs what scripts/gpu_train.sh needs on a GPU machine that has no network into the ignored
# folder .gpu/ (name it in the device call's `carry`):
#   .gpu/data.tgz        the train and dev splits and pre-training corpora (no test splits)
#   .gpu/minilm.tar.xz   the NL encoder (all-MiniLM-L6-v2) in fp16, xz-compressed: the working
#                        tree that travels is limited to 64 MiB, and a continued run carries
#                        models/default (19 MB) too
#   .gpu/whl/            wheels the device image lacks (tree-sitter, its grammars, bashlex)
# Run it here once (it needs .venv, see scripts/setup.sh):  bash scripts/gpu_pack.sh
# Environment: DATA (default ../shared/data), PY (default .venv/bin/python), GPU_PY (the device's
# Python version for the wheels, default 3.12).
set -euo pipefail
cd "$(dirname "$0")/.."
DATA=${DATA:-../shared/data}; PY=${PY:-.venv/bin/python}; GPU_PY=${GPU_PY:-3.12}
[ -d "$DATA" ] || { echo "gpu_pack: no data folder at $DATA (set DATA)" >&2; exit 1; }
OUT=.gpu
mkdir -p "$OUT"
grep -qx '/.gpu/' .gitignore || { echo "gpu_pack: .gpu/ must be git-ignored" >&2; exit 1; }

# --- data: stored under data/ whatever the folder is called here
tar czf "$OUT/data.tgz" --exclude='*test*' -C "$(dirname "$DATA")" \
    --transform "s,^$(basename "$DATA"),data," "$(basename "$DATA")"

# --- the NL encoder, fp16 (the engine loads fp16 copies as fp32)
staging=$(mktemp -d)
trap 'rm -rf "$staging"' EXIT
"$PY" - "$staging/minilm" <<'EOF'
import shutil, sys
from pathlib import Path

from safetensors.torch import load_file, save_file

from engine.config import DEFAULT_ENCODER
from engine.encoder import resolve_encoder_path

src, dst = resolve_encoder_path(DEFAULT_ENCODER), Path(sys.argv[1])
shutil.copytree(src, dst, ignore=shutil.ignore_patterns("*.safetensors", "*.bin", "onnx", "openvino", "*.h5"))
state = load_file(str(src / "model.safetensors"))
save_file({k: (v.half() if v.is_floating_point() else v) for k, v in state.items()},
          str(dst / "model.safetensors"), metadata={"format": "pt"})
EOF
tar cf - -C "$staging" minilm | xz -6 -T2 >"$OUT/minilm.tar.xz"
rm -rf "$OUT/minilm"  # an older, uncompressed copy

# --- wheels for the device's Python: the versions installed here
rm -rf "$OUT/whl" && mkdir -p "$OUT/whl"
pins=$("$PY" -c "import importlib.metadata as m
print(' '.join(f'{p}=={m.version(p)}' for p in ('tree-sitter', 'tree-sitter-bash', 'tree-sitter-python', 'bashlex')))")
# shellcheck disable=SC2086
"$PY" -m pip download -q --no-deps --only-binary=:all: --python-version "$GPU_PY" --implementation cp \
    --platform manylinux_2_28_x86_64 --platform manylinux_2_17_x86_64 --platform manylinux2014_x86_64 \
    --platform manylinux1_x86_64 -d "$OUT/whl" $pins 2>&1 | grep -v '^WARNING' || true
[ "$(ls "$OUT"/whl/*.whl | wc -l)" -eq 4 ] || { echo "gpu_pack: expected 4 wheels in $OUT/whl" >&2; exit 1; }
du -sh "$OUT"/* | sed 's/^/gpu_pack: /'
