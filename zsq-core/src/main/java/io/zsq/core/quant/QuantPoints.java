package io.zsq.core.quant;

import io.zsq.core.ir.Graph;
import io.zsq.core.ir.Node;
import io.zsq.core.ir.OpType;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * Where activations are quantized in a canonical graph: the input and the outputs of CONV, DENSE,
 * ADD and MUL (after their fused activation), of SIGMOID, HARD_SIGMOID and HARD_SWISH (observed like
 * the others, not fixed to the function's range: a calibrated [0, 0.9] spends no levels on values
 * that never occur), and of CONCAT (its inputs requantized to it). Pooling, flatten, slice and pad keep their input's parameters
 * (a pad's fill 0.0 is exactly the zero point).
 */
public final class QuantPoints {
    private QuantPoints() {}

    /** The tensors that need an observer, in graph order. */
    public static List<String> of(Graph g) {
        g.require(Graph.ACTIVATIONS_FUSED, "quantization");
        List<String> t = new ArrayList<>();
        t.add(g.input());
        for (Node n : g.nodes()) {
            if (observed(n.op())) {
                t.add(n.output());
            } else if (n.op() == OpType.RELU || n.op() == OpType.CLIP || n.op() == OpType.BATCH_NORM) {
                throw new IllegalArgumentException("node " + n.id() + " (" + n.op() + ") could not be folded or fused into a "
                        + "convolution, dense, add, sub, mul or concat layer; integer-only lowering needs it fused");
            }
        }
        return t;
    }

    /** Ops whose output is observed: they compute new values (the rest move or pool their input's). */
    public static boolean observed(OpType op) {
        return switch (op) {
            case CONV, DENSE, ADD, SUB, MUL, SIGMOID, HARD_SIGMOID, HARD_SWISH, CONCAT -> true;
            default -> false;
        };
    }

    /** Parameters of every tensor: the observed points plus what pooling, flatten, slice and pad inherit. */
    public static Map<String, QParams> propagate(Graph g, Map<String, QParams> points) {
        Map<String, QParams> all = new LinkedHashMap<>(points);
        for (Node n : g.nodes()) {
            if (!all.containsKey(n.output())) {
                QParams in = all.get(n.input());
                if (in == null) {
                    throw new IllegalArgumentException("no quantization parameters for the input of node " + n.id());
                }
                all.put(n.output(), in);
            }
        }
        return all;
    }
}
