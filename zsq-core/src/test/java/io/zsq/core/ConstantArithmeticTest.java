package io.zsq.core;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.zsq.core.exec.Fp32Engine;
import io.zsq.core.imports.ModelImportException;
import io.zsq.core.imports.ModelImporter;
import io.zsq.core.ir.Graph;
import io.zsq.core.ir.OpType;
import io.zsq.core.passes.Canonicalize;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.SplittableRandom;
import onnx.Onnx;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * ONNX Mul, Div, Add and Sub by a constant of one value or one per channel, folded by the importer
 * into the convolution, BatchNormalization or dense layer before them: no node is left for them, and
 * the FP32 engine equals ONNX Runtime on the original model; the forms it cannot fold are refused
 * naming the node.
 */
class ConstantArithmeticTest {
    @TempDir
    Path dir;

    private final SplittableRandom r = new SplittableRandom(81);

    private float[] values(int n, double scale, double offset) {
        float[] v = new float[n];
        for (int i = 0; i < n; i++) {
            v[i] = (float) (offset + scale * r.nextGaussian());
        }
        return v;
    }

    /**
     * x [3,6,6] -> conv (no bias) -> * k[1,4,1,1] -> + 0.3 -> bn -> / 2 -> - k[1,4,1,1] -> relu -> gap
     * -> flatten -> matmul -> + b[5] -> * 1.5 -> (0.25 *) ; {@code tail} replaces the last node's form.
     */
    private Onnx.GraphProto.Builder graph(String tailOp, boolean constantFirst, Onnx.TensorProto tailConstant) {
        Onnx.GraphProto.Builder g = Onnx.GraphProto.newBuilder().setName("constants");
        g.addInput(SliceAndPadNet.OnnxValue.of("x", -1, 3, 6, 6)).addOutput(SliceAndPadNet.OnnxValue.of("y", -1, 5));
        g.addInitializer(SliceAndPadNet.floats("w", values(4 * 3 * 9, 0.3, 0), 4, 3, 3, 3));
        g.addNode(Onnx.NodeProto.newBuilder().setOpType("Conv").setName("conv").addInput("x").addInput("w").addOutput("c")
                .addAttribute(SliceAndPadNet.ints("pads", 1, 1, 1, 1)));
        g.addInitializer(SliceAndPadNet.floats("k0", values(4, 0.5, 1), 1, 4, 1, 1));
        bin(g, "m0", "Mul", "c", "k0", "c1");
        g.addInitializer(SliceAndPadNet.floats("a0", new float[] {0.3f}));
        bin(g, "a0n", "Add", "a0", "c1", "c2"); // the constant first
        Onnx.NodeProto.Builder bn = Onnx.NodeProto.newBuilder().setOpType("BatchNormalization").setName("bn").addInput("c2").addOutput("b");
        for (String p : List.of("scale", "bias", "mean", "var")) {
            g.addInitializer(SliceAndPadNet.floats("bn_" + p, values(4, 0.3, p.equals("var") || p.equals("scale") ? 1 : 0), 4));
            bn.addInput("bn_" + p);
        }
        g.addNode(bn);
        g.addInitializer(SliceAndPadNet.floats("d0", new float[] {2f}));
        bin(g, "d", "Div", "b", "d0", "b1");
        g.addInitializer(SliceAndPadNet.floats("s0", values(4, 0.2, 0), 1, 4, 1, 1));
        bin(g, "s", "Sub", "b1", "s0", "b2");
        g.addNode(Onnx.NodeProto.newBuilder().setOpType("Relu").setName("relu").addInput("b2").addOutput("r"));
        g.addNode(Onnx.NodeProto.newBuilder().setOpType("GlobalAveragePool").setName("gap").addInput("r").addOutput("p"));
        g.addNode(Onnx.NodeProto.newBuilder().setOpType("Flatten").setName("fl").addInput("p").addOutput("f"));
        g.addInitializer(SliceAndPadNet.floats("fw", values(4 * 5, 0.5, 0), 4, 5));
        g.addNode(Onnx.NodeProto.newBuilder().setOpType("MatMul").setName("mm").addInput("f").addInput("fw").addOutput("z"));
        g.addInitializer(SliceAndPadNet.floats("fb", values(5, 0.1, 0), 5));
        bin(g, "bias", "Add", "z", "fb", "z1");
        g.addInitializer(tailConstant);
        bin(g, "tail", tailOp, constantFirst ? tailConstant.getName() : "z1", constantFirst ? "z1" : tailConstant.getName(), "y");
        return g;
    }

