package io.zsq.core.exec;

import java.nio.ByteOrder;
import java.nio.FloatBuffer;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;
import org.nd4j.linalg.indexing.NDArrayIndex;

/**
 * Stride-1, ungrouped convolution without im2col. The input is laid out as a zero-padded NHWC matrix
 * {@code Xp[N*Hp*Wp (+ tail), C]} in native memory; output pixel (oy, ox) of image n sits at grid row
 * {@code r = n*Hp*Wp + oy*Wp + ox}, and kernel tap (ky, kx) reads grid row {@code r + ky*Wp + kx}. So
 * the convolution is kh*kw accumulating GEMMs of row-shifted views: {@code Y[r] += Xp[r + off] W_k}
 * with {@code W_k[c][o] = W[o][c][ky][kx]}; grid rows past the output width are computed and ignored.
 * The input gradient is the same with the roles exchanged: {@code dXp[r + off] += dY[r] W_k^T}.
 */
final class ShiftedGemm {
    private ShiftedGemm() {}

    static boolean applies(int groups, int strideH, int strideW) {
        return groups == 1 && strideH == 1 && strideW == 1;
    }

    static void forward(float[] x, float[] w, float[] y, int n, int c, int h, int wd, int o, int oh, int ow, int kh, int kw,
                        int pt, int pl) {
        int hp = oh + kh - 1, wp = ow + kw - 1;
        long grid = (long) n * hp * wp, tail = (long) (kh - 1) * wp + kw - 1;
        float[] xp = new float[(int) ((grid + tail) * c)];
        copy(x, xp, true, n, c, h, wd, hp, wp, pt, pl);
        try (INDArray X = native2d(xp, grid + tail, c); INDArray W = taps(w, o, c, kh, kw);
             INDArray Y = Nd4j.createUninitialized(DataType.FLOAT, new long[] {grid, o}, 'c')) {
            for (int t = 0; t < kh * kw; t++) {
                long off = (long) (t / kw) * wp + t % kw;
                Nd4j.gemm(rows(X, off, grid), rows(W, (long) t * c, c), Y, false, false, 1.0, t == 0 ? 0.0 : 1.0);
            }
            float[] yg = new float[(int) (grid * o)];
            buffer(Y).get(yg);
            copy(y, yg, false, n, o, oh, ow, hp, wp, 0, 0);
        }
    }

    static void backward(float[] dy, float[] w, float[] dx, int n, int c, int h, int wd, int o, int oh, int ow, int kh, int kw,
                         int pt, int pl) {
        int hp = oh + kh - 1, wp = ow + kw - 1;
        long grid = (long) n * hp * wp, tail = (long) (kh - 1) * wp + kw - 1;
        float[] dyg = new float[(int) (grid * o)];
        copy(dy, dyg, true, n, o, oh, ow, hp, wp, 0, 0);
        try (INDArray DY = native2d(dyg, grid, o); INDArray W = taps(w, o, c, kh, kw);
             INDArray DX = Nd4j.create(DataType.FLOAT, new long[] {grid + tail, c}, 'c')) {
            for (int t = 0; t < kh * kw; t++) {
                long off = (long) (t / kw) * wp + t % kw;
                Nd4j.gemm(DY, rows(W, (long) t * c, c), rows(DX, off, grid), false, true, 1.0, 1.0);
            }
            float[] dxp = new float[(int) ((grid + tail) * c)];
            buffer(DX).get(dxp);
            copy(dx, dxp, false, n, c, h, wd, hp, wp, pt, pl);
        }
    }

    /**
     * Copies between an NCHW tensor {@code [n, c, h, w]} and the grid matrix {@code [n*hp*wp, c]}, the
     * tensor's pixel (y, x) at grid row {@code (img*hp + y + top)*wp + x + left}; {@code toGrid} picks
     * the direction. Grid rows outside the tensor are left as they are.
     */
    private static void copy(float[] nchw, float[] grid, boolean toGrid, int n, int c, int h, int w, int hp, int wp, int top, int left) {
        for (int img = 0; img < n; img++) {
            for (int ch = 0; ch < c; ch++) {
                for (int yy = 0; yy < h; yy++) {
                    int row = (img * hp + yy + top) * wp + left;
                    int t = ((img * c + ch) * h + yy) * w;
                    for (int xx = 0; xx < w; xx++) {
                        if (toGrid) {
                            grid[(row + xx) * c + ch] = nchw[t + xx];
                        } else {
                            nchw[t + xx] = grid[(row + xx) * c + ch];
                        }
                    }
                }
            }
        }
    }

    /** W[o][c][ky][kx] as kh*kw stacked [c, o] matrices. */
    private static INDArray taps(float[] w, int o, int c, int kh, int kw) {
        int k = kh * kw;
        float[] t = new float[k * c * o];
        for (int oc = 0; oc < o; oc++) {
            for (int ch = 0; ch < c; ch++) {
                for (int tap = 0; tap < k; tap++) {
                    t[(tap * c + ch) * o + oc] = w[(oc * c + ch) * k + tap];
                }
            }
        }
        return native2d(t, (long) k * c, o);
    }

    private static INDArray rows(INDArray m, long from, long count) {
        return m.get(NDArrayIndex.interval(from, from + count), NDArrayIndex.all());
    }

    private static INDArray native2d(float[] v, long rows, long cols) {
        INDArray a = Nd4j.createUninitialized(DataType.FLOAT, new long[] {rows, cols}, 'c');
        buffer(a).put(v);
        return a;
    }

    private static FloatBuffer buffer(INDArray a) {
        return a.data().asNio().order(ByteOrder.nativeOrder()).asFloatBuffer();
    }
}
