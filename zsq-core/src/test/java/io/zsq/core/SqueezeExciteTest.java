package io.zsq.core;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.onnxruntime.OnnxTensor;
import ai.onnxruntime.OrtEnvironment;
import ai.onnxruntime.OrtSession;
import io.zsq.core.exec.Fp32Engine;
import io.zsq.core.export.OnnxExport;
import io.zsq.core.imports.ModelImportException;
import io.zsq.core.imports.ModelImporter;
import io.zsq.core.ir.Graph;
import io.zsq.core.ir.Node;
import io.zsq.core.ir.OpType;
import io.zsq.core.passes.Canonicalize;
import io.zsq.core.passes.LowerToInteger;
import io.zsq.core.quant.FakeQuant;
import io.zsq.core.quant.QParams;
import io.zsq.core.quant.QuantPoints;
import io.zsq.core.quant.Scheme;
import io.zsq.runtime.IntModel;
import io.zsq.runtime.IntRunner;
import io.zsq.runtime.Layer;
import java.nio.FloatBuffer;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import onnx.Onnx;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

/**
 * MUL (broadcast and same-shape), SIGMOID / HARD_SIGMOID / HARD_SWISH, CONCAT and a broadcasting ADD through zsq on
 * {@link SqueezeExciteNet}, imported from ONNX: the FP32 engine against ONNX Runtime; the importer's
 * forms (a constant Mul folded into its convolution, activations' products and concatenations kept);
 * quantization points; the lowered integer model against the fake-quant simulation on every
 * activation (tables exactly); both ONNX exports in ONNX Runtime against zsq-runtime.
 */
class SqueezeExciteTest {
    static final int N = 64;

    @TempDir
    Path dir;

    Graph imported(long seed, boolean activations) throws Exception {
        Path f = dir.resolve("se" + seed + activations + ".onnx");
        Files.write(f, SqueezeExciteNet.build(seed, activations).onnxModel());
        return ModelImporter.load(f);
    }

    @Test
    void fp32MatchesOnnxRuntime() throws Exception {
        SqueezeExciteNet net = SqueezeExciteNet.build(71, true);
        Graph g = imported(71, true), canonical = Canonicalize.run(g, null);
        float[] x = SqueezeExciteNet.input(1, N);
        float[][] ort = ort(net.onnxModel(), x, N);
        float[] ours = Fp32Engine.run(g, x, N), folded = Fp32Engine.run(canonical, x, N);
        double worst = OnnxRuntimeParityTest.worstRelDiff(ours, ort), worstFolded = OnnxRuntimeParityTest.worstRelDiff(folded, ort);
        assertTrue(worst <= 1e-4 && worstFolded <= 1e-4, "relative difference to ONNX Runtime " + worst + " / folded " + worstFolded);
        assertTrue(Math.abs(ort[0][0]) > 1e-3, "a network whose logits are not all zero: " + ort[0][0]);
    }

    @Test
    void importedFormsAndQuantizationPoints() throws Exception {
        Graph g = imported(72, true);
        Map<OpType, Long> count = new HashMap<>();
        g.nodes().forEach(n -> count.merge(n.op(), 1L, Long::sum));
        assertEquals(3L, count.get(OpType.MUL), "the constant Mul is folded into c5: " + g.nodes());
        assertEquals(2L, count.get(OpType.SIGMOID));
        assertEquals(1L, count.get(OpType.HARD_SIGMOID));
        assertEquals(1L, count.get(OpType.HARD_SWISH));
        assertEquals(1L, count.get(OpType.CONCAT));
        Node hs = g.nodes().stream().filter(n -> n.op() == OpType.HARD_SIGMOID).findFirst().orElseThrow();
        assertEquals(0.2f, hs.f("alpha", 0f));
        assertEquals(List.of(8, 1, 1), List.of(g.shape("s")[0], g.shape("s")[1], g.shape("s")[2]));
        assertEquals(List.of(20, 8, 8), List.of(g.shape("cat")[0], g.shape("cat")[1], g.shape("cat")[2]));
        Graph c = Canonicalize.run(g, null);
        Node sq = c.nodes().stream().filter(n -> n.id().equals("sq")).findFirst().orElseThrow();
        assertTrue(sq.hasFusedActivation(), "the ReLU after sg * hw is fused into the product");
        assertTrue(c.nodes().stream().filter(n -> n.op() == OpType.CONCAT).findFirst().orElseThrow().hasFusedActivation(),
                "the ReLU after the concatenation is fused into it");
        List<String> points = QuantPoints.of(c);
        assertEquals(List.of(4, 8, 8), List.of(g.shape("hb")[0], g.shape("hb")[1], g.shape("hb")[2]), "[4,8,8] + [1,1,1]");
        assertEquals(1L, count.get(OpType.SUB));
        assertEquals(List.of(4, 1, 1), List.of(g.shape("g1")[0], g.shape("g1")[1], g.shape("g1")[2]), "ReduceMean over H, W kept as [4, 1, 1]");
        for (String t : List.of("m", "s", "sg", "hw", "t", "hwt", "hb", "hd", "sq", "cat")) {
            assertTrue(points.contains(t), t + " is a quantization point: " + points);
        }
    }