    private static void bin(Onnx.GraphProto.Builder g, String id, String op, String a, String b, String out) {
        g.addNode(Onnx.NodeProto.newBuilder().setOpType(op).setName(id).addInput(a).addInput(b).addOutput(out));
    }

    private byte[] model(Onnx.GraphProto.Builder g) {
        return Onnx.ModelProto.newBuilder().setIrVersion(7).setGraph(g)
                .addOpsetImport(Onnx.OperatorSetIdProto.newBuilder().setDomain("").setVersion(13)).build().toByteArray();
    }

    private Path write(byte[] m) throws Exception {
        Path f = dir.resolve("m" + System.nanoTime() + ".onnx");
        Files.write(f, m);
        return f;
    }

    @Test
    void foldedIntoTheLayerBeforeAndEqualToOnnxRuntime() throws Exception {
        byte[] m = model(graph("Mul", true, SliceAndPadNet.floats("t", new float[] {1.5f})));
        Graph g = ModelImporter.load(write(m));
        assertEquals(List.of(OpType.CONV, OpType.BATCH_NORM, OpType.RELU, OpType.GLOBAL_AVG_POOL, OpType.FLATTEN, OpType.DENSE),
                g.nodes().stream().map(n -> n.op()).toList(), "every constant folded: " + g.nodes());
        int n = 32;
        float[] x = values(n * 3 * 6 * 6, 1, 0);
        float[][] ort = ortRun(m, x, n);
        float[] ours = Fp32Engine.run(g, x, n), folded = Fp32Engine.run(Canonicalize.run(g, null), x, n);
        double worst = 0;
        for (int i = 0; i < n; i++) {
            worst = Math.max(worst, Math.max(OnnxRuntimeParityTest.relDiff(ours, i, ort[i]), OnnxRuntimeParityTest.relDiff(folded, i, ort[i])));
        }
        assertTrue(worst <= 1e-4, "relative difference to ONNX Runtime " + worst);
    }

    /** A Softmax as the last node is dropped (recorded in the graph's metadata): the engine gives the logits, whose softmax is ONNX Runtime's output. */
    @Test
    void aFinalSoftmaxIsDroppedAndAnyOtherRefused() throws Exception {
        Onnx.GraphProto.Builder g = graph("Mul", false, SliceAndPadNet.floats("t", new float[] {1.5f}));
        int last = g.getNodeCount() - 1;
        g.setNode(last, g.getNode(last).toBuilder().setOutput(0, "logits"));
        g.addNode(Onnx.NodeProto.newBuilder().setOpType("Softmax").setName("sm").addInput("logits").addOutput("y"));
        byte[] m = model(g);
        Graph ir = ModelImporter.load(write(m));
        assertEquals("sm", ir.metadata().get("source.droppedSoftmax"));
        int n = 16;
        float[] x = values(n * 3 * 6 * 6, 1, 0);
        float[][] ort = ortRun(m, x, n);
        float[] logits = Fp32Engine.run(ir, x, n);
        for (int i = 0; i < n; i++) {
            double max = Double.NEGATIVE_INFINITY, sum = 0;
            for (int j = 0; j < 5; j++) {
                max = Math.max(max, logits[i * 5 + j]);
            }
            for (int j = 0; j < 5; j++) {
                sum += Math.exp(logits[i * 5 + j] - max);
            }
            for (int j = 0; j < 5; j++) {
                assertEquals(ort[i][j], Math.exp(logits[i * 5 + j] - max) / sum, 1e-5, "image " + i);
            }
        }
        Onnx.GraphProto.Builder h = graph("Mul", false, SliceAndPadNet.floats("t", new float[] {1.5f}));
        for (int i = 0; i < h.getNodeCount(); i++) {
            if (h.getNode(i).getName().equals("gap")) {
                h.setNode(i, h.getNode(i).toBuilder().setInput(0, "rs"));
            }
        }
        h.addNode(Onnx.NodeProto.newBuilder().setOpType("Softmax").setName("mid").addInput("r").addOutput("rs")
                .addAttribute(Onnx.AttributeProto.newBuilder().setName("axis").setType(Onnx.AttributeProto.AttributeType.INT).setI(1)));
        // nodes must be in order: move the softmax before the pool
        Onnx.NodeProto mid = h.getNode(h.getNodeCount() - 1);
        h.removeNode(h.getNodeCount() - 1);
        for (int i = 0; i < h.getNodeCount(); i++) {
            if (h.getNode(i).getName().equals("gap")) {
                h.addNode(i, mid);
                break;
            }
        }
        String msg = refused(h);
        assertTrue(msg.contains("node mid (Softmax)") && msg.contains("only as the model's last node"), msg);
    }

