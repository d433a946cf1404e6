package io.zsq.qat;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.zsq.core.exec.OrtDevice;
import io.zsq.core.imports.ModelImporter;
import io.zsq.core.ir.Graph;
import io.zsq.core.ir.Node;
import io.zsq.core.ir.OpType;
import io.zsq.core.ir.Tensor;
import io.zsq.core.passes.Canonicalize;
import io.zsq.core.quant.Quantization;
import io.zsq.core.quant.Scheme;
import java.nio.file.Path;
import java.util.SplittableRandom;
import java.util.function.IntPredicate;
import org.junit.jupiter.api.Test;

/**
 * The Level-2 step on ONNX Runtime (its CPU provider here) against the Vector API engine: the same loss and the
 * same gradient of every part of the parameter vector (weights and biases, weight step sizes, activation step
 * sizes; each relative 1e-4 in norm), on a net with ungrouped, depthwise and grouped convolutions, pools, a
 * residual add and bias-less layers, and on the bundled models; with the label and feature terms; with PACT.
 *
 * <p>On fake-quantized weights a layer's pre-activation is a sum of products of levels, and many of those sums are
 * exactly zero in exact arithmetic (the more, the fewer the levels): in float one engine's summation order leaves 0
 * and the other's +-1e-9, so a fused ReLU passes that element's gradient in one engine and not in the other (both
 * valid subgradients). The engines are therefore compared on the student's pass with its weights moved off the
 * grid by a relative 1e-3 (the same weights for both): no sum is an exact tie, and the gradients must agree to
 * 1e-4, at 4 and 8 bits. On the grid itself ({@link #onTheGridTheLossAgreesAndTheGradientsUpToReluTies}) the loss
 * agrees to 1e-4 and the gradients to a few percent (measured: 0.2% at W8A8, 3-4% at W4A4).
 */
class OrtMicroBatchTest {

    static Quantization level1(Graph g, Scheme s, FineTuner.Pool pool, double shrink) {
        return Nets.level1(g, s, pool.images(), pool.count(), shrink);
    }

    @Test
    void everyLayerKindGivesTheVectorEnginesGradient() {
        Graph t = FineTunerTest.TEACHER;
        FineTuner.Pool pool = FineTunerTest.POOL_IMAGES;
        for (int bits : new int[] {4, 8}) {
            Quantization q = level1(t, Scheme.of(bits, bits), pool, 0.8);
            String w = " W" + bits + "A" + bits;
            compare(new Student(t, q), t, pool, 0, 0, true, 1e-4, "small net" + w);
            compare(new Student(t, q), t, withLabels(pool, 5), 1.0, 0.5, true, 1e-4, "small net" + w + ", feature and label terms");
            compare(new Student(t, q, true), t, pool, 0, 0, true, 1e-4, "small net" + w + ", PACT");
        }
    }

    @Test
    void bundledModelsGiveTheVectorEnginesGradient() {
        for (String m : new String[] {"fmnist-resnet", "fmnist-mobilenet"}) {
            Graph g = Canonicalize.run(ModelImporter.load(Path.of("../src/models/" + m + ".onnx")), null);
            FineTuner.Pool pool = new FineTuner.Pool(Nets.images(41, 24, g.inputShape()), 24, g.inputShape());
            compare(new Student(g, level1(g, Scheme.of(4, 4), pool, 0.8)), g, pool, 0, 0, true, 1e-4, m + " W4A4");
        }
    }

    @Test
    void onTheGridTheLossAgreesAndTheGradientsUpToReluTies() {
        Graph t = FineTunerTest.TEACHER;
        compare(FineTunerTest.student(), t, FineTunerTest.POOL_IMAGES, 0, 0, false, 0.1, "small net W4A4, on the grid");
        Graph g = Canonicalize.run(ModelImporter.load(Path.of("../src/models/fmnist-resnet.onnx")), null);
        FineTuner.Pool pool = new FineTuner.Pool(Nets.images(41, 24, g.inputShape()), 24, g.inputShape());
        compare(new Student(g, level1(g, Scheme.of(4, 4), pool, 0.8)), g, pool, 0, 0, false, 0.1, "fmnist-resnet W4A4, on the grid");
    }

