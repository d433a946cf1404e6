package io.zsq.runtime;

import java.math.BigDecimal;
import java.math.BigInteger;
import java.math.RoundingMode;

/**
 * Slow reference arithmetic in {@code long} and exact decimals, written from the definitions (exact
 * products, explicit {@code floor(v + 1/2)}), not from the kernels it checks.
 */
final class LongReference {
    private LongReference() {}

    /** floor(p / 2^e + 1/2), exact, in decimal arithmetic: to nearest, ties toward positive infinity. */
    static long roundHalfUp(BigInteger p, int e) {
        return new BigDecimal(p).divide(new BigDecimal(BigInteger.ONE.shiftLeft(e)))
                .add(new BigDecimal("0.5")).setScale(0, RoundingMode.FLOOR).longValueExact();
    }

    /** x * m * 2^shift / 2^31 rounded once to nearest (ties up) and saturated to int32: the runtime's requantization. */
    static long multiplyByQuantizedMultiplier(int x, int m, int shift) {
        long v = roundHalfUp(BigInteger.valueOf(x).multiply(BigInteger.valueOf(m)), 31 - shift);
        return Math.max(Integer.MIN_VALUE, Math.min(Integer.MAX_VALUE, v));
    }

    static byte[] conv(Layer.Conv c, byte[] x) {
        int inC = c.inShape()[0], inH = c.inShape()[1], inW = c.inShape()[2];
        int outC = c.outShape()[0], outH = c.outShape()[1], outW = c.outShape()[2];
        int cpg = inC / c.groups(), opg = outC / c.groups();
        byte[] y = new byte[outC * outH * outW];
        for (int o = 0; o < outC; o++) {
            for (int oy = 0; oy < outH; oy++) {
                for (int ox = 0; ox < outW; ox++) {
                    long acc = c.bias()[o];
                    for (int ic = 0; ic < cpg; ic++) {
                        int ch = (o / opg) * cpg + ic;
                        for (int ky = 0; ky < c.kh(); ky++) {
                            for (int kx = 0; kx < c.kw(); kx++) {
                                long iy = (long) oy * c.strideH() - c.padTop() + ky, ix = (long) ox * c.strideW() - c.padLeft() + kx;
                                long xv = (iy < 0 || iy >= inH || ix < 0 || ix >= inW) ? c.inZeroPoint()
                                        : x[(int) ((ch * inH + iy) * inW + ix)];
                                long wv = c.weights()[((o * cpg + ic) * c.kh() + ky) * c.kw() + kx];
                                acc += (xv - c.inZeroPoint()) * wv;
                            }
                        }
                    }
                    long v = c.outZeroPoint() + multiplyByQuantizedMultiplier((int) acc, c.multiplier()[o], c.shift()[o]);
                    y[(o * outH + oy) * outW + ox] = (byte) Math.max(c.actMin(), Math.min(c.actMax(), v));
                }
            }
        }
        return y;
    }

    /** The integer ADD: each input rescaled to the common scale, summed, rescaled to the output. */
    static byte[] add(Layer.Add a, byte[] xa, byte[] xb) {
        byte[] y = new byte[xa.length];
        for (int i = 0; i < y.length; i++) {
            long va = multiplyByQuantizedMultiplier((int) (((long) xa[i] - a.aZeroPoint()) << a.leftShift()), a.aMultiplier(), a.aShift());
            long vb = multiplyByQuantizedMultiplier((int) (((long) xb[i] - a.bZeroPoint()) << a.leftShift()), a.bMultiplier(), a.bShift());
            long v = a.outZeroPoint() + multiplyByQuantizedMultiplier((int) (va + vb), a.outMultiplier(), a.outShift());
            y[i] = (byte) Math.max(a.actMin(), Math.min(a.actMax(), v));
        }
        return y;
    }

    /** Max over the window's positions inside the input. */
    static byte[] maxPool(Layer.MaxPool p, byte[] x) {
        int c = p.inShape()[0], inH = p.inShape()[1], inW = p.inShape()[2], outH = p.outShape()[1], outW = p.outShape()[2];
        byte[] y = new byte[c * outH * outW];
        for (int ch = 0; ch < c; ch++) {
            for (int oy = 0; oy < outH; oy++) {
                for (int ox = 0; ox < outW; ox++) {
                    long best = Long.MIN_VALUE;
                    for (int ky = 0; ky < p.kh(); ky++) {
                        for (int kx = 0; kx < p.kw(); kx++) {
                            long iy = (long) oy * p.strideH() - p.padTop() + ky, ix = (long) ox * p.strideW() - p.padLeft() + kx;
                            if (iy >= 0 && iy < inH && ix >= 0 && ix < inW) {
                                best = Math.max(best, x[(int) ((ch * inH + iy) * inW + ix)]);
                            }
                        }
                    }
                    y[(ch * outH + oy) * outW + ox] = (byte) best;
                }
            }
        }
        return y;
    }

