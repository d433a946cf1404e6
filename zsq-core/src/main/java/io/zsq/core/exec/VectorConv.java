package io.zsq.core.exec;

import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.IntVector;
import jdk.incubator.vector.VectorMask;
import jdk.incubator.vector.VectorOperators;
import jdk.incubator.vector.VectorSpecies;

/**
 * Vector API kernels of {@link Conv} (only loaded when {@link Simd#ENABLED}). Each kernel keeps its
 * accumulators in registers across one flat loop over (tap, input channel) with precomputed offsets:
 * C2 in JDK 17 boxes vectors carried through nested loops, which made a first version (ky, kx, ci loops)
 * ten times slower.
 */
final class VectorConv {
    private VectorConv() {}

    static final VectorSpecies<Float> S = FloatVector.SPECIES_PREFERRED;
    static final int LANES = S.length();
    static final VectorSpecies<Integer> IS = IntVector.SPECIES_PREFERRED;

    /**
     * (tap, input channel) rows per block of {@link #gather}: a block of 4 weight vectors is then 64 KB
     * (at 16 lanes), which stays in cache while every pixel of every image of the batch uses it. Without blocks, a layer
     * with thousands of rows (3x3 over 512 channels) streamed megabytes of weights per 4 pixels.
     */
    static final int ROWS_PER_BLOCK = 256;

    /**
     * Output channels in vectors ({@code o % LANES == 0}, groups 1): per image, blocks of 4 output
     * pixels x 4 or 2 vectors, or 8 pixels x 1 vector, each a register tile updated by one broadcast input
     * value times one weight vector per (tap, channel). The (tap, channel) rows are taken in blocks of
     * {@link #ROWS_PER_BLOCK}, the tiles carried from block to block through {@code y}: the additions
     * happen in the same order as in one pass, so the result is the same to the bit.
     */
    static void gather(ConvShape s, float[] xp, float[] w, float[] bias, float[] y) {
        int c = s.c(), o = s.o(), taps = s.taps(), hp = s.hp(), wp = s.wp(), k = taps * c, pixels = s.oh() * s.ow();
        float[] wt = Workspace.derived(w, "gather", k * o, t -> { // wt[(tap*c + ci)*o + oc]
            for (int oc = 0; oc < o; oc++) {
                for (int ci = 0; ci < c; ci++) {
                    for (int tap = 0; tap < taps; tap++) {
                        t[(tap * c + ci) * o + oc] = w[(oc * c + ci) * taps + tap];
                    }
                }
            }
        });
        int[] xoff = rowOffsets(s);
        int[] pix = pixelOffsets(s);
        float[] b = bias != null ? bias : new float[o];
        // a block of weights (one vector group j, rows q0..q1) serves every pixel of every image before the next
        int j = 0;
        for (; j + 4 * LANES <= o; j += 4 * LANES) {
            for (int q0 = 0; q0 < k; q0 += ROWS_PER_BLOCK) {
                int q1 = Math.min(k, q0 + ROWS_PER_BLOCK);
                boolean first = q0 == 0;
                for (int img = 0; img < s.n(); img++) {
                    int ib = img * hp * wp * c, yb = img * pixels * o;
                    int p = 0;
                    for (; p + 4 <= pixels; p += 4) {
                        tile44(xp, wt, b, y, xoff, q0, q1, first, o, j, ib + pix[p], ib + pix[p + 1], ib + pix[p + 2], ib + pix[p + 3], yb + p * o);
                    }
                    for (; p < pixels; p++) {
                        for (int jj = j; jj < j + 4 * LANES; jj += LANES) {
                            tile11(xp, wt, b, y, xoff, q0, q1, first, o, jj, ib + pix[p], yb + p * o);
                        }
                    }
                }
            }
        }
        for (; j + 2 * LANES <= o; j += 2 * LANES) {
            for (int q0 = 0; q0 < k; q0 += ROWS_PER_BLOCK) {
                int q1 = Math.min(k, q0 + ROWS_PER_BLOCK);
                boolean first = q0 == 0;
                for (int img = 0; img < s.n(); img++) {
                    int ib = img * hp * wp * c, yb = img * pixels * o;
                    int p = 0;
                    for (; p + 4 <= pixels; p += 4) {
                        tile42(xp, wt, b, y, xoff, q0, q1, first, o, j, ib + pix[p], ib + pix[p + 1], ib + pix[p + 2], ib + pix[p + 3], yb + p * o);
                    }
                    for (; p < pixels; p++) {
                        tile11(xp, wt, b, y, xoff, q0, q1, first, o, j, ib + pix[p], yb + p * o);
                        tile11(xp, wt, b, y, xoff, q0, q1, first, o, j + LANES, ib + pix[p], yb + p * o);
                    }
                }
            }
        }
        for (; j < o; j += LANES) {
            for (int q0 = 0; q0 < k; q0 += ROWS_PER_BLOCK) {
                int q1 = Math.min(k, q0 + ROWS_PER_BLOCK);
                boolean first = q0 == 0;
                for (int img = 0; img < s.n(); img++) {
                    int ib = img * hp * wp * c, yb = img * pixels * o;
                    int p = 0;
                    for (; p + 8 <= pixels; p += 8) {
                        tile81(xp, wt, b, y, xoff, q0, q1, first, o, j, ib, pix, p, yb + p * o);
                    }
                    for (; p < pixels; p++) {
                        tile11(xp, wt, b, y, xoff, q0, q1, first, o, j, ib + pix[p], yb + p * o);
                    }
                }
            }
        }
    }

