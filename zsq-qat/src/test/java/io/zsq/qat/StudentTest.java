package io.zsq.qat;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.zsq.core.exec.Fp32Engine;
import io.zsq.core.exec.ParameterGradients;
import io.zsq.core.exec.Workspace;
import io.zsq.core.ir.Graph;
import io.zsq.core.ir.Node;
import io.zsq.core.ir.OpType;
import io.zsq.core.ir.Tensor;
import io.zsq.core.passes.LowerToInteger;
import io.zsq.core.quant.ChannelQParams;
import io.zsq.core.quant.FakeQuant;
import io.zsq.core.quant.QParams;
import io.zsq.core.quant.QuantPoints;
import io.zsq.core.quant.Quantization;
import io.zsq.core.quant.Scheme;
import io.zsq.runtime.IntModel;
import io.zsq.runtime.IntRunner;
import io.zsq.runtime.Layer;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.provider.ValueSource;
import org.junit.jupiter.params.ParameterizedTest;

/**
 * The Level-2 student: its parameter vector in the documented layout, its forward pass equal to the fake-quant
 * simulation of what it describes (bit for bit, at Level 1's vector and at a moved one), the integer model lowered
 * from a moved vector equal to that simulation, and its gradients against an independent LSQ / straight-through
 * implementation in double (Esser et al. 2020) on a real backward pass and on constructed values.
 *
 * <p>Convention pinned here, as Student documents it: a value counts as clipped when the clamp changes its rounded
 * level ({@code round(v) + zp} outside {@code [qmin, qmax]}); inside, {@code dv^/ds = round(v) - v} and the gradient
 * passes straight through; clipped, {@code dv^/ds} is the clipping level ({@code qmin - zp} or {@code qmax - zp}) and
 * the gradient to the value is zero. (The paper's formula compares {@code v} itself with the levels, which differs
 * only on the half level just outside them.)
 */
class StudentTest {
    static final Scheme W4A4 = Scheme.of(4, 4);

    /** The parameter vector's layout as Student's javadoc states it, derived here from the graph alone. */
    static final class Layout {
        /** CONV/DENSE node id -> {W offset, W length, B offset, step sizes offset, output channels}, graph order. */
        final Map<String, int[]> layers = new LinkedHashMap<>();
        /** Observed activation point (the graph input excepted) -> index of its step size. */
        final Map<String, Integer> points = new LinkedHashMap<>();
        /** Every tensor -> the observed point whose parameters it uses (itself, or its input's for pooling and flatten). */
        final Map<String, String> source = new LinkedHashMap<>();
        int size;

        Layout(Graph g) {
            int at = 0;
            for (Node n : g.nodes()) {
                if (n.op() == OpType.CONV || n.op() == OpType.DENSE) {
                    int len = n.param("W").data().length, outC = n.param("W").dim(0);
                    layers.put(n.id(), new int[] {at, len, at + len, at + len + outC, outC});
                    at += len + 2 * outC;
                }
            }
            List<String> observed = QuantPoints.of(g);
            for (String t : observed) {
                source.put(t, t);
                if (!t.equals(g.input())) {
                    points.put(t, at++);
                }
            }
            for (Node n : g.nodes()) {
                source.putIfAbsent(n.output(), source.get(n.inputs().get(0)));
            }
            size = at;
        }
    }

    private final Graph g = Nets.small(11);
    private final int n = 48;
    private final float[] calib = Nets.images(1, n, Nets.INPUT), x = Nets.images(2, n, Nets.INPUT);
    private final Quantization q = Nets.level1(g, W4A4, calib, n, 0.6);
    private final Student st = new Student(g, q);
    private final Layout lay = new Layout(g);

