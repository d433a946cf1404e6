package io.zsq.ptq;

import java.util.Arrays;

/**
 * Clipping ranges from a histogram on a grid fixed before observation: the bin of a float is the top
 * 15 bits of its order-preserving bit pattern (sign, exponent, 6 mantissa bits), so bins are ~1.6% wide
 * in relative terms over the whole float range, and merging is element-wise addition of counts. Three
 * ways to pick the range from it:
 * <ul>
 *   <li>{@code percentile:P}: the lower edge of the bin holding the (100-P)-th percentile and the upper
 *       edge of the bin holding the P-th, bounded by the exact observed min and max.
 *   <li>{@code kl}: the entropy calibration of TensorRT (Migacz, "8-bit inference with TensorRT", GTC
 *       2017): the histogram of |x| (of x when nothing is negative) re-binned onto 2048 linear bins, and
 *       the threshold whose clipped distribution P and its quantized version Q (as many levels as the
 *       bit width gives to that side) have the least KL(P || Q). Exact zeros are left out of the
 *       histogram: they are represented exactly at any threshold, and ReLU's spike at 0 otherwise
 *       dominates the divergence and drives the threshold far down (to a quarter of the range at 8 bits
 *       on the bundled ResNet, costing 3.7 points; at 6 bits, 70).
 *   <li>{@code mse}: OMSE-style (Choukroun et al., ICCVW 2019) MSE-optimal clipping: the range
 *       {@code a * [min, max]} over a grid of a in (0, 1] minimizing the expected squared error of the
 *       b-bit quantizer, clipping error exact per bin and rounding error {@code step^2 / 12} inside.
 *   <li>{@code auto}: the observed min-max at 8 bits, mse below (what measured best on the bundled
 *       models: clipping gains nothing at 8 bits and a lot at 4).
 * </ul>
 */
public final class HistogramObserver {
    static final int SHIFT = 17;
    static final int BINS = 1 << (32 - SHIFT);

    private HistogramObserver() {}

    /** How a range is read off the histogram; {@code AUTO}: the observed min-max at 8 bits, MSE below. */
    public enum Method { PERCENTILE, KL, MSE, AUTO }

    /** {@code percentile} is used by {@link Method#PERCENTILE} only. */
    public record Spec(Method method, double percentile) implements ObserverSpec {
        public Spec {
            if (method == Method.PERCENTILE && !(percentile > 50 && percentile <= 100)) {
                throw new IllegalArgumentException("percentile must be in (50, 100], got " + percentile);
            }
        }

        @Override
        public ObserverSpec.Accumulator empty() {
            return new Acc(this, new long[BINS], Double.POSITIVE_INFINITY, Double.NEGATIVE_INFINITY);
        }

