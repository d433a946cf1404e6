#!/usr/bin/env bash
# ResNet-18 and MobileNetV2 at 3x224x224 (tools/make_224_models.py: torchvision's layouts, untrained, seeded, with
# non-trivial BN statistics; made into $MODELS_224 on first use, default target/models-224) end to end:
#  1. the ONNX export and zsq's FP32 import against PyTorch's logits (bench/Real224Check.java: ONNX Runtime and
#     zsq's Fp32Engine on the 4 images make_224_models.py saved with PyTorch's logits);
#  2. zsq quantize, W8A8, data-free (--method zeroq, COUNT images in batches of BATCH_224, STEPS Adam steps), with
#     --eval on the first 8 CIFAR-10 test images resized to 224 (the labels mean nothing to these models: it is the
#     integer model's agreement with its fake-quant simulation and the ONNX exports' check that count);
#  3. zsq run on the written model (zsq-runtime, the CLI), and the integer model against PyTorch's logits
#     (Real224Check: cosine, argmax);
#  4. the PyTorch peer (bench/zeroq_torch.py, the same recipe and initial images) on one batch with as many threads
#     as zsq's Spark has cores (local[*]), for the synthesis time per step.
# Prints one table: synthesis s/step (zsq: the Spark job's wall time / steps, per round of `cores` batches, which
# holds JIT warm-up, the final-loss pass, diversity and writing; in-task: generation seconds per batch / (steps + 1))
# against PyTorch's, and the peak RSS of each process (GNU time %M; zsq: the JVM with its -Xmx8g heap and Spark).
# Usage: bench/real-224.sh [count (default: BATCH_224 x cores)] [steps (default 10)]
#   BATCH_224 (default 8); ZSQ=path/to/launcher replaces ./zsq; ZSQ_CP the class path for the Java check (default
#   spark-jobs/target/classes + spark-jobs/target/zsq.classpath, as ./zsq builds them).
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
SHARED="${SHARED:-$ROOT/../shared}"
CORES="$(nproc)"
B="${BATCH_224:-8}"
COUNT="${1:-$((B * CORES))}"; STEPS="${2:-10}"
[ "$COUNT" -lt "$B" ] && B="$COUNT"
ZSQ="${ZSQ:-$ROOT/zsq}"
M224="${MODELS_224:-$ROOT/target/models-224}"
OUT="${BENCH_OUT:-$ROOT/target/bench-real-224}"
PY=/usr/bin/python3
EVAL="$SHARED/data/cifar10/test_batch.bin"
IMAGENET=(--mean 0.485,0.456,0.406 --std 0.229,0.224,0.225)
mkdir -p "$OUT"
for m in resnet18 mobilenetv2; do
  if [ ! -f "$M224/$m.onnx" ] || [ ! -f "$M224/$m.check.logits.f32" ]; then
    echo "bench/real-224.sh: making $M224/$m.onnx (tools/make_224_models.py)" >&2
    "$PY" "$ROOT/tools/make_224_models.py" "$M224" --models "$m" > "$OUT/make-$m.txt" 2>&1 || { cat "$OUT/make-$m.txt"; exit 1; }
  fi