    /** Weights and biases moved by up to about a level, every step size by a factor around exp(+-0.25): a vector training could reach. */
    private float[] perturbed(long seed) {
        SplittableRandom r = new SplittableRandom(seed);
        float[] p = st.initial();
        for (int[] l : lay.layers.values()) {
            int per = l[1] / l[4];
            for (int i = 0; i < l[1]; i++) {
                p[l[0] + i] += (float) (0.7 * p[l[3] + i / per] * r.nextGaussian());
            }
            for (int c = 0; c < l[4]; c++) {
                p[l[2] + c] += (float) (0.05 * r.nextGaussian());
                p[l[3] + c] *= (float) Math.exp(0.25 * r.nextGaussian());
            }
        }
        for (int i : lay.points.values()) {
            p[i] *= (float) Math.exp(0.25 * r.nextGaussian());
        }
        return p;
    }

    @Test
    void theInitialVectorIsLevelOneInTheDocumentedLayout() {
        assertEquals(lay.size, st.size());
        float[] p = st.initial();
        boolean[] mask = st.stepSizeMask();
        boolean[] expectedMask = new boolean[lay.size];
        int withoutBias = 0;
        for (Node node : g.nodes()) {
            int[] l = lay.layers.get(node.id());
            if (l == null) {
                continue;
            }
            assertArrayEquals(node.param("W").data(), java.util.Arrays.copyOfRange(p, l[0], l[0] + l[1]), 0f, node.id() + " W");
            Tensor b = node.param("B");
            withoutBias += b == null ? 1 : 0;
            assertArrayEquals(b == null ? new float[l[4]] : b.data(), java.util.Arrays.copyOfRange(p, l[2], l[2] + l[4]), 0f,
                    node.id() + " B (zero where the layer has none)");
            assertArrayEquals(q.weights(node).scales(), java.util.Arrays.copyOfRange(p, l[3], l[3] + l[4]), 0f, node.id() + " step sizes");
            java.util.Arrays.fill(expectedMask, l[3], l[3] + l[4], true);
        }
        assertEquals(2, withoutBias, "the test net has two layers without a bias (c3, fc)");
        for (Map.Entry<String, Integer> e : lay.points.entrySet()) {
            assertEquals(q.tensor(e.getKey()).scale(), p[e.getValue()], 0f, e.getKey());
            expectedMask[e.getValue()] = true;
        }
        assertArrayEquals(expectedMask, mask);

        Quantization back = st.quantization(p);
        assertEquals(q.activations(), back.activations(), "Level 1's activation parameters, inherited ones included");
        assertEquals(q.scheme(), back.scheme());
        assertEquals(q.weights().keySet(), back.weights().keySet());
        q.weights().forEach((id, w) -> {
            ChannelQParams b = back.weights().get(id);
            assertArrayEquals(w.scales(), b.scales(), 0f, id);
            assertEquals(w.qmin(), b.qmin(), id);
            assertEquals(w.qmax(), b.qmax(), id);
        });
    }

    /** Every tensor of two traces, bit for bit. */
    private static void assertSameTrace(Graph g, Fp32Engine.Trace a, Fp32Engine.Trace b, String what) {
        assertEquals(a.values.keySet(), b.values.keySet(), what);
        for (String t : a.values.keySet()) {
            int d = Nets.firstDifference(a.get(t), b.get(t));
            assertEquals(-1, d, () -> what + ": tensor " + t + " differs at " + d + ": " + a.get(t)[d] + " vs " + b.get(t)[d]);
        }
    }

