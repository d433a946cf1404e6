package io.zsq.core.passes;

import io.zsq.core.exec.ActivationOp;
import io.zsq.core.ir.Broadcast;
import io.zsq.core.ir.Graph;
import io.zsq.core.ir.Node;
import io.zsq.core.ir.Tensor;
import io.zsq.core.quant.ChannelQParams;
import io.zsq.core.quant.Dyadic;
import io.zsq.core.quant.FakeQuant;
import io.zsq.core.quant.QParams;
import io.zsq.core.quant.Quantization;
import io.zsq.core.quant.Scheme;
import io.zsq.runtime.IntModel;
import io.zsq.runtime.Layer;
import io.zsq.runtime.TensorQuant;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * Lowers a canonical FP32 graph and its activation parameters to an {@link IntModel}: int8 weights
 * (per-channel symmetric, {@code weightBits} wide), int32 biases at scale {@code S_in * S_w}, dyadic
 * requantization {@code S_in * S_w / S_out}, residual adds with TFLite's 20-bit common scale (a
 * broadcast input expanded first by a {@link Layer.Expand}; a subtraction is an add whose second
 * multiplier is negative), fused
 * activations as clamp ranges; slices and zero padding move bytes (padding with the zero point);
 * products with one multiplier {@code S_a * S_b / S_y}; sigmoid, hard sigmoid and hard swish as
 * 256-entry tables; concatenations requantizing each input to the output ({@code S_i / S_y}).
 */
public final class LowerToInteger {
    /** Left shift applied to both add inputs before rescaling (TFLite uses 20 for 8-bit). */
    public static final int ADD_LEFT_SHIFT = 20;

    private LowerToInteger() {}

    public static IntModel lower(Graph g, Map<String, QParams> points, int weightBits, Map<String, String> metadata) {
        return lower(g, points, Scheme.of(weightBits, 8), metadata);
    }

    /** Lowers with the weight part of {@code scheme} (bits per layer, granularity, range). */
    public static IntModel lower(Graph g, Map<String, QParams> points, Scheme scheme, Map<String, String> metadata) {
        return lower(g, Quantization.of(g, scheme, points, java.util.Set.of()), metadata);
    }

