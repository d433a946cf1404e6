package io.zsq.runtime;

import static io.zsq.runtime.FixedPoint.clamp;
import static io.zsq.runtime.FixedPoint.multiplyByQuantizedMultiplier;

import jdk.incubator.vector.ByteVector;
import jdk.incubator.vector.IntVector;
import jdk.incubator.vector.LongVector;
import jdk.incubator.vector.VectorOperators;
import jdk.incubator.vector.VectorShape;
import jdk.incubator.vector.VectorSpecies;

/**
 * int8 convolution with the JDK Vector API: an im2col of the raw int8 input (padding holds the input
 * zero point) and, per group, a GEMM {@code acc[o][p] = sum_k w[o][k] x[k][p]} whose int8 operands
 * are widened to int32 lanes ({@code B2I}) and multiplied-accumulated in a register tile of 4 output
 * channels x 2 vectors of output positions. The zero point comes out as a per-channel constant,
 * {@code acc = bias - zx * sum_k w[o][k] + sum_k w[o][k] x[k]}. When there are fewer output positions
 * than lanes (dense layers) the product runs along k instead. Integer sums are exact in any order, so
 * the results equal {@link Kernels}' scalar loops bit for bit (tested). Only loaded when the
 * {@code jdk.incubator.vector} module is present (see {@link IntSimd}). As in zsq-core's float
 * kernels, vectors live only inside one flat loop (JDK 17's C2 boxes vectors carried through nested
 * loops).
 */
final class VectorKernels {
    static final VectorSpecies<Integer> I = IntVector.SPECIES_PREFERRED;
    static final VectorSpecies<Byte> B = VectorSpecies.of(byte.class, VectorShape.forBitSize(I.length() * 8));
    static final int L = I.length();
    static final VectorSpecies<Long> LS = VectorSpecies.of(long.class, I.vectorShape());

    private VectorKernels() {}

    static byte[] conv(Layer.Conv c, byte[] x) {
        if (c.groups() > 1 && c.groups() == c.inShape()[0] && c.groups() == c.outShape()[0] && c.strideW() == 1) {
            return depthwise(c, x);
        }
        int inC = c.inShape()[0], inH = c.inShape()[1], inW = c.inShape()[2];
        int outC = c.outShape()[0], outH = c.outShape()[1], outW = c.outShape()[2];
        int groups = c.groups(), cpg = inC / groups, opg = outC / groups;
        int kh = c.kh(), kw = c.kw(), k = cpg * kh * kw, p = outH * outW;
        byte[] w = c.weights();
        byte zx = (byte) c.inZeroPoint();
        int pp = p >= L ? (p + 2 * L - 1) / (2 * L) * (2 * L) : p; // positions padded to whole tiles
        byte[] cols = new byte[k * pp];
        int[] acc = new int[opg * pp];
        byte[] y = new byte[outC * p];
        for (int g = 0; g < groups; g++) {
            im2col(c, x, g * cpg, cpg, cols, pp, zx);
            if (p >= L) {
                gemm(w, g * opg * k, opg, k, cols, pp, acc);
            } else {
                dots(w, g * opg * k, opg, k, cols, pp, p, acc);
            }
            for (int oo = 0; oo < opg; oo++) {
                int o = g * opg + oo;
                int wsum = 0;
                for (int kk = 0; kk < k; kk++) {
                    wsum += w[o * k + kk];
                }
                int base = c.bias()[o] - c.inZeroPoint() * wsum;
                requantize(acc, oo * pp, p, base, c.multiplier()[o], c.shift()[o], c.outZeroPoint(), c.actMin(), c.actMax(), y, o * p);
            }
        }
        return y;
    }

