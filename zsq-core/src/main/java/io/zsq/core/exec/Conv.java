package io.zsq.core.exec;

/**
 * NHWC convolution, forward and input gradient, on a zero-padded copy of the input so that no window
 * needs a bounds check. The Vector API kernels ({@link VectorConv}) run ungrouped convolutions whose
 * output (or input) channels fill whole vectors; everything else, groups and depthwise included, takes
 * the scalar loops here, which are also the definition the vector kernels are tested against.
 */
final class Conv {
    private Conv() {}

    /** {@code y[n][oy][ox][o] = bias[o] + sum W[o][ci][ky][kx] x[n][oy*sh - pt + ky][ox*sw - pl + kx][g*cpg + ci]}. */
    static float[] forward(ConvShape s, float[] x, float[] w, float[] bias) {
        float[] xp = pad(x, s.n(), s.h(), s.w(), s.c(), s.hp(), s.wp(), s.pt(), s.pl());
        float[] y = Simd.ENABLED ? Workspace.scratch(s.n() * s.oh() * s.ow() * s.o()) : Workspace.zeros(s.n() * s.oh() * s.ow() * s.o());
        if (Simd.ENABLED && isDepthwise(s) && s.c() % Simd.LANES == 0) {
            VectorConv.depthwise(s, xp, w, bias, y);
        } else if (Simd.ENABLED && s.groups() == 1 && s.o() % Simd.LANES == 0) {
            VectorConv.gather(s, xp, w, bias, y);
        } else if (Simd.ENABLED && s.groups() == 1 && s.c() % Simd.LANES == 0) {
            VectorConv.dot(s, xp, w, bias, y);
        } else {
            gather(s, xp, w, bias, y);
        }
        if (xp != x) {
            Workspace.release(xp);
        }
        return y;
    }

    /** dLoss/dx from dLoss/dy: a forward convolution with flipped weights for stride 1, else a scatter. */
    static float[] backwardInput(ConvShape s, float[] dy, float[] w) {
        ConvShape t = s.transposed();
        if (t != null) {
            return forward(t, dy, s.transposedWeights(w), null);
        }
        float[] dxp = Workspace.zeros(s.n() * s.hp() * s.wp() * s.c());
        if (Simd.ENABLED && isDepthwise(s) && s.c() % Simd.LANES == 0) {
            VectorConv.depthwiseScatter(s, dy, w, dxp);
        } else if (Simd.ENABLED && s.groups() == 1) {
            // cols[p][tap*c + ci] = sum_oc dy[p][oc] W[oc][ci][tap]: per image, a 1x1 convolution over its
            // output pixels with (tap, channel) as output channels, rounded up to whole vectors (zero weights)
            int pixels = s.oh() * s.ow(), k = s.taps() * s.c(), kp = (k + Simd.LANES - 1) / Simd.LANES * Simd.LANES;
            ConvShape cols = new ConvShape(1, s.o(), 1, pixels, kp, 1, pixels, 1, 1, 1, 1, 0, 0, 1);
            float[] wc = Workspace.derived(w, "columns", kp * s.o(), wcol -> {
                for (int oc = 0; oc < s.o(); oc++) {
                    for (int ci = 0; ci < s.c(); ci++) {
                        for (int tap = 0; tap < s.taps(); tap++) {
                            wcol[(tap * s.c() + ci) * s.o() + oc] = w[(oc * s.c() + ci) * s.taps() + tap];
                        }
                    }
                }
            });
            float[] col = Workspace.scratch(pixels * kp), dyi = s.n() == 1 ? dy : Workspace.scratch(pixels * s.o());
            for (int img = 0; img < s.n(); img++) {
                if (dyi != dy) {
                    System.arraycopy(dy, img * pixels * s.o(), dyi, 0, pixels * s.o());
                }
                VectorConv.gather(cols, dyi, wc, null, col);
                col2im(s, img, col, kp, dxp);
            }
            Workspace.release(col);
            if (dyi != dy) {
                Workspace.release(dyi);
            }
        } else {
            scatter(s, dy, w, dxp);
        }
        float[] dx = crop(dxp, s.n(), s.h(), s.w(), s.c(), s.hp(), s.wp(), s.pt(), s.pl());
        if (dx != dxp) {
            Workspace.release(dxp);
        }
        return dx;
    }

