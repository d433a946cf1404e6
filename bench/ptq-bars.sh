#!/usr/bin/env bash
# Level-1 PTQ bars of issue 4, per bundled model, on synthetic calibration data made once per model
# (zsq synth, default method, 256 images) and, for the upper bound, the first 256 training images:
#   dfq    per-tensor weights W8A8/W4A8 without DFQ, with cross-layer equalization, and with it + bias correction
#   best   per-channel weights with the chosen observer, synthetic vs real data, W8A8/W6A6/W4A8/W4A4
#   mixed  uniform W4A8 vs mixed precision at the same weight size (--size-budget 0.5x)
# Usage: bench/ptq-bars.sh [eval-limit (default 10000)] [observer for "best" (default mse)]
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
DATA=/usr/share/datasets/fashion-mnist
LIMIT="${1:-10000}"; OBS="${2:-mse}"
OUT="${BENCH_OUT:-$ROOT/target/bench-ptq}"
PRE=(--mean 0.2860 --std 0.3530)
MODELS="${MODELS:-fmnist-resnet.onnx fmnist-dl4j-cnn.zip fmnist-mobilenet.onnx}"
q() { # name model calib-args... -- quantize-args...
  local name=$1 model=$2; shift 2
  "$ROOT/zsq" quantize --model "$ROOT/src/models/$model" --out "$OUT/${model%%.*}/$name" --eval "$DATA" --eval-limit "$LIMIT" \
    "${PRE[@]}" --no-gaussian --quiet "$@" > /dev/null
}
for model in $MODELS; do
  d="$OUT/${model%%.*}"; mkdir -p "$d"
  [ -f "$d/synth/synth.json" ] || "$ROOT/zsq" synth --model "$ROOT/src/models/$model" --out "$d/synth" --count 256 "${PRE[@]}" --quiet > /dev/null
  q dfq-none "$model" --calib "$d/synth" --bits w8a8,w4a8 --weight-granularity tensor
  q dfq-eq "$model" --calib "$d/synth" --bits w8a8,w4a8 --weight-granularity tensor --equalize
  q dfq-eq-bc "$model" --calib "$d/synth" --bits w8a8,w4a8 --weight-granularity tensor --equalize --bias-correction auto
  q best-synthetic "$model" --calib "$d/synth" --bits w8a8,w6a6,w4a8,w4a4 --observer "$OBS"
  q best-real "$model" --method real --real-data "$DATA" --count 256 --bits w8a8,w6a6,w4a8,w4a4 --observer "$OBS"
  q uniform-w4a8 "$model" --calib "$d/synth" --bits w4a8
  q mixed-w4a8 "$model" --calib "$d/synth" --bits w4a8 --size-budget 0.5x
done
/usr/bin/python3 - "$OUT" <<'PY'
import json, os, sys
out = sys.argv[1]
for model in sorted(os.listdir(out)):
    def rep(name):
        p = os.path.join(out, model, name, "report.json")
        return json.load(open(p)) if os.path.exists(p) else None
    base = rep("best-synthetic")
    if not base:
        continue
    print(f"\n{model}: FP32 {base['fp32_top1']:.2f} on {base['eval_images']} test images")
    print(f"{'run':18s} {'w8a8':>7s} {'w6a6':>7s} {'w4a8':>7s} {'w4a4':>7s}  weight bytes")
    for name in ["dfq-none", "dfq-eq", "dfq-eq-bc", "best-synthetic", "best-real", "uniform-w4a8", "mixed-w4a8"]:
        r = rep(name)
        if not r:
            continue
        v = {x["bits"]: x["int_top1"] for x in r["results"]}
        mp = r.get("mixed_precision")
        wb = mp["chosen_weight_bytes"] if mp else ""
        print(f"{name:18s} " + " ".join(f"{v[b]:7.2f}" if b in v else f"{'':>7s}" for b in ["w8a8", "w6a6", "w4a8", "w4a4"]) + f"  {wb}")
PY