    /** A tile's starting accumulator: the bias in the first block of rows, else what the previous blocks left in {@code y}. */
    private static FloatVector start(boolean first, float[] b, int j, float[] y, int at) {
        // one load from a chosen array: a vector chosen between two loads is boxed by C2 in JDK 17
        return FloatVector.fromArray(S, first ? b : y, first ? j : at);
    }

    private static void tile44(float[] xp, float[] wt, float[] b, float[] y, int[] xoff, int q0, int q1, boolean first, int o, int j,
                               int x0, int x1, int x2, int x3, int yb) {
        int r0 = yb + j, r1 = r0 + o, r2 = r1 + o, r3 = r2 + o;
        FloatVector a0 = start(first, b, j, y, r0), a1 = start(first, b, j, y, r1), a2 = start(first, b, j, y, r2), a3 = start(first, b, j, y, r3);
        int j1 = j + LANES, j2 = j + 2 * LANES, j3 = j + 3 * LANES;
        FloatVector c0 = start(first, b, j1, y, r0 + LANES), c1 = start(first, b, j1, y, r1 + LANES);
        FloatVector c2 = start(first, b, j1, y, r2 + LANES), c3 = start(first, b, j1, y, r3 + LANES);
        FloatVector d0 = start(first, b, j2, y, r0 + 2 * LANES), d1 = start(first, b, j2, y, r1 + 2 * LANES);
        FloatVector d2 = start(first, b, j2, y, r2 + 2 * LANES), d3 = start(first, b, j2, y, r3 + 2 * LANES);
        FloatVector e0 = start(first, b, j3, y, r0 + 3 * LANES), e1 = start(first, b, j3, y, r1 + 3 * LANES);
        FloatVector e2 = start(first, b, j3, y, r2 + 3 * LANES), e3 = start(first, b, j3, y, r3 + 3 * LANES);
        for (int q = q0; q < q1; q++) {
            int wi = q * o + j, off = xoff[q];
            FloatVector w0 = FloatVector.fromArray(S, wt, wi), w1 = FloatVector.fromArray(S, wt, wi + LANES);
            FloatVector w2 = FloatVector.fromArray(S, wt, wi + 2 * LANES), w3 = FloatVector.fromArray(S, wt, wi + 3 * LANES);
            FloatVector v = FloatVector.broadcast(S, xp[x0 + off]);
            a0 = v.fma(w0, a0);
            c0 = v.fma(w1, c0);
            d0 = v.fma(w2, d0);
            e0 = v.fma(w3, e0);
            v = FloatVector.broadcast(S, xp[x1 + off]);
            a1 = v.fma(w0, a1);
            c1 = v.fma(w1, c1);
            d1 = v.fma(w2, d1);
            e1 = v.fma(w3, e1);
            v = FloatVector.broadcast(S, xp[x2 + off]);
            a2 = v.fma(w0, a2);
            c2 = v.fma(w1, c2);
            d2 = v.fma(w2, d2);
            e2 = v.fma(w3, e2);
            v = FloatVector.broadcast(S, xp[x3 + off]);
            a3 = v.fma(w0, a3);
            c3 = v.fma(w1, c3);
            d3 = v.fma(w2, d3);
            e3 = v.fma(w3, e3);
        }
        store4(y, r0, a0, c0, d0, e0);
        store4(y, r1, a1, c1, d1, e1);
        store4(y, r2, a2, c2, d2, e2);
        store4(y, r3, a3, c3, d3, e3);
    }

