package io.zsq.ptq.pipeline;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.zsq.core.exec.Fp32Engine;
import io.zsq.core.imports.ModelImporter;
import io.zsq.core.ir.Graph;
import io.zsq.runtime.IntModel;
import io.zsq.runtime.IntRunner;
import io.zsq.runtime.TensorQuant;
import java.nio.file.Path;
import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * A Keras 2 HDF5 model (zsq-core's functional fixture: depthwise, separable, a residual Add, a channels_last
 * Flatten -> Dense) through the Level-1 pipeline: synthesis from its BN statistics, calibration, the integer
 * model and both ONNX exports; zsq-runtime's argmax equals the FP32 import's on NCHW images in [0, 1] (at least
 * 62 of 64; all 64 when this was written).
 */
class KerasPipelineTest {
    private static final Path MODEL = Path.of("../zsq-core/src/test/resources/keras/func_res.h5");

    @TempDir
    Path dir;

    @Test
    void quantizesAKerasModel() throws Exception {
        Path out = dir.resolve("out");
        Plan plan = Plan.builder().model(MODEL).out(out).preprocessing("0", "1").count(32).batch(16).steps(10).quiet(true).bits("w8a8").build();
        QuantizeReport report = Pipeline.run(plan, new InProcessExecutor(2));
        assertEquals(2, report.onnxExports().size(), report.onnxExports().toString());
        IntModel m = IntModel.load(out.resolve("model.zsq"));
        assertArrayEquals(new int[] {3, 10, 8}, m.inputShape(), "NCHW input, as the FP32 import");
        Graph g = ModelImporter.load(MODEL);
        int n = 64, size = 3 * 10 * 8, agree = 0;
        SplittableRandom r = new SplittableRandom(7);
        float[] x = new float[n * size]; // images in [0, 1]: pixels / 255 with mean 0 and std 1, the plan's preprocessing
        for (int i = 0; i < x.length; i++) {
            x[i] = (float) r.nextDouble();
        }
        float[] fp32 = Fp32Engine.run(g, x, n);
        TensorQuant qi = m.quantization().get(m.inputName());
        IntRunner runner = new IntRunner(m);
        for (int i = 0; i < n; i++) {
            byte[] q = new byte[size];
            for (int j = 0; j < size; j++) {
                long v = Math.round(x[i * size + j] / Float.intBitsToFloat(qi.scaleBits())) + qi.zeroPoint();
                q[j] = (byte) Math.max(qi.qmin(), Math.min(qi.qmax(), v));
            }
            int k = 0;
            for (int j = 1; j < 4; j++) {
                k = fp32[i * 4 + j] > fp32[i * 4 + k] ? j : k;
            }
            agree += IntRunner.argmax(runner.run(q)) == k ? 1 : 0;
        }
        assertTrue(agree >= n - 2, "W8A8 argmax agrees with FP32 on " + agree + " of " + n);
    }
}