done
"$ZSQ" --version > /dev/null # builds on first use
CP="${ZSQ_CP:-$ROOT/spark-jobs/target/classes:$(cat "$ROOT/spark-jobs/target/zsq.classpath" 2>/dev/null)}"
check() { # MODEL [QUANTIZED_DIR]
  OMP_NUM_THREADS=1 java --add-modules jdk.incubator.vector -cp "$CP" "$ROOT/bench/Real224Check.java" "$M224/$1.onnx" "$M224/$1.check" \
      "${@:2}" 2> "$OUT/check.err" || { cat "$OUT/check.err"; exit 1; }
}
for m in resnet18 mobilenetv2; do
  Q="$OUT/$m-c$COUNT-s$STEPS"
  check "$m" | tee "$OUT/$m.fp32-check.txt"
  rm -rf "$Q"
  OMP_NUM_THREADS=1 /usr/bin/time -f %M -o "$Q.quantize.mem" "$ZSQ" quantize --model "$M224/$m.onnx" --out "$Q" "${IMAGENET[@]}" \
      --method zeroq --count "$COUNT" --batch "$B" --steps "$STEPS" --bits w8a8 --no-gaussian \
      --eval "$EVAL" --eval-resize 224 --eval-limit 8 --quiet > "$Q.quantize.txt" 2>&1 || { cat "$Q.quantize.txt"; exit 1; }
  OMP_NUM_THREADS=1 /usr/bin/time -f %M -o "$Q.run.mem" "$ZSQ" run --model "$Q" --data "$EVAL" --resize 224 --limit 8 --threads "$CORES" \
      > "$Q.run.txt" 2>&1 || { cat "$Q.run.txt"; exit 1; }
  grep '^zsq run' "$Q.run.txt"
  check "$m" "$Q" | grep 'integer model' | tee "$OUT/$m.int-check.txt"
  OMP_NUM_THREADS="$CORES" /usr/bin/time -f %M -o "$Q.torch.mem" "$PY" "$ROOT/bench/zeroq_torch.py" --arch "$m" --weights "$M224/$m.pt" \
      --threads "$CORES" --steps "$STEPS" --batch "$B" --init zsq --json "$Q.torch.json" > "$Q.torch.txt" 2>&1 || { cat "$Q.torch.txt"; exit 1; }
done
"$PY" - "$OUT" "$COUNT" "$STEPS" "$CORES" <<'PY'
import json, os, re, sys
out, count, steps, cores = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4])
mem = lambda f: int(open(f).read().split()[-1]) / 1024.0  # GNU time %M: KiB
print(f"\nsynth -> quantize (W8A8, data-free zeroq, {count} images, {steps} steps) -> run, 3x224x224, {cores} cores; "
      "PyTorch: one batch on as many threads")
print("| model | batches x batch | zsq synth s/step | zsq in-task s/step | PyTorch s/step | zsq / PyTorch img/s | zsq quantize peak RSS MB "
      "| PyTorch peak RSS MB | zsq run peak RSS MB | int8 vs PyTorch logits | agree w/ FQ | stage seconds |")
print("|---|---|---|---|---|---|---|---|---|---|---|---|")
for m in ["resnet18", "mobilenetv2"]:
    q = os.path.join(out, f"{m}-c{count}-s{steps}")
    r = json.load(open(os.path.join(q, "report.json")))
    t = json.load(open(q + ".torch.json"))
    s = r["synthesis"]
    b = s["spec"]["batch"]
    rounds = -(-s["batches"] // cores)  # batches run `cores` at a time
    zs = s["job_seconds"] / rounds / steps
    per_batch = s["generation_task_seconds"] / s["batches"]
    # images finished per second, both sides: zsq's job over all its batches, PyTorch's one batch
    ratio = s["images_per_second"] / t["images_per_second"]
    ic = open(os.path.join(out, f"{m}.int-check.txt")).read()
    cos = re.search(r"cosine ([0-9.]+), same argmax (\d+/\d+)", ic)
    row = next(x for x in r["results"] if x["calibration"] == "synthetic")
    st = "  ".join(f"{k} {v:.0f}" for k, v in r["stage_seconds"].items())
    print(f"| {m} | {s['batches']} x {b} | {zs:.3f} | {per_batch / (steps + 1):.3f} | {t['seconds_per_step']:.3f} | {ratio:.2f} | "
          f"{mem(q + '.quantize.mem'):.0f} | {mem(q + '.torch.mem'):.0f} | {mem(q + '.run.mem'):.0f} | cosine {cos.group(1)}, argmax {cos.group(2)} | "
          f"{row['agreement_with_fake_quant']:.2f}% | {st} |")
PY