    private static void store4(float[] y, int at, FloatVector a, FloatVector b, FloatVector c, FloatVector d) {
        a.intoArray(y, at);
        b.intoArray(y, at + LANES);
        c.intoArray(y, at + 2 * LANES);
        d.intoArray(y, at + 3 * LANES);
    }

    private static void tile42(float[] xp, float[] wt, float[] b, float[] y, int[] xoff, int q0, int q1, boolean first, int o, int j,
                               int x0, int x1, int x2, int x3, int yb) {
        int r0 = yb + j, r1 = r0 + o, r2 = r1 + o, r3 = r2 + o, j1 = j + LANES;
        FloatVector a0 = start(first, b, j, y, r0), a1 = start(first, b, j, y, r1), a2 = start(first, b, j, y, r2), a3 = start(first, b, j, y, r3);
        FloatVector c0 = start(first, b, j1, y, r0 + LANES), c1 = start(first, b, j1, y, r1 + LANES);
        FloatVector c2 = start(first, b, j1, y, r2 + LANES), c3 = start(first, b, j1, y, r3 + LANES);
        for (int q = q0; q < q1; q++) {
            int wi = q * o + j, off = xoff[q];
            FloatVector w0 = FloatVector.fromArray(S, wt, wi), w1 = FloatVector.fromArray(S, wt, wi + LANES);
            FloatVector v = FloatVector.broadcast(S, xp[x0 + off]);
            a0 = v.fma(w0, a0);
            c0 = v.fma(w1, c0);
            v = FloatVector.broadcast(S, xp[x1 + off]);
            a1 = v.fma(w0, a1);
            c1 = v.fma(w1, c1);
            v = FloatVector.broadcast(S, xp[x2 + off]);
            a2 = v.fma(w0, a2);
            c2 = v.fma(w1, c2);
            v = FloatVector.broadcast(S, xp[x3 + off]);
            a3 = v.fma(w0, a3);
            c3 = v.fma(w1, c3);
        }
        a0.intoArray(y, r0);
        c0.intoArray(y, r0 + LANES);
        a1.intoArray(y, r1);
        c1.intoArray(y, r1 + LANES);
        a2.intoArray(y, r2);
        c2.intoArray(y, r2 + LANES);
        a3.intoArray(y, r3);
        c3.intoArray(y, r3 + LANES);
    }

