#!/usr/bin/env bash
# The shipped model's whole training run, as ONE script for a single GPU (or CPU smoke test):
# pre-train (unsupervised generation + CPD) -> fine-tune on all train splits -> AR baseline
# of the same size -> dev evaluation -> benchmark. Results land in $OUT (default: runs/gpu).
#
#   DATA=../shared/data OUT=runs/gpu bash scripts/gpu_train.sh            # full run (GPU)
#   SMOKE=1 DEVICE=cpu bash scripts/gpu_train.sh                          # seconds-long CPU rehearsal
# Budgets (seconds): PRE_S FT_S AR_S. Several GPUs: set LAUNCH="torchrun --nproc_per_node N".
set -uo pipefail
cd "$(dirname "$0")/.."
OUT=${OUT:-runs/gpu}; W=${WORK:-/tmp/cf-work}; DEVICE=${DEVICE:-cuda}
PY=${PY:-python3}; LAUNCH=${LAUNCH:-$PY}
mkdir -p "$OUT" "$W"
if [ -d .gpu/whl ]; then  # the device machine has no tree-sitter/bashlex: bring wheels
  $PY -m pip install -q --no-index --no-deps --no-compile --no-cache-dir --upgrade --target /tmp/site .gpu/whl/*.whl \
    && export PYTHONPATH=/tmp/site:$PWD
fi
export PYTHONPATH=${PYTHONPATH:-$PWD}
[ -d .gpu/minilm ] && export CODEFUSION_MINILM_DIR=$PWD/.gpu/minilm
if [ -z "${DATA:-}" ]; then
  if [ -f .gpu/data.tgz ]; then tar xzf .gpu/data.tgz -C "$W" && DATA=$W/data; else DATA=../shared/data; fi
fi
PRE_S=${PRE_S:-45}; FT_S=${FT_S:-140}; AR_S=${AR_S:-35}; BS=${BS:-256}; EVAL_STEPS=${EVAL_STEPS:-"3 10"}; EVAL_T=${EVAL_T:-75}
EXTRA=""
if [ -n "${SMOKE:-}" ]; then PRE_S=5; FT_S=8; AR_S=5; BS=8; EVAL_STEPS="2"; EXTRA="--config tiny"; LIMIT="--limit 4"; fi
CFG=${EXTRA:---config small}
D=$DATA
FT_DATA="$D/bash/codefusion-train.jsonl $D/bash/tldr-train.jsonl $D/python/codefusion-train.jsonl $D/cf/codefusion-train.jsonl"
DEV="$D/bash/codefusion-dev.jsonl $D/python/codefusion-dev.jsonl $D/cf/codefusion-dev.jsonl"
log() { echo "[$(date +%T)] $*" | tee -a "$OUT/run.log"; }
pack_ckpt() {
  for m in ft ar; do
    if [ -f $W/$m/model.safetensors ] && [ ! -d $W/ship-$m ]; then
      $PY -c "from engine.checkpoint import export_half; export_half('$W/$m', '$W/ship-$m')"
      tar cf - -C $W ship-$m | split -b 15M - "$OUT/$m.tar.part-"
    fi
  done
}
pack_logs() {
  mkdir -p $W/eval
  cp $W/pre/metrics.jsonl $W/eval/pre-metrics.jsonl 2>/dev/null
  cp $W/ft/metrics.jsonl $W/eval/ft-metrics.jsonl 2>/dev/null; cp $W/ft/training_curve.png $W/eval/ 2>/dev/null
  cp $W/ar/metrics.jsonl $W/eval/ar-metrics.jsonl 2>/dev/null; cp "$OUT/run.log" $W/eval/ 2>/dev/null
  tar czf "$OUT/logs.tgz" -C $W eval
}
log "device=$DEVICE data=$D"
$PY -c "import torch,transformers;print('torch',torch.__version__,'cuda',torch.cuda.is_available(),'transformers',transformers.__version__)" | tee -a "$OUT/run.log"

log "pre-train ($PRE_S s)"
$LAUNCH -m engine.cli pretrain $CFG --device $DEVICE --out $W/pre --batch-size $BS --max-steps 100000 \
  --time-budget $PRE_S --save-every 0 --no-progress --tokenizer-data $FT_DATA \
  --data bash=$D/bash/codefusion-pretrain.txt cf=$D/cf/codefusion-pretrain.txt python=stdlib 2>&1 | tail -5 | tee -a "$OUT/run.log"

log "fine-tune ($FT_S s)"
INIT="--init $W/pre"; [ -f $W/pre/model.safetensors ] || INIT=""
$LAUNCH -m engine.cli train $CFG --device $DEVICE --out $W/ft $INIT --data $FT_DATA --dev $DEV \
  --batch-size $BS --max-steps 100000 --time-budget $FT_S --eval-every 500 --save-every 2000 --no-progress 2>&1 | tail -5 | tee -a "$OUT/run.log"

log "AR baseline ($AR_S s)"
$LAUNCH -m engine.cli train $CFG --model ar --device $DEVICE --out $W/ar --data $FT_DATA \
  --batch-size $BS --max-steps 100000 --time-budget $AR_S --save-every 0 --no-progress 2>&1 | tail -3 | tee -a "$OUT/run.log"

pack_ckpt; pack_logs
log "bench"
$PY -m engine.bench --device $DEVICE --configs small paper --steps 10 20 --repeats 5 --json $W/eval/bench-$DEVICE.json ${SMOKE:+--configs tiny --steps 2 --repeats 2 --no-train} 2>&1 | grep -v Loading | tee -a "$OUT/run.log"

mkdir -p $W/eval
for m in ft ar; do
  [ -f $W/$m/model.safetensors ] || continue
  for lang in bash python cf; do
    steps="$EVAL_STEPS"; [ $m = ar ] && steps=""
    log "eval $m $lang"
    T=$EVAL_T; [ $lang = python ] && T=40; [ $lang = cf ] && T=30; [ $m = ar ] && [ $lang = bash ] && T=60
    timeout $T $PY -m grammar.cli eval --checkpoint $W/$m --data $D/$lang/codefusion-dev.jsonl -k 5 ${steps:+--steps $steps} \
      --device $DEVICE --out $W/eval/$m-$lang.json --no-progress ${LIMIT:-} 2>&1 | tail -2 | tee -a "$OUT/run.log"
    pack_logs
  done
done
log "pack"
pack_logs
log "done"; ls -la "$OUT"
