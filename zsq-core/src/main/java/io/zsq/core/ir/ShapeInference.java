package io.zsq.core.ir;

import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/** Per-image shapes of every tensor, from the input shape. Errors name the node. */
public final class ShapeInference {
    private ShapeInference() {}

    public static Map<String, int[]> infer(String input, int[] inputShape, List<Node> nodes) {
        Map<String, int[]> s = new LinkedHashMap<>();
        s.put(input, inputShape.clone());
        for (Node n : nodes) {
            for (String in : n.inputs()) {
                if (!s.containsKey(in)) {
                    throw new IllegalArgumentException("node " + n.id() + " reads '" + in + "' before it is produced");
                }
            }
            int[] x = s.get(n.input());
            if (n.op() == OpType.CONCAT) {
                s.put(n.output(), concat(n, n.inputs().stream().map(s::get).toList()));
                continue;
            }
            s.put(n.output(), outShape(n, x, n.inputs().size() > 1 ? s.get(n.inputs().get(1)) : null));
        }
        return s;
    }

    static int[] outShape(Node n, int[] x, int[] x2) {
        switch (n.op()) {
            case CONV: {
                need(n, x.length == 3, "a [C, H, W] input, got " + Arrays.toString(x));
                Tensor w = n.param("W");
                int group = n.ints("group", new int[] {1})[0];
                need(n, w.dim(1) * group == x[0], "input channels " + x[0] + " but weights expect " + w.dim(1) * group);
                int[] k = {w.dim(2), w.dim(3)};
                return new int[] {w.dim(0), out(x[1], k[0], n, 0), out(x[2], k[1], n, 1)};
            }
            case MAX_POOL:
            case AVG_POOL: {
                need(n, x.length == 3, "a [C, H, W] input, got " + Arrays.toString(x));
                int[] k = n.ints("kernel");
                return new int[] {x[0], out(x[1], k[0], n, 0), out(x[2], k[1], n, 1)};
            }
            case GLOBAL_AVG_POOL:
                need(n, x.length == 3, "a [C, H, W] input, got " + Arrays.toString(x));
                return new int[] {x[0], 1, 1};
            case FLATTEN:
                return new int[] {Tensor.size(x)};
            case DENSE: {
                Tensor w = n.param("W");
                need(n, Tensor.size(x) == w.dim(1), "an input of " + w.dim(1) + " features, got " + Arrays.toString(x));
                return new int[] {w.dim(0)};
            }
            case ADD:
            case SUB:
            case MUL:
                return Broadcast.of(n, x, x2).out();
            case SLICE:
                return SliceWindow.of(n, x).outShape();
            case PAD:
                return PadWidths.of(n, x).outShape();
            case BATCH_NORM:
                need(n, n.param("mean").data().length == x[0], "per-channel statistics for " + x[0] + " channels");
                return x.clone();
            default:
                return x.clone();
        }
    }

    /** Channels summed; every input {@code [C_i, H, W]} with one H and W. */
    static int[] concat(Node n, List<int[]> in) {
        need(n, in.size() >= 2, "two or more inputs");
        int c = 0;
        for (int[] x : in) {
            need(n, x.length == 3 && x[1] == in.get(0)[1] && x[2] == in.get(0)[2],
                    "[C, H, W] inputs of one height and width, got " + in.stream().map(Arrays::toString).toList());
            c += x[0];
        }
        return new int[] {c, in.get(0)[1], in.get(0)[2]};
    }

    private static int out(int in, int k, Node n, int axis) {
        int[] st = n.ints("strides", new int[] {1, 1});
        int[] p = n.ints("pads", new int[] {0, 0, 0, 0});
        int o = (in + p[axis] + p[axis + 2] - k) / st[axis] + 1;
        need(n, o > 0, "a window of " + k + " that fits an input of " + in);
        return o;
    }

    private static void need(Node n, boolean ok, String what) {
        if (!ok) {
            throw new IllegalArgumentException("node " + n.id() + " (" + n.op() + ") needs " + what);
        }
    }
}