    @Test
    void unsupportedFormsAreRefusedNamingTheNode() throws Exception {
        // a Mul by a constant that is not one value per channel, and a concatenation along H
        SqueezeExciteNet net = SqueezeExciteNet.build(73, true);
        Onnx.GraphProto.Builder g = net.onnx.clone();
        for (int i = 0; i < g.getInitializerCount(); i++) {
            if (g.getInitializer(i).getName().equals("c5_k")) {
                g.setInitializer(i, SliceAndPadNet.floats("c5_k", new float[64], 1, 1, 8, 8));
            }
        }
        String msg = refused(g);
        assertTrue(msg.contains("node scale (Mul)") && msg.contains("one value or one per channel"), msg);
        Onnx.GraphProto.Builder h = net.onnx.clone();
        for (int i = 0; i < h.getNodeCount(); i++) {
            if (h.getNode(i).getName().equals("cat")) {
                h.setNode(i, h.getNode(i).toBuilder().setAttribute(0, Onnx.AttributeProto.newBuilder().setName("axis")
                        .setType(Onnx.AttributeProto.AttributeType.INT).setI(2)));
            }
        }
        msg = refused(h);
        assertTrue(msg.contains("node cat (Concat)") && msg.contains("axis 1"), msg);
        Onnx.GraphProto.Builder w = net.onnx.clone();
        for (int i = 0; i < w.getNodeCount(); i++) {
            if (w.getNode(i).getName().equals("gap1")) {
                w.setNode(i, w.getNode(i).toBuilder().setAttribute(0, SliceAndPadNet.ints("axes", 1, 2, 3)));
            }
        }
        msg = refused(w);
        assertTrue(msg.contains("node gap1 (ReduceMean)") && msg.contains("axes 2 and 3"), msg);
    }

    private String refused(Onnx.GraphProto.Builder g) throws Exception {
        Path f = dir.resolve("bad" + System.nanoTime() + ".onnx");
        Files.write(f, Onnx.ModelProto.newBuilder().setIrVersion(7).setGraph(g)
                .addOpsetImport(Onnx.OperatorSetIdProto.newBuilder().setDomain("").setVersion(14)).build().toByteArray());
        return assertThrows(ModelImportException.class, () -> ModelImporter.load(f)).getMessage();
    }

