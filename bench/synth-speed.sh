#!/usr/bin/env bash
# Synthesis speed, zsq vs PyTorch, in one run: the ZeroQ recipe (BN-statistics matching, Adam lr 0.5 on
# the input, clamped to the valid pixel range), batch 32, the bundled ResNet-style model, the same
# thread count for both: PyTorch with T intra-op threads on one batch of 32, zsq with Spark local[T]
# on T batches of 32 (one task each, OMP_NUM_THREADS=1). Images/s exclude start-up (model load, JVM,
# Spark session). Usage: bench/synth-speed.sh [steps (default 500)] [thread counts (default "1 2")]
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
STEPS="${1:-500}"; THREADS="${2:-1 2}"
OUT="$(mktemp -d)"
printf '\nZeroQ synthesis, ResNet-style model, batch 32, %s Adam steps (%s, %s cores)\n' "$STEPS" "$(uname -m)" "$(nproc)"
printf '%-8s %16s %16s %10s\n' "threads" "PyTorch img/s" "zsq img/s" "zsq/PyTorch"
for T in $THREADS; do
  torch_line=$(OMP_NUM_THREADS="$T" /usr/bin/python3 "$ROOT/bench/zeroq_torch.py" --threads "$T" --steps "$STEPS" --batch 32)
  torch_ips=$(echo "$torch_line" | sed 's/.*images\/s \([0-9.]*\).*/\1/')
  OMP_NUM_THREADS=1 "$ROOT/zsq" synth --model "$ROOT/src/models/fmnist-resnet.onnx" --out "$OUT/zsq-$T" --count $((32 * T)) \
    --batch 32 --steps "$STEPS" --method zeroq --threads "$T" --mean 0.2860 --std 0.3530 --quiet > "$OUT/zsq-$T.json"
  zsq_ips=$(grep '"images_per_second"' "$OUT/zsq-$T.json" | sed 's/.*: //; s/,//')
  printf '%-8s %16.3f %16.3f %10.2f\n' "$T" "$torch_ips" "$zsq_ips" "$(echo "$zsq_ips / $torch_ips" | bc -l)"
done
rm -rf "$OUT"
