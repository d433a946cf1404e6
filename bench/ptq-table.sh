#!/usr/bin/env bash
# The Level-1 table of README.md: model x bits x observer x (without / with cross-layer equalization),
# integer top-1 on the Fashion-MNIST test set. Calibration: one synthetic set per model (zsq synth,
# default method, 256 images), per-channel weights, per-tensor activations, --bn-ranges auto (the
# default: BatchNorm-statistics ranges for 4-bit activations).
# Usage: bench/ptq-table.sh [eval-limit (default 10000)] ["observers" (default "minmax percentile kl mse")] ["bits"]
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
DATA=/usr/share/datasets/fashion-mnist
LIMIT="${1:-10000}"; OBSERVERS="${2:-minmax percentile kl mse}"; BITS="${3:-w8a8,w4a8,w4a4}"
OUT="${BENCH_OUT:-$ROOT/target/bench-table}"
PRE=(--mean 0.2860 --std 0.3530)
MODELS="${MODELS:-fmnist-resnet.onnx fmnist-dl4j-cnn.zip fmnist-mobilenet.onnx}"
for model in $MODELS; do
  d="$OUT/${model%%.*}"; mkdir -p "$d"
  [ -f "$d/synth/synth.json" ] || "$ROOT/zsq" synth --model "$ROOT/src/models/$model" --out "$d/synth" --count 256 "${PRE[@]}" --quiet > /dev/null
  for obs in $OBSERVERS; do
    for dfq in none cle; do
      extra=(); [ "$dfq" = cle ] && extra=(--equalize)
      [ -f "$d/$obs-$dfq/report.json" ] && continue
      "$ROOT/zsq" quantize --model "$ROOT/src/models/$model" --out "$d/$obs-$dfq" --calib "$d/synth" --eval "$DATA" \
        --eval-limit "$LIMIT" "${PRE[@]}" --no-gaussian --quiet --bits "$BITS" --observer "$obs" "${extra[@]}" > /dev/null
    done
  done
done
/usr/bin/python3 - "$OUT" "$BITS" "$OBSERVERS" <<'PY'
import json, os, sys
out, bits, observers = sys.argv[1], sys.argv[2].split(","), sys.argv[3].split()
for model in sorted(os.listdir(out)):
    first = None
    rows = []
    for obs in observers:
        for dfq in ["none", "cle"]:
            p = os.path.join(out, model, f"{obs}-{dfq}", "report.json")
            if not os.path.exists(p):
                continue
            r = json.load(open(p)); first = first or r
            v = {x["bits"]: x["int_top1"] for x in r["results"]}
            rows.append(f"| {obs} | {'CLE' if dfq == 'cle' else '-'} | " + " | ".join(f"{v[b]:.2f}" if b in v else "" for b in bits) + " |")
    if first:
        print(f"\n**{model}, FP32 {first['fp32_top1']:.2f} on {first['eval_images']} test images**\n")
        print("| observer | DFQ | " + " | ".join(b.upper() for b in bits) + " |")
        print("|---|---|" + "---|" * len(bits))
        print("\n".join(rows))
PY
