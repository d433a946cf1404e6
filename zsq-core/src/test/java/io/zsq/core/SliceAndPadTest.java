package io.zsq.core;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.onnxruntime.OnnxTensor;
import ai.onnxruntime.OrtEnvironment;
import ai.onnxruntime.OrtSession;
import io.zsq.core.exec.Fp32Engine;
import io.zsq.core.export.OnnxExport;
import io.zsq.core.ir.Graph;
import io.zsq.core.passes.Canonicalize;
import io.zsq.core.passes.Dfq;
import io.zsq.core.passes.LowerToInteger;
import io.zsq.core.quant.FakeQuant;
import io.zsq.core.quant.QParams;
import io.zsq.core.quant.QuantPoints;
import io.zsq.core.quant.Scheme;
import io.zsq.runtime.IntModel;
import io.zsq.runtime.IntRunner;
import io.zsq.runtime.Layer;
import java.nio.FloatBuffer;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

/**
 * SLICE and PAD through zsq on {@link SliceAndPadNet} (a CIFAR ResNet's option-A shortcut and more):
 * the FP32 engine against ONNX Runtime on the same network; quantization parameters inherited; the
 * canonical passes leaving them alone; the lowered integer model against the fake-quant simulation on
 * every activation; both ONNX exports in ONNX Runtime against zsq-runtime.
 */
class SliceAndPadTest {
    static final int N = 64;

    @Test
    void fp32MatchesOnnxRuntime() throws Exception {
        SliceAndPadNet net = SliceAndPadNet.build(31, true);
        Graph g = net.graph();
        Graph canonical = Canonicalize.run(g, null);
        float[] x = SliceAndPadNet.input(1, N);
        float[][] ort = ort(net.onnxModel(), x, N);
        float[] ours = Fp32Engine.run(g, x, N), folded = Fp32Engine.run(canonical, x, N);
        double worst = OnnxRuntimeParityTest.worstRelDiff(ours, ort), worstFolded = OnnxRuntimeParityTest.worstRelDiff(folded, ort);
        assertTrue(worst <= 1e-4 && worstFolded <= 1e-4, "relative difference to ONNX Runtime " + worst + " / folded " + worstFolded);
        assertTrue(Math.abs(ort[0][0]) > 1e-3, "a network whose logits are not all zero: " + ort[0][0]);
    }

    @Test
    void sliceAndPadKeepTheirInputsQuantizationAndZeroIsTheFill() {
        Graph g = Canonicalize.run(SliceAndPadNet.build(32, true).graph(), null);
        Scheme scheme = Scheme.of(8, 8);
        Map<String, QParams> points = Fixtures.minMaxPoints(g, scheme, SliceAndPadNet.input(2, 16), 16, 1);
        List<String> observed = QuantPoints.of(g);
        for (String t : List.of("sl1", "pd1", "sl2", "pd2")) {
            assertFalse(observed.contains(t), t + " is no quantization point");
        }
        Map<String, QParams> all = QuantPoints.propagate(g, points);
        assertEquals(all.get("a0"), all.get("sl1"));
        assertEquals(all.get("a0"), all.get("pd1"));
        assertEquals(all.get("a3"), all.get("sl2"));
        assertEquals(all.get("a3"), all.get("pd2"));
        assertEquals(0f, all.get("pd2").dequantize(all.get("pd2").zeroPoint()));
        assertEquals(all.get("pd2").zeroPoint(), all.get("pd2").quantize(0f));
        IntModel m = LowerToInteger.lower(g, points, scheme, Map.of());
        Map<String, Layer> byOutput = new HashMap<>();
        m.layers().forEach(l -> byOutput.put(l.output(), l));
        Layer.Slice s2 = assertInstanceOf(Layer.Slice.class, byOutput.get("sl2"));
        assertEquals(List.of(1, 1, 0, 2, 1, 3), List.of(s2.starts()[0], s2.starts()[1], s2.starts()[2], s2.steps()[0], s2.steps()[1],
                s2.steps()[2]), "normalized starts and steps");
        assertEquals(List.of(4, 6, 3), List.of(s2.outShape()[0], s2.outShape()[1], s2.outShape()[2]));
        Layer.Pad p2 = assertInstanceOf(Layer.Pad.class, byOutput.get("pd2"));
        assertEquals(all.get("a3").zeroPoint(), p2.fill());
        assertEquals(List.of(1, 1, 0), List.of(p2.begin()[0], p2.begin()[1], p2.begin()[2]));
    }

    /** Equalization pairs no layers across a slice or pad; analytical means stop at them (padded channels have mean 0). */
    @Test
    void canonicalPassesDoNotLookThroughSliceOrPad() {
        Graph g = Canonicalize.run(SliceAndPadNet.build(33, true).graph(), null);
        Dfq.Transformed<Dfq.EqualizationReport> eq = Dfq.equalize(g);
        List<String> pairs = eq.report().scales().stream().map(p -> p.first() + "->" + p.second()).toList();
        assertEquals(List.of("c1->c2"), pairs, "c3 -> slice -> pad -> c4 is no equalization pair");
        Map<String, float[]> means = Dfq.analyticalMeans(g);
        assertNotNull(means.get("a3"), "c3's output mean from its BatchNorm");
        for (String t : List.of("sl1", "pd1", "sl2", "pd2")) {
            assertFalse(means.containsKey(t), "no analytical mean propagated to " + t);
        }
        Dfq.Transformed<Dfq.BiasCorrectionReport> bc = Dfq.correctBias(g, Scheme.of(4, 8), means, "analytical");
        assertFalse(bc.report().correction().containsKey("c4"), "c4 reads the padded tensor: not corrected from c3's statistics");
        assertTrue(bc.report().correction().containsKey("c3") || bc.report().correction().containsKey("c1"), bc.report().correction().keySet().toString());
        Dfq.Transformed<Dfq.HighBiasReport> hb = Dfq.absorbHighBias(eq.graph());
        assertFalse(hb.report().absorbed().containsKey("c3"), "no bias moved from c3 across the slice and pad");
        // the transformed graphs still run
        float[] x = SliceAndPadNet.input(3, 4);
        Fp32Engine.run(eq.graph(), x, 4);
        Fp32Engine.run(bc.graph(), x, 4);
    }

