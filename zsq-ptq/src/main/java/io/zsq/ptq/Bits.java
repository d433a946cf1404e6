package io.zsq.ptq;

import java.io.Serializable;

/** Weight and activation bit widths, written {@code w8a8}, {@code w4a8}, {@code w4a4}. */
public record Bits(int weights, int activations) implements Serializable {
    public Bits {
        if (weights < 2 || weights > 8 || activations < 2 || activations > 8) {
            throw new IllegalArgumentException("bit widths must be 2..8, got w" + weights + "a" + activations);
        }
    }

    public static Bits parse(String s) {
        java.util.regex.Matcher m = java.util.regex.Pattern.compile("w(\\d)a(\\d)").matcher(s.trim().toLowerCase());
        if (!m.matches()) {
            throw new IllegalArgumentException("--bits takes wNaM, e.g. w8a8 or w4a8, not '" + s + "'");
        }
        return new Bits(Integer.parseInt(m.group(1)), Integer.parseInt(m.group(2)));
    }

    @Override
    public String toString() {
        return "w" + weights + "a" + activations;
    }
}