    private static void tile81(float[] xp, float[] wt, float[] b, float[] y, int[] xoff, int q0, int q1, boolean first, int o, int j,
                               int ib, int[] pix, int p, int yb) {
        int x0 = ib + pix[p], x1 = ib + pix[p + 1], x2 = ib + pix[p + 2], x3 = ib + pix[p + 3];
        int x4 = ib + pix[p + 4], x5 = ib + pix[p + 5], x6 = ib + pix[p + 6], x7 = ib + pix[p + 7];
        int r = yb + j;
        FloatVector a0 = start(first, b, j, y, r), a1 = start(first, b, j, y, r + o), a2 = start(first, b, j, y, r + 2 * o);
        FloatVector a3 = start(first, b, j, y, r + 3 * o), a4 = start(first, b, j, y, r + 4 * o), a5 = start(first, b, j, y, r + 5 * o);
        FloatVector a6 = start(first, b, j, y, r + 6 * o), a7 = start(first, b, j, y, r + 7 * o);
        for (int q = q0; q < q1; q++) {
            int off = xoff[q];
            FloatVector w0 = FloatVector.fromArray(S, wt, q * o + j);
            a0 = FloatVector.broadcast(S, xp[x0 + off]).fma(w0, a0);
            a1 = FloatVector.broadcast(S, xp[x1 + off]).fma(w0, a1);
            a2 = FloatVector.broadcast(S, xp[x2 + off]).fma(w0, a2);
            a3 = FloatVector.broadcast(S, xp[x3 + off]).fma(w0, a3);
            a4 = FloatVector.broadcast(S, xp[x4 + off]).fma(w0, a4);
            a5 = FloatVector.broadcast(S, xp[x5 + off]).fma(w0, a5);
            a6 = FloatVector.broadcast(S, xp[x6 + off]).fma(w0, a6);
            a7 = FloatVector.broadcast(S, xp[x7 + off]).fma(w0, a7);
        }
        a0.intoArray(y, r);
        a1.intoArray(y, r + o);
        a2.intoArray(y, r + 2 * o);
        a3.intoArray(y, r + 3 * o);
        a4.intoArray(y, r + 4 * o);
        a5.intoArray(y, r + 5 * o);
        a6.intoArray(y, r + 6 * o);
        a7.intoArray(y, r + 7 * o);
    }

    private static void tile11(float[] xp, float[] wt, float[] b, float[] y, int[] xoff, int q0, int q1, boolean first, int o, int j, int x0, int yb) {
        FloatVector a0 = start(first, b, j, y, yb + j);
        for (int q = q0; q < q1; q++) {
            a0 = FloatVector.broadcast(S, xp[x0 + xoff[q]]).fma(FloatVector.fromArray(S, wt, q * o + j), a0);
        }
        a0.intoArray(y, yb + j);
    }

    /**
     * Input channels in vectors ({@code c % LANES == 0}, groups 1), for few output channels (the input
     * gradient of a first layer): each output is a dot product over (tap, channel), reduced once.
     */
    static void dot(ConvShape s, float[] xp, float[] w, float[] bias, float[] y) {
        int c = s.c(), o = s.o(), taps = s.taps(), hp = s.hp(), wp = s.wp(), k = taps * c, segs = k / LANES;
        int pixels = s.oh() * s.ow();
        float[] wd = Workspace.derived(w, "dot", o * k, t -> { // wd[(oc*taps + tap)*c + ci]
            for (int oc = 0; oc < o; oc++) {
                for (int ci = 0; ci < c; ci++) {
                    for (int tap = 0; tap < taps; tap++) {
                        t[(oc * taps + tap) * c + ci] = w[(oc * c + ci) * taps + tap];
                    }
                }
            }
        });
        int[] off = new int[segs];
        for (int m = 0; m < segs; m++) {
            int tap = m * LANES / c, ci = m * LANES % c;
            off[m] = ((tap / s.kw()) * wp + tap % s.kw()) * c + ci;
        }
        for (int img = 0; img < s.n(); img++) {
            for (int p = 0; p < pixels; p++) {
                int xb = ((img * hp + (p / s.ow()) * s.sh()) * wp + (p % s.ow()) * s.sw()) * c;
                int yb = (img * pixels + p) * o;
                for (int oc = 0; oc < o; oc++) {
                    float v = dot1(xp, xb, off, wd, oc * k, segs);
                    y[yb + oc] = bias == null ? v : v + bias[oc];
                }
            }
        }
    }

