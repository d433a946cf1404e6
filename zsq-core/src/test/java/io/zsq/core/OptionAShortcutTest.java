package io.zsq.core;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.onnxruntime.OnnxTensor;
import ai.onnxruntime.OrtEnvironment;
import ai.onnxruntime.OrtSession;
import io.zsq.core.exec.Fp32Engine;
import io.zsq.core.imports.ModelImporter;
import io.zsq.core.ir.Graph;
import io.zsq.core.ir.OpType;
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
 * A CIFAR-style residual block with the "option A" shortcut as PyTorch 1.13 exports it with
 * do_constant_folding=False (stride-2 Slices with steps, then a channel Pad whose pads come out of
 * Constant / Shape / Gather / Mul / Sub / Cast / ConstantOfShape / Concat / Reshape / Slice / Transpose
 * arithmetic), written here at opsets 7 to 21 (Clip and Pad with attributes before 11, Slice with steps
 * from 10), imported, and run by the IR executor and by ONNX Runtime: the same logits to 1e-4.
 */
class OptionAShortcutTest {
    @TempDir
    Path dir;

    private SplittableRandom r;
    private Onnx.GraphProto.Builder g;
    private int opset;
    private int names;

    @Test
    void theExportersShapeArithmeticFoldsAwayAtEveryOpset() throws Exception {
        for (int v : new int[] {7, 9, 10, 11, 13, 15, 18, 21}) {
            opset = v;
            r = new SplittableRandom(v);
            g = Onnx.GraphProto.newBuilder().setName("option-a");
            Path f = dir.resolve("m" + v + ".onnx");
            Files.write(f, model());
            Graph ir = ModelImporter.load(f);
            assertEquals(opset >= 10 ? 2 : 0, ir.nodes().stream().filter(n -> n.op() == OpType.SLICE).count(), "opset " + v);
            assertEquals(1, ir.nodes().stream().filter(n -> n.op() == OpType.PAD).count(), "opset " + v + ": the channel pad");
            compare(f, ir, Canonicalize.run(ir, null), "opset " + v);
        }
    }

    private void compare(Path f, Graph ir, Graph canonical, String what) throws Exception {
        int n = 8;
        float[] x = new float[n * 3 * 8 * 8];
        for (int i = 0; i < x.length; i++) {
            x[i] = (float) r.nextGaussian();
        }
        OrtEnvironment env = OrtEnvironment.getEnvironment();
        float[][] ort;
        try (OrtSession s = env.createSession(f.toString(), new OrtSession.SessionOptions());
             OnnxTensor t = OnnxTensor.createTensor(env, FloatBuffer.wrap(x), new long[] {n, 3, 8, 8});
             OrtSession.Result res = s.run(Map.of("input", t))) {
            ort = (float[][]) res.get(0).getValue();
        }
        float[] ours = Fp32Engine.run(ir, x, n), folded = Fp32Engine.run(canonical, x, n);
        for (int i = 0; i < n; i++) {
            double a = OnnxRuntimeParityTest.relDiff(ours, i, ort[i]), b = OnnxRuntimeParityTest.relDiff(folded, i, ort[i]);
            assertTrue(a <= 1e-4 && b <= 1e-4, what + ", image " + i + ": relative difference " + a + " / canonical " + b);
        }
    }

    private byte[] model() {
        g.addInput(value("input", 3, 8, 8));
        g.addOutput(value("logits", 10));
        String a = convBnRelu("input", 3, 4, 1, true);              // [4, 8, 8]
        String b = convBnRelu(a, 4, 8, 2, true);                    // [8, 4, 4]
        String c = convBnRelu(b, 8, 8, 1, false);
        String s = opset >= 10 ? slice(slice(a, 2), 3) : a;         // [4, 4, 4]: x[:, :, ::2, ::2]
        if (opset < 10) { // no Slice steps before opset 10: subsample with a 1x1 stride-2 max pool instead
            String p = name("pool");
            g.addNode(node("MaxPool", p, a).addAttribute(ints("kernel_shape", 1, 1)).addAttribute(ints("strides", 2, 2)));
            s = p;
        }
        String pad = opset >= 11 ? padByShapeArithmetic(s, 2) : padByAttribute(s, 2);   // [8, 4, 4]
        String sum = name("add");
        g.addNode(node("Add", sum, c, pad));
        String relu = name("relu");
        g.addNode(node("Relu", relu, sum));
        String clip = name("clip");
        if (opset < 11) {
            g.addNode(node("Clip", clip, relu).addAttribute(fl("min", 0)).addAttribute(fl("max", 6)));
        } else {
            g.addInitializer(scalar(clip + "_lo", 0));
            g.addInitializer(scalar(clip + "_hi", 6));
            g.addNode(node("Clip", clip, relu, clip + "_lo", clip + "_hi"));
        }
        String gap = name("gap");
        g.addNode(node("GlobalAveragePool", gap, clip));
        String flat = name("flat");
        g.addNode(node("Flatten", flat, gap));
        String drop = name("drop");
        g.addNode(node("Dropout", drop, flat));
        g.addInitializer(random("fc_w", 10, 8));
        g.addInitializer(random("fc_b", 10));
        g.addNode(node("Gemm", "logits", drop, "fc_w", "fc_b").addAttribute(Onnx.AttributeProto.newBuilder().setName("transB")
                .setType(Onnx.AttributeProto.AttributeType.INT).setI(1)));
        return Onnx.ModelProto.newBuilder().setIrVersion(opset >= 13 ? 8 : 4).setGraph(g)
                .addOpsetImport(Onnx.OperatorSetIdProto.newBuilder().setDomain("").setVersion(opset)).build().toByteArray();
    }

