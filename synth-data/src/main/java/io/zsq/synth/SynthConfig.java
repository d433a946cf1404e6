package io.zsq.synth;

import java.io.Serializable;

/**
 * How to make a synthetic calibration set ({@link Method}). {@code inputMin} and
 * {@code inputMax} (per input channel, or null for unbounded) are the valid input range implied by the
 * preprocessing (pixels in [0, 1], then normalized): samples are clamped to it at initialization and
 * after every step, as DeepInversion clips to the valid image range.
 */
public record SynthConfig(Method method, int count, int batchSize, int steps, double learningRate, long seed, float[] inputMin,
                          float[] inputMax) implements Serializable {
    public SynthConfig(Method method, int count, int batchSize, int steps, double learningRate, long seed) {
        this(method, count, batchSize, steps, learningRate, seed, null, null);
    }

    /** The method as text, {@link Method#parse parsed}. */
    public SynthConfig(String method, int count, int batchSize, int steps, double learningRate, long seed) {
        this(Method.parse(method), count, batchSize, steps, learningRate, seed, null, null);
    }

    /** The method as text, {@link Method#parse parsed}. */
    public SynthConfig(String method, int count, int batchSize, int steps, double learningRate, long seed, float[] inputMin, float[] inputMax) {
        this(Method.parse(method), count, batchSize, steps, learningRate, seed, inputMin, inputMax);
    }

    public SynthConfig {
        if ((inputMin == null) != (inputMax == null) || (inputMin != null && inputMin.length != inputMax.length)) {
            throw new IllegalArgumentException("input bounds need a min and a max per channel");
        }
        java.util.Objects.requireNonNull(method, "method");
        if (count <= 0 || batchSize <= 0 || steps < 0 || !(learningRate > 0)) {
            throw new IllegalArgumentException("need count > 0, batch > 0, steps >= 0, lr > 0: " + this);
        }
    }

    public Objective objective() {
        return Objective.of(method);
    }

    public double labelWeight() {
        return objective().labelWeight();
    }

    public static SynthConfig zeroq(int count, int batch, int steps, long seed) {
        return new SynthConfig(Method.ZEROQ, count, batch, steps, 0.5, seed);
    }

    /** The same settings with another method. */
    public SynthConfig withMethod(Method m) {
        return new SynthConfig(m, count, batchSize, m.optimizes() ? steps : 0, learningRate, seed, inputMin, inputMax);
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

    /** Optimization steps actually taken: 0 for the noise and real-data sources. */
    public int objectiveSteps() {
        return method.optimizes() ? steps : 0;
    }

    public int batches() {
        return (count + batchSize - 1) / batchSize;
    }

    /** Images in batch {@code b} (the last may be short). */
    public int sizeOf(int b) {
        return Math.min(batchSize, count - b * batchSize);
    }
}