    /** Lowers with a placed quantization: its activation and weight parameters, as they are. */
    public static IntModel lower(Graph g, Quantization q, Map<String, String> metadata) {
        g.require(Graph.ACTIVATIONS_FUSED, "integer lowering");
        Scheme scheme = q.scheme();
        Map<String, QParams> act = q.activations();
        List<Layer> layers = new ArrayList<>();
        Map<String, QParams> expanded = new LinkedHashMap<>();
        for (Node n : g.nodes()) {
            QParams in = act.get(n.input());
            QParams out = act.get(n.output());
            int[] xs = g.shape(n.input());
            int[] ys = g.shape(n.output());
            switch (n.op()) {
                case CONV:
                case DENSE: {
                    Tensor w = n.param("W");
                    int outC = w.dim(0);
                    ChannelQParams wq = q.weights(n);
                    int weightBits = scheme.weightBits(n);
                    int[] bias = FakeQuant.quantizedBias(n, wq, in);
                    int[] mult = new int[outC], shift = new int[outC];
                    for (int c = 0; c < outC; c++) {
                        Dyadic d = Dyadic.of((double) in.scale() * wq.scales()[c] / out.scale());
                        mult[c] = d.multiplier();
                        shift[c] = d.shift();
                    }
                    int[] clamp = clamp(n, out);
                    boolean conv = n.op() == io.zsq.core.ir.OpType.CONV;
                    int[] st = n.ints("strides", new int[] {1, 1});
                    int[] pads = n.ints("pads", new int[] {0, 0, 0, 0});
                    int[] inShape = conv ? xs : new int[] {Tensor.size(xs), 1, 1};
                    int[] outShape = conv ? ys : new int[] {outC, 1, 1};
                    layers.add(new Layer.Conv(n.input(), n.output(), inShape, outShape, conv ? w.dim(2) : 1, conv ? w.dim(3) : 1,
                            conv ? st[0] : 1, conv ? st[1] : 1, conv ? pads[0] : 0, conv ? pads[1] : 0,
                            conv ? n.ints("group", new int[] {1})[0] : 1, wq.quantize(w.data()), weightBits, bias, mult, shift,
                            in.zeroPoint(), out.zeroPoint(), clamp[0], clamp[1]));
                    break;
                }
                case ADD:
                case SUB: {
                    QParams a = in, b = act.get(n.inputs().get(1));
                    // a broadcast input is expanded first (data movement, its own parameters), then tensors of one shape are added
                    String[] ab = new String[2];
                    for (int k = 0; k < 2; k++) {
                        String t = n.inputs().get(k);
                        int[] ts = Broadcast.chw(g.shape(t));
                        ab[k] = t;
                        if (!java.util.Arrays.equals(ts, Broadcast.chw(ys))) {
                            ab[k] = t + "#expanded" + k + "#" + n.id();
                            layers.add(new Layer.Expand(t, ab[k], ts, Broadcast.chw(ys)));
                            expanded.put(ab[k], act.get(t));
                        }
                    }
                    double twiceMax = 2.0 * Math.max(a.scale(), b.scale());
                    Dyadic da = Dyadic.of(a.scale() / twiceMax);
                    Dyadic db = Dyadic.of(b.scale() / twiceMax);
                    Dyadic dout = Dyadic.of(twiceMax / ((double) (1 << ADD_LEFT_SHIFT) * out.scale()));
                    int[] clamp = clamp(n, out);
                    layers.add(new Layer.Add(ab[0], ab[1], n.output(), ys, a.zeroPoint(), da.multiplier(),
                            da.shift(), b.zeroPoint(), n.op() == io.zsq.core.ir.OpType.SUB ? -db.multiplier() : db.multiplier(), db.shift(), ADD_LEFT_SHIFT, out.zeroPoint(),
                            dout.multiplier(), dout.shift(), clamp[0], clamp[1]));
                    break;
                }
                case MUL: {
                    QParams a = in, b = act.get(n.inputs().get(1));
                    Dyadic d = Dyadic.of((double) a.scale() * b.scale() / out.scale());
                    int[] clamp = clamp(n, out);
                    layers.add(new Layer.Mul(n.inputs().get(0), n.inputs().get(1), n.output(), Broadcast.chw(xs),
                            Broadcast.chw(g.shape(n.inputs().get(1))), Broadcast.chw(ys), a.zeroPoint(), b.zeroPoint(), out.zeroPoint(),
                            d.multiplier(), d.shift(), clamp[0], clamp[1]));
                    break;
                }
                case SIGMOID:
                case HARD_SIGMOID:
                case HARD_SWISH:
                    layers.add(new Layer.Lut(n.input(), n.output(), Broadcast.chw(ys), ActivationOp.onnxName(n.op()),
                            n.op() == io.zsq.core.ir.OpType.HARD_SIGMOID ? new int[] {Float.floatToIntBits(n.f("alpha", 0.2f)),
                                    Float.floatToIntBits(n.f("beta", 0.5f))} : new int[0], table(n, in, out)));
                    break;
                case CONCAT: {
                    int k = n.inputs().size();
                    int[] ch = new int[k], zp = new int[k], mult = new int[k], shift = new int[k];
                    for (int i = 0; i < k; i++) {
                        QParams qi = act.get(n.inputs().get(i));
                        ch[i] = g.shape(n.inputs().get(i))[0];
                        zp[i] = qi.zeroPoint();
                        Dyadic d = Dyadic.of((double) qi.scale() / out.scale());
                        mult[i] = d.multiplier();
                        shift[i] = d.shift();
                    }
                    int[] clamp = clamp(n, out);
                    layers.add(new Layer.Concat(n.inputs().toArray(String[]::new), n.output(), ys, ch, zp, mult, shift, out.zeroPoint(),
                            clamp[0], clamp[1]));
                    break;
                }
                case MAX_POOL: {
                    int[] k = n.ints("kernel"), st = n.ints("strides", new int[] {1, 1}), pads = n.ints("pads", new int[] {0, 0, 0, 0});
                    layers.add(new Layer.MaxPool(n.input(), n.output(), xs, ys, k[0], k[1], st[0], st[1], pads[0], pads[1]));
                    break;
                }
                case AVG_POOL: {
                    int[] k = n.ints("kernel"), st = n.ints("strides", new int[] {1, 1}), pads = n.ints("pads", new int[] {0, 0, 0, 0});
                    layers.add(new Layer.AvgPool(n.input(), n.output(), xs, ys, k[0], k[1], st[0], st[1], pads[0], pads[1],
                            n.ints("countIncludePad", new int[] {0})[0] != 0, in.zeroPoint()));
                    break;
                }
                case GLOBAL_AVG_POOL:
                    layers.add(new Layer.AvgPool(n.input(), n.output(), xs, ys, xs[1], xs[2], 1, 1, 0, 0, false, in.zeroPoint()));
                    break;
                case FLATTEN:
                    layers.add(new Layer.Reshape(n.input(), n.output(), ys));
                    break;
                case SLICE: {
                    io.zsq.core.ir.SliceWindow s = io.zsq.core.ir.SliceWindow.of(n, xs);
                    layers.add(new Layer.Slice(n.input(), n.output(), xs, ys, s.starts(), s.steps()));
                    break;
                }
                case PAD:
                    // the fill 0.0 is exactly the zero point: asymmetric and symmetric grids both hold 0
                    layers.add(new Layer.Pad(n.input(), n.output(), xs, ys, io.zsq.core.ir.PadWidths.of(n, xs).begin(), in.zeroPoint()));
                    break;
                default:
                    throw new IllegalArgumentException("node " + n.id() + " (" + n.op() + ") cannot be lowered to integer arithmetic");
            }
        }
        Map<String, String> meta = new LinkedHashMap<>(metadata);
        QParams qi = act.get(g.input());
        meta.put("weightBits", Integer.toString(scheme.weightBits()));
        meta.put("weightGranularity", scheme.granularityName());
        meta.put("weightRange", scheme.weightFullRange() ? "full" : "restricted");
        if (!scheme.layerWeightBits().isEmpty() || !scheme.layerActivationBits().isEmpty()) {
            meta.put("layerBits", "weights " + scheme.layerWeightBits() + ", activations " + scheme.layerActivationBits());
        }
        meta.put("activationBits", Integer.toString(scheme.activationBits()));
        meta.put("inputBits", Integer.toString(bitsOf(qi)));
        // every tensor's real scale, zero point and integer range, for exporters (ONNX) and callers at the float boundary
        Map<String, TensorQuant> quant = new LinkedHashMap<>();
        quant.put(g.input(), typed(qi));
        for (Node n : g.nodes()) {
            quant.put(n.output(), typed(act.get(n.output())));
        }
        expanded.forEach((t, p) -> quant.put(t, typed(p)));
        int[] outShape = g.shape(g.output()).length == 1 ? new int[] {g.shape(g.output())[0], 1, 1} : g.shape(g.output());
        return new IntModel(meta, g.input(), g.inputShape(), g.output(), outShape, layers, quant);
    }

