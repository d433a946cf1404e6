#!/usr/bin/env bash
# Synthesis speed and peak memory on real model shapes, zsq vs PyTorch, side by side in one run, one table:
# the bundled fmnist-resnet (1x28x28), the third-party CIFAR-10 ResNet-32 (../shared/models/cifar10, 3x32x32),
# and ResNet-18 and MobileNetV2 at 3x224x224 (tools/make_224_models.py, made into $MODELS_224 on first use,
# default target/models-224: untrained, seeded, with non-trivial BN statistics; never committed).
# The same ZeroQ recipe both sides (`zsq synth --method zeroq`; bench/zeroq_torch.py: BN-statistics matching
# plus the input prior, Adam lr 0.5 on the input, clamped to the valid pixel range; both start from zsq's
# initial images, --init zsq), the same thread count as bench/synth-speed.sh: PyTorch with T intra-op threads
# on one batch, zsq with Spark local[T] on T batches (one task each, OMP_NUM_THREADS=1).
# Images/s = images finished per second of optimization; start-up (JVM, Spark session, model load) excluded
# on both sides. zsq's figure is its synth.json images_per_second (the Spark job's wall time), which also
# holds the JIT warm-up of the first steps, one more loss-and-gradient pass per batch (the final loss), the
# diversity forward pass and writing the batch; "in-task s/step" leaves those out but the warm-up
# (generation_task_seconds / T / (steps + 1)). Peak RSS: GNU time's %M of each process (zsq: the JVM, its
# heap up to ZSQ_JAVA_OPTS' -Xmx, default 8g, and Spark; PyTorch: the python process).
# Usage: bench/synth-speed-real.sh [steps (default 100)] [thread counts (default 2)]
#   the 224x224 models take min(steps, STEPS_224 (default 10)) steps at batch BATCH_224 (default 8), the
#   others batch BATCH (default 32); MODELS="fmnist-resnet resnet32 resnet18 mobilenetv2" picks rows;
#   ZSQ=path/to/launcher replaces ./zsq (e.g. one that does not install).
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
SHARED="${SHARED:-$ROOT/../shared}"
STEPS="${1:-100}"; THREADS="${2:-2}"
S224="${STEPS_224:-10}"; [ "$STEPS" -lt "$S224" ] && S224="$STEPS"
BATCH="${BATCH:-32}"; B224="${BATCH_224:-8}"
MODELS="${MODELS:-fmnist-resnet resnet32 resnet18 mobilenetv2}"
ZSQ="${ZSQ:-$ROOT/zsq}"
M224="${MODELS_224:-$ROOT/target/models-224}"
PY=/usr/bin/python3
OUT="$(mktemp -d)"; trap 'rm -rf "$OUT"' EXIT
for m in resnet18 mobilenetv2; do
  if [[ " $MODELS " == *" $m "* && ! -f "$M224/$m.onnx" ]]; then
    echo "bench/synth-speed-real.sh: making $M224/$m.onnx (tools/make_224_models.py, not timed)" >&2
    "$PY" "$ROOT/tools/make_224_models.py" "$M224" --models "$m" > "$OUT/make-$m.txt" 2>&1 || { cat "$OUT/make-$m.txt"; exit 1; }
  fi
done
"$ZSQ" --version > /dev/null # builds on first use, outside the measurement
IMAGENET=(--mean 0.485,0.456,0.406 --std 0.229,0.224,0.225)
printf '\nZeroQ synthesis, zsq vs PyTorch %s, same recipe and initial images, %s, %s cores (%s)\n' \
  "$("$PY" -c 'import torch; print(torch.__version__)' 2>/dev/null)" "$(uname -m)" "$(nproc)" \
  "$(grep -m1 'model name' /proc/cpuinfo | sed 's/.*: //')"
printf '28x28 and 32x32: batch %s, %s Adam steps; 224x224: batch %s, %s steps (kept short for 2 cores: a couple of minutes a side)\n' \
  "$BATCH" "$STEPS" "$B224" "$S224"
