package io.zsq.core.exec;

import io.zsq.core.ir.Broadcast;
import io.zsq.core.ir.Graph;
import io.zsq.core.ir.Node;
import io.zsq.core.ir.OpType;
import io.zsq.core.ir.PadWidths;
import io.zsq.core.ir.SliceWindow;
import io.zsq.core.ir.Tensor;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import onnx.Onnx;
import org.nd4j.shade.protobuf.ByteString;

/**
 * The FP32 engine's forward pass and its reverse mode written out as one ONNX graph, for engines that run
 * ONNX (ONNX Runtime's CPU and CUDA providers, {@link OrtDevice}). ONNX Runtime's training API is not
 * maintained, so the gradient graph is built here, op by op, from the same definitions the Vector API
 * engine differentiates: a convolution's input gradient is a ConvTranspose with the same weights, a
 * clamp's a Where on the kept range, a max pool's a ScatterElements at the pool's indices, and so on.
 *
 * <p>Tensors are NCHW ({@code [batch, ...per-image shape]}) with the batch fixed when the graph is built.
 * {@link #forward} names every IR tensor's value; {@link #backward} takes gradients (seeds) at any
 * tensors and returns the gradient at the graph input, with the same conventions as
 * {@link Fp32Engine#backward}: a clamp passes the gradient strictly inside its range, the first maximum
 * of a pool window takes it.
 */
public final class OnnxGraphs {
    private OnnxGraphs() {}

    /** The opset the graphs are written for (ScatterElements with {@code reduction} needs 16). */
    public static final int OPSET = 17;

    /** A graph under construction: nodes, initializers, inputs and outputs, with fresh names for intermediates. */
    public static final class Builder {
        private final Onnx.GraphProto.Builder graph = Onnx.GraphProto.newBuilder().setName("zsq");
        private int counter;

        /** A name no IR tensor and no other intermediate has. */
        public String fresh(String hint) {
            return "zsq#" + hint + "#" + counter++;
        }

        /** A node with one output, returned. */
        public String op(String type, List<String> inputs, Onnx.AttributeProto... attrs) {
            return ops(type, inputs, 1, attrs)[0];
        }

        /** A node with {@code outputs} outputs, returned. */
        public String[] ops(String type, List<String> inputs, int outputs, Onnx.AttributeProto... attrs) {
            String[] out = new String[outputs];
            Onnx.NodeProto.Builder n = Onnx.NodeProto.newBuilder().setOpType(type).setName(fresh(type)).addAllInput(inputs);
            for (int i = 0; i < outputs; i++) {
                out[i] = fresh(type.toLowerCase(java.util.Locale.ROOT));
                n.addOutput(out[i]);
            }
            for (Onnx.AttributeProto a : attrs) {
                n.addAttribute(a);
            }
            graph.addNode(n);
            return out;
        }

        /** A node writing the tensor {@code output} (a graph output's fixed name). */
        public void named(String type, List<String> inputs, String output, Onnx.AttributeProto... attrs) {
            Onnx.NodeProto.Builder n = Onnx.NodeProto.newBuilder().setOpType(type).setName(fresh(type)).addAllInput(inputs).addOutput(output);
            for (Onnx.AttributeProto a : attrs) {
                n.addAttribute(a);
            }
            graph.addNode(n);
        }

        /** A float initializer of the given dims. */
        public String constant(String hint, float[] v, long... dims) {
            ByteBuffer bb = ByteBuffer.allocate(v.length * 4).order(ByteOrder.LITTLE_ENDIAN);
            for (float f : v) {
                bb.putFloat(f);
            }
            return init(hint, Onnx.TensorProto.DataType.FLOAT_VALUE, dims, bb.array());
        }

        /** A float scalar initializer. */
        public String scalar(float v) {
            return constant("c", new float[] {v});
        }

        /** A 1-D int64 initializer (shapes, axes, pads, indices). */
        public String longs(long... v) {
            return longsShaped(v, v.length);
        }

