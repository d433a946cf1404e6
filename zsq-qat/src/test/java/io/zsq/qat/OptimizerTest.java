package io.zsq.qat;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.zsq.ptq.pipeline.Plan;
import org.junit.jupiter.api.Test;

/**
 * Adam and SGD steps against a hand computation of Kingma and Ba's update (and of momentum SGD), the two learning
 * rates, the schedules' factors, and the floor under the step sizes.
 */
class OptimizerTest {
    static Plan.FineTune settings(Plan.Optimizer o, Plan.Schedule s, int steps, double lr, double scaleLr) {
        return new Plan.FineTune(Plan.QatMethod.KD, steps, 8, 8, lr, scaleLr, o, s, 4, 0, 0, 1);
    }

    static final boolean[] MASK = {false, false, true, false, true};

    @Test
    void adamsFirstTwoStepsAreTheHandComputedOnes() {
        double lr = 0.01, slr = 0.001;
        int steps = 10;
        Optimizer o = new Optimizer(settings(Plan.Optimizer.ADAM, Plan.Schedule.COSINE, steps, lr, slr), new float[5], MASK);
        float[] p = {1f, -2f, 0.5f, 3f, 0.25f};
        float[] g1 = {0.3f, -1e-3f, 2f, 0f, -4f};
        o.step(p, g1);
        // step 1: m = 0.1 g, v = 0.001 g^2, bias corrections 0.1 and 0.001: the update is rate * g / (|g| + 1e-8), cosine factor 1;
        // a step size s sees the gradient s * g (log domain) and is multiplied by exp(-update)
        double[] expected1 = {1 - lr * 0.3 / (0.3 + 1e-8), -2 + lr * 1e-3 / (1e-3 + 1e-8), 0.5 * Math.exp(-slr * 1 / (1 + 1e-8)), 3,
                0.25 * Math.exp(slr * 1 / (1 + 1e-8))};
        for (int i = 0; i < 5; i++) {
            assertEquals(expected1[i], p[i], 1e-6, "after step 1, entry " + i);
        }
        assertEquals(0.99, p[0], 1e-6, "Adam's first step is the learning rate against the gradient's sign");
        assertEquals(1, o.steps());

        float[] g2 = {-0.1f, -1e-3f, 1f, 0.5f, -4f};
        float[] before = p.clone();
        o.step(p, g2);
        double f = 0.5 * (1 + Math.cos(Math.PI / steps)); // step 1 of 10
        float[] p0 = {1f, -2f, 0.5f, 3f, 0.25f};
        for (int i = 0; i < 5; i++) {
            double a1 = MASK[i] ? g1[i] * p0[i] : g1[i], a2 = MASK[i] ? g2[i] * before[i] : g2[i];
            double m = 0.9 * 0.1 * a1 + 0.1 * a2, v = 0.999 * 0.001 * a1 * a1 + 0.001 * a2 * a2;
            double mhat = m / (1 - 0.81), vhat = v / (1 - 0.999 * 0.999);
            double rate = (MASK[i] ? slr : lr) * f, upd = rate * mhat / (Math.sqrt(vhat) + 1e-8);
            assertEquals(MASK[i] ? before[i] * Math.exp(-upd) : before[i] - upd, p[i], 1e-6, "after step 2, entry " + i);
        }
    }

    @Test
    void sgdIsMomentumPointNine() {
        double lr = 0.1, slr = 0.01;
        Optimizer o = new Optimizer(settings(Plan.Optimizer.SGD, Plan.Schedule.CONSTANT, 5, lr, slr), new float[5], MASK);
        float[] p = {1f, 1f, 1f, 1f, 1f}, g1 = {1f, -2f, 3f, 0f, 0.5f}, g2 = {0.5f, 0.5f, 0.5f, 0.5f, 0.5f};
        o.step(p, g1);
        float[] mid = p.clone();
        o.step(p, g2);
        for (int i = 0; i < 5; i++) {
            double rate = MASK[i] ? slr : lr;
            if (MASK[i]) { // log domain: momentum over s * g, s multiplied by exp(-rate * m)
                double m1 = g1[i], s1 = Math.exp(-rate * m1), m2 = 0.9 * m1 + g2[i] * mid[i];
                assertEquals(s1, mid[i], 1e-6, "entry " + i + " after step 1");
                assertEquals(s1 * Math.exp(-rate * m2), p[i], 1e-6, "entry " + i);
            } else {
                assertEquals(1 - rate * g1[i] - rate * (0.9 * g1[i] + g2[i]), p[i], 1e-6, "entry " + i);
            }
        }
    }

