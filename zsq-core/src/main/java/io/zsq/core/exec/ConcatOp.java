package io.zsq.core.exec;

import io.zsq.core.ir.OpType;
import java.util.List;

/**
 * FP32 forward and input gradients of {@link OpType#CONCAT} (channels) on NHWC batches: each output
 * pixel holds the channels of every input's pixel, in input order.
 */
public final class ConcatOp {
    private ConcatOp() {}

    /** The concatenation, NHWC; {@code channels[i]} is input i's C, {@code pixels} is H * W. */
    public static float[] forward(List<float[]> x, int batch, int[] channels, int pixels) {
        int total = 0;
        for (int c : channels) {
            total += c;
        }
        float[] y = Workspace.zeros(batch * pixels * total);
        int off = 0;
        for (int i = 0; i < channels.length; i++) {
            int c = channels[i];
            for (int p = 0; p < batch * pixels; p++) {
                System.arraycopy(x.get(i), p * c, y, p * total + off, c);
            }
            off += c;
        }
        return y;
    }

    /** dLoss/dx_i: each input's channels of dy. */
    public static float[][] backward(float[] dy, int batch, int[] channels, int pixels) {
        int total = 0;
        for (int c : channels) {
            total += c;
        }
        float[][] dx = new float[channels.length][];
        int off = 0;
        for (int i = 0; i < channels.length; i++) {
            int c = channels[i];
            dx[i] = Workspace.zeros(batch * pixels * c);
            for (int p = 0; p < batch * pixels; p++) {
                System.arraycopy(dy, p * total + off, dx[i], p * c, c);
            }
            off += c;
        }
        return dx;
    }
}