        /** An int64 initializer of the given dims. */
        public String longsShaped(long[] v, long... dims) {
            ByteBuffer bb = ByteBuffer.allocate(v.length * 8).order(ByteOrder.LITTLE_ENDIAN);
            for (long x : v) {
                bb.putLong(x);
            }
            return init("i", Onnx.TensorProto.DataType.INT64_VALUE, dims, bb.array());
        }

        private String init(String hint, int type, long[] dims, byte[] raw) {
            String name = fresh(hint);
            Onnx.TensorProto.Builder t = Onnx.TensorProto.newBuilder().setName(name).setDataType(type).setRawData(ByteString.copyFrom(raw));
            for (long d : dims) {
                t.addDims(d);
            }
            graph.addInitializer(t);
            return name;
        }

        /** A float graph input. */
        public void input(String name, long... dims) {
            graph.addInput(valueInfo(name, dims));
        }

        /** A float graph output. */
        public void output(String name, long... dims) {
            graph.addOutput(valueInfo(name, dims));
        }

        /** The serialized model. */
        public byte[] model() {
            return Onnx.ModelProto.newBuilder().setIrVersion(8).setProducerName("zsq")
                    .addOpsetImport(Onnx.OperatorSetIdProto.newBuilder().setDomain("").setVersion(OPSET))
                    .setGraph(graph).build().toByteArray();
        }

        private static Onnx.ValueInfoProto valueInfo(String name, long... dims) {
            Onnx.TensorShapeProto.Builder shape = Onnx.TensorShapeProto.newBuilder();
            for (long d : dims) {
                shape.addDim(Onnx.TensorShapeProto.Dimension.newBuilder().setDimValue(d));
            }
            return Onnx.ValueInfoProto.newBuilder().setName(name).setType(Onnx.TypeProto.newBuilder().setTensorType(
                    Onnx.TypeProto.Tensor.newBuilder().setElemType(Onnx.TensorProto.DataType.FLOAT_VALUE).setShape(shape))).build();
        }
    }

    /**
     * What a caller changes in the graphs {@link #forward} and {@link #backward} write: where a layer's
     * parameters come from (a graph input, for parameters that change every step), and a quantizer at
     * tensors (fake quantization forward, its straight-through backward). The defaults: constants, none.
     */
    public interface Hooks {
        /** The ONNX tensor of node {@code n}'s parameter {@code key} ({@code W} or {@code B}; null: n has none). */
        default String parameter(Builder b, Node n, String key) {
            Tensor t = n.param(key);
            if (t == null) {
                return null;
            }
            long[] dims = new long[t.shape().length];
            for (int i = 0; i < dims.length; i++) {
                dims[i] = t.dim(i);
            }
            return b.constant(key, t.data(), dims);
        }

        /** The value consumers read of {@code tensor}, from its computed value {@code y} (fake quantization). */
        default String quantize(Builder b, String tensor, String y) {
            return y;
        }

        /** The gradient to the computed value of a quantized {@code tensor} from the gradient {@code dy} at its quantized value. */
        default String quantizeBackward(Builder b, String tensor, String dy, String raw) {
            return dy;
        }
    }

    private static final Hooks CONSTANTS = new Hooks() {};

    /** What {@link #forward} wrote: the ONNX name of every IR tensor's value, and what the reverse mode needs. */
    public static final class Values {
        final Map<String, String> names = new HashMap<>();
        /** Quantized tensors' values before the quantizer. */
        final Map<String, String> raw = new HashMap<>();
        final Map<String, String> poolIndices = new HashMap<>();
        final Map<String, String> flattened = new HashMap<>();
        /** The ONNX tensors of the layers' parameters, by node id and key, written once. */
        final Map<String, String> params = new HashMap<>();
        final int batch;

        Values(int batch) {
            this.batch = batch;
        }

        /** The ONNX tensor holding IR tensor {@code t} ({@code [batch, ...shape]}). */
        public String of(String t) {
            String n = names.get(t);
            if (n == null) {
                throw new IllegalArgumentException("no tensor '" + t + "' in the graph");
            }
            return n;
        }

