package io.zsq.synth;

import io.zsq.core.ir.Graph;
import io.zsq.core.ir.Node;
import io.zsq.core.ir.OpType;
import io.zsq.core.ir.Tensor;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.SplittableRandom;

/** A small graph with every op the engine differentiates, random weights and BN statistics. */
final class RandomGraphs {
    private RandomGraphs() {}

    static Graph small(long seed) {
        SplittableRandom r = new SplittableRandom(seed);
        List<Node> n = new ArrayList<>();
        n.add(conv("c1", "x", "c1", 2, 4, 3, 1, 1, 1, r));
        n.add(bn("bn1", "c1", "b1", 4, r));
        n.add(new Node("r1", OpType.RELU, List.of("b1"), "r1", Map.of(), Map.of(), Map.of()));
        n.add(conv("dw", "r1", "dw", 4, 4, 3, 1, 1, 4, r));
        n.add(bn("bn2", "dw", "b2", 4, r));
        n.add(new Node("r6", OpType.CLIP, List.of("b2"), "r6", Map.of(), Map.of("min", 0f, "max", 6f), Map.of()));
        n.add(new Node("add", OpType.ADD, List.of("r6", "r1"), "s", Map.of(), Map.of(), Map.of()));
        n.add(new Node("mp", OpType.MAX_POOL, List.of("s"), "mp", Map.of("kernel", new int[] {2, 2}, "strides", new int[] {2, 2},
                "pads", new int[] {0, 0, 0, 0}), Map.of(), Map.of()));
        n.add(conv("c2", "mp", "c2", 4, 6, 3, 2, 1, 2, r));
        n.add(bn("bn3", "c2", "b3", 6, r));
        n.add(new Node("ap", OpType.AVG_POOL, List.of("b3"), "ap", Map.of("kernel", new int[] {2, 2}, "strides", new int[] {1, 1},
                "pads", new int[] {1, 1, 0, 0}, "countIncludePad", new int[] {0}), Map.of(), Map.of()));
        n.add(new Node("gap", OpType.GLOBAL_AVG_POOL, List.of("ap"), "g", Map.of(), Map.of(), Map.of()));
        n.add(new Node("fl", OpType.FLATTEN, List.of("g"), "f", Map.of(), Map.of(), Map.of()));
        Map<String, Tensor> p = new LinkedHashMap<>();
        p.put("W", rnd(r, new int[] {5, 6}, 0.5));
        p.put("B", rnd(r, new int[] {5}, 0.1));
        n.add(new Node("fc", OpType.DENSE, List.of("f"), "y", Map.of(), Map.of(), p));
        return Graph.of("x", new int[] {2, 8, 8}, "y", n, Set.of(), Map.of());
    }

    /**
     * A CIFAR ResNet's option-A block (conv stride 2 on the main path; {@code x[:, :, ::2, ::2]} and 2 + 2 zero
     * channels on the shortcut; added), then a slice with a negative start and a channel step and a spatial
     * pad before a BatchNorm'd conv: gradients of the matching loss cross SLICE and PAD.
     */
    static Graph optionA(long seed) {
        SplittableRandom r = new SplittableRandom(seed);
        int max = Integer.MAX_VALUE;
        List<Node> n = new ArrayList<>();
        n.add(conv("c1", "x", "c1", 2, 4, 3, 1, 1, 1, r));
        n.add(bn("bn1", "c1", "b1", 4, r));
        n.add(new Node("r1", OpType.RELU, List.of("b1"), "r1", Map.of(), Map.of(), Map.of()));
        n.add(conv("c2", "r1", "c2", 4, 8, 3, 2, 1, 1, r));
        n.add(bn("bn2", "c2", "b2", 8, r));
        n.add(new Node("sl", OpType.SLICE, List.of("r1"), "sl", Map.of("starts", new int[] {0, 0, 0}, "ends", new int[] {max, max, max},
                "steps", new int[] {1, 2, 2}), Map.of(), Map.of()));
        n.add(new Node("pd", OpType.PAD, List.of("sl"), "pd", Map.of("pads", new int[] {2, 0, 0, 2, 0, 0}), Map.of(), Map.of()));
        n.add(new Node("add", OpType.ADD, List.of("b2", "pd"), "s", Map.of(), Map.of(), Map.of()));
        n.add(new Node("r2", OpType.RELU, List.of("s"), "r2", Map.of(), Map.of(), Map.of()));
        n.add(new Node("sl2", OpType.SLICE, List.of("r2"), "sl2", Map.of("starts", new int[] {-7, 1, 0}, "ends", new int[] {max, -1, 4},
                "steps", new int[] {2, 1, 2}), Map.of(), Map.of()));
        n.add(new Node("pd2", OpType.PAD, List.of("sl2"), "pd2", Map.of("pads", new int[] {0, 1, 0, 1, 0, 1}), Map.of(), Map.of()));
        n.add(conv("c3", "pd2", "c3", 5, 6, 3, 1, 1, 1, r));
        n.add(bn("bn3", "c3", "b3", 6, r));
        n.add(new Node("gap", OpType.GLOBAL_AVG_POOL, List.of("b3"), "g", Map.of(), Map.of(), Map.of()));
        n.add(new Node("fl", OpType.FLATTEN, List.of("g"), "f", Map.of(), Map.of(), Map.of()));
        Map<String, Tensor> p = new LinkedHashMap<>();
        p.put("W", rnd(r, new int[] {5, 6}, 0.5));
        p.put("B", rnd(r, new int[] {5}, 0.1));
        n.add(new Node("fc", OpType.DENSE, List.of("f"), "y", Map.of(), Map.of(), p));
        return Graph.of("x", new int[] {2, 8, 8}, "y", n, Set.of(), Map.of());
    }

