package io.zsq.core.data;

import java.io.Serializable;
import java.util.Arrays;

/** Pixels scaled to [0, 1], then {@code (x - mean[c]) / std[c]}; one value applies to every channel. */
public record Preprocessing(float[] mean, float[] std) implements Serializable {
    public Preprocessing {
        if (mean.length == 0 || std.length == 0) {
            throw new IllegalArgumentException("--mean and --std need at least one value");
        }
        for (float s : std) {
            if (!(s > 0)) {
                throw new IllegalArgumentException("--std values must be > 0, got " + Arrays.toString(std));
            }
        }
        mean = mean.clone();
        std = std.clone();
    }

    public static Preprocessing parse(String mean, String std) {
        return new Preprocessing(floats(mean, "--mean"), floats(std, "--std"));
    }

    private static float[] floats(String s, String what) {
        String[] parts = s.split(",");
        float[] v = new float[parts.length];
        for (int i = 0; i < parts.length; i++) {
            try {
                v[i] = Float.parseFloat(parts[i].trim());
            } catch (NumberFormatException e) {
                throw new IllegalArgumentException(what + ": not a number: '" + parts[i] + "'");
            }
        }
        return v;
    }

    void apply(byte[] px, int from, float[] out, int to, int channels, int plane) {
        if ((mean.length != 1 && mean.length != channels) || (std.length != 1 && std.length != channels)) {
            throw new IllegalArgumentException("--mean/--std give " + mean.length + "/" + std.length + " values for " + channels + " channels");
        }
        for (int c = 0; c < channels; c++) {
            float m = mean[mean.length == 1 ? 0 : c], s = std[std.length == 1 ? 0 : c];
            for (int i = 0; i < plane; i++) {
                int k = c * plane + i;
                out[to + k] = ((px[from + k] & 0xFF) / 255f - m) / s;
            }
        }
    }

    /** The valid model-input range of each channel: pixels 0 and 1 after normalization ({@code [lo[], hi[]]}). */
    public float[][] inputRange(int channels) {
        float[] lo = new float[channels], hi = new float[channels];
        for (int c = 0; c < channels; c++) {
            float m = mean[mean.length == 1 ? 0 : c], s = std[std.length == 1 ? 0 : c];
            lo[c] = (0f - m) / s;
            hi[c] = (1f - m) / s;
        }
        return new float[][] {lo, hi};
    }

    @Override
    public String toString() {
        return "mean=" + Arrays.toString(mean) + " std=" + Arrays.toString(std);
    }
}
