package io.zsq.core;

import io.zsq.core.ir.Graph;
import io.zsq.core.ir.Node;
import io.zsq.core.ir.OpType;
import io.zsq.core.ir.Tensor;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.SplittableRandom;
import onnx.Onnx;
import org.nd4j.shade.protobuf.ByteString;

/**
 * One small network with random weights, built twice from the same numbers: as IR nodes
 * ({@link Graph#of}, the convention the ONNX importer produces for Slice and Pad) and as an ONNX model
 * for ONNX Runtime. It holds a CIFAR ResNet's "option A" block (conv stride 2 -> conv on the main
 * path; {@code x[:, :, ::2, ::2]} then 4 + 4 zero channels on the shortcut; added) and then a slice with a
 * negative start, a channel step, an end clamped and a negative end, a spatial and channel pad, so
 * every part of the convention is used.
 *
 * <pre>
 * x [3,16,16] -> c0 3x3 -> bn -> relu -> a0 [8,16,16]
 *   a0 -> c1 3x3 s2 -> bn -> relu -> c2 3x3 -> bn -> b2 [16,8,8]
 *   a0 -> sl1 [::1, ::2, ::2] [8,8,8] -> pd1 channels 4+4 [16,8,8]
 *   b2 + pd1 -> relu -> s1 -> c3 1x1 -> bn -> relu -> a3 [8,8,8]
 *   a3 -> sl2 starts (-7, 1, 0) ends (MAX, -1, 8) steps (2, 1, 3) [4,6,3] -> pd2 (1,1,0 | 2,0,2) [7,7,5]
 *   -> c4 3x3 -> bn -> relu -> gap -> flatten -> fc 10
 * </pre>
 * With {@code activations = false} the ReLUs are left out (a smooth function, for finite differences).
 */
public final class SliceAndPadNet {
    public static final int[] INPUT = {3, 16, 16};
    public static final int CLASSES = 10;

    private final SplittableRandom r;
    private final boolean activations;
    private final List<Node> nodes = new ArrayList<>();
    public final Onnx.GraphProto.Builder onnx = Onnx.GraphProto.newBuilder().setName("slice-pad");

    private SliceAndPadNet(long seed, boolean activations) {
        this.r = new SplittableRandom(seed);
        this.activations = activations;
    }

    public static SliceAndPadNet build(long seed, boolean activations) {
        SliceAndPadNet n = new SliceAndPadNet(seed, activations);
        n.onnx.addInput(OnnxValue.of("x", -1, INPUT[0], INPUT[1], INPUT[2]));
        n.onnx.addOutput(OnnxValue.of("y", -1, CLASSES));
        n.conv("c0", "x", 3, 8, 3, 1, 1);
        n.bn("bn0", "c0", "b0", 8);
        String a0 = n.relu("r0", "b0", "a0");
        n.conv("c1", a0, 8, 16, 3, 2, 1);
        n.bn("bn1", "c1", "b1", 16);
        String a1 = n.relu("r1", "b1", "a1");
        n.conv("c2", a1, 16, 16, 3, 1, 1);
        n.bn("bn2", "c2", "b2", 16);
        int max = Integer.MAX_VALUE;
        n.slice("sl1", a0, "sl1", new int[] {0, 0, 0}, new int[] {max, max, max}, new int[] {1, 2, 2});
        n.pad("pd1", "sl1", "pd1", new int[] {4, 0, 0, 4, 0, 0});
        n.add("add", "b2", "pd1", "sum");
        String s1 = n.relu("r2", "sum", "s1");
        n.conv("c3", s1, 16, 8, 1, 1, 0);
        n.bn("bn3", "c3", "b3", 8);
        String a3 = n.relu("r3", "b3", "a3");
        n.slice("sl2", a3, "sl2", new int[] {-7, 1, 0}, new int[] {max, -1, 8}, new int[] {2, 1, 3});
        n.pad("pd2", "sl2", "pd2", new int[] {1, 1, 0, 2, 0, 2});
        n.conv("c4", "pd2", 7, 6, 3, 1, 1);
        n.bn("bn4", "c4", "b4", 6);
        String a4 = n.relu("r4", "b4", "a4");
        n.nodes.add(new Node("gap", OpType.GLOBAL_AVG_POOL, List.of(a4), "g", Map.of(), Map.of(), Map.of()));
        n.onnx.addNode(Onnx.NodeProto.newBuilder().setName("gap").setOpType("GlobalAveragePool").addInput(a4).addOutput("g"));
        n.nodes.add(new Node("fl", OpType.FLATTEN, List.of("g"), "f", Map.of(), Map.of(), Map.of()));
        n.onnx.addNode(Onnx.NodeProto.newBuilder().setName("fl").setOpType("Flatten").addInput("g").addOutput("f"));
        float[] w = n.values(CLASSES * 6, 0.5, 0), b = n.values(CLASSES, 0.1, 0);
        n.nodes.add(new Node("fc", OpType.DENSE, List.of("f"), "y", Map.of(), Map.of(),
                Map.of("W", new Tensor(new int[] {CLASSES, 6}, w), "B", new Tensor(new int[] {CLASSES}, b))));
        n.onnx.addInitializer(floats("fc_w", w, CLASSES, 6)).addInitializer(floats("fc_b", b, CLASSES));
        n.onnx.addNode(Onnx.NodeProto.newBuilder().setName("fc").setOpType("Gemm").addInput("f").addInput("fc_w").addInput("fc_b")
                .addOutput("y").addAttribute(Onnx.AttributeProto.newBuilder().setName("transB").setType(Onnx.AttributeProto.AttributeType.INT).setI(1)));
        return n;
    }