        public int batch() {
            return batch;
        }

        String param(Builder b, Node n, String key, Hooks hooks) {
            String k = n.id() + "\u0000" + key;
            if (!params.containsKey(k)) {
                params.put(k, hooks.parameter(b, n, key));
            }
            return params.get(k);
        }
    }

    /** The batch dims of a per-image shape: {@code [batch, ...shape]}. */
    public static long[] dims(int batch, int[] shape) {
        long[] d = new long[shape.length + 1];
        d[0] = batch;
        for (int i = 0; i < shape.length; i++) {
            d[i + 1] = shape[i];
        }
        return d;
    }

    /** Writes {@code g}'s forward pass reading the ONNX tensor {@code x} ({@code [batch, ...input shape]}). */
    public static Values forward(Builder b, Graph g, String x, int batch) {
        return forward(b, g, x, batch, CONSTANTS);
    }

    /** {@link #forward(Builder, Graph, String, int)} with {@code hooks}' parameters and quantizer. */
    public static Values forward(Builder b, Graph g, String x, int batch, Hooks hooks) {
        Values v = new Values(batch);
        put(b, v, g.input(), x, hooks);
        for (Node n : g.nodes()) {
            List<String> in = n.inputs().stream().map(v::of).toList();
            String y = switch (n.op()) {
                case CONV -> conv(b, n, in.get(0), v.param(b, n, "W", hooks), v.param(b, n, "B", hooks));
                case DENSE -> {
                    String flat = g.shape(n.input()).length == 1 ? in.get(0) : b.op("Flatten", in, intAttr("axis", 1));
                    v.flattened.put(n.id(), flat);
                    List<String> args = new ArrayList<>(List.of(flat, v.param(b, n, "W", hooks)));
                    String bias = v.param(b, n, "B", hooks);
                    if (bias != null) {
                        args.add(bias);
                    }
                    yield b.op("Gemm", args, intAttr("transB", 1));
                }
                case BATCH_NORM -> {
                    float[][] ac = Ops.bnAffine(n);
                    long[] cd = channelDims(g.shape(n.input()));
                    yield b.op("Add", List.of(b.op("Mul", List.of(in.get(0), b.constant("bn_a", ac[0], cd))), b.constant("bn_c", ac[1], cd)));
                }
                case RELU -> b.op("Relu", in);
                case CLIP -> clamp(b, in.get(0), n.f("min", Float.NEGATIVE_INFINITY), n.f("max", Float.POSITIVE_INFINITY));
                case ADD -> b.op("Add", in);
                case SUB -> b.op("Sub", in);
                case MUL -> b.op("Mul", in);
                case MAX_POOL -> {
                    String[] yi = b.ops("MaxPool", in, 2, poolAttrs(n).toArray(Onnx.AttributeProto[]::new));
                    v.poolIndices.put(n.id(), yi[1]);
                    yield yi[0];
                }
                case AVG_POOL -> {
                    List<Onnx.AttributeProto> at = poolAttrs(n);
                    at.add(intAttr("count_include_pad", n.ints("countIncludePad", new int[] {0})[0] != 0 ? 1 : 0));
                    yield b.op("AveragePool", in, at.toArray(Onnx.AttributeProto[]::new));
                }
                case GLOBAL_AVG_POOL -> b.op("GlobalAveragePool", in);
                case FLATTEN -> b.op("Flatten", in, intAttr("axis", 1));
                case SLICE -> {
                    SliceWindow w = SliceWindow.of(n, g.shape(n.input()));
                    long[] st = new long[3], en = new long[3], sp = new long[3];
                    for (int a = 0; a < 3; a++) {
                        st[a] = w.starts()[a];
                        sp[a] = w.steps()[a];
                        en[a] = w.starts()[a] + (long) (w.outShape()[a] - 1) * w.steps()[a] + 1;
                    }
                    yield b.op("Slice", List.of(in.get(0), b.longs(st), b.longs(en), b.longs(1, 2, 3), b.longs(sp)));
                }
                case PAD -> {
                    PadWidths p = PadWidths.of(n, g.shape(n.input()));
                    yield b.op("Pad", List.of(in.get(0), b.longs(0, p.begin()[0], p.begin()[1], p.begin()[2], 0, p.end()[0], p.end()[1], p.end()[2])));
                }
                case SIGMOID -> b.op("Sigmoid", in);
                case HARD_SIGMOID -> b.op("HardSigmoid", in, floatAttr("alpha", n.f("alpha", 0.2f)), floatAttr("beta", n.f("beta", 0.5f)));
                case HARD_SWISH -> b.op("HardSwish", in);
                case CONCAT -> b.op("Concat", in, intAttr("axis", 1));
            };
            if (n.hasFusedActivation()) {
                y = clamp(b, y, n.f("fusedMin", Float.NEGATIVE_INFINITY), n.f("fusedMax", Float.POSITIVE_INFINITY));
            }
            put(b, v, n.output(), y, hooks);
        }
        return v;
    }

