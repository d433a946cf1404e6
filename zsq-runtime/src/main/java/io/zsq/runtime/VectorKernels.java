package io.zsq.runtime;

import static io.zsq.runtime.FixedPoint.clamp;
import static io.zsq.runtime.FixedPoint.multiplyByQuantizedMultiplier;

import java.nio.ByteOrder;
import jdk.incubator.vector.ByteVector;
import jdk.incubator.vector.IntVector;
import jdk.incubator.vector.LongVector;
import jdk.incubator.vector.ShortVector;
import jdk.incubator.vector.VectorOperators;
import jdk.incubator.vector.VectorShape;
import jdk.incubator.vector.VectorSpecies;

/**
 * int8 convolution with the JDK Vector API: an im2col of the raw int8 input (padding holds the input
 * zero point) and, per group, a GEMM {@code acc[o][p] = sum_k w[o][k] x[k][p]} whose int8 operands
 * are widened to int32 lanes ({@code B2I}) and multiplied-accumulated in a register tile of 4 output
 * channels x 2 vectors of output positions. The zero point comes out as a per-channel constant,
 * {@code acc = bias - zx * sum_k w[o][k] + sum_k w[o][k] x[k]}. When there are fewer output positions
 * than lanes (dense layers) the product runs along k instead; depthwise layers skip im2col. Residual
 * adds rescale in 64-bit lanes; pooling runs over padded planes in byte (max) or int (average) lanes.
 * Integer sums are exact in any order, so the results equal {@link Kernels}' scalar loops bit for bit
 * (tested). Only loaded when the {@code jdk.incubator.vector} module is present (see {@link IntSimd}).
 * As in zsq-core's float kernels, vectors live only inside one flat loop (JDK 17's C2 boxes vectors
 * carried through nested loops). One vector shape per element type, on purpose: half-width adds (a
 * 64-bit byte species, or 256-bit ints next to the 512-bit ones) ran 2-4x faster on their own, but
 * made the byte max pooling 3x and the GEMM 1.6x slower in the same process (JDK 17, measured), so
 * they were taken out again.
 */
final class VectorKernels {
    static final VectorSpecies<Integer> I = IntVector.SPECIES_PREFERRED;
    static final VectorSpecies<Byte> B = VectorSpecies.of(byte.class, VectorShape.forBitSize(I.length() * 8));
    static final int L = I.length();
    static final VectorSpecies<Long> LS = VectorSpecies.of(long.class, I.vectorShape());
    static final VectorSpecies<Short> S = VectorSpecies.of(short.class, VectorShape.forBitSize(L * 16));

    private VectorKernels() {}

