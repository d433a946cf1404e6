package io.zsq.core.quant;

import java.io.Serializable;

/** Per-output-channel symmetric weight quantization (zero point 0), restricted range. */
public record ChannelQParams(float[] scales, int qmax) implements Serializable {
    public ChannelQParams {
        scales = scales.clone();
        for (float s : scales) {
            if (!(s > 0) || Float.isInfinite(s)) {
                throw new IllegalArgumentException("channel scale must be positive and finite, got " + s);
            }
        }
    }

    /** Per-channel parameters of weights laid out {@code [outC, ...]}: each channel's max |w| maps to qmax. */
    public static ChannelQParams ofWeights(float[] w, int outC, int bits) {
        int per = w.length / outC;
        float[] s = new float[outC];
        int qmax = 0;
        for (int c = 0; c < outC; c++) {
            double lo = 0, hi = 0;
            for (int i = 0; i < per; i++) {
                lo = Math.min(lo, w[c * per + i]);
                hi = Math.max(hi, w[c * per + i]);
            }
            QParams q = QParams.fromRange(lo, hi, bits, true);
            s[c] = q.scale();
            qmax = q.qmax();
        }
        return new ChannelQParams(s, qmax);
    }

    public byte[] quantize(float[] w) {
        int per = w.length / scales.length;
        byte[] q = new byte[w.length];
        for (int i = 0; i < w.length; i++) {
            long v = Math.round(w[i] / scales[i / per]);
            q[i] = (byte) Math.max(-qmax, Math.min(qmax, v));
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