    /**
     * The integer model's form of {@code q}: the same scale, as its IEEE-754 bit pattern, so converting
     * back with {@link #untyped} gives exactly {@code q}. The one place the two forms meet.
     */
    public static TensorQuant typed(QParams q) {
        return new TensorQuant(Float.floatToIntBits(q.scale()), q.zeroPoint(), q.qmin(), q.qmax());
    }

    /** {@code t} as zsq-core's parameters, the scale exactly the float {@link #typed} was given. */
    public static QParams untyped(TensorQuant t) {
        return new QParams(Float.intBitsToFloat(t.scaleBits()), t.zeroPoint(), t.qmin(), t.qmax());
    }

    /** The quantization of {@code tensor} written by {@link #lower} ({@link IntModel#quantization()}), or null. */
    public static QParams tensorQuantization(IntModel m, String tensor) {
        TensorQuant t = m.quantization().get(tensor);
        return t == null ? null : untyped(t);
    }

    /**
     * The 256-entry table of an element-wise function: entry {@code q + 128} is
     * {@code quantize_out(f(dequantize_in(q)))}, in float exactly as the fake-quant simulation computes
     * it ({@link ActivationOp#f}), so the table equals the simulation on every input level.
     */
    public static byte[] table(Node n, QParams in, QParams out) {
        byte[] t = new byte[256];
        for (int q = -128; q < 128; q++) {
            t[q + 128] = (byte) out.quantize(ActivationOp.f(n, in.dequantize(q)));
        }
        return t;
    }

    private static int bitsOf(QParams q) {
        return 32 - Integer.numberOfLeadingZeros(q.qmax() - q.qmin());
    }

    /** The fused activation's range in the output's integer domain. */
    private static int[] clamp(Node n, QParams out) {
        int lo = out.qmin(), hi = out.qmax();
        if (n.hasFusedActivation()) {
            float fmin = n.f("fusedMin", Float.NEGATIVE_INFINITY), fmax = n.f("fusedMax", Float.POSITIVE_INFINITY);
            if (!Float.isInfinite(fmin)) {
                lo = Math.max(lo, out.quantize(fmin));
            }
            if (!Float.isInfinite(fmax)) {
                hi = Math.min(hi, out.quantize(fmax));
            }
        }
        return new int[] {lo, hi};
    }
}
