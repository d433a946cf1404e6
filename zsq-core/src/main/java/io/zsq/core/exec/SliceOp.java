package io.zsq.core.exec;

import io.zsq.core.ir.Node;
import io.zsq.core.ir.OpType;
import io.zsq.core.ir.SliceWindow;

/**
 * FP32 forward and input gradient of {@link OpType#SLICE} on NHWC batches ({@code [n][h][w][c]}); the
 * window comes from {@link SliceWindow#of}, the one normalization of the attributes.
 */
public final class SliceOp {
    private SliceOp() {}

    /** The sliced batch, NHWC. */
    public static float[] forward(Node n, float[] x, int batch, int[] xs) {
        SliceWindow s = SliceWindow.of(n, xs);
        int[] o = s.outShape();
        float[] y = Workspace.zeros(batch * o[0] * o[1] * o[2]);
        copy(s, xs, batch, x, y, false);
        return y;
    }

    /** dLoss/dx: dy scattered into zeros at the positions the slice read. */
    public static float[] backward(Node n, float[] dy, int batch, int[] xs) {
        SliceWindow s = SliceWindow.of(n, xs);
        float[] dx = Workspace.zeros(batch * xs[0] * xs[1] * xs[2]);
        copy(s, xs, batch, dx, dy, true);
        return dx;
    }

    /** {@code small[i] = big[window(i)]}, or the reverse when {@code toBig}. Distinct i read distinct positions. */
    private static void copy(SliceWindow s, int[] xs, int batch, float[] big, float[] small, boolean toBig) {
        int c = xs[0], h = xs[1], w = xs[2];
        int[] st = s.starts(), sp = s.steps(), o = s.outShape();
        int i = 0;
        for (int img = 0; img < batch; img++) {
            for (int oy = 0; oy < o[1]; oy++) {
                for (int ox = 0; ox < o[2]; ox++) {
                    int base = ((img * h + st[1] + oy * sp[1]) * w + st[2] + ox * sp[2]) * c + st[0];
                    if (sp[0] == 1) {
                        if (toBig) {
                            System.arraycopy(small, i, big, base, o[0]);
                        } else {
                            System.arraycopy(big, base, small, i, o[0]);
                        }
                        i += o[0];
                    } else {
                        for (int oc = 0; oc < o[0]; oc++, i++) {
                            if (toBig) {
                                big[base + oc * sp[0]] = small[i];
                            } else {
                                small[i] = big[base + oc * sp[0]];
                            }
                        }
                    }
                }
            }
        }
    }
}