    /**
     * Depthwise convolution with unit horizontal stride, without im2col: each channel's plane is copied
     * into a buffer padded with the input zero point (and L columns of slack), and every output row
     * is a sum over the taps of the weight times a contiguous slice of a padded input row, L positions
     * at a time.
     */
    private static byte[] depthwise(Layer.Conv c, byte[] x) {
        int ch = c.inShape()[0], inH = c.inShape()[1], inW = c.inShape()[2], outH = c.outShape()[1], outW = c.outShape()[2];
        int kh = c.kh(), kw = c.kw(), sh = c.strideH(), pt = c.padTop(), pl = c.padLeft(), taps = kh * kw;
        int rows = (outH - 1) * sh + kh, pw = (outW + L - 1) / L * L + kw; // padded plane: rows x pw
        byte zx = (byte) c.inZeroPoint();
        byte[] plane = new byte[rows * pw];
        int owv = (outW + L - 1) / L * L, p = outH * outW;
        int[] acc = new int[outH * owv];
        int[] off = new int[taps];
        byte[] y = new byte[ch * p];
        int[] packed = new int[p];
        for (int t = 0; t < taps; t++) {
            off[t] = (t / kw) * pw + t % kw;
        }
        for (int o = 0; o < ch; o++) {
            java.util.Arrays.fill(plane, zx);
            for (int r = 0; r < rows; r++) {
                int iy = r - pt;
                if (iy >= 0 && iy < inH) {
                    int ix0 = Math.max(0, -pl), ix1 = Math.min(inW, pw - pl);
                    System.arraycopy(x, (o * inH + iy) * inW + ix0, plane, r * pw + ix0 + pl, ix1 - ix0);
                }
            }
            int w0 = o * taps, wsum = 0;
            for (int t = 0; t < taps; t++) {
                wsum += c.weights()[w0 + t];
            }
            for (int oy = 0; oy < outH; oy++) {
                int rowBase = oy * sh * pw;
                for (int ox = 0; ox < owv; ox += L) {
                    IntVector a = IntVector.zero(I);
                    for (int t = 0; t < taps; t++) {
                        a = ((IntVector) ByteVector.fromArray(B, plane, rowBase + off[t] + ox).convertShape(VectorOperators.B2I, I, 0))
                                .mul(c.weights()[w0 + t]).add(a);
                    }
                    a.intoArray(acc, oy * owv + ox);
                }
            }
            for (int oy = 0; oy < outH; oy++) {
                System.arraycopy(acc, oy * owv, packed, oy * outW, outW);
            }
            requantize(packed, 0, p, c.bias()[o] - c.inZeroPoint() * wsum, c.multiplier()[o], c.shift()[o], c.outZeroPoint(), c.actMin(),
                    c.actMax(), y, o * p);
        }
        return y;
    }

    /**
     * {@code y = clamp(zo + round((base + acc) * m * 2^s / 2^31), lo, hi)}, the single rounding of
     * {@link FixedPoint#multiplyByQuantizedMultiplier}, in 64-bit lanes: the two halves of each int
     * vector are widened, multiplied, rounded by an arithmetic shift, clamped (which makes int32
     * saturation moot) and narrowed back.
     */
    private static void requantize(int[] acc, int off, int n, int base, int m, int s, int zo, int lo, int hi, byte[] y, int yoff) {
        int t = 31 - s;
        long round = 1L << (t - 1), lo2 = (long) lo - zo, hi2 = (long) hi - zo;
        int nv = n - n % L;
        for (int i = 0; i < nv; i += L) {
            IntVector a = IntVector.fromArray(I, acc, off + i).add(base);
            LongVector v0 = ((LongVector) a.convertShape(VectorOperators.I2L, LS, 0)).mul(m).add(round)
                    .lanewise(VectorOperators.ASHR, t).max(lo2).min(hi2).add(zo);
            LongVector v1 = ((LongVector) a.convertShape(VectorOperators.I2L, LS, 1)).mul(m).add(round)
                    .lanewise(VectorOperators.ASHR, t).max(lo2).min(hi2).add(zo);
            IntVector r = ((IntVector) v0.convertShape(VectorOperators.L2I, I, 0)).add((IntVector) v1.convertShape(VectorOperators.L2I, I, -1));
            ((ByteVector) r.convertShape(VectorOperators.I2B, B, 0)).intoArray(y, yoff + i);
        }
        for (int i = nv; i < n; i++) {
            y[yoff + i] = (byte) clamp((long) zo + multiplyByQuantizedMultiplier(base + acc[off + i], m, s), lo, hi);
        }
    }

    /** Rows {@code (ic, ky, kx)} of the group's raw input, {@code pp} wide; outside the image, the zero point. */
    private static void im2col(Layer.Conv c, byte[] x, int c0, int cpg, byte[] cols, int pp, byte zx) {
        int inH = c.inShape()[1], inW = c.inShape()[2], outH = c.outShape()[1], outW = c.outShape()[2];
        int kh = c.kh(), kw = c.kw(), sh = c.strideH(), sw = c.strideW(), pt = c.padTop(), pl = c.padLeft();
        if (kh == 1 && kw == 1 && sh == 1 && sw == 1 && pt == 0 && pl == 0 && outH == inH && outW == inW) {
            int p = inH * inW; // pointwise: each row is an input plane
            for (int ic = 0; ic < cpg; ic++) {
                System.arraycopy(x, (c0 + ic) * p, cols, ic * pp, p);
                java.util.Arrays.fill(cols, ic * pp + p, (ic + 1) * pp, zx);
            }
            return;
        }
        java.util.Arrays.fill(cols, zx);
        for (int ic = 0; ic < cpg; ic++) {
            int plane = (c0 + ic) * inH;
            for (int ky = 0; ky < kh; ky++) {
                for (int kx = 0; kx < kw; kx++) {
                    int row = ((ic * kh + ky) * kw + kx) * pp;
                    for (int oy = 0; oy < outH; oy++) {
                        int iy = oy * sh - pt + ky;
                        if (iy < 0 || iy >= inH) {
                            continue;
                        }
                        int src = (plane + iy) * inW, dst = row + oy * outW;
                        if (sw == 1) {
                            int ox0 = Math.max(0, pl - kx), ox1 = Math.min(outW, inW + pl - kx); // ix = ox - pl + kx inside
                            if (ox1 > ox0) {
                                System.arraycopy(x, src + ox0 - pl + kx, cols, dst + ox0, ox1 - ox0);
                            }
                        } else {
                            for (int ox = 0; ox < outW; ox++) {
                                int ix = ox * sw - pl + kx;
                                if (ix >= 0 && ix < inW) {
                                    cols[dst + ox] = x[src + ix];
                                }
                            }
                        }
                    }
                }
            }
        }
    }