    private static void put(Builder b, Values v, String tensor, String y, Hooks hooks) {
        String q = hooks.quantize(b, tensor, y);
        if (!q.equals(y)) {
            v.raw.put(tensor, y);
        }
        v.names.put(tensor, q);
    }

    /**
     * Writes the reverse mode of {@code g}: {@code seeds} maps IR tensors to ONNX tensors holding dLoss/dTensor
     * (a tensor may have several, which are added); returns the ONNX tensor of dLoss/dInput, seeds on the
     * input included, or null when nothing reaches it.
     */
    public static String backward(Builder b, Graph g, Values v, Map<String, List<String>> seeds) {
        return backward(b, g, v, seeds, CONSTANTS, null, true);
    }

    /**
     * {@link #backward(Builder, Graph, Values, Map)} through {@code hooks}' quantizer, writing each CONV and DENSE
     * node's dLoss/dW and dLoss/dB into {@code parameters} (by node id: {@code [dW, dB]}; null: none are wanted);
     * without {@code inputGradient} the graph input's gradient is not computed (null is returned).
     */
    public static String backward(Builder b, Graph g, Values v, Map<String, List<String>> seeds, Hooks hooks, Map<String, String[]> parameters,
                                  boolean inputGradient) {
        Map<String, List<String>> grads = new LinkedHashMap<>();
        seeds.forEach((t, s) -> grads.computeIfAbsent(t, k -> new ArrayList<>()).addAll(s));
        List<Node> nodes = g.nodes();
        for (int i = nodes.size() - 1; i >= 0; i--) {
            Node n = nodes.get(i);
            String dy = sum(b, grads.remove(n.output()));
            if (dy == null) {
                continue;
            }
            String y = v.of(n.output()), raw = v.raw.get(n.output());
            if (raw != null) {
                dy = hooks.quantizeBackward(b, n.output(), dy, raw);
            }
            if (n.hasFusedActivation()) { // the clamp's range read from its own output, before any quantizer, as the engine does
                dy = mask(b, dy, raw != null ? raw : y, n.f("fusedMin", Float.NEGATIVE_INFINITY), n.f("fusedMax", Float.POSITIVE_INFINITY));
            }
            boolean toInput = inputGradient || !n.input().equals(g.input());
            List<String> in = n.inputs().stream().map(v::of).toList();
            int[] xs = g.shape(n.input()), ys = g.shape(n.output());
            switch (n.op()) {
                case CONV -> {
                    Tensor w = n.param("W");
                    int[] st = n.ints("strides", new int[] {1, 1}), p = n.ints("pads", new int[] {0, 0, 0, 0});
                    int group = n.ints("group", new int[] {1})[0];
                    int oph = xs[1] + p[0] + p[2] - w.dim(2) - st[0] * (ys[1] - 1), opw = xs[2] + p[1] + p[3] - w.dim(3) - st[1] * (ys[2] - 1);
                    if (parameters != null) {
                        parameters.put(n.id(), new String[] {convWeightGradient(b, n, in.get(0), dy, xs, v.batch),
                                b.op("ReduceSum", List.of(dy, b.longs(0, 2, 3)), intAttr("keepdims", 0))});
                    }
                    if (toInput) {
                        add(grads, n.input(), b.op("ConvTranspose", List.of(dy, v.param(b, n, "W", hooks)), ints("strides", st), ints("pads", p),
                                ints("kernel_shape", w.dim(2), w.dim(3)), intAttr("group", group), ints("output_padding", oph, opw)));
                    }
                }
                case DENSE -> {
                    if (parameters != null) {
                        parameters.put(n.id(), new String[] {b.op("MatMul", List.of(b.op("Transpose", List.of(dy), ints("perm", 1, 0)), v.flattened.get(n.id()))),
                                b.op("ReduceSum", List.of(dy, b.longs(0)), intAttr("keepdims", 0))});
                    }
                    if (toInput) {
                        String dx = b.op("MatMul", List.of(dy, v.param(b, n, "W", hooks)));
                        add(grads, n.input(), xs.length == 1 ? dx : b.op("Reshape", List.of(dx, b.longs(dims(v.batch, xs)))));
                    }
                }
                case BATCH_NORM -> add(grads, n.input(), b.op("Mul", List.of(dy, b.constant("bn_a", Ops.bnAffine(n)[0], channelDims(xs)))));
                case RELU -> add(grads, n.input(), mask(b, dy, y, 0f, Float.POSITIVE_INFINITY));
                case CLIP -> add(grads, n.input(), mask(b, dy, y, n.f("min", Float.NEGATIVE_INFINITY), n.f("max", Float.POSITIVE_INFINITY)));
                case ADD, SUB -> {
                    Broadcast bc = Broadcast.of(n, xs, g.shape(n.inputs().get(1)));
                    String db = reduceTo(b, dy, bc.b(), bc.out());
                    add(grads, n.inputs().get(1), n.op() == OpType.SUB ? b.op("Neg", List.of(db)) : db);
                    add(grads, n.input(), reduceTo(b, dy, bc.a(), bc.out()));
                }
                case MUL -> {
                    Broadcast bc = Broadcast.of(n, xs, g.shape(n.inputs().get(1)));
                    add(grads, n.inputs().get(1), reduceTo(b, b.op("Mul", List.of(dy, in.get(0))), bc.b(), bc.out()));
                    add(grads, n.input(), reduceTo(b, b.op("Mul", List.of(dy, in.get(1))), bc.a(), bc.out()));
                }
                case MAX_POOL -> {
                    long size = (long) v.batch * Tensor.size(xs);
                    String zeros = b.op("ConstantOfShape", List.of(b.longs(size)));
                    String flat = b.op("Reshape", List.of(dy, b.longs(-1))), idx = b.op("Reshape", List.of(v.poolIndices.get(n.id()), b.longs(-1)));
                    String dx = b.op("ScatterElements", List.of(zeros, idx, flat), intAttr("axis", 0), stringAttr("reduction", "add"));
                    add(grads, n.input(), b.op("Reshape", List.of(dx, b.longs(dims(v.batch, xs)))));
                }
                case AVG_POOL -> add(grads, n.input(), avgPoolBackward(b, n, dy, xs, ys));
                case GLOBAL_AVG_POOL -> add(grads, n.input(), b.op("Expand", List.of(b.op("Mul", List.of(dy, b.scalar(1f / (xs[1] * xs[2])))),
                        b.longs(dims(v.batch, xs)))));
                case FLATTEN -> add(grads, n.input(), b.op("Reshape", List.of(dy, b.longs(dims(v.batch, xs)))));
                case SLICE -> add(grads, n.input(), sliceBackward(b, n, dy, xs, v.batch));
                case PAD -> {
                    PadWidths p = PadWidths.of(n, xs);
                    add(grads, n.input(), b.op("Slice", List.of(dy, b.longs(p.begin()[0], p.begin()[1], p.begin()[2]),
                            b.longs(p.begin()[0] + xs[0], p.begin()[1] + xs[1], p.begin()[2] + xs[2]), b.longs(1, 2, 3))));
                }
                case SIGMOID -> { // from the input, as the engine does (the output may be quantized)
                    String sg = b.op("Sigmoid", List.of(in.get(0)));
                    add(grads, n.input(), b.op("Mul", List.of(dy, b.op("Mul", List.of(sg, b.op("Sub", List.of(b.scalar(1f), sg)))))));
                }
                case HARD_SIGMOID -> {
                    float alpha = n.f("alpha", 0.2f);
                    String u = b.op("Add", List.of(b.op("Mul", List.of(in.get(0), b.scalar(alpha))), b.scalar(n.f("beta", 0.5f))));
                    add(grads, n.input(), b.op("Mul", List.of(mask(b, dy, u, 0f, 1f), b.scalar(alpha))));
                }
                case HARD_SWISH -> {
                    float alpha = ActivationOp.HARD_SWISH_ALPHA;
                    String x = in.get(0);
                    String u = b.op("Add", List.of(b.op("Mul", List.of(x, b.scalar(alpha))), b.scalar(ActivationOp.HARD_SWISH_BETA)));
                    String mid = b.op("Add", List.of(u, b.op("Mul", List.of(x, b.scalar(alpha)))));
                    String d = b.op("Where", List.of(b.op("LessOrEqual", List.of(u, b.scalar(0f))), b.scalar(0f),
                            b.op("Where", List.of(b.op("GreaterOrEqual", List.of(u, b.scalar(1f))), b.scalar(1f), mid))));
                    add(grads, n.input(), b.op("Mul", List.of(dy, d)));
                }
                case CONCAT -> {
                    long[] split = n.inputs().stream().mapToLong(t -> g.shape(t)[0]).toArray();
                    String[] parts = b.ops("Split", List.of(dy, b.longs(split)), split.length, intAttr("axis", 1));
                    for (int k = 0; k < parts.length; k++) {
                        add(grads, n.inputs().get(k), parts[k]);
                    }
                }
            }
        }
        if (!inputGradient) {
            return null;
        }
        String d = sum(b, grads.remove(g.input()));
        String raw = v.raw.get(g.input());
        return d != null && raw != null ? hooks.quantizeBackward(b, g.input(), d, raw) : d;
    }