    /** Every activation of the integer model equals the simulation's (up to float near-ties), each layer fed the simulation's inputs. */
    @ParameterizedTest(name = "W{0}A{0}")
    @CsvSource({"8", "4"})
    void integerModelMatchesTheSimulation(int bits) {
        Graph g = Canonicalize.run(SliceAndPadNet.build(34, true).graph(), null);
        Scheme scheme = Scheme.of(bits, bits);
        Map<String, QParams> points = Fixtures.minMaxPoints(g, scheme, SliceAndPadNet.input(4, N), N, 0.6);
        IntModel m = LowerToInteger.lower(g, points, scheme, Map.of());
        assertTrue(m.layers().stream().filter(l -> l instanceof Layer.Slice).count() == 2
                && m.layers().stream().filter(l -> l instanceof Layer.Pad).count() == 2, m.layers().toString());
        FakeQuant.Simulation sim = FakeQuant.of(g, points, scheme);
        float[] eval = SliceAndPadNet.input(5, N);
        Fp32Engine.Trace st = Fp32Engine.forward(sim.graph(), eval, N, sim.hook());
        Map<String, QParams> act = QuantPoints.propagate(g, points);
        byte[][] q = FakeQuant.quantizeInput(eval, N, act.get(g.input()));
        Map<String, float[]> simulated = new HashMap<>();
        for (Layer l : m.layers()) {
            simulated.put(l.output(), st.nchw(sim.graph(), l.output()));
        }
        Map<String, long[]> diff = new java.util.LinkedHashMap<>(); // elements, mismatches, largest difference in levels
        for (int i = 0; i < N; i++) {
            Map<String, byte[]> v = new HashMap<>();
            v.put(m.inputName(), q[i]);
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
        }
        for (String t : List.of("sl1", "pd1", "sl2", "pd2")) {
            assertEquals(0, diff.get(t)[1], t + ": data movement is exact");
        }
        diff.forEach((tensor, d) -> assertTrue(d[1] <= d[0] / 10_000 && d[2] <= 1,
                "W" + bits + " " + tensor + ": " + d[1] + " of " + d[0] + " values differ, by up to " + d[2] + " levels"));
    }

    /** Both exports in ONNX Runtime against zsq-runtime on random inputs: the same argmax everywhere, every output within one step. */
    @ParameterizedTest(name = "W{0}A{0} {1}")
    @CsvSource({"8, QOPERATOR", "8, QDQ", "4, QOPERATOR", "4, QDQ"})
    void exportsAgreeWithTheIntegerRuntime(int bits, OnnxExport.Form form) throws Exception {
        Graph g = Canonicalize.run(SliceAndPadNet.build(35, true).graph(), null);
        Scheme scheme = Scheme.of(bits, bits);
        Map<String, QParams> points = Fixtures.minMaxPoints(g, scheme, SliceAndPadNet.input(6, N), N, bits < 8 ? 0.6 : 1);
        IntModel m = LowerToInteger.lower(g, points, scheme, Map.of("zsq.version", "test"));
        byte[] file = OnnxExport.export(m, form);
        java.util.Set<String> ops = new java.util.TreeSet<>();
        onnx.Onnx.ModelProto.parseFrom(file).getGraph().getNodeList().forEach(n -> ops.add(n.getOpType()));
        assertTrue(ops.containsAll(List.of("Slice", "Pad")), ops.toString());
        int n = 200;
        float[] x = SliceAndPadNet.input(7, n);
        float[][] ort = ort(file, x, n);
        QParams qo = LowerToInteger.tensorQuantization(m, m.outputName());
        byte[][] q = FakeQuant.quantizeInput(x, n, points.get(g.input()));
        IntRunner runner = new IntRunner(m);
        ExportAgreement e = new ExportAgreement();
        for (int i = 0; i < n; i++) {
            e.add(ort[i], runner.run(q[i]), qo);
        }
        assertEquals(n, e.agree, "argmax agreement; largest difference " + e.worst + " steps");
        assertEquals(e.values, e.within, "outputs within one step; largest " + e.worst);
    }

    static float[][] ort(byte[] model, float[] x, int n) throws Exception {
        OrtEnvironment env = OrtEnvironment.getEnvironment();
        int[] in = SliceAndPadNet.INPUT;
        try (OrtSession s = env.createSession(model, new OrtSession.SessionOptions());
             OnnxTensor t = OnnxTensor.createTensor(env, FloatBuffer.wrap(x), new long[] {n, in[0], in[1], in[2]});
             OrtSession.Result r = s.run(Map.of(s.getInputNames().iterator().next(), t))) {
            return (float[][]) r.get(0).getValue();
        }
    }
}
