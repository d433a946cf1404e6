package io.zsq.core.ir;

import java.util.Arrays;

/**
 * Numpy broadcasting of two per-image shapes of one rank ({@link OpType#MUL}): each dimension equal,
 * or 1 in one of them; the output takes the larger. The one place the rule is applied.
 */
public record Broadcast(int[] a, int[] b, int[] out) {

    public static Broadcast of(Node n, int[] a, int[] b) {
        if (a.length != b.length) {
            throw new IllegalArgumentException("node " + n.id() + " (" + n.op() + ") needs inputs of one rank, got "
                    + Arrays.toString(a) + " and " + Arrays.toString(b));
        }
        int[] o = new int[a.length];
        for (int i = 0; i < a.length; i++) {
            if (a[i] != b[i] && a[i] != 1 && b[i] != 1) {
                throw new IllegalArgumentException("node " + n.id() + " (" + n.op() + ") needs shapes that broadcast (each dimension "
                        + "equal or 1), got " + Arrays.toString(a) + " and " + Arrays.toString(b));
            }
            o[i] = Math.max(a[i], b[i]);
        }
        return new Broadcast(a.clone(), b.clone(), o);
    }

    /** A shape as {@code (C, H, W)}: a vector {@code [F]} is {@code (F, 1, 1)}. */
    public static int[] chw(int[] s) {
        return s.length == 3 ? s : new int[] {Tensor.size(s), 1, 1};
    }
}
