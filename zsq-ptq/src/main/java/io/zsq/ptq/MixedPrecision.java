package io.zsq.ptq;

import io.zsq.core.exec.Fp32Engine;
import io.zsq.core.ir.Graph;
import io.zsq.core.ir.Node;
import io.zsq.core.ir.OpType;
import io.zsq.core.ir.Tensor;
import io.zsq.core.quant.Scheme;
import java.io.Serializable;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * Mixed-precision weight bit widths under a size budget, as in ZeroQ (Cai et al., CVPR 2020): the
 * sensitivity of layer i at b bits is the KL divergence between the FP32 model's output distribution
 * and that of the model with only layer i's weights quantized to b bits, averaged over the synthetic
 * calibration images; the choice minimizes the summed sensitivity subject to the weights' size, over
 * the Pareto frontier computed exactly by dynamic programming on size.
 */
public final class MixedPrecision {
    private MixedPrecision() {}

    /** Weight bit widths considered. */
    public static final int[] CANDIDATES = {2, 3, 4, 5, 6, 7, 8};

    /** Summed KL per (layer, candidate) over observed images; merge adds. */
    public record Sensitivity(List<String> layers, double[][] klSum, long images) implements Serializable {
        public Sensitivity merge(Sensitivity o) {
            double[][] s = new double[klSum.length][];
            for (int i = 0; i < s.length; i++) {
                s[i] = klSum[i].clone();
                for (int j = 0; j < s[i].length; j++) {
                    s[i][j] += o.klSum[i][j];
                }
            }
            return new Sensitivity(layers, s, images + o.images);
        }

        /** Mean KL of layer i at candidate j. */
        public double mean(int i, int j) {
            return images == 0 ? 0 : klSum[i][j] / images;
        }
    }

    /** The CONV and DENSE layers of a canonical graph, in order. */
    public static List<Node> layers(Graph g) {
        return g.nodes().stream().filter(n -> n.op() == OpType.CONV || n.op() == OpType.DENSE).toList();
    }

    /** Sensitivities on one batch (NCHW images), weights quantized with {@code scheme}'s granularity and range. */
    public static Sensitivity measure(Graph g, Scheme scheme, float[] x, int batch) {
        List<Node> layers = layers(g);
        float[] ref = softmax(Fp32Engine.run(g, x, batch), batch);
        double[][] kl = new double[layers.size()][CANDIDATES.length];
        List<String> ids = new ArrayList<>();
        for (int i = 0; i < layers.size(); i++) {
            Node n = layers.get(i);
            ids.add(n.id());
            for (int j = 0; j < CANDIDATES.length; j++) {
                Scheme s = scheme.withLayerBits(Map.of(n.id(), CANDIDATES[j]), Map.of());
                Map<String, Tensor> p = new LinkedHashMap<>(n.params());
                p.put("W", new Tensor(n.param("W").shape(), s.weights(n).fakeQuantize(n.param("W").data())));
                List<Node> nodes = new ArrayList<>(g.nodes());
                nodes.set(nodes.indexOf(n), n.withParams(p));
                float[] q = softmax(Fp32Engine.run(g.withNodes(nodes, null), x, batch), batch);
                kl[i][j] = klSum(ref, q, batch);
            }
        }
        return new Sensitivity(ids, kl, batch);
    }

    private static float[] softmax(float[] z, int batch) {
        int k = z.length / batch;
        float[] p = new float[z.length];
        for (int i = 0; i < batch; i++) {
            double max = Double.NEGATIVE_INFINITY, s = 0;
            for (int j = 0; j < k; j++) {
                max = Math.max(max, z[i * k + j]);
            }
            for (int j = 0; j < k; j++) {
                s += Math.exp(z[i * k + j] - max);
            }
            for (int j = 0; j < k; j++) {
                p[i * k + j] = (float) (Math.exp(z[i * k + j] - max) / s);
            }
        }
        return p;
    }

    private static double klSum(float[] p, float[] q, int batch) {
        double s = 0;
        for (int i = 0; i < p.length; i++) {
            if (p[i] > 0) {
                s += p[i] * Math.log(p[i] / Math.max(q[i], 1e-12));
            }
        }
        return s;
    }