printf 'img/s and s/step exclude start-up; zsq'"'"'s include JIT warm-up, the final-loss pass, diversity and the write (in-task: without the last three)\n\n'
echo "| model | input | batch | steps | threads | PyTorch img/s | PyTorch s/step | zsq img/s | zsq s/step | zsq in-task s/step | zsq / PyTorch | PyTorch peak RSS MB | zsq peak RSS MB | final loss PyTorch / zsq |"
echo "|---|---|---|---|---|---|---|---|---|---|---|---|---|---|"
for m in $MODELS; do
  case "$m" in
    fmnist-resnet) onnx="$ROOT/src/models/fmnist-resnet.onnx"; targ=(--arch fmnist-resnet); pre=(--mean 0.2860 --std 0.3530); b="$BATCH"; s="$STEPS" ;;
    resnet32) onnx="$SHARED/models/cifar10/resnet32.onnx"; targ=(--arch cifar-resnet32 --model "$onnx"); pre=("${IMAGENET[@]}"); b="$BATCH"; s="$STEPS" ;;
    resnet18|mobilenetv2) onnx="$M224/$m.onnx"; targ=(--arch "$m" --weights "$M224/$m.pt"); pre=("${IMAGENET[@]}"); b="$B224"; s="$S224" ;;
    *) echo "bench/synth-speed-real.sh: unknown model $m (fmnist-resnet resnet32 resnet18 mobilenetv2)" >&2; exit 1 ;;
  esac
  for T in $THREADS; do
    OMP_NUM_THREADS="$T" /usr/bin/time -f %M -o "$OUT/torch.mem" "$PY" "$ROOT/bench/zeroq_torch.py" "${targ[@]}" --threads "$T" \
        --steps "$s" --batch "$b" --init zsq --json "$OUT/torch.json" > "$OUT/torch.txt" 2>&1 || { cat "$OUT/torch.txt"; exit 1; }
    rm -rf "$OUT/zsq"
    OMP_NUM_THREADS=1 /usr/bin/time -f %M -o "$OUT/zsq.mem" "$ZSQ" synth --model "$onnx" --out "$OUT/zsq" --count $((b * T)) --batch "$b" \
        --steps "$s" --method zeroq --threads "$T" "${pre[@]}" --quiet > "$OUT/zsq.json" 2> "$OUT/zsq.err" || { cat "$OUT/zsq.err"; exit 1; }
    "$PY" - "$m" "$T" "$OUT" <<'PY'
import json, os, sys
m, T, out = sys.argv[1], int(sys.argv[2]), sys.argv[3]
t = json.load(open(os.path.join(out, "torch.json")))
z = json.load(open(os.path.join(out, "zsq.json")))
mem = lambda f: int(open(os.path.join(out, f)).read().split()[-1]) / 1024.0  # GNU time %M: KiB
steps = z["spec"]["steps"]
zs = z["job_seconds"] / steps if steps else float("nan")
zt = z["generation_task_seconds"] / T / (steps + 1)
print(f"| {m} | {'x'.join(map(str, t['input']))} | {t['batch']} | {steps} | {T} | {t['images_per_second']:.3f} | {t['seconds_per_step']:.4f} | "
      f"{z['images_per_second']:.3f} | {zs:.4f} | {zt:.4f} | {z['images_per_second'] / t['images_per_second']:.2f} | "
      f"{mem('torch.mem'):.0f} | {mem('zsq.mem'):.0f} | {t['final_loss']:.4f} / {z['mean_final_loss']:.4f} |")
PY
  done
done
echo
echo "(zsq's final loss is the mean over its T batches; its batch 0 starts from PyTorch's images, so at T = 1 the two agree to float"
echo " rounding; on the 224x224 models to 2-4 digits, as a pre-activation within float32 rounding of 0 (or 6) may fall on the other side of"
echo " a ReLU (ReLU6) in one engine, and Adam's first steps move every pixel by about lr whatever the size of its gradient)"
