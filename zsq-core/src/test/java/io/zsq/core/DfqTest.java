package io.zsq.core;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.zsq.core.exec.Fp32Engine;
import io.zsq.core.imports.ModelImporter;
import io.zsq.core.ir.Graph;
import io.zsq.core.ir.Node;
import io.zsq.core.ir.OpType;
import io.zsq.core.passes.Canonicalize;
import io.zsq.core.passes.Dfq;
import io.zsq.core.quant.Scheme;
import java.util.Map;
import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;

/** Cross-layer equalization keeps the function and equalizes ranges; the bias-correction means and corrections are right. */
class DfqTest {
    static final Graph CANON = Canonicalize.run(ModelImporter.load(Fixtures.RESNET_ONNX), null);

    @Test
    void equalizationKeepsTheFunctionAndEqualizesChannelRanges() {
        Dfq.Transformed<Dfq.EqualizationReport> eqr = Dfq.equalize(CANON);
        Graph eq = eqr.graph();
        float[] x = Fixtures.test(64).batch(0, 64, Fixtures.PRE);
        float[] a = Fp32Engine.run(CANON, x, 64), b = Fp32Engine.run(eq, x, 64);
        double max = 0;
        for (float v : a) {
            max = Math.max(max, Math.abs(v));
        }
        for (int i = 0; i < a.length; i++) {
            assertEquals(a[i], b[i], 1e-4 * max, "logit " + i);
        }
        // the first residual block's c1 -> c2 pair: output channel ranges of c1 equal input channel ranges of c2
        Node c1 = find(eq, "/l1/c1/Conv"), c2 = find(eq, "/l1/c2/Conv");
        float[] w1 = c1.param("W").data(), w2 = c2.param("W").data();
        int ch = c1.param("W").dim(0), per1 = w1.length / ch, out2 = c2.param("W").dim(0), k = 9;
        int changed = 0;
        for (int i = 0; i < ch; i++) {
            double r1 = 0, r2 = 0;
            for (int t = 0; t < per1; t++) {
                r1 = Math.max(r1, Math.abs(w1[i * per1 + t]));
            }
            for (int o = 0; o < out2; o++) {
                for (int t = 0; t < k; t++) {
                    r2 = Math.max(r2, Math.abs(w2[(o * ch + i) * k + t]));
                }
            }
            assertEquals(r1, r2, 1e-3 * r1, "channel " + i);
            changed += Math.abs(c1.param("W").data()[i * per1] - find(CANON, "/l1/c1/Conv").param("W").data()[i * per1]) > 1e-6 ? 1 : 0;
        }
        assertTrue(changed > 0, "equalization changed the weights");
        // the report's scales are the ones applied: c1's output channel i was divided by s_i
        Dfq.PairScales ps = eqr.report().scales().stream().filter(p -> p.first().equals("/l1/c1/Conv")).findFirst().orElseThrow();
        assertEquals("/l1/c2/Conv", ps.second());
        float[] w0 = find(CANON, "/l1/c1/Conv").param("W").data();
        for (int i = 0; i < ch; i++) {
            assertEquals(w0[i * per1] / ps.scales()[i], w1[i * per1], 1e-4 * Math.abs(w0[i * per1]) + 1e-7, "scale of channel " + i);
        }
        assertEquals(eqr.report().pairs(), eqr.report().scales().size());
    }

    @Test
    void analyticalMeanOfAClampedGaussianMatchesSampling() {
        SplittableRandom r = new SplittableRandom(3);
        double[][] cases = {{0.3, 1.2, 0, Double.POSITIVE_INFINITY}, {-1, 0.5, 0, 6}, {4, 3, 0, 6}, {0.5, 2, Double.NEGATIVE_INFINITY,
                Double.POSITIVE_INFINITY}, {2, 1, -1, 1}};
        for (double[] c : cases) {
            Map<String, float[]> m = Dfq.analyticalMeans(single(c[0], c[1], (float) c[2], (float) c[3]));
            double s = 0, s2 = 0;
            int n = 400_000;
            for (int i = 0; i < n; i++) {
                double v = Math.max(c[2], Math.min(c[3], c[0] + c[1] * r.nextGaussian()));
                s += v;
                s2 += v * v;
            }
            double mean = s / n, se = Math.sqrt(Math.max(s2 / n - mean * mean, 1e-12) / n);
            assertEquals(mean, m.get("y")[0], 4 * se + 1e-6, java.util.Arrays.toString(c));
        }
    }