    private static float dot1(float[] xp, int xb, int[] off, float[] wd, int wb, int segs) {
        FloatVector a = FloatVector.zero(S);
        for (int m = 0; m < segs; m++) {
            a = FloatVector.fromArray(S, xp, xb + off[m]).fma(FloatVector.fromArray(S, wd, wb + m * LANES), a);
        }
        return a.reduceLanes(VectorOperators.ADD);
    }

    /** Whether {@link #maxPool} runs {@code c} channels: whole vectors, and int lanes as many as float lanes. */
    static boolean maxPoolFits(int c) {
        return c % LANES == 0 && IS.length() == LANES;
    }

    /**
     * Max pooling with the scalar loop's rule (the first maximum of the window wins, NaN never does), channels
     * in vectors: per output pixel, one flat loop over the window's taps inside the input, the winners' input
     * indices kept in an int vector for the backward.
     */
    static void maxPool(float[] x, int batch, int c, int inH, int inW, int outH, int outW, int[] k, int[] st, int[] pads, float[] y, int[] arg) {
        int[] lanes = new int[LANES], taps = new int[k[0] * k[1]];
        for (int i = 0; i < LANES; i++) {
            lanes[i] = i;
        }
        IntVector iota = IntVector.fromArray(IS, lanes, 0);
        for (int img = 0; img < batch; img++) {
            for (int oy = 0; oy < outH; oy++) {
                for (int ox = 0; ox < outW; ox++) {
                    int n = 0;
                    for (int ky = 0; ky < k[0]; ky++) {
                        int iy = oy * st[0] - pads[0] + ky;
                        for (int kx = 0; kx < k[1]; kx++) {
                            int ix = ox * st[1] - pads[1] + kx;
                            if (iy >= 0 && iy < inH && ix >= 0 && ix < inW) {
                                taps[n++] = ((img * inH + iy) * inW + ix) * c;
                            }
                        }
                    }
                    int o = ((img * outH + oy) * outW + ox) * c;
                    for (int j = 0; j < c; j += LANES) {
                        poolPixel(x, taps, n, j, iota, y, arg, o + j);
                    }
                }
            }
        }
    }

    private static void poolPixel(float[] x, int[] taps, int n, int j, IntVector iota, float[] y, int[] arg, int at) {
        FloatVector best = FloatVector.broadcast(S, Float.NEGATIVE_INFINITY);
        IntVector idx = IntVector.broadcast(IS, -1);
        for (int t = 0; t < n; t++) {
            int in = taps[t] + j;
            FloatVector v = FloatVector.fromArray(S, x, in);
            VectorMask<Integer> take = v.compare(VectorOperators.GT, best).cast(IS).or(idx.compare(VectorOperators.LT, 0));
            best = best.blend(v, take.cast(S));
            idx = idx.blend(iota.add(in), take);
        }
        best.intoArray(y, at);
        idx.intoArray(arg, at);
    }

    /**
     * {@code y = clamp(x * a + off, lo, hi)} per channel ({@code c % LANES == 0}), the multiply and the add
     * rounded apart as in the scalar loop (no fused multiply-add), so the bits are the same.
     */
    static void affineClamp(float[] x, float[] a, float[] off, float lo, float hi, int c, float[] y) {
        for (int base = 0; base < x.length; base += c) {
            for (int j = 0; j < c; j += LANES) {
                FloatVector.fromArray(S, x, base + j).mul(FloatVector.fromArray(S, a, j)).add(FloatVector.fromArray(S, off, j))
                        .max(lo).min(hi).intoArray(y, base + j);
            }
        }
    }

    /** {@code into += (lo < y < hi ? dy : 0) * a} per channel ({@code c % LANES == 0}), rounded as the scalar loop. */
    static void maskedScaleAdd(float[] dy, float[] y, float lo, float hi, float[] a, int c, float[] into) {
        FloatVector zero = FloatVector.zero(S);
        for (int base = 0; base < dy.length; base += c) {
            for (int j = 0; j < c; j += LANES) {
                int i = base + j;
                FloatVector v = FloatVector.fromArray(S, y, i);
                FloatVector d = zero.blend(FloatVector.fromArray(S, dy, i), v.compare(VectorOperators.GT, lo).and(v.compare(VectorOperators.LT, hi)));
                FloatVector.fromArray(S, into, i).add(d.mul(FloatVector.fromArray(S, a, j))).intoArray(into, i);
            }
        }
    }