    /**
     * A squeeze-excite block (conv-BN-ReLU -> GAP -> 1x1 conv -> ReLU -> 1x1 conv -> HardSigmoid -> MUL with the
     * block input), a sigmoid branch, a hard-swish branch scaled by a [1, 1, 1] sigmoid gate plus that gate's logit (a
     * broadcasting ADD) minus the sigmoid branch (SUB), and a CONCAT of them (one twice) before a BatchNorm'd conv: gradients of the matching loss
     * cross MUL, ADD and SUB (to both inputs, with broadcasting), the tables' functions and CONCAT.
     */
    static Graph squeezeExcite(long seed) {
        SplittableRandom r = new SplittableRandom(seed);
        List<Node> n = new ArrayList<>();
        n.add(conv("c1", "x", "c1", 2, 4, 3, 1, 1, 1, r));
        n.add(bn("bn1", "c1", "b1", 4, r));
        n.add(new Node("r1", OpType.RELU, List.of("b1"), "a", Map.of(), Map.of(), Map.of()));
        n.add(new Node("gap0", OpType.GLOBAL_AVG_POOL, List.of("a"), "g0", Map.of(), Map.of(), Map.of()));
        n.add(conv("se1", "g0", "se1", 4, 2, 1, 1, 0, 1, r));
        n.add(new Node("rse", OpType.RELU, List.of("se1"), "rse", Map.of(), Map.of(), Map.of()));
        n.add(conv("se2", "rse", "se2", 2, 4, 1, 1, 0, 1, r));
        n.add(new Node("hs", OpType.HARD_SIGMOID, List.of("se2"), "s", Map.of(), Map.of("alpha", 1f / 6f, "beta", 0.5f), Map.of()));
        n.add(new Node("m", OpType.MUL, List.of("a", "s"), "m", Map.of(), Map.of(), Map.of()));
        n.add(new Node("sig", OpType.SIGMOID, List.of("m"), "sg", Map.of(), Map.of(), Map.of()));
        n.add(new Node("hw", OpType.HARD_SWISH, List.of("b1"), "hw", Map.of(), Map.of(), Map.of()));
        n.add(new Node("gap1", OpType.GLOBAL_AVG_POOL, List.of("sg"), "g1", Map.of(), Map.of(), Map.of()));
        n.add(conv("t", "g1", "t0", 4, 1, 1, 1, 0, 1, r));
        n.add(new Node("sig2", OpType.SIGMOID, List.of("t0"), "t", Map.of(), Map.of(), Map.of()));
        n.add(new Node("mt", OpType.MUL, List.of("t", "hw"), "hwt", Map.of(), Map.of(), Map.of()));
        n.add(new Node("ab", OpType.ADD, List.of("t0", "hwt"), "ab", Map.of(), Map.of(), Map.of())); // [1,1,1] + [4,8,8]
        n.add(new Node("sb", OpType.SUB, List.of("ab", "sg"), "sb", Map.of(), Map.of(), Map.of()));
        n.add(new Node("cat", OpType.CONCAT, List.of("m", "sg", "sb", "m"), "cat", Map.of(), Map.of(), Map.of()));
        n.add(conv("c3", "cat", "c3", 16, 6, 3, 1, 1, 1, r));
        n.add(bn("bn3", "c3", "b3", 6, r));
        n.add(new Node("gap", OpType.GLOBAL_AVG_POOL, List.of("b3"), "g", Map.of(), Map.of(), Map.of()));
        n.add(new Node("fl", OpType.FLATTEN, List.of("g"), "f", Map.of(), Map.of(), Map.of()));
        Map<String, Tensor> p = new LinkedHashMap<>();
        p.put("W", rnd(r, new int[] {5, 6}, 0.5));
        p.put("B", rnd(r, new int[] {5}, 0.1));
        n.add(new Node("fc", OpType.DENSE, List.of("f"), "y", Map.of(), Map.of(), p));
        return Graph.of("x", new int[] {2, 8, 8}, "y", n, Set.of(), Map.of());
    }

