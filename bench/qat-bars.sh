#!/usr/bin/env bash
# Level 2 against Level 1 on the bundled Fashion-MNIST models (full test set), over seeds: for each model a
# synthetic pool (made once with zsq synth, default synthesis settings, COUNT images), then per seed one
# zsq quantize --level 2 run calibrating on it (Level 1) and fine-tuning on it (Level 2, the seed drives the
# fine-tuning's batches and augmentation). Prints one table: FP32, Level 1, Level 2 mean and spread (min..max).
# Usage: bench/qat-bars.sh [BITS (w4a4)] [seeds ("1 2 3")] [extra zsq quantize options]
# Env: MODELS (fmnist-resnet fmnist-mobilenet; also cifar-resnet32: ../shared/models/cifar10/resnet32.onnx on the CIFAR-10
# test set), COUNT (1024 / 2048 for the MobileNet), OUT (target/bench-qat), ZSQ (./zsq), SHARED (../shared)
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
ZSQ="${ZSQ:-$ROOT/zsq}"
BITS="${1:-w4a4}"; SEEDS="${2:-1 2 3}"; shift 2 || shift $# || true
OUT="${OUT:-$ROOT/target/bench-qat}"
SHARED="${SHARED:-$ROOT/../shared}"
mkdir -p "$OUT"
for m in ${MODELS:-fmnist-resnet fmnist-mobilenet}; do
  if [ "$m" = cifar-resnet32 ]; then # third-party, ImageNet preprocessing (its README)
    model="$SHARED/models/cifar10/resnet32.onnx"; DATA="$SHARED/data/cifar10/test_batch.bin"
    PRE=(--mean 0.485,0.456,0.406 --std 0.229,0.224,0.225)
  else
    model="$ROOT/src/models/$m.onnx"; DATA=/usr/share/datasets/fashion-mnist; PRE=(--mean 0.2860 --std 0.3530)
  fi
  count="${COUNT:-$([ "$m" = fmnist-mobilenet ] && echo 2048 || echo 1024)}"
  pool="$OUT/$m-pool-$count"
  [ -f "$pool/manifest.json" ] || "$ZSQ" synth --model "$model" --out "$pool" --count "$count" "${PRE[@]}" --quiet > "$pool.log" 2>&1
  for s in $SEEDS; do
    d="$OUT/$m-$BITS-seed$s"
    [ -f "$d/report.json" ] || "$ZSQ" quantize --model "$model" --out "$d" --bits "$BITS" --calib "$pool" --no-gaussian \
        --level 2 --seed "$s" --eval "$DATA" "${PRE[@]}" --quiet "$@" > "$d.txt" 2>&1 || { cat "$d.txt"; exit 1; }
  done
done
/usr/bin/python3 - "$OUT" "$BITS" "${MODELS:-fmnist-resnet fmnist-mobilenet}" $SEEDS <<'PY'
import json, os, statistics, sys
out, bits, models, seeds = sys.argv[1], sys.argv[2], sys.argv[3].split(), sys.argv[4:]
print(f"| model | FP32 | {bits} Level 1 | {bits} Level 2, mean (min..max) over seeds {', '.join(seeds)} | Level 2 - FP32 | L2 agree w/ FQ | s / step |")
print("|---|---|---|---|---|---|---|")
for m in models:
    reps = [json.load(open(os.path.join(out, f"{m}-{bits}-seed{s}", "report.json"))) for s in seeds]
    fp32 = reps[0]["fp32_top1"]
    l1 = [next(x for x in r["results"] if x["level"] == 1)["int_top1"] for r in reps]
    l2rows = [next(x for x in r["results"] if x["level"] == 2) for r in reps]
    l2 = [x["int_top1"] for x in l2rows]
    agree = min(x["agreement_with_fake_quant"] for x in l2rows)
    sps = statistics.mean(r["fine_tuning"][0]["seconds_per_step"] for r in reps)
    print(f"| {m} | {fp32:.2f} | {statistics.mean(l1):.2f} | **{statistics.mean(l2):.2f}** ({min(l2):.2f}..{max(l2):.2f}) | "
          f"{statistics.mean(l2) - fp32:+.2f} | {agree:.2f}% | {sps:.3f} |")
PY
