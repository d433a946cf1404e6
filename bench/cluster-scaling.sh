#!/usr/bin/env bash
# Synthesis and calibration on a real Spark cluster of 1 and 2 executors (1 core each), through spark-submit of the
# shaded jar, and the peak memory of each executor as the synthetic set grows 8x. Prints one table.
#
# The cluster is local-cluster[N,1,MEM]: a Master and N Workers in the driver's JVM, each executor its own JVM
# launched from SPARK_HOME/jars (here: links to Spark's own dependency tree, what a cluster node has), the
# application jar shipped to it as spark-submit ships it. Synthesis time is the stage's wall time (synth.json's
# job_seconds), calibration time report.json's stage_seconds.calibrate; peak memory is Spark's own executor
# metrics (process-tree RSS and JVM heap, the per-stage peaks in the event log).
# Usage: bench/cluster-scaling.sh [COUNT (2048)] [STEPS (200)]
# Env: OUT (target/bench-cluster), MEM (executor MB, 2048), MEM_COUNT (the memory rows' 1x, 256), EXEC_OPTS (spark.executor.extraJavaOptions), ONLY (synth: the synthesis rows only)
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
COUNT="${1:-2048}"; STEPS="${2:-200}"
OUT="${OUT:-$ROOT/target/bench-cluster}"; MEM="${MEM:-2048}"; MEM_COUNT="${MEM_COUNT:-256}"
MODEL="$ROOT/src/models/fmnist-resnet.onnx"
JAR="$ROOT/spark-jobs/target/zsq-0.1.0-SNAPSHOT.jar"
rm -rf "$OUT"; mkdir -p "$OUT/events"
cd "$ROOT"
[ -f "$JAR" ] || ./mvnw -B -q -DskipTests package
# Spark's dependency tree, as the shaded jar's integration test takes it (the pom's two build-classpath executions)
./mvnw -B -q -pl spark-jobs dependency:build-classpath@it-cluster-spark dependency:build-classpath@it-cluster-shared
CP="$(cat spark-jobs/target/it-cluster/spark.classpath):$(cat spark-jobs/target/it-cluster/shared.classpath)"
export SPARK_HOME="$OUT/spark-home" SPARK_SCALA_VERSION=2.13 SPARK_LOCAL_IP=127.0.0.1 OMP_NUM_THREADS=1
mkdir -p "$SPARK_HOME/jars"
tr ':' '\n' <<< "$CP" | while read -r j; do ln -sf "$j" "$SPARK_HOME/jars/"; done
OPENS="$(sed -n 's:.*<spark.opens>\(.*\)</spark.opens>.*:\1:p' pom.xml)"

submit() { # N, then zsq's arguments
  local n="$1"; shift
  java -Xmx2g --add-modules jdk.incubator.vector $OPENS -cp "$SPARK_HOME/jars/*" org.apache.spark.deploy.SparkSubmit \
    --master "local-cluster[$n,1,$MEM]" --conf spark.ui.enabled=false --conf spark.driver.host=127.0.0.1 \
    --conf spark.eventLog.enabled=true --conf "spark.eventLog.dir=file://$OUT/events" --conf spark.eventLog.logStageExecutorMetrics=true \
    --conf spark.eventLog.compress=false --conf spark.eventLog.rolling.enabled=false \
    --conf spark.scheduler.minRegisteredResourcesRatio=1.0 --conf spark.scheduler.maxRegisteredResourcesWaitingTime=120s \
    --conf spark.executor.processTreeMetrics.enabled=true --conf spark.executor.metrics.pollingInterval=200 \
    --conf spark.executorEnv.OMP_NUM_THREADS=1 ${EXEC_OPTS:+--conf "spark.executor.extraJavaOptions=$EXEC_OPTS"} \
    --class io.zsq.spark.Main "$JAR" "$@"
}

for n in 1 2; do
  submit "$n" synth --model "$MODEL" --out "$OUT/synth-$n" --count "$COUNT" --steps "$STEPS" --mean 0.2860 --std 0.3530 --quiet \
    --local-paths-shared > "$OUT/synth-$n.json" 2> "$OUT/synth-$n.log"
