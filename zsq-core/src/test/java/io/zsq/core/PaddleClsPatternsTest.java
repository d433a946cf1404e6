package io.zsq.core;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import org.nd4j.shade.protobuf.ByteString;
import io.zsq.core.exec.Fp32Engine;
import io.zsq.core.imports.InputShapes;
import io.zsq.core.imports.ModelImportException;
import io.zsq.core.imports.ModelImporter;
import io.zsq.core.ir.Graph;
import io.zsq.core.ir.OpType;
import io.zsq.core.passes.Canonicalize;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.SplittableRandom;
import onnx.Onnx;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The patterns of PaddleOCR's text-direction classifier (paddle2onnx, opset 9) in a small model built
 * here: an input of dynamic height and width, hard swish written as {@code x * Clip(x + 3, 0, 6) / 6}
 * (and as {@code x * (Clip(3 + x) * (1/6))}), a squeeze-excite block with HardSigmoid, a residual Add,
 * MaxPool, the head's Shape/Cast/Slice/Concat/Reshape on the batch, MatMul + bias and a Softmax at the
 * output. Imported at {@code --input-shape 3x48x192}: one HARD_SWISH per pattern, the head a FLATTEN, the
 * Softmax dropped, and the FP32 engine equal to ONNX Runtime's logits; dynamic dims without a shape and
 * shapes contradicting fixed dims refused in one line.
 */
class PaddleClsPatternsTest {
    static final int[] SHAPE = {3, 48, 192};

    @TempDir
    Path dir;

    private SplittableRandom r;
    private Onnx.GraphProto.Builder g;
    private int opset;
    private int k;

    private float[] values(int n, double scale, double offset) {
        float[] v = new float[n];
        for (int i = 0; i < n; i++) {
            v[i] = (float) (offset + scale * r.nextGaussian());
        }
        return v;
    }