    /** {@code d[i] = lo < y[i] < hi ? dy[i] : 0} over the whole vectors; returns where the scalar tail starts. */
    static int maskInside(float[] dy, float[] y, float lo, float hi, float[] d) {
        int i = 0, bound = S.loopBound(d.length);
        for (; i < bound; i += LANES) {
            FloatVector v = FloatVector.fromArray(S, y, i);
            FloatVector g = FloatVector.fromArray(S, dy, i);
            FloatVector.zero(S).blend(g, v.compare(VectorOperators.GT, lo).and(v.compare(VectorOperators.LT, hi))).intoArray(d, i);
        }
        return i;
    }

    /** Depthwise ({@code groups == c == o}, {@code c % LANES == 0}): channels in vectors, a flat loop over taps per output pixel. */
    static void depthwise(ConvShape s, float[] xp, float[] w, float[] bias, float[] y) {
        int c = s.c(), taps = s.taps(), hp = s.hp(), wp = s.wp(), pixels = s.oh() * s.ow();
        float[] wt = Workspace.derived(w, "depthwise", taps * c, d -> { // wt[tap*c + ch]
            for (int ch = 0; ch < c; ch++) {
                for (int t = 0; t < taps; t++) {
                    d[t * c + ch] = w[ch * taps + t];
                }
            }
        });
        int[] off = new int[taps];
        for (int t = 0; t < taps; t++) {
            off[t] = ((t / s.kw()) * wp + t % s.kw()) * c;
        }
        float[] b = bias != null ? bias : new float[c];
        for (int img = 0; img < s.n(); img++) {
            for (int p = 0; p < pixels; p++) {
                int xb = ((img * hp + (p / s.ow()) * s.sh()) * wp + (p % s.ow()) * s.sw()) * c, yb = (img * pixels + p) * c;
                for (int j = 0; j < c; j += LANES) {
                    dwPixel(xp, xb + j, wt, j, off, taps, c, b, y, yb + j);
                }
            }
        }
    }

    private static void dwPixel(float[] xp, int xb, float[] wt, int j, int[] off, int taps, int c, float[] b, float[] y, int at) {
        FloatVector a = FloatVector.fromArray(S, b, j);
        for (int t = 0; t < taps; t++) {
            a = FloatVector.fromArray(S, xp, xb + off[t]).fma(FloatVector.fromArray(S, wt, t * c + j), a);
        }
        a.intoArray(y, at);
    }

    /** Depthwise input gradient, any stride: each output pixel adds dy * w[tap] under every tap, channels in vectors. */
    static void depthwiseScatter(ConvShape s, float[] dy, float[] w, float[] dxp) {
        int c = s.c(), taps = s.taps(), hp = s.hp(), wp = s.wp(), pixels = s.oh() * s.ow();
        float[] wt = Workspace.derived(w, "depthwise", taps * c, d -> { // wt[tap*c + ch]
            for (int ch = 0; ch < c; ch++) {
                for (int t = 0; t < taps; t++) {
                    d[t * c + ch] = w[ch * taps + t];
                }
            }
        });
        for (int img = 0; img < s.n(); img++) {
            for (int p = 0; p < pixels; p++) {
                int xb = ((img * hp + (p / s.ow()) * s.sh()) * wp + (p % s.ow()) * s.sw()) * c, yb = (img * pixels + p) * c;
                for (int t = 0; t < taps; t++) {
                    int at = xb + ((t / s.kw()) * wp + t % s.kw()) * c;
                    for (int j = 0; j < c; j += LANES) {
                        FloatVector.fromArray(S, dy, yb + j).fma(FloatVector.fromArray(S, wt, t * c + j), FloatVector.fromArray(S, dxp, at + j))
                                .intoArray(dxp, at + j);
                    }
                }
            }
        }
    }

