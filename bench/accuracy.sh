#!/usr/bin/env bash
# Accuracy table for README.md: the bundled models, full Fashion-MNIST test set, W8A8 / W4A8 / W4A4,
# synthetic (ZeroQ) vs Gaussian calibration, default synthesis settings. Prints one table per model.
# Usage: bench/accuracy.sh [extra zsq quantize options]
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
DATA=/usr/share/datasets/fashion-mnist
OUT="${BENCH_OUT:-$ROOT/target/bench}"
for m in ${MODELS:-fmnist-resnet.onnx fmnist-dl4j-cnn.zip fmnist-mobilenet.onnx}; do
  "$ROOT/zsq" quantize --model "$ROOT/src/models/$m" --out "$OUT/${m%%.*}" --eval "$DATA" \
    --mean 0.2860 --std 0.3530 --bits w8a8,w4a8,w4a4 --quiet "$@"
done
