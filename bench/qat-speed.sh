#!/usr/bin/env bash
# Level-2 fine-tuning speed, zsq vs PyTorch, side by side in one run, one table: the bundled fmnist-resnet
# (1x28x28) and the third-party CIFAR-10 ResNet-32 (../shared/models/cifar10, 3x32x32), W4A4 by default.
# The same recipe both sides (`zsq quantize --level 2`, zsq-qat; bench/qat_torch.py): the BN-folded student with
# LSQ step sizes (weights per channel, activations per tensor) and int32-rounded biases, T^2 KL to the FP32
# teacher (T = 4), Adam (zsq's defaults: lr 3e-5, log-domain step sizes at 1e-3; PyTorch: 1e-4, additive step sizes at 1e-3:
# the same work per step), cosine schedule, a batch of BATCH (default 64) images
# a step from a pool of as many, each randomly shifted by up to 1/8 of the side and flipped. Thread counts as
# bench/synth-speed-real.sh: PyTorch with T intra-op threads on the whole batch; zsq on Spark local[T] (the
# system property spark.master through ZSQ_JAVA_OPTS: `quantize` has no --threads), OMP_NUM_THREADS=1, a
# step's batch cut into micro-batches of 16, one task each.
# zsq's calibration set (its pool) is made first with `zsq synth` (64 images, 20 steps, not timed) and read
# by both quantize runs of a model through --calib; PyTorch draws N(0, 1) images clamped to the pixel range
# (the images' values do not change the work of a step).
# Seconds per step: zsq's is report.json fine_tuning[0].seconds_per_step, the fine-tuning loop's wall time over
# its steps, JIT warm-up and each step's broadcast of the parameters included (start-up, Level 1, lowering and
# export are outside); it runs WARMUP + STEPS steps. PyTorch runs the same count: WARMUP (default 3) untimed
# steps, then STEPS timed ones, reported as their median and mean, and as the mean over all WARMUP + STEPS
# steps (zsq's definition). PyTorch / zsq = PyTorch's time over zsq's (above 1: zsq is faster), from the
# timed-steps mean ("steady") and from the all-steps mean (like for like). Peak RSS: GNU time's %M of each
# process (zsq's: the whole quantize run, Level 1 included, its heap up to -Xmx, default 8g).
# Usage: bench/qat-speed.sh [steps (default 20)] [thread counts (default 2)]
#   e.g. bench/qat-speed.sh 20 "1 2"; MODELS="fmnist-resnet resnet32" picks rows; BITS (default w4a4);
#   BATCH (default 64); WARMUP (default 3); ZSQ=path/to/launcher replaces ./zsq (e.g. one that does not
#   install); ZSQ_JAVA_OPTS (default -Xmx8g) gets -Dspark.master=local[T] appended.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
SHARED="${SHARED:-$ROOT/../shared}"
STEPS="${1:-20}"; THREADS="${2:-2}"
BITS="${BITS:-w4a4}"; BATCH="${BATCH:-64}"; WARMUP="${WARMUP:-3}"
MODELS="${MODELS:-fmnist-resnet resnet32}"
ZSQ="${ZSQ:-$ROOT/zsq}"
JOPTS="${ZSQ_JAVA_OPTS:--Xmx8g}"
PY=/usr/bin/python3
case "$BITS" in w[2-8]a[2-8]) ;; *) echo "bench/qat-speed.sh: BITS must be wNaM, not $BITS" >&2; exit 1 ;; esac
[ "${BITS:1:1}" = "${BITS:3:1}" ] || { echo "bench/qat-speed.sh: bench/qat_torch.py takes one width for both (w4a4, w8a8, ...), not $BITS" >&2; exit 1; }
OUT="$(mktemp -d)"; trap 'rm -rf "$OUT"' EXIT
"$ZSQ" --version > /dev/null # builds on first use, outside the measurement
IMAGENET=(--mean 0.485,0.456,0.406 --std 0.229,0.224,0.225)
printf '\nLevel-2 fine-tuning (distillation, LSQ), zsq vs PyTorch %s, same recipe, %s, %s, %s cores (%s)\n' \
  "$("$PY" -c 'import torch; print(torch.__version__)' 2>/dev/null)" "$BITS" "$(uname -m)" "$(nproc)" \
  "$(grep -m1 'model name' /proc/cpuinfo | sed 's/.*: //')"