    /** The IR graph (BatchNorm and ReLU not folded or fused). */
    public Graph graph() {
        return Graph.of("x", INPUT, "y", nodes, Set.of(), Map.of());
    }

    /** The ONNX model, opset 13. */
    public byte[] onnxModel() {
        return Onnx.ModelProto.newBuilder().setIrVersion(7).setGraph(onnx)
                .addOpsetImport(Onnx.OperatorSetIdProto.newBuilder().setDomain("").setVersion(13)).build().toByteArray();
    }

    /** A random batch, N(0, 1). */
    public static float[] input(long seed, int batch) {
        SplittableRandom r = new SplittableRandom(seed);
        float[] x = new float[batch * Tensor.size(INPUT)];
        for (int i = 0; i < x.length; i++) {
            x[i] = (float) r.nextGaussian();
        }
        return x;
    }

    private void conv(String id, String in, int cin, int cout, int k, int stride, int pad) {
        float[] w = values(cout * cin * k * k, 1.0 / Math.sqrt(cin * k * k), 0);
        nodes.add(new Node(id, OpType.CONV, List.of(in), id, Map.of("strides", new int[] {stride, stride},
                "pads", new int[] {pad, pad, pad, pad}, "group", new int[] {1}), Map.of(), Map.of("W", new Tensor(new int[] {cout, cin, k, k}, w))));
        onnx.addInitializer(floats(id + "_w", w, cout, cin, k, k));
        onnx.addNode(Onnx.NodeProto.newBuilder().setName(id).setOpType("Conv").addInput(in).addInput(id + "_w").addOutput(id)
                .addAttribute(ints("kernel_shape", k, k)).addAttribute(ints("strides", stride, stride)).addAttribute(ints("pads", pad, pad, pad, pad)));
    }

    private void bn(String id, String in, String out, int c) {
        Map<String, Tensor> p = new LinkedHashMap<>();
        Onnx.NodeProto.Builder b = Onnx.NodeProto.newBuilder().setName(id).setOpType("BatchNormalization").addInput(in).addOutput(out)
                .addAttribute(Onnx.AttributeProto.newBuilder().setName("epsilon").setType(Onnx.AttributeProto.AttributeType.FLOAT).setF(1e-5f));
        String[][] params = {{"scale", "0.5", "0.5"}, {"bias", "0.3", "0"}, {"mean", "0.3", "0"}, {"var", "0.5", "0.5"}};
        for (String[] q : params) {
            float[] v = values(c, Double.parseDouble(q[1]), Double.parseDouble(q[2]));
            p.put(q[0], new Tensor(new int[] {c}, v));
            onnx.addInitializer(floats(id + "_" + q[0], v, c));
            b.addInput(id + "_" + q[0]);
        }
        nodes.add(new Node(id, OpType.BATCH_NORM, List.of(in), out, Map.of(), Map.of("epsilon", 1e-5f), p));
        onnx.addNode(b);
    }

