package io.zsq.core.ir;

import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * The one rewrite that fuses a RELU or CLIP into the node producing its input, as that node's
 * {@code fusedMin}/{@code fusedMax} clamp: when the producer's op is one of the given ones, it has no
 * fused activation yet, the activation is its output's only reader and that output is not the graph's.
 * Used by the {@code FuseActivations} pass (integer lowering) and by the FP32 engine for synthesis.
 */
public final class ActivationFusion {
    private ActivationFusion() {}

    /** The rewritten node list, and for each activation fused (by id) the node it went into. */
    public record Fused(List<Node> nodes, Map<String, String> into) {}

    public static Fused fuse(Graph g, Set<OpType> producers) {
        Map<String, List<Node>> consumers = g.consumers();
        Map<String, Integer> index = new HashMap<>();
        Map<String, String> into = new LinkedHashMap<>();
        List<Node> out = new ArrayList<>();
        for (Node n : g.nodes()) {
            boolean act = n.op() == OpType.RELU || n.op() == OpType.CLIP;
            Integer pi = index.get(n.input());
            if (act && pi != null && consumers.get(n.input()).size() == 1 && !n.input().equals(g.output())) {
                Node prev = out.get(pi);
                if (producers.contains(prev.op()) && !prev.hasFusedActivation()) {
                    float lo = n.op() == OpType.RELU ? 0f : n.f("min", Float.NEGATIVE_INFINITY);
                    float hi = n.op() == OpType.RELU ? Float.POSITIVE_INFINITY : n.f("max", Float.POSITIVE_INFINITY);
                    Node f = prev.withFloat("fusedMin", lo).withFloat("fusedMax", hi).withOutput(n.output());
                    out.set(pi, f);
                    into.put(n.id(), prev.id());
                    index.remove(prev.output());
                    index.put(f.output(), pi);
                    continue;
                }
            }
            index.put(n.output(), out.size());
            out.add(n);
        }
        return new Fused(out, into);
    }
}
