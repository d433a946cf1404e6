package io.zsq.core;

import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.onnxruntime.OnnxTensor;
import ai.onnxruntime.OrtEnvironment;
import ai.onnxruntime.OrtSession;
import io.zsq.core.exec.Fp32Engine;
import io.zsq.core.imports.ModelImporter;
import io.zsq.core.ir.Graph;
import io.zsq.core.passes.Canonicalize;
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
 * Every supported ONNX operator the bundled ResNet does not use (grouped and depthwise Conv with
 * asymmetric pads and stride, Clip as ReLU6, MaxPool, AveragePool, Reshape, MatMul + Add), in a random
 * model built here, run by ONNX Runtime and by the IR executor (before and after canonicalization).
 */
class OnnxOpsParityTest {
    @TempDir
    Path dir;

    private final SplittableRandom r = new SplittableRandom(17);
    private final Onnx.GraphProto.Builder g = Onnx.GraphProto.newBuilder().setName("ops");

    @Test
    void allOperatorsMatchOnnxRuntime() throws Exception {
        g.addInput(batched(ImportErrorsTest.value("x", 1, 3, 12, 12)));
        g.addOutput(batched(ImportErrorsTest.value("y", 1, 7)));
        conv("x", "c1", 8, 3, 3, 1, new long[] {1, 1, 1, 1}, new long[] {1, 1});
        bn("c1", "b1", 8);
        clip("b1", "a1");
        conv("a1", "c2", 8, 1, 3, 8, new long[] {0, 1, 1, 0}, new long[] {2, 2}); // depthwise, asymmetric pads, stride 2
        bn("c2", "b2", 8);
        node("Relu", "a2", "b2");
        conv("a2", "c3", 8, 4, 1, 2, new long[] {0, 0, 0, 0}, new long[] {1, 1}); // grouped 1x1
        bn("c3", "b3", 8);
        node("Relu", "a3", "b3");
        g.addNode(Onnx.NodeProto.newBuilder().setName("mp").setOpType("MaxPool").addInput("a3").addOutput("p1")
                .addAttribute(ints("kernel_shape", 3, 3)).addAttribute(ints("strides", 1, 1)).addAttribute(ints("pads", 1, 1, 1, 1)));
        g.addNode(Onnx.NodeProto.newBuilder().setName("ap").setOpType("AveragePool").addInput("p1").addOutput("p2")
                .addAttribute(ints("kernel_shape", 2, 2)).addAttribute(ints("strides", 2, 2)).addAttribute(ints("pads", 0, 0, 1, 1)));
        g.addNode(Onnx.NodeProto.newBuilder().setName("add").setOpType("Add").addInput("p2").addInput("p2").addOutput("s"));
        g.addInitializer(Onnx.TensorProto.newBuilder().setName("shape").setDataType(7).addDims(2).addInt64Data(-1).addInt64Data(72));
        g.addNode(Onnx.NodeProto.newBuilder().setName("rs").setOpType("Reshape").addInput("s").addInput("shape").addOutput("f"));
        g.addInitializer(random("mw", 72, 7));
        g.addNode(Onnx.NodeProto.newBuilder().setName("mm").setOpType("MatMul").addInput("f").addInput("mw").addOutput("m"));
        g.addInitializer(random("mb", 7));
        g.addNode(Onnx.NodeProto.newBuilder().setName("bias").setOpType("Add").addInput("m").addInput("mb").addOutput("y"));
        Path f = dir.resolve("ops.onnx");
        Files.write(f, Onnx.ModelProto.newBuilder().setIrVersion(7).setGraph(g)
                .addOpsetImport(Onnx.OperatorSetIdProto.newBuilder().setDomain("").setVersion(13)).build().toByteArray());

        Graph ir = ModelImporter.load(f);
        Graph canonical = Canonicalize.run(ir, null);
        int n = 16;
        float[] x = new float[n * 3 * 12 * 12];
        for (int i = 0; i < x.length; i++) {
            x[i] = (float) r.nextGaussian();
        }
        OrtEnvironment env = OrtEnvironment.getEnvironment();
        float[][] ort;
        try (OrtSession s = env.createSession(f.toString(), new OrtSession.SessionOptions());
             OnnxTensor t = OnnxTensor.createTensor(env, FloatBuffer.wrap(x), new long[] {n, 3, 12, 12});
             OrtSession.Result res = s.run(Map.of("x", t))) {
            ort = (float[][]) res.get(0).getValue();
        }
        float[] ours = Fp32Engine.run(ir, x, n), folded = Fp32Engine.run(canonical, x, n);
        for (int i = 0; i < n; i++) {
            double a = OnnxRuntimeParityTest.relDiff(ours, i, ort[i]), b = OnnxRuntimeParityTest.relDiff(folded, i, ort[i]);
            assertTrue(a <= 1e-4 && b <= 1e-4, "image " + i + ": relative difference " + a + " / folded " + b);
        }
    }

