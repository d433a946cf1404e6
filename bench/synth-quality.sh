#!/usr/bin/env bash
# Calibration-data quality table: for both bundled models, every source (Gaussian noise, ZeroQ, its
# combinations with label / DeepInversion / DSG terms, real training images of the same count), the
# same calibration (per-channel symmetric weights, per-tensor asymmetric activations) with the min-max
# and the percentile observer, at W8A8, W6A6, W4A8, W4A4.
# Usage: bench/synth-quality.sh [eval-limit (default 2000)] [count (default 256)]
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
DATA=/usr/share/datasets/fashion-mnist
LIMIT="${1:-2000}"; COUNT="${2:-256}"
OUT="${BENCH_OUT:-$ROOT/target/bench-quality}"
METHODS="${METHODS:-zeroq zeroq+label zeroq+label+di zeroq+label+dsg zeroq+label+di+dsg real}"
PRE=(--mean 0.2860 --std 0.3530)
for model in fmnist-resnet.onnx fmnist-dl4j-cnn.zip; do
  name="${model%%.*}"
  for m in $METHODS; do
    extra=(); [ "$m" = real ] && extra=(--real-data "$DATA")
    "$ROOT/zsq" synth --model "$ROOT/src/models/$model" --out "$OUT/$name/data-$m" --count "$COUNT" --method "$m" \
      "${PRE[@]}" "${extra[@]}" --quiet > /dev/null
    for obs in minmax percentile; do
      gauss=(--no-gaussian); [ "$m" = real ] && gauss=()   # the Gaussian rows once per model and observer
      "$ROOT/zsq" quantize --model "$ROOT/src/models/$model" --out "$OUT/$name/q-$m-$obs" --calib "$OUT/$name/data-$m" \
        --bits w8a8,w6a6,w4a8,w4a4 --observer "$obs" --eval "$DATA" --eval-limit "$LIMIT" "${PRE[@]}" "${gauss[@]}" --quiet > /dev/null
    done
  done
done
/usr/bin/python3 - "$OUT" "$METHODS" <<'PY'
import json, os, sys
out, methods = sys.argv[1], sys.argv[2].split()
bits = ["w8a8", "w6a6", "w4a8", "w4a4"]
for model in sorted(os.listdir(out)):
    for obs in ["minmax", "percentile"]:
        rows, fp32, n = {}, None, None
        for m in methods:
            p = os.path.join(out, model, f"q-{m}-{obs}", "report.json")
            if not os.path.exists(p):
                continue
            r = json.load(open(p))
            fp32, n = r["fp32_top1"], r["eval_images"]
            div = json.load(open(os.path.join(out, model, f"data-{m}", "synth.json"))).get("diversity_penultimate")
            for row in r["results"]:
                src = m if row["calibration"] in ("synthetic", "real") else "gaussian"
                rows.setdefault(src, [{}, div if src == m else None])[0][row["bits"]] = row["int_top1"]
        print(f"\n{model}, observer {obs}, {n} test images, FP32 {fp32:.2f}")
        print(f"{'source':24s} " + " ".join(f"{b:>7s}" for b in bits) + f" {'diversity':>10s}")
        for src in ["gaussian"] + methods:
            if src in rows:
                vals, div = rows[src]
                print(f"{src:24s} " + " ".join(f"{vals.get(b, float('nan')):7.2f}" for b in bits)
                      + (f" {div:10.3f}" if isinstance(div, (int, float)) else f" {'':>10s}"))
PY
