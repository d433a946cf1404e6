package io.zsq.core.exec;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.zsq.core.ir.Graph;
import io.zsq.core.ir.Node;
import io.zsq.core.ir.OpType;
import io.zsq.core.ir.Tensor;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;

/**
 * The engine's gradients to weights and biases (Level 2) against central finite differences, on a
 * folded graph with every convolution kind the kernels distinguish (ungrouped with output channels in
 * vectors, depthwise in vectors, grouped, strided, an odd channel count), fused ReLU/clip, a residual add,
 * pooling and a dense layer; the vector dW kernels against the scalar definition; and a
 * {@link Fp32Engine.Quantizer}'s backward taken through the pass.
 */
class ParameterGradientTest {
    private final SplittableRandom r = new SplittableRandom(71);

    private Tensor rnd(int[] shape, double scale) {
        float[] v = new float[Tensor.size(shape)];
        for (int i = 0; i < v.length; i++) {
            v[i] = (float) (scale * r.nextGaussian());
        }
        return new Tensor(shape, v);
    }

    private Node conv(String id, String in, int cin, int cout, int k, int stride, int pad, int group, boolean relu6) {
        Map<String, Tensor> p = new LinkedHashMap<>();
        p.put("W", rnd(new int[] {cout, cin / group, k, k}, 1.2 / Math.sqrt(cin / group * k * k)));
        p.put("B", rnd(new int[] {cout}, 0.2));
        Map<String, Float> f = relu6 ? Map.of("fusedMin", 0f, "fusedMax", 6f) : Map.of("fusedMin", 0f);
        return new Node(id, OpType.CONV, List.of(in), id, Map.of("strides", new int[] {stride, stride}, "pads", new int[] {pad, pad, pad, pad},
                "group", new int[] {group}), f, p);
    }

    private Graph graph() {
        List<Node> n = new ArrayList<>();
        n.add(conv("c1", "x", 3, 16, 3, 1, 1, 1, false));
        n.add(conv("dw", "c1", 16, 16, 3, 1, 1, 16, true));
        n.add(new Node("add", OpType.ADD, List.of("dw", "c1"), "s", Map.of(), Map.of(), Map.of()));
        n.add(conv("g2", "s", 16, 8, 3, 2, 1, 2, false));
        n.add(new Node("mp", OpType.MAX_POOL, List.of("g2"), "mp", Map.of("kernel", new int[] {2, 2}, "strides", new int[] {1, 1},
                "pads", new int[] {0, 0, 0, 0}), Map.of(), Map.of()));
        n.add(conv("c3", "mp", 8, 32, 1, 1, 0, 1, false));
        n.add(conv("c4", "c3", 32, 5, 3, 1, 1, 1, false));
        n.add(new Node("gap", OpType.GLOBAL_AVG_POOL, List.of("c4"), "g", Map.of(), Map.of(), Map.of()));
        n.add(new Node("fl", OpType.FLATTEN, List.of("g"), "f", Map.of(), Map.of(), Map.of()));
        Map<String, Tensor> p = new LinkedHashMap<>();
        p.put("W", rnd(new int[] {4, 5}, 0.5));
        p.put("B", rnd(new int[] {4}, 0.1));
        n.add(new Node("fc", OpType.DENSE, List.of("f"), "y", Map.of(), Map.of(), p));
        return Graph.of("x", new int[] {3, 7, 7}, "y", n, Set.of(), Map.of());
    }

    private static float[] unit(float[] d) {
        double norm = 0;
        for (float v : d) {
            norm += v * v;
        }
        for (int i = 0; i < d.length; i++) {
            d[i] /= (float) Math.sqrt(norm);
        }
        return d;
    }

    private static double central(java.util.function.DoubleUnaryOperator f, double h) {
        return (f.applyAsDouble(h) - f.applyAsDouble(-h)) / (2 * h);
    }

    /** sum r . output, in double. */
    private static double loss(Graph g, float[] x, int batch, float[] rw, Fp32Engine.Hook hook) {
        float[] y = Fp32Engine.forward(g, x, batch, hook).nchw(g, g.output());
        double l = 0;
        for (int i = 0; i < y.length; i++) {
            l += (double) rw[i] * y[i];
        }
        return l;
    }

    private static Graph withParam(Graph g, String id, String key, float[] v) {
        List<Node> nodes = new ArrayList<>();
        for (Node n : g.nodes()) {
            if (n.id().equals(id)) {
                Map<String, Tensor> p = new LinkedHashMap<>(n.params());
                p.put(key, new Tensor(n.param(key).shape(), v));
                n = n.withParams(p);
            }
            nodes.add(n);
        }
        return g.withNodes(nodes, null);
    }

