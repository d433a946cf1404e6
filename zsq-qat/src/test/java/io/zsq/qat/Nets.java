package io.zsq.qat;

import io.zsq.core.exec.Fp32Engine;
import io.zsq.core.ir.Graph;
import io.zsq.core.ir.Node;
import io.zsq.core.ir.OpType;
import io.zsq.core.ir.Tensor;
import io.zsq.core.passes.Canonicalize;
import io.zsq.core.quant.QParams;
import io.zsq.core.quant.QuantPoints;
import io.zsq.core.quant.Quantization;
import io.zsq.core.quant.Scheme;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.SplittableRandom;

/**
 * Small canonical models for the Level-2 tests: BatchNorm folded and ReLU/clip fused by {@link Canonicalize}, with
 * an ungrouped, a depthwise and a grouped convolution, a residual ADD, a max pool (its output inherits its input's
 * parameters exactly), an average pool (inherits them and is re-quantized), a convolution and a dense layer that
 * have no bias (Level 2 gives them one), and five logits.
 *
 * <p>Both average pools divide by 9 (10x10 input, 5x5 after the max pool, 3x3 after the average pool). An even count
 * makes exact ties ({@code sum / 4 = m + 1/2}) that the float simulation (a float sum of {@code s * q}, divided, then
 * {@code round(r / s)}) breaks either way while the integer kernel rounds them half up exactly: for most scales 5-9%
 * of a 2x2 average pool's outputs then differ by one level, at Level 1 already (a zsq-core matter, not these tests').
 */
final class Nets {
    private Nets() {}

    static final int[] INPUT = {3, 10, 10};

    static Graph small(long seed) {
        SplittableRandom r = new SplittableRandom(seed);
        List<Node> n = new ArrayList<>();
        n.add(conv("c1", "x", "c1", 3, 8, 3, 1, 1, 1, r));
        n.add(bn("bn1", "c1", "b1", 8, r));
        n.add(new Node("r1", OpType.RELU, List.of("b1"), "r1", Map.of(), Map.of(), Map.of()));
        n.add(conv("dw", "r1", "dw", 8, 8, 3, 1, 1, 8, r));
        n.add(bn("bn2", "dw", "b2", 8, r));
        n.add(new Node("r6", OpType.CLIP, List.of("b2"), "r6", Map.of(), Map.of("min", 0f, "max", 6f), Map.of()));
        n.add(new Node("add", OpType.ADD, List.of("r6", "r1"), "s", Map.of(), Map.of(), Map.of()));
        n.add(new Node("mp", OpType.MAX_POOL, List.of("s"), "mp", Map.of("kernel", new int[] {2, 2}, "strides", new int[] {2, 2},
                "pads", new int[] {0, 0, 0, 0}), Map.of(), Map.of()));
        n.add(conv("c2", "mp", "c2", 8, 12, 3, 1, 1, 2, r));
        n.add(bn("bn3", "c2", "b3", 12, r));
        n.add(new Node("ap", OpType.AVG_POOL, List.of("b3"), "ap", Map.of("kernel", new int[] {3, 3}, "strides", new int[] {1, 1},
                "pads", new int[] {0, 0, 0, 0}), Map.of(), Map.of()));
        n.add(conv("c3", "ap", "c3", 12, 6, 1, 1, 0, 1, r)); // no BatchNorm after it: no bias
        n.add(new Node("gap", OpType.GLOBAL_AVG_POOL, List.of("c3"), "g", Map.of(), Map.of(), Map.of()));
        n.add(new Node("fl", OpType.FLATTEN, List.of("g"), "f", Map.of(), Map.of(), Map.of()));
        Map<String, Tensor> p = new LinkedHashMap<>();
        p.put("W", rnd(r, new int[] {5, 6}, 0.8, 0));
        n.add(new Node("fc", OpType.DENSE, List.of("f"), "y", Map.of(), Map.of(), p)); // no bias either
        return Canonicalize.run(Graph.of("x", INPUT, "y", n, Set.of(), Map.of()), null);
    }