    /** Mean over the window (padding counted as the zero point, or not counted), rounded to nearest, ties up, in doubles. */
    static byte[] avgPool(Layer.AvgPool p, byte[] x) {
        int c = p.inShape()[0], inH = p.inShape()[1], inW = p.inShape()[2], outH = p.outShape()[1], outW = p.outShape()[2];
        byte[] y = new byte[c * outH * outW];
        for (int ch = 0; ch < c; ch++) {
            for (int oy = 0; oy < outH; oy++) {
                for (int ox = 0; ox < outW; ox++) {
                    long sum = 0, count = 0;
                    for (int ky = 0; ky < p.kh(); ky++) {
                        for (int kx = 0; kx < p.kw(); kx++) {
                            long iy = (long) oy * p.strideH() - p.padTop() + ky, ix = (long) ox * p.strideW() - p.padLeft() + kx;
                            boolean inside = iy >= 0 && iy < inH && ix >= 0 && ix < inW;
                            if (inside || p.countIncludePad()) {
                                sum += inside ? x[(int) ((ch * inH + iy) * inW + ix)] : p.zeroPoint();
                                count++;
                            }
                        }
                    }
                    y[(ch * outH + oy) * outW + ox] = (byte) Math.floor((double) sum / count + 0.5); // exact: small integers, halves representable
                }
            }
        }
        return y;
    }

    /** Output element (c, y, x) is input element (start + index * step) on each axis, in NCHW order. */
    static byte[] slice(Layer.Slice s, byte[] x) {
        int[] in = s.inShape(), out = s.outShape(), st = s.starts(), sp = s.steps();
        byte[] y = new byte[out[0] * out[1] * out[2]];
        for (int c = 0; c < out[0]; c++) {
            for (int oy = 0; oy < out[1]; oy++) {
                for (int ox = 0; ox < out[2]; ox++) {
                    long ic = st[0] + (long) c * sp[0], iy = st[1] + (long) oy * sp[1], ix = st[2] + (long) ox * sp[2];
                    y[(c * out[1] + oy) * out[2] + ox] = x[(int) ((ic * in[1] + iy) * in[2] + ix)];
                }
            }
        }
        return y;
    }

    /** Output element (c, y, x) is input element (c - begin[0], y - begin[1], x - begin[2]) where that exists, else the fill. */
    static byte[] pad(Layer.Pad p, byte[] x) {
        int[] in = p.inShape(), out = p.outShape(), b = p.begin();
        byte[] y = new byte[out[0] * out[1] * out[2]];
        for (int c = 0; c < out[0]; c++) {
            for (int oy = 0; oy < out[1]; oy++) {
                for (int ox = 0; ox < out[2]; ox++) {
                    long ic = c - b[0], iy = oy - b[1], ix = ox - b[2];
                    boolean inside = ic >= 0 && ic < in[0] && iy >= 0 && iy < in[1] && ix >= 0 && ix < in[2];
                    y[(c * out[1] + oy) * out[2] + ox] = inside ? x[(int) ((ic * in[1] + iy) * in[2] + ix)] : (byte) p.fill();
                }
            }
        }
        return y;
    }

    /** y[c][h][w] = clamp(zo + round((a[c|0][h|0][w|0] - za) * (b[...] - zb) * M)): broadcasting from the definition. */
    static byte[] mul(Layer.Mul m, byte[] xa, byte[] xb) {
        int[] o = m.outShape(), as = m.aShape(), bs = m.bShape();
        byte[] y = new byte[o[0] * o[1] * o[2]];
        for (int c = 0; c < o[0]; c++) {
            for (int h = 0; h < o[1]; h++) {
                for (int w = 0; w < o[2]; w++) {
                    long va = xa[(Math.min(c, as[0] - 1) * as[1] + Math.min(h, as[1] - 1)) * as[2] + Math.min(w, as[2] - 1)];
                    long vb = xb[(Math.min(c, bs[0] - 1) * bs[1] + Math.min(h, bs[1] - 1)) * bs[2] + Math.min(w, bs[2] - 1)];
                    long v = m.outZeroPoint() + multiplyByQuantizedMultiplier((int) ((va - m.aZeroPoint()) * (vb - m.bZeroPoint())),
                            m.multiplier(), m.shift());
                    y[(c * o[1] + h) * o[2] + w] = (byte) Math.max(m.actMin(), Math.min(m.actMax(), v));
                }
            }
        }
        return y;
    }

    /** Input k's channels, each value requantized: clamp(zo + round((x - z_k) * M_k)), in order along C. */
    static byte[] concat(Layer.Concat c, byte[][] x) {
        int plane = c.outShape()[1] * c.outShape()[2];
        byte[] y = new byte[c.outShape()[0] * plane];
        int ch = 0;
        for (int k = 0; k < x.length; k++) {
            for (int i = 0; i < c.channels()[k]; i++, ch++) {
                for (int p = 0; p < plane; p++) {
                    long v = c.outZeroPoint() + multiplyByQuantizedMultiplier(x[k][i * plane + p] - c.zeroPoint()[k], c.multiplier()[k],
                            c.shift()[k]);
                    y[ch * plane + p] = (byte) Math.max(c.actMin(), Math.min(c.actMax(), v));
                }
            }
        }
        return y;
    }
}
