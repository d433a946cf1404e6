package io.zsq.core.exec;

import io.zsq.core.ir.Broadcast;
import io.zsq.core.ir.Node;
import io.zsq.core.ir.OpType;

/**
 * FP32 forward and input gradients of {@link OpType#MUL}, {@link OpType#ADD} and {@link OpType#SUB} with broadcasting ({@link Broadcast#of}) on
 * NHWC batches: element {@code (h, w, c)} of the output reads each input at the same position, with
 * 0 on every axis where that input has size 1.
 */
public final class MulOp {
    private MulOp() {}

    /** {@code a * b}, NHWC, of the broadcast shape. */
    public static float[] forward(Node n, float[] a, float[] b, int batch, int[] as, int[] bs) {
        Broadcast br = Broadcast.of(n, Broadcast.chw(as), Broadcast.chw(bs));
        int[] o = br.out();
        int per = o[0] * o[1] * o[2];
        float[] y = Workspace.scratch(batch * per);
        if (java.util.Arrays.equals(br.a(), br.b())) {
            for (int i = 0; i < y.length; i++) {
                y[i] = a[i] * b[i];
            }
            return y;
        }
        int[] ia = index(br.a(), o, batch), ib = index(br.b(), o, batch);
        for (int i = 0; i < y.length; i++) {
            y[i] = a[ia[i]] * b[ib[i]];
        }
        return y;
    }

    /** {@code a + b} ({@link io.zsq.core.ir.OpType#ADD}) or {@code a - b} ({@link io.zsq.core.ir.OpType#SUB}), NHWC, of the broadcast shape. */
    public static float[] add(Node n, float[] a, float[] b, int batch, int[] as, int[] bs) {
        boolean sub = n.op() == OpType.SUB;
        Broadcast br = Broadcast.of(n, Broadcast.chw(as), Broadcast.chw(bs));
        int[] o = br.out();
        float[] y = Workspace.scratch(batch * o[0] * o[1] * o[2]);
        if (java.util.Arrays.equals(br.a(), br.b())) {
            for (int i = 0; i < y.length; i++) {
                y[i] = sub ? a[i] - b[i] : a[i] + b[i];
            }
            return y;
        }
        int[] ia = index(br.a(), o, batch), ib = index(br.b(), o, batch);
        for (int i = 0; i < y.length; i++) {
            y[i] = sub ? a[ia[i]] - b[ib[i]] : a[ia[i]] + b[ib[i]];
        }
        return y;
    }

    /** {@code dy} summed over the axes an input of shape {@code s} broadcast along (the input gradient of ADD). */
    public static float[] reduce(Node n, float[] dy, int batch, int[] s, int[] os) {
        int[] sc = Broadcast.chw(s), oc = Broadcast.chw(os);
        if (java.util.Arrays.equals(sc, oc)) {
            return dy;
        }
        float[] d = Workspace.zeros(batch * sc[0] * sc[1] * sc[2]);
        int[] idx = index(sc, oc, batch);
        for (int i = 0; i < dy.length; i++) {
            d[idx[i]] += dy[i];
        }
        return d;
    }

    /** {@code {dL/da, dL/db}}: {@code dy * b} and {@code dy * a}, each summed over the axes that input broadcast along. */
    public static float[][] backward(Node n, float[] dy, float[] a, float[] b, int batch, int[] as, int[] bs) {
        Broadcast br = Broadcast.of(n, Broadcast.chw(as), Broadcast.chw(bs));
        int[] o = br.out();
        float[] da = Workspace.zeros(a.length), db = Workspace.zeros(b.length);
        int[] ia = index(br.a(), o, batch), ib = index(br.b(), o, batch);
        for (int i = 0; i < dy.length; i++) {
            da[ia[i]] += dy[i] * b[ib[i]];
            db[ib[i]] += dy[i] * a[ia[i]];
        }
        return new float[][] {da, db};
    }

    /** For each output element (NHWC, batch included), the element of an input of shape {@code s} it reads. */
    static int[] index(int[] s, int[] o, int batch) {
        int[] idx = Workspace.intScratch(batch * o[0] * o[1] * o[2]);
        int i = 0;
        for (int img = 0; img < batch; img++) {
            for (int h = 0; h < o[1]; h++) {
                for (int w = 0; w < o[2]; w++) {
                    int base = ((img * s[1] + (s[1] == 1 ? 0 : h)) * s[2] + (s[2] == 1 ? 0 : w)) * s[0];
                    for (int c = 0; c < o[0]; c++) {
                        idx[i++] = base + (s[0] == 1 ? 0 : c);
                    }
                }
            }
        }
        return idx;
    }
}
