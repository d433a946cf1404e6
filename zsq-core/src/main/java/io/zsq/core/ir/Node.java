package io.zsq.core.ir;

import java.io.Serializable;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * One operation: reads {@code inputs} (tensor names), writes {@code output}, with integer and float
 * attributes and FP32 parameters. {@code fusedMin}/{@code fusedMax} are set when an activation (ReLU,
 * ReLU6) was fused into a CONV, DENSE, ADD, SUB, MUL or CONCAT: the output is clamped to that range.
 */
public record Node(String id, OpType op, List<String> inputs, String output, Map<String, int[]> ints,
                   Map<String, Float> floats, Map<String, Tensor> params) implements Serializable {
    /** Params under this prefix are statistics (not weights): the folded BatchNorm's beta and |gamma| per channel. */
    public static final String STATS = "stats.";
    public static final String STATS_BETA = STATS + "beta";
    public static final String STATS_GAMMA = STATS + "gamma";

    public Node {
        inputs = List.copyOf(inputs);
        ints = new LinkedHashMap<>(ints);
        floats = new LinkedHashMap<>(floats);
        params = new LinkedHashMap<>(params);
    }

    public int[] ints(String key) {
        int[] v = ints.get(key);
        if (v == null) {
            throw new IllegalStateException("node " + id + " (" + op + ") has no attribute " + key);
        }
        return v;
    }

    public int[] ints(String key, int[] dflt) {
        return ints.getOrDefault(key, dflt);
    }

    public float f(String key, float dflt) {
        return floats.getOrDefault(key, dflt);
    }

    public Tensor param(String key) {
        return params.get(key);
    }

    public String input() {
        return inputs.get(0);
    }

    public boolean hasFusedActivation() {
        return floats.containsKey("fusedMin");
    }

    /** A copy with other params. */
    public Node withParams(Map<String, Tensor> p) {
        return new Node(id, op, inputs, output, ints, floats, p);
    }

    /** A copy with one float attribute set. */
    public Node withFloat(String key, float v) {
        Map<String, Float> f = new LinkedHashMap<>(floats);
        f.put(key, v);
        return new Node(id, op, inputs, output, ints, f, params);
    }

    public Node withOutput(String out) {
        return new Node(id, op, inputs, out, ints, floats, params);
    }

    public Node withInputs(List<String> in) {
        return new Node(id, op, in, output, ints, floats, params);
    }
}