    /**
     * dLoss/dW of a convolution as a convolution: the input with its batch and (per group) channel axes swapped,
     * {@code [I/g, g*N, H, W]}, against dy as weights {@code [O, N, oh, ow]} in g groups, the forward's stride
     * becoming a dilation and its pads kept; the result {@code [I/g, O, kh', kw']} (kh' >= kh where the stride
     * left input rows unread) is cut to {@code kh x kw} and transposed to {@code [O, I/g, kh, kw]}.
     */
    private static String convWeightGradient(Builder b, Node n, String x, String dy, int[] xs, int batch) {
        Tensor w = n.param("W");
        int group = n.ints("group", new int[] {1})[0], per = w.dim(1);
        int[] st = n.ints("strides", new int[] {1, 1}), p = n.ints("pads", new int[] {0, 0, 0, 0});
        String x5 = b.op("Reshape", List.of(x, b.longs(batch, group, per, xs[1], xs[2])));
        String xt = b.op("Reshape", List.of(b.op("Transpose", List.of(x5), ints("perm", 2, 1, 0, 3, 4)), b.longs(per, (long) group * batch, xs[1], xs[2])));
        String dyt = b.op("Transpose", List.of(dy), ints("perm", 1, 0, 2, 3));
        String full = b.op("Conv", List.of(xt, dyt), ints("pads", p), ints("dilations", st), intAttr("group", group));
        String cut = b.op("Slice", List.of(full, b.longs(0, 0), b.longs(w.dim(2), w.dim(3)), b.longs(2, 3)));
        return b.op("Transpose", List.of(cut), ints("perm", 1, 0, 2, 3));
    }