    /**
     * Level 1 of {@code g}: min-max ranges of every quantization point over {@code calib}, shrunk by {@code shrink}
     * (the input's kept whole) so that clipping occurs, and the scheme's weight parameters.
     */
    static Quantization level1(Graph g, Scheme scheme, float[] calib, int n, double shrink) {
        Fp32Engine.Trace t = Fp32Engine.forward(g, calib, n, null);
        Map<String, QParams> points = new LinkedHashMap<>();
        for (String tensor : QuantPoints.of(g)) {
            double lo = 0, hi = 0;
            for (float v : t.get(tensor)) {
                lo = Math.min(lo, v);
                hi = Math.max(hi, v);
            }
            double s = tensor.equals(g.input()) ? 1 : shrink;
            points.put(tensor, scheme.activation(s * lo, s * hi, scheme.activationBits(g, tensor)));
        }
        return Quantization.of(g, scheme, points, Set.of());
    }

    /** {@code n} images of {@code shape}, N(0, 1). */
    static float[] images(long seed, int n, int[] shape) {
        SplittableRandom r = new SplittableRandom(seed);
        float[] x = new float[n * Tensor.size(shape)];
        for (int i = 0; i < x.length; i++) {
            x[i] = (float) r.nextGaussian();
        }
        return x;
    }

    static Node conv(String id, String in, String out, int cin, int cout, int k, int stride, int pad, int group, SplittableRandom r) {
        Map<String, Tensor> p = new LinkedHashMap<>();
        p.put("W", rnd(r, new int[] {cout, cin / group, k, k}, 1.2 / Math.sqrt(cin / group * k * k), 0));
        return new Node(id, OpType.CONV, List.of(in), out, Map.of("strides", new int[] {stride, stride},
                "pads", new int[] {pad, pad, pad, pad}, "group", new int[] {group}), Map.of(), p);
    }

    static Node bn(String id, String in, String out, int c, SplittableRandom r) {
        Map<String, Tensor> p = new LinkedHashMap<>();
        p.put("scale", rnd(r, new int[] {c}, 0.5, 0.5));
        p.put("bias", rnd(r, new int[] {c}, 0.2, 0));
        p.put("mean", rnd(r, new int[] {c}, 0.3, 0));
        p.put("var", rnd(r, new int[] {c}, 0.5, 0.5));
        return new Node(id, OpType.BATCH_NORM, List.of(in), out, Map.of(), Map.of("epsilon", 1e-5f), p);
    }

    /** Gaussian with standard deviation {@code scale}; uniform in [offset, offset + scale) when offset > 0. */
    static Tensor rnd(SplittableRandom r, int[] shape, double scale, double offset) {
        float[] v = new float[Tensor.size(shape)];
        for (int i = 0; i < v.length; i++) {
            v[i] = (float) (offset + scale * (offset > 0 ? r.nextDouble() : r.nextGaussian()));
        }
        return new Tensor(shape, v);
    }

    /** Bitwise equality of two float arrays (no tolerance, -0 and 0 distinct). */
    static boolean sameBits(float[] a, float[] b) {
        if (a.length != b.length) {
            return false;
        }
        for (int i = 0; i < a.length; i++) {
            if (Float.floatToRawIntBits(a[i]) != Float.floatToRawIntBits(b[i])) {
                return false;
            }
        }
        return true;
    }

    /** Index of the first bitwise difference, or -1. */
    static int firstDifference(float[] a, float[] b) {
        for (int i = 0; i < Math.min(a.length, b.length); i++) {
            if (Float.floatToRawIntBits(a[i]) != Float.floatToRawIntBits(b[i])) {
                return i;
            }
        }
        return a.length == b.length ? -1 : Math.min(a.length, b.length);
    }
}
