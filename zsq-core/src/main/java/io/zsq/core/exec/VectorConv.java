package io.zsq.core.exec;

import jdk.incubator.vector.FloatVector;
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

    /**
     * Output channels in vectors ({@code o % LANES == 0}, groups 1): per image, blocks of 4 output
     * pixels x 4 or 2 vectors, or 8 pixels x 1 vector, each a register tile updated by one broadcast input
     * value times one weight vector per (tap, channel).
     */
    static void gather(ConvShape s, float[] xp, float[] w, float[] bias, float[] y) {
        int c = s.c(), o = s.o(), taps = s.taps(), hp = s.hp(), wp = s.wp(), k = taps * c, pixels = s.oh() * s.ow();
        float[] wt = Workspace.scratch(k * o); // wt[(tap*c + ci)*o + oc]
        int[] xoff = new int[k];
        for (int tap = 0; tap < taps; tap++) {
            for (int ci = 0; ci < c; ci++) {
                xoff[tap * c + ci] = ((tap / s.kw()) * wp + tap % s.kw()) * c + ci;
                for (int oc = 0; oc < o; oc++) {
                    wt[(tap * c + ci) * o + oc] = w[(oc * c + ci) * taps + tap];
                }
            }
        }
        int[] pix = new int[pixels];
        for (int p = 0; p < pixels; p++) {
            pix[p] = ((p / s.ow()) * s.sh() * wp + (p % s.ow()) * s.sw()) * c;
        }
        float[] b = bias != null ? bias : new float[o];
        for (int img = 0; img < s.n(); img++) {
            int ib = img * hp * wp * c, yb = img * pixels * o;
            int j = 0;
            for (; j + 4 * LANES <= o; j += 4 * LANES) {
                int p = 0;
                for (; p + 4 <= pixels; p += 4) {
                    tile44(xp, wt, b, y, xoff, k, o, j, ib + pix[p], ib + pix[p + 1], ib + pix[p + 2], ib + pix[p + 3], yb + p * o);
                }
                for (; p < pixels; p++) {
                    for (int jj = j; jj < j + 4 * LANES; jj += LANES) {
                        tile11(xp, wt, b, y, xoff, k, o, jj, ib + pix[p], yb + p * o);
                    }
                }
            }
            for (; j + 2 * LANES <= o; j += 2 * LANES) {
                int p = 0;
                for (; p + 4 <= pixels; p += 4) {
                    tile42(xp, wt, b, y, xoff, k, o, j, ib + pix[p], ib + pix[p + 1], ib + pix[p + 2], ib + pix[p + 3], yb + p * o);
                }
                for (; p < pixels; p++) {
                    tile11(xp, wt, b, y, xoff, k, o, j, ib + pix[p], yb + p * o);
                    tile11(xp, wt, b, y, xoff, k, o, j + LANES, ib + pix[p], yb + p * o);
                }
            }
            for (; j < o; j += LANES) {
                int p = 0;
                for (; p + 8 <= pixels; p += 8) {
                    tile81(xp, wt, b, y, xoff, k, o, j, ib, pix, p, yb + p * o);
                }
                for (; p < pixels; p++) {
                    tile11(xp, wt, b, y, xoff, k, o, j, ib + pix[p], yb + p * o);
                }
            }
        }
    }

    private static void tile44(float[] xp, float[] wt, float[] b, float[] y, int[] xoff, int k, int o, int j,
                               int x0, int x1, int x2, int x3, int yb) {
        FloatVector a0 = FloatVector.fromArray(S, b, j), a1 = a0, a2 = a0, a3 = a0;
        FloatVector c0 = FloatVector.fromArray(S, b, j + LANES), c1 = c0, c2 = c0, c3 = c0;
        FloatVector d0 = FloatVector.fromArray(S, b, j + 2 * LANES), d1 = d0, d2 = d0, d3 = d0;
        FloatVector e0 = FloatVector.fromArray(S, b, j + 3 * LANES), e1 = e0, e2 = e0, e3 = e0;
        for (int q = 0; q < k; q++) {
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
        store4(y, yb + j, o, a0, c0, d0, e0);
        store4(y, yb + o + j, o, a1, c1, d1, e1);
        store4(y, yb + 2 * o + j, o, a2, c2, d2, e2);
        store4(y, yb + 3 * o + j, o, a3, c3, d3, e3);
    }

    private static void store4(float[] y, int at, int o, FloatVector a, FloatVector b, FloatVector c, FloatVector d) {
        a.intoArray(y, at);
        b.intoArray(y, at + LANES);
        c.intoArray(y, at + 2 * LANES);
        d.intoArray(y, at + 3 * LANES);
    }

    private static void tile42(float[] xp, float[] wt, float[] b, float[] y, int[] xoff, int k, int o, int j,
                               int x0, int x1, int x2, int x3, int yb) {
        FloatVector a0 = FloatVector.fromArray(S, b, j), a1 = a0, a2 = a0, a3 = a0;
        FloatVector c0 = FloatVector.fromArray(S, b, j + LANES), c1 = c0, c2 = c0, c3 = c0;
        for (int q = 0; q < k; q++) {
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
        a0.intoArray(y, yb + j);
        c0.intoArray(y, yb + j + LANES);
        a1.intoArray(y, yb + o + j);
        c1.intoArray(y, yb + o + j + LANES);
        a2.intoArray(y, yb + 2 * o + j);
        c2.intoArray(y, yb + 2 * o + j + LANES);
        a3.intoArray(y, yb + 3 * o + j);
        c3.intoArray(y, yb + 3 * o + j + LANES);
    }

    private static void tile81(float[] xp, float[] wt, float[] b, float[] y, int[] xoff, int k, int o, int j,
                               int ib, int[] pix, int p, int yb) {
        int x0 = ib + pix[p], x1 = ib + pix[p + 1], x2 = ib + pix[p + 2], x3 = ib + pix[p + 3];
        int x4 = ib + pix[p + 4], x5 = ib + pix[p + 5], x6 = ib + pix[p + 6], x7 = ib + pix[p + 7];
        FloatVector a0 = FloatVector.fromArray(S, b, j), a1 = a0, a2 = a0, a3 = a0, a4 = a0, a5 = a0, a6 = a0, a7 = a0;
        for (int q = 0; q < k; q++) {
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
        a0.intoArray(y, yb + j);
        a1.intoArray(y, yb + o + j);
        a2.intoArray(y, yb + 2 * o + j);
        a3.intoArray(y, yb + 3 * o + j);
        a4.intoArray(y, yb + 4 * o + j);
        a5.intoArray(y, yb + 5 * o + j);
        a6.intoArray(y, yb + 6 * o + j);
        a7.intoArray(y, yb + 7 * o + j);
    }

    private static void tile11(float[] xp, float[] wt, float[] b, float[] y, int[] xoff, int k, int o, int j, int x0, int yb) {
        FloatVector a0 = FloatVector.fromArray(S, b, j);
        for (int q = 0; q < k; q++) {
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
        float[] wd = Workspace.scratch(o * k); // wd[(oc*taps + tap)*c + ci]
        for (int oc = 0; oc < o; oc++) {
            for (int ci = 0; ci < c; ci++) {
                for (int tap = 0; tap < taps; tap++) {
                    wd[(oc * taps + tap) * c + ci] = w[(oc * c + ci) * taps + tap];
                }
            }
        }
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
        float[] wt = Workspace.scratch(taps * c); // wt[tap*c + ch]
        for (int ch = 0; ch < c; ch++) {
            for (int t = 0; t < taps; t++) {
                wt[t * c + ch] = w[ch * taps + t];
            }
        }
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
        float[] wt = Workspace.scratch(taps * c);
        for (int ch = 0; ch < c; ch++) {
            for (int t = 0; t < taps; t++) {
                wt[t * c + ch] = w[ch * taps + t];
            }
        }
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
}
