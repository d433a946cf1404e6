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
            ObserverSpec.parse("percentile"));

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
            // observing everything at once equals merging the parts
            float[] all = concat(data(1, 5000), data(2, 3000), data(3, 100));
            assertEquals(observed(s, all), a.merge(b).merge(c), s.name() + " split-invariant");
            assertArrayEquals(observed(s, all).range(), a.merge(b).merge(c).range(), 0.0);
        }
    }

    @Test
    void minMaxIsTheObservedRange() {
        assertArrayEquals(new double[] {-3, 7}, observed(ObserverSpec.parse("minmax"), new float[] {1, -3, 7, 2}).range(), 0);
    }

    @Test
    void percentileMatchesSortedDataWithinOneBin() {
        float[] v = data(4, 200_000);
        float[] sorted = v.clone();
        Arrays.sort(sorted);
        for (double p : new double[] {99.0, 99.9, 99.99}) {
            double[] r = observed(ObserverSpec.parse("percentile:" + p), v).range();
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
}