    /** The pass's graph with every CONV and DENSE weight scaled by {@code 1 + 1e-3 N(0, 1)} (seeded by the node). */
    static Graph offGrid(Student.Pass pass) {
        Graph g = pass.graph();
        java.util.List<Node> nodes = new java.util.ArrayList<>();
        for (Node n : g.nodes()) {
            if (n.op() == OpType.CONV || n.op() == OpType.DENSE) {
                float[] w = n.param("W").data().clone();
                SplittableRandom r = new SplittableRandom(n.id().hashCode());
                for (int i = 0; i < w.length; i++) {
                    w[i] *= (float) (1 + 1e-3 * r.nextGaussian());
                }
                java.util.Map<String, Tensor> p = new java.util.LinkedHashMap<>(n.params());
                p.put("W", new Tensor(n.param("W").shape(), w));
                n = n.withParams(p);
            }
            nodes.add(n);
        }
        return g.withNodes(nodes, null);
    }

    private static FineTuner.Pool withLabels(FineTuner.Pool p, int classes) {
        int[] labels = new int[p.count()];
        for (int i = 0; i < labels.length; i++) {
            labels[i] = (i * 3 + 1) % classes;
        }
        return new FineTuner.Pool(p.images(), p.count(), p.shape(), labels);
    }

    private static void compare(Student st, Graph teacher, FineTuner.Pool pool, double featureWeight, double labelWeight, boolean offGrid,
                                double tolerance, String what) {
        FineTuner.Context c = new FineTuner.Context(teacher, st, pool, 4, featureWeight, labelWeight, 16);
        float[] p = st.initial();
        SplittableRandom r = new SplittableRandom(5);
        for (int i = 0; i < p.length; i++) { // a moved student: weights off the teacher's, step sizes off Level 1's
            p[i] *= (float) (1 + 0.05 * r.nextGaussian());
        }
        FineTuner.Micro m = new FineTuner.Micro(0, new int[] {3, 0, 7, 11, 5}, new int[] {0, 1, -1, 0, 2}, new int[] {1, 0, 0, -2, 0},
                new boolean[] {false, true, false, true, true});
        FineTuner.Grad cpu, ort;
        try (OrtMicroBatch o = new OrtMicroBatch(c, OrtDevice.cpu(1))) {
            if (offGrid) { // one pass each: a pass's quantizer collects its step sizes' gradients
                Student.Pass a = st.pass(p), b = st.pass(p);
                cpu = FineTuner.microBatch(c, a, offGrid(a), m);
                ort = o.run(b, offGrid(b), m);
            } else {
                cpu = FineTuner.microBatch(c, p, m);
                ort = o.run(p, m);
            }
        }
        assertEquals(cpu.loss(), ort.loss(), 1e-4 * Math.abs(cpu.loss()), what + ": loss");
        boolean[] steps = st.stepSizeMask();
        int layersEnd = st.aOff;
        check(cpu.g(), ort.g(), i -> i < layersEnd && !steps[i], tolerance, what + ": weights and biases");
        check(cpu.g(), ort.g(), i -> i < layersEnd && steps[i], tolerance, what + ": weight step sizes");
        check(cpu.g(), ort.g(), i -> i >= layersEnd, tolerance, what + ": activation step sizes");
    }

    private static void check(float[] a, float[] b, IntPredicate part, double tolerance, String what) {
        double diff = 0, norm = 0;
        for (int i = 0; i < a.length; i++) {
            if (part.test(i)) {
                diff += Math.pow(a[i] - b[i], 2);
                norm += Math.pow(a[i], 2);
            }
        }
        assertTrue(norm > 0, what + ": a zero gradient compares nothing");
        assertTrue(Math.sqrt(diff / norm) < tolerance, what + ": gradients differ by " + Math.sqrt(diff / norm) + " (relative, in norm)");
    }
}
