package io.zsq.ptq.pipeline;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.zsq.synth.ArrowDataset;
import io.zsq.synth.DatasetManifest;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * {@code --device}: synthesis on the ONNX Runtime engine (its CPU provider here) makes images of the Vector API
 * engine's quality from the same start, with the default method (every term of the objective): the same final
 * matching loss within 2%; {@code gpu} without a CUDA provider says why and makes the CPU's images to the bit.
 */
class DeviceTest {
    @TempDir
    Path dir;

    @Test
    void theOnnxRuntimeEngineMakesTheCpuImagesAndAGpuRequestFallsBack() throws Exception {
        Plan plan = PipelineTest.small(PipelineTest.RESNET, dir.resolve("unused")).count(8).batch(4).steps(20).build();
        Map<Plan.Device, QuantizeReport.SynthesisReport> r = new java.util.EnumMap<>(Plan.Device.class);
        for (Plan.Device d : List.of(Plan.Device.CPU, Plan.Device.ONNXRUNTIME_CPU, Plan.Device.GPU)) {
            r.put(d, Pipeline.synthesize(plan.model(), plan.inputShape(), dir.resolve(d.toString()), plan.input(), plan.synthesis(),
                    new InProcessExecutor(2), true, d));
        }
        assertEquals(Map.of("cpu", 2), r.get(Plan.Device.CPU).batchesByEngine());
        assertEquals(Map.of("onnxruntime-cpu(1 threads)", 2), r.get(Plan.Device.ONNXRUNTIME_CPU).batchesByEngine());
        assertNull(r.get(Plan.Device.ONNXRUNTIME_CPU).gpuUnavailable());
        assertEquals(Map.of("cpu", 2), r.get(Plan.Device.GPU).batchesByEngine());
        assertNotNull(r.get(Plan.Device.GPU).gpuUnavailable());
        assertEquals(DatasetManifest.read(dir.resolve("cpu")).batches(), DatasetManifest.read(dir.resolve("gpu")).batches(),
                "the fallback's images are the CPU engine's");
        for (int b = 0; b < 2; b++) {
            float[] cpu = ArrowDataset.read(ArrowDataset.batchFile(dir.resolve("cpu"), b)).images();
            float[] ort = ArrowDataset.read(ArrowDataset.batchFile(dir.resolve("onnxruntime-cpu"), b)).images();
            double diff = 0, norm = 0;
            for (int i = 0; i < cpu.length; i++) {
                diff += Math.pow(cpu[i] - ort[i], 2);
                norm += Math.pow(cpu[i], 2);
            }
            // Adam at lr 0.5 moves each pixel by about lr * sign(gradient): where a gradient is near 0, float rounding flips the
            // sign, so the two trajectories part by a few percent over 20 steps (OrtBnMatchingLossTest checks the gradients to 1e-4)
            assertTrue(Math.sqrt(diff / norm) < 0.25, "batch " + b + ": images differ by " + Math.sqrt(diff / norm) + " (relative)");
        }
        double a = r.get(Plan.Device.CPU).meanFinalLoss(), o = r.get(Plan.Device.ONNXRUNTIME_CPU).meanFinalLoss();
        assertEquals(a, o, 0.02 * a, "final matching loss");
    }
}