    private static String conv(Builder b, Node n, String x, String weight, String bias) {
        List<String> args = new ArrayList<>(List.of(x, weight));
        if (bias != null) {
            args.add(bias);
        }
        Tensor w = n.param("W");
        return b.op("Conv", args, ints("strides", n.ints("strides", new int[] {1, 1})), ints("pads", n.ints("pads", new int[] {0, 0, 0, 0})),
                ints("kernel_shape", w.dim(2), w.dim(3)), intAttr("group", n.ints("group", new int[] {1})[0]));
    }

    /** A per-channel constant's dims against a tensor of per-image shape {@code s}: {@code [1, C, 1, 1]}, or {@code [1, C]}. */
    private static long[] channelDims(int[] s) {
        long[] d = new long[s.length + 1];
        java.util.Arrays.fill(d, 1);
        d[1] = s[0];
        return d;
    }

    /** {@code min(max(x, lo), hi)}, writing only the finite sides. */
    static String clamp(Builder b, String x, float lo, float hi) {
        if (lo == 0f && hi == Float.POSITIVE_INFINITY) {
            return b.op("Relu", List.of(x));
        }
        String y = x;
        if (lo != Float.NEGATIVE_INFINITY) {
            y = b.op("Max", List.of(y, b.scalar(lo)));
        }
        if (hi != Float.POSITIVE_INFINITY) {
            y = b.op("Min", List.of(y, b.scalar(hi)));
        }
        return y;
    }

