package io.zsq.runtime;

import java.nio.file.Path;
import java.util.SplittableRandom;

/**
 * Writes the checked-in format fixture {@code src/test/resources/golden-v3.zsq} (not a test). Run once
 * per format version from zsq-runtime: {@code java -cp target/classes:target/test-classes io.zsq.runtime.GoldenModelWriter}.
 * The older fixtures, {@code golden-v1.zsq} and {@code golden-v2.zsq}, were written by earlier revisions
 * of this class, from {@code tinyModel(new SplittableRandom(5))} as it was then (version 2 without a
 * quantization section); they stay as fixtures of refused versions.
 */
public final class GoldenModelWriter {
    public static void main(String[] args) throws Exception {
        KernelsTest.tinyModel(new SplittableRandom(5)).save(Path.of("src/test/resources/golden-v" + IntModel.FORMAT_VERSION + ".zsq"));
    }
}
