import ai.onnxruntime.OnnxTensor;
import ai.onnxruntime.OrtEnvironment;
import ai.onnxruntime.OrtSession;
import io.zsq.core.data.ImageTransform;
import io.zsq.core.data.LabeledImages;
import io.zsq.core.data.Preprocessing;
import io.zsq.core.exec.Fp32Engine;
import io.zsq.core.imports.ModelImporter;
import io.zsq.core.ir.Graph;
import java.nio.FloatBuffer;
import java.nio.file.Path;
import java.util.Map;
import java.util.SplittableRandom;

/**
 * The real classifier against ONNX Runtime (run by bench/paddle-cls.sh with the zsq class path):
 * {@code java -cp CP bench/PaddleClsCheck.java MODEL DATA N}. Imports MODEL at 3x48x192, then
 * (1) 32 random inputs uniform in [-1, 1]: the largest difference between ONNX Runtime's softmax output
 * and the softmax of zsq's FP32 logits, and their argmax agreement; (2) the first N images of DATA (an
 * image folder at 48x192, normalized (x / 255 - 0.5) / 0.5): top-1 of ONNX Runtime and of zsq's FP32 engine.
 */
public final class PaddleClsCheck {
    public static void main(String[] a) throws Exception {
        Path model = Path.of(a[0]);
        int[] shape = {3, 48, 192};
        int per = 3 * 48 * 192;
        Graph g = ModelImporter.load(model, shape);
        OrtEnvironment env = io.zsq.ptq.pipeline.ExportCheck.environment(); // on a thread with a large stack (see there)
        try (OrtSession s = env.createSession(model.toString(), new OrtSession.SessionOptions())) {
            int n = 32;
            float[] x = new float[n * per];
            SplittableRandom r = new SplittableRandom(3);
            for (int i = 0; i < x.length; i++) {
                x[i] = (float) (2 * r.nextDouble() - 1);
            }
            float[][] ort = run(env, s, x, n);
            float[] ours = Fp32Engine.run(g, x, n);
            double worst = 0;
            int agree = 0;
            for (int i = 0; i < n; i++) {
                double[] p = softmax(ours[2 * i], ours[2 * i + 1]);
                worst = Math.max(worst, Math.max(Math.abs(p[0] - ort[i][0]), Math.abs(p[1] - ort[i][1])));
                agree += (p[1] > p[0]) == (ort[i][1] > ort[i][0]) ? 1 : 0;
            }
            System.out.printf("random inputs [-1, 1]: %d images, max |softmax(zsq FP32) - ONNX Runtime| = %.2e, argmax agree %d/%d%n", n, worst,
                    agree, n);
            LabeledImages d = LabeledImages.read(Path.of(a[1]), LabeledImages.Split.TEST, Integer.parseInt(a[2]), ImageTransform.NONE, shape);
            Preprocessing pre = Preprocessing.parse("0.5,0.5,0.5", "0.5,0.5,0.5");
            int okOrt = 0, okZsq = 0, same = 0;
            for (int from = 0; from < d.count(); from += 64) {
                int b = Math.min(64, d.count() - from);
                float[] xb = d.batch(from, b, pre);
                float[][] po = run(env, s, xb, b);
                float[] z = Fp32Engine.run(g, xb, b);
                for (int i = 0; i < b; i++) {
                    int lo = po[i][1] > po[i][0] ? 1 : 0, lz = z[2 * i + 1] > z[2 * i] ? 1 : 0, y = d.labels()[from + i];
                    okOrt += lo == y ? 1 : 0;
                    okZsq += lz == y ? 1 : 0;
                    same += lo == lz ? 1 : 0;
                }
            }
            System.out.printf("%s: %d images: top-1 ONNX Runtime %.2f%%, zsq FP32 %.2f%%, same prediction %d/%d%n", a[1], d.count(),
                    100.0 * okOrt / d.count(), 100.0 * okZsq / d.count(), same, d.count());
        }
    }

    static double[] softmax(float a, float b) {
        double m = Math.max(a, b), ea = Math.exp(a - m), eb = Math.exp(b - m);
        return new double[] {ea / (ea + eb), eb / (ea + eb)};
    }

    static float[][] run(OrtEnvironment env, OrtSession s, float[] x, int n) throws Exception {
        try (OnnxTensor t = OnnxTensor.createTensor(env, FloatBuffer.wrap(x), new long[] {n, 3, 48, 192});
             OrtSession.Result res = s.run(Map.of("x", t))) {
            return (float[][]) res.get(0).getValue();
        }
    }
}