printf 'batch %s from a pool of %s, %s + %s steps a run (warm-up + timed); s/step excludes start-up on both sides; zsq'"'"'s is over all its steps (JIT warm-up included)\n\n' \
  "$BATCH" "$BATCH" "$WARMUP" "$STEPS"
echo "| model | input | threads | zsq s/step (all steps) | zsq median | PyTorch s/step median | PyTorch mean | PyTorch mean, all steps | PyTorch / zsq steady (medians) | PyTorch / zsq all steps | PyTorch peak RSS MB | zsq peak RSS MB | parameters PyTorch / zsq |"
echo "|---|---|---|---|---|---|---|---|---|---|---|---|---|"
for m in $MODELS; do
  case "$m" in
    fmnist-resnet) onnx="$ROOT/src/models/fmnist-resnet.onnx"; targ=(--arch fmnist-resnet); pre=(--mean 0.2860 --std 0.3530) ;;
    resnet32) onnx="$SHARED/models/cifar10/resnet32.onnx"; targ=(--arch cifar-resnet32 --model "$onnx"); pre=("${IMAGENET[@]}") ;;
    *) echo "bench/qat-speed.sh: unknown model $m (fmnist-resnet resnet32)" >&2; exit 1 ;;
  esac
  calib="$OUT/calib-$m"
  "$ZSQ" synth --model "$onnx" --out "$calib" --count "$BATCH" --batch 32 --steps 20 "${pre[@]}" --quiet > "$OUT/synth.json" 2> "$OUT/synth.err" \
    || { cat "$OUT/synth.err"; exit 1; }
  for T in $THREADS; do
    OMP_NUM_THREADS="$T" /usr/bin/time -f %M -o "$OUT/torch.mem" "$PY" "$ROOT/bench/qat_torch.py" "${targ[@]}" --bits "$BITS" --threads "$T" \
        --steps "$STEPS" --warmup "$WARMUP" --batch "$BATCH" --pool "$BATCH" --json "$OUT/torch.json" > "$OUT/torch.txt" 2>&1 \
      || { cat "$OUT/torch.txt"; exit 1; }
    rm -rf "$OUT/zsq"
    OMP_NUM_THREADS=1 ZSQ_JAVA_OPTS="$JOPTS -Dspark.master=local[$T]" /usr/bin/time -f %M -o "$OUT/zsq.mem" "$ZSQ" quantize --model "$onnx" \
        --out "$OUT/zsq" --bits "$BITS" --level 2 --qat-steps $((WARMUP + STEPS)) --qat-batch "$BATCH" --qat-checkpoint-every 0 \
        --calib "$calib" --no-gaussian "${pre[@]}" --quiet > "$OUT/zsq.txt" 2>&1 || { cat "$OUT/zsq.txt"; exit 1; }
    "$PY" - "$m" "$T" "$OUT" <<'PY'
import json, os, sys
m, T, out = sys.argv[1], int(sys.argv[2]), sys.argv[3]
t = json.load(open(os.path.join(out, "torch.json")))
z = json.load(open(os.path.join(out, "zsq", "report.json")))["fine_tuning"][0]
mem = lambda f: int(open(os.path.join(out, f)).read().split()[-1]) / 1024.0  # GNU time %M: KiB
zs = z["seconds_per_step"]
steps = t["step_seconds"] + t["warmup_seconds"]
allmean = sum(steps) / len(steps)
if z["settings"]["steps"] != len(steps):
    sys.exit(f"zsq ran {z['settings']['steps']} steps, PyTorch {len(steps)}")
print(f"| {m} | {'x'.join(map(str, t['input']))} | {T} | {zs:.4f} | {z['median_seconds_per_step']:.4f} | {t['seconds_per_step_median']:.4f} | {t['seconds_per_step_mean']:.4f} | "
      f"{allmean:.4f} | {t['seconds_per_step_median'] / z['median_seconds_per_step']:.2f} | {allmean / zs:.2f} | {mem('torch.mem'):.0f} | {mem('zsq.mem'):.0f} | "
      f"{t['parameters']} / {z['parameters']} |")
PY
  done
done
echo
echo "(the two sides start from different step sizes and ranges, zsq's Level 1 against min/max here, and see different images;"
echo " the work of a step does not depend on them. zsq's figure includes its JIT warm-up: over few steps it is an upper bound)"