    /** The same value with a symbolic batch dimension. */
    private static Onnx.ValueInfoProto batched(Onnx.ValueInfoProto v) {
        Onnx.ValueInfoProto.Builder b = v.toBuilder();
        b.getTypeBuilder().getTensorTypeBuilder().getShapeBuilder().getDimBuilder(0).clearDimValue().setDimParam("N");
        return b.build();
    }

    private void conv(String in, String out, int cout, int cinPerGroup, int k, int group, long[] pads, long[] strides) {
        String w = out + "_w";
        g.addInitializer(random(w, cout, cinPerGroup, k, k));
        g.addNode(Onnx.NodeProto.newBuilder().setName(out).setOpType("Conv").addInput(in).addInput(w).addOutput(out)
                .addAttribute(ints("pads", pads)).addAttribute(ints("strides", strides))
                .addAttribute(Onnx.AttributeProto.newBuilder().setName("group").setType(Onnx.AttributeProto.AttributeType.INT).setI(group)));
    }

    private void bn(String in, String out, int c) {
        Onnx.NodeProto.Builder b = Onnx.NodeProto.newBuilder().setName(out).setOpType("BatchNormalization").addInput(in);
        for (String p : new String[] {"s", "b", "m", "v"}) {
            String name = out + "_" + p;
            g.addInitializer(p.equals("v") ? positive(name, c) : random(name, c));
            b.addInput(name);
        }
        g.addNode(b.addOutput(out));
    }

    private void clip(String in, String out) {
        g.addInitializer(Onnx.TensorProto.newBuilder().setName(out + "_lo").setDataType(1).addFloatData(0f));
        g.addInitializer(Onnx.TensorProto.newBuilder().setName(out + "_hi").setDataType(1).addFloatData(0.8f));
        g.addNode(Onnx.NodeProto.newBuilder().setName(out).setOpType("Clip").addInput(in).addInput(out + "_lo").addInput(out + "_hi").addOutput(out));
    }

    private void node(String op, String out, String in) {
        g.addNode(Onnx.NodeProto.newBuilder().setName(out).setOpType(op).addInput(in).addOutput(out));
    }

    private static Onnx.AttributeProto ints(String name, long... v) {
        Onnx.AttributeProto.Builder a = Onnx.AttributeProto.newBuilder().setName(name).setType(Onnx.AttributeProto.AttributeType.INTS);
        for (long x : v) {
            a.addInts(x);
        }
        return a.build();
    }

    private Onnx.TensorProto random(String name, long... dims) {
        return tensor(name, dims, false);
    }

    private Onnx.TensorProto positive(String name, long... dims) {
        return tensor(name, dims, true);
    }

    private Onnx.TensorProto tensor(String name, long[] dims, boolean positive) {
        int n = 1;
        for (long d : dims) {
            n *= (int) d;
        }
        ByteBuffer b = ByteBuffer.allocate(4 * n).order(ByteOrder.LITTLE_ENDIAN);
        for (int i = 0; i < n; i++) {
            b.putFloat((float) (positive ? 0.5 + r.nextDouble() : 0.5 * r.nextGaussian()));
        }
        Onnx.TensorProto.Builder t = Onnx.TensorProto.newBuilder().setName(name).setDataType(1).setRawData(ByteString.copyFrom(b.array()));
        for (long d : dims) {
            t.addDims(d);
        }
        return t.build();
    }
}