    /** The classifier-shaped model; {@code softmax}: with the output Softmax (else the logits are the output); {@code channels}: the input's C (-1: symbolic). */
    private byte[] model(int opset, boolean softmax, long channels) {
        this.r = new SplittableRandom(1207);
        this.opset = opset;
        this.k = 0;
        g = Onnx.GraphProto.newBuilder().setName("cls");
        Onnx.TensorShapeProto.Builder s = Onnx.TensorShapeProto.newBuilder()
                .addDim(Onnx.TensorShapeProto.Dimension.newBuilder().setDimParam("p2o.DynamicDimension.0"))
                .addDim(channels < 0 ? Onnx.TensorShapeProto.Dimension.newBuilder().setDimParam("c")
                        : Onnx.TensorShapeProto.Dimension.newBuilder().setDimValue(channels))
                .addDim(Onnx.TensorShapeProto.Dimension.newBuilder().setDimParam("p2o.DynamicDimension.1"))
                .addDim(Onnx.TensorShapeProto.Dimension.newBuilder().setDimParam("p2o.DynamicDimension.2"));
        g.addInput(Onnx.ValueInfoProto.newBuilder().setName("x").setType(Onnx.TypeProto.newBuilder()
                .setTensorType(Onnx.TypeProto.Tensor.newBuilder().setElemType(1).setShape(s))));
        g.addOutput(SliceAndPadNet.OnnxValue.of(softmax ? "prob" : "logits", -1, 2));

        String a = convBn("x", 3, 8, 3, 2, 2, 1);
        a = hardSwishPaddle(a);
        a = convBn(a, 8, 8, 3, 2, 1, 8); // depthwise, stride (2, 1)
        a = node("Relu", a);
        // squeeze-excite: GAP -> 1x1 conv + bias -> relu -> 1x1 conv + bias -> HardSigmoid -> Mul
        String p = node("GlobalAveragePool", a);
        p = node("Relu", conv(p, 8, 4, 1, 1, 1, 1, true));
        p = conv(p, 4, 8, 1, 1, 1, 1, true);
        Onnx.NodeProto.Builder hs = Onnx.NodeProto.newBuilder().setOpType("HardSigmoid").setName("hs").addInput(p).addOutput("hs_out")
                .addAttribute(fattr("alpha", 0.2f)).addAttribute(fattr("beta", 0.5f));
        g.addNode(hs);
        String se = node("Mul", a, "hs_out");
        String b = convBn(se, 8, 8, 1, 1, 1, 1);
        String res = node("Add", b, se);
        a = convBn(res, 8, 16, 1, 1, 1, 1);
        a = hardSwishSixthFirst(a);
        Onnx.NodeProto.Builder mp = Onnx.NodeProto.newBuilder().setOpType("MaxPool").setName("mp").addInput(a).addOutput("mp_out")
                .addAttribute(SliceAndPadNet.ints("kernel_shape", 2, 2)).addAttribute(SliceAndPadNet.ints("strides", 2, 2))
                .addAttribute(SliceAndPadNet.ints("pads", 0, 0, 0, 0));
        g.addNode(mp);
        String gap = node("GlobalAveragePool", "mp_out");
        // the head as paddle2onnx writes it: reshape to [batch (read with Shape), 16]
        String shape = cast(node("Shape", gap), 6);
        String batch;
        if (opset < 10) {
            g.addNode(Onnx.NodeProto.newBuilder().setOpType("Slice").setName("sl").addInput(shape).addOutput("sl_out")
                    .addAttribute(SliceAndPadNet.ints("axes", 0)).addAttribute(SliceAndPadNet.ints("starts", 0))
                    .addAttribute(SliceAndPadNet.ints("ends", 1)));
            batch = "sl_out";
        } else {
            g.addInitializer(SliceAndPadNet.longs("sl_s", new int[] {0}));
            g.addInitializer(SliceAndPadNet.longs("sl_e", new int[] {1}));
            g.addInitializer(SliceAndPadNet.longs("sl_a", new int[] {0}));
            batch = node("Slice", shape, "sl_s", "sl_e", "sl_a");
        }
        batch = cast(batch, 7);
        g.addNode(Onnx.NodeProto.newBuilder().setOpType("Constant").setName("fill").addOutput("fill_out").addAttribute(
                Onnx.AttributeProto.newBuilder().setName("value").setType(Onnx.AttributeProto.AttributeType.TENSOR).setT(int32("f", 16))));
        String features = cast("fill_out", 7);
        Onnx.NodeProto.Builder cc = Onnx.NodeProto.newBuilder().setOpType("Concat").setName("cc").addInput(batch).addInput(features)
                .addOutput("cc_out").addAttribute(iattr("axis", 0));
        g.addNode(cc);
        String flat = node("Reshape", gap, "cc_out");
        g.addInitializer(SliceAndPadNet.floats("fc_w", values(16 * 2, 0.5, 0), 16, 2));
        String mm = node("MatMul", flat, "fc_w");
        g.addInitializer(SliceAndPadNet.floats("fc_b", values(2, 0.1, 0), 2));
        if (softmax) {
            String z = node("Add", mm, "fc_b");
            g.addNode(Onnx.NodeProto.newBuilder().setOpType("Softmax").setName("softmax").addInput(z).addOutput("prob")
                    .addAttribute(iattr("axis", 1)));
        } else {
            g.addNode(Onnx.NodeProto.newBuilder().setOpType("Add").setName("bias").addInput(mm).addInput("fc_b").addOutput("logits"));
        }
        return Onnx.ModelProto.newBuilder().setIrVersion(opset < 10 ? 4 : 7).setGraph(g)
                .addOpsetImport(Onnx.OperatorSetIdProto.newBuilder().setDomain("").setVersion(opset)).build().toByteArray();
    }

    private String conv(String in, int cin, int cout, int kernel, int sh, int sw, int group, boolean bias) {
        String w = "w" + k++;
        g.addInitializer(SliceAndPadNet.floats(w, values(cout * cin / group * kernel * kernel, 1.2 / Math.sqrt(cin / group * kernel * kernel), 0),
                cout, cin / group, kernel, kernel));
        Onnx.NodeProto.Builder c = Onnx.NodeProto.newBuilder().setOpType("Conv").setName("conv" + k).addInput(in).addInput(w)
                .addAttribute(SliceAndPadNet.ints("strides", sh, sw)).addAttribute(SliceAndPadNet.ints("kernel_shape", kernel, kernel))
                .addAttribute(SliceAndPadNet.ints("pads", kernel / 2, kernel / 2, kernel / 2, kernel / 2)).addAttribute(iattr("group", group));
        if (bias) {
            g.addInitializer(SliceAndPadNet.floats(w + "_b", values(cout, 0.2, 0), cout));
            c.addInput(w + "_b");
        }
        String out = "conv" + k + "_out";
        g.addNode(c.addOutput(out));
        return out;
    }

