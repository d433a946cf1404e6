package io.zsq.core.quant;

import io.zsq.core.ir.Graph;
import io.zsq.core.ir.Node;
import io.zsq.core.ir.OpType;
import java.io.Serializable;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Set;
import java.util.TreeSet;

/**
 * The quantization of a canonical graph, as typed data: the scheme, the parameters of every activation
 * tensor (observed points plus what pooling and flatten inherit), the weight parameters of every CONV
 * and DENSE node (by node id), and which activation ranges came from BatchNorm statistics rather than
 * data. {@link #of} is the one place weight parameters are derived from the scheme; lowering, the
 * simulation and the reports read them from here.
 */
public record Quantization(Scheme scheme, Map<String, QParams> activations, Map<String, ChannelQParams> weights, Set<String> bnRanged)
        implements Serializable {

    public Quantization {
        activations = Collections.unmodifiableMap(new LinkedHashMap<>(activations));
        weights = Collections.unmodifiableMap(new LinkedHashMap<>(weights));
        bnRanged = Collections.unmodifiableSet(new TreeSet<>(bnRanged));
    }

    /** Activation parameters of {@code points} (propagated to every tensor) and the scheme's weight parameters. */
    public static Quantization of(Graph g, Scheme scheme, Map<String, QParams> points, Set<String> bnRanged) {
        Map<String, ChannelQParams> w = new LinkedHashMap<>();
        for (Node n : g.nodes()) {
            if (n.op() == OpType.CONV || n.op() == OpType.DENSE) {
                w.put(n.id(), scheme.weights(n));
            }
        }
        return new Quantization(scheme, QuantPoints.propagate(g, points), w, bnRanged);
    }

    /** Parameters of a tensor. */
    public QParams tensor(String name) {
        QParams q = activations.get(name);
        if (q == null) {
            throw new IllegalArgumentException("no quantization parameters for tensor '" + name + "'");
        }
        return q;
    }

    /** Weight parameters of a CONV or DENSE node. */
    public ChannelQParams weights(Node n) {
        ChannelQParams q = weights.get(n.id());
        if (q == null) {
            throw new IllegalArgumentException("no weight quantization for node " + n.id());
        }
        return q;
    }
}
