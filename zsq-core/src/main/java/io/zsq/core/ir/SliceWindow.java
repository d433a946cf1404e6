package io.zsq.core.ir;

import java.util.Arrays;

/**
 * The normalized form of a {@link OpType#SLICE} node over a {@code [C, H, W]} input: per axis the first
 * index read, the step, and the output size; output element {@code i} of an axis reads input index
 * {@code start + i * step}. The one place the slice convention is interpreted (shape inference, the
 * FP32 engine and integer lowering all call {@link #of}).
 */
public record SliceWindow(int[] starts, int[] steps, int[] outShape) {
    public SliceWindow {
        starts = starts.clone();
        steps = steps.clone();
        outShape = outShape.clone();
    }

    /** Normalizes {@code n}'s starts, ends and steps against the input shape {@code in}; errors name the node. */
    public static SliceWindow of(Node n, int[] in) {
        need(n, in.length == 3, "a [C, H, W] input, got " + Arrays.toString(in));
        int[] st = n.ints("starts"), en = n.ints("ends"), sp = n.ints("steps");
        need(n, st.length == 3 && en.length == 3 && sp.length == 3, "starts, ends and steps over the 3 axes (C, H, W), got "
                + Arrays.toString(st) + ", " + Arrays.toString(en) + ", " + Arrays.toString(sp));
        int[] starts = new int[3], steps = new int[3], out = new int[3];
        for (int a = 0; a < 3; a++) {
            need(n, sp[a] >= 1, "steps >= 1, got " + Arrays.toString(sp));
            long dim = in[a];
            long s = clamp(st[a] < 0 ? st[a] + dim : st[a], dim), e = clamp(en[a] < 0 ? en[a] + dim : en[a], dim);
            long size = Math.max(0, Math.floorDiv(e - s + sp[a] - 1, sp[a])); // ceil((e - s) / step) for e > s
            need(n, size > 0, "a non-empty output, but axis " + "CHW".charAt(a) + " of " + Arrays.toString(in) + " sliced "
                    + st[a] + ":" + en[a] + ":" + sp[a] + " is empty");
            starts[a] = (int) s;
            steps[a] = sp[a];
            out[a] = (int) size;
        }
        return new SliceWindow(starts, steps, out);
    }

    private static long clamp(long v, long dim) {
        return Math.max(0, Math.min(dim, v));
    }

    static void need(Node n, boolean ok, String what) {
        if (!ok) {
            throw new IllegalArgumentException("node " + n.id() + " (" + n.op() + ") needs " + what);
        }
    }
}