    /**
     * dW of an ungrouped convolution whose output channels fill whole vectors, added into
     * {@code acc[(tap*c + ci)*o + oc]}: per image, for 4 (tap, channel) rows at a time and one vector of
     * output channels, a flat loop over the output pixels adds dy[p] times the broadcast input value of each
     * row, four accumulators in registers.
     */
    static void weightGradient(ConvShape s, float[] xp, float[] dy, float[] acc) {
        int c = s.c(), o = s.o(), taps = s.taps(), hp = s.hp(), wp = s.wp(), k = taps * c, pixels = s.oh() * s.ow();
        int[] xoff = rowOffsets(s);
        int[] pix = pixelOffsets(s);
        for (int img = 0; img < s.n(); img++) {
            int ib = img * hp * wp * c, yb = img * pixels * o;
            int q = 0;
            for (; q + 4 <= k; q += 4) {
                int j = 0;
                for (; j + 2 * LANES <= o; j += 2 * LANES) {
                    wg8(xp, dy, acc, pix, pixels, yb, o, j, q, ib + xoff[q], ib + xoff[q + 1], ib + xoff[q + 2], ib + xoff[q + 3]);
                }
                for (; j < o; j += LANES) {
                    wg4(xp, dy, acc, pix, pixels, ib, yb, o, j, q, ib + xoff[q], ib + xoff[q + 1], ib + xoff[q + 2], ib + xoff[q + 3]);
                }
            }
            for (; q < k; q++) {
                for (int j = 0; j < o; j += LANES) {
                    FloatVector a = FloatVector.fromArray(S, acc, q * o + j);
                    int x0 = ib + xoff[q];
                    for (int p = 0; p < pixels; p++) {
                        a = FloatVector.fromArray(S, dy, yb + p * o + j).fma(FloatVector.broadcast(S, xp[x0 + pix[p]]), a);
                    }
                    a.intoArray(acc, q * o + j);
                }
            }
        }
    }

    /**
     * {@link #wg4} for two vectors of output channels at once: 8 accumulators, each input value broadcast once
     * for both; every accumulator adds the same products in the same order as {@code wg4} would.
     */
    private static void wg8(float[] xp, float[] dy, float[] acc, int[] pix, int pixels, int yb, int o, int j, int q,
                            int x0, int x1, int x2, int x3) {
        int j2 = j + LANES;
        FloatVector a0 = FloatVector.fromArray(S, acc, q * o + j), b0 = FloatVector.fromArray(S, acc, q * o + j2);
        FloatVector a1 = FloatVector.fromArray(S, acc, (q + 1) * o + j), b1 = FloatVector.fromArray(S, acc, (q + 1) * o + j2);
        FloatVector a2 = FloatVector.fromArray(S, acc, (q + 2) * o + j), b2 = FloatVector.fromArray(S, acc, (q + 2) * o + j2);
        FloatVector a3 = FloatVector.fromArray(S, acc, (q + 3) * o + j), b3 = FloatVector.fromArray(S, acc, (q + 3) * o + j2);
        for (int p = 0; p < pixels; p++) {
            int at = pix[p];
            FloatVector d = FloatVector.fromArray(S, dy, yb + p * o + j), e = FloatVector.fromArray(S, dy, yb + p * o + j2);
            FloatVector v0 = FloatVector.broadcast(S, xp[x0 + at]), v1 = FloatVector.broadcast(S, xp[x1 + at]);
            FloatVector v2 = FloatVector.broadcast(S, xp[x2 + at]), v3 = FloatVector.broadcast(S, xp[x3 + at]);
            a0 = d.fma(v0, a0);
            b0 = e.fma(v0, b0);
            a1 = d.fma(v1, a1);
            b1 = e.fma(v1, b1);
            a2 = d.fma(v2, a2);
            b2 = e.fma(v2, b2);
            a3 = d.fma(v3, a3);
            b3 = e.fma(v3, b3);
        }
        a0.intoArray(acc, q * o + j);
        b0.intoArray(acc, q * o + j2);
        a1.intoArray(acc, (q + 1) * o + j);
        b1.intoArray(acc, (q + 1) * o + j2);
        a2.intoArray(acc, (q + 2) * o + j);
        b2.intoArray(acc, (q + 2) * o + j2);
        a3.intoArray(acc, (q + 3) * o + j);
        b3.intoArray(acc, (q + 3) * o + j2);
    }