    /** A point of the frontier: weight bytes and summed sensitivity, with the bits per layer. */
    public record Choice(long weightBits, double sensitivity, Map<String, Integer> bits) implements Serializable {
        public long weightBytes() {
            return (weightBits + 7) / 8;
        }
    }

    /**
     * Minimum summed sensitivity for every reachable weight size up to {@code budgetBits}, by dynamic
     * programming over layers (sizes in units of the gcd of the layers' parameter counts); returns the
     * Pareto frontier (sizes where the sensitivity strictly improves), the last point being the choice.
     */
    public static List<Choice> frontier(Graph g, Sensitivity s, long budgetBits) {
        List<Node> layers = layers(g);
        long[] params = new long[layers.size()];
        for (int i = 0; i < params.length; i++) {
            params[i] = layers.get(i).param("W").data().length;
        }
        return frontier(layers.stream().map(Node::id).toList(), params, s, budgetBits);
    }

    /** {@link #frontier(Graph, Sensitivity, long)} for layers given by id and weight count. */
    public static List<Choice> frontier(List<String> ids, long[] params, Sensitivity s, long budgetBits) {
        long unit = 0;
        for (long p : params) {
            unit = gcd(unit, p);
        }
        unit = Math.max(unit, 1);
        if (budgetBits / unit > 2_000_000) { // coarser size units (rounded up, so the budget still holds)
            unit = (budgetBits + 1_999_999) / 2_000_000;
        }
        int cap = (int) (budgetBits / unit);
        double[] best = new double[cap + 1];
        java.util.Arrays.fill(best, Double.POSITIVE_INFINITY);
        best[0] = 0;
        int[][] pick = new int[ids.size()][];
        for (int i = 0; i < ids.size(); i++) {
            double[] next = new double[cap + 1];
            java.util.Arrays.fill(next, Double.POSITIVE_INFINITY);
            pick[i] = new int[cap + 1];
            for (int used = 0; used <= cap; used++) {
                if (best[used] == Double.POSITIVE_INFINITY) {
                    continue;
                }
                for (int j = 0; j < CANDIDATES.length; j++) {
                    long size = (params[i] * CANDIDATES[j] + unit - 1) / unit;
                    if (used + size > cap) {
                        continue;
                    }
                    int to = (int) (used + size);
                    double v = best[used] + s.mean(i, j);
                    if (v < next[to]) {
                        next[to] = v;
                        pick[i][to] = j;
                    }
                }
            }
            best = next;
        }
        List<Choice> front = new ArrayList<>();
        double bestSoFar = Double.POSITIVE_INFINITY;
        for (int used = 0; used <= cap; used++) {
            if (best[used] < bestSoFar) {
                bestSoFar = best[used];
                Map<String, Integer> bits = backtrack(ids, pick, params, unit, used);
                long exact = 0;
                for (int i = 0; i < ids.size(); i++) {
                    exact += params[i] * bits.get(ids.get(i));
                }
                front.add(new Choice(exact, best[used], bits));
            }
        }
        if (front.isEmpty()) {
            throw new IllegalArgumentException("size budget " + (budgetBits / 8) + " bytes is below the smallest model ("
                    + "every layer at " + CANDIDATES[0] + " bits)");
        }
        return front;
    }

    private static Map<String, Integer> backtrack(List<String> ids, int[][] pick, long[] params, long unit, int used) {
        Map<String, Integer> bits = new LinkedHashMap<>();
        int at = used;
        for (int i = ids.size() - 1; i >= 0; i--) {
            int j = pick[i][at];
            bits.put(ids.get(i), CANDIDATES[j]);
            at -= (int) ((params[i] * CANDIDATES[j] + unit - 1) / unit);
        }
        Map<String, Integer> ordered = new LinkedHashMap<>();
        for (String id : ids) {
            ordered.put(id, bits.get(id));
        }
        return ordered;
    }

    private static long gcd(long a, long b) {
        return b == 0 ? a : gcd(b, a % b);
    }

    /** Weight bits of the graph's layers at one uniform width. */
    public static long uniformBits(Graph g, int bits) {
        long n = 0;
        for (Node l : layers(g)) {
            n += (long) l.param("W").data().length * bits;
        }
        return n;
    }
}
