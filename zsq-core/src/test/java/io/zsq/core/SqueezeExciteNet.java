package io.zsq.core;

import java.util.SplittableRandom;
import onnx.Onnx;

/**
 * A small ONNX network (opset 14, random weights) with every squeeze-excite and concat form zsq
 * handles, built with the protobuf classes for ONNX Runtime and for zsq's importer:
 *
 * <pre>
 * x [4,8,8] -> c0 3x3 -> bn -> relu -> a0 [8,8,8]
 *   squeeze-excite: a0 -> gap -> c1 1x1 -> relu -> c2 1x1 -> HardSigmoid(0.2, 0.5) -> s [8,1,1]; m = a0 * s
 *   a0 -> c3 1x1 -> Sigmoid -> sg [4,8,8]
 *   m -> c4 3x3 -> HardSwish -> hw [4,8,8]; sg -> ReduceMean(2, 3) -> c6 1x1 -> Sigmoid -> t [1,1,1]; hwt = hw * t
 *   hb = hwt + c6 (a broadcasting add, [4,8,8] + [1,1,1]); hd = hb - sg
 *   sq = relu(sg * hw)  (same shapes, the ReLU fused into the product)
 *   cat = relu(Concat(m, sg, hd, sq)) [20,8,8] -> c5 1x1 -> Mul by a [1,6,1,1] constant (folded into c5)
 *   -> relu -> gap -> flatten -> fc 10
 * </pre>
 * With {@code activations = false} the ReLUs are left out.
 */
public final class SqueezeExciteNet {
    public static final int[] INPUT = {4, 8, 8};
    public static final int CLASSES = 10;

    private final SplittableRandom r;
    private final boolean activations;
    public final Onnx.GraphProto.Builder onnx = Onnx.GraphProto.newBuilder().setName("squeeze-excite");

    private SqueezeExciteNet(long seed, boolean activations) {
        this.r = new SplittableRandom(seed);
        this.activations = activations;
    }

    public static SqueezeExciteNet build(long seed, boolean activations) {
        SqueezeExciteNet n = new SqueezeExciteNet(seed, activations);
        n.onnx.addInput(SliceAndPadNet.OnnxValue.of("x", -1, INPUT[0], INPUT[1], INPUT[2]));
        n.onnx.addOutput(SliceAndPadNet.OnnxValue.of("y", -1, CLASSES));
        n.conv("c0", "x", "c0", 4, 8, 3, false);
        n.bn("bn0", "c0", "b0", 8);
        String a0 = n.relu("r0", "b0", "a0");
        n.op("gap0", "GlobalAveragePool", "g0", a0);
        n.conv("c1", "g0", "c1", 8, 4, 1, true);
        String r1 = n.relu("r1", "c1", "r1");
        n.conv("c2", r1, "c2", 4, 8, 1, true);
        n.onnx.addNode(Onnx.NodeProto.newBuilder().setName("hs").setOpType("HardSigmoid").addInput("c2").addOutput("s")
                .addAttribute(floatAttr("alpha", 0.2f)).addAttribute(floatAttr("beta", 0.5f)));
        n.op("m", "Mul", "m", a0, "s");
        n.conv("c3", a0, "c3", 8, 4, 1, true);
        n.op("sig", "Sigmoid", "sg", "c3");
        n.conv("c4", "m", "c4", 8, 4, 3, true);
        n.op("hw", "HardSwish", "hw", "c4");
        n.onnx.addNode(Onnx.NodeProto.newBuilder().setName("gap1").setOpType("ReduceMean").addInput("sg").addOutput("g1")
                .addAttribute(SliceAndPadNet.ints("axes", 2, 3))); // x.mean((2, 3), keepdim=True)
        n.conv("c6", "g1", "c6", 4, 1, 1, true);
        n.op("sig2", "Sigmoid", "t", "c6");
        n.op("mt", "Mul", "hwt", "hw", "t");
        n.op("hb", "Add", "hb", "hwt", "c6"); // a broadcasting add of activations
        n.op("hd", "Sub", "hd", "hb", "sg"); // a subtraction of activations

        n.op("sq", "Mul", "sq0", "sg", "hw");
        String sq = n.relu("rsq", "sq0", "sq");
        n.onnx.addNode(Onnx.NodeProto.newBuilder().setName("cat").setOpType("Concat").addInput("m").addInput("sg").addInput("hd")
                .addInput(sq).addOutput("cat0").addAttribute(Onnx.AttributeProto.newBuilder().setName("axis")
                        .setType(Onnx.AttributeProto.AttributeType.INT).setI(1)));
        String cat = n.relu("rcat", "cat0", "cat"); // fused into the concatenation
        n.conv("c5", cat, "c5", 20, 6, 1, true);
        float[] k = n.values(6, 1.0, 0.5);
        n.onnx.addInitializer(SliceAndPadNet.floats("c5_k", k, 1, 6, 1, 1));
        n.op("scale", "Mul", "c5s", "c5", "c5_k");
        String a5 = n.relu("r5", "c5s", "a5");
        n.op("gap", "GlobalAveragePool", "g", a5);
        n.op("fl", "Flatten", "f", "g");
        float[] w = n.values(CLASSES * 6, 0.5, 0), b = n.values(CLASSES, 0.1, 0);
        n.onnx.addInitializer(SliceAndPadNet.floats("fc_w", w, CLASSES, 6)).addInitializer(SliceAndPadNet.floats("fc_b", b, CLASSES));
        n.onnx.addNode(Onnx.NodeProto.newBuilder().setName("fc").setOpType("Gemm").addInput("f").addInput("fc_w").addInput("fc_b")
                .addOutput("y").addAttribute(Onnx.AttributeProto.newBuilder().setName("transB").setType(Onnx.AttributeProto.AttributeType.INT).setI(1)));
        return n;
    }