    /** Every activation of the integer model equals the simulation's (tables exactly), each layer fed the simulation's inputs. */
    @ParameterizedTest(name = "W{0}A{0}")
    @CsvSource({"8", "4"})
    void integerModelMatchesTheSimulation(int bits) throws Exception {
        Graph g = Canonicalize.run(imported(74, true), null);
        Scheme scheme = Scheme.of(bits, bits);
        Map<String, QParams> points = Fixtures.minMaxPoints(g, scheme, SqueezeExciteNet.input(4, N), N, bits < 8 ? 0.7 : 1);
        IntModel m = LowerToInteger.lower(g, points, scheme, Map.of());
        assertEquals(3, m.layers().stream().filter(l -> l instanceof Layer.Mul).count(), m.layers().toString());
        assertEquals(4, m.layers().stream().filter(l -> l instanceof Layer.Lut).count(), m.layers().toString());
        assertEquals(1, m.layers().stream().filter(l -> l instanceof Layer.Concat).count(), m.layers().toString());
        FakeQuant.Simulation sim = FakeQuant.of(g, points, scheme);
        float[] eval = SqueezeExciteNet.input(5, N);
        Fp32Engine.Trace st = Fp32Engine.forward(sim.graph(), eval, N, sim.hook());
        Map<String, QParams> act = QuantPoints.propagate(g, points);
        byte[][] q = FakeQuant.quantizeInput(eval, N, act.get(g.input()));
        Map<String, float[]> simulated = new HashMap<>();
        for (Layer l : m.layers()) {
            if (!(l instanceof Layer.Expand)) { // an expanded input is no tensor of the graph: data movement, checked by its add
                simulated.put(l.output(), st.nchw(sim.graph(), l.output()));
            }
        }
        assertEquals(1, m.layers().stream().filter(l -> l instanceof Layer.Expand).count(), "c6 expanded for hb");
        Map<String, long[]> diff = new java.util.LinkedHashMap<>(); // elements, mismatches, largest difference in levels
        for (int i = 0; i < N; i++) {
            Map<String, byte[]> v = new HashMap<>();
            v.put(m.inputName(), q[i]);
            for (Layer l : m.layers()) {
                float[] s = simulated.get(l.output());
                QParams p = act.get(l.output());
                byte[] y = IntRunner.step(l, v);
                if (s == null) {
                    v.put(l.output(), y);
                    continue;
                }
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
        for (Layer l : m.layers()) {
            if (l instanceof Layer.Lut) {
                assertEquals(0, diff.get(l.output())[1], l.output() + ": the table is the simulation on every level");
            }
        }
        // a mean the simulation sums in float can land on the other side of an exact tie: one such value allowed in a small tensor
        diff.forEach((tensor, d) -> assertTrue(d[1] <= Math.max(1, d[0] / 10_000) && d[2] <= 1,
                "W" + bits + " " + tensor + ": " + d[1] + " of " + d[0] + " values differ, by up to " + d[2] + " levels"));
    }

    /**
     * Both exports in ONNX Runtime against zsq-runtime on random inputs. Every layer, fed ONNX Runtime's
     * own int8 inputs, gives zsq-runtime's output within one step (the tables in the QOperator form
     * exactly: a Gather of the model's table); the argmax agrees everywhere. End to end the logits are
     * within one step for nearly all values, not all: a global average pool that ONNX Runtime rounds
     * one level apart (a pre-existing float-vs-dyadic difference) changes a squeeze-excite gate, and
     * the gate multiplies a whole channel, so such flips reach the logits as 2-3 steps.
     */
    @ParameterizedTest(name = "W{0}A{0} {1}")
    @CsvSource({"8, QOPERATOR", "8, QDQ", "4, QOPERATOR", "4, QDQ"})
    void exportsAgreeWithTheIntegerRuntime(int bits, OnnxExport.Form form) throws Exception {
        Graph g = Canonicalize.run(imported(75, true), null);
        Scheme scheme = Scheme.of(bits, bits);
        Map<String, QParams> points = Fixtures.minMaxPoints(g, scheme, SqueezeExciteNet.input(6, N), N, bits < 8 ? 0.7 : 1);
        IntModel m = LowerToInteger.lower(g, points, scheme, Map.of("zsq.version", "test"));
        Onnx.ModelProto.Builder model = Onnx.ModelProto.parseFrom(OnnxExport.export(m, form)).toBuilder();
        java.util.Set<String> ops = new java.util.TreeSet<>();
        model.getGraph().getNodeList().forEach(n -> ops.add(n.getOpType()));
        assertTrue(ops.containsAll(form == OnnxExport.Form.QOPERATOR ? List.of("QLinearMul", "QLinearConcat", "Gather", "Expand", "Sub")
                : List.of("Mul", "Concat", "Sigmoid", "HardSigmoid", "Expand", "Sub")), ops.toString());
        // every layer's int8 output as an extra graph output (reshapes aside: their int8 tensor is renamed in the QDQ form)
        List<Layer> checked = new java.util.ArrayList<>();
        java.util.Set<String> reshaped = new java.util.HashSet<>();
        for (Layer l : m.layers()) {
            if (l instanceof Layer.Reshape) {
                reshaped.add(l.output());
            } else if (java.util.Arrays.stream(l.inputs()).noneMatch(reshaped::contains)) {
                checked.add(l);
                model.getGraphBuilder().addOutput(Onnx.ValueInfoProto.newBuilder().setName(l.output()).setType(Onnx.TypeProto.newBuilder()
                        .setTensorType(Onnx.TypeProto.Tensor.newBuilder().setElemType(Onnx.TensorProto.DataType.INT8_VALUE))));
            }
        }
        int n = 200;
        float[] x = SqueezeExciteNet.input(7, n);
        QParams qo = LowerToInteger.tensorQuantization(m, m.outputName());
        byte[][] q = FakeQuant.quantizeInput(x, n, points.get(g.input()));
        IntRunner runner = new IntRunner(m);
        ExportAgreement agreement = new ExportAgreement();
        Map<String, long[]> local = new java.util.LinkedHashMap<>(); // values, mismatches, largest difference
        OrtEnvironment env = OrtEnvironment.getEnvironment();
        int[] in = SqueezeExciteNet.INPUT;
        try (OrtSession s = env.createSession(model.build().toByteArray(), new OrtSession.SessionOptions());
             OnnxTensor t = OnnxTensor.createTensor(env, FloatBuffer.wrap(x), new long[] {n, in[0], in[1], in[2]});
             OrtSession.Result r = s.run(Map.of(s.getInputNames().iterator().next(), t))) {
            float[][] ort = (float[][]) r.get(0).getValue();
            Map<String, byte[]> theirs = new HashMap<>();
            for (Layer l : checked) {
                java.nio.ByteBuffer b = ((OnnxTensor) r.get(l.output()).orElseThrow()).getByteBuffer();
                byte[] all = new byte[b.remaining()];
                b.get(all);
                theirs.put(l.output(), all);
            }
            for (int i = 0; i < n; i++) {
                agreement.add(ort[i], runner.run(q[i]), qo);
                for (Layer l : checked) {
                    Map<String, byte[]> v = new HashMap<>();
                    for (String name : l.inputs()) {
                        v.put(name, name.equals(m.inputName()) ? q[i] : image(theirs.get(name), i, n));
                    }
                    byte[] y = IntRunner.step(l, v), yo = image(theirs.get(l.output()), i, n);
                    long[] e = local.computeIfAbsent(l.output(), k -> new long[3]);
                    for (int j = 0; j < y.length; j++) {
                        int d = Math.abs(y[j] - yo[j]);
                        e[0]++;
                        e[1] += d > 0 ? 1 : 0;
                        e[2] = Math.max(e[2], d);
                    }
                }
            }
        }
        for (Layer l : checked) {
            long[] e = local.get(l.output());
            String what = form + " W" + bits + " " + l.getClass().getSimpleName() + " " + l.output() + ": " + e[1] + " of " + e[0]
                    + " values differ, by up to " + e[2];
            assertTrue(e[2] <= 1 && e[1] <= e[0] / 50, what); // pooling: ONNX Runtime rounds a few means one level apart
            if (l instanceof Layer.Lut && form == OnnxExport.Form.QOPERATOR) {
                assertEquals(0, e[1], what);
            }
        }
        assertEquals(n, agreement.agree, "argmax agreement; largest difference " + agreement.worst + " steps");
        assertTrue(agreement.within >= 0.97 * agreement.values, "outputs within one step: " + agreement.within + " of "
                + agreement.values + "; largest " + agreement.worst);
    }

    static byte[] image(byte[] all, int i, int n) {
        int per = all.length / n;
        return java.util.Arrays.copyOfRange(all, i * per, (i + 1) * per);
    }

    static float[][] ort(byte[] model, float[] x, int n) throws Exception {
        OrtEnvironment env = OrtEnvironment.getEnvironment();
        int[] in = SqueezeExciteNet.INPUT;
        try (OrtSession s = env.createSession(model, new OrtSession.SessionOptions());
             OnnxTensor t = OnnxTensor.createTensor(env, FloatBuffer.wrap(x), new long[] {n, in[0], in[1], in[2]});
             OrtSession.Result r = s.run(Map.of(s.getInputNames().iterator().next(), t))) {
            return (float[][]) r.get(0).getValue();
        }
    }
}