    private String convBn(String in, int cin, int cout, int kernel, int sh, int sw, int group) {
        String c = conv(in, cin, cout, kernel, sh, sw, group, false);
        String id = "bn" + k++;
        Onnx.NodeProto.Builder bn = Onnx.NodeProto.newBuilder().setOpType("BatchNormalization").setName(id).addInput(c).addOutput(id + "_out")
                .addAttribute(fattr("epsilon", 1e-5f));
        for (String p : List.of("scale", "bias", "mean", "var")) {
            boolean positive = p.equals("var") || p.equals("scale");
            float[] v = values(cout, positive ? 0.3 : 0.5, positive ? 1 : 0);
            for (int i = 0; i < v.length && positive; i++) {
                v[i] = Math.abs(v[i]) + 0.05f;
            }
            g.addInitializer(SliceAndPadNet.floats(id + "_" + p, v, cout));
            bn.addInput(id + "_" + p);
        }
        g.addNode(bn);
        return id + "_out";
    }

    /** {@code x * Clip(x + 3, 0, 6) / 6}, the constants as Constant nodes, the 6 defined between the Mul and the Div. */
    private String hardSwishPaddle(String x) {
        String three = constant(3f);
        String c = clip(node("Add", x, three));
        String m = node("Mul", x, c);
        return node("Div", m, constant(6f));
    }

    /** {@code x * (Clip(3 + x, 0, 6) * (1/6))}: the constant first, the 1/6 before the product, initializers. */
    private String hardSwishSixthFirst(String x) {
        g.addInitializer(SliceAndPadNet.floats("three", new float[] {3f}));
        g.addInitializer(SliceAndPadNet.floats("sixth", new float[] {1 / 6f}));
        String c = clip(node("Add", "three", x));
        return node("Mul", x, node("Mul", c, "sixth"));
    }

    private String clip(String in) {
        String out = "clip" + k++;
        Onnx.NodeProto.Builder c = Onnx.NodeProto.newBuilder().setOpType("Clip").setName(out).addInput(in).addOutput(out + "_out");
        if (opset < 11) {
            c.addAttribute(fattr("min", 0f)).addAttribute(fattr("max", 6f));
        } else {
            c.addInput(constant(0f)).addInput(constant(6f));
        }
        g.addNode(c);
        return out + "_out";
    }

    private String constant(float v) {
        String name = "k" + k++;
        g.addNode(Onnx.NodeProto.newBuilder().setOpType("Constant").setName(name).addOutput(name).addAttribute(Onnx.AttributeProto.newBuilder()
                .setName("value").setType(Onnx.AttributeProto.AttributeType.TENSOR).setT(SliceAndPadNet.floats(name, new float[] {v}))));
        return name;
    }

    private String node(String op, String... in) {
        String id = op.toLowerCase() + k++;
        Onnx.NodeProto.Builder n = Onnx.NodeProto.newBuilder().setOpType(op).setName(id).addOutput(id + "_out");
        for (String i : in) {
            n.addInput(i);
        }
        g.addNode(n);
        return id + "_out";
    }

    private String cast(String in, int to) {
        String id = "cast" + k++;
        g.addNode(Onnx.NodeProto.newBuilder().setOpType("Cast").setName(id).addInput(in).addOutput(id + "_out").addAttribute(iattr("to", to)));
        return id + "_out";
    }

    private static Onnx.TensorProto int32(String name, int v) {
        ByteBuffer b = ByteBuffer.allocate(4).order(ByteOrder.LITTLE_ENDIAN).putInt(v);
        return Onnx.TensorProto.newBuilder().setName(name).setDataType(6).addDims(1).setRawData(ByteString.copyFrom(b.array())).build();
    }

    private static Onnx.AttributeProto iattr(String name, long v) {
        return Onnx.AttributeProto.newBuilder().setName(name).setType(Onnx.AttributeProto.AttributeType.INT).setI(v).build();
    }

    private static Onnx.AttributeProto fattr(String name, float v) {
        return Onnx.AttributeProto.newBuilder().setName(name).setType(Onnx.AttributeProto.AttributeType.FLOAT).setF(v).build();
    }

    private Path write(byte[] m) throws Exception {
        Path f = dir.resolve("m" + System.nanoTime() + ".onnx");
        Files.write(f, m);
        return f;
    }

