package io.zsq.core.exec;

import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.VectorMask;
import jdk.incubator.vector.VectorOperators;

/**
 * Per-tensor fake quantization of activations, forward and straight-through backward, over whole
 * arrays on the Vector API (Level 2 runs them on every activation of every step). The forward equals
 * {@link io.zsq.core.quant.QParams#fakeQuantize} element for element, to the bit: the same IEEE division
 * {@code x / s}, Java's {@code Math.round} (half up; a sum {@code v + 0.5} that rounded up in float is
 * corrected), the clamp, and {@code s * (q - zp)}; {@code QuantKernelsTest} checks it against that
 * scalar definition, ties and large values included.
 */
public final class QuantKernels {
    private QuantKernels() {}

    /** {@code out[i] = s * (clamp(round(x[i] / s) + zp, qmin, qmax) - zp)}. */
    public static void fakeQuantize(float[] x, float s, int zp, int qmin, int qmax, float[] out) {
        int i = 0;
        if (Simd.ENABLED) {
            i = VectorQuant.fakeQuantize(x, s, zp, qmin, qmax, out);
        }
        for (; i < x.length; i++) {
            long q = (long) Math.round(x[i] / s) + zp;
            out[i] = s * ((int) Math.max(qmin, Math.min(qmax, q)) - zp);
        }
    }

    /**
     * The straight-through backward of {@link #fakeQuantize}: zeroes {@code dy} where {@code raw} was clipped
     * (its rounded level outside {@code [qmin, qmax]}) and returns LSQ's {@code sum dy * d(x_hat)/ds} over the
     * array: {@code (q - zp) - x/s} inside, {@code qmin - zp} or {@code qmax - zp} where clipped.
     */
    public static double backward(float[] dy, float[] raw, float s, int zp, int qmin, int qmax) {
        return backward(dy, raw, s, zp, qmin, qmax, true);
    }

    /**
     * {@link #backward(float[], float[], float, int, int, int)}, with the step's gradient inside the clipping
     * range ({@code (q - zp) - x/s}) counted only when {@code inside}; without it the sum is PACT's
     * (Choi et al. 2018): the clipping level's gradient, from the clipped values alone.
     */
    public static double backward(float[] dy, float[] raw, float s, int zp, int qmin, int qmax, boolean inside) {
        int i = 0;
        double acc = 0;
        if (Simd.ENABLED) {
            double[] a = new double[1];
            i = VectorQuant.backward(dy, raw, s, zp, qmin, qmax, inside, a);
            acc = a[0];
        }
        for (; i < dy.length; i++) {
            float v = raw[i] / s;
            long r = (long) Math.round(v) + zp;
            if (r < qmin) {
                acc += dy[i] * (double) (qmin - zp);
                dy[i] = 0;
            } else if (r > qmax) {
                acc += dy[i] * (double) (qmax - zp);
                dy[i] = 0;
            } else if (inside) {
                acc += dy[i] * ((r - zp) - (double) v);
            }
        }
        return acc;
    }

    /** The vector loops (loaded only when {@link Simd#ENABLED}). */
    private static final class VectorQuant {
        private static final jdk.incubator.vector.VectorSpecies<Float> S = VectorConv.S;

        /** 1.5 * 2^23: {@code (v + M) - M} is v rounded to an integer (nearest, ties to even) for |v| below 2^22. */
        private static final float MAGIC = 12582912f;
        /** Levels are within +-255: a level beyond this clamps to the same end, so v is clamped here first. */
        private static final float LIMIT = 1024f;

        /**
         * Math.round(v) (half up) as a float, for v already clamped to +-{@link #LIMIT}: {@code f = floor(v)} (the
         * nearest integer, minus one where it lies above v), plus one where {@code v - f >= 0.5}. That difference is
         * exact in float (Sterbenz for |v| >= 1; for v in (-1, 0) it is 1 + v, which cannot fall below 0.5 when
         * v > -0.5), so no sum {@code v + 0.5} rounds the wrong way. Only compares and blends: JDK 17's C2 boxes
         * the vector conversions.
         */
        private static FloatVector round(FloatVector v) {
            FloatVector zero = FloatVector.zero(S), one = FloatVector.broadcast(S, 1f);
            FloatVector n = v.add(MAGIC).sub(MAGIC);
            FloatVector f = n.sub(zero.blend(one, n.compare(VectorOperators.GT, v)));
            return f.add(zero.blend(one, v.sub(f).compare(VectorOperators.GE, 0.5f)));
        }

        static int fakeQuantize(float[] x, float s, int zp, int qmin, int qmax, float[] out) {
            int bound = S.loopBound(x.length), i = 0;
            float lo = qmin - zp, hi = qmax - zp; // clamp(r + zp, qmin, qmax) - zp = clamp(r, qmin - zp, qmax - zp): small integers, exact
            for (; i < bound; i += S.length()) {
                FloatVector v = FloatVector.fromArray(S, x, i).div(s).max(-LIMIT).min(LIMIT);
                round(v).max(lo).min(hi).mul(s).intoArray(out, i);
            }
            return i;
        }

        static int backward(float[] dy, float[] raw, float s, int zp, int qmin, int qmax, boolean inside, double[] total) {
            int bound = S.loopBound(dy.length), i = 0;
            float lo = qmin - zp, hi = qmax - zp;
            FloatVector acc = FloatVector.zero(S);
            for (; i < bound; i += S.length()) {
                FloatVector v = FloatVector.fromArray(S, raw, i).div(s).max(-LIMIT).min(LIMIT), d = FloatVector.fromArray(S, dy, i);
                FloatVector r = round(v);
                VectorMask<Float> below = r.compare(VectorOperators.LT, lo), above = r.compare(VectorOperators.GT, hi);
                FloatVector term = (inside ? r.sub(v) : FloatVector.zero(S)).blend(FloatVector.broadcast(S, lo), below).blend(FloatVector.broadcast(S, hi), above);
                acc = d.fma(term, acc);
                d.blend(FloatVector.zero(S), below.or(above)).intoArray(dy, i);
            }
            total[0] = acc.reduceLanes(VectorOperators.ADD);
            return i;
        }
    }
}
