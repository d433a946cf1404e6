package io.zsq.core.exec;

import io.zsq.core.ir.Node;
import io.zsq.core.ir.OpType;
import io.zsq.core.ir.PadWidths;

/** FP32 forward and input gradient of {@link OpType#PAD} (zeros) on NHWC batches ({@code [n][h][w][c]}). */
public final class PadOp {
    private PadOp() {}

    /** The zero-padded batch, NHWC. */
    public static float[] forward(Node n, float[] x, int batch, int[] xs) {
        PadWidths p = PadWidths.of(n, xs);
        int[] o = p.outShape();
        float[] y = Workspace.zeros(batch * o[0] * o[1] * o[2]);
        copy(p, xs, batch, x, y, true);
        return y;
    }

    /** dLoss/dx: dy cropped to the input's positions (the padding is constant). */
    public static float[] backward(Node n, float[] dy, int batch, int[] xs) {
        PadWidths p = PadWidths.of(n, xs);
        float[] dx = Workspace.zeros(batch * xs[0] * xs[1] * xs[2]);
        copy(p, xs, batch, dx, dy, false);
        return dx;
    }

    /** Each input pixel's channels into their place in the padded tensor ({@code toPadded}), or back. */
    private static void copy(PadWidths p, int[] xs, int batch, float[] in, float[] padded, boolean toPadded) {
        int c = xs[0], h = xs[1], w = xs[2];
        int[] b = p.begin(), o = p.outShape();
        for (int img = 0; img < batch; img++) {
            for (int iy = 0; iy < h; iy++) {
                for (int ix = 0; ix < w; ix++) {
                    int src = ((img * h + iy) * w + ix) * c;
                    int dst = ((img * o[1] + b[1] + iy) * o[2] + b[2] + ix) * o[0] + b[0];
                    if (toPadded) {
                        System.arraycopy(in, src, padded, dst, c);
                    } else {
                        System.arraycopy(padded, dst, in, src, c);
                    }
                }
            }
        }
    }
}
