package io.zsq.synth;

import java.io.Serializable;

/**
 * How to make a synthetic calibration set; {@code method} is described at {@link #BASE}. {@code inputMin} and
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
        method = canonical(method);
        if (count <= 0 || batchSize <= 0 || steps < 0 || !(learningRate > 0)) {
            throw new IllegalArgumentException("need count > 0, batch > 0, steps >= 0, lr > 0: " + this);
        }
    }

    /**
     * A method is {@code gaussian} (noise, the lower bound), {@code real} (real images read through the
     * same interface, the upper bound; not data-free), or {@code zeroq} optionally combined with
     * components by {@code +}: {@code label}, {@code di}, {@code dsg}, e.g. {@code zeroq+label+di}.
     * Aliases: {@code deepinversion} = {@code zeroq+di}, {@code zeroq-label} = {@code zeroq+label}.
     * See {@link Objective} for what each component adds.
     */
    public static final java.util.List<String> BASE = java.util.List.of("zeroq", "gaussian", "real");
    public static final java.util.List<String> COMPONENTS = java.util.List.of("label", "di", "dsg");

    static String canonical(String method) {
        String m = method.trim().toLowerCase().replace("deepinversion", "zeroq+di").replace("zeroq-label", "zeroq+label");
        String[] parts = m.split("\\+");
        if (!BASE.contains(parts[0]) || (parts.length > 1 && !parts[0].equals("zeroq"))) {
            throw new IllegalArgumentException("unknown synthesis method '" + method + "': zeroq[+label][+di][+dsg], "
                    + "deepinversion, gaussian or real");
        }
        java.util.TreeSet<String> comps = new java.util.TreeSet<>();
        for (int i = 1; i < parts.length; i++) {
            if (!COMPONENTS.contains(parts[i])) {
                throw new IllegalArgumentException("unknown synthesis component '" + parts[i] + "' in '" + method + "' " + COMPONENTS);
            }
            comps.add(parts[i]);
        }
        StringBuilder sb = new StringBuilder(parts[0]);
        for (String c : COMPONENTS) {
            if (comps.contains(c)) {
                sb.append('+').append(c);
            }
        }
        return sb.toString();
    }

    public Objective objective() {
        return Objective.of(method);
    }

    public double labelWeight() {
        return objective().labelWeight();
    }

    public static SynthConfig zeroq(int count, int batch, int steps, long seed) {
        return new SynthConfig("zeroq", count, batch, steps, 0.5, seed);
    }

    /** The same settings with another method. */
    public SynthConfig withMethod(String m) {
        return new SynthConfig(m, count, batchSize, m.equals("gaussian") || m.equals("real") ? 0 : steps, learningRate, seed, inputMin, inputMax);
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
        return method.equals("gaussian") || method.equals("real") ? 0 : steps;
    }

    public int batches() {
        return (count + batchSize - 1) / batchSize;
    }

    /** Images in batch {@code b} (the last may be short). */
    public int sizeOf(int b) {
        return Math.min(batchSize, count - b * batchSize);
    }
}
