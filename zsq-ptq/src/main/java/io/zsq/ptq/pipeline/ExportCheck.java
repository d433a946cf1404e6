package io.zsq.ptq.pipeline;

import ai.onnxruntime.OnnxTensor;
import ai.onnxruntime.OrtEnvironment;
import ai.onnxruntime.OrtException;
import ai.onnxruntime.OrtSession;
import io.zsq.core.data.LabeledImages;
import io.zsq.core.data.Preprocessing;
import io.zsq.core.io.Locations;
import io.zsq.core.passes.LowerToInteger;
import io.zsq.core.quant.FakeQuant;
import io.zsq.core.quant.QParams;
import io.zsq.runtime.IntModel;
import io.zsq.runtime.IntRunner;
import java.io.IOException;
import java.io.PrintStream;
import java.nio.FloatBuffer;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;

/**
 * Runs an ONNX export of the written model in ONNX Runtime over the evaluation images and compares it
 * with zsq-runtime: argmax agreement and the largest output difference in quantization steps.
 */
public final class ExportCheck {
    private ExportCheck() {}

    /** Agreement of one export with zsq-runtime. */
    public record Result(double argmaxAgreement, double maxOutputDifferenceSteps, int outputsBeyondOneStep) {}

    public static Result check(IntModel m, Path onnx, LabeledImages data, Preprocessing pre, PrintStream log, String form) throws IOException {
        try {
            return run(m, onnx, data, pre, log, form);
        } catch (OrtException | InterruptedException e) {
            throw new IOException("checking " + onnx + " in ONNX Runtime: " + e.getMessage(), e);
        }
    }

    private static Result run(IntModel m, Path onnx, LabeledImages data, Preprocessing pre, PrintStream log, String form)
            throws OrtException, InterruptedException, IOException {
        QParams qi = LowerToInteger.tensorQuantization(m, m.inputName()), qo = LowerToInteger.tensorQuantization(m, m.outputName());
        int[] in = m.inputShape();
        IntRunner runner = new IntRunner(m);
        OrtEnvironment env = environment();
        int agree = 0, beyond = 0;
        double worst = 0;
        try (OrtSession s = Locations.isDefault(onnx) ? env.createSession(onnx.toString(), new OrtSession.SessionOptions())
                : env.createSession(Files.readAllBytes(onnx), new OrtSession.SessionOptions())) { // ONNX Runtime opens local files only
            for (int from = 0; from < data.count(); from += 500) {
                int n = Math.min(500, data.count() - from);
                float[] x = data.batch(from, n, pre);
                byte[][] ours = runner.runBatch(FakeQuant.quantizeInput(x, n, qi), Runtime.getRuntime().availableProcessors());
                float[][] ort;
                try (OnnxTensor t = OnnxTensor.createTensor(env, FloatBuffer.wrap(x), new long[] {n, in[0], in[1], in[2]});
                     OrtSession.Result r = s.run(Map.of(s.getInputNames().iterator().next(), t))) {
                    ort = (float[][]) r.get(0).getValue();
                }
                for (int i = 0; i < n; i++) {
                    int a = 0;
                    for (int j = 0; j < ort[i].length; j++) {
                        double d = Math.abs(ort[i][j] - qo.dequantize(ours[i][j])) / qo.scale();
                        worst = Math.max(worst, d);
                        beyond += d > 1.001 ? 1 : 0;
                        a = ort[i][j] > ort[i][a] ? j : a;
                    }
                    agree += a == IntRunner.argmax(ours[i]) ? 1 : 0;
                }
            }
        }
        double pct = 100.0 * agree / data.count();
        log.printf("zsq: %s export in ONNX Runtime: argmax agreement with zsq-runtime %.2f%% on %d images, outputs within %.2f steps"
                + " (%d values beyond one step)%n", form, pct, data.count(), worst, beyond);
        return new Result(pct, worst, beyond);
    }

    /**
     * ONNX Runtime's environment, created on a thread with a 64 MB stack: with the CLI's long class path
     * (Spark's ~220 jars), creating it on the main thread (1 MB stack) crashes the JVM in native code
     * (measured: ORT 1.29, JDK 17; a short class path or -Xss8m avoids it).
     */
    public static OrtEnvironment environment() throws InterruptedException {
        OrtEnvironment[] env = new OrtEnvironment[1];
        Thread t = new Thread(null, () -> env[0] = OrtEnvironment.getEnvironment(), "ort-init", 64L << 20);
        t.start();
        t.join();
        if (env[0] == null) {
            throw new IllegalStateException("ONNX Runtime did not start (see the error above)");
        }
        return env[0];
    }
}