    @Test
    void biasCorrectionRemovesTheMeanOutputShiftOfQuantizedWeights() {
        Scheme w4 = Scheme.of(4, 8);
        Scheme perTensor = new Scheme(4, 8, Scheme.PER_TENSOR, false, false, Map.of(), Map.of(), 8);
        float[] x = Fixtures.test(64).batch(0, 64, Fixtures.PRE);
        Map<String, float[]> means = Dfq.Means.observe(CANON, x, 64).means();
        for (Scheme s : new Scheme[] {w4, perTensor}) {
            Graph corrected = Dfq.correctBias(CANON, s, means, "empirical").graph();
            Fp32Engine.Trace t = Fp32Engine.forward(CANON, x, 64, null);
            double before = 0, after = 0;
            for (Node n : CANON.nodes()) {
                if (n.op() != OpType.CONV || n.hasFusedActivation()) {
                    continue; // compare pre-activation outputs only
                }
                float[] ref = t.get(n.output());
                float[] q = layerOutput(n.withParams(Map.of("W", new io.zsq.core.ir.Tensor(n.param("W").shape(), s.weights(n).fakeQuantize(n.param("W").data())),
                        "B", n.param("B"))), CANON, t, 64);
                float[] qc = layerOutput(find(corrected, n.id()).withParams(Map.of("W", new io.zsq.core.ir.Tensor(n.param("W").shape(),
                        s.weights(n).fakeQuantize(n.param("W").data())), "B", find(corrected, n.id()).param("B"))), CANON, t, 64);
                int ch = n.param("W").dim(0);
                for (int c = 0; c < ch; c++) {
                    before += Math.abs(channelMean(q, ch, c) - channelMean(ref, ch, c));
                    after += Math.abs(channelMean(qc, ch, c) - channelMean(ref, ch, c));
                }
            }
            // 0.13 with the padding-aware weights, 0.22 without them
            assertTrue(after < 0.18 * before, s.granularityName() + ": mean shift " + before + " -> " + after);
        }
    }