    @Test
    void theForwardPassIsTheFakeQuantSimulationOfWhatTheVectorDescribes() {
        // at Level 1's vector: FakeQuant of the original graph and Level 1's quantization, which knows nothing of Student
        float[] p0 = st.initial();
        Student.Pass pass0 = st.pass(p0);
        FakeQuant.Simulation l1 = FakeQuant.of(g, q);
        Fp32Engine.Trace s0 = Fp32Engine.forward(pass0.graph(), x, n, pass0.quantizer());
        assertSameTrace(g, Fp32Engine.forward(l1.graph(), x, n, l1.hook()), s0, "initial vector vs Level 1");
        assertArrayEquals(l1.run(x, n), s0.nchw(g, g.output()), 0f);

        // a moved vector: the simulation of the graph and quantization it describes
        float[] p1 = perturbed(5);
        Quantization q1 = st.quantization(p1);
        Graph g1 = st.fp32Graph(p1);
        for (Map.Entry<String, QParams> e : q1.activations().entrySet()) {
            String src = lay.source.get(e.getKey());
            float expected = src.equals(g.input()) ? q.tensor(src).scale() : p1[lay.points.get(src)];
            QParams l1q = q.tensor(e.getKey());
            assertEquals(new QParams(expected, l1q.zeroPoint(), l1q.qmin(), l1q.qmax()), e.getValue(), e.getKey() + " (from " + src + ")");
        }
        for (Node node : g1.nodes()) {
            int[] l = lay.layers.get(node.id());
            if (l != null) {
                assertArrayEquals(java.util.Arrays.copyOfRange(p1, l[0], l[0] + l[1]), node.param("W").data(), 0f);
                assertArrayEquals(java.util.Arrays.copyOfRange(p1, l[2], l[2] + l[4]), node.param("B").data(), 0f);
                assertArrayEquals(java.util.Arrays.copyOfRange(p1, l[3], l[3] + l[4]), q1.weights(node).scales(), 0f);
            }
        }
        Student.Pass pass1 = st.pass(p1);
        FakeQuant.Simulation sim1 = FakeQuant.of(g1, q1);
        Fp32Engine.Trace s1 = Fp32Engine.forward(pass1.graph(), x, n, pass1.quantizer());
        assertSameTrace(g, Fp32Engine.forward(sim1.graph(), x, n, sim1.hook()), s1, "moved vector");
        assertFalse(Nets.sameBits(s0.nchw(g, g.output()), s1.nchw(g, g.output())), "the move changes the output");
    }

    @Test
    void theIntegerModelLoweredFromAMovedVectorEqualsItsSimulation() {
        // the comparison of zsq-core's IntegerMatchesSimulationTest: every layer of the integer model, fed the
        // simulation's (quantized) inputs, equals the simulation up to float near-ties (at most 1 in 10,000, by one level)
        float[] p1 = perturbed(6);
        Graph g1 = st.fp32Graph(p1);
        Quantization q1 = st.quantization(p1);
        IntModel m = LowerToInteger.lower(g1, q1, Map.of());
        for (Map.Entry<String, Integer> e : lay.points.entrySet()) {
            QParams lowered = LowerToInteger.tensorQuantization(m, e.getKey());
            if (lowered != null) {
                assertEquals(p1[e.getValue()], lowered.scale(), 0f, "the integer model carries the learned step of " + e.getKey());
            }
        }
        FakeQuant.Simulation sim = FakeQuant.of(g1, q1);
        Fp32Engine.Trace t = Fp32Engine.forward(sim.graph(), x, n, sim.hook());
        Map<String, QParams> act = q1.activations();
        byte[][] in = FakeQuant.quantizeInput(x, n, act.get(g.input()));
        Map<String, float[]> simulated = new HashMap<>();
        for (Layer l : m.layers()) {
            simulated.put(l.output(), t.nchw(sim.graph(), l.output()));
        }
        Map<String, long[]> diff = new LinkedHashMap<>(); // tensor -> {elements, mismatches, largest difference in levels}
        long endToEnd = 0, outputs = 0;
        IntRunner runner = new IntRunner(m);
        float[] out = t.nchw(sim.graph(), g.output());
        QParams outQ = act.get(g.output());
        for (int i = 0; i < n; i++) {
            Map<String, byte[]> v = new HashMap<>();
            v.put(m.inputName(), in[i]);
            for (Layer l : m.layers()) {
                float[] s = simulated.get(l.output());
                QParams p = act.get(l.output());
                byte[] y = IntRunner.step(l, v);
                byte[] ys = new byte[y.length];
                long[] d = diff.computeIfAbsent(l.output(), k -> new long[3]);
                for (int j = 0; j < y.length; j++) {
                    ys[j] = (byte) p.quantize(s[i * y.length + j]);
                    int e = Math.abs(ys[j] - y[j]);
                    d[0]++;
                    d[1] += e > 0 ? 1 : 0;
                    d[2] = Math.max(d[2], e);
                }
                v.put(l.output(), ys);
            }
            // and the whole integer model on its own, its dequantized logits against the simulation's
            byte[] y = runner.run(in[i]);
            for (int j = 0; j < y.length; j++) {
                outputs++;
                endToEnd += outQ.dequantize(y[j]) == out[i * y.length + j] ? 0 : 1;
            }
        }
        assertEquals(m.layers().size(), diff.size());
        diff.forEach((tensor, d) -> assertTrue(d[1] <= d[0] / 10_000 && d[2] <= 1,
                tensor + ": " + d[1] + " of " + d[0] + " values differ, by up to " + d[2] + " levels"));
        assertTrue(endToEnd <= outputs / 100, endToEnd + " of " + outputs + " dequantized logits differ from the simulation's");
    }

