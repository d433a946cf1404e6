#!/usr/bin/env bash
# The GPU engine (ONNX Runtime, here on its CPU provider: --device onnxruntime-cpu) against zsq's Vector API engine
# (--device cpu) on this machine, side by side in one run, one table per part:
#  1. speed: synthesis (zsq synth, --method zeroq+label+di+dsg, the default; images per second per task, from
#     synth.json's generation seconds, one task at a time: --threads 1) and the Level-2 step (zsq quantize --level 2,
#     W4A4, batch QAT_BATCH in micro-batches of MICRO, Spark local[1]; report.json's median s/step), per model:
#     the bundled ResNet (1x28x28), the CIFAR-10 ResNet-32 (3x32x32, ../shared/models/cifar10), and a 3x224x224
#     ResNet-18 (tools/make_224_models.py, made into $MODELS_224 on first use);
#  2. with ACCURACY=1, the whole pipeline on the bundled ResNet, W4A4, data-free, on each engine: synthesis of
#     ACC_COUNT images, Level 1, Level 2 (the defaults), evaluated on the full Fashion-MNIST test set.
# Usage: bench/device-speed.sh [synthesis steps (default 20)] [Level-2 steps (default 23)]
#   MODELS ("fmnist-resnet resnet32 resnet18-224"); ZSQ=path/to/launcher replaces ./zsq; ACCURACY=1; ACC_COUNT (1024).
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
SHARED="${SHARED:-$ROOT/../shared}"
SYN_STEPS="${1:-20}"; QAT_STEPS="${2:-23}"
MODELS="${MODELS:-fmnist-resnet resnet32 resnet18-224}"
ZSQ="${ZSQ:-$ROOT/zsq}"
M224="${MODELS_224:-$ROOT/target/models-224}"
PY=/usr/bin/python3
OUT="$(mktemp -d)"; trap 'rm -rf "$OUT"' EXIT
export OMP_NUM_THREADS=1
"$ZSQ" --version > /dev/null
IMAGENET=(--mean 0.485,0.456,0.406 --std 0.229,0.224,0.225)
printf '\nzsq engines on this machine: %s, %s cores (%s), ONNX Runtime %s (CPU provider)\n\n' "$(uname -m)" "$(nproc)" \
  "$(grep -m1 'model name' /proc/cpuinfo | sed 's/.*: //')" "$(ls ~/.m2/repository/com/microsoft/onnxruntime/onnxruntime 2>/dev/null | tail -1)"
