package io.zsq.core.ir;

import java.util.Arrays;

/**
 * The checked form of a {@link OpType#PAD} node over a {@code [C, H, W]} input: zeros added before
 * ({@code begin}) and after ({@code end}) each of (C, H, W), and the output shape {@code in + begin + end}.
 */
public record PadWidths(int[] begin, int[] end, int[] outShape) {
    public PadWidths {
        begin = begin.clone();
        end = end.clone();
        outShape = outShape.clone();
    }

    /** Reads and checks {@code n}'s pads against the input shape {@code in}; errors name the node. */
    public static PadWidths of(Node n, int[] in) {
        SliceWindow.need(n, in.length == 3, "a [C, H, W] input, got " + Arrays.toString(in));
        int[] p = n.ints("pads");
        SliceWindow.need(n, p.length == 6, "pads [c_begin, h_begin, w_begin, c_end, h_end, w_end], got " + Arrays.toString(p));
        int[] begin = new int[3], end = new int[3], out = new int[3];
        for (int a = 0; a < 3; a++) {
            SliceWindow.need(n, p[a] >= 0 && p[a + 3] >= 0, "pads >= 0 (negative pads are not supported), got " + Arrays.toString(p));
            long o = (long) in[a] + p[a] + p[a + 3];
            SliceWindow.need(n, o <= Integer.MAX_VALUE / 2, "an output of sensible size, got axis " + "CHW".charAt(a) + " = " + o);
            begin[a] = p[a];
            end[a] = p[a + 3];
            out[a] = (int) o;
        }
        return new PadWidths(begin, end, out);
    }
}