    /** {@code dy} where {@code lo < y < hi}, else 0: the clamp's gradient, read from its output as the engine does. */
    static String mask(Builder b, String dy, String y, float lo, float hi) {
        String keep = null;
        if (lo != Float.NEGATIVE_INFINITY) {
            keep = b.op("Greater", List.of(y, b.scalar(lo)));
        }
        if (hi != Float.POSITIVE_INFINITY) {
            String below = b.op("Less", List.of(y, b.scalar(hi)));
            keep = keep == null ? below : b.op("And", List.of(keep, below));
        }
        return keep == null ? dy : b.op("Where", List.of(keep, dy, b.scalar(0f)));
    }

    /** {@code dy} of shape {@code out} summed over the axes where {@code to} is 1 and {@code out} is not. */
    private static String reduceTo(Builder b, String dy, int[] to, int[] out) {
        List<Long> axes = new ArrayList<>();
        for (int i = 0; i < to.length; i++) {
            if (to[i] == 1 && out[i] != 1) {
                axes.add((long) i + 1);
            }
        }
        if (axes.isEmpty()) {
            return dy;
        }
        return b.op("ReduceSum", List.of(dy, b.longs(axes.stream().mapToLong(Long::longValue).toArray())), intAttr("keepdims", 1));
    }

    /** dy scaled by each window's 1/count, spread back over the window by a ConvTranspose with a kernel of ones per channel. */
    private static String avgPoolBackward(Builder b, Node n, String dy, int[] xs, int[] ys) {
        int[] k = n.ints("kernel"), st = n.ints("strides", new int[] {1, 1}), p = n.ints("pads", new int[] {0, 0, 0, 0});
        boolean includePad = n.ints("countIncludePad", new int[] {0})[0] != 0;
        float[] inv = new float[ys[1] * ys[2]];
        for (int oy = 0; oy < ys[1]; oy++) {
            for (int ox = 0; ox < ys[2]; ox++) {
                int count = 0;
                for (int ky = 0; ky < k[0]; ky++) {
                    for (int kx = 0; kx < k[1]; kx++) {
                        int iy = oy * st[0] - p[0] + ky, ix = ox * st[1] - p[1] + kx;
                        if (includePad || (iy >= 0 && iy < xs[1] && ix >= 0 && ix < xs[2])) {
                            count++;
                        }
                    }
                }
                inv[oy * ys[2] + ox] = 1f / count;
            }
        }
        float[] ones = new float[xs[0] * k[0] * k[1]];
        java.util.Arrays.fill(ones, 1f);
        String scaled = b.op("Mul", List.of(dy, b.constant("inv_count", inv, 1, 1, ys[1], ys[2])));
        int oph = xs[1] + p[0] + p[2] - k[0] - st[0] * (ys[1] - 1), opw = xs[2] + p[1] + p[3] - k[1] - st[1] * (ys[2] - 1);
        return b.op("ConvTranspose", List.of(scaled, b.constant("ones", ones, xs[0], 1, k[0], k[1])), ints("strides", st), ints("pads", p),
                ints("kernel_shape", k), intAttr("group", xs[0]), ints("output_padding", oph, opw));
    }