    /**
     * Adds dLoss/dW ({@code [o][c/groups][kh][kw]}) and dLoss/dB to {@code dw} and {@code db} from the
     * layer's input {@code x} and dLoss/dy: {@code dW[oc][ci][ky][kx] = sum over images and output pixels of
     * dy[p][oc] x[window(p) + (ky, kx)][g*cpg + ci]}, {@code dB[oc] = sum dy[p][oc]}. The Vector API kernels take
     * ungrouped layers whose output channels fill whole vectors and depthwise layers whose channels do;
     * the rest take {@link #weightGradientScalar}.
     */
    static void backwardWeights(ConvShape s, float[] x, float[] dy, float[] dw, float[] db) {
        float[] xp = pad(x, s.n(), s.h(), s.w(), s.c(), s.hp(), s.wp(), s.pt(), s.pl());
        int taps = s.taps();
        if (Simd.ENABLED && isDepthwise(s) && s.c() % Simd.LANES == 0) {
            float[] acc = Workspace.zeros(taps * s.c()); // acc[tap*c + ch]
            VectorConv.depthwiseWeightGradient(s, xp, dy, acc);
            for (int ch = 0; ch < s.c(); ch++) {
                for (int t = 0; t < taps; t++) {
                    dw[ch * taps + t] += acc[t * s.c() + ch];
                }
            }
            Workspace.release(acc);
        } else if (Simd.ENABLED && s.groups() == 1 && s.o() % Simd.LANES == 0) {
            int c = s.c(), o = s.o();
            float[] acc = Workspace.zeros(taps * c * o); // acc[(tap*c + ci)*o + oc]
            VectorConv.weightGradient(s, xp, dy, acc);
            for (int oc = 0; oc < o; oc++) {
                for (int ci = 0; ci < c; ci++) {
                    for (int t = 0; t < taps; t++) {
                        dw[(oc * c + ci) * taps + t] += acc[(t * c + ci) * o + oc];
                    }
                }
            }
            Workspace.release(acc);
        } else {
            weightGradientScalar(s, xp, dy, dw);
        }
        if (xp != x) {
            Workspace.release(xp);
        }
        int o = s.o(), rows = s.n() * s.oh() * s.ow();
        for (int p = 0; p < rows; p++) {
            for (int oc = 0; oc < o; oc++) {
                db[oc] += dy[p * o + oc];
            }
        }
    }

    /** Scalar dW over the padded input, any group count: the definition the vector kernels are tested against. */
    static void weightGradientScalar(ConvShape s, float[] xp, float[] dy, float[] dw) {
        windows(s, dy, null, xp, null, dw);
    }

    /** One input and one output channel per group. */
    static boolean isDepthwise(ConvShape s) {
        return s.groups() == s.c() && s.groups() == s.o() && s.groups() > 1;
    }

    /** Scalar forward over the padded input, any group count. */
    static void gather(ConvShape s, float[] xp, float[] w, float[] bias, float[] y) {
        int c = s.c(), cpg = s.cpg(), opg = s.opg(), o = s.o(), hp = s.hp(), wp = s.wp();
        for (int img = 0; img < s.n(); img++) {
            for (int oy = 0; oy < s.oh(); oy++) {
                for (int ox = 0; ox < s.ow(); ox++) {
                    int yb = ((img * s.oh() + oy) * s.ow() + ox) * o;
                    for (int oc = 0; oc < o; oc++) {
                        int g = oc / opg;
                        float acc = bias == null ? 0f : bias[oc];
                        for (int ky = 0; ky < s.kh(); ky++) {
                            for (int kx = 0; kx < s.kw(); kx++) {
                                int xb = ((img * hp + oy * s.sh() + ky) * wp + ox * s.sw() + kx) * c + g * cpg;
                                int wb = (oc * cpg * s.kh() + ky) * s.kw() + kx, wstep = s.taps();
                                for (int ci = 0; ci < cpg; ci++) {
                                    acc += xp[xb + ci] * w[wb + ci * wstep];
                                }
                            }
                        }
                        y[yb + oc] = acc;
                    }
                }
            }
        }
    }

    /** Adds {@code col[p][tap*c + ci]} (rows of {@code k}) of image {@code img}'s output pixels p into its padded input under their windows. */
    private static void col2im(ConvShape s, int img, float[] col, int k, float[] dxp) {
        int c = s.c();
        for (int oy = 0, p = 0; oy < s.oh(); oy++) {
            for (int ox = 0; ox < s.ow(); ox++, p++) {
                for (int ky = 0, row = s.kw() * c; ky < s.kh(); ky++) { // a window row: kw taps x c channels, contiguous both sides
                    int at = ((img * s.hp() + oy * s.sh() + ky) * s.wp() + ox * s.sw()) * c, from = p * k + ky * row;
                    for (int i = 0; i < row; i++) {
                        dxp[at + i] += col[from + i];
                    }
                }
            }
        }
    }