    /**
     * The bundled models have no channel with beta > 3 gamma (largest ratio 1.08), so a high-bias layer
     * is made: /l1/c1's pre-activation is shifted up by 5 gamma per channel. Absorption must then move
     * beta + 2 gamma of each channel into /l1/c2's bias, shrink /l1/c1's output range by that much, and
     * keep the network's function up to its two approximations (inputs below c, and /l1/c2's padded
     * border, which now stands for -c instead of 0).
     */
    @Test
    void highBiasAbsorptionMovesTheBiasAndKeepsTheFunction() {
        java.util.List<Node> nodes = new java.util.ArrayList<>(CANON.nodes());
        int at = nodes.indexOf(find(CANON, "/l1/c1/Conv"));
        Node c1 = nodes.get(at);
        float[] b = c1.param("B").data().clone(), beta = c1.param(Node.STATS_BETA).data().clone();
        float[] gamma = c1.param(Node.STATS_GAMMA).data();
        for (int i = 0; i < b.length; i++) {
            b[i] += 5 * gamma[i];
            beta[i] += 5 * gamma[i];
        }
        Map<String, io.zsq.core.ir.Tensor> p = new java.util.LinkedHashMap<>(c1.params());
        p.put("B", new io.zsq.core.ir.Tensor(new int[] {b.length}, b));
        p.put(Node.STATS_BETA, new io.zsq.core.ir.Tensor(new int[] {b.length}, beta));
        nodes.set(at, c1.withParams(p));
        Graph high = CANON.withNodes(nodes, null);
        Dfq.Transformed<Dfq.HighBiasReport> r = Dfq.absorbHighBias(high);
        assertEquals(16, r.report().channels(), r.report().toString());
        assertEquals(1, r.report().layers(), r.report().toString());
        assertEquals(java.util.Set.of("/l1/c1/Conv"), r.report().absorbed().keySet());
        Node a = find(r.graph(), "/l1/c1/Conv");
        for (int i = 0; i < b.length; i++) {
            assertEquals(b[i] - (beta[i] - 3 * gamma[i]), a.param("B").data()[i], 1e-4 * Math.abs(b[i]) + 1e-5, "bias of channel " + i);
        }
        int n = 200;
        float[] x = Fixtures.test(n).batch(0, n, Fixtures.PRE);
        Fp32Engine.Trace before = Fp32Engine.forward(high, x, n, null), after = Fp32Engine.forward(r.graph(), x, n, null);
        float maxBefore = 0, maxAfter = 0;
        for (float v : before.get(c1.output())) {
            maxBefore = Math.max(maxBefore, v);
        }
        for (float v : after.get(c1.output())) {
            maxAfter = Math.max(maxAfter, v);
        }
        assertTrue(maxAfter < 0.85 * maxBefore, "output range " + maxBefore + " -> " + maxAfter);
        float[] lb = before.nchw(high, high.output()), la = after.nchw(r.graph(), r.graph().output());
        int classes = lb.length / n, same = 0;
        double err = 0, norm = 0;
        for (int i = 0; i < n; i++) {
            int ab = 0, aa = 0;
            for (int j = 1; j < classes; j++) {
                ab = lb[i * classes + j] > lb[i * classes + ab] ? j : ab;
                aa = la[i * classes + j] > la[i * classes + aa] ? j : aa;
            }
            same += ab == aa ? 1 : 0;
        }
        for (int i = 0; i < lb.length; i++) {
            err += (lb[i] - la[i]) * (lb[i] - la[i]);
            norm += lb[i] * lb[i];
        }
        System.out.printf("high-bias absorption: argmax kept on %d of %d, relative logit error %.4f, range %.3f -> %.3f%n", same, n,
                Math.sqrt(err / norm), maxBefore, maxAfter);
        assertTrue(same >= 0.97 * n, same + " of " + n + " argmaxes kept");
        assertTrue(Math.sqrt(err / norm) < 0.1, "relative logit error " + Math.sqrt(err / norm));
        // on the bundled models nothing qualifies
        assertEquals(0, Dfq.absorbHighBias(CANON).report().channels(), Dfq.absorbHighBias(CANON).report().toString());
    }

    private static float[] layerOutput(Node n, Graph g, Fp32Engine.Trace t, int batch) {
        Graph one = Graph.of(n.input(), g.shape(n.input()), n.output(), java.util.List.of(n), java.util.Set.of(), Map.of());
        return Fp32Engine.forward(one, t.nchw(g, n.input()), batch, null).get(n.output());
    }

    private static double channelMean(float[] nhwc, int ch, int c) {
        double s = 0;
        for (int i = c; i < nhwc.length; i += ch) {
            s += nhwc[i];
        }
        return s / (nhwc.length / ch);
    }

    /** A 1x1 convolution 1 -> 1 with folded-BN statistics N(mu, sigma^2) and a fused clamp, output "y". */
    private static Graph single(double mu, double sigma, float lo, float hi) {
        Map<String, io.zsq.core.ir.Tensor> p = Map.of("W", new io.zsq.core.ir.Tensor(new int[] {1, 1, 1, 1}, new float[] {1}),
                Node.STATS_BETA, new io.zsq.core.ir.Tensor(new int[] {1}, new float[] {(float) mu}),
                Node.STATS_GAMMA, new io.zsq.core.ir.Tensor(new int[] {1}, new float[] {(float) sigma}));
        Node n = new Node("c", OpType.CONV, java.util.List.of("x"), "y", Map.of(), Map.of("fusedMin", lo, "fusedMax", hi), p);
        return Graph.of("x", new int[] {1, 2, 2}, "y", java.util.List.of(n), java.util.Set.of(Graph.BN_FOLDED, Graph.ACTIVATIONS_FUSED), Map.of());
    }

    private static Node find(Graph g, String id) {
        return g.nodes().stream().filter(n -> n.id().equals(id)).findFirst().orElseThrow(() -> new AssertionError("no node " + id));
    }
}
