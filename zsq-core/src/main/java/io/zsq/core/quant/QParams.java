package io.zsq.core.quant;

import java.io.Serializable;

/**
 * Per-tensor affine quantization {@code q = clamp(round(r / scale) + zeroPoint, qmin, qmax)},
 * {@code r ~ scale * (q - zeroPoint)}. Validated on construction.
 */
public record QParams(float scale, int zeroPoint, int qmin, int qmax) implements Serializable {
    public QParams {
        if (!(scale > 0) || Float.isInfinite(scale)) {
            throw new IllegalArgumentException("scale must be positive and finite, got " + scale);
        }
        if (qmin >= qmax || zeroPoint < qmin || zeroPoint > qmax) {
            throw new IllegalArgumentException("need qmin <= zeroPoint <= qmax, got " + qmin + " <= " + zeroPoint + " <= " + qmax);
        }
    }

    /**
     * The one place a range becomes parameters. Asymmetric: the range is widened to contain 0 and
     * spread over {@code [-2^(b-1), 2^(b-1)-1]}. Symmetric: zero point 0 and the restricted range
     * {@code [-(2^(b-1)-1), 2^(b-1)-1]}.
     */
    public static QParams fromRange(double min, double max, int bits, boolean symmetric) {
        if (bits < 2 || bits > 8) {
            throw new IllegalArgumentException("bit width must be 2..8, got " + bits);
        }
        if (Double.isNaN(min) || Double.isNaN(max) || min > max) {
            throw new IllegalArgumentException("bad range [" + min + ", " + max + "]");
        }
        int qmax = (1 << (bits - 1)) - 1;
        if (symmetric) {
            double a = Math.max(Math.abs(min), Math.abs(max));
            return new QParams(a > 0 ? (float) (a / qmax) : 1f, 0, -qmax, qmax);
        }
        int qmin = -(1 << (bits - 1));
        double lo = Math.min(min, 0), hi = Math.max(max, 0);
        if (hi - lo <= 0) {
            return new QParams(1f, 0, qmin, qmax);
        }
        float scale = (float) ((hi - lo) / (qmax - qmin));
        int zp = (int) Math.round(qmin - lo / scale);
        return new QParams(scale, Math.max(qmin, Math.min(qmax, zp)), qmin, qmax);
    }

    public int quantize(float r) {
        long q = (long) Math.round(r / scale) + zeroPoint; // in long: a saturated round plus the zero point must not wrap
        return (int) Math.max(qmin, Math.min(qmax, q));
    }

    public float dequantize(int q) {
        return scale * (q - zeroPoint);
    }

    public float fakeQuantize(float r) {
        return dequantize(quantize(r));
    }
}
