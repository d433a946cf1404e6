package io.zsq.core.passes;

import io.zsq.core.exec.Fp32Engine;
import io.zsq.core.ir.Graph;
import io.zsq.core.ir.Node;
import io.zsq.core.ir.OpType;
import io.zsq.core.ir.Tensor;
import io.zsq.core.quant.ChannelQParams;
import io.zsq.core.quant.Scheme;
import java.io.Serializable;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * Data-free quantization corrections of Nagel et al., "Data-Free Quantization Through Weight
 * Equalization and Bias Correction" (ICCV 2019), on a canonical graph (BN folded, activations fused).
 * <ul>
 *   <li>Cross-layer equalization: for a layer A whose output feeds only layer B, through no activation
 *       or a ReLU, scale A's output channel i by 1/s_i and B's input channel i by s_i with
 *       {@code s_i = sqrt(r1_i / r2_i)} (r1, r2 the channels' max |w|), so both ranges become
 *       {@code sqrt(r1_i r2_i)}; repeated over all pairs until the scales settle. ReLU is positively
 *       homogeneous; ReLU6 is not, and is replaced by ReLU in equalized layers, as in the paper (4.1).
 *       Depthwise B (or A) is equalized channel by channel.
 *   <li>Bias correction: {@code b -= (W_q - W) E[x]} per output channel, with E[x] the per-channel mean
 *       of the layer's input either from the folded BatchNorm's statistics (the pre-activation is taken
 *       as N(beta, gamma^2) and pushed through the fused clamp in closed form: data-free, analytical)
 *       or measured on the synthetic calibration data (empirical).
 *   <li>High-bias absorption ({@link #absorbHighBias}).
 * </ul>
 */
public final class Dfq {
    private Dfq() {}

    /** A transformed graph and what changed. */
    public record Transformed<R>(Graph graph, R report) {}

    /** One equalized pair: the product over sweeps of the scales {@code s_i} of the channels between them. */
    public record PairScales(String first, String second, float[] scales) {}

    /** Cross-layer equalization: the pairs, the sweeps until the scales settled, ReLU6 replaced by ReLU, and every scale. */
    public record EqualizationReport(int pairs, int sweeps, int relu6Replaced, List<PairScales> scales) {}

    /** High-bias absorption: per layer, the {@code c_i} moved into the next layer's bias (only layers that moved any). */
    public record HighBiasReport(int layers, int channels, Map<String, float[]> absorbed) {}

    /** Bias correction: where E[x] came from and the layers whose bias changed, with the change per output channel. */
    public record BiasCorrectionReport(String source, int layers, Map<String, float[]> correction) {}

    /** Cross-layer equalization; the report counts pairs, sweeps and ReLU6 replaced, and gives every scale. */
    public static Transformed<EqualizationReport> equalize(Graph g) {
        g.require(Graph.ACTIVATIONS_FUSED, "cross-layer equalization");
        List<Node> nodes = new ArrayList<>(g.nodes());
        List<int[]> pairs = new ArrayList<>();
        int relu6 = 0;
        for (int[] p : chains(g, nodes)) {
            Node a = nodes.get(p[0]);
            if (!homogeneousOrRelu6(a)) {
                continue;
            }
            if (a.hasFusedActivation() && a.f("fusedMax", Float.POSITIVE_INFINITY) != Float.POSITIVE_INFINITY) {
                nodes.set(p[0], a.withFloat("fusedMax", Float.POSITIVE_INFINITY));
                relu6++;
            }
            pairs.add(p);
        }
        int sweeps = 0;
        double change = Double.POSITIVE_INFINITY;
        List<double[]> total = new ArrayList<>();
        for (int[] p : pairs) {
            double[] t = new double[nodes.get(p[0]).param("W").dim(0)];
            java.util.Arrays.fill(t, 1);
            total.add(t);
        }
        while (!pairs.isEmpty() && sweeps < 50 && change > 1e-4) {
            change = 0;
            for (int i = 0; i < pairs.size(); i++) {
                change = Math.max(change, equalizePair(nodes, pairs.get(i)[0], pairs.get(i)[1], total.get(i)));
            }
            sweeps++;
        }
        List<PairScales> scales = new ArrayList<>();
        for (int i = 0; i < pairs.size(); i++) {
            float[] s = new float[total.get(i).length];
            for (int c = 0; c < s.length; c++) {
                s[c] = (float) total.get(i)[c];
            }
            scales.add(new PairScales(nodes.get(pairs.get(i)[0]).id(), nodes.get(pairs.get(i)[1]).id(), s));
        }
        return new Transformed<>(g.withNodes(nodes, null), new EqualizationReport(pairs.size(), sweeps, relu6, scales));
    }

    /**
     * Index pairs (A, B) of layers where A's output feeds only B, directly, and B's input channel i is
     * a slice of its weights (ungrouped or depthwise): where a per-channel change of A's output can be
     * compensated in B. A conv feeding a dense layer is left out (a flatten sits between them).
     */
    private static List<int[]> chains(Graph g, List<Node> nodes) {
        Map<String, List<Node>> consumers = g.consumers();
        Map<String, Integer> byOutput = new HashMap<>();
        for (int i = 0; i < nodes.size(); i++) {
            byOutput.put(nodes.get(i).output(), i);
        }
        List<int[]> pairs = new ArrayList<>();
        for (int j = 0; j < nodes.size(); j++) {
            Node b = nodes.get(j);
            Integer ai = byOutput.get(b.input());
            if (ai == null || !layer(b) || b.inputs().size() != 1) {
                continue;
            }
            Node a = nodes.get(ai);
            if (!layer(a) || consumers.get(a.output()).size() != 1 || a.op() != b.op() && b.op() != OpType.DENSE || !channelWise(b)
                    || b.op() == OpType.DENSE && a.op() == OpType.CONV) {
                continue;
            }
            pairs.add(new int[] {ai, j});
        }
        return pairs;
    }

    /**
     * High-bias absorption (DFQ, section 4.2): where A ends in a ReLU and its folded BatchNorm says the
     * pre-activation of channel i is N(beta_i, gamma_i^2), {@code c_i = max(0, beta_i - 3 gamma_i)} is
     * almost always below it, so {@code relu(z) = relu(z - c) + c}: A's bias loses c, B's bias gains
     * {@code W_B c} (summed over B's taps), and A's output range shrinks by c. Exact except for inputs
     * below c (0.13% of a Gaussian) and at B's zero-padded borders, where the padding stands for 0
     * instead of -c. Runs after equalization, whose ReLU6 -> ReLU makes the clamp shift-free.
     */
    public static Transformed<HighBiasReport> absorbHighBias(Graph g) {
        g.require(Graph.ACTIVATIONS_FUSED, "high-bias absorption");
        List<Node> nodes = new ArrayList<>(g.nodes());
        int layers = 0, channels = 0;
        Map<String, float[]> absorbed = new LinkedHashMap<>();
        for (int[] p : chains(g, nodes)) {
            Node a = nodes.get(p[0]), b = nodes.get(p[1]);
            if (a.param(Node.STATS_BETA) == null || !a.hasFusedActivation() || a.f("fusedMin", Float.NEGATIVE_INFINITY) != 0f
                    || a.f("fusedMax", Float.POSITIVE_INFINITY) != Float.POSITIVE_INFINITY) {
                continue; // no statistics, or not a plain ReLU
            }
            float[] beta = a.param(Node.STATS_BETA).data(), gamma = a.param(Node.STATS_GAMMA).data();
            float[] c = new float[beta.length];
            int moved = 0;
            for (int i = 0; i < c.length; i++) {
                c[i] = Math.max(0f, beta[i] - 3 * gamma[i]);
                moved += c[i] > 0 ? 1 : 0;
            }
            if (moved == 0) {
                continue;
            }
            Map<String, Tensor> pa = new LinkedHashMap<>(a.params());
            pa.put("B", new Tensor(new int[] {c.length}, subtract(a.param("B"), c)));
            pa.put(Node.STATS_BETA, new Tensor(new int[] {c.length}, subtract(a.param(Node.STATS_BETA), c)));
            Tensor wb = b.param("W");
            int outB = wb.dim(0), k = b.op() == OpType.CONV ? wb.dim(2) * wb.dim(3) : 1;
            boolean dwB = depthwise(b);
            int inB = dwB ? 1 : wb.data().length / outB / k;
            float[] bb = b.param("B") == null ? new float[outB] : b.param("B").data().clone();
            for (int o = 0; o < outB; o++) {
                double add = 0;
                for (int i = 0; i < inB; i++) {
                    double ci = c[dwB ? o : i];
                    for (int t = 0; t < k; t++) {
                        add += wb.data()[(o * inB + i) * k + t] * ci;
                    }
                }
                bb[o] += (float) add;
            }
            Map<String, Tensor> pb = new LinkedHashMap<>(b.params());
            pb.put("B", new Tensor(new int[] {outB}, bb));
            nodes.set(p[0], a.withParams(pa));
            nodes.set(p[1], b.withParams(pb));
            layers++;
            channels += moved;
            absorbed.put(a.id(), c);
        }
        return new Transformed<>(g.withNodes(nodes, null), new HighBiasReport(layers, channels, absorbed));
    }

    private static float[] subtract(Tensor t, float[] c) {
        float[] v = t == null ? new float[c.length] : t.data().clone();
        for (int i = 0; i < c.length; i++) {
            v[i] -= c[i];
        }
        return v;
    }

    private static boolean layer(Node n) {
        return n.op() == OpType.CONV || n.op() == OpType.DENSE;
    }

    /** No activation, or a clamp at 0 below (ReLU; ReLU6 becomes ReLU). */
    private static boolean homogeneousOrRelu6(Node a) {
        return !a.hasFusedActivation() || a.f("fusedMin", Float.NEGATIVE_INFINITY) == 0f;
    }

    /** B's input channel i is a slice of its weights: ungrouped, or depthwise. */
    private static boolean channelWise(Node b) {
        int groups = b.ints("group", new int[] {1})[0];
        Tensor w = b.param("W");
        return groups == 1 || (groups == w.dim(0) && w.dim(1) == 1);
    }

    private static boolean depthwise(Node n) {
        return n.op() == OpType.CONV && n.ints("group", new int[] {1})[0] > 1;
    }

    /** One equalization step of a pair, multiplying its scales into {@code total}; returns max |log s_i|. */
    private static double equalizePair(List<Node> nodes, int ai, int bi, double[] total) {
        Node a = nodes.get(ai), b = nodes.get(bi);
        Tensor wa = a.param("W"), wb = b.param("W");
        int ch = wa.dim(0), perA = wa.data().length / ch;
        float[] na = wa.data().clone(), nb = wb.data().clone();
        boolean dwB = depthwise(b);
        int outB = wb.dim(0), inB = dwB ? 1 : wb.data().length / outB / (b.op() == OpType.CONV ? wb.dim(2) * wb.dim(3) : 1);
        int k = b.op() == OpType.CONV ? wb.dim(2) * wb.dim(3) : 1;
        double change = 0;
        float[] s = new float[ch];
        for (int i = 0; i < ch; i++) {
            double r1 = 0, r2 = 0;
            for (int t = 0; t < perA; t++) {
                r1 = Math.max(r1, Math.abs(na[i * perA + t]));
            }
            if (dwB) {
                for (int t = 0; t < k; t++) {
                    r2 = Math.max(r2, Math.abs(nb[i * k + t]));
                }
            } else {
                for (int o = 0; o < outB; o++) {
                    for (int t = 0; t < k; t++) {
                        r2 = Math.max(r2, Math.abs(nb[(o * inB + i) * k + t]));
                    }
                }
            }
            double si = r1 > 0 && r2 > 0 ? Math.sqrt(r1 / r2) : 1;
            s[i] = (float) si;
            total[i] *= s[i];
            change = Math.max(change, Math.abs(Math.log(si)));
        }
        for (int i = 0; i < ch; i++) {
            for (int t = 0; t < perA; t++) {
                na[i * perA + t] /= s[i];
            }
            if (dwB) {
                for (int t = 0; t < k; t++) {
                    nb[i * k + t] *= s[i];
                }
            } else {
                for (int o = 0; o < outB; o++) {
                    for (int t = 0; t < k; t++) {
                        nb[(o * inB + i) * k + t] *= s[i];
                    }
                }
            }
        }
        Map<String, Tensor> pa = new LinkedHashMap<>(a.params());
        pa.put("W", new Tensor(wa.shape(), na));
        for (String key : new String[] {"B", Node.STATS_BETA, Node.STATS_GAMMA}) {
            Tensor t = a.param(key);
            if (t != null) {
                float[] v = t.data().clone();
                for (int i = 0; i < ch; i++) {
                    v[i] /= s[i];
                }
                pa.put(key, new Tensor(t.shape(), v));
            }
        }
        Map<String, Tensor> pb = new LinkedHashMap<>(b.params());
        pb.put("W", new Tensor(wb.shape(), nb));
        nodes.set(ai, a.withParams(pa));
        nodes.set(bi, b.withParams(pb));
        return change;
    }

    /**
     * Analytical per-channel means of every CONV/DENSE input that comes from a folded-BN layer (directly,
     * or through average pooling and flatten, which keep channel means), keyed by tensor name.
     */
    public static Map<String, float[]> analyticalMeans(Graph g) {
        Map<String, float[]> means = new HashMap<>();
        for (Node n : g.nodes()) {
            if (layer(n) && n.param(Node.STATS_BETA) != null) {
                float[] beta = n.param(Node.STATS_BETA).data(), gamma = n.param(Node.STATS_GAMMA).data();
                float lo = n.f("fusedMin", Float.NEGATIVE_INFINITY), hi = n.f("fusedMax", Float.POSITIVE_INFINITY);
                float[] m = new float[beta.length];
                for (int c = 0; c < m.length; c++) {
                    m[c] = (float) clippedGaussianMean(beta[c], gamma[c], lo, hi);
                }
                means.put(n.output(), m);
            } else if ((n.op() == OpType.AVG_POOL || n.op() == OpType.GLOBAL_AVG_POOL) && means.containsKey(n.input())) {
                means.put(n.output(), means.get(n.input()));
            } else if (n.op() == OpType.FLATTEN && means.containsKey(n.input())) {
                int[] xs = g.shape(n.input());
                int plane = xs.length == 3 ? xs[1] * xs[2] : 1;
                float[] m = means.get(n.input()), f = new float[m.length * plane];
                for (int c = 0; c < m.length; c++) {
                    java.util.Arrays.fill(f, c * plane, (c + 1) * plane, m[c]); // NCHW feature order
                }
                means.put(n.output(), f);
            }
        }
        return means;
    }

    /** E[clamp(X, lo, hi)] for X ~ N(mu, sigma^2). */
    static double clippedGaussianMean(double mu, double sigma, double lo, double hi) {
        if (!(sigma > 0)) {
            return Math.max(lo, Math.min(hi, mu));
        }
        // clamp(X, lo, hi) = X + relu(lo - X) - relu(X - hi)
        double m = mu;
        if (lo != Double.NEGATIVE_INFINITY) {
            m += reluMean(lo - mu, sigma);
        }
        if (hi != Double.POSITIVE_INFINITY) {
            m -= reluMean(mu - hi, sigma);
        }
        return m;
    }

    /** E[relu(Y)] for Y ~ N(m, s^2): m Phi(m/s) + s phi(m/s). */
    static double reluMean(double m, double s) {
        double z = m / s;
        return m * phiCdf(z) + s * Math.exp(-0.5 * z * z) / Math.sqrt(2 * Math.PI);
    }

    /** Standard normal CDF via erfc (Numerical Recipes' Chebyshev fit, |error| < 1.2e-7). */
    static double phiCdf(double z) {
        double x = Math.abs(z) / Math.sqrt(2), t = 1 / (1 + 0.5 * x);
        double erfc = t * Math.exp(-x * x - 1.26551223 + t * (1.00002368 + t * (0.37409196 + t * (0.09678418 + t * (-0.18628806
                + t * (0.27886807 + t * (-1.13520398 + t * (1.48851587 + t * (-0.82215223 + t * 0.17087277)))))))));
        return z >= 0 ? 1 - erfc / 2 : erfc / 2;
    }

    /** Per-channel sums of the inputs of every CONV/DENSE layer over observed batches; merge is addition. */
    public record Means(Map<String, double[]> sums, Map<String, Long> counts) implements Serializable {
        public static Means observe(Graph g, float[] x, int batch) {
            return of(g, Fp32Engine.forward(g, x, batch, null));
        }

        /** The sums of one batch from its forward trace. */
        public static Means of(Graph g, Fp32Engine.Trace t) {
            Map<String, double[]> sums = new LinkedHashMap<>();
            Map<String, Long> counts = new LinkedHashMap<>();
            for (Node n : g.nodes()) {
                if (!layer(n) || sums.containsKey(n.input())) {
                    continue;
                }
                int ch = g.shape(n.input())[0]; // channels of [C, H, W] (stored NHWC), features of [F]
                float[] v = t.get(n.input());
                double[] s = new double[ch];
                for (int i = 0; i < v.length; i++) {
                    s[i % ch] += v[i];
                }
                sums.put(n.input(), s);
                counts.put(n.input(), (long) v.length / ch);
            }
            return new Means(sums, counts);
        }

        public Means merge(Means o) {
            Map<String, double[]> s = new LinkedHashMap<>();
            Map<String, Long> c = new LinkedHashMap<>();
            for (String k : sums.keySet()) {
                double[] a = sums.get(k).clone(), b = o.sums.get(k);
                for (int i = 0; i < a.length; i++) {
                    a[i] += b[i];
                }
                s.put(k, a);
                c.put(k, counts.get(k) + o.counts.get(k));
            }
            return new Means(s, c);
        }

        public Map<String, float[]> means() {
            Map<String, float[]> m = new HashMap<>();
            for (Map.Entry<String, double[]> e : sums.entrySet()) {
                float[] v = new float[e.getValue().length];
                for (int i = 0; i < v.length; i++) {
                    v[i] = (float) (e.getValue()[i] / counts.get(e.getKey()));
                }
                m.put(e.getKey(), v);
            }
            return m;
        }
    }

    /** The statistic empirical bias correction asks for: per-channel means of every CONV/DENSE input. */
    public record InputMeans() implements StatRequest<Means> {
        @Override
        public Means observe(Graph g, int index, float[] x, int n, Fp32Engine.Trace trace) {
            return Means.of(g, trace);
        }

        @Override
        public Means merge(Means a, Means b) {
            return a.merge(b);
        }
    }

    /** For each tap (ky, kx) of a CONV: the fraction of output positions whose input under that tap is inside the image. */
    static double[] insideFraction(Node n, int[] xs, int[] ys) {
        Tensor w = n.param("W");
        int kh = w.dim(2), kw = w.dim(3);
        int[] st = n.ints("strides", new int[] {1, 1}), pads = n.ints("pads", new int[] {0, 0, 0, 0});
        double[] f = new double[kh * kw];
        for (int ky = 0; ky < kh; ky++) {
            int rows = 0;
            for (int oy = 0; oy < ys[1]; oy++) {
                int iy = oy * st[0] - pads[0] + ky;
                rows += iy >= 0 && iy < xs[1] ? 1 : 0;
            }
            for (int kx = 0; kx < kw; kx++) {
                int cols = 0;
                for (int ox = 0; ox < ys[2]; ox++) {
                    int ix = ox * st[1] - pads[1] + kx;
                    cols += ix >= 0 && ix < xs[2] ? 1 : 0;
                }
                f[ky * kw + kx] = (double) rows / ys[1] * cols / ys[2];
            }
        }
        return f;
    }

    /**
     * Bias correction for the weight quantizer of {@code scheme}: every CONV/DENSE layer whose input has
     * a mean in {@code inputMeans} (per channel; per feature for dense) gets {@code b -= (W_q - W) E[x]}.
     * Each kernel tap's term is weighted by the fraction of output positions where that tap reads
     * inside the image rather than zero padding, so the correction is the exact mean over positions
     * (on small feature maps, 7x7 with a 3x3 kernel, half the positions touch the border). Returns the
     * graph and how many layers changed.
     */
    public static Transformed<BiasCorrectionReport> correctBias(Graph g, Scheme scheme, Map<String, float[]> inputMeans, String source) {
        List<Node> nodes = new ArrayList<>();
        int corrected = 0;
        Map<String, float[]> correction = new LinkedHashMap<>();
        for (Node n : g.nodes()) {
            float[] mean = inputMeans.get(n.input());
            if (!layer(n) || mean == null) {
                nodes.add(n);
                continue;
            }
            Tensor w = n.param("W");
            ChannelQParams wq = scheme.weights(n);
            float[] fq = wq.fakeQuantize(w.data());
            int outC = w.dim(0), per = w.data().length / outC;
            int k = n.op() == OpType.CONV ? w.dim(2) * w.dim(3) : 1, cpg = per / k;
            int groups = n.op() == OpType.CONV ? n.ints("group", new int[] {1})[0] : 1, opg = outC / groups;
            float[] b = n.param("B") != null ? n.param("B").data().clone() : new float[outC];
            double[] inside = n.op() == OpType.CONV ? insideFraction(n, g.shape(n.input()), g.shape(n.output())) : new double[] {1};
            float[] delta = new float[outC];
            for (int oc = 0; oc < outC; oc++) {
                double d = 0;
                for (int ci = 0; ci < cpg; ci++) {
                    double m = mean[(oc / opg) * cpg + ci];
                    for (int t = 0; t < k; t++) {
                        int i = (oc * cpg + ci) * k + t;
                        d += (fq[i] - w.data()[i]) * m * inside[t];
                    }
                }
                b[oc] -= (float) d;
                delta[oc] = (float) -d;
            }
            correction.put(n.id(), delta);
            Map<String, Tensor> p = new LinkedHashMap<>(n.params());
            p.put("B", new Tensor(new int[] {outC}, b));
            nodes.add(n.withParams(p));
            corrected++;
        }
        return new Transformed<>(g.withNodes(nodes, null), new BiasCorrectionReport(source, corrected, correction));
    }
}