    /** Channel counts that fill whole vectors (16, 32), so BatchNorm and its fused ReLU/clip take the vector kernels. */
    static Graph wide(long seed) {
        SplittableRandom r = new SplittableRandom(seed);
        List<Node> n = new ArrayList<>();
        n.add(conv("c1", "x", "c1", 3, 16, 3, 1, 1, 1, r));
        n.add(bn("bn1", "c1", "b1", 16, r));
        n.add(new Node("r1", OpType.RELU, List.of("b1"), "r1", Map.of(), Map.of(), Map.of()));
        n.add(conv("c2", "r1", "c2", 16, 32, 3, 2, 1, 1, r));
        n.add(bn("bn2", "c2", "b2", 32, r));
        n.add(new Node("r6", OpType.CLIP, List.of("b2"), "r6", Map.of(), Map.of("min", 0f, "max", 6f), Map.of()));
        n.add(conv("c3", "r6", "c3", 32, 32, 1, 1, 0, 1, r));
        n.add(bn("bn3", "c3", "b3", 32, r));
        n.add(new Node("add", OpType.ADD, List.of("b3", "r6"), "s", Map.of(), Map.of(), Map.of()));
        n.add(new Node("gap", OpType.GLOBAL_AVG_POOL, List.of("s"), "g", Map.of(), Map.of(), Map.of()));
        n.add(new Node("fl", OpType.FLATTEN, List.of("g"), "f", Map.of(), Map.of(), Map.of()));
        Map<String, Tensor> p = new LinkedHashMap<>();
        p.put("W", rnd(r, new int[] {5, 32}, 0.5));
        n.add(new Node("fc", OpType.DENSE, List.of("f"), "y", Map.of(), Map.of(), p));
        return Graph.of("x", new int[] {3, 8, 8}, "y", n, Set.of(), Map.of());
    }

    static Node conv(String id, String in, String out, int cin, int cout, int k, int stride, int pad, int group, SplittableRandom r) {
        Map<String, Tensor> p = new LinkedHashMap<>();
        p.put("W", rnd(r, new int[] {cout, cin / group, k, k}, 0.4));
        return new Node(id, OpType.CONV, List.of(in), out, Map.of("strides", new int[] {stride, stride},
                "pads", new int[] {pad, pad, pad, pad}, "group", new int[] {group}), Map.of(), p);
    }

    static Node bn(String id, String in, String out, int c, SplittableRandom r) {
        Map<String, Tensor> p = new LinkedHashMap<>();
        p.put("scale", rnd(r, new int[] {c}, 0.3, 1.0));
        p.put("bias", rnd(r, new int[] {c}, 0.2));
        p.put("mean", rnd(r, new int[] {c}, 0.3));
        p.put("var", rnd(r, new int[] {c}, 0.3, 1.0));
        return new Node(id, OpType.BATCH_NORM, List.of(in), out, Map.of(), Map.of("epsilon", 1e-5f), p);
    }

    static Tensor rnd(SplittableRandom r, int[] shape, double scale) {
        return rnd(r, shape, scale, 0);
    }

    static Tensor rnd(SplittableRandom r, int[] shape, double scale, double offset) {
        float[] v = new float[Tensor.size(shape)];
        for (int i = 0; i < v.length; i++) {
            v[i] = (float) (offset + scale * (offset > 0 ? r.nextDouble() : r.nextGaussian()));
        }
        return new Tensor(shape, v);
    }
}
