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
}
