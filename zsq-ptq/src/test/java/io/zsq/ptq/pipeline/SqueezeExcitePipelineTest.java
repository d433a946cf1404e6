package io.zsq.ptq.pipeline;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.onnxruntime.OnnxTensor;
import ai.onnxruntime.OrtEnvironment;
import ai.onnxruntime.OrtSession;
import io.zsq.runtime.IntModel;
import io.zsq.runtime.IntRunner;
import io.zsq.runtime.Layer;
import io.zsq.runtime.TensorQuant;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.FloatBuffer;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;
import java.util.SplittableRandom;
import onnx.Onnx;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.nd4j.shade.protobuf.ByteString;

/**
 * The Level-1 pipeline (synthesis by BN matching, calibration, lowering, both exports) on a small ONNX
 * model with a squeeze-excite block (HardSigmoid gate times the block input), a sigmoid branch and a
 * concat: the written integer model holds the product, the tables and the concatenation, and both
 * exports give zsq-runtime's argmax in ONNX Runtime.
 */
class SqueezeExcitePipelineTest {
    @TempDir
    Path dir;

    private final SplittableRandom r = new SplittableRandom(91);
    private final Onnx.GraphProto.Builder g = Onnx.GraphProto.newBuilder().setName("se");

    @Test
    void quantizesASqueezeExciteModel() throws Exception {
        Path model = dir.resolve("se.onnx");
        Files.write(model, build());
        Path out = dir.resolve("out");
        Plan plan = Plan.builder().model(model).out(out).preprocessing("0", "1").count(32).batch(16).steps(10).quiet(true).bits("w8a8")
                .build();
        QuantizeReport report = Pipeline.run(plan, new InProcessExecutor(2));
        assertEquals(2, report.onnxExports().size(), report.onnxExports().toString());
        IntModel m = IntModel.load(out.resolve("model.zsq"));
        assertEquals(1, m.layers().stream().filter(l -> l instanceof Layer.Mul).count(), m.layers().toString());
        assertEquals(2, m.layers().stream().filter(l -> l instanceof Layer.Lut).count(), m.layers().toString());
        assertEquals(1, m.layers().stream().filter(l -> l instanceof Layer.Concat).count(), m.layers().toString());
        int n = 64;
        float[] x = new float[n * 3 * 8 * 8];
        for (int i = 0; i < x.length; i++) {
            x[i] = (float) r.nextGaussian();
        }
        TensorQuant qi = m.quantization().get(m.inputName());
        IntRunner runner = new IntRunner(m);
        int[] ours = new int[n];
        for (int i = 0; i < n; i++) {
            byte[] q = new byte[3 * 8 * 8];
            for (int j = 0; j < q.length; j++) {
                long v = Math.round(x[i * q.length + j] / Float.intBitsToFloat(qi.scaleBits())) + qi.zeroPoint();
                q[j] = (byte) Math.max(qi.qmin(), Math.min(qi.qmax(), v));
            }
            ours[i] = IntRunner.argmax(runner.run(q));
        }
        OrtEnvironment env = OrtEnvironment.getEnvironment();
        for (QuantizeReport.ExportInfo e : report.onnxExports().values()) {
            try (OrtSession s = env.createSession(e.file().toString(), new OrtSession.SessionOptions());
                 OnnxTensor t = OnnxTensor.createTensor(env, FloatBuffer.wrap(x), new long[] {n, 3, 8, 8});
                 OrtSession.Result res = s.run(Map.of(s.getInputNames().iterator().next(), t))) {
                float[][] y = (float[][]) res.get(0).getValue();
                int agree = 0;
                for (int i = 0; i < n; i++) {
                    int a = 0;
                    for (int j = 1; j < y[i].length; j++) {
                        a = y[i][j] > y[i][a] ? j : a;
                    }
                    agree += a == ours[i] ? 1 : 0;
                }
                assertTrue(agree >= n - 1, e.file() + ": argmax agreement " + agree + " of " + n);
            }
        }
    }