    /** A quantizer that hands everything to another and keeps each backward call's tensor, dy, values and returned gradient. */
    static final class Recording implements Fp32Engine.Quantizer {
        record Call(String tensor, float[] dy, float[] raw, float[] dx) {}

        final Fp32Engine.Quantizer inner;
        final List<Call> calls = new ArrayList<>();

        Recording(Fp32Engine.Quantizer inner) {
            this.inner = inner;
        }

        @Override
        public float[] apply(String tensor, float[] values, int batch) {
            return inner.apply(tensor, values, batch);
        }

        @Override
        public float[] backward(String tensor, float[] dy, float[] raw, int batch) {
            float[] dy0 = dy.clone(), raw0 = raw.clone();
            float[] dx = inner.backward(tensor, dy, raw, batch);
            calls.add(new Call(tensor, dy0, raw0, dx.clone()));
            return dx;
        }
    }

    /** LSQ's dv^/ds for one value {@code v = x / s} of a grid with zero point {@code zp}, rounding {@code round}. */
    private static double lsq(double v, int zp, int qmin, int qmax, boolean ties2even) {
        double r = ties2even ? Math.rint(v) : Math.round(v);
        return r + zp < qmin ? qmin - zp : r + zp > qmax ? qmax - zp : r - v;
    }

