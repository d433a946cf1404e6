package io.zsq.core.passes;

import io.zsq.core.ir.ActivationFusion;
import io.zsq.core.ir.Graph;
import io.zsq.core.ir.Node;
import io.zsq.core.ir.OpType;
import io.zsq.core.ir.Property;
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

    /** The layers an activation is fused into. */
    private static final Set<OpType> PRODUCERS = Set.of(OpType.CONV, OpType.DENSE, OpType.ADD, OpType.SUB, OpType.MUL, OpType.CONCAT);

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
        ActivationFusion.Fused f = ActivationFusion.fuse(g, PRODUCERS);
        return new Result<>(state.withGraph(g.withNodes(f.nodes(), Property.ACTIVATIONS_FUSED)), new Report(f.into().size(), f.into()));
    }
}
