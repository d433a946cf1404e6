#!/usr/bin/env bash
# Issue-5 benchmark: for each bundled model, `zsq bench` (zsq-runtime int8 vs ONNX Runtime int8/FP32 vs
# the IR executor, batch 1 and 64, 1 and 2 threads) on its default W8A8 model, then the file sizes of
# the FP32 model, the W8A8 and the W4A8 (packed 4-bit weights) integer models and their ONNX exports.
# Usage: bench/runtime.sh [seconds per cell (default 5)]
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
SECONDS_PER_CELL="${1:-5}"
OUT="${BENCH_OUT:-$ROOT/target/bench-runtime}"
PRE=(--mean 0.2860 --std 0.3530)
MODELS="${MODELS:-fmnist-resnet.onnx fmnist-dl4j-cnn.zip fmnist-mobilenet.onnx}"
for model in $MODELS; do
  d="$OUT/${model%%.*}"; mkdir -p "$d"
  [ -f "$d/w8a8/model.zsq" ] || "$ROOT/zsq" quantize --model "$ROOT/src/models/$model" --out "$d/w8a8" "${PRE[@]}" --no-gaussian --quiet > /dev/null
  [ -f "$d/w4a8/model.zsq" ] || "$ROOT/zsq" quantize --model "$ROOT/src/models/$model" --out "$d/w4a8" --calib "$d/w8a8/calib" --bits w4a8 \
    "${PRE[@]}" --no-gaussian --quiet > /dev/null
done
for model in $MODELS; do
  d="$OUT/${model%%.*}"
  echo; "$ROOT/zsq" bench --model "$d/w8a8" --seconds "$SECONDS_PER_CELL" "${PRE[@]}" 2>/dev/null | sed -n '/^images/,/^zsq int8/p' | sed "1s/^/$model  /"
done
echo; echo "file sizes, bytes"
printf "%-24s %12s %12s %12s %12s %12s %12s\n" model "FP32" "W8A8 .zsq" "W8A8 QOp" "W8A8 QDQ" "W4A8 .zsq" "W4A8 QOp"
for model in $MODELS; do
  d="$OUT/${model%%.*}"
  printf "%-24s %12d %12d %12d %12d %12d %12d\n" "$model" "$(stat -c %s "$ROOT/src/models/$model")" "$(stat -c %s "$d/w8a8/model.zsq")" \
    "$(stat -c %s "$d/w8a8/model.qop.onnx")" "$(stat -c %s "$d/w8a8/model.qdq.onnx")" "$(stat -c %s "$d/w4a8/model.zsq")" "$(stat -c %s "$d/w4a8/model.qop.onnx")"
done
