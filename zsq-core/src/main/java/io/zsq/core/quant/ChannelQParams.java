package io.zsq.core.quant;

import java.io.Serializable;

/**
 * Symmetric weight quantization (zero point 0) with one scale per output channel; per-tensor and
 * group-wise granularity are the same with scales shared across all channels or across groups of
 * consecutive output channels. Restricted range {@code [-(2^(b-1)-1), 2^(b-1)-1]} (the default, as
 * TFLite) or full range {@code [-2^(b-1), 2^(b-1)-1]} with the scale {@code max|w| / (2^(b-1) - 1/2)}.
 */
public record ChannelQParams(float[] scales, int qmin, int qmax) implements Serializable {
    public ChannelQParams {
        scales = scales.clone();
        for (float s : scales) {
            if (!(s > 0) || Float.isInfinite(s)) {
                throw new IllegalArgumentException("channel scale must be positive and finite, got " + s);
            }
        }
        if (qmin >= 0 || qmax <= 0) {
            throw new IllegalArgumentException("need qmin < 0 < qmax, got " + qmin + ", " + qmax);
        }
    }

    /** Per-channel, restricted range: each channel's max |w| maps to qmax. */
    public static ChannelQParams ofWeights(float[] w, int outC, int bits) {
        return ofWeights(w, outC, bits, 1, false);
    }

    /**
     * @param group output channels sharing one scale: 1 per-channel, {@code outC} per-tensor
     * @param fullRange use {@code -2^(b-1)} too
     */
    public static ChannelQParams ofWeights(float[] w, int outC, int bits, int group, boolean fullRange) {
        if (bits < 2 || bits > 8) {
            throw new IllegalArgumentException("weight bit width must be 2..8, got " + bits);
        }
        if (group < 1) {
            throw new IllegalArgumentException("group size must be >= 1, got " + group);
        }
        int per = w.length / outC, qmax = (1 << (bits - 1)) - 1;
        double levels = fullRange ? qmax + 0.5 : qmax;
        float[] s = new float[outC];
        for (int g0 = 0; g0 < outC; g0 += group) {
            int g1 = Math.min(outC, g0 + group);
            double a = 0;
            for (int i = g0 * per; i < g1 * per; i++) {
                a = Math.max(a, Math.abs(w[i]));
            }
            float sc = a > 0 ? (float) (a / levels) : 1f;
            if (a > 0 && a / sc < levels) {
                sc = Math.nextDown(sc); // so that max |w| / scale >= levels exactly (full range: -max lands on qmin)
            }
            for (int c = g0; c < g1; c++) {
                s[c] = sc;
            }
        }
        return new ChannelQParams(s, fullRange ? -qmax - 1 : -qmax, qmax);
    }

    public byte[] quantize(float[] w) {
        int per = w.length / scales.length;
        byte[] q = new byte[w.length];
        for (int i = 0; i < w.length; i++) {
            double v = Math.rint(w[i] / scales[i / per]); // ties to even, as ONNX QuantizeLinear
            q[i] = (byte) Math.max(qmin, Math.min(qmax, v));
        }
        return q;
    }

    public float[] fakeQuantize(float[] w) {
        byte[] q = quantize(w);
        int per = w.length / scales.length;
        float[] r = new float[w.length];
        for (int i = 0; i < w.length; i++) {
            r[i] = q[i] * scales[i / per];
        }
        return r;
    }
}