echo "| model | input | stage | work | Vector API (cpu) | ONNX Runtime CPU (onnxruntime-cpu) | ORT / Vector API time | final loss cpu / ort |"
echo "|---|---|---|---|---|---|---|---|"
for m in $MODELS; do
  case "$m" in
    fmnist-resnet) onnx="$ROOT/src/models/fmnist-resnet.onnx"; pre=(--mean 0.2860 --std 0.3530); batch=32; qb=64; micro=16 ;;
    resnet32) onnx="$SHARED/models/cifar10/resnet32.onnx"; pre=("${IMAGENET[@]}"); batch=32; qb=64; micro=16 ;;
    resnet18-224)
      [ -f "$M224/resnet18.onnx" ] || "$PY" "$ROOT/tools/make_224_models.py" --out "$M224" > /dev/null
      onnx="$M224/resnet18.onnx"; pre=("${IMAGENET[@]}"); batch=8; qb=8; micro=8 ;;
    *) echo "bench/device-speed.sh: unknown model $m" >&2; exit 1 ;;
  esac
  input="$("$PY" -c "import onnx,sys; m=onnx.load(sys.argv[1]); d=m.graph.input[0].type.tensor_type.shape.dim; print('x'.join(str(x.dim_value) for x in d[1:]))" "$onnx")"
  declare -A ips loss sps ql
  for dev in cpu onnxruntime-cpu; do
    "$ZSQ" synth --model "$onnx" --out "$OUT/synth-$m-$dev" --count "$batch" --batch "$batch" --steps "$SYN_STEPS" "${pre[@]}" \
        --threads 1 --device "$dev" --quiet > "$OUT/synth.json" 2> "$OUT/synth.err" || { cat "$OUT/synth.err"; exit 1; }
    ips[$dev]="$("$PY" -c "import json,sys; r=json.load(open(sys.argv[1])); print(f\"{r['images_per_second_per_task']:.2f}\")" "$OUT/synth.json")"
    loss[$dev]="$("$PY" -c "import json,sys; r=json.load(open(sys.argv[1])); print(f\"{r['mean_final_loss']:.4f}\")" "$OUT/synth.json")"
    rm -rf "$OUT/q-$dev"
    ZSQ_JAVA_OPTS="-Xmx8g -Dspark.master=local[1]" "$ZSQ" quantize --model "$onnx" --out "$OUT/q-$dev" --bits w4a4 --level 2 \
        --qat-steps "$QAT_STEPS" --qat-batch "$qb" --qat-micro-batch "$micro" --qat-checkpoint-every 0 --calib "$OUT/synth-$m-cpu" \
        --no-gaussian "${pre[@]}" --device "$dev" --quiet > "$OUT/q.txt" 2>&1 || { cat "$OUT/q.txt"; exit 1; }
    sps[$dev]="$("$PY" -c "import json,sys; z=json.load(open(sys.argv[1]))['fine_tuning'][0]; print(f\"{z['median_seconds_per_step']:.4f}\")" "$OUT/q-$dev/report.json")"
    ql[$dev]="$("$PY" -c "import json,sys; z=json.load(open(sys.argv[1]))['fine_tuning'][0]; print(f\"{z['final_loss']:.4f}\")" "$OUT/q-$dev/report.json")"
  done
  r1="$("$PY" -c "print(f'{float(\"${ips[cpu]}\") / float(\"${ips[onnxruntime-cpu]}\"):.2f}')")"
  r2="$("$PY" -c "print(f'{float(\"${sps[onnxruntime-cpu]}\") / float(\"${sps[cpu]}\"):.2f}')")"
  echo "| $m | $input | synthesis, images/s per task | batch $batch, $SYN_STEPS steps | ${ips[cpu]} | ${ips[onnxruntime-cpu]} | $r1 | ${loss[cpu]} / ${loss[onnxruntime-cpu]} |"
  echo "| $m | $input | Level-2 step W4A4, s/step (median) | batch $qb ($micro a task), $QAT_STEPS steps | ${sps[cpu]} | ${sps[onnxruntime-cpu]} | $r2 | ${ql[cpu]} / ${ql[onnxruntime-cpu]} |"
  unset ips loss sps ql
done
if [ "${ACCURACY:-0}" = 1 ]; then
  echo
  echo "| engine | synthesis s | FP32 | W4A4 Level 1 | W4A4 Level 2 | L2 agree w/ FQ |"
  echo "|---|---|---|---|---|---|"
  for dev in cpu onnxruntime-cpu; do
    "$ZSQ" quantize --model "$ROOT/src/models/fmnist-resnet.onnx" --out "$OUT/acc-$dev" --bits w4a4 --count "${ACC_COUNT:-1024}" --level 2 \
        --no-gaussian --device "$dev" --eval /usr/share/datasets/fashion-mnist --mean 0.2860 --std 0.3530 --quiet > "$OUT/acc.txt" 2>&1 \
      || { cat "$OUT/acc.txt"; exit 1; }
    "$PY" - "$OUT/acc-$dev/report.json" "$dev" <<'PY'
import json, sys
r = json.load(open(sys.argv[1]))
rows = {x.get("level", 1): x for x in r["results"]}
l1 = [x for x in r["results"] if x.get("level", 1) == 1][0]; l2 = [x for x in r["results"] if x.get("level") == 2][0]
print(f"| {sys.argv[2]} | {r['stage_seconds'].get('synthesize', 0):.0f} | {r['fp32_top1']:.2f} | {l1['int_top1']:.2f} | {l2['int_top1']:.2f} | {l2['agreement_with_fake_quant']:.2f}% |")
PY
  done
fi
