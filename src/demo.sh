#!/usr/bin/env bash
# The demo: quantize the bundled ResNet-style ONNX model without data, evaluate on the real
# Fashion-MNIST test set (the integer model, its FP32 simulation and its two ONNX exports in ONNX
# Runtime), then run the written integer model alone. Usage: src/demo.sh [extra zsq quantize options]
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
DATA=/usr/share/datasets/fashion-mnist
if [ ! -f "$DATA/t10k-images-idx3-ubyte.gz" ]; then
  echo "demo: installing Debian's dataset-fashion-mnist (evaluation only; calibration never reads it)" >&2
  apt-get update -q && DEBIAN_FRONTEND=noninteractive apt-get install -y -q dataset-fashion-mnist >&2
fi
"$ROOT/zsq" quantize --model "$ROOT/src/models/fmnist-resnet.onnx" --out "$ROOT/demo-out" \
  --eval "$DATA" --mean 0.2860 --std 0.3530 "$@"
exec "$ROOT/zsq" run --model "$ROOT/demo-out" --data "$DATA"
