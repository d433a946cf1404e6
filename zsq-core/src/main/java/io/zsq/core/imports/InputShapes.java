package io.zsq.core.imports;

import java.util.Arrays;
import java.util.stream.Collectors;

/** The {@code CxHxW} (or {@code F}) text form of a model input's shape without the batch, as --input-shape takes it. */
public final class InputShapes {
    private InputShapes() {}

    /** {@code "3x48x192"} to {@code [3, 48, 192]}; each dimension a positive integer, one to three of them. */
    public static int[] parse(String s) {
        String[] parts = s.trim().toLowerCase(java.util.Locale.ROOT).split("x", -1);
        if (parts.length < 1 || parts.length > 3) {
            throw new IllegalArgumentException("--input-shape takes CxHxW (e.g. 3x48x192) or F, not '" + s + "'");
        }
        int[] d = new int[parts.length];
        for (int i = 0; i < d.length; i++) {
            try {
                d[i] = Integer.parseInt(parts[i].trim());
            } catch (NumberFormatException e) {
                d[i] = -1;
            }
            if (d[i] < 1 || d[i] > 1 << 16) {
                throw new IllegalArgumentException("--input-shape takes CxHxW with positive dimensions (e.g. 3x48x192), not '" + s + "'");
            }
        }
        return d;
    }

    public static String format(int[] d) {
        return Arrays.stream(d).mapToObj(Integer::toString).collect(Collectors.joining("x"));
    }
}
