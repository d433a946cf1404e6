package io.zsq.runtime;

import java.nio.file.Path;
import java.util.SplittableRandom;

/**
 * Writes the checked-in format fixture {@code src/test/resources/golden-v2.zsq} (not a test). Run once
 * per format version from zsq-runtime: {@code java -cp target/classes:target/test-classes io.zsq.runtime.GoldenModelWriter}.
 */
public final class GoldenModelWriter {
    public static void main(String[] args) throws Exception {
        KernelsTest.tinyModel(new SplittableRandom(5)).save(Path.of("src/test/resources/golden-v2.zsq"));
    }
}
