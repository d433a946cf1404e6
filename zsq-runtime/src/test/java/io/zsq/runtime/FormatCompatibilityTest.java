package io.zsq.runtime;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
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

    /** Weights of 2-4 bits are stored two per byte and come back equal, odd counts included; 8-bit ones are not packed. */
    @Test
    void lowBitWeightsArePackedTwoPerByte() throws Exception {
        SplittableRandom r = new SplittableRandom(9);
        for (int bits : new int[] {2, 3, 4, 8}) {
            for (int outC : new int[] {3, 4}) { // 3 x 3 x 1 x 1 = 9 weights: an odd count
                byte[] w = new byte[outC * 3];
                for (int i = 0; i < w.length; i++) {
                    w[i] = (byte) r.nextInt(-(1 << (bits - 1)), 1 << (bits - 1));
                }
                Layer.Conv c = new Layer.Conv("x", "y", new int[] {3, 2, 2}, new int[] {outC, 2, 2}, 1, 1, 1, 1, 0, 0, 1, w, bits,
                        new int[outC], KernelsTest.fill(outC, 1 << 30), new int[outC], 0, 0, -128, 127);
                IntModel m = new IntModel(Map.of(), "x", new int[] {3, 2, 2}, "y", new int[] {outC, 2, 2}, List.of(c));
                ByteArrayOutputStream bo = new ByteArrayOutputStream();
                m.write(bo);
                Layer.Conv back = (Layer.Conv) IntModel.read(new java.io.ByteArrayInputStream(bo.toByteArray())).layers().get(0);
                assertArrayEquals(w, back.weights(), bits + "-bit weights, " + w.length);
                IntModel eight = new IntModel(Map.of(), "x", new int[] {3, 2, 2}, "y", new int[] {outC, 2, 2}, List.of(new Layer.Conv("x", "y",
                        new int[] {3, 2, 2}, new int[] {outC, 2, 2}, 1, 1, 1, 1, 0, 0, 1, w, 8, new int[outC], KernelsTest.fill(outC, 1 << 30),
                        new int[outC], 0, 0, -128, 127)));
                ByteArrayOutputStream b8 = new ByteArrayOutputStream();
                eight.write(b8);
                int saved = b8.size() - bo.size();
                assertEquals(bits <= 4 ? w.length / 2 : 0, saved, bits + "-bit file is smaller by half the weights");
            }
        }
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> new Layer.Conv("x", "y", new int[] {1, 1, 1},
                new int[] {1, 1, 1}, 1, 1, 1, 1, 0, 0, 1, new byte[] {8}, 4, new int[1], new int[] {1 << 30}, new int[1], 0, 0, -128, 127));
        assertTrue(e.getMessage().contains("4-bit range"), e.getMessage());
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
