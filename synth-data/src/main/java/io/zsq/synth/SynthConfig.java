package io.zsq.synth;

import java.io.Serializable;

/**
 * How to make a synthetic calibration set. {@code method}: {@code zeroq} (BN-statistics matching) or
 * {@code gaussian} (N(0,1) noise in the model's input space, the lower bound).
 */
public record SynthConfig(String method, int count, int batchSize, int steps, double learningRate, long seed)
        implements Serializable {
    public SynthConfig {
        if (!method.equals("zeroq") && !method.equals("gaussian")) {
            throw new IllegalArgumentException("unknown synthesis method '" + method + "' (zeroq, gaussian)");
        }
        if (count <= 0 || batchSize <= 0 || steps < 0 || !(learningRate > 0)) {
            throw new IllegalArgumentException("need count > 0, batch > 0, steps >= 0, lr > 0: " + this);
        }
    }

    public static SynthConfig zeroq(int count, int batch, int steps, long seed) {
        return new SynthConfig("zeroq", count, batch, steps, 0.5, seed);
    }

    public int batches() {
        return (count + batchSize - 1) / batchSize;
    }

    /** Images in batch {@code b} (the last may be short). */
    public int sizeOf(int b) {
        return Math.min(batchSize, count - b * batchSize);
    }
}
