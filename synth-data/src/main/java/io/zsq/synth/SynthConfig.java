package io.zsq.synth;

import java.io.Serializable;

/**
 * How to make a synthetic calibration set. {@code method}: {@code zeroq} (BN-statistics matching) or
 * {@code gaussian} (N(0,1) noise in the model's input space, the lower bound). {@code inputMin} and
 * {@code inputMax} (per input channel, or null for unbounded) are the valid input range implied by the
 * preprocessing (pixels in [0, 1], then normalized): samples are clamped to it at initialization and
 * after every step, as DeepInversion clips to the valid image range.
 */
public record SynthConfig(String method, int count, int batchSize, int steps, double learningRate, long seed, float[] inputMin,
                          float[] inputMax) implements Serializable {
    public SynthConfig(String method, int count, int batchSize, int steps, double learningRate, long seed) {
        this(method, count, batchSize, steps, learningRate, seed, null, null);
    }

    public SynthConfig {
        if ((inputMin == null) != (inputMax == null) || (inputMin != null && inputMin.length != inputMax.length)) {
            throw new IllegalArgumentException("input bounds need a min and a max per channel");
        }
        if (!METHODS.contains(method)) {
            throw new IllegalArgumentException("unknown synthesis method '" + method + "' " + METHODS);
        }
        if (count <= 0 || batchSize <= 0 || steps < 0 || !(learningRate > 0)) {
            throw new IllegalArgumentException("need count > 0, batch > 0, steps >= 0, lr > 0: " + this);
        }
    }

    /**
     * {@code zeroq}: BN-statistics matching only. {@code zeroq-label}: plus cross-entropy of the logits
     * towards a class assigned to each sample (sample i gets class i mod classes), as in GDFQ (Xu et al.
     * 2020), so the set covers the classes and the layers after the last BatchNorm see confident
     * outputs. {@code gaussian}: noise, the lower bound.
     */
    public static final java.util.List<String> METHODS = java.util.List.of("zeroq", "zeroq-label", "gaussian");

    /** Weight of the label cross-entropy against the summed BN-matching loss in {@code zeroq-label}. */
    public static final double LABEL_WEIGHT = 0.1;

    public double labelWeight() {
        return method.equals("zeroq-label") ? LABEL_WEIGHT : 0;
    }

    public static SynthConfig zeroq(int count, int batch, int steps, long seed) {
        return new SynthConfig("zeroq", count, batch, steps, 0.5, seed);
    }

    /** The same settings with another method. */
    public SynthConfig withMethod(String m) {
        return new SynthConfig(m, count, batchSize, m.equals("gaussian") ? 0 : steps, learningRate, seed, inputMin, inputMax);
    }

    /** Clamps a batch (NCHW) to the valid input range, in place. */
    public void clamp(float[] x, int channels, int plane) {
        if (inputMin == null) {
            return;
        }
        for (int i = 0; i < x.length; i++) {
            int c = (i / plane) % channels;
            c = inputMin.length == 1 ? 0 : c;
            x[i] = Math.max(inputMin[c], Math.min(inputMax[c], x[i]));
        }
    }

    public int batches() {
        return (count + batchSize - 1) / batchSize;
    }

    /** Images in batch {@code b} (the last may be short). */
    public int sizeOf(int b) {
        return Math.min(batchSize, count - b * batchSize);
    }
}