    /** x[:, :, ::2] (axis 2) or x[..., ::2] (axis 3): Constant starts, ends, axes, steps, as the exporter writes them. */
    private String slice(String x, int axis) {
        String out = name("slice");
        String st = constant(out + "_starts", 0), en = constant(out + "_ends", Long.MAX_VALUE), ax = constant(out + "_axes", axis),
                sp = constant(out + "_steps", 2);
        g.addNode(node("Slice", out, x, st, en, ax, sp));
        return out;
    }

    /**
     * F.pad(x, (0, 0, 0, 0, p, p)) as PyTorch 1.13 exports it: the pads vector [0, 0, 0, 0, p, p] padded
     * to 2 * rank with ConstantOfShape, reshaped to pairs, reversed (Slice with step -1), transposed and
     * flattened to ONNX's [begins..., ends...] order.
     */
    private String padByShapeArithmetic(String x, int p) {
        String pads = name("pads");
        g.addNode(node("Constant", pads).addAttribute(tensorAttr(longs(pads + "_v", 0, 0, 0, 0, p, p))));
        String shape = name("shape"), gather = name("gather"), mul = name("mul"), sub = name("sub");
        g.addNode(node("Shape", shape, pads));
        String zero = constant0(name("zero"), 0);
        g.addNode(node("Gather", gather, shape, zero).addAttribute(Onnx.AttributeProto.newBuilder().setName("axis")
                .setType(Onnx.AttributeProto.AttributeType.INT).setI(0)));
        String four = constant0(name("four"), 4), two = constant0(name("two"), 2);
        g.addNode(node("Mul", mul, four, two));
        g.addNode(node("Sub", sub, mul, gather));
        String cast = name("cast"), cos = name("cos"), cat = name("cat"), rs = name("rs"), sl = name("sl"), tr = name("tr"), rs2 = name("rs2"),
                cast2 = name("cast2");
        g.addNode(node("Cast", cast, pads).addAttribute(Onnx.AttributeProto.newBuilder().setName("to")
                .setType(Onnx.AttributeProto.AttributeType.INT).setI(7)));
        g.addNode(node("ConstantOfShape", cos, unsq(sub)).addAttribute(tensorAttr(longs(cos + "_v", 0))));
        g.addNode(node("Concat", cat, cast, cos).addAttribute(Onnx.AttributeProto.newBuilder().setName("axis")
                .setType(Onnx.AttributeProto.AttributeType.INT).setI(0)));
        String pairs = constantVec(name("pairs"), -1, 2);
        g.addNode(node("Reshape", rs, cat, pairs));
        String s0 = constant(name("s0"), -1), s1 = constant(name("s1"), Long.MIN_VALUE + 1), s2 = constant(name("s2"), 0),
                s3 = constant(name("s3"), -1);
        g.addNode(node("Slice", sl, rs, s0, s1, s2, s3));
        g.addNode(node("Transpose", tr, sl).addAttribute(ints("perm", 1, 0)));
        String flat = constantVec(name("flat"), -1);
        g.addNode(node("Reshape", rs2, tr, flat));
        g.addNode(node("Cast", cast2, rs2).addAttribute(Onnx.AttributeProto.newBuilder().setName("to")
                .setType(Onnx.AttributeProto.AttributeType.INT).setI(7)));
        String value = name("value");
        g.addInitializer(scalar(value, 0));
        String out = name("pad");
        g.addNode(node("Pad", out, x, cast2, value).addAttribute(Onnx.AttributeProto.newBuilder().setName("mode")
                .setType(Onnx.AttributeProto.AttributeType.STRING).setS(ByteString.copyFromUtf8("constant"))));
        return out;
    }

