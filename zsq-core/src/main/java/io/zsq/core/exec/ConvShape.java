package io.zsq.core.exec;

import io.zsq.core.ir.Node;
import io.zsq.core.ir.Tensor;

/**
 * Geometry of one convolution over a batch: input {@code [n, h, w, c]}, output {@code [n, oh, ow, o]}
 * (NHWC), kernel {@code kh x kw}, strides, top/left padding (bottom/right padding is implied by the
 * output size) and groups. Weights are {@code W[o][c/groups][kh][kw]}.
 */
record ConvShape(int n, int c, int h, int w, int o, int oh, int ow, int kh, int kw, int sh, int sw, int pt, int pl,
                 int groups) {

    int cpg() {
        return c / groups;
    }

    int opg() {
        return o / groups;
    }

    int taps() {
        return kh * kw;
    }

    /** Rows and columns of the zero-padded input that every output window fits in. */
    int hp() {
        return (oh - 1) * sh + kh;
    }

    int wp() {
        return (ow - 1) * sw + kw;
    }

    static ConvShape of(Node node, int batch, int[] xs, int[] ys) {
        Tensor w = node.param("W");
        int[] st = node.ints("strides", new int[] {1, 1});
        int[] pads = node.ints("pads", new int[] {0, 0, 0, 0});
        return new ConvShape(batch, xs[0], xs[1], xs[2], ys[0], ys[1], ys[2], w.dim(2), w.dim(3), st[0], st[1], pads[0], pads[1],
                node.ints("group", new int[] {1})[0]);
    }

    /**
     * The convolution whose forward pass is this one's input gradient, when the strides are 1: the
     * kernel flipped and its in/out channels exchanged, padded by {@code k - 1 - pad}. Null when that
     * form does not apply (strides above 1, or padding wider than the kernel).
     */
    ConvShape transposed() {
        if (sh != 1 || sw != 1 || pt > kh - 1 || pl > kw - 1) {
            return null;
        }
        return new ConvShape(n, o, oh, ow, c, h, w, kh, kw, 1, 1, kh - 1 - pt, kw - 1 - pl, groups);
    }

    /** W'[g*cpg + ci][oc][ky][kx] = W[g*opg + oc][ci][kh-1-ky][kw-1-kx]: the weights of {@link #transposed}. */
    float[] transposedWeights(float[] wt) {
        int cpg = cpg(), opg = opg(), k = taps();
        return Workspace.derived(wt, "transposed", wt.length, t -> {
            for (int g = 0; g < groups; g++) {
                for (int oc = 0; oc < opg; oc++) {
                    for (int ci = 0; ci < cpg; ci++) {
                        int src = ((g * opg + oc) * cpg + ci) * k, dst = ((g * cpg + ci) * opg + oc) * k;
                        for (int tap = 0; tap < k; tap++) {
                            t[dst + k - 1 - tap] = wt[src + tap];
                        }
                    }
                }
            }
        });
    }
}
