package io.zsq.core;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.onnxruntime.OnnxTensor;
import ai.onnxruntime.OrtEnvironment;
import ai.onnxruntime.OrtSession;
import io.zsq.core.data.IdxDataset;
import io.zsq.core.exec.Fp32Engine;
import io.zsq.core.imports.ModelImporter;
import io.zsq.core.ir.Graph;
import io.zsq.core.passes.Canonicalize;
import java.nio.FloatBuffer;
import java.util.Map;
import org.junit.jupiter.api.Test;

/** The IR executor against ONNX Runtime on the bundled ONNX model and 1,000 real test images. */
class OnnxRuntimeParityTest {

    @Test
    void fp32LogitsMatchOnnxRuntime() throws Exception {
        Graph g = ModelImporter.load(Fixtures.RESNET_ONNX);
        Graph canonical = Canonicalize.run(g, null);
        IdxDataset data = Fixtures.test(1000);
        OrtEnvironment env = OrtEnvironment.getEnvironment();
        double worst = 0, worstFolded = 0;
        int agree = 0, correct = 0;
        try (OrtSession s = env.createSession(Fixtures.RESNET_ONNX.toString(), new OrtSession.SessionOptions())) {
            for (int from = 0; from < data.count(); from += 250) {
                float[] x = data.batch(from, 250, Fixtures.PRE);
                float[][] ort;
                try (OnnxTensor t = OnnxTensor.createTensor(env, FloatBuffer.wrap(x), new long[] {250, 1, 28, 28});
                     OrtSession.Result r = s.run(Map.of(s.getInputNames().iterator().next(), t))) {
                    ort = (float[][]) r.get(0).getValue();
                }
                float[] ours = Fp32Engine.run(g, x, 250);
                float[] folded = Fp32Engine.run(canonical, x, 250);
                for (int i = 0; i < 250; i++) {
                    worst = Math.max(worst, relDiff(ours, i, ort[i]));
                    worstFolded = Math.max(worstFolded, relDiff(folded, i, ort[i]));
                    int a = argmax(ort[i]);
                    agree += a == argmax(java.util.Arrays.copyOfRange(ours, i * 10, i * 10 + 10)) ? 1 : 0;
                    correct += a == data.labels()[from + i] ? 1 : 0;
                }
            }
        }
        assertTrue(worst <= 1e-4, "max relative difference to ONNX Runtime " + worst);
        assertTrue(worstFolded <= 1e-4, "BN-folded graph: max relative difference to ONNX Runtime " + worstFolded);
        assertEquals(1000, agree);
        assertTrue(correct >= 880, "the bundled model classifies " + correct + "/1000 test images");
    }

    /** max_j |ours - ort| / max(max_j |ort|, 1): relative to the size of the logit vector. */
    /** The largest {@link #relDiff} over the images of a batch. */
    static double worstRelDiff(float[] ours, float[][] ort) {
        double worst = 0;
        for (int i = 0; i < ort.length; i++) {
            worst = Math.max(worst, relDiff(ours, i, ort[i]));
        }
        return worst;
    }

    static double relDiff(float[] ours, int img, float[] ort) {
        double scale = 1, d = 0;
        for (float v : ort) {
            scale = Math.max(scale, Math.abs(v));
        }
        for (int j = 0; j < ort.length; j++) {
            d = Math.max(d, Math.abs(ours[img * ort.length + j] - ort[j]));
        }
        return d / scale;
    }

    static int argmax(float[] v) {
        int b = 0;
        for (int i = 1; i < v.length; i++) {
            if (v[i] > v[b]) {
                b = i;
            }
        }
        return b;
    }
}