    /**
     * {@code acc[o][p] = sum_k w[w0 + o*k + kk] * cols[kk][p]} for {@code pp} a multiple of 2L: tiles of
     * 4 (or 1) channels x 2 vectors, one flat loop over k per tile.
     */
    private static void gemm(byte[] w, int w0, int rows, int k, byte[] cols, int pp, int[] acc) {
        int o = 0;
        for (; o + 4 <= rows; o += 4) {
            int r0 = w0 + o * k, r1 = r0 + k, r2 = r1 + k, r3 = r2 + k;
            for (int p = 0; p < pp; p += 2 * L) {
                IntVector a00 = IntVector.zero(I), a01 = IntVector.zero(I), a10 = IntVector.zero(I), a11 = IntVector.zero(I);
                IntVector a20 = IntVector.zero(I), a21 = IntVector.zero(I), a30 = IntVector.zero(I), a31 = IntVector.zero(I);
                for (int kk = 0, off = p; kk < k; kk++, off += pp) {
                    IntVector x0 = (IntVector) ByteVector.fromArray(B, cols, off).convertShape(VectorOperators.B2I, I, 0);
                    IntVector x1 = (IntVector) ByteVector.fromArray(B, cols, off + L).convertShape(VectorOperators.B2I, I, 0);
                    int v0 = w[r0 + kk], v1 = w[r1 + kk], v2 = w[r2 + kk], v3 = w[r3 + kk];
                    a00 = x0.mul(v0).add(a00);
                    a01 = x1.mul(v0).add(a01);
                    a10 = x0.mul(v1).add(a10);
                    a11 = x1.mul(v1).add(a11);
                    a20 = x0.mul(v2).add(a20);
                    a21 = x1.mul(v2).add(a21);
                    a30 = x0.mul(v3).add(a30);
                    a31 = x1.mul(v3).add(a31);
                }
                a00.intoArray(acc, o * pp + p);
                a01.intoArray(acc, o * pp + p + L);
                a10.intoArray(acc, (o + 1) * pp + p);
                a11.intoArray(acc, (o + 1) * pp + p + L);
                a20.intoArray(acc, (o + 2) * pp + p);
                a21.intoArray(acc, (o + 2) * pp + p + L);
                a30.intoArray(acc, (o + 3) * pp + p);
                a31.intoArray(acc, (o + 3) * pp + p + L);
            }
        }
        for (; o < rows; o++) {
            int r0 = w0 + o * k;
            for (int p = 0; p < pp; p += 2 * L) {
                IntVector a0 = IntVector.zero(I), a1 = IntVector.zero(I);
                for (int kk = 0, off = p; kk < k; kk++, off += pp) {
                    int v0 = w[r0 + kk];
                    a0 = ((IntVector) ByteVector.fromArray(B, cols, off).convertShape(VectorOperators.B2I, I, 0)).mul(v0).add(a0);
                    a1 = ((IntVector) ByteVector.fromArray(B, cols, off + L).convertShape(VectorOperators.B2I, I, 0)).mul(v0).add(a1);
                }
                a0.intoArray(acc, o * pp + p);
                a1.intoArray(acc, o * pp + p + L);
            }
        }
    }

    /** Few positions (a dense layer has one): for each row and position, a dot product along k in vectors. */
    private static void dots(byte[] w, int w0, int rows, int k, byte[] cols, int pp, int p, int[] acc) {
        byte[] col = new byte[k];
        int kv = k - k % L;
        for (int i = 0; i < p; i++) {
            for (int kk = 0; kk < k; kk++) {
                col[kk] = cols[kk * pp + i];
            }
            for (int o = 0; o < rows; o++) {
                int r = w0 + o * k;
                IntVector a = IntVector.zero(I);
                for (int kk = 0; kk < kv; kk += L) {
                    IntVector xv = (IntVector) ByteVector.fromArray(B, col, kk).convertShape(VectorOperators.B2I, I, 0);
                    IntVector wv = (IntVector) ByteVector.fromArray(B, w, r + kk).convertShape(VectorOperators.B2I, I, 0);
                    a = xv.mul(wv).add(a);
                }
                int s = a.reduceLanes(VectorOperators.ADD);
                for (int kk = kv; kk < k; kk++) {
                    s += w[r + kk] * col[kk];
                }
                acc[o * pp + i] = s;
            }
        }
    }
}
