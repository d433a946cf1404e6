package io.zsq.qat;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.SplittableRandom;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * Hinton's {@code T^2 KL(softmax(t/T) || softmax(s/T))}: the loss against a direct evaluation of the definition,
 * zero exactly when the student's logits are the teacher's and positive otherwise, and its gradient to the student's
 * logits against central finite differences of the loss, at several temperatures.
 */
class DistillationTest {

    /** The definition, in double, without the max shift: sum over images of T^2 sum_j pt_j log(pt_j / ps_j). */
    private static double reference(float[] s, float[] t, int n, int k, double temp) {
        double total = 0;
        for (int i = 0; i < n; i++) {
            double zs = 0, zt = 0;
            for (int j = 0; j < k; j++) {
                zs += Math.exp(s[i * k + j] / temp);
                zt += Math.exp(t[i * k + j] / temp);
            }
            for (int j = 0; j < k; j++) {
                double ps = Math.exp(s[i * k + j] / temp) / zs, pt = Math.exp(t[i * k + j] / temp) / zt;
                total += temp * temp * pt * Math.log(pt / ps);
            }
        }
        return total;
    }

    private static double loss(float[] s, float[] t, int n, int k, double temp) {
        return Distillation.lossAndGradient(s, t, n, k, temp, 1, new float[s.length]);
    }

    private static float[] logits(SplittableRandom r, int len, double scale) {
        float[] v = new float[len];
        for (int i = 0; i < len; i++) {
            v[i] = (float) (scale * r.nextGaussian());
        }
        return v;
    }

    @ParameterizedTest(name = "T = {0}")
    @ValueSource(doubles = {0.5, 1, 2, 4, 10})
    void theGradientIsTheLossDerivative(double temp) {
        SplittableRandom r = new SplittableRandom(Double.doubleToLongBits(temp));
        int n = 3, k = 7;
        float[] s = logits(r, n * k, 3), t = logits(r, n * k, 3);
        double scale = 0.25; // what FineTuner passes: 1 / batch
        float[] grad = new float[n * k];
        java.util.Arrays.fill(grad, 1f); // the gradient is added
        double l = Distillation.lossAndGradient(s, t, n, k, temp, scale, grad);
        assertEquals(reference(s, t, n, k, temp), l, 1e-9 * Math.max(1, l), "the loss is unscaled and summed over images");
        for (int i = 0; i < n * k; i++) {
            double h = 1e-2;
            float[] plus = s.clone(), minus = s.clone();
            plus[i] += (float) h;
            minus[i] -= (float) h;
            double fd = (loss(plus, t, n, k, temp) - loss(minus, t, n, k, temp)) / ((double) plus[i] - minus[i]);
            // central differences err by h^2 |L'''| / 6; L''' of T^2 KL in a logit is bounded by T^2 / T^3 = 1 / T
            assertEquals(1 + scale * fd, grad[i], 1e-6 + scale * (h * h / temp + 1e-6 * Math.abs(fd)), "logit " + i + " at T = " + temp);
        }
    }

    @ParameterizedTest(name = "T = {0}")
    @ValueSource(doubles = {0.5, 1, 4})
    void theLossIsZeroExactlyWhenTheStudentIsTheTeacher(double temp) {
        SplittableRandom r = new SplittableRandom(3);
        int n = 4, k = 10;
        float[] t = logits(r, n * k, 4);
        float[] grad = new float[n * k];
        assertEquals(0.0, Distillation.lossAndGradient(t.clone(), t, n, k, temp, 1, grad), 0.0);
        for (float g : grad) {
            assertEquals(0f, g, 0f);
        }
        // any other student costs something, however close; a shifted student is the same distribution
        for (int trial = 0; trial < 5; trial++) {
            float[] s = t.clone();
            s[r.nextInt(n * k)] += (float) (0.05 * (trial + 1));
            assertTrue(loss(s, t, n, k, temp) > 0, "trial " + trial);
        }
        float[] shifted = t.clone();
        for (int j = 0; j < k; j++) {
            shifted[j] += 2f; // the first image, every logit: softmax is shift-invariant
        }
        assertEquals(0.0, loss(shifted, t, n, k, temp), 1e-12);
    }

