package io.zsq.ptq;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.zsq.core.imports.ModelImporter;
import io.zsq.core.ir.Graph;
import io.zsq.core.passes.Canonicalize;
import io.zsq.core.quant.Scheme;
import java.nio.file.Path;
import java.util.List;
import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;

/** The frontier against exhaustive search; sensitivities behave on the bundled ResNet. */
class MixedPrecisionTest {

    @Test
    void frontierChoiceIsTheExhaustiveOptimum() {
        SplittableRandom r = new SplittableRandom(5);
        int layers = 5, k = MixedPrecision.CANDIDATES.length;
        for (int trial = 0; trial < 20; trial++) {
            long[] params = new long[layers];
            double[][] kl = new double[layers][k];
            List<String> ids = new java.util.ArrayList<>();
            for (int i = 0; i < layers; i++) {
                params[i] = 8L * (1 + r.nextInt(40));
                ids.add("l" + i);
                double v = r.nextDouble() * 2;
                for (int j = 0; j < k; j++) {
                    kl[i][j] = v / (1 << j) + r.nextDouble() * 1e-3; // roughly halving per bit
                }
            }
            MixedPrecision.Sensitivity s = new MixedPrecision.Sensitivity(ids, kl, 1);
            long uniform4 = 0;
            for (long p : params) {
                uniform4 += 4 * p;
            }
            long budget = uniform4 + r.nextInt(100) - 50;
            List<MixedPrecision.Choice> front = MixedPrecision.frontier(ids, params, s, budget);
            MixedPrecision.Choice c = front.get(front.size() - 1);
            // exhaustive
            double best = Double.POSITIVE_INFINITY;
            int[] idx = new int[layers];
            for (int code = 0; code < Math.pow(k, layers); code++) {
                int x = code;
                long size = 0;
                double sum = 0;
                for (int i = 0; i < layers; i++) {
                    idx[i] = x % k;
                    x /= k;
                    size += params[i] * MixedPrecision.CANDIDATES[idx[i]];
                    sum += kl[i][idx[i]];
                }
                if (size <= budget) {
                    best = Math.min(best, sum);
                }
            }
            assertEquals(best, c.sensitivity(), 1e-12, "trial " + trial);
            assertTrue(c.weightBits() <= budget);
            for (int i = 1; i < front.size(); i++) {
                assertTrue(front.get(i).sensitivity() < front.get(i - 1).sensitivity() && front.get(i).weightBits() > front.get(i - 1).weightBits());
            }
        }
    }

    @Test
    void sensitivityFallsWithBitsAndBudgetsParse() {
        Graph c = Canonicalize.run(ModelImporter.load(Path.of("../src/models/fmnist-resnet.onnx")), null);
        float[] x = new float[16 * 784];
        SplittableRandom r = new SplittableRandom(3);
        for (int i = 0; i < x.length; i++) {
            x[i] = (float) r.nextGaussian();
        }
        MixedPrecision.Sensitivity s = MixedPrecision.measure(c, Scheme.of(8, 8), x, 16);
        assertEquals(MixedPrecision.layers(c).size(), s.layers().size());
        for (int i = 0; i < s.layers().size(); i++) {
            assertTrue(s.mean(i, 0) > s.mean(i, MixedPrecision.CANDIDATES.length - 1), s.layers().get(i) + ": 2 bits hurt more than 8");
        }
        assertEquals(MixedPrecision.uniformBits(c, 4), io.zsq.ptq.pipeline.Plan.SizeBudget.parse("0.5x").budgetBits(c));
        assertEquals(MixedPrecision.uniformBits(c, 4), io.zsq.ptq.pipeline.Plan.SizeBudget.parse("50%").budgetBits(c));
        assertEquals(8000, io.zsq.ptq.pipeline.Plan.SizeBudget.parse("1000").budgetBits(c));
        assertThrows(IllegalArgumentException.class, () -> io.zsq.ptq.pipeline.Plan.SizeBudget.parse("half"));
        assertThrows(IllegalArgumentException.class, () -> io.zsq.ptq.pipeline.Plan.SizeBudget.parse("1.5x"));
    }
}
