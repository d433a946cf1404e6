package io.zsq.synth;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.zsq.core.ir.Graph;
import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;

/** The BN-matching loss gradient (engine backward + loss seeds) against central finite differences. */
class GradientCheckTest {

    @Test
    void inputGradientMatchesFiniteDifferences() {
        for (String method : new String[] {"zeroq", "zeroq+label+di+dsg"}) {
            check(Objective.of(Method.parse(method)));
        }
    }

    /** The same through SLICE and PAD (a ResNet option-A shortcut, a strided channel slice, a spatial pad). */
    @Test
    void inputGradientThroughSliceAndPadMatchesFiniteDifferences() {
        Graph g = RandomGraphs.optionA(13);
        org.junit.jupiter.api.Assertions.assertArrayEquals(new int[] {5, 3, 3}, g.shape("pd2"));
        for (String method : new String[] {"zeroq", "zeroq+label+di+dsg"}) {
            check(g, Objective.of(Method.parse(method)));
        }
    }

    /** The same through a squeeze-excite block: MUL, ADD and SUB with broadcasting, SIGMOID, HARD_SIGMOID, HARD_SWISH and CONCAT. */
    @Test
    void inputGradientThroughSqueezeExciteAndConcatMatchesFiniteDifferences() {
        Graph g = RandomGraphs.squeezeExcite(14);
        org.junit.jupiter.api.Assertions.assertArrayEquals(new int[] {16, 8, 8}, g.shape("cat"));
        for (String method : new String[] {"zeroq", "zeroq+label+di+dsg"}) {
            check(g, Objective.of(Method.parse(method)));
        }
    }

    @Test
    void augmentationInverseUndoesIt() {
        float[] x = Seeds.gaussian(3, 2 * 5 * 7);
        for (boolean flip : new boolean[] {false, true}) {
            float[] a = Generator.augment(x, 2, 5, 7, 2, -3, flip, false);
            org.junit.jupiter.api.Assertions.assertArrayEquals(x, Generator.augment(a, 2, 5, 7, 2, -3, flip, true));
        }
    }

    private void check(Objective obj) {
        check(RandomGraphs.small(11), obj);
    }

    private void check(Graph g, Objective obj) {
        BnMatchingLoss loss = new BnMatchingLoss(g);
        int batch = 3;
        float[] x = Seeds.gaussian(5, batch * 2 * 8 * 8);
        for (int i = 0; i < x.length; i++) {
            x[i] = 1.5f * x[i] + 0.4f; // off (0, 1), so the input term of the loss weighs in
        }
        float[] grad = new float[x.length];
        loss.lossAndInputGradient(g, x, batch, grad, obj, 4);
        SplittableRandom r = new SplittableRandom(9);
        double h = 1e-2;
        for (int trial = 0; trial < 6; trial++) {
            float[] d = new float[x.length];
            double dot = 0, norm = 0;
            for (int i = 0; i < d.length; i++) {
                d[i] = (float) r.nextGaussian();
                norm += d[i] * d[i];
            }
            norm = Math.sqrt(norm);
            for (int i = 0; i < d.length; i++) {
                d[i] /= norm;
                dot += grad[i] * d[i];
            }
            double fd = (value(loss, g, x, d, h, batch, obj) - value(loss, g, x, d, -h, batch, obj)) / (2 * h);
            assertEquals(fd, dot, 0.02 * Math.abs(fd) + 1e-4, obj + ": directional derivative, trial " + trial);
        }
        // single coordinates, the largest gradients
        for (int k = 0; k < 5; k++) {
            int best = 0;
            for (int i = 1; i < grad.length; i++) {
                if (Math.abs(grad[i]) > Math.abs(grad[best])) {
                    best = i;
                }
            }
            float[] e = new float[x.length];
            e[best] = 1;
            double fd = (value(loss, g, x, e, h, batch, obj) - value(loss, g, x, e, -h, batch, obj)) / (2 * h);
            assertEquals(fd, grad[best], 0.03 * Math.abs(fd) + 1e-4, obj + ": coordinate " + best);
            grad[best] = 0;
        }
    }

    @Test
    void adamStepsReduceTheMatchingLoss() {
        Graph g = RandomGraphs.small(12);
        SynthConfig cfg = new SynthConfig("zeroq", 8, 8, 40, 0.1, 3);
        BnMatchingLoss loss = new BnMatchingLoss(g);
        float[] x0 = Seeds.gaussian(Seeds.forBatch(3, 0), 8 * 2 * 8 * 8);
        double before = loss.lossAndInputGradient(g, x0, 8, new float[x0.length]).total();
        Generator.Batch b = Generator.generate(g, cfg, 0, null);
        double after = b.finalLoss().values().stream().mapToDouble(Double::doubleValue).sum();
        assertTrue(b.finalLoss().containsKey("bn3"), b.finalLoss().toString());
        assertTrue(after < 0.5 * before, "loss " + before + " -> " + after);
    }

    private static double value(BnMatchingLoss loss, Graph g, float[] x, float[] d, double h, int batch, Objective obj) {
        float[] xp = x.clone();
        for (int i = 0; i < xp.length; i++) {
            xp[i] += (float) (h * d[i]);
        }
        return loss.lossAndInputGradient(g, xp, batch, new float[x.length], obj, 4).total();
    }
}