    private void checkAll(Fp32Engine.Quantizer quantizer) {
        Graph g = graph();
        int batch = 3;
        float[] x = rnd(new int[] {batch * 3 * 7 * 7}, 1).data();
        float[] rw = rnd(new int[] {batch * 4}, 1).data();
        Fp32Engine.Trace t = Fp32Engine.forward(g, x, batch, quantizer);
        ParameterGradients pg = new ParameterGradients();
        Fp32Engine.backwardToParameters(g, t, Map.of("y", rw.clone()), quantizer, pg, new Workspace());
        for (Node n : g.nodes()) {
            if (n.op() != OpType.CONV && n.op() != OpType.DENSE) {
                continue;
            }
            for (String key : new String[] {"W", "B"}) {
                float[] grad = key.equals("W") ? pg.weight(n.id()) : pg.bias(n.id());
                assertNotNull(grad, n.id() + " " + key);
                float[] p0 = n.param(key).data();
                int smooth = 0;
                for (int trial = 0; trial < 12 && smooth < 3; trial++) {
                    float[] d = unit(rnd(new int[] {p0.length}, 1).data());
                    java.util.function.DoubleUnaryOperator along = h -> {
                        float[] v = p0.clone();
                        for (int i = 0; i < v.length; i++) {
                            v[i] += (float) (h * d[i]);
                        }
                        return loss(withParam(g, n.id(), key, v), x, batch, rw, quantizer);
                    };
                    double h = 1e-3, fd = central(along, h), fdHalf = central(along, h / 2);
                    if (Math.abs(fd - fdHalf) > 2e-3 * Math.abs(fd) + 1e-4) {
                        continue; // a ReLU or max-pool kink lies within h along this direction: the loss is not smooth there
                    }
                    smooth++;
                    double dot = 0;
                    for (int i = 0; i < d.length; i++) {
                        dot += grad[i] * d[i];
                    }
                    assertEquals(fd, dot, 2e-3 * Math.abs(fd) + 2e-4, n.id() + "." + key + " along a random direction");
                }
                assertEquals(3, smooth, n.id() + "." + key + ": too few directions without a kink within h");
            }
        }
    }

    @Test
    void weightAndBiasGradientsMatchFiniteDifferences() {
        checkAll(null);
    }

    /** A smooth stand-in for fake quantization (0.8 x + 0.02 x^2 on every tensor): the engine takes its backward at each tensor, masks on the values before it. */
    @Test
    void quantizerBackwardIsTakenAtEveryTensor() {
        Set<String> seen = new java.util.HashSet<>();
        Fp32Engine.Quantizer q = new Fp32Engine.Quantizer() {
            @Override
            public float[] apply(String tensor, float[] v, int batch) {
                float[] o = new float[v.length];
                for (int i = 0; i < v.length; i++) {
                    o[i] = 0.8f * v[i] + 0.02f * v[i] * v[i];
                }
                return o;
            }

            @Override
            public float[] backward(String tensor, float[] dy, float[] raw, int batch) {
                seen.add(tensor);
                for (int i = 0; i < dy.length; i++) {
                    dy[i] *= 0.8f + 0.04f * raw[i];
                }
                return dy;
            }
        };
        checkAll(q);
        assertTrue(seen.containsAll(List.of("c1", "dw", "s", "g2", "mp", "c3", "c4", "g", "f", "y")), seen.toString());
        assertTrue(!seen.contains("x"), "the input's gradient is not wanted");
    }

    /** The vector dW kernels sum in another order than the scalar loop: equal within float rounding. */
    @Test
    void vectorWeightGradientEqualsScalarDefinition() {
        assertTrue(Simd.ENABLED, "the tests run with --add-modules jdk.incubator.vector (pom): the vector kernels are what this compares");
        for (int[] geo : new int[][] {{16, 32, 3, 1, 1, 1}, {3, 16, 3, 2, 1, 1}, {32, 16, 1, 1, 0, 1}, {16, 16, 3, 1, 1, 16}, {32, 32, 3, 2, 1, 32},
                {17, 16, 5, 2, 2, 1}, {16, 48, 3, 1, 1, 1}}) {
            int c = geo[0], o = geo[1], k = geo[2], st = geo[3], pad = geo[4], groups = geo[5], n = 2, h = 9, w = 8;
            int oh = (h + 2 * pad - k) / st + 1, ow = (w + 2 * pad - k) / st + 1;
            ConvShape s = new ConvShape(n, c, h, w, o, oh, ow, k, k, st, st, pad, pad, groups);
            float[] x = rnd(new int[] {n * h * w * c}, 1).data(), dy = rnd(new int[] {n * oh * ow * o}, 1).data();
            float[] dw = new float[o * c / groups * k * k], db = new float[o];
            Conv.backwardWeights(s, x, dy, dw, db);
            float[] ref = new float[dw.length];
            Conv.weightGradientScalar(s, Conv.pad(x, n, h, w, c, s.hp(), s.wp(), pad, pad), dy, ref);
            for (int i = 0; i < ref.length; i++) {
                assertEquals(ref[i], dw[i], 1e-5 * (1 + Math.abs(ref[i])), java.util.Arrays.toString(geo) + " dW[" + i + "]");
            }
            for (int oc = 0; oc < o; oc++) {
                double b = 0;
                for (int p = 0; p < n * oh * ow; p++) {
                    b += dy[p * o + oc];
                }
                assertEquals(b, db[oc], 1e-4, "dB[" + oc + "]");
            }
        }
    }

    /** The input gradient is skipped in a parameter pass, and a plain backward still gives it. */
    @Test
    void parameterPassLeavesInputGradientOut() {
        Graph g = graph();
        float[] x = rnd(new int[] {3 * 7 * 7}, 1).data();
        Fp32Engine.Trace t = Fp32Engine.forward(g, x, 1, null);
        ParameterGradients pg = new ParameterGradients();
        Fp32Engine.backwardToParameters(g, t, Map.of("y", new float[] {1, 0, 0, 0}), null, pg, null);
        assertEquals(List.of("fc", "c4", "c3", "g2", "dw", "c1"), List.copyOf(pg.nodes()));
        assertNull(pg.weight("nothing"));
    }
}