    /** The ONNX model, opset 14 (HardSwish). */
    public byte[] onnxModel() {
        return Onnx.ModelProto.newBuilder().setIrVersion(7).setGraph(onnx)
                .addOpsetImport(Onnx.OperatorSetIdProto.newBuilder().setDomain("").setVersion(14)).build().toByteArray();
    }

    /** A random batch, N(0, 1). */
    public static float[] input(long seed, int batch) {
        return gaussian(seed, batch * INPUT[0] * INPUT[1] * INPUT[2]);
    }

    static float[] gaussian(long seed, int n) {
        SplittableRandom r = new SplittableRandom(seed);
        float[] x = new float[n];
        for (int i = 0; i < n; i++) {
            x[i] = (float) r.nextGaussian();
        }
        return x;
    }

    private void op(String id, String type, String out, String... in) {
        Onnx.NodeProto.Builder b = Onnx.NodeProto.newBuilder().setName(id).setOpType(type).addOutput(out);
        for (String i : in) {
            b.addInput(i);
        }
        onnx.addNode(b);
    }

    private void conv(String id, String in, String out, int cin, int cout, int k, boolean bias) {
        float[] w = values(cout * cin * k * k, 1.5 / Math.sqrt(cin * k * k), 0);
        onnx.addInitializer(SliceAndPadNet.floats(id + "_w", w, cout, cin, k, k));
        Onnx.NodeProto.Builder b = Onnx.NodeProto.newBuilder().setName(id).setOpType("Conv").addInput(in).addInput(id + "_w").addOutput(out)
                .addAttribute(SliceAndPadNet.ints("kernel_shape", k, k)).addAttribute(SliceAndPadNet.ints("pads", k / 2, k / 2, k / 2, k / 2));
        if (bias) {
            onnx.addInitializer(SliceAndPadNet.floats(id + "_b", values(cout, 0.3, 0), cout));
            b.addInput(id + "_b");
        }
        onnx.addNode(b);
    }

    private void bn(String id, String in, String out, int c) {
        Onnx.NodeProto.Builder b = Onnx.NodeProto.newBuilder().setName(id).setOpType("BatchNormalization").addInput(in).addOutput(out)
                .addAttribute(floatAttr("epsilon", 1e-5f));
        String[][] params = {{"scale", "0.5", "0.5"}, {"bias", "0.3", "0"}, {"mean", "0.3", "0"}, {"var", "0.5", "0.5"}};
        for (String[] q : params) {
            onnx.addInitializer(SliceAndPadNet.floats(id + "_" + q[0], values(c, Double.parseDouble(q[1]), Double.parseDouble(q[2])), c));
            b.addInput(id + "_" + q[0]);
        }
        onnx.addNode(b);
    }

    private String relu(String id, String in, String out) {
        if (!activations) {
            return in;
        }
        op(id, "Relu", out, in);
        return out;
    }

    private float[] values(int n, double scale, double offset) {
        float[] v = new float[n];
        for (int i = 0; i < n; i++) {
            v[i] = (float) (offset > 0 ? offset + scale * r.nextDouble() : scale * r.nextGaussian());
        }
        return v;
    }

    static Onnx.AttributeProto floatAttr(String name, float v) {
        return Onnx.AttributeProto.newBuilder().setName(name).setType(Onnx.AttributeProto.AttributeType.FLOAT).setF(v).build();
    }
}