        @Override
        public String name() {
            return method == Method.PERCENTILE ? "percentile:" + percentile : method.name().toLowerCase(java.util.Locale.ROOT);
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
        public double[] range(int bits) {
            if (min > max) {
                return new double[] {0, 0};
            }
            switch (spec.method()) {
                case KL: return entropyRange(bits);
                case MSE: return mseRange(bits);
                case AUTO: return bits >= 8 ? new double[] {min, max} : mseRange(bits);
                default: return percentileRange();
            }
        }

        private double[] percentileRange() {
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

        /** Bin centres (the midpoint of the bin's float interval, inside [min, max]) and their counts, non-empty bins only. */
        private double[][] centres() {
            int n = 0;
            for (long c : counts) {
                n += c > 0 ? 1 : 0;
            }
            double[] v = new double[n], c = new double[n];
            for (int b = 0, i = 0; b < BINS; b++) {
                if (counts[b] > 0) {
                    double lo = fromKey(b << SHIFT), hi = fromKey((b << SHIFT) | ((1 << SHIFT) - 1));
                    double mid = Double.isFinite(lo) && Double.isFinite(hi) ? (lo + hi) / 2 : (Double.isFinite(lo) ? lo : hi);
                    v[i] = Math.max(min, Math.min(max, mid));
                    c[i++] = counts[b];
                }
            }
            return new double[][] {v, c};
        }

        private double[] entropyRange(int bits) {
            double[][] vc = centres();
            boolean oneSided = min >= 0;
            double amax = oneSided ? max : Math.max(-min, max);
            if (!(amax > 0)) {
                return new double[] {min, max};
            }
            int bins = 2048, levels = oneSided ? (1 << bits) - 1 : (1 << (bits - 1)) - 1;
            double[] h = new double[bins];
            for (int i = 0; i < vc[0].length; i++) {
                if (Math.abs(vc[0][i]) < Float.MIN_NORMAL) {
                    continue; // zeros (ReLU's spike) are exact at every threshold: left out, or KL clips far too hard
                }
                h[Math.min(bins - 1, (int) (Math.abs(vc[0][i]) / amax * bins))] += vc[1][i];
            }
            double best = Double.POSITIVE_INFINITY;
            int bestI = bins;
            for (int i = Math.min(levels, bins); i <= bins; i++) {
                double kl = klOfClip(h, i, levels);
                if (kl < best) {
                    best = kl;
                    bestI = i;
                }
            }
            double t = amax * bestI / bins;
            return oneSided ? new double[] {min, Math.min(max, t)} : new double[] {Math.max(min, -t), Math.min(max, t)};
        }

        /** KL(P || Q): P the first i bins with the tail folded into the last, Q P merged into levels and spread back over its non-empty bins. */
        private static double klOfClip(double[] h, int i, int levels) {
            double[] p = java.util.Arrays.copyOf(h, i);
            for (int j = i; j < h.length; j++) {
                p[i - 1] += h[j];
            }
            double[] q = new double[i];
            for (int l = 0; l < levels; l++) {
                int from = (int) ((long) l * i / levels), to = (int) ((long) (l + 1) * i / levels);
                double mass = 0;
                int nonzero = 0;
                for (int j = from; j < to; j++) {
                    mass += h[j];
                    nonzero += h[j] > 0 ? 1 : 0;
                }
                for (int j = from; j < to; j++) {
                    q[j] = h[j] > 0 ? mass / nonzero : 0;
                }
            }
            double ps = 0, qs = 0;
            for (int j = 0; j < i; j++) {
                ps += p[j];
                qs += q[j];
            }
            if (ps == 0 || qs == 0) {
                return Double.POSITIVE_INFINITY;
            }
            double kl = 0;
            for (int j = 0; j < i; j++) {
                if (p[j] > 0) {
                    double pj = p[j] / ps, qj = q[j] / qs;
                    kl += qj > 0 ? pj * Math.log(pj / qj) : pj * Math.log(pj / 1e-12); // P's folded tail where Q is empty
                }
            }
            return kl;
        }

        private double[] mseRange(int bits) {
            double[][] vc = centres();
            double lo0 = Math.min(min, 0), hi0 = Math.max(max, 0);
            if (!(hi0 > lo0)) {
                return new double[] {min, max};
            }
            double levels = (1 << bits) - 1, best = Double.POSITIVE_INFINITY, bestA = 1;
            for (int k = 1; k <= 200; k++) {
                double a = k / 200.0, lo = lo0 * a, hi = hi0 * a, step = (hi - lo) / levels, err = 0;
                for (int i = 0; i < vc[0].length; i++) {
                    double v = vc[0][i];
                    if (v < lo) {
                        err += vc[1][i] * (lo - v) * (lo - v);
                    } else if (v > hi) {
                        err += vc[1][i] * (v - hi) * (v - hi);
                    } else {
                        err += vc[1][i] * step * step / 12;
                    }
                }
                if (err < best) {
                    best = err;
                    bestA = a;
                }
            }
            return new double[] {Math.max(min, lo0 * bestA), Math.min(max, hi0 * bestA)};
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
