package io.zsq.runtime;

/**
 * Slow reference arithmetic in {@code long}, written from the definitions (exact products, floor
 * division, explicit half-away-from-zero), not from the kernels it checks.
 */
final class LongReference {
    private LongReference() {}

    /** round_half_away(p / 2^e) for exact p. */
    static long roundHalfAway(long p, int e) {
        if (e == 0) {
            return p;
        }
        long q = Math.floorDiv(p, 1L << e);
        long r = p - q * (1L << e); // 0 <= r < 2^e
        long half = 1L << (e - 1);
        if (r > half || (r == half && p >= 0)) {
            q++;
        }
        return q;
    }

    /** x * m * 2^shift / 2^31 as TFLite defines it: left shift first (wrapping to int32), a high multiply rounding ties up, a shift rounding ties away from zero. */
    static long multiplyByQuantizedMultiplier(int x, int m, int shift) {
        int left = Math.max(shift, 0), right = Math.max(-shift, 0);
        long xs = (int) ((long) x << left); // int32 arithmetic, as the definition uses
        long high;
        if (xs == Integer.MIN_VALUE && m == Integer.MIN_VALUE) {
            high = Integer.MAX_VALUE;
        } else {
            long p = xs * m;
            // round(p / 2^31), ties toward +infinity: gemmlowp's nudge of 1 - 2^30 for negative products
            high = Math.floorDiv(p + (1L << 30), 1L << 31);
        }
        return roundHalfAway(high, right);
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