    /** dy written back at the positions the slice read, zeros elsewhere. */
    private static String sliceBackward(Builder b, Node n, String dy, int[] xs, int batch) {
        SliceWindow w = SliceWindow.of(n, xs);
        int[] o = w.outShape();
        boolean unit = w.steps()[0] == 1 && w.steps()[1] == 1 && w.steps()[2] == 1;
        if (unit) {
            long[] pads = new long[8];
            for (int a = 0; a < 3; a++) {
                pads[a + 1] = w.starts()[a];
                pads[a + 5] = xs[a] - w.starts()[a] - o[a];
            }
            return b.op("Pad", List.of(dy, b.longs(pads)));
        }
        int outSize = Tensor.size(o), inSize = Tensor.size(xs);
        long[] idx = new long[outSize];
        int i = 0;
        for (int c = 0; c < o[0]; c++) {
            for (int y = 0; y < o[1]; y++) {
                for (int x = 0; x < o[2]; x++) {
                    int sc = w.starts()[0] + c * w.steps()[0], sy = w.starts()[1] + y * w.steps()[1], sx = w.starts()[2] + x * w.steps()[2];
                    idx[i++] = ((long) sc * xs[1] + sy) * xs[2] + sx;
                }
            }
        }
        String indices = b.op("Expand", List.of(b.longsShaped(idx, 1, outSize), b.longs(batch, outSize)));
        String zeros = b.op("ConstantOfShape", List.of(b.longs(batch, inSize)));
        String flat = b.op("Reshape", List.of(dy, b.longs(batch, outSize)));
        String dx = b.op("ScatterElements", List.of(zeros, indices, flat), intAttr("axis", 1));
        return b.op("Reshape", List.of(dx, b.longs(dims(batch, xs))));
    }

    private static List<Onnx.AttributeProto> poolAttrs(Node n) {
        List<Onnx.AttributeProto> at = new ArrayList<>();
        at.add(ints("kernel_shape", n.ints("kernel")));
        at.add(ints("strides", n.ints("strides", new int[] {1, 1})));
        at.add(ints("pads", n.ints("pads", new int[] {0, 0, 0, 0})));
        return at;
    }

    private static void add(Map<String, List<String>> grads, String tensor, String d) {
        grads.computeIfAbsent(tensor, k -> new ArrayList<>()).add(d);
    }

    /** The sum of the contributions (null for none). */
    public static String sum(Builder b, List<String> parts) {
        if (parts == null || parts.isEmpty()) {
            return null;
        }
        return parts.size() == 1 ? parts.get(0) : b.op("Sum", parts);
    }

    public static Onnx.AttributeProto ints(String name, int... v) {
        Onnx.AttributeProto.Builder a = Onnx.AttributeProto.newBuilder().setName(name).setType(Onnx.AttributeProto.AttributeType.INTS);
        for (int x : v) {
            a.addInts(x);
        }
        return a.build();
    }

    public static Onnx.AttributeProto intAttr(String name, long v) {
        return Onnx.AttributeProto.newBuilder().setName(name).setType(Onnx.AttributeProto.AttributeType.INT).setI(v).build();
    }

    public static Onnx.AttributeProto floatAttr(String name, float v) {
        return Onnx.AttributeProto.newBuilder().setName(name).setType(Onnx.AttributeProto.AttributeType.FLOAT).setF(v).build();
    }

    public static Onnx.AttributeProto stringAttr(String name, String v) {
        return Onnx.AttributeProto.newBuilder().setName(name).setType(Onnx.AttributeProto.AttributeType.STRING)
                .setS(ByteString.copyFromUtf8(v)).build();
    }
}