done
if [ "${ONLY:-}" != synth ]; then
# calibration on the same dataset (made above with 2 executors), every observer a pass over it
for n in 1 2; do
  submit "$n" quantize --model "$MODEL" --calib "$OUT/synth-2" --out "$OUT/calib-$n" --bits w8a8,w4a8,w4a4 --observer kl --no-gaussian \
    --mean 0.2860 --std 0.3530 --quiet --local-paths-shared > "$OUT/calib-$n.txt" 2> "$OUT/calib-$n.log"
done
# memory: 2 executors, 1x and 8x the images (fewer steps: memory does not depend on them)
for k in 1 8; do
  submit 2 synth --model "$MODEL" --out "$OUT/mem-$k" --count $((MEM_COUNT * k)) --steps 20 --mean 0.2860 --std 0.3530 --quiet \
    --local-paths-shared > "$OUT/mem-$k.json" 2> "$OUT/mem-$k.log"
done
fi

/usr/bin/python3 - "$OUT" "$COUNT" "$STEPS" "$MEM_COUNT" <<'PY'
import glob, json, os, sys
out, count, steps, mem_count = sys.argv[1], int(sys.argv[2]), sys.argv[3], int(sys.argv[4])
def synth(n): return json.load(open(f"{out}/synth-{n}.json"))
def calib(n): return json.load(open(f"{out}/calib-{n}/report.json"))["stage_seconds"]["calibrate"]
# each application's event log: its name -> per-executor peaks over its stages
peaks = {}
def lines(app):  # Spark 4 writes an application's event log as a folder of rolled files (eventlog_v2_*/events_N_*)
    files = sorted(glob.glob(f"{app}/events_*"), key=lambda p: int(os.path.basename(p).split("_")[1])) if os.path.isdir(app) else [app]
    for f in files:
        yield from open(f)
for f in glob.glob(f"{out}/events/*"):
    cmd, per = None, {}
    for line in lines(f):
        e = json.loads(line)
        if e["Event"] == "SparkListenerEnvironmentUpdate":
            cmd = e.get("System Properties", {}).get("sun.java.command", "")
        if e["Event"] == "SparkListenerStageExecutorMetrics" and e["Executor ID"] != "driver":
            m = e["Executor Metrics"]; p = per.setdefault(e["Executor ID"], [0, 0])
            p[0] = max(p[0], m.get("ProcessTreeJVMRSSMemory", 0)); p[1] = max(p[1], m.get("JVMHeapMemory", 0))
    if cmd:
        for key in ("synth-1", "synth-2", "calib-1", "calib-2", "mem-1", "mem-8"):
            if f"--out {out}/{key} " in cmd + " ":
                peaks[key] = per
def peak(key):
    p = peaks.get(key, {})
    return " / ".join(f"{v[0] / 2**20:.0f} ({v[1] / 2**20:.0f})" for _, v in sorted(p.items())) or "?"
s1, s2 = synth(1)["job_seconds"], synth(2)["job_seconds"]
print(f"| stage | images | 1 executor s | 2 executors s | speed-up | peak RSS (heap) per executor MB, 2 executors |")
print("|---|---|---|---|---|---|")
print(f"| synthesis ({steps} steps) | {count} | {s1:.1f} | {s2:.1f} | **{s1 / s2:.2f}x** | {peak('synth-2')} |")
if not os.path.exists(f"{out}/calib-1"):
    sys.exit(0)
c1, c2 = calib(1), calib(2)
print(f"| calibration (3 bit settings, KL observer) | {count} | {c1:.1f} | {c2:.1f} | **{c1 / c2:.2f}x** | {peak('calib-2')} |")
for k in (1, 8):
    j = json.load(open(f"{out}/mem-{k}.json"))
    print(f"| synthesis (20 steps), memory | {mem_count * k} ({k}x) | | {j['job_seconds']:.1f} | | {peak(f'mem-{k}')} |")
PY
