package io.zsq.core.exec;

import java.util.LinkedHashMap;
import java.util.Map;

/**
 * dLoss/dParameter of the CONV and DENSE nodes of one backward pass ({@link Fp32Engine#backwardToParameters}):
 * per node id, {@code W} in the node's own layout ({@code [O, I/groups, kh, kw]} or {@code [out, in]}) and
 * {@code B} ({@code [O]}, present whether or not the node has a bias: Level 2 may give one to a layer
 * that had none). The arrays are the caller's and outlive the engine's workspace; a backward pass adds
 * into them, so gradients of several passes (micro-batches) accumulate.
 */
public final class ParameterGradients {
    private final Map<String, float[]> weights = new LinkedHashMap<>();
    private final Map<String, float[]> biases = new LinkedHashMap<>();

    /** dLoss/dW of node {@code id}, or null when no pass reached it. */
    public float[] weight(String id) {
        return weights.get(id);
    }

    /** dLoss/dB of node {@code id}, or null when no pass reached it. */
    public float[] bias(String id) {
        return biases.get(id);
    }

    /** The node ids with gradients, in the order passes reached them. */
    public java.util.Set<String> nodes() {
        return java.util.Collections.unmodifiableSet(weights.keySet());
    }

    /** Adds a pass's dW and dB of node {@code id} (another engine's: {@link OnnxGraphs}). */
    public void add(String id, float[] dw, float[] db) {
        float[] w = weightInto(id, dw.length), b = biasInto(id, db.length);
        for (int i = 0; i < dw.length; i++) {
            w[i] += dw[i];
        }
        for (int i = 0; i < db.length; i++) {
            b[i] += db[i];
        }
    }

    /** The array to add dW into (zero on first use). */
    float[] weightInto(String id, int length) {
        return into(weights, id, length);
    }

    float[] biasInto(String id, int length) {
        return into(biases, id, length);
    }

    private static float[] into(Map<String, float[]> m, String id, int length) {
        float[] a = m.computeIfAbsent(id, k -> new float[length]);
        if (a.length != length) {
            throw new IllegalStateException("gradient of " + id + " holds " + a.length + " values, the pass gives " + length);
        }
        return a;
    }
}
