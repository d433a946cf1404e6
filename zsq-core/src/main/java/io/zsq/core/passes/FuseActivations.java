package io.zsq.core.passes;

import io.zsq.core.ir.Graph;
import io.zsq.core.ir.Node;
import io.zsq.core.ir.OpType;
import io.zsq.core.ir.Property;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * Fuses RELU and CLIP into the CONV, DENSE, ADD, SUB, MUL or CONCAT that produces their input (when nothing else reads
 * it), as a clamp of that layer's output; integer-only lowering needs every activation fused.
 */
public final class FuseActivations implements Pass<FuseActivations.Report> {

    /** The activation nodes fused, by id, with the layer each went into. */
    public record Report(int fused, Map<String, String> into) {}

    @Override
    public String name() {
        return "fuse-activations";
    }

    @Override
    public Set<Property> requires() {
        return Set.of(Property.BN_FOLDED);
    }

    @Override
    public Property establishes() {
        return Property.ACTIVATIONS_FUSED;
    }

    @Override
    public Result<Report> run(ModelState state, Stats stats) {
        Graph g = state.graph();
        Map<String, String> into = new LinkedHashMap<>();
        Map<String, List<Node>> consumers = g.consumers();
        Map<String, Integer> index = new HashMap<>();
        List<Node> out = new ArrayList<>();
        int fused = 0;
        for (Node n : g.nodes()) {
            boolean act = n.op() == OpType.RELU || n.op() == OpType.CLIP;
            Integer pi = index.get(n.input());
            if (act && pi != null && consumers.get(n.input()).size() == 1) {
                Node prev = out.get(pi);
                if ((prev.op() == OpType.CONV || prev.op() == OpType.DENSE || prev.op() == OpType.ADD || prev.op() == OpType.SUB || prev.op() == OpType.MUL
                        || prev.op() == OpType.CONCAT) && !prev.hasFusedActivation()) {
                    float lo = n.op() == OpType.RELU ? 0f : n.f("min", Float.NEGATIVE_INFINITY);
                    float hi = n.op() == OpType.RELU ? Float.POSITIVE_INFINITY : n.f("max", Float.POSITIVE_INFINITY);
                    Node f = prev.withFloat("fusedMin", lo).withFloat("fusedMax", hi).withOutput(n.output());
                    out.set(pi, f);
                    into.put(n.id(), prev.id());
                    index.remove(prev.output());
                    index.put(f.output(), pi);
                    fused++;
                    continue;
                }
            }
            index.put(n.output(), out.size());
            out.add(n);
        }
        return new Result<>(state.withGraph(g.withNodes(out, Property.ACTIVATIONS_FUSED)), new Report(fused, into));
    }
}
