package io.zsq.core.exec;

import io.zsq.core.ir.Node;
import io.zsq.core.ir.Tensor;

/** FP32 kernels of {@link Fp32Engine}, batch-major NHWC: a {@code [C, H, W]} tensor is stored {@code [n][h][w][c]}. */
final class Ops {
    private Ops() {}

    static float[] conv(Node node, float[] x, int batch, int[] xs, int[] ys) {
        Tensor b = node.param("B");
        return Conv.forward(ConvShape.of(node, batch, xs, ys), x, node.param("W").data(), b == null ? null : b.data());
    }

    static float[] convBackward(Node node, float[] dy, int batch, int[] xs, int[] ys) {
        return Conv.backwardInput(ConvShape.of(node, batch, xs, ys), dy, node.param("W").data());
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

    /** BatchNorm in inference form, and its fused activation (a clamp) if it has one, in one pass. */
    static float[] batchNorm(Node n, float[] x, int batch, int[] xs) {
        float[][] ac = bnAffine(n);
        float[] a = ac[0], off = ac[1], y = Workspace.scratch(x.length);
        int c = xs[0];
        if (Simd.ENABLED && c % Simd.LANES == 0) {
            VectorConv.affineClamp(x, a, off, n.f("fusedMin", Float.NEGATIVE_INFINITY), n.f("fusedMax", Float.POSITIVE_INFINITY), c, y);
            return y;
        }
        if (n.hasFusedActivation()) {
            float lo = n.f("fusedMin", Float.NEGATIVE_INFINITY), hi = n.f("fusedMax", Float.POSITIVE_INFINITY);
            for (int base = 0; base < x.length; base += c) {
                for (int ch = 0; ch < c; ch++) {
                    y[base + ch] = Math.min(Math.max(x[base + ch] * a[ch] + off[ch], lo), hi);
                }
            }
            return y;
        }
        for (int base = 0; base < x.length; base += c) {
            for (int ch = 0; ch < c; ch++) {
                y[base + ch] = x[base + ch] * a[ch] + off[ch];
            }
        }
        return y;
    }

    /**
     * BatchNorm's input gradient {@code dy * a} (a the per-channel multiplier) added into {@code into}, with dy first masked where the fused activation {@code y} is clamped, if the node has one.
     */
    static void batchNormBackwardAdd(Node n, float[] dy, float[] y, int[] xs, float[] into) {
        float[] a = bnAffine(n)[0];
        int c = xs[0];
        if (Simd.ENABLED && c % Simd.LANES == 0) {
            VectorConv.maskedScaleAdd(dy, y, n.f("fusedMin", Float.NEGATIVE_INFINITY), n.f("fusedMax", Float.POSITIVE_INFINITY), a, c, into);
            return;
        }
        if (n.hasFusedActivation()) {
            float lo = n.f("fusedMin", Float.NEGATIVE_INFINITY), hi = n.f("fusedMax", Float.POSITIVE_INFINITY);
            for (int base = 0; base < dy.length; base += c) {
                for (int ch = 0; ch < c; ch++) {
                    float v = y[base + ch], d = (v > lo) & (v < hi) ? dy[base + ch] : 0f;
                    into[base + ch] += d * a[ch];
                }
            }
            return;
        }
        for (int base = 0; base < dy.length; base += c) {
            for (int ch = 0; ch < c; ch++) {
                into[base + ch] += dy[base + ch] * a[ch];
            }
        }
    }

    static float[] clamp(float[] x, float lo, float hi) {
        float[] y = Workspace.scratch(x.length);
        for (int i = 0; i < x.length; i++) {
            y[i] = Math.min(Math.max(x[i], lo), hi); // branch-free: signs are random, branches mispredict
        }
        return y;
    }

    /** dy where lo < y < hi, else 0. */
    static float[] maskInside(float[] dy, float[] y, float lo, float hi) {
        float[] d = Workspace.scratch(dy.length);
        int i = Simd.ENABLED ? VectorConv.maskInside(dy, y, lo, hi, d) : 0; // C2 does not vectorize the select
        for (; i < d.length; i++) {
            float v = y[i];
            d[i] = (v > lo) & (v < hi) ? dy[i] : 0f;
        }
        return d;
    }

    static float[] maxPool(Node n, float[] x, int batch, int[] xs, int[] ys, int[] arg) {
        int[] k = n.ints("kernel"), st = n.ints("strides", new int[] {1, 1}), pads = n.ints("pads", new int[] {0, 0, 0, 0});
        int c = xs[0], inH = xs[1], inW = xs[2], outH = ys[1], outW = ys[2];
        float[] y = Workspace.scratch(batch * outH * outW * c);
        if (Simd.ENABLED && VectorConv.maxPoolFits(c)) {
            VectorConv.maxPool(x, batch, c, inH, inW, outH, outW, k, st, pads, y, arg);
            return y;
        }
        return maxPoolScalar(x, batch, c, inH, inW, outH, outW, k, st, pads, y, arg);
    }

    /** The definition {@link VectorConv#maxPool} is tested against: the first maximum of each window wins. */
    static float[] maxPoolScalar(float[] x, int batch, int c, int inH, int inW, int outH, int outW, int[] k, int[] st, int[] pads, float[] y, int[] arg) {
        java.util.Arrays.fill(y, Float.NEGATIVE_INFINITY);
        java.util.Arrays.fill(arg, -1);
        for (int img = 0; img < batch; img++) {
            for (int oy = 0; oy < outH; oy++) {
                for (int ox = 0; ox < outW; ox++) {
                    int o = ((img * outH + oy) * outW + ox) * c;
                    for (int ky = 0; ky < k[0]; ky++) {
                        int iy = oy * st[0] - pads[0] + ky;
                        for (int kx = 0; kx < k[1]; kx++) {
                            int ix = ox * st[1] - pads[1] + kx;
                            if (iy < 0 || iy >= inH || ix < 0 || ix >= inW) {
                                continue;
                            }
                            int in = ((img * inH + iy) * inW + ix) * c;
                            for (int ch = 0; ch < c; ch++) {
                                if (arg[o + ch] < 0 || x[in + ch] > y[o + ch]) { // the first maximum wins ties
                                    y[o + ch] = x[in + ch];
                                    arg[o + ch] = in + ch;
                                }
                            }
                        }
                    }
                }
            }
        }
        return y;
    }

    static float[] maxPoolBackward(float[] dy, int[] arg, int inSize) {
        float[] dx = Workspace.zeros(inSize);
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
        float[] y = dx == null ? Workspace.zeros(batch * outH * outW * c) : null;
        for (int img = 0; img < batch; img++) {
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
                    int o = ((img * outH + oy) * outW + ox) * c;
                    for (int ky = 0; ky < k[0]; ky++) {
                        int iy = oy * st[0] - pads[0] + ky;
                        for (int kx = 0; kx < k[1]; kx++) {
                            int ix = ox * st[1] - pads[1] + kx;
                            if (iy < 0 || iy >= inH || ix < 0 || ix >= inW) {
                                continue;
                            }
                            int in = ((img * inH + iy) * inW + ix) * c;
                            for (int ch = 0; ch < c; ch++) {
                                if (dx == null) {
                                    y[o + ch] += x[in + ch];
                                } else {
                                    dx[in + ch] += x[o + ch] / count;
                                }
                            }
                        }
                    }
                    if (y != null) {
                        for (int ch = 0; ch < c; ch++) {
                            y[o + ch] /= count;
                        }
                    }
                }
            }
        }
        return y;
    }

    static float[] globalAvgPool(float[] x, int batch, int[] xs) {
        int c = xs[0], p = xs[1] * xs[2];
        float[] y = Workspace.scratch(batch * c);
        double[] s = new double[c];
        for (int img = 0; img < batch; img++) {
            java.util.Arrays.fill(s, 0);
            for (int i = 0; i < p; i++) {
                int base = (img * p + i) * c;
                for (int ch = 0; ch < c; ch++) {
                    s[ch] += x[base + ch];
                }
            }
            for (int ch = 0; ch < c; ch++) {
                y[img * c + ch] = (float) (s[ch] / p);
            }
        }
        return y;
    }

    static float[] globalAvgPoolBackward(float[] dy, int batch, int[] xs) {
        int c = xs[0], p = xs[1] * xs[2];
        float[] dx = Workspace.scratch(batch * p * c);
        for (int img = 0; img < batch; img++) {
            for (int i = 0; i < p; i++) {
                for (int ch = 0; ch < c; ch++) {
                    dx[(img * p + i) * c + ch] = dy[img * c + ch] / p;
                }
            }
        }
        return dx;
    }

    /**
     * Flatten in the model's (NCHW) feature order, which the following dense layer's weights expect:
     * {@code toNchw} reorders {@code [n][h][w][c]} to {@code [n][c][h][w]}; otherwise the inverse.
     */
    static float[] reorder(float[] x, int batch, int[] xs, boolean toNchw) {
        if (xs.length != 3 || xs[1] * xs[2] == 1 || xs[0] == 1) {
            return x;
        }
        int c = xs[0], p = xs[1] * xs[2];
        float[] y = Workspace.scratch(x.length);
        for (int img = 0; img < batch; img++) {
            int base = img * c * p;
            for (int i = 0; i < p; i++) {
                for (int ch = 0; ch < c; ch++) {
                    if (toNchw) {
                        y[base + ch * p + i] = x[base + i * c + ch];
                    } else {
                        y[base + i * c + ch] = x[base + ch * p + i];
                    }
                }
            }
        }
        return y;
    }
}
