package io.zsq.ptq;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.Arrays;
import java.util.List;
import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;

/** merge is associative and commutative with empty() as identity, for every observer; ranges are right. */
class ObserverLawsTest {
    static final List<ObserverSpec> SPECS = List.of(ObserverSpec.parse("minmax"), ObserverSpec.parse("percentile:99.9"),
            ObserverSpec.parse("percentile"), ObserverSpec.parse("kl"), ObserverSpec.parse("mse"), ObserverSpec.parse("movingavg"),
            ObserverSpec.parse("auto"));

    static ObserverSpec.Accumulator observed(ObserverSpec s, float[] v) {
        ObserverSpec.Accumulator a = s.empty();
        a.observe(v);
        return a;
    }

    static float[] data(long seed, int n) {
        SplittableRandom r = new SplittableRandom(seed);
        float[] v = new float[n];
        for (int i = 0; i < n; i++) {
            v[i] = (float) (r.nextGaussian() * 2 + (r.nextInt(100) == 0 ? 30 * r.nextDouble() : 0));
        }
        return v;
    }

    @Test
    void mergeLaws() {
        for (ObserverSpec s : SPECS) {
            ObserverSpec.Accumulator a = observed(s, data(1, 5000)), b = observed(s, data(2, 3000)), c = observed(s, data(3, 100));
            assertEquals(a.merge(b).merge(c), a.merge(b.merge(c)), s.name() + " associative");
            assertEquals(a.merge(b), b.merge(a), s.name() + " commutative");
            assertEquals(a, a.merge(s.empty()), s.name() + " identity");
            assertEquals(a, s.empty().merge(a), s.name() + " identity");
            // observing the batches in one accumulator equals merging accumulators of parts (the Spark
            // partitions); for all but movingavg (a mean over batches) also observing everything at once
            ObserverSpec.Accumulator seq = s.empty();
            seq.observe(data(1, 5000));
            seq.observe(data(2, 3000));
            seq.observe(data(3, 100));
            assertEquals(seq, a.merge(b).merge(c), s.name() + " split-invariant");
            for (int bits : new int[] {4, 8}) {
                assertArrayEquals(seq.range(bits), c.merge(a).merge(b).range(bits), 0.0, s.name() + " same range from any grouping");
            }
            if (!s.name().equals("movingavg")) {
                float[] all = concat(data(1, 5000), data(2, 3000), data(3, 100));
                assertEquals(observed(s, all), a.merge(b).merge(c), s.name() + " one batch or three");
            }
        }
    }

    @Test
    void minMaxIsTheObservedRange() {
        assertArrayEquals(new double[] {-3, 7}, observed(ObserverSpec.parse("minmax"), new float[] {1, -3, 7, 2}).range(8), 0);
    }

    @Test
    void percentileMatchesSortedDataWithinOneBin() {
        float[] v = data(4, 200_000);
        float[] sorted = v.clone();
        Arrays.sort(sorted);
        for (double p : new double[] {99.0, 99.9, 99.99}) {
            double[] r = observed(ObserverSpec.parse("percentile:" + p), v).range(8);
            double hi = sorted[(int) Math.ceil(p / 100 * v.length) - 1];
            double lo = sorted[(int) Math.floor((100 - p) / 100 * v.length)];
            assertEquals(hi, r[1], Math.abs(hi) * 0.02, "upper " + p);
            assertEquals(lo, r[0], Math.abs(lo) * 0.02, "lower " + p);
            assertTrue(r[1] < sorted[v.length - 1], "clips the outliers at " + p);
        }
    }

    static float[] concat(float[]... parts) {
        int n = 0;
        for (float[] p : parts) {
            n += p.length;
        }
        float[] all = new float[n];
        int at = 0;
        for (float[] p : parts) {
            System.arraycopy(p, 0, all, at, p.length);
            at += p.length;
        }
        return all;
    }

    @Test
    void movingAverageIsTheMeanOfBatchExtremes() {
        ObserverSpec.Accumulator a = ObserverSpec.parse("movingavg").empty();
        a.observe(new float[] {1, -3, 7});
        a.observe(new float[] {0, 2, -1});
        assertArrayEquals(new double[] {-2, 4.5}, a.range(8), 1e-12);
    }

    /** Expected squared error of a b-bit uniform quantizer clipped to [lo, hi], computed on the samples themselves. */
    static double mse(float[] v, double lo, double hi, int bits) {
        io.zsq.core.quant.QParams q = io.zsq.core.quant.QParams.fromRange(lo, hi, bits, false);
        double e = 0;
        for (float x : v) {
            double d = x - q.fakeQuantize(x);
            e += d * d;
        }
        return e / v.length;
    }

    @Test
    void mseAndKlClipHeavyTailsAndMseBeatsMinMaxOnTheSamples() {
        // a ReLU-like heavy-tailed activation: most mass near 0, rare large values
        SplittableRandom r = new SplittableRandom(8);
        float[] v = new float[100_000];
        for (int i = 0; i < v.length; i++) {
            double g = Math.abs(r.nextGaussian());
            v[i] = (float) (r.nextInt(1000) == 0 ? 20 + 10 * r.nextDouble() : g);
        }
        for (int bits : new int[] {4, 8}) {
            double[] mm = observed(ObserverSpec.parse("minmax"), v).range(bits);
            double[] ms = observed(ObserverSpec.parse("mse"), v).range(bits);
            double[] kl = observed(ObserverSpec.parse("kl"), v).range(bits);
            assertTrue(ms[1] < mm[1] && kl[1] < mm[1], bits + " bits: both clip (" + ms[1] + ", " + kl[1] + " < " + mm[1] + ")");
            assertTrue(ms[1] > 2 && kl[1] > 2, bits + " bits: neither clips the bulk of the distribution");
            assertTrue(mse(v, ms[0], ms[1], bits) < mse(v, mm[0], mm[1], bits),
                    bits + " bits: mse clipping has lower error than min-max on the data itself");
        }
        // auto: min-max at 8 bits, mse below
        assertArrayEquals(observed(ObserverSpec.parse("minmax"), v).range(8), observed(ObserverSpec.parse("auto"), v).range(8), 0);
        assertArrayEquals(observed(ObserverSpec.parse("mse"), v).range(4), observed(ObserverSpec.parse("auto"), v).range(4), 0);
        // at 4 bits the MSE-optimal range is tighter than at 8
        assertTrue(observed(ObserverSpec.parse("mse"), v).range(4)[1] < observed(ObserverSpec.parse("mse"), v).range(8)[1]);
    }
}
