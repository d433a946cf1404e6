package io.zsq.ptq;

import java.util.Arrays;

/**
 * Percentile clipping from a histogram on a grid fixed before observation: the bin of a float is the
 * top 15 bits of its order-preserving bit pattern (sign, exponent, 6 mantissa bits), so bins are ~1.6%
 * wide in relative terms over the whole float range, and merging is element-wise addition of counts.
 * The clipped range is the lower edge of the bin holding the (100-P)-th percentile and the upper edge
 * of the bin holding the P-th, bounded by the exact observed min and max.
 */
public final class PercentileObserver {
    static final int SHIFT = 17;
    static final int BINS = 1 << (32 - SHIFT);

    private PercentileObserver() {}

    public record Spec(double percentile) implements ObserverSpec {
        public Spec {
            if (!(percentile > 50 && percentile <= 100)) {
                throw new IllegalArgumentException("percentile must be in (50, 100], got " + percentile);
            }
        }

        @Override
        public ObserverSpec.Accumulator empty() {
            return new Acc(this, new long[BINS], Double.POSITIVE_INFINITY, Double.NEGATIVE_INFINITY);
        }

        @Override
        public String name() {
            return "percentile:" + percentile;
        }
    }

    /** Order-preserving unsigned key of a float. */
    static int key(float v) {
        int bits = Float.floatToRawIntBits(v);
        return bits >= 0 ? bits | 0x80000000 : ~bits;
    }

    static float fromKey(int key) {
        return Float.intBitsToFloat(key < 0 ? key & 0x7fffffff : ~key);
    }

    static final class Acc implements ObserverSpec.Accumulator {
        final Spec spec;
        final long[] counts;
        double min, max;

        Acc(Spec spec, long[] counts, double min, double max) {
            this.spec = spec;
            this.counts = counts;
            this.min = min;
            this.max = max;
        }

        @Override
        public void observe(float[] values) {
            for (float v : values) {
                if (Float.isNaN(v)) {
                    throw new IllegalArgumentException("NaN activation observed");
                }
                counts[key(v) >>> SHIFT]++;
                min = Math.min(min, v);
                max = Math.max(max, v);
            }
        }

        @Override
        public ObserverSpec.Accumulator merge(ObserverSpec.Accumulator other) {
            Acc o = (Acc) other;
            if (!o.spec.equals(spec)) {
                throw new IllegalArgumentException("cannot merge " + spec + " with " + o.spec);
            }
            long[] c = counts.clone();
            for (int i = 0; i < c.length; i++) {
                c[i] += o.counts[i];
            }
            return new Acc(spec, c, Math.min(min, o.min), Math.max(max, o.max));
        }

        @Override
        public double[] range() {
            long total = 0;
            for (long c : counts) {
                total += c;
            }
            if (total == 0) {
                return new double[] {0, 0};
            }
            double tail = (100 - spec.percentile()) / 100 * total;
            long cum = 0;
            double lo = min, hi = max;
            for (int b = 0; b < BINS; b++) {
                cum += counts[b];
                if (cum > tail) {
                    lo = Math.max(min, fromKey(b << SHIFT));
                    break;
                }
            }
            cum = 0;
            for (int b = BINS - 1; b >= 0; b--) {
                cum += counts[b];
                if (cum > tail) {
                    hi = Math.min(max, fromKey((b << SHIFT) | ((1 << SHIFT) - 1)));
                    break;
                }
            }
            if (!Double.isFinite(lo)) {
                lo = min;
            }
            if (!Double.isFinite(hi)) {
                hi = max;
            }
            return new double[] {Math.min(lo, hi), hi};
        }

        @Override
        public boolean equals(Object o) {
            return o instanceof Acc a && a.spec.equals(spec) && Arrays.equals(a.counts, counts)
                    && Double.compare(a.min, min) == 0 && Double.compare(a.max, max) == 0;
        }

        @Override
        public int hashCode() {
            return Arrays.hashCode(counts);
        }
    }
}