    @Test
    void importedAtTheGivenShapeAndEqualToOnnxRuntime() throws Exception {
        for (int op : new int[] {9, 13}) {
            byte[] withSoftmax = model(op, true, 3), logits = model(op, false, 3);
            Graph gs = ModelImporter.load(write(withSoftmax), InputShapes.parse("3x48x192"));
            Graph gl = ModelImporter.load(write(logits), SHAPE);
            List<OpType> ops = gs.nodes().stream().map(n -> n.op()).toList();
            assertEquals(ops, gl.nodes().stream().map(n -> n.op()).toList(), "the Softmax dropped: the same graph as the logits model");
            assertEquals(List.of(OpType.CONV, OpType.BATCH_NORM, OpType.HARD_SWISH, OpType.CONV, OpType.BATCH_NORM, OpType.RELU,
                    OpType.GLOBAL_AVG_POOL, OpType.CONV, OpType.RELU, OpType.CONV, OpType.HARD_SIGMOID, OpType.MUL, OpType.CONV,
                    OpType.BATCH_NORM, OpType.ADD, OpType.CONV, OpType.BATCH_NORM, OpType.HARD_SWISH, OpType.MAX_POOL,
                    OpType.GLOBAL_AVG_POOL, OpType.FLATTEN, OpType.DENSE), ops, "opset " + op + ": " + gs.nodes());
            assertEquals(List.of(3, 48, 192), java.util.Arrays.stream(gs.inputShape()).boxed().toList());
            r = new SplittableRandom(5);
            int n = 6;
            float[] x = values(n * 3 * 48 * 192, 1, 0);
            float[][] ort = ortRun(logits, x, n), prob = ortRun(withSoftmax, x, n);
            float[] ours = Fp32Engine.run(gs, x, n), folded = Fp32Engine.run(Canonicalize.run(gs, null), x, n);
            double worst = 0;
            for (int i = 0; i < n; i++) {
                worst = Math.max(worst, Math.max(OnnxRuntimeParityTest.relDiff(ours, i, ort[i]), OnnxRuntimeParityTest.relDiff(folded, i, ort[i])));
                double e0 = Math.exp(ours[2 * i]), e1 = Math.exp(ours[2 * i + 1]);
                assertEquals(prob[i][0], e0 / (e0 + e1), 1e-5, "softmax of zsq's logits = ONNX Runtime's output");
            }
            assertTrue(worst <= 1e-4, "opset " + op + ": relative difference to ONNX Runtime " + worst);
        }
    }

    @Test
    void dynamicDimsNeedAShapeAndFixedOnesMustAgree() throws Exception {
        Path f = write(model(9, true, 3));
        String msg = assertThrows(ModelImportException.class, () -> ModelImporter.load(f)).getMessage();
        assertTrue(msg.contains("symbolic dimension 2 ('p2o.DynamicDimension.1')") && msg.contains("--input-shape CxHxW"), msg);
        msg = assertThrows(ModelImportException.class, () -> ModelImporter.load(f, new int[] {4, 48, 192})).getMessage();
        assertTrue(msg.contains("--input-shape 4x48x192 contradicts input 'x' of fixed dimension 1 = 3"), msg);
        msg = assertThrows(ModelImportException.class, () -> ModelImporter.load(f, new int[] {48, 192})).getMessage();
        assertTrue(msg.contains("has 2 dimensions, but input 'x' has 3"), msg);
        assertThrows(IllegalArgumentException.class, () -> InputShapes.parse("3x48x192x2"));
        assertThrows(IllegalArgumentException.class, () -> InputShapes.parse("3x0x192"));
        assertThrows(IllegalArgumentException.class, () -> InputShapes.parse("axbxc"));
        assertEquals("3x48x192", InputShapes.format(InputShapes.parse(" 3X48x192 ")));
        // a symbolic channel dimension is taken from the shape too
        Graph gc = ModelImporter.load(write(model(9, true, -1)), SHAPE);
        assertEquals(3, gc.inputShape()[0]);
    }

    private static float[][] ortRun(byte[] model, float[] x, int n) throws Exception {
        ai.onnxruntime.OrtEnvironment env = ai.onnxruntime.OrtEnvironment.getEnvironment();
        try (ai.onnxruntime.OrtSession s = env.createSession(model, new ai.onnxruntime.OrtSession.SessionOptions());
             ai.onnxruntime.OnnxTensor t = ai.onnxruntime.OnnxTensor.createTensor(env, java.nio.FloatBuffer.wrap(x), new long[] {n, 3, 48, 192});
             ai.onnxruntime.OrtSession.Result res = s.run(java.util.Map.of("x", t))) {
            return (float[][]) res.get(0).getValue();
        }
    }
}