    private static void wg4(float[] xp, float[] dy, float[] acc, int[] pix, int pixels, int ib, int yb, int o, int j, int q,
                            int x0, int x1, int x2, int x3) {
        FloatVector a0 = FloatVector.fromArray(S, acc, q * o + j);
        FloatVector a1 = FloatVector.fromArray(S, acc, (q + 1) * o + j);
        FloatVector a2 = FloatVector.fromArray(S, acc, (q + 2) * o + j);
        FloatVector a3 = FloatVector.fromArray(S, acc, (q + 3) * o + j);
        for (int p = 0; p < pixels; p++) {
            int at = pix[p];
            FloatVector d = FloatVector.fromArray(S, dy, yb + p * o + j);
            a0 = d.fma(FloatVector.broadcast(S, xp[x0 + at]), a0);
            a1 = d.fma(FloatVector.broadcast(S, xp[x1 + at]), a1);
            a2 = d.fma(FloatVector.broadcast(S, xp[x2 + at]), a2);
            a3 = d.fma(FloatVector.broadcast(S, xp[x3 + at]), a3);
        }
        a0.intoArray(acc, q * o + j);
        a1.intoArray(acc, (q + 1) * o + j);
        a2.intoArray(acc, (q + 2) * o + j);
        a3.intoArray(acc, (q + 3) * o + j);
    }

    /** Depthwise dW ({@code c % LANES == 0}) added into {@code acc[tap*c + ch]}: channels in vectors, a flat loop over output pixels per tap. */
    static void depthwiseWeightGradient(ConvShape s, float[] xp, float[] dy, float[] acc) {
        int c = s.c(), taps = s.taps(), hp = s.hp(), wp = s.wp(), pixels = s.oh() * s.ow();
        int[] pix = pixelOffsets(s);
        for (int img = 0; img < s.n(); img++) {
            int ib = img * hp * wp * c, yb = img * pixels * c;
            for (int t = 0; t < taps; t++) {
                int off = ib + ((t / s.kw()) * wp + t % s.kw()) * c;
                for (int j = 0; j < c; j += LANES) {
                    FloatVector a = FloatVector.fromArray(S, acc, t * c + j);
                    for (int p = 0; p < pixels; p++) {
                        a = FloatVector.fromArray(S, dy, yb + p * c + j).fma(FloatVector.fromArray(S, xp, off + pix[p] + j), a);
                    }
                    a.intoArray(acc, t * c + j);
                }
            }
        }
    }

    /** Offset in the padded input of (tap, channel) row {@code tap*c + ci} from a window's corner. */
    static int[] rowOffsets(ConvShape s) {
        int c = s.c(), taps = s.taps(), wp = s.wp();
        int[] xoff = new int[taps * c];
        for (int tap = 0; tap < taps; tap++) {
            for (int ci = 0; ci < c; ci++) {
                xoff[tap * c + ci] = ((tap / s.kw()) * wp + tap % s.kw()) * c + ci;
            }
        }
        return xoff;
    }

    /** Offset in one padded image of output pixel {@code p}'s window corner. */
    static int[] pixelOffsets(ConvShape s) {
        int pixels = s.oh() * s.ow();
        int[] pix = new int[pixels];
        for (int p = 0; p < pixels; p++) {
            pix[p] = ((p / s.ow()) * s.sh() * s.wp() + (p % s.ow()) * s.sw()) * s.c();
        }
        return pix;
    }
}
