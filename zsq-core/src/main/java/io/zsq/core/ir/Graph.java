package io.zsq.core.ir;

import java.io.Serializable;
import java.util.ArrayList;
import java.util.EnumSet;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * A model: one input tensor ({@code [C, H, W]} per image), nodes in topological order, one output
 * tensor, the per-image shape of every tensor, the properties established by passes and free-form
 * metadata (source file, hash).
 */
public record Graph(String input, int[] inputShape, String output, List<Node> nodes, Map<String, int[]> shapes,
                    Set<Property> properties, Map<String, String> metadata) implements Serializable {

    public static final Property BN_FOLDED = Property.BN_FOLDED;
    public static final Property ACTIVATIONS_FUSED = Property.ACTIVATIONS_FUSED;

    public Graph {
        nodes = List.copyOf(nodes);
        shapes = new LinkedHashMap<>(shapes);
        properties = properties.isEmpty() ? EnumSet.noneOf(Property.class) : EnumSet.copyOf(properties);
        metadata = new LinkedHashMap<>(metadata);
        Set<String> defined = new LinkedHashSet<>();
        defined.add(input);
        for (Node n : nodes) {
            for (String in : n.inputs()) {
                if (!defined.contains(in)) {
                    throw new IllegalArgumentException("node " + n.id() + " reads '" + in + "' before it is produced");
                }
            }
            defined.add(n.output());
        }
        if (!defined.contains(output)) {
            throw new IllegalArgumentException("graph output '" + output + "' is never produced");
        }
    }

    /** Builds a graph from nodes, inferring every tensor's shape. */
    public static Graph of(String input, int[] inputShape, String output, List<Node> nodes, Set<Property> properties,
                           Map<String, String> metadata) {
        return new Graph(input, inputShape, output, nodes, ShapeInference.infer(input, inputShape, nodes), properties, metadata);
    }

    /** A copy with other nodes (shapes re-inferred) and one more established property, or none. */
    public Graph withNodes(List<Node> newNodes, Property establishes) {
        Set<Property> p = EnumSet.noneOf(Property.class);
        p.addAll(properties);
        if (establishes != null) {
            p.add(establishes);
        }
        return of(input, inputShape, output, newNodes, p, metadata);
    }

    public int[] shape(String tensor) {
        return shapes.get(tensor);
    }

    /** The nodes that read each tensor. */
    public Map<String, List<Node>> consumers() {
        Map<String, List<Node>> c = new HashMap<>();
        for (Node n : nodes) {
            for (String in : n.inputs()) {
                c.computeIfAbsent(in, k -> new ArrayList<>()).add(n);
            }
        }
        return c;
    }

    public Node producer(String tensor) {
        for (Node n : nodes) {
            if (n.output().equals(tensor)) {
                return n;
            }
        }
        return null;
    }

    public long parameterCount() {
        long n = 0;
        for (Node node : nodes) {
            for (Map.Entry<String, Tensor> e : node.params().entrySet()) {
                n += e.getKey().startsWith(Node.STATS) ? 0 : e.getValue().data().length;
            }
        }
        return n;
    }

    public void require(Property property, String who) {
        if (!properties.contains(property)) {
            throw new IllegalStateException(who + " needs a graph with " + property + "; run the pass that establishes it first");
        }
    }

    /** The same graph with one more established property. */
    public Graph with(Property p) {
        Set<Property> s = EnumSet.noneOf(Property.class);
        s.addAll(properties);
        s.add(p);
        return new Graph(input, inputShape, output, nodes, shapes, s, metadata);
    }
}
