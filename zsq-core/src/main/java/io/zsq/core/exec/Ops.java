package io.zsq.core.exec;

import io.zsq.core.ir.Node;
import io.zsq.core.ir.Tensor;

/** FP32 kernels of {@link Fp32Engine}, batch-major NCHW. */
final class Ops {
    private Ops() {}

    /** Convolution geometry of a CONV node. */
    private record Geo(int n, int inC, int inH, int inW, int outC, int outH, int outW, int kh, int kw, int sh, int sw,
                       int pt, int pl, int groups) {
        int cpg() { return inC / groups; }
        int opg() { return outC / groups; }
        int k() { return cpg() * kh * kw; }
        int p() { return outH * outW; }

        static Geo of(Node node, int batch, int[] xs, int[] ys) {
            Tensor w = node.param("W");
            int[] st = node.ints("strides", new int[] {1, 1});
            int[] pads = node.ints("pads", new int[] {0, 0, 0, 0});
            return new Geo(batch, xs[0], xs[1], xs[2], ys[0], ys[1], ys[2], w.dim(2), w.dim(3), st[0], st[1], pads[0], pads[1],
                    node.ints("group", new int[] {1})[0]);
        }
    }

    static float[] conv(Node node, float[] x, int batch, int[] xs, int[] ys) {
        Geo g = Geo.of(node, batch, xs, ys);
        float[] w = node.param("W").data();
        Tensor b = node.param("B");
        float[] y = new float[batch * g.outC() * g.p()];
        if (g.cpg() == 1 && g.opg() == 1) {
            depthwise(g, x, w, y);
        } else if (ShiftedGemm.applies(g.groups(), g.sh(), g.sw())) {
            ShiftedGemm.forward(x, w, y, batch, g.inC(), g.inH(), g.inW(), g.outC(), g.outH(), g.outW(), g.kh(), g.kw(), g.pt(), g.pl());
        } else {
            int k = g.k(), np = batch * g.p();
            for (int gr = 0; gr < g.groups(); gr++) {
                float[] cols = im2col(g, x, gr);
                float[] wg = slice(w, gr * g.opg() * k, g.opg() * k);
                float[] yg = Gemm.mul(wg, cols, g.opg(), k, np, false, false);
                for (int o = 0; o < g.opg(); o++) {
                    int oc = gr * g.opg() + o;
                    for (int img = 0; img < batch; img++) {
                        System.arraycopy(yg, o * np + img * g.p(), y, (img * g.outC() + oc) * g.p(), g.p());
                    }
                }
            }
        }
        if (b != null) {
            for (int img = 0; img < batch; img++) {
                for (int oc = 0; oc < g.outC(); oc++) {
                    float bv = b.data()[oc];
                    int base = (img * g.outC() + oc) * g.p();
                    for (int i = 0; i < g.p(); i++) {
                        y[base + i] += bv;
                    }
                }
            }
        }
        return y;
    }

    static float[] convBackward(Node node, float[] dy, int batch, int[] xs, int[] ys) {
        Geo g = Geo.of(node, batch, xs, ys);
        float[] w = node.param("W").data();
        float[] dx = new float[batch * g.inC() * g.inH() * g.inW()];
        if (g.cpg() == 1 && g.opg() == 1) {
            depthwiseBackward(g, dy, w, dx);
            return dx;
        }
        if (ShiftedGemm.applies(g.groups(), g.sh(), g.sw())) {
            ShiftedGemm.backward(dy, w, dx, batch, g.inC(), g.inH(), g.inW(), g.outC(), g.outH(), g.outW(), g.kh(), g.kw(), g.pt(), g.pl());
            return dx;
        }
        int k = g.k(), np = batch * g.p();
        for (int gr = 0; gr < g.groups(); gr++) {
            float[] dyg = new float[g.opg() * np];
            for (int o = 0; o < g.opg(); o++) {
                int oc = gr * g.opg() + o;
                for (int img = 0; img < batch; img++) {
                    System.arraycopy(dy, (img * g.outC() + oc) * g.p(), dyg, o * np + img * g.p(), g.p());
                }
            }
            float[] wg = slice(w, gr * g.opg() * k, g.opg() * k);
            float[] dcols = Gemm.mul(wg, dyg, k, g.opg(), np, true, false);
            col2im(g, dcols, gr, dx);
        }
        return dx;
    }