    @Test
    void schedules() {
        int n = 1000;
        assertEquals(1.0, Optimizer.factor(Plan.Schedule.COSINE, 0, n), 0.0);
        assertEquals(0.5, Optimizer.factor(Plan.Schedule.COSINE, n / 2, n), 1e-12);
        assertTrue(Optimizer.factor(Plan.Schedule.COSINE, n - 1, n) < 1e-5, "the last step's factor is ~(pi / n)^2 / 4");
        assertEquals(0.0, Optimizer.factor(Plan.Schedule.COSINE, n, n), 1e-15);
        for (int k = 1; k <= n; k++) {
            assertTrue(Optimizer.factor(Plan.Schedule.COSINE, k, n) <= Optimizer.factor(Plan.Schedule.COSINE, k - 1, n));
        }
        assertEquals(1.0, Optimizer.factor(Plan.Schedule.STEP, n / 2 - 1, n), 0.0);
        assertEquals(0.1, Optimizer.factor(Plan.Schedule.STEP, n / 2, n), 0.0);
        assertEquals(0.1, Optimizer.factor(Plan.Schedule.STEP, 3 * n / 4 - 1, n), 0.0);
        assertEquals(0.01, Optimizer.factor(Plan.Schedule.STEP, 3 * n / 4, n), 0.0);
        assertEquals(1.0, Optimizer.factor(Plan.Schedule.CONSTANT, n - 1, n), 0.0);

        // and the optimizer follows it: a constant gradient, for which Adam's corrected update is the whole rate each step
        float[] a = {0f}, b = {0f};
        Optimizer ca = new Optimizer(settings(Plan.Optimizer.ADAM, Plan.Schedule.CONSTANT, 4, 0.1, 0.1), new float[1], new boolean[1]);
        Optimizer sb = new Optimizer(settings(Plan.Optimizer.ADAM, Plan.Schedule.STEP, 4, 0.1, 0.1), new float[1], new boolean[1]);
        for (int k = 0; k < 4; k++) {
            ca.step(a, new float[] {1f});
            sb.step(b, new float[] {1f});
        }
        assertEquals(-0.4, a[0], 1e-6);
        assertEquals(-(0.1 + 0.1 + 0.01 + 0.001), b[0], 1e-6);
    }

    @Test
    void stepSizesNeverGoBelowTheFloorWeightsHaveNone() {
        float[] init = {0.5f, 0.5f, 0.02f, 1f, 0.3f};
        Optimizer o = new Optimizer(settings(Plan.Optimizer.SGD, Plan.Schedule.CONSTANT, 50, 1.0, 10.0), init, MASK);
        float[] p = init.clone();
        for (int k = 0; k < 50; k++) {
            o.step(p, new float[] {1f, 1f, 1f, 1f, 1f});
            for (int i = 0; i < 5; i++) {
                if (MASK[i]) {
                    assertTrue(p[i] >= init[i] * 1e-3f && p[i] > 0, "step " + k + ", step size " + i + ": " + p[i]);
                }
            }
        }
        assertEquals(0.02f * 1e-3f, p[2], 0f, "held at a thousandth of where it started");
        assertEquals(0.3f * 1e-3f, p[4], 0f);
        assertTrue(p[0] < -100 && p[3] < -100, "weights go where the gradient sends them: " + p[0]);
    }
}
