package io.zsq.core.exec;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.zsq.core.ir.Graph;
import io.zsq.core.ir.Node;
import io.zsq.core.ir.OpType;
import io.zsq.core.ir.Tensor;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;

/**
 * {@link MulOp} (MUL and a broadcasting ADD), {@link ActivationOp} and {@link ConcatOp} in the engine: forward against NCHW
 * definitions over random (broadcast) geometry, and the engine's input gradient of a scalar loss
 * against central finite differences, for graphs where one tensor reaches an op along two paths
 * (so the gradients to both inputs of a MUL and to every input of a CONCAT are summed).
 */
class MulLutConcatEngineTest {
    private final SplittableRandom r = new SplittableRandom(51);

    private float[] gaussian(int n, double scale) {
        float[] x = new float[n];
        for (int i = 0; i < n; i++) {
            x[i] = (float) (scale * r.nextGaussian());
        }
        return x;
    }

    /** A slice of x to size 1 on some axes (the gate), so MUL(x, gate) or MUL(gate, x) broadcasts. */
    private List<Node> mulGraph(int[] in, boolean[] ones, boolean gateFirst) {
        int[] ends = new int[3];
        for (int a = 0; a < 3; a++) {
            ends[a] = ones[a] ? 1 : in[a];
        }
        Node gate = new Node("s", OpType.SLICE, List.of("x"), "g", Map.of("starts", new int[3], "ends", ends, "steps", new int[] {1, 1, 1}),
                Map.of(), Map.of());
        Node mul = new Node("m", OpType.MUL, gateFirst ? List.of("g", "x") : List.of("x", "g"), "y", Map.of(), Map.of(), Map.of());
        return List.of(gate, mul);
    }

    @Test
    void mulBroadcastsLikeNumpy() {
        for (int t = 0; t < 200; t++) {
            int[] in = {r.nextInt(1, 6), r.nextInt(1, 7), r.nextInt(1, 7)};
            boolean[] ones = {r.nextBoolean(), r.nextBoolean(), r.nextBoolean()};
            int batch = r.nextInt(1, 3);
            Graph g = Graph.of("x", in, "y", mulGraph(in, ones, t % 2 == 0), Set.of(), Map.of());
            assertArrayEquals(in, g.shape("y"));
            float[] x = gaussian(batch * Tensor.size(in), 1);
            float[] y = Fp32Engine.run(g, x, batch), ref = new float[y.length], sum = new float[y.length];
            int i = 0;
            for (int n = 0; n < batch; n++) {
                for (int c = 0; c < in[0]; c++) {
                    for (int h = 0; h < in[1]; h++) {
                        for (int w = 0; w < in[2]; w++, i++) {
                            float gv = x[((n * in[0] + (ones[0] ? 0 : c)) * in[1] + (ones[1] ? 0 : h)) * in[2] + (ones[2] ? 0 : w)];
                            ref[i] = x[i] * gv;
                            sum[i] = t % 2 == 0 ? gv + x[i] : x[i] + gv;
                        }
                    }
                }
            }
            assertArrayEquals(ref, y, "case " + t);
            // the same geometry as an ADD
            List<Node> add = List.of(mulGraph(in, ones, t % 2 == 0).get(0), new Node("a", OpType.ADD, t % 2 == 0 ? List.of("g", "x")
                    : List.of("x", "g"), "y", Map.of(), Map.of(), Map.of()));
            float[] ya = Fp32Engine.run(Graph.of("x", in, "y", add, Set.of(), Map.of()), x, batch);
            assertArrayEquals(sum, ya, "add case " + t);
            List<Node> sub = List.of(add.get(0), new Node("d", OpType.SUB, add.get(1).inputs(), "y", Map.of(), Map.of(), Map.of()));
            float[] yd = Fp32Engine.run(Graph.of("x", in, "y", sub, Set.of(), Map.of()), x, batch);
            float[] diff = new float[y.length];
            int k = 0;
            for (int nn = 0; nn < batch; nn++) {
                for (int c = 0; c < in[0]; c++) {
                    for (int h = 0; h < in[1]; h++) {
                        for (int w = 0; w < in[2]; w++, k++) {
                            float gv = x[((nn * in[0] + (ones[0] ? 0 : c)) * in[1] + (ones[1] ? 0 : h)) * in[2] + (ones[2] ? 0 : w)];
                            diff[k] = t % 2 == 0 ? gv - x[k] : x[k] - gv;
                        }
                    }
                }
            }
            assertArrayEquals(diff, yd, "sub case " + t);
        }
        Node bad = new Node("m", OpType.MUL, List.of("x", "g"), "y", Map.of(), Map.of(), Map.of());
        Node gap = new Node("p", OpType.MAX_POOL, List.of("x"), "g", Map.of("kernel", new int[] {2, 1}, "strides", new int[] {2, 1}), Map.of(), Map.of());
        assertTrue(assertThrows(IllegalArgumentException.class, () -> Graph.of("x", new int[] {2, 6, 3}, "y", List.of(gap, bad), Set.of(), Map.of()))
                .getMessage().contains("broadcast"));
    }