    private static float[] slice(float[] a, int from, int len) {
        if (from == 0 && len == a.length) {
            return a;
        }
        float[] s = new float[len];
        System.arraycopy(a, from, s, 0, len);
        return s;
    }

    /** cols[(ic*kh + ky)*kw + kx][img*P + oy*outW + ox] for the channels of group gr. */
    private static float[] im2col(Geo g, float[] x, int gr) {
        int np = g.n() * g.p();
        float[] cols = new float[g.k() * np];
        for (int ic = 0; ic < g.cpg(); ic++) {
            for (int ky = 0; ky < g.kh(); ky++) {
                for (int kx = 0; kx < g.kw(); kx++) {
                    int row = ((ic * g.kh() + ky) * g.kw() + kx) * np;
                    int lo = validLo(g, kx), hi = validHi(g, kx);
                    for (int img = 0; img < g.n(); img++) {
                        int plane = (img * g.inC() + gr * g.cpg() + ic) * g.inH() * g.inW();
                        for (int oy = 0; oy < g.outH(); oy++) {
                            int iy = oy * g.sh() - g.pt() + ky;
                            if (iy < 0 || iy >= g.inH() || lo >= hi) {
                                continue;
                            }
                            int src = plane + iy * g.inW() - g.pl() + kx;
                            int dst = row + img * g.p() + oy * g.outW();
                            if (g.sw() == 1) {
                                System.arraycopy(x, src + lo, cols, dst + lo, hi - lo);
                            } else {
                                for (int ox = lo; ox < hi; ox++) {
                                    cols[dst + ox] = x[src + ox * g.sw()];
                                }
                            }
                        }
                    }
                }
            }
        }
        return cols;
    }

    /** First output column whose input column {@code ox*sw - pl + kx} is inside the image. */
    private static int validLo(Geo g, int kx) {
        int need = g.pl() - kx; // ox * sw >= need
        return need <= 0 ? 0 : Math.min(g.outW(), (need + g.sw() - 1) / g.sw());
    }

    /** One past the last output column whose input column is inside the image. */
    private static int validHi(Geo g, int kx) {
        int lim = g.inW() - 1 + g.pl() - kx; // ox * sw <= lim
        return lim < 0 ? 0 : Math.min(g.outW(), lim / g.sw() + 1);
    }

    private static void col2im(Geo g, float[] cols, int gr, float[] dx) {
        int np = g.n() * g.p();
        for (int ic = 0; ic < g.cpg(); ic++) {
            for (int ky = 0; ky < g.kh(); ky++) {
                for (int kx = 0; kx < g.kw(); kx++) {
                    int row = ((ic * g.kh() + ky) * g.kw() + kx) * np;
                    int lo = validLo(g, kx), hi = validHi(g, kx);
                    for (int img = 0; img < g.n(); img++) {
                        int plane = (img * g.inC() + gr * g.cpg() + ic) * g.inH() * g.inW();
                        for (int oy = 0; oy < g.outH(); oy++) {
                            int iy = oy * g.sh() - g.pt() + ky;
                            if (iy < 0 || iy >= g.inH()) {
                                continue;
                            }
                            int dst = plane + iy * g.inW() - g.pl() + kx;
                            int src = row + img * g.p() + oy * g.outW();
                            int sw = g.sw();
                            for (int ox = lo; ox < hi; ox++) {
                                dx[dst + ox * sw] += cols[src + ox];
                            }
                        }
                    }
                }
            }
        }
    }

    private static void depthwise(Geo g, float[] x, float[] w, float[] y) {
        for (int img = 0; img < g.n(); img++) {
            for (int c = 0; c < g.outC(); c++) {
                int in = (img * g.inC() + c) * g.inH() * g.inW();
                int out = (img * g.outC() + c) * g.p();
                for (int oy = 0; oy < g.outH(); oy++) {
                    for (int ox = 0; ox < g.outW(); ox++) {
                        float acc = 0;
                        for (int ky = 0; ky < g.kh(); ky++) {
                            int iy = oy * g.sh() - g.pt() + ky;
                            if (iy < 0 || iy >= g.inH()) {
                                continue;
                            }
                            for (int kx = 0; kx < g.kw(); kx++) {
                                int ix = ox * g.sw() - g.pl() + kx;
                                if (ix >= 0 && ix < g.inW()) {
                                    acc += x[in + iy * g.inW() + ix] * w[(c * g.kh() + ky) * g.kw() + kx];
                                }
                            }
                        }
                        y[out + oy * g.outW() + ox] = acc;
                    }
                }
            }
        }
    }

