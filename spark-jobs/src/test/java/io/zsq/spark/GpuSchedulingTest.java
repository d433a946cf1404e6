package io.zsq.spark;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.zsq.ptq.pipeline.InProcessExecutor;
import io.zsq.ptq.pipeline.Pipeline;
import io.zsq.ptq.pipeline.Plan;
import io.zsq.ptq.pipeline.QuantizeReport;
import io.zsq.runtime.IntModel;
import io.zsq.synth.DatasetManifest;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;
import java.util.concurrent.ConcurrentHashMap;
import org.apache.spark.api.java.JavaSparkContext;
import org.apache.spark.resource.ResourceInformation;
import org.apache.spark.scheduler.SparkListener;
import org.apache.spark.scheduler.SparkListenerExecutorAdded;
import org.apache.spark.scheduler.SparkListenerStageSubmitted;
import org.apache.spark.scheduler.SparkListenerTaskEnd;
import org.apache.spark.sql.SparkSession;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * {@code --device gpu} on a real cluster with GPUs a discovery script reports (fake ones: this machine has
 * none). One Worker of 2 cores holds GPUs 0 and 1 and starts two executors of 1 core and 1 GPU each; the
 * synthesis stage's resource profile asks one GPU per task. Each task must see its executor's GPU (so two
 * tasks running at once never share one), the tasks must use both, and as ONNX Runtime's CUDA provider
 * cannot load here the job must say so and make the CPU run's images to the bit.
 */
class GpuSchedulingTest {
    @TempDir
    static Path dir;