    @Test
    void concatStacksChannelsInOrder() {
        for (int t = 0; t < 100; t++) {
            int[] in = {r.nextInt(2, 7), r.nextInt(1, 6), r.nextInt(1, 6)};
            int batch = r.nextInt(1, 3);
            int cut = r.nextInt(1, in[0]);
            // x[:cut], x, x[cut:] concatenated
            Node lo = new Node("lo", OpType.SLICE, List.of("x"), "lo", Map.of("starts", new int[3], "ends", new int[] {cut, in[1], in[2]},
                    "steps", new int[] {1, 1, 1}), Map.of(), Map.of());
            Node hi = new Node("hi", OpType.SLICE, List.of("x"), "hi", Map.of("starts", new int[] {cut, 0, 0}, "ends", in,
                    "steps", new int[] {1, 1, 1}), Map.of(), Map.of());
            Node cat = new Node("c", OpType.CONCAT, List.of("lo", "x", "hi"), "y", Map.of(), Map.of(), Map.of());
            Graph g = Graph.of("x", in, "y", List.of(lo, hi, cat), Set.of(), Map.of());
            assertArrayEquals(new int[] {2 * in[0], in[1], in[2]}, g.shape("y"));
            float[] x = gaussian(batch * Tensor.size(in), 1);
            float[] y = Fp32Engine.run(g, x, batch);
            int plane = in[1] * in[2], per = Tensor.size(in);
            for (int n = 0; n < batch; n++) {
                for (int c = 0; c < 2 * in[0]; c++) {
                    int src = c < cut ? c : c < cut + in[0] ? c - cut : c - in[0];
                    for (int p = 0; p < plane; p++) {
                        assertEquals(x[n * per + src * plane + p], y[(n * 2 * in[0] + c) * plane + p], "case " + t);
                    }
                }
            }
        }
    }

    @Test
    void activationsMatchTheirDefinitions() {
        Node sig = new Node("a", OpType.SIGMOID, List.of("x"), "y", Map.of(), Map.of(), Map.of());
        Node hs = new Node("a", OpType.HARD_SIGMOID, List.of("x"), "y", Map.of(), Map.of("alpha", 0.2f, "beta", 0.5f), Map.of());
        Node hw = new Node("a", OpType.HARD_SWISH, List.of("x"), "y", Map.of(), Map.of(), Map.of());
        for (float x : new float[] {-10f, -3f, -2.5f, -1f, 0f, 0.5f, 2.5f, 3f, 7f}) {
            assertEquals(1 / (1 + Math.exp(-x)), ActivationOp.f(sig, x), 1e-7);
            assertEquals(Math.max(0, Math.min(1, 0.2 * x + 0.5)), ActivationOp.f(hs, x), 1e-7);
            assertEquals(x * Math.max(0, Math.min(1, x / 6.0 + 0.5)), ActivationOp.f(hw, x), 1e-6);
        }
        // derivatives against central differences away from the kinks
        for (Node n : List.of(sig, hs, hw)) {
            for (int t = 0; t < 200; t++) {
                float x = (float) (4 * r.nextGaussian());
                if (Math.abs(Math.abs(x) - 3) < 0.02 || Math.abs(Math.abs(x) - 2.5) < 0.02) {
                    continue;
                }
                double h = 1e-3;
                double fd = (ActivationOp.f(n, (float) (x + h)) - ActivationOp.f(n, (float) (x - h))) / (2 * h);
                assertEquals(fd, ActivationOp.df(n, x), 2e-3, n.op() + " at " + x);
            }
        }
    }