    private static void depthwiseBackward(Geo g, float[] dy, float[] w, float[] dx) {
        for (int img = 0; img < g.n(); img++) {
            for (int c = 0; c < g.outC(); c++) {
                int in = (img * g.inC() + c) * g.inH() * g.inW();
                int out = (img * g.outC() + c) * g.p();
                for (int oy = 0; oy < g.outH(); oy++) {
                    for (int ox = 0; ox < g.outW(); ox++) {
                        float d = dy[out + oy * g.outW() + ox];
                        for (int ky = 0; ky < g.kh(); ky++) {
                            int iy = oy * g.sh() - g.pt() + ky;
                            if (iy < 0 || iy >= g.inH()) {
                                continue;
                            }
                            for (int kx = 0; kx < g.kw(); kx++) {
                                int ix = ox * g.sw() - g.pl() + kx;
                                if (ix >= 0 && ix < g.inW()) {
                                    dx[in + iy * g.inW() + ix] += d * w[(c * g.kh() + ky) * g.kw() + kx];
                                }
                            }
                        }
                    }
                }
            }
        }
    }

    static float[] dense(Node node, float[] x, int batch) {
        Tensor w = node.param("W");
        float[] y = Gemm.mul(x, w.data(), batch, w.dim(1), w.dim(0), false, true);
        Tensor b = node.param("B");
        if (b != null) {
            for (int i = 0; i < batch; i++) {
                for (int o = 0; o < w.dim(0); o++) {
                    y[i * w.dim(0) + o] += b.data()[o];
                }
            }
        }
        return y;
    }

    /** Per-channel multiplier and offset of a BATCH_NORM node in inference form. */
    static float[][] bnAffine(Node n) {
        float[] s = n.param("scale").data(), b = n.param("bias").data(), m = n.param("mean").data(), v = n.param("var").data();
        float eps = n.f("epsilon", 1e-5f);
        float[] a = new float[s.length], c = new float[s.length];
        for (int i = 0; i < s.length; i++) {
            a[i] = (float) (s[i] / Math.sqrt((double) v[i] + eps));
            c[i] = b[i] - m[i] * a[i];
        }
        return new float[][] {a, c};
    }

    static float[] batchNorm(Node n, float[] x, int batch, int[] xs) {
        float[][] ac = bnAffine(n);
        int c = xs[0], p = Tensor.size(xs) / c;
        float[] y = new float[x.length];
        for (int img = 0; img < batch; img++) {
            for (int ch = 0; ch < c; ch++) {
                int base = (img * c + ch) * p;
                float a = ac[0][ch], off = ac[1][ch];
                for (int i = 0; i < p; i++) {
                    y[base + i] = x[base + i] * a + off;
                }
            }
        }
        return y;
    }

    static float[] batchNormBackward(Node n, float[] dy, int batch, int[] xs) {
        float[] a = bnAffine(n)[0];
        int c = xs[0], p = Tensor.size(xs) / c;
        float[] dx = new float[dy.length];
        for (int img = 0; img < batch; img++) {
            for (int ch = 0; ch < c; ch++) {
                int base = (img * c + ch) * p;
                for (int i = 0; i < p; i++) {
                    dx[base + i] = dy[base + i] * a[ch];
                }
            }
        }
        return dx;
    }

    static float[] clamp(float[] x, float lo, float hi) {
        float[] y = new float[x.length];
        for (int i = 0; i < x.length; i++) {
            float v = x[i];
            y[i] = v < lo ? lo : (v > hi ? hi : v);
        }
        return y;
    }

    /** dy where lo < y < hi, else 0. */
    static float[] maskInside(float[] dy, float[] y, float lo, float hi) {
        float[] d = new float[dy.length];
        for (int i = 0; i < d.length; i++) {
            d[i] = (y[i] > lo && y[i] < hi) ? dy[i] : 0f;
        }
        return d;
    }

    static float[] add(float[] a, float[] b) {
        float[] y = new float[a.length];
        for (int i = 0; i < a.length; i++) {
            y[i] = a[i] + b[i];
        }
        return y;
    }