    /** Pad's pads as an attribute (before opset 11). */
    private String padByAttribute(String x, int p) {
        String out = name("pad");
        g.addNode(node("Pad", out, x).addAttribute(ints("pads", 0, p, 0, 0, 0, p, 0, 0)));
        return out;
    }

    /** Unsqueeze to a 1-element vector: an input at opset 13+, an attribute before. */
    private String unsq(String x) {
        String out = name("unsq");
        if (opset >= 13) {
            g.addNode(node("Unsqueeze", out, x, constant(name("axes"), 0)));
        } else {
            g.addNode(node("Unsqueeze", out, x).addAttribute(ints("axes", 0)));
        }
        return out;
    }

    private String convBnRelu(String in, int cin, int cout, int stride, boolean relu) {
        String conv = name("conv"), bn = name("bn");
        g.addInitializer(random(conv + "_w", cout, cin, 3, 3));
        g.addNode(node("Conv", conv, in, conv + "_w").addAttribute(ints("pads", 1, 1, 1, 1)).addAttribute(ints("strides", stride, stride))
                .addAttribute(ints("kernel_shape", 3, 3)));
        Onnx.NodeProto.Builder b = node("BatchNormalization", bn, conv);
        for (String p : new String[] {"s", "b", "m", "v"}) {
            String t = bn + "_" + p;
            g.addInitializer(p.equals("v") ? positive(t, cout) : random(t, cout));
            b.addInput(t);
        }
        g.addNode(b);
        if (!relu) {
            return bn;
        }
        String out = name("relu");
        g.addNode(node("Relu", out, bn));
        return out;
    }

    private String name(String base) {
        return base + "_" + names++;
    }

    private static Onnx.NodeProto.Builder node(String op, String out, String... in) {
        Onnx.NodeProto.Builder b = Onnx.NodeProto.newBuilder().setName(out).setOpType(op).addOutput(out);
        for (String i : in) {
            b.addInput(i);
        }
        return b;
    }

    /** A Constant node holding a 1-element int64 vector. */
    private String constant(String name, long v) {
        g.addNode(node("Constant", name).addAttribute(tensorAttr(longs(name + "_v", v))));
        return name;
    }

    /** A Constant node holding an int64 scalar. */
    private String constant0(String name, long v) {
        Onnx.TensorProto t = Onnx.TensorProto.newBuilder().setName(name + "_v").setDataType(7).addInt64Data(v).build();
        g.addNode(node("Constant", name).addAttribute(tensorAttr(t)));
        return name;
    }

    private String constantVec(String name, long... v) {
        g.addNode(node("Constant", name).addAttribute(tensorAttr(longs(name + "_v", v))));
        return name;
    }

    private static Onnx.TensorProto longs(String name, long... v) {
        Onnx.TensorProto.Builder t = Onnx.TensorProto.newBuilder().setName(name).setDataType(7).addDims(v.length);
        for (long x : v) {
            t.addInt64Data(x);
        }
        return t.build();
    }

    private static Onnx.AttributeProto tensorAttr(Onnx.TensorProto t) {
        return Onnx.AttributeProto.newBuilder().setName("value").setType(Onnx.AttributeProto.AttributeType.TENSOR).setT(t).build();
    }

    private static Onnx.AttributeProto ints(String name, long... v) {
        Onnx.AttributeProto.Builder a = Onnx.AttributeProto.newBuilder().setName(name).setType(Onnx.AttributeProto.AttributeType.INTS);
        for (long x : v) {
            a.addInts(x);
        }
        return a.build();
    }

    private static Onnx.AttributeProto fl(String name, float v) {
        return Onnx.AttributeProto.newBuilder().setName(name).setType(Onnx.AttributeProto.AttributeType.FLOAT).setF(v).build();
    }

    private static Onnx.TensorProto scalar(String name, float v) {
        return Onnx.TensorProto.newBuilder().setName(name).setDataType(1).addFloatData(v).build();
    }

    private static Onnx.ValueInfoProto value(String name, long... dims) {
        Onnx.TensorShapeProto.Builder s = Onnx.TensorShapeProto.newBuilder();
        s.addDim(Onnx.TensorShapeProto.Dimension.newBuilder().setDimParam("N"));
        for (long d : dims) {
            s.addDim(Onnx.TensorShapeProto.Dimension.newBuilder().setDimValue(d));
        }
        return Onnx.ValueInfoProto.newBuilder().setName(name).setType(Onnx.TypeProto.newBuilder()
                .setTensorType(Onnx.TypeProto.Tensor.newBuilder().setElemType(1).setShape(s))).build();
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
