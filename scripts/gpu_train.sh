#!/usr/bin/env bash
# The shipped model's whole training run, as ONE script for a single GPU (or a CPU rehearsal).
# Several variants train side by side (small models leave an H100 mostly idle), each as
#   pre-train (unsupervised generation + CPD) -> fine-tune on all train splits
# (the AR baseline: fine-tune only), then every variant is evaluated on the dev splits and
# packed into $OUT (default: runs/gpu): NAME.tar.part-* per variant, eval.tgz, logs.tgz.
# Pick the shipped one on dev afterwards.
#
#   OUT=runs/gpu bash scripts/gpu_train.sh                       # full run (GPU)
#   SMOKE=1 DEVICE=cpu bash scripts/gpu_train.sh                 # seconds-long CPU rehearsal
# VARIANTS: "NAME=KIND:CONFIG:KEY=VAL,KEY=VAL ..." (model config overrides after the second colon).
#   KIND diffusion | ar: from scratch with the named config. KIND cont: CONFIG is a checkpoint,
#   fine-tuned further for FT_S seconds (no pre-training; overrides: engine.train.CHANGEABLE_AT_INIT),
#   so that training adds up over GPU sessions: VARIANTS="s10=cont:models/default:" FT_S=330
#   (carry .gpu; of models/ only default travels, or the tree is over 64 MiB).
# Device files: bash scripts/gpu_pack.sh writes .gpu/ (data, NL encoder, wheels); carry=[".gpu"].
# Budgets (seconds per variant): PRE_S FT_S; AR_S for kind ar. Several GPUs: LAUNCH="torchrun --nproc_per_node N"
# (then run one variant at a time: VARIANTS="d05=diffusion:small:x0_scale=0.5").
set -uo pipefail
cd "$(dirname "$0")/.."
OUT=${OUT:-runs/gpu}; W=${WORK:-/tmp/cf-work}; DEVICE=${DEVICE:-cuda}
PY=${PY:-python3}; LAUNCH=${LAUNCH:-$PY}
mkdir -p "$OUT/logs" "$W/eval"
OUT=$(cd "$OUT" && pwd)
if [ -d .gpu/whl ]; then  # the device machine has no tree-sitter/bashlex: bring wheels
  $PY -m pip install -q --no-index --no-deps --no-compile --no-cache-dir --upgrade --target /tmp/site .gpu/whl/*.whl \
    && export PYTHONPATH=/tmp/site:$PWD
fi
export PYTHONPATH=${PYTHONPATH:-$PWD}
if [ -f .gpu/minilm.tar.xz ]; then  # scripts/gpu_pack.sh: the NL encoder, xz to fit the 64 MiB transfer
  $PY -c "import tarfile, sys; tarfile.open(sys.argv[1]).extractall(sys.argv[2])" .gpu/minilm.tar.xz "$W" \
    && export CODEFUSION_MINILM_DIR=$W/minilm
elif [ -d .gpu/minilm ]; then
  export CODEFUSION_MINILM_DIR=$PWD/.gpu/minilm
fi
if [ -z "${DATA:-}" ]; then
  if [ -f .gpu/data.tgz ]; then tar xzf .gpu/data.tgz -C "$W" && DATA=$W/data; else DATA=../shared/data; fi
fi
ASKED_VARIANTS=${VARIANTS:-}
VARIANTS=${VARIANTS:-"s10=diffusion:small:x0_scale=0.1 s05=diffusion:small:x0_scale=0.05 m08=diffusion:small:x0_scale=0.08,d_model=384,n_heads=6,denoiser_layers=6,decoder_layers=3 ar=ar:small:"}
PRE_S=${PRE_S:-60}; FT_S=${FT_S:-330}; AR_S=${AR_S:-$((PRE_S + FT_S))}; BS=${BS:-256}
EVAL_STEPS=${EVAL_STEPS:-"3 10"}; EVAL_T=${EVAL_T:-150}; LIMIT=""
if [ -n "${SMOKE:-}" ]; then
  PRE_S=4; FT_S=6; AR_S=6; BS=8; EVAL_STEPS="2"; LIMIT="--limit 3"
  VARIANTS=${ASKED_VARIANTS:-"d05=diffusion:tiny:x0_scale=0.5 ar=ar:tiny:"}
fi
D=$DATA
FT_DATA="$D/bash/codefusion-train.jsonl $D/bash/tldr-train.jsonl $D/python/codefusion-train.jsonl $D/cf/codefusion-train.jsonl"
DEV="$D/bash/codefusion-dev.jsonl $D/python/codefusion-dev.jsonl $D/cf/codefusion-dev.jsonl"
log() { echo "[$(date +%T)] $*" | tee -a "$OUT/run.log"; }

ckpt_kind() {  # CHECKPOINT -> diffusion | ar
  $PY -c "import json, sys; print(json.load(open(sys.argv[1] + '/config.json'))['model']['kind'])" "$1"
}

train_variant() {  # NAME KIND CONFIG SETS
  local name=$1 kind=$2 cfg=$3 sets=${4//,/ } L="$OUT/logs/$1.log"
  if [ "$kind" = cont ]; then  # CONFIG is a checkpoint: fine-tune it further, FT_S seconds
    local dev=""
    [ "$(ckpt_kind "$cfg")" = diffusion ] && dev="--dev $DEV --eval-every 1000"
    $LAUNCH -m codefusion.cli train --init "$cfg" ${sets:+--set $sets} --device $DEVICE --out $W/$name --data $FT_DATA \
      $dev --batch-size $BS --max-steps 1000000 --time-budget $FT_S --save-every 2000 --no-progress >>"$L" 2>&1
  elif [ "$kind" = ar ]; then
    $LAUNCH -m codefusion.cli train --config $cfg --model ar --device $DEVICE --out $W/$name --data $FT_DATA \
      --batch-size $BS --max-steps 1000000 --time-budget $AR_S --save-every 0 --no-progress >>"$L" 2>&1
  else
    $LAUNCH -m codefusion.cli pretrain --config $cfg ${sets:+--set $sets} --device $DEVICE --out $W/$name-pre \
      --batch-size $BS --max-steps 1000000 --time-budget $PRE_S --save-every 0 --no-progress --tokenizer-data $FT_DATA \
      --data bash=$D/bash/codefusion-pretrain.txt cf=$D/cf/codefusion-pretrain.txt python=stdlib >>"$L" 2>&1
    $LAUNCH -m codefusion.cli train --config $cfg --init $W/$name-pre --device $DEVICE --out $W/$name --data $FT_DATA \
      --dev $DEV --batch-size $BS --max-steps 1000000 --time-budget $FT_S --eval-every 1000 --save-every 2000 \
      --no-progress >>"$L" 2>&1
  fi
  # pack at once: a later failure or timeout must not lose a trained model
  $PY -c "from engine.checkpoint import export_half; export_half('$W/$name', '$W/ship-$name')" >>"$L" 2>&1 &&
    cp $W/$name/metrics.jsonl $W/ship-$name/ && cp $W/$name/training_curve.png $W/ship-$name/ 2>/dev/null
  [ -f $W/$name-pre/metrics.jsonl ] && cp $W/$name-pre/metrics.jsonl $W/ship-$name/pre-metrics.jsonl
  tar cf - -C $W ship-$name | split -b 15M - "$OUT/$name.tar.part-"
  log "trained $name: $(tail -1 $W/$name/metrics.jsonl 2>/dev/null | cut -c1-200)"
}

eval_variant() {  # NAME KIND
  local name=$1 kind=$2 steps="$EVAL_STEPS"
  [ "$kind" = ar ] && steps=""
  for lang in bash python cf; do
    timeout $EVAL_T $PY -m codefusion eval --checkpoint $W/ship-$name --data $D/$lang/codefusion-dev.jsonl -k 5 \
      ${steps:+--steps $steps} --device $DEVICE --out $W/eval/$name-$lang.json --no-progress $LIMIT \
      >>"$OUT/logs/eval-$name.log" 2>&1 &
  done
  wait
}

log "device=$DEVICE data=$D variants=$VARIANTS"
$PY -c "import torch,transformers;print('torch',torch.__version__,'cuda',torch.cuda.is_available(),'transformers',transformers.__version__)" | tee -a "$OUT/run.log"
for v in $VARIANTS; do
  IFS=: read -r kind cfg sets <<<"${v#*=}"
  train_variant "${v%%=*}" "$kind" "$cfg" "$sets" &
done
wait
log "training done"
for v in $VARIANTS; do
  IFS=: read -r kind cfg sets <<<"${v#*=}"
  [ "$kind" = cont ] && kind=$(ckpt_kind "$cfg")
  [ -f $W/ship-${v%%=*}/model.safetensors ] && eval_variant "${v%%=*}" "$kind" &
done
wait
log "eval done"
# few files: the device machine sends back a limited number of files (and ~64 MB) per call
tar czf "$OUT/eval.tgz" -C $W eval && tar czf "$OUT/logs.tgz" -C "$OUT" logs && rm -rf "$OUT/logs"
if [ -z "${SMOKE:-}" ] && [ -n "${BENCH:-}" ]; then
  $PY -m engine.bench --device $DEVICE --configs small paper --steps 10 20 --repeats 5 --json $OUT/bench-$DEVICE.json 2>&1 \
    | grep -v Loading | tee -a "$OUT/run.log"
fi
log "done"; ls -la "$OUT"