    @Test
    void gradientsAreTheStraightThroughAndLsqOnesOfARealBackwardPass() {
        float[] p1 = perturbed(7);
        Student.Pass pass = st.pass(p1);
        Recording rec = new Recording(pass.quantizer());
        int batch = 6;
        float[] xb = java.util.Arrays.copyOf(x, batch * Tensor.size(Nets.INPUT));
        Fp32Engine.Trace t = Fp32Engine.forward(pass.graph(), xb, batch, rec);
        float[] seed = Nets.rnd(new SplittableRandom(3), new int[] {batch * 5}, 1, 0).data();
        ParameterGradients pg = new ParameterGradients();
        Fp32Engine.backwardToParameters(pass.graph(), t, Map.of(g.output(), seed), rec, pg, new Workspace());
        float[] into = new float[st.size()];
        java.util.Arrays.fill(into, 0.5f); // gradient() adds
        pass.gradient(pg, into);

        // weights, biases and weight step sizes, from the engine's dL/dW^ and dL/dB^ of the fake-quantized layers
        int clipped = 0, inside = 0;
        for (Node node : g.nodes()) {
            int[] l = lay.layers.get(node.id());
            if (l == null) {
                continue;
            }
            float[] gw = pg.weight(node.id()), gb = pg.bias(node.id());
            assertNotNull(gw, node.id());
            ChannelQParams wq = q.weights(node); // Level 1's grid; the step sizes are the vector's
            int per = l[1] / l[4];
            for (int c = 0; c < l[4]; c++) {
                double s = p1[l[3] + c], ds = 0, mag = 0;
                for (int i = c * per; i < (c + 1) * per; i++) {
                    double v = p1[l[0] + i] / s, r = Math.rint(v);
                    boolean in = r >= wq.qmin() && r <= wq.qmax();
                    clipped += in ? 0 : 1;
                    inside += in ? 1 : 0;
                    assertEquals(0.5f + (in ? gw[i] : 0f), into[l[0] + i], 0f, node.id() + " dW[" + i + "] (straight through, zero when clipped)");
                    double d = lsq(v, 0, wq.qmin(), wq.qmax(), true);
                    ds += gw[i] * d;
                    mag += Math.abs(gw[i] * d);
                }
                double expected = ds / Math.sqrt((double) per * wq.qmax());
                assertEquals(0.5 + expected, into[l[3] + c], 1e-5 * mag / Math.sqrt((double) per * wq.qmax()) + 1e-7,
                        node.id() + " step size of channel " + c);
                assertEquals(0.5f + gb[c], into[l[2] + c], 0f, node.id() + " dB[" + c + "]");
            }
        }
        assertTrue(clipped > 0 && inside > clipped, "the moved vector clips some weights: " + clipped + " clipped, " + inside + " inside");

        // activation step sizes: every quantizer the backward pass went through, summed per learned point
        double[] ds = new double[st.size()], mag = new double[st.size()];
        int clippedActs = 0;
        java.util.Set<String> seen = new java.util.HashSet<>();
        for (Recording.Call c : rec.calls) {
            seen.add(c.tensor());
            String src = lay.source.get(c.tensor());
            QParams l1 = q.tensor(c.tensor());
            double s = src.equals(g.input()) ? l1.scale() : p1[lay.points.get(src)];
            int zp = l1.zeroPoint();
            double norm = Math.sqrt((double) Tensor.size(g.shape(src)) * Math.max(1, l1.qmax() - zp));
            for (int i = 0; i < c.dy().length; i++) {
                double v = c.raw()[i] / s;
                long k = Math.round(v) + zp;
                boolean clip = k < l1.qmin() || k > l1.qmax();
                clippedActs += clip ? 1 : 0;
                assertEquals(clip ? 0f : c.dy()[i], c.dx()[i], 0f, c.tensor() + "[" + i + "]: dL/dx is dy inside, 0 where clipped");
                if (!src.equals(g.input())) {
                    double d = lsq(v, zp, l1.qmin(), l1.qmax(), false);
                    ds[lay.points.get(src)] += c.dy()[i] * d / norm;
                    mag[lay.points.get(src)] += Math.abs(c.dy()[i] * d) / norm;
                }
            }
        }
        assertTrue(clippedActs > 0, "shrunk ranges clip some activations");
        for (String point : lay.points.keySet()) {
            assertTrue(seen.contains(point), "the backward pass went through the quantizer of " + point);
        }
        for (Map.Entry<String, Integer> e : lay.points.entrySet()) {
            int i = e.getValue();
            assertEquals(0.5 + ds[i], into[i], 1e-5 * mag[i] + 1e-7, "step size of " + e.getKey());
        }
    }