    @ParameterizedTest(name = "T = {0}")
    @ValueSource(doubles = {1, 4})
    void largeLogitsStayFinite(double temp) {
        // logits of a confident model: without the max shift exp(800 / T) overflows at T = 1
        float[] t = {800, 0, -800, 790}, s = {0, 800, -800, 10};
        float[] grad = new float[4];
        double l = Distillation.lossAndGradient(s, t, 1, 4, temp, 1, grad);
        assertTrue(Double.isFinite(l) && l > 0, "loss " + l);
        double sum = 0;
        for (float g : grad) {
            assertTrue(Float.isFinite(g));
            sum += g;
        }
        assertEquals(0, sum, 1e-5, "T (ps - pt) sums to zero over the logits");
        assertEquals(-temp * (1 / (1 + Math.exp(-10 / temp))), grad[0], 1e-5 * temp, "dL/ds_0 = T (ps_0 - pt_0), ps_0 ~ 0");
    }

    /** The feature term: its definition per image, and its gradient against central finite differences. */
    @org.junit.jupiter.api.Test
    void featureTermAndItsGradient() {
        SplittableRandom r = new SplittableRandom(5);
        int n = 3, per = 7;
        float[] t = logits(r, n * per, 1), s = logits(r, n * per, 1.3), g = new float[n * per];
        double w = 2.5, total = Distillation.featureLossAndGradient(s, t, n, w, 1, g);
        double ref = 0;
        for (int i = 0; i < n; i++) {
            double e = 0, d = 0;
            for (int j = 0; j < per; j++) {
                e += t[i * per + j] * (double) t[i * per + j];
                d += Math.pow(s[i * per + j] - (double) t[i * per + j], 2);
            }
            ref += w * d / e;
        }
        assertEquals(ref, total, 1e-6 * ref); // the code takes s - t in float
        for (int j = 0; j < s.length; j++) {
            float[] up = s.clone(), dn = s.clone();
            double h = 1e-3;
            up[j] += (float) h;
            dn[j] -= (float) h;
            double fd = (Distillation.featureLossAndGradient(up, t, n, w, 1, new float[s.length])
                    - Distillation.featureLossAndGradient(dn, t, n, w, 1, new float[s.length])) / (up[j] - dn[j]);
            assertEquals(fd, g[j], 1e-3 * Math.abs(fd) + 1e-4, "d/ds[" + j + "]");
        }
    }

    @org.junit.jupiter.api.Test
    void theCrossEntropyToAssignedClassesAndItsGradientAgainstTheDefinition() {
        SplittableRandom r = new SplittableRandom(12);
        int n = 4, k = 5;
        float[] s = logits(r, n * k, 3);
        int[] labels = {3, 0, 4, 3};
        double weight = 0.7, scale = 0.25;
        float[] grad = new float[n * k];
        java.util.Arrays.fill(grad, 1f); // the gradient is added
        double l = Distillation.crossEntropyAndGradient(s, labels, n, k, weight, scale, grad);
        double ref = 0;
        for (int i = 0; i < n; i++) {
            double z = 0;
            for (int j = 0; j < k; j++) {
                z += Math.exp(s[i * k + j]);
            }
            ref -= weight * Math.log(Math.exp(s[i * k + labels[i]]) / z);
        }
        assertEquals(ref, l, 1e-9 * ref, "weight times -log softmax at the label, summed");
        for (int i = 0; i < n * k; i++) {
            double h = 1e-2;
            float[] plus = s.clone(), minus = s.clone();
            plus[i] += (float) h;
            minus[i] -= (float) h;
            double fd = (Distillation.crossEntropyAndGradient(plus, labels, n, k, weight, 1, new float[n * k])
                    - Distillation.crossEntropyAndGradient(minus, labels, n, k, weight, 1, new float[n * k])) / (plus[i] - minus[i]);
            assertEquals(1 + scale * fd, grad[i], 1e-4, "logit " + i);
        }
    }
}