    /** A ReLU, or nothing (then the input's name is returned) when the net has no activations. */
    private String relu(String id, String in, String out) {
        if (!activations) {
            return in;
        }
        nodes.add(new Node(id, OpType.RELU, List.of(in), out, Map.of(), Map.of(), Map.of()));
        onnx.addNode(Onnx.NodeProto.newBuilder().setName(id).setOpType("Relu").addInput(in).addOutput(out));
        return out;
    }

    private void add(String id, String a, String b, String out) {
        nodes.add(new Node(id, OpType.ADD, List.of(a, b), out, Map.of(), Map.of(), Map.of()));
        onnx.addNode(Onnx.NodeProto.newBuilder().setName(id).setOpType("Add").addInput(a).addInput(b).addOutput(out));
    }

    /** IR: starts/ends/steps over (C, H, W); ONNX: the same over axes 1..3. */
    private void slice(String id, String in, String out, int[] starts, int[] ends, int[] steps) {
        nodes.add(new Node(id, OpType.SLICE, List.of(in), out, Map.of("starts", starts, "ends", ends, "steps", steps), Map.of(), Map.of()));
        onnx.addInitializer(longs(id + "_starts", starts)).addInitializer(longs(id + "_ends", ends))
                .addInitializer(longs(id + "_axes", new int[] {1, 2, 3})).addInitializer(longs(id + "_steps", steps));
        onnx.addNode(Onnx.NodeProto.newBuilder().setName(id).setOpType("Slice").addInput(in).addInput(id + "_starts").addInput(id + "_ends")
                .addInput(id + "_axes").addInput(id + "_steps").addOutput(out));
    }

    /** IR: pads [c_b, h_b, w_b, c_e, h_e, w_e]; ONNX: [0, c_b, h_b, w_b, 0, c_e, h_e, w_e] with the default value 0. */
    private void pad(String id, String in, String out, int[] pads) {
        nodes.add(new Node(id, OpType.PAD, List.of(in), out, Map.of("pads", pads), Map.of(), Map.of()));
        onnx.addInitializer(longs(id + "_pads", new int[] {0, pads[0], pads[1], pads[2], 0, pads[3], pads[4], pads[5]}));
        onnx.addNode(Onnx.NodeProto.newBuilder().setName(id).setOpType("Pad").addInput(in).addInput(id + "_pads").addOutput(out)
                .addAttribute(Onnx.AttributeProto.newBuilder().setName("mode").setType(Onnx.AttributeProto.AttributeType.STRING)
                        .setS(ByteString.copyFromUtf8("constant"))));
    }

    /** {@code offset + scale * U(0, 1)} when offset > 0 (positive values), else {@code scale * N(0, 1)}. */
    private float[] values(int n, double scale, double offset) {
        float[] v = new float[n];
        for (int i = 0; i < n; i++) {
            v[i] = (float) (offset > 0 ? offset + scale * r.nextDouble() : scale * r.nextGaussian());
        }
        return v;
    }

    static Onnx.TensorProto floats(String name, float[] v, long... dims) {
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

    static Onnx.TensorProto longs(String name, int[] v) {
        Onnx.TensorProto.Builder t = Onnx.TensorProto.newBuilder().setName(name).setDataType(7).addDims(v.length);
        for (int x : v) {
            t.addInt64Data(x);
        }
        return t.build();
    }

    static Onnx.AttributeProto ints(String name, long... v) {
        Onnx.AttributeProto.Builder a = Onnx.AttributeProto.newBuilder().setName(name).setType(Onnx.AttributeProto.AttributeType.INTS);
        for (long x : v) {
            a.addInts(x);
        }
        return a.build();
    }

    /** Float tensor value infos; a negative dimension is the symbolic batch {@code N}. */
    static final class OnnxValue {
        private OnnxValue() {}

        static Onnx.ValueInfoProto of(String name, long... dims) {
            Onnx.TensorShapeProto.Builder s = Onnx.TensorShapeProto.newBuilder();
            for (long d : dims) {
                s.addDim(d < 0 ? Onnx.TensorShapeProto.Dimension.newBuilder().setDimParam("N")
                        : Onnx.TensorShapeProto.Dimension.newBuilder().setDimValue(d));
            }
            return Onnx.ValueInfoProto.newBuilder().setName(name).setType(Onnx.TypeProto.newBuilder()
                    .setTensorType(Onnx.TypeProto.Tensor.newBuilder().setElemType(1).setShape(s))).build();
        }
    }
}
