#!/usr/bin/env bash
# Synthesis speed, zsq vs PyTorch, in one run: the ZeroQ recipe (BN-statistics matching, Adam lr 0.5 on
# the input, clamped to the valid pixel range), 500 steps, batch 32, the bundled ResNet-style model,
# the same thread count for both. Usage: bench/synth-speed.sh [threads] [steps]
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
T="${1:-1}"; STEPS="${2:-500}"
OUT="$(mktemp -d)"
export OMP_NUM_THREADS="$T"
torch_line=$(/usr/bin/python3 "$ROOT/bench/zeroq_torch.py" --threads "$T" --steps "$STEPS" --batch 32)
"$ROOT/zsq" synth --model "$ROOT/src/models/fmnist-resnet.onnx" --out "$OUT/zsq" --count 32 --batch 32 --steps "$STEPS" \
  --method zeroq --threads 1 --mean 0.2860 --std 0.3530 --quiet > "$OUT/zsq.json"
zsq_ips=$(grep images_per_second_per_task "$OUT/zsq.json" | sed 's/.*: //; s/,//')
torch_ips=$(echo "$torch_line" | sed 's/.*images\/s \([0-9.]*\).*/\1/')
printf '\nZeroQ synthesis, ResNet-style model, batch 32, %s Adam steps, %s thread(s) (%s)\n' "$STEPS" "$T" "$(uname -m)"
printf '%-28s %12s\n' "engine" "images/s"
printf '%-28s %12.3f\n' "PyTorch (CPU)" "$torch_ips"
printf '%-28s %12.3f\n' "zsq (ND4J im2col + GEMM)" "$zsq_ips"
printf '%-28s %12.2f\n' "ratio zsq / PyTorch" "$(echo "$zsq_ips / $torch_ips" | bc -l)"
rm -rf "$OUT"