    /**
     * conv -> {sigmoid gate by GAP, hard-sigmoid, hard-swish} -> MUL (broadcast and same shape) ->
     * CONCAT (an input used twice) -> conv: the input gradient of L = sum c y^2 / 2 against central differences.
     */
    @Test
    void networkInputGradientMatchesFiniteDifferences() {
        int[] in = {3, 6, 6};
        List<Node> nodes = new ArrayList<>();
        nodes.add(conv("c0", "x", "a", 3, 6, 3));
        nodes.add(new Node("gap", OpType.GLOBAL_AVG_POOL, List.of("a"), "p", Map.of(), Map.of(), Map.of()));
        nodes.add(conv("c1", "p", "q", 6, 6, 1));
        nodes.add(new Node("hs", OpType.HARD_SIGMOID, List.of("q"), "s", Map.of(), Map.of("alpha", 1f / 6f, "beta", 0.5f), Map.of()));
        nodes.add(new Node("m1", OpType.MUL, List.of("a", "s"), "m", Map.of(), Map.of(), Map.of()));
        nodes.add(new Node("sig", OpType.SIGMOID, List.of("a"), "sg", Map.of(), Map.of(), Map.of()));
        nodes.add(new Node("hw", OpType.HARD_SWISH, List.of("m"), "w", Map.of(), Map.of(), Map.of()));
        nodes.add(new Node("m2", OpType.MUL, List.of("sg", "w"), "v", Map.of(), Map.of(), Map.of()));
        nodes.add(new Node("ab", OpType.ADD, List.of("q", "v"), "vq", Map.of(), Map.of(), Map.of())); // [6,1,1] + [6,6,6]
        nodes.add(new Node("sb", OpType.SUB, List.of("a", "q"), "aq", Map.of(), Map.of(), Map.of())); // [6,6,6] - [6,1,1]
        nodes.add(new Node("cat", OpType.CONCAT, List.of("m", "vq", "aq"), "k", Map.of(), Map.of(), Map.of()));
        nodes.add(conv("c2", "k", "y", 18, 4, 3));
        Graph g = Graph.of("x", in, "y", nodes, Set.of(), Map.of());
        int batch = 2;
        float[] x = gaussian(batch * Tensor.size(in), 1);
        float[] c = gaussian(batch * Tensor.size(g.shape("y")), 1);
        Fp32Engine.Trace t = Fp32Engine.forward(g, x, batch, null);
        float[] y = t.get("y"), seed = new float[y.length];
        float[] cn = io.zsq.core.exec.Ops.reorder(c, batch, g.shape("y"), false); // c in the trace's NHWC order
        for (int i = 0; i < y.length; i++) {
            seed[i] = cn[i] * y[i];
        }
        float[] grad = Fp32Engine.backward(g, t, Map.of("y", seed));
        double h = 1e-2;
        for (int trial = 0; trial < 6; trial++) {
            float[] d = gaussian(x.length, 1);
            DirectionalDerivative.check(grad, d, step -> loss(g, x, d, step, batch, c), h, 0.02, 1e-3, "directional derivative, trial " + trial);
        }
    }

    private Node conv(String id, String in, String out, int cin, int cout, int k) {
        return new Node(id, OpType.CONV, List.of(in), out, Map.of("strides", new int[] {1, 1}, "pads", new int[] {k / 2, k / 2, k / 2, k / 2},
                "group", new int[] {1}), Map.of(), Map.of("W", new Tensor(new int[] {cout, cin, k, k},
                gaussian(cout * cin * k * k, 1.0 / Math.sqrt(cin * k * k))), "B", new Tensor(new int[] {cout}, gaussian(cout, 0.3))));
    }

    private static double loss(Graph g, float[] x, float[] d, double h, int batch, float[] c) {
        float[] xp = x.clone();
        for (int i = 0; i < xp.length; i++) {
            xp[i] += (float) (h * d[i]);
        }
        float[] y = Fp32Engine.run(g, xp, batch); // NCHW, the order of c
        double l = 0;
        for (int i = 0; i < y.length; i++) {
            l += 0.5 * c[i] * y[i] * y[i];
        }
        return l;
    }
}