    @ParameterizedTest(name = "pact {0}")
    @ValueSource(booleans = {false, true})
    void theActivationQuantizerPassesTheGradientInsideAndLearnsItsStepOnConstructedValues(boolean pact) {
        Student st = pact ? new Student(this.st.graph, this.st.init, true) : this.st;
        float[] p1 = perturbed(8);
        // a point after a ReLU (zero point at qmin) and the logits (signed, zero point inside the grid)
        String relu = g.nodes().get(0).output(), logits = g.output();
        for (String tensor : List.of(relu, logits)) {
            Student.Pass pass = st.pass(p1);
            QParams a = st.quantization(p1).tensor(tensor);
            assertEquals(p1[lay.points.get(tensor)], a.scale(), 0f);
            int zp = a.zeroPoint(), features = Tensor.size(g.shape(tensor));
            SplittableRandom r = new SplittableRandom(tensor.hashCode());
            double[] offsets = {-0.45, -0.3, -0.1, 0, 0.1, 0.3, 0.45};
            List<Float> raws = new ArrayList<>();
            List<Boolean> clip = new ArrayList<>();
            for (int level = a.qmin() - 3; level <= a.qmax() + 3; level++) {
                for (double o : offsets) {
                    raws.add((float) (a.scale() * (level - zp + o)));
                    clip.add(level < a.qmin() || level > a.qmax()); // rounds to level: clipped exactly when the level is off the grid
                }
            }
            int m = raws.size();
            float[] raw = new float[m], dy = new float[m];
            for (int i = 0; i < m; i++) {
                raw[i] = raws.get(i);
                dy[i] = (float) (r.nextDouble() + 0.5) * (r.nextBoolean() ? 1 : -1);
            }
            float[] dx = pass.quantizer().backward(tensor, dy.clone(), raw, 1);
            double expected = 0;
            for (int i = 0; i < m; i++) {
                assertEquals(clip.get(i) ? 0f : dy[i], dx[i], 0f, tensor + " value " + raw[i] + " (clipped: " + clip.get(i) + ")");
                double v = raw[i] / (double) a.scale(), level = Math.round(v) + zp;
                // LSQ: the rounding error inside, the clipping level outside; PACT: the clipping level from clipped values only
                double d = level < a.qmin() ? a.qmin() - zp : level > a.qmax() ? a.qmax() - zp : pact ? 0 : Math.round(v) - v;
                expected += dy[i] * d;
            }
            if (!pact) {
                expected /= Math.sqrt((double) features * Math.max(1, a.qmax() - zp)); // LSQ's gradient scale
            }
            float[] into = new float[st.size()];
            pass.gradient(new ParameterGradients(), into);
            for (int i = 0; i < into.length; i++) {
                if (i == lay.points.get(tensor)) {
                    assertEquals(expected, into[i], 1e-6 * Math.abs(expected) + 1e-9, "step size of " + tensor);
                } else {
                    assertEquals(0f, into[i], 0f, "only " + tensor + "'s step size has a gradient (entry " + i + ")");
                }
            }
            assertTrue(Math.abs(expected) > 1e-3, "the constructed values give the step size a gradient");
        }
        // a tensor that inherits its input's parameters (the max pool's output) trains its source's step size
        String pooled = g.nodes().stream().filter(nd -> nd.op() == OpType.MAX_POOL).findFirst().orElseThrow().output();
        String src = lay.source.get(pooled);
        assertFalse(pooled.equals(src));
        Student.Pass pass = st.pass(p1);
        QParams a = st.quantization(p1).tensor(pooled);
        float[] raw = {a.scale() * (a.qmax() - a.zeroPoint() + 2.2f), a.scale() * 1.3f};
        float[] dx = pass.quantizer().backward(pooled, new float[] {1f, 1f}, raw, 1);
        assertArrayEquals(new float[] {0f, 1f}, dx, 0f);
        float[] into = new float[st.size()];
        pass.gradient(new ParameterGradients(), into);
        double expected = pact ? a.qmax() - a.zeroPoint()
                : ((a.qmax() - a.zeroPoint()) + (Math.round(raw[1] / (double) a.scale()) - raw[1] / (double) a.scale()))
                        / Math.sqrt((double) Tensor.size(g.shape(src)) * (a.qmax() - a.zeroPoint()));
        assertEquals(expected, into[lay.points.get(src)], 1e-6 * Math.abs(expected), pooled + " -> " + src);
    }
}
