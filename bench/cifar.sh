#!/usr/bin/env bash
# Level-1 table of the third-party CIFAR-10 ResNets as shipped (../shared/models/cifar10): the whole
# CIFAR-10 test set, W8A8 / W6A6 / W4A4, each calibrated on the synthetic set (data-free, default
# synthesis), on Gaussian noise (the lower bound) and on the 5,000 real training images (the upper
# bound, NOT data-free), with the same observer and granularity. Prints one table.
# Usage: bench/cifar.sh [N test images (default all)] [extra zsq quantize options]
# A user without ../shared gets the data from the CIFAR-10 home page (cifar-10-binary.tar.gz: test_batch.bin)
# and the models from pytorch_resnet_cifar10 exported as ../shared/models/cifar10/README.md says.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
SHARED="${SHARED:-$ROOT/../shared}"
DATA="$SHARED/data/cifar10"
LIMIT="${1:-0}"; shift || true
OUT="${BENCH_OUT:-$ROOT/target/bench-cifar}"
PRE=(--mean 0.485,0.456,0.406 --std 0.229,0.224,0.225)
BITS=w8a8,w6a6,w4a4
mkdir -p "$OUT"
for m in ${MODELS:-resnet32 resnet44}; do
  d="$OUT/$m"
  [ -f "$d/synthetic/report.json" ] || "$ROOT/zsq" quantize --model "$SHARED/models/cifar10/$m.onnx" --out "$d/synthetic" \
      --eval "$DATA/test_batch.bin" --eval-limit "$LIMIT" "${PRE[@]}" --bits "$BITS" --quiet "$@" > "$d.synthetic.txt" 2>&1 || { cat "$d.synthetic.txt"; exit 1; }
  [ -f "$d/real/report.json" ] || "$ROOT/zsq" quantize --model "$SHARED/models/cifar10/$m.onnx" --out "$d/real" \
      --eval "$DATA/test_batch.bin" --eval-limit "$LIMIT" "${PRE[@]}" --bits "$BITS" --no-gaussian --quiet \
      --method real --real-data "$DATA/train_5000.bin" "$@" > "$d.real.txt" 2>&1 || { cat "$d.real.txt"; exit 1; }
done
/usr/bin/python3 - "$OUT" ${MODELS:-resnet32 resnet44} <<'PY'
import json, os, sys
out, models = sys.argv[1], sys.argv[2:]
print("| model (FP32) | bits | synthetic (data-free) | Gaussian noise | real, 256 training images (not data-free) | agree w/ FQ |")
print("|---|---|---|---|---|---|")
for m in models:
    s = json.load(open(os.path.join(out, m, "synthetic", "report.json")))
    r = json.load(open(os.path.join(out, m, "real", "report.json")))
    def row(rep, bits, cal):
        return next((x for x in rep["results"] if x["bits"] == bits and x["calibration"] == cal), None)
    first = True
    for bits in ["w8a8", "w6a6", "w4a4"]:
        a, g, re_ = row(s, bits, "synthetic"), row(s, bits, "gaussian"), row(r, bits, "real")
        name = f"{m} ({s['fp32_top1']:.2f}, {s['eval_images']} images)" if first else ""
        first = False
        print(f"| {name} | {bits.upper()} | {a['int_top1']:.2f} | {g['int_top1']:.2f} | {re_['int_top1']:.2f} | {a['agreement_with_fake_quant']:.2f}% |")
    st = s["stage_seconds"]
    print(f"|  | stage seconds | synthesize {st.get('synthesize', 0):.0f} | calibrate {st.get('calibrate', 0):.0f} | evaluate {st.get('evaluate', 0):.0f} | |")
PY
