package io.zsq.runtime;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;

/** {@link IntRunner#profile}: every layer timed, over whole passes of the inputs (no timing is asserted). */
class IntRunnerTest {

    @Test
    void profileTimesEveryLayerOverWholePasses() throws Exception {
        IntModel m = IntModel.load(FormatCompatibilityTest.GOLDEN);
        IntRunner runner = new IntRunner(m);
        SplittableRandom r = new SplittableRandom(3);
        byte[][] images = new byte[3][3 * 8 * 8];
        for (byte[] x : images) {
            for (int i = 0; i < x.length; i++) {
                x[i] = (byte) r.nextInt(-128, 128);
            }
        }
        IntRunner.Profile once = runner.profile(images, 0, 0);
        assertEquals(3, once.images(), "no time asked for: exactly one pass");
        assertEquals(m.layers().size(), once.nanos().length);
        IntRunner.Profile longer = runner.profile(images, 0, 20_000_000L);
        assertTrue(longer.images() >= 3 && longer.images() % 3 == 0, "whole passes: " + longer.images());
        for (long ns : longer.nanos()) {
            assertTrue(ns >= 0);
        }
        assertTrue(java.util.Arrays.stream(longer.nanos()).sum() > 0);
    }
}