    static float[] maxPool(Node n, float[] x, int batch, int[] xs, int[] ys, int[] arg) {
        int[] k = n.ints("kernel"), st = n.ints("strides", new int[] {1, 1}), pads = n.ints("pads", new int[] {0, 0, 0, 0});
        int c = xs[0], inH = xs[1], inW = xs[2], outH = ys[1], outW = ys[2];
        float[] y = new float[batch * c * outH * outW];
        for (int plane = 0; plane < batch * c; plane++) {
            for (int oy = 0; oy < outH; oy++) {
                for (int ox = 0; ox < outW; ox++) {
                    float best = Float.NEGATIVE_INFINITY;
                    int bi = -1;
                    for (int ky = 0; ky < k[0]; ky++) {
                        int iy = oy * st[0] - pads[0] + ky;
                        for (int kx = 0; kx < k[1]; kx++) {
                            int ix = ox * st[1] - pads[1] + kx;
                            if (iy >= 0 && iy < inH && ix >= 0 && ix < inW) {
                                int idx = (plane * inH + iy) * inW + ix;
                                if (bi < 0 || x[idx] > best) {
                                    best = x[idx];
                                    bi = idx;
                                }
                            }
                        }
                    }
                    int o = (plane * outH + oy) * outW + ox;
                    y[o] = best;
                    arg[o] = bi;
                }
            }
        }
        return y;
    }

    static float[] maxPoolBackward(float[] dy, int[] arg, int inSize) {
        float[] dx = new float[inSize];
        for (int i = 0; i < dy.length; i++) {
            dx[arg[i]] += dy[i];
        }
        return dx;
    }

    /** Forward when {@code dx == null}; otherwise spreads {@code x} (then dy) back into {@code dx}. */
    static float[] avgPool(Node n, float[] x, int batch, int[] xs, int[] ys, float[] dx) {
        int[] k = n.ints("kernel"), st = n.ints("strides", new int[] {1, 1}), pads = n.ints("pads", new int[] {0, 0, 0, 0});
        boolean includePad = n.ints("countIncludePad", new int[] {0})[0] != 0;
        int c = xs[0], inH = xs[1], inW = xs[2], outH = ys[1], outW = ys[2];
        float[] y = dx == null ? new float[batch * c * outH * outW] : null;
        for (int plane = 0; plane < batch * c; plane++) {
            for (int oy = 0; oy < outH; oy++) {
                for (int ox = 0; ox < outW; ox++) {
                    int count = 0;
                    for (int ky = 0; ky < k[0]; ky++) {
                        int iy = oy * st[0] - pads[0] + ky;
                        for (int kx = 0; kx < k[1]; kx++) {
                            int ix = ox * st[1] - pads[1] + kx;
                            if ((iy >= 0 && iy < inH && ix >= 0 && ix < inW) || includePad) {
                                count++;
                            }
                        }
                    }
                    int o = (plane * outH + oy) * outW + ox;
                    float sum = 0;
                    for (int ky = 0; ky < k[0]; ky++) {
                        int iy = oy * st[0] - pads[0] + ky;
                        for (int kx = 0; kx < k[1]; kx++) {
                            int ix = ox * st[1] - pads[1] + kx;
                            if (iy >= 0 && iy < inH && ix >= 0 && ix < inW) {
                                int idx = (plane * inH + iy) * inW + ix;
                                if (dx == null) {
                                    sum += x[idx];
                                } else {
                                    dx[idx] += x[o] / count;
                                }
                            }
                        }
                    }
                    if (y != null) {
                        y[o] = sum / count;
                    }
                }
            }
        }
        return y;
    }

    static float[] globalAvgPool(float[] x, int batch, int[] xs) {
        int c = xs[0], p = xs[1] * xs[2];
        float[] y = new float[batch * c];
        for (int plane = 0; plane < batch * c; plane++) {
            double s = 0;
            for (int i = 0; i < p; i++) {
                s += x[plane * p + i];
            }
            y[plane] = (float) (s / p);
        }
        return y;
    }

    static float[] globalAvgPoolBackward(float[] dy, int batch, int[] xs) {
        int c = xs[0], p = xs[1] * xs[2];
        float[] dx = new float[batch * c * p];
        for (int plane = 0; plane < batch * c; plane++) {
            float d = dy[plane] / p;
            for (int i = 0; i < p; i++) {
                dx[plane * p + i] = d;
            }
        }
        return dx;
    }
}