    /** Scalar input gradient into the padded buffer: every dy spreads over its window; any group count. */
    static void scatter(ConvShape s, float[] dy, float[] w, float[] dxp) {
        windows(s, dy, w, null, dxp, null);
    }

    /**
     * The scalar loop over every (output pixel, output channel, tap, input channel) of the windows: adds
     * {@code dy * W} into the padded input gradient {@code dxp}, or (with {@code dw} given instead) {@code dy * x}
     * from the padded input {@code xp} into the weight gradient.
     */
    private static void windows(ConvShape s, float[] dy, float[] w, float[] xp, float[] dxp, float[] dw) {
        int c = s.c(), cpg = s.cpg(), opg = s.opg(), o = s.o(), hp = s.hp(), wp = s.wp();
        for (int img = 0; img < s.n(); img++) {
            for (int oy = 0; oy < s.oh(); oy++) {
                for (int ox = 0; ox < s.ow(); ox++) {
                    int yb = ((img * s.oh() + oy) * s.ow() + ox) * o;
                    for (int oc = 0; oc < o; oc++) {
                        float d = dy[yb + oc];
                        int g = oc / opg;
                        for (int ky = 0; ky < s.kh(); ky++) {
                            for (int kx = 0; kx < s.kw(); kx++) {
                                int xb = ((img * hp + oy * s.sh() + ky) * wp + ox * s.sw() + kx) * c + g * cpg;
                                int wb = (oc * cpg * s.kh() + ky) * s.kw() + kx, wstep = s.taps();
                                if (dw == null) {
                                    for (int ci = 0; ci < cpg; ci++) {
                                        dxp[xb + ci] += d * w[wb + ci * wstep];
                                    }
                                } else {
                                    for (int ci = 0; ci < cpg; ci++) {
                                        dw[wb + ci * wstep] += d * xp[xb + ci];
                                    }
                                }
                            }
                        }
                    }
                }
            }
        }
    }

    /**
     * {@code [n, h, w, c]} placed at (top, left) in a zero {@code [n, hp, wp, c]}; rows and columns that
     * fall outside are dropped (no window reads them). Returns {@code x} itself when nothing moves.
     */
    static float[] pad(float[] x, int n, int h, int w, int c, int hp, int wp, int top, int left) {
        if (top == 0 && left == 0 && hp == h && wp == w) {
            return x;
        }
        float[] xp = Workspace.scratch(n * hp * wp * c);
        window(x, xp, true, n, h, w, c, hp, wp, top, left);
        zeroBorder(xp, n, h, w, c, hp, wp, top, left);
        return xp;
    }

    /** Zeroes what {@link #window} does not write of a padded buffer: the rows above and below, the columns left and right. */
    private static void zeroBorder(float[] xp, int n, int h, int w, int c, int hp, int wp, int top, int left) {
        int rowsIn = Math.max(0, Math.min(h, hp - top)), cols = Math.max(0, Math.min(w, wp - left)), row = wp * c;
        for (int img = 0; img < n; img++) {
            int base = img * hp * row;
            java.util.Arrays.fill(xp, base, base + top * row, 0f);
            java.util.Arrays.fill(xp, base + (top + rowsIn) * row, base + hp * row, 0f);
            for (int iy = top; iy < top + rowsIn; iy++) {
                int r = base + iy * row;
                java.util.Arrays.fill(xp, r, r + left * c, 0f);
                java.util.Arrays.fill(xp, r + (left + cols) * c, r + row, 0f);
            }
        }
    }

    /** The inverse of {@link #pad}: the {@code [n, h, w, c]} window at (top, left); what was dropped is zero. */
    static float[] crop(float[] xp, int n, int h, int w, int c, int hp, int wp, int top, int left) {
        if (top == 0 && left == 0 && hp == h && wp == w) {
            return xp;
        }
        float[] x = Workspace.zeros(n * h * w * c);
        window(x, xp, false, n, h, w, c, hp, wp, top, left);
        return x;
    }

    /** Row copies between a tensor and its window in the padded buffer; {@code toPadded} picks the direction. */
    private static void window(float[] x, float[] xp, boolean toPadded, int n, int h, int w, int c, int hp, int wp, int top, int left) {
        int cols = Math.min(w, wp - left);
        for (int img = 0; img < n && cols > 0; img++) {
            for (int iy = 0; iy < h && iy + top < hp; iy++) {
                int at = (img * h + iy) * w * c, atp = ((img * hp + iy + top) * wp + left) * c;
                if (toPadded) {
                    System.arraycopy(x, at, xp, atp, cols * c);
                } else {
                    System.arraycopy(xp, atp, x, at, cols * c);
                }
            }
        }
    }
}