    /** ReduceMean over axes (-1, -2) without keepdims in place of GlobalAveragePool + Flatten: a pool and a flatten, equal to ONNX Runtime. */
    @Test
    void reduceMeanOverHeightAndWidthIsAGlobalAveragePool() throws Exception {
        Onnx.GraphProto.Builder g = graph("Mul", false, SliceAndPadNet.floats("t", new float[] {1.5f}));
        for (int i = 0; i < g.getNodeCount(); i++) {
            if (g.getNode(i).getName().equals("gap")) {
                g.setNode(i, Onnx.NodeProto.newBuilder().setOpType("ReduceMean").setName("mean").addInput("r").addOutput("f")
                        .addAttribute(SliceAndPadNet.ints("axes", -1, -2)).addAttribute(Onnx.AttributeProto.newBuilder().setName("keepdims")
                                .setType(Onnx.AttributeProto.AttributeType.INT).setI(0)).build());
            }
        }
        for (int i = 0; i < g.getNodeCount(); i++) {
            if (g.getNode(i).getName().equals("fl")) {
                g.removeNode(i);
                break;
            }
        }
        byte[] m = model(g);
        Graph ir = ModelImporter.load(write(m));
        assertTrue(ir.nodes().stream().anyMatch(n -> n.op() == OpType.GLOBAL_AVG_POOL)
                && ir.nodes().stream().anyMatch(n -> n.op() == OpType.FLATTEN), ir.nodes().toString());
        int n = 16;
        float[] x = values(n * 3 * 6 * 6, 1, 0);
        float[][] ort = ortRun(m, x, n);
        float[] ours = Fp32Engine.run(ir, x, n);
        double worst = 0;
        for (int i = 0; i < n; i++) {
            worst = Math.max(worst, OnnxRuntimeParityTest.relDiff(ours, i, ort[i]));
        }
        assertTrue(worst <= 1e-4, "relative difference to ONNX Runtime " + worst);
    }

    @Test
    void unfoldableFormsAreRefusedNamingTheNode() throws Exception {
        String msg = refused(graph("Sub", true, SliceAndPadNet.floats("t", new float[] {1f})));
        assertTrue(msg.contains("node tail (Sub)") && msg.contains("a constant minus an activation"), msg);
        msg = refused(graph("Div", true, SliceAndPadNet.floats("t", new float[] {1f})));
        assertTrue(msg.contains("node tail (Div)") && msg.contains("divided by an activation"), msg);
        msg = refused(graph("Add", false, SliceAndPadNet.floats("t", new float[] {1f, 2f}, 2, 1)));
        assertTrue(msg.contains("node tail (Add)") && msg.contains("one value or one per channel"), msg);
        msg = refused(graph("Div", false, SliceAndPadNet.floats("t", new float[] {0f})));
        assertTrue(msg.contains("division by zero"), msg);
        // the conv output multiplied by k0 is also read by a second node
        Onnx.GraphProto.Builder twice = graph("Mul", false, SliceAndPadNet.floats("t", new float[] {1f}));
        for (int i = 0; i < twice.getNodeCount(); i++) {
            if (twice.getNode(i).getName().equals("a0n")) {
                twice.setNode(i, twice.getNode(i).toBuilder().setInput(0, "c"));
            }
        }
        msg = refused(twice);
        assertTrue(msg.contains("node m0 (Mul)") && msg.contains("other nodes read that tensor too"), msg);
    }

    private String refused(Onnx.GraphProto.Builder g) throws Exception {
        Path f = write(model(g));
        return assertThrows(ModelImportException.class, () -> ModelImporter.load(f)).getMessage();
    }

    private static float[][] ortRun(byte[] model, float[] x, int n) throws Exception {
        ai.onnxruntime.OrtEnvironment env = ai.onnxruntime.OrtEnvironment.getEnvironment();
        try (ai.onnxruntime.OrtSession s = env.createSession(model, new ai.onnxruntime.OrtSession.SessionOptions());
             ai.onnxruntime.OnnxTensor t = ai.onnxruntime.OnnxTensor.createTensor(env, java.nio.FloatBuffer.wrap(x), new long[] {n, 3, 6, 6});
             ai.onnxruntime.OrtSession.Result res = s.run(java.util.Map.of("x", t))) {
            return (float[][]) res.get(0).getValue();
        }
    }
}