    /** x [3,8,8] -> conv-BN-ReLU a [8,8,8] -> GAP -> 1x1 -> ReLU -> 1x1 -> HardSigmoid s; m = a * s; Concat(m, Sigmoid(conv a)) -> conv-BN-ReLU -> GAP -> Gemm 4. */
    private byte[] build() {
        g.addInput(value("x", 3, 8, 8)).addOutput(value("y", 4));
        conv("c0", "x", 3, 8, 3);
        bn("bn0", "c0", "b0", 8);
        node("Relu", "a", "b0");
        node("GlobalAveragePool", "p", "a");
        conv("c1", "p", 8, 4, 1);
        node("Relu", "r1", "c1");
        conv("c2", "r1", 4, 8, 1);
        g.addNode(Onnx.NodeProto.newBuilder().setOpType("HardSigmoid").setName("hs").addInput("c2").addOutput("s")
                .addAttribute(Onnx.AttributeProto.newBuilder().setName("alpha").setType(Onnx.AttributeProto.AttributeType.FLOAT).setF(1f / 6f)));
        node("Mul", "m", "a", "s");
        conv("c3", "a", 8, 4, 1);
        node("Sigmoid", "sg", "c3");
        g.addNode(Onnx.NodeProto.newBuilder().setOpType("Concat").setName("cat").addInput("m").addInput("sg").addOutput("k")
                .addAttribute(Onnx.AttributeProto.newBuilder().setName("axis").setType(Onnx.AttributeProto.AttributeType.INT).setI(1)));
        conv("c4", "k", 12, 6, 3);
        bn("bn4", "c4", "b4", 6);
        node("Relu", "a4", "b4");
        node("GlobalAveragePool", "p4", "a4");
        node("Flatten", "f", "p4");
        g.addInitializer(floats("fw", values(4 * 6, 0.5, 0), 4, 6)).addInitializer(floats("fb", values(4, 0.1, 0), 4));
        g.addNode(Onnx.NodeProto.newBuilder().setOpType("Gemm").setName("fc").addInput("f").addInput("fw").addInput("fb").addOutput("y")
                .addAttribute(Onnx.AttributeProto.newBuilder().setName("transB").setType(Onnx.AttributeProto.AttributeType.INT).setI(1)));
        return Onnx.ModelProto.newBuilder().setIrVersion(7).setGraph(g)
                .addOpsetImport(Onnx.OperatorSetIdProto.newBuilder().setDomain("").setVersion(13)).build().toByteArray();
    }

    private void node(String op, String out, String... in) {
        Onnx.NodeProto.Builder b = Onnx.NodeProto.newBuilder().setOpType(op).setName(out + "_" + op).addOutput(out);
        for (String i : in) {
            b.addInput(i);
        }
        g.addNode(b);
    }

    private void conv(String id, String in, int cin, int cout, int k) {
        g.addInitializer(floats(id + "_w", values(cout * cin * k * k, 1.5 / Math.sqrt(cin * k * k), 0), cout, cin, k, k));
        g.addInitializer(floats(id + "_b", values(cout, 0.2, 0), cout));
        Onnx.AttributeProto.Builder pads = Onnx.AttributeProto.newBuilder().setName("pads").setType(Onnx.AttributeProto.AttributeType.INTS);
        for (int i = 0; i < 4; i++) {
            pads.addInts(k / 2);
        }
        g.addNode(Onnx.NodeProto.newBuilder().setOpType("Conv").setName(id).addInput(in).addInput(id + "_w").addInput(id + "_b")
                .addOutput(id).addAttribute(pads));
    }

    private void bn(String id, String in, String out, int c) {
        Onnx.NodeProto.Builder b = Onnx.NodeProto.newBuilder().setOpType("BatchNormalization").setName(id).addInput(in).addOutput(out);
        for (String p : new String[] {"scale", "bias", "mean", "var"}) {
            boolean positive = p.equals("scale") || p.equals("var");
            float[] v = values(c, positive ? 0.3 : 0.3, 0);
            if (positive) {
                for (int i = 0; i < c; i++) {
                    v[i] = 0.5f + Math.abs(v[i]);
                }
            }
            g.addInitializer(floats(id + "_" + p, v, c));
            b.addInput(id + "_" + p);
        }
        g.addNode(b);
    }

    private float[] values(int n, double scale, double offset) {
        float[] v = new float[n];
        for (int i = 0; i < n; i++) {
            v[i] = (float) (offset + scale * r.nextGaussian());
        }
        return v;
    }

    private static Onnx.TensorProto floats(String name, float[] v, long... dims) {
        ByteBuffer b = ByteBuffer.allocate(4 * v.length).order(ByteOrder.LITTLE_ENDIAN);
        for (float f : v) {
            b.putFloat(f);
        }
        Onnx.TensorProto.Builder t = Onnx.TensorProto.newBuilder().setName(name).setDataType(1).setRawData(ByteString.copyFrom(b.array()));
        for (long d : dims) {
            t.addDims(d);
        }
        return t.build();
    }

    private static Onnx.ValueInfoProto value(String name, long... dims) {
        Onnx.TensorShapeProto.Builder s = Onnx.TensorShapeProto.newBuilder().addDim(Onnx.TensorShapeProto.Dimension.newBuilder().setDimParam("N"));
        for (long d : dims) {
            s.addDim(Onnx.TensorShapeProto.Dimension.newBuilder().setDimValue(d));
        }
        return Onnx.ValueInfoProto.newBuilder().setName(name).setType(Onnx.TypeProto.newBuilder()
                .setTensorType(Onnx.TypeProto.Tensor.newBuilder().setElemType(1).setShape(s))).build();
    }
}
