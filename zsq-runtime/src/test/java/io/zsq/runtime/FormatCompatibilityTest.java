package io.zsq.runtime;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;

/** The version-2 fixture still reads and runs as the slow reference says; version-1 files are refused, naming the file and why. */
class FormatCompatibilityTest {
    static final Path GOLDEN = Path.of("src/test/resources/golden-v2.zsq");
    static final Path V1 = Path.of("src/test/resources/golden-v1.zsq");

    @Test
    void version2FixtureReadsAndRewritesToTheSameBytes() throws Exception {
        IntModel m = IntModel.load(GOLDEN);
        ByteArrayOutputStream bo = new ByteArrayOutputStream();
        m.write(bo);
        assertArrayEquals(Files.readAllBytes(GOLDEN), bo.toByteArray());
        assertEquals("v", m.metadata().get("k"));
        assertEquals(3, m.layers().size());
    }

    @Test
    void version1IsRefusedWithTheReason() {
        IOException e = assertThrows(IOException.class, () -> IntModel.load(V1));
        assertTrue(e.getMessage().contains("golden-v1.zsq") && e.getMessage().contains("version 1")
                && e.getMessage().contains("re-run zsq quantize"), e.getMessage());
    }

    @Test
    void fixtureRunsLikeTheLongReference() throws Exception {
        IntModel m = IntModel.load(GOLDEN);
        Layer.Conv c1 = (Layer.Conv) m.layers().get(0);
        SplittableRandom r = new SplittableRandom(8);
        byte[] x = new byte[3 * 8 * 8];
        for (int i = 0; i < x.length; i++) {
            x[i] = (byte) r.nextInt(-128, 128);
        }
        assertArrayEquals(LongReference.conv(c1, x), Kernels.conv(c1, x));
        assertEquals(c1.outShape()[0] * c1.outShape()[1] * c1.outShape()[2], new IntRunner(m).run(x).length);
    }
}