    @Test
    void synthesisTasksGetTheirExecutorsGpusAndFallBackToTheCpu() throws Exception {
        Plan plan = Plan.builder().model(PipelineTest.RESNET).out(dir.resolve("unused")).preprocessing("0.2860", "0.3530").count(16).batch(2)
                .steps(3).quiet(true).device(Plan.Device.GPU).build();
        Path cpuOut = dir.resolve("cpu");
        Pipeline.synthesize(plan.model(), plan.inputShape(), cpuOut, plan.input(), plan.synthesis(), new InProcessExecutor(1), true, Plan.Device.CPU);

        Path script = dir.resolve("fake-gpus.sh");
        Files.writeString(script, "#!/bin/sh\necho '{\"name\": \"gpu\", \"addresses\": [\"0\", \"1\"]}'\n");
        assertTrue(script.toFile().setExecutable(true));
        SparkSession spark = SparkSession.builder().config(TestSpark.cluster(1, 2, 2048, "zsq-gpu-test")
                .set("spark.worker.resource.gpu.amount", "2").set("spark.worker.resource.gpu.discoveryScript", script.toString())
                .set("spark.executor.cores", "1").set("spark.executor.memory", "900m").set("spark.executor.resource.gpu.amount", "1"))
                .getOrCreate();
        Map<String, String> gpuOfExecutor = new ConcurrentHashMap<>();
        Set<Integer> gpuStages = ConcurrentHashMap.newKeySet();
        Map<Integer, String> executorOfBatch = new ConcurrentHashMap<>();
        try {
            spark.sparkContext().addSparkListener(new SparkListener() {
                @Override
                public void onExecutorAdded(SparkListenerExecutorAdded e) {
                    ResourceInformation r = e.executorInfo().resourcesInfo().get("gpu").getOrElse(() -> null);
                    gpuOfExecutor.put(e.executorId(), r == null ? "none" : String.join(",", r.addresses()));
                }

                @Override
                public void onStageSubmitted(SparkListenerStageSubmitted s) {
                    if (s.stageInfo().resourceProfileId() != 0) { // the default profile is 0
                        gpuStages.add(s.stageInfo().stageId());
                    }
                }

                @Override
                public void onTaskEnd(SparkListenerTaskEnd t) {
                    if (gpuStages.contains(t.stageId())) {
                        executorOfBatch.put(t.taskInfo().index(), t.taskInfo().executorId());
                    }
                }
            });
            JavaSparkContext jsc = JavaSparkContext.fromSparkContext(spark.sparkContext());
            for (int i = 0; i < 600 && jsc.sc().getExecutorIds().size() < 2; i++) {
                Thread.sleep(100);
            }
            assertEquals(2, jsc.sc().getExecutorIds().size(), "executors registered: " + jsc.sc().getExecutorIds());
            Path gpuOut = dir.resolve("gpu");
            QuantizeReport.SynthesisReport r = Pipeline.synthesize(plan.model(), plan.inputShape(), gpuOut, plan.input(), plan.synthesis(),
                    new SparkExecutor(jsc), true, Plan.Device.GPU);
            for (int i = 0; i < 100 && executorOfBatch.size() < 8; i++) { // the listener bus is asynchronous
                Thread.sleep(100);
            }
            assertEquals(new TreeMap<>(Map.of("0", 1, "1", 1)).keySet(), new TreeMap<>(invert(gpuOfExecutor)).keySet(),
                    "the Worker gives each executor one of its GPUs: " + gpuOfExecutor);
            assertEquals(8, executorOfBatch.size(), "synthesis tasks that ran with the GPU profile: " + executorOfBatch);
            Map<String, Integer> expected = new TreeMap<>();
            executorOfBatch.values().forEach(e -> expected.merge(gpuOfExecutor.get(e), 1, Integer::sum));
            assertEquals(2, expected.size(), "both executors synthesized: " + executorOfBatch);
            assertEquals(expected, r.batchesByGpu(), "each task saw the GPU of the executor it ran on");
            assertNotNull(r.gpuUnavailable(), "no CUDA provider here, and the report says so");
            assertTrue(r.gpuUnavailable().contains("CPU build"), r.gpuUnavailable());
            assertEquals(Map.of("cpu", 8), r.batchesByEngine());
            List<DatasetManifest.Entry> cpu = DatasetManifest.read(cpuOut).batches(), gpu = DatasetManifest.read(gpuOut).batches();
            assertEquals(cpu, gpu, "the images of the fallback equal the CPU run's");

            // Level 2's fine-tuning stage asks for GPUs too, and falls back to the same model as a CPU run
            int stagesBefore = gpuStages.size();
            Plan.Builder l2 = Plan.builder().model(PipelineTest.RESNET).preprocessing("0.2860", "0.3530").count(16).batch(8).steps(3)
                    .bits("w4a4").gaussianBaseline(false).quiet(true)
                    .fineTune(new Plan.FineTune(Plan.QatMethod.KD, 3, 16, 4, 1e-3, 1e-2, Plan.Optimizer.ADAM, Plan.Schedule.COSINE, 4, 0, 0, 1));
            Pipeline.run(l2.out(dir.resolve("l2-cpu")).build(), new InProcessExecutor(1));
            executorOfBatch.clear();
            QuantizeReport q = QuantizeJob.run(l2.out(dir.resolve("l2-gpu")).device(Plan.Device.GPU).build(), jsc, true);
            for (int i = 0; i < 100 && gpuStages.size() < stagesBefore + 4; i++) {
                Thread.sleep(100);
            }
            assertEquals(stagesBefore + 1 + 3, gpuStages.size(), "stages under the GPU profile: the synthesis, and the 3 fine-tuning steps");
            assertEquals("cpu", q.fineTuning().get(0).engine());
            assertNotNull(q.fineTuning().get(0).gpuUnavailable());
            assertEquals(java.util.Arrays.toString(PipelineTest.withoutProvenance(IntModel.load(dir.resolve("l2-cpu").resolve("model.zsq")))),
                    java.util.Arrays.toString(PipelineTest.withoutProvenance(IntModel.load(dir.resolve("l2-gpu").resolve("model.zsq")))),
                    "the Level-2 model of the fallback equals the CPU run's");

        } finally {
            spark.stop();
        }
    }

    private static Map<String, String> invert(Map<String, String> m) {
        Map<String, String> out = new TreeMap<>();
        m.forEach((k, v) -> out.put(v, k));
        return out;
    }
}