    static byte[] conv(Layer.Conv c, byte[] x) {
        if (c.groups() > 1 && c.groups() == c.inShape()[0] && c.groups() == c.outShape()[0]) {
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
     * Depthwise convolution without im2col. Each channel's plane, padded with the input zero point, is
     * split into {@code strideH x strideW} phase planes (padded row {@code r} and column {@code j} go
     * to phase {@code (r % sh, j % sw)} at {@code (r / sh, j / sw)}), each {@code outW + (kw - 1) / sw}
     * wide. Then output {@code (oy, ox)} is {@code sum_t w_t * phase_t[(oy + ky / sh) * pw + ox + kx / sw]},
     * so over the flat index {@code q = oy * pw + ox} every tap reads one contiguous run: the whole
     * channel is one loop over q, L positions at a time, across rows (the columns past {@code outW}
     * are computed and dropped).
     */
    private static byte[] depthwise(Layer.Conv c, byte[] x) {
        int ch = c.inShape()[0], inH = c.inShape()[1], inW = c.inShape()[2], outH = c.outShape()[1], outW = c.outShape()[2];
        int kh = c.kh(), kw = c.kw(), sh = c.strideH(), sw = c.strideW(), pt = c.padTop(), pl = c.padLeft(), taps = kh * kw;
        int pw = outW + (kw - 1) / sw, prow = outH + (kh - 1) / sh, phase = prow * pw;
        int nq = (outH * pw + L - 1) / L * L, p = outH * outW;
        byte zx = (byte) c.inZeroPoint();
        byte[] plane = new byte[sh * sw * phase + pw + L]; // slack: lanes past the last output read beyond the phases
        int[] acc = new int[nq], packed = new int[p], off = new int[taps];
        byte[] y = new byte[ch * p];
        for (int t = 0; t < taps; t++) {
            int ky = t / kw, kx = t % kw;
            off[t] = ((ky % sh) * sw + kx % sw) * phase + (ky / sh) * pw + kx / sw;
        }
        int pwv = (pw + L - 1) / L * L;
        byte[] row = new byte[2 * pwv], even = new byte[pwv], odd = new byte[pwv]; // stride 2: one padded input row, split
        java.util.Arrays.fill(row, zx);
        int rows = Math.min(inH, prow * sh - pt), cols = Math.min(inW, pw * sw - pl); // input rows and columns that land in a phase
        for (int o = 0; o < ch; o++) {
            java.util.Arrays.fill(plane, zx);
            for (int iy = Math.max(0, -pt); iy < rows; iy++) {
                int r = iy + pt, src = (o * inH + iy) * inW, dst = (r % sh) * sw * phase + (r / sh) * pw;
                if (sw == 1) {
                    System.arraycopy(x, src, plane, dst + pl, cols);
                } else if (sw == 2) { // the padded row as little-endian shorts: low bytes are the even columns, high bytes the odd
                    System.arraycopy(x, src, row, pl, cols);
                    for (int i = 0; i < pw; i += L) {
                        ShortVector v = ShortVector.fromByteArray(S, row, 2 * i, ByteOrder.LITTLE_ENDIAN);
                        ((ByteVector) v.convertShape(VectorOperators.S2B, B, 0)).intoArray(even, i);
                        ((ByteVector) v.lanewise(VectorOperators.ASHR, 8).convertShape(VectorOperators.S2B, B, 0)).intoArray(odd, i);
                    }
                    System.arraycopy(even, 0, plane, dst, pw);
                    System.arraycopy(odd, 0, plane, dst + phase, pw);
                } else {
                    for (int b = 0; b < sw; b++) { // phase b holds the input columns with (ix + pl) % sw == b
                        int ix = Math.floorMod(b - pl, sw);
                        for (int d = dst + b * phase + (ix + pl) / sw; ix < cols; ix += sw, d++) {
                            plane[d] = x[src + ix];
                        }
                    }
                }
            }
            int w0 = o * taps, wsum = 0;
            for (int t = 0; t < taps; t++) {
                wsum += c.weights()[w0 + t];
            }
            for (int q = 0; q < nq; q += L) {
                IntVector a = IntVector.zero(I);
                for (int t = 0; t < taps; t++) {
                    a = ((IntVector) ByteVector.fromArray(B, plane, off[t] + q).convertShape(VectorOperators.B2I, I, 0)).mul(c.weights()[w0 + t])
                            .add(a);
                }
                a.intoArray(acc, q);
            }
            for (int oy = 0; oy < outH; oy++) {
                System.arraycopy(acc, oy * pw, packed, oy * outW, outW);
            }
            requantize(packed, 0, p, c.bias()[o] - c.inZeroPoint() * wsum, c.multiplier()[o], c.shift()[o], c.outZeroPoint(), c.actMin(),
                    c.actMax(), y, o * p);
        }
        return y;
    }

    /**
     * {@link Kernels#scalarAdd}: both inputs widened to int lanes, shifted left, and rescaled to the
     * common scale in 64-bit lanes (saturated to int32 like the scalar multiply); their int sum then
     * goes through {@link #requantize} (one fused loop measured slower: 46 against 32 us on a
     * 16x28x28 add).
     */
    static byte[] add(Layer.Add a, byte[] xa, byte[] xb) {
        int n = xa.length, nv = n - n % L, ls = a.leftShift(), za = a.aZeroPoint(), zb = a.bZeroPoint();
        int am = a.aMultiplier(), bm = a.bMultiplier(), ta = 31 - a.aShift(), tb = 31 - a.bShift();
        long ra = 1L << (ta - 1), rb = 1L << (tb - 1);
        int[] sum = new int[n];
        for (int i = 0; i < nv; i += L) {
            IntVector va = ((IntVector) ByteVector.fromArray(B, xa, i).convertShape(VectorOperators.B2I, I, 0)).sub(za)
                    .lanewise(VectorOperators.LSHL, ls);
            IntVector vb = ((IntVector) ByteVector.fromArray(B, xb, i).convertShape(VectorOperators.B2I, I, 0)).sub(zb)
                    .lanewise(VectorOperators.LSHL, ls);
            rescale(va, am, ta, ra, Integer.MIN_VALUE, Integer.MAX_VALUE).add(rescale(vb, bm, tb, rb, Integer.MIN_VALUE, Integer.MAX_VALUE))
                    .intoArray(sum, i);
        }
        for (int i = nv; i < n; i++) {
            sum[i] = multiplyByQuantizedMultiplier((xa[i] - za) << ls, am, a.aShift())
                    + multiplyByQuantizedMultiplier((xb[i] - zb) << ls, bm, a.bShift());
        }
        byte[] y = new byte[n];
        requantize(sum, 0, n, 0, a.outMultiplier(), a.outShift(), a.outZeroPoint(), a.actMin(), a.actMax(), y, 0);
        return y;
    }

    /**
     * {@link FixedPoint#multiplyByQuantizedMultiplier} on int lanes ({@code t = 31 - shift}, {@code round =
     * 2^(t-1)}) in two halves of 64-bit lanes, clamped to {@code [lo, hi]} (int32 saturation, or a
     * narrower range that makes it moot) before narrowing back.
     */
    private static IntVector rescale(IntVector a, int m, int t, long round, long lo, long hi) {
        LongVector v0 = ((LongVector) a.convertShape(VectorOperators.I2L, LS, 0)).mul(m).add(round).lanewise(VectorOperators.ASHR, t)
                .max(lo).min(hi);
        LongVector v1 = ((LongVector) a.convertShape(VectorOperators.I2L, LS, 1)).mul(m).add(round).lanewise(VectorOperators.ASHR, t)
                .max(lo).min(hi);
        return ((IntVector) v0.convertShape(VectorOperators.L2I, I, 0)).add((IntVector) v1.convertShape(VectorOperators.L2I, I, -1));
    }

    /**
     * Whether every pooling window holds at least one input position (so a padded value never decides
     * a max and no average divides by zero); the vector pooling kernels are used only then.
     */
    static boolean windowsTouchInput(int[] in, int[] out, int kh, int kw, int sh, int sw, int pt, int pl) {
        return kh - 1 - pt >= 0 && kw - 1 - pl >= 0 && (out[1] - 1) * sh - pt <= in[1] - 1 && (out[2] - 1) * sw - pl <= in[2] - 1;
    }

    /**
     * Max pooling in byte lanes: per output row, the column-wise max over the window's rows of a
     * plane padded with -128, then the max over the window's columns at every column, of which each
     * {@code strideW}-th is an output.
     */
    static byte[] maxPool(Layer.MaxPool p, byte[] x) {
        Window w = new Window(p.inShape(), p.outShape(), p.kh(), p.kw(), p.strideH(), p.strideW(), p.padTop(), p.padLeft());
        byte[] plane = new byte[w.rows * w.pw], vm = new byte[w.pw], y = new byte[w.ch * w.outH * w.outW];
        for (int o = 0; o < w.ch; o++) {
            w.fill(plane, x, o, Byte.MIN_VALUE);
            for (int oy = 0; oy < w.outH; oy++) {
                int r0 = oy * w.sh * w.pw;
                for (int j = 0; j < w.pw; j += L) {
                    ByteVector m = ByteVector.fromArray(B, plane, r0 + j);
                    for (int ky = 1; ky < w.kh; ky++) {
                        m = m.max(ByteVector.fromArray(B, plane, r0 + ky * w.pw + j));
                    }
                    m.intoArray(vm, j);
                }
                for (int j = 0; j < w.hw; j += L) {
                    ByteVector m = ByteVector.fromArray(B, vm, j);
                    for (int kx = 1; kx < w.kw; kx++) {
                        m = m.max(ByteVector.fromArray(B, vm, j + kx));
                    }
                    m.intoArray(vm, j); // reads of j + kx >= j + L come later in this row, from still-vertical values
                }
                int yo = (o * w.outH + oy) * w.outW;
                for (int ox = 0; ox < w.outW; ox++) {
                    y[yo + ox] = vm[ox * w.sw];
                }
            }
        }
        return y;
    }

    /**
     * Average pooling in int lanes: per output row, the column-wise sum over the window's rows of a
     * plane padded with the zero point (or 0 when padding is not counted), the sum over the window's
     * columns, then each output's {@code floor(sum / count + 1/2)}.
     */
    static byte[] avgPool(Layer.AvgPool p, byte[] x) {
        int n = p.inShape()[1] * p.inShape()[2];
        if (p.outShape()[1] == 1 && p.outShape()[2] == 1 && p.kh() == p.inShape()[1] && p.kw() == p.inShape()[2] && p.padTop() == 0
                && p.padLeft() == 0) {
            return globalAvgPool(x, p.inShape()[0], n);
        }
        Window w = new Window(p.inShape(), p.outShape(), p.kh(), p.kw(), p.strideH(), p.strideW(), p.padTop(), p.padLeft());
        byte[] plane = new byte[w.rows * w.pw], y = new byte[w.ch * w.outH * w.outW];
        int[] vs = new int[w.pw], hs = new int[w.hw];
        for (int o = 0; o < w.ch; o++) {
            w.fill(plane, x, o, (byte) (p.countIncludePad() ? p.zeroPoint() : 0));
            for (int oy = 0; oy < w.outH; oy++) {
                int r0 = oy * w.sh * w.pw;
                for (int j = 0; j < w.pw; j += L) {
                    IntVector s = IntVector.zero(I);
                    for (int ky = 0; ky < w.kh; ky++) {
                        s = s.add((IntVector) ByteVector.fromArray(B, plane, r0 + ky * w.pw + j).convertShape(VectorOperators.B2I, I, 0));
                    }
                    s.intoArray(vs, j);
                }
                for (int j = 0; j < w.hw; j += L) {
                    IntVector s = IntVector.zero(I);
                    for (int kx = 0; kx < w.kw; kx++) {
                        s = s.add(IntVector.fromArray(I, vs, j + kx));
                    }
                    s.intoArray(hs, j);
                }
                int iy = oy * w.sh - w.pt, rowsIn = Math.min(w.inH, iy + w.kh) - Math.max(0, iy);
                int yo = (o * w.outH + oy) * w.outW;
                for (int ox = 0; ox < w.outW; ox++) {
                    int ix = ox * w.sw - w.pl, count = p.countIncludePad() ? w.kh * w.kw
                            : rowsIn * (Math.min(w.inW, ix + w.kw) - Math.max(0, ix));
                    y[yo + ox] = (byte) Kernels.roundedDivide(hs[ox * w.sw], count);
                }
            }
        }
        return y;
    }

    /** Global average pooling: each channel's plane is contiguous, so its sum is one run of vectors. */
    private static byte[] globalAvgPool(byte[] x, int ch, int n) {
        byte[] y = new byte[ch];
        int nv = n - n % L;
        for (int o = 0; o < ch; o++) {
            int base = o * n;
            IntVector s = IntVector.zero(I);
            for (int i = 0; i < nv; i += L) {
                s = s.add((IntVector) ByteVector.fromArray(B, x, base + i).convertShape(VectorOperators.B2I, I, 0));
            }
            int sum = s.reduceLanes(VectorOperators.ADD);
            for (int i = nv; i < n; i++) {
                sum += x[base + i];
            }
            y[o] = (byte) Kernels.roundedDivide(sum, n);
        }
        return y;
    }

    /**
     * The geometry shared by the pooling kernels: one channel's plane padded to {@code rows x pw}, where
     * {@code hw} (a whole number of vectors) covers every window start {@code ox * sw} and {@code pw}
     * covers {@code hw + kw} plus a vector of slack.
     */
    private static final class Window {
        final int ch, inH, inW, outH, outW, kh, kw, sh, sw, pt, pl, rows, hw, pw;

        Window(int[] in, int[] out, int kh, int kw, int sh, int sw, int pt, int pl) {
            this.ch = in[0];
            this.inH = in[1];
            this.inW = in[2];
            this.outH = out[1];
            this.outW = out[2];
            this.kh = kh;
            this.kw = kw;
            this.sh = sh;
            this.sw = sw;
            this.pt = pt;
            this.pl = pl;
            this.rows = (outH - 1) * sh + kh;
            this.hw = ((outW - 1) * sw + L) / L * L;
            this.pw = (hw + kw + L - 1) / L * L + L;
        }

        /** Channel {@code o} of {@code x} into {@code plane} at offset (pt, pl); everything else {@code pad}. */
        void fill(byte[] plane, byte[] x, int o, byte pad) {
            java.util.Arrays.fill(plane, pad);
            int n = Math.min(inW, pw - pl);
            for (int r = 0; r < rows; r++) {
                int iy = r - pt;
                if (iy >= 0 && iy < inH) {
                    System.arraycopy(x, (o * inH + iy) * inW, plane, r * pw + pl, n);
                }
            }
        }
    }

    /**
     * {@code y = clamp(zo + round((base + acc) * m * 2^s / 2^31), lo, hi)}, the single rounding of
     * {@link FixedPoint#multiplyByQuantizedMultiplier}, in 64-bit lanes ({@link #rescale}); clamping to
     * {@code [lo - zo, hi - zo]} makes the int32 saturation moot.
     */
    private static void requantize(int[] acc, int off, int n, int base, int m, int s, int zo, int lo, int hi, byte[] y, int yoff) {
        int t = 31 - s;
        long round = 1L << (t - 1), lo2 = (long) lo - zo, hi2 = (long) hi - zo;
        int nv = n - n % L;
        for (int i = 0; i < nv; i += L) {
            IntVector a = IntVector.fromArray(I, acc, off + i).add(base);
            ((ByteVector) rescale(a, m, t, round, lo2, hi2).add(zo).convertShape(VectorOperators.I2B, B, 0)).intoArray(y, yoff + i);
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
