package io.zsq.core.passes;

import io.zsq.core.ir.Graph;
import io.zsq.core.ir.Property;
import io.zsq.core.quant.Quantization;
import io.zsq.runtime.IntModel;
import java.util.Set;

/**
 * What passes transform: the FP32 graph (which carries the properties established so far), its
 * quantization once placed, and the integer model once lowered.
 */
public record ModelState(Graph graph, Quantization quantization, IntModel lowered) {

    public static ModelState of(Graph g) {
        return new ModelState(g, null, null);
    }

    public Set<Property> properties() {
        return graph.properties();
    }

    public ModelState withGraph(Graph g) {
        return new ModelState(g, quantization, lowered);
    }

    public ModelState withQuantization(Quantization q) {
        return new ModelState(graph, q, lowered);
    }

    public ModelState withLowered(IntModel m) {
        return new ModelState(graph, quantization, m);
    }
}
