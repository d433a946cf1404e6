import ai.onnxruntime.OnnxTensor;
import ai.onnxruntime.OrtEnvironment;
import ai.onnxruntime.OrtSession;
import io.zsq.core.exec.Fp32Engine;
import io.zsq.core.imports.ModelImporter;
import io.zsq.core.ir.Graph;
import io.zsq.core.passes.LowerToInteger;
import io.zsq.core.quant.FakeQuant;
import io.zsq.core.quant.QParams;
import io.zsq.runtime.IntModel;
import io.zsq.runtime.IntRunner;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.FloatBuffer;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;

/**
 * A 224x224 model of tools/make_224_models.py against PyTorch (run by bench/real-224.sh with the zsq class
 * path): {@code java -cp CP bench/Real224Check.java MODEL.onnx CHECK_PREFIX [QUANTIZED_DIR]}. CHECK_PREFIX.input.f32
 * and CHECK_PREFIX.logits.f32 are PyTorch's inputs (N x 3 x 224 x 224, normalized) and logits (N x classes), raw
 * little-endian float32. Prints, against PyTorch's logits: ONNX Runtime on the ONNX file (the export), zsq's FP32
 * import (Fp32Engine), and with QUANTIZED_DIR the integer model (model.zsq on zsq-runtime, its int8 output
 * dequantized): the largest absolute difference, the cosine similarity and the argmax agreement. The weights are
 * untrained, so argmax margins are small: the cosine is the measure for the integer model.
 */
public final class Real224Check {
    public static void main(String[] a) throws Exception {
        Path model = Path.of(a[0]);
        int[] shape = {3, 224, 224};
        int per = 3 * 224 * 224;
        float[] x = read(Path.of(a[1] + ".input.f32"));
        float[] ref = read(Path.of(a[1] + ".logits.f32"));
        int n = x.length / per, classes = ref.length / n;
        Graph g = ModelImporter.load(model, shape);
        OrtEnvironment env = io.zsq.ptq.pipeline.ExportCheck.environment(); // on a thread with a large stack (see there)
        float[] ort;
        try (OrtSession s = env.createSession(model.toString(), new OrtSession.SessionOptions());
             OnnxTensor t = OnnxTensor.createTensor(env, FloatBuffer.wrap(x), new long[] {n, 3, 224, 224});
             OrtSession.Result res = s.run(Map.of("input", t))) {
            float[][] o = (float[][]) res.get(0).getValue();
            ort = new float[n * classes];
            for (int i = 0; i < n; i++) {
                System.arraycopy(o[i], 0, ort, i * classes, classes);
            }
        }
        String name = model.getFileName().toString();
        report(name + ": ONNX Runtime (the export) ", ort, ref, n, classes);
        report(name + ": zsq FP32 import           ", Fp32Engine.run(g, x, n), ref, n, classes);
        if (a.length > 2) {
            IntModel m = IntModel.load(Path.of(a[2]).resolve("model.zsq"));
            byte[][] q = FakeQuant.quantizeInput(x, n, LowerToInteger.tensorQuantization(m, m.inputName()));
            byte[][] out = new IntRunner(m).runBatch(q, 1);
            QParams qo = LowerToInteger.tensorQuantization(m, m.outputName());
            float[] deq = new float[n * classes];
            for (int i = 0; i < n; i++) {
                for (int j = 0; j < classes; j++) {
                    deq[i * classes + j] = (out[i][j] - qo.zeroPoint()) * qo.scale();
                }
            }
            report(name + ": zsq-runtime integer model ", deq, ref, n, classes);
        }
    }

    static void report(String what, float[] y, float[] ref, int n, int classes) {
        double worst = 0, dot = 0, yy = 0, rr = 0;
        int agree = 0;
        for (int i = 0; i < n; i++) {
            int ay = 0, ar = 0;
            for (int j = 0; j < classes; j++) {
                int k = i * classes + j;
                worst = Math.max(worst, Math.abs(y[k] - ref[k]));
                dot += (double) y[k] * ref[k];
                yy += (double) y[k] * y[k];
                rr += (double) ref[k] * ref[k];
                ay = y[k] > y[i * classes + ay] ? j : ay;
                ar = ref[k] > ref[i * classes + ar] ? j : ar;
            }
            agree += ay == ar ? 1 : 0;
        }
        System.out.printf("%s vs PyTorch: %d images, max |logit difference| %.3g, cosine %.6f, same argmax %d/%d%n", what, n, worst,
                dot / Math.sqrt(yy * rr), agree, n);
    }

    static float[] read(Path p) throws IOException {
        ByteBuffer b = ByteBuffer.wrap(Files.readAllBytes(p)).order(ByteOrder.LITTLE_ENDIAN);
        float[] f = new float[b.remaining() / 4];
        b.asFloatBuffer().get(f);
        return f;
    }
}
