package io.zsq.core.data;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.List;
import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** CIFAR-10 binary records written here and read back exactly; damaged files are one line naming them. */
class CifarBinaryTest {
    static final int N = 6;
    static final int[] CIFAR = {3, 32, 32};

    @TempDir
    Path dir;

    /** Record i: label (3 i + first) mod 10, pixel (c, y, x) = 7 i + 50 c + 3 y + x (mod 256). */
    static byte[] records(int n, int first) {
        byte[] b = new byte[n * CifarBinary.RECORD];
        for (int i = 0; i < n; i++) {
            int o = i * CifarBinary.RECORD;
            b[o] = (byte) ((3 * i + first) % 10);
            for (int c = 0; c < 3; c++) {
                for (int y = 0; y < 32; y++) {
                    for (int x = 0; x < 32; x++) {
                        b[o + 1 + c * 1024 + y * 32 + x] = (byte) (7 * i + 50 * c + 3 * y + x);
                    }
                }
            }
        }
        return b;
    }

    static void assertOneLineNaming(IllegalArgumentException e, Path file) {
        String m = e.getMessage();
        assertTrue(m.contains(file.getFileName().toString()), m);
        assertTrue(!m.contains("\n") && !m.contains("(null)"), m);
    }

    @Test
    void recordsReadBackExactlyWithThePlanesInOrder() throws IOException {
        byte[] raw = records(N, 0);
        Path file = Files.write(dir.resolve("test_batch.bin"), raw);
        for (Path p : List.of(file, dir)) { // the file, or the folder (test split: test_batch.bin)
            LabeledImages d = LabeledImages.read(p, LabeledImages.Split.TEST, 0, ImageTransform.NONE, CIFAR);
            assertEquals(N, d.count());
            assertEquals(3, d.channels());
            assertEquals(32, d.height());
            assertEquals(32, d.width());
            for (int i = 0; i < N; i++) {
                assertEquals((3 * i) % 10, d.labels()[i]);
                assertArrayEquals(Arrays.copyOfRange(raw, i * 3073 + 1, (i + 1) * 3073), Arrays.copyOfRange(d.pixels(), i * 3072, (i + 1) * 3072));
            }
            // the batch is NCHW: red plane first, and per-channel preprocessing applies per plane
            float[] x = d.batch(1, 1, Preprocessing.parse("0,0.5,1", "1,0.5,0.25"));
            int y = 5, xx = 9;
            assertEquals((7 + 3 * y + xx) / 255f, x[y * 32 + xx], 1e-6);
            assertEquals(((7 + 50 + 3 * y + xx) / 255f - 0.5f) / 0.5f, x[1024 + y * 32 + xx], 1e-6);
            assertEquals(((7 + 100 + 3 * y + xx) / 255f - 1f) / 0.25f, x[2048 + y * 32 + xx], 1e-5);
        }
        LabeledImages first = LabeledImages.read(file, LabeledImages.Split.TEST, 2);
        assertEquals(2, first.count());
        assertArrayEquals(new int[] {0, 3}, first.labels());
    }

    @Test
    void theTrainingSplitOfAFolderIsDataBatchesInNumberOrderElseTrainFiles() throws IOException {
        Path f = Files.createDirectories(dir.resolve("cifar-10-batches-bin"));
        Files.write(f.resolve("test_batch.bin"), records(1, 9));
        Files.write(f.resolve("data_batch_10.bin"), records(1, 3));
        Files.write(f.resolve("data_batch_2.bin"), records(2, 1));
        Files.write(f.resolve("data_batch_1.bin"), records(1, 0));
        Files.writeString(f.resolve("batches.meta.txt"), "airplane\nautomobile\nbird\ncat\ndeer\ndog\nfrog\nhorse\nship\ntruck\n\n");
        LabeledImages train = LabeledImages.read(f, LabeledImages.Split.TRAIN, 0);
        assertArrayEquals(new int[] {0, 1, 4, 3}, train.labels(), "data_batch_1, _2 (two records), _10");
        assertArrayEquals(new int[] {0, 1, 4}, LabeledImages.read(f, LabeledImages.Split.TRAIN, 3).labels(), "a limit stops early");
        assertArrayEquals(new int[] {9}, LabeledImages.read(f, LabeledImages.Split.TEST, 0).labels());
        assertEquals(10, CifarBinary.classNames(f).size());
        assertEquals("truck", CifarBinary.classNames(f).get(9));

        Path g = Files.createDirectories(dir.resolve("shared-layout"));
        Files.write(g.resolve("test_batch.bin"), records(1, 0));
        Files.write(g.resolve("train_5000.bin"), records(3, 2));
        assertArrayEquals(new int[] {2, 5, 8}, LabeledImages.read(g, LabeledImages.Split.TRAIN, 0).labels());
        Path h = Files.createDirectories(dir.resolve("no-test"));
        Files.write(h.resolve("train_5000.bin"), records(1, 0));
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> LabeledImages.read(h, LabeledImages.Split.TEST, 0));
        assertEquals(h + ": a CIFAR-10 binary folder without test_batch.bin (the test split; give a .bin file to read another)", e.getMessage());
    }

    @Test
    void truncatedOrPaddedFilesAreOneLineNamingTheFile() throws IOException {
        byte[] raw = records(3, 0);
        for (int cut : new int[] {0, 1, 500, 3072, 3074, 2 * 3073 - 1, raw.length - 1, raw.length + 1}) {
            Path f = Files.write(dir.resolve("cut" + cut + ".bin"), Arrays.copyOf(raw, cut));
            IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                    () -> LabeledImages.read(f, LabeledImages.Split.TEST, 0, ImageTransform.NONE, CIFAR), "cut at " + cut);
            assertOneLineNaming(e, f);
        }
        Path f = Files.write(dir.resolve("half.bin"), Arrays.copyOf(raw, 3073 + 1000));
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> LabeledImages.read(f, LabeledImages.Split.TEST, 0));
        assertEquals(f + ": 4073 bytes, not a whole number of CIFAR-10 records of 3073 bytes (1 label + 3072 pixels): 1 records and 1000 "
                + "bytes; truncated, or not a CIFAR-10 binary file", e.getMessage());
        Path c100 = Files.write(dir.resolve("c100.bin"), new byte[3 * 3074]);
        e = assertThrows(IllegalArgumentException.class, () -> LabeledImages.read(c100, LabeledImages.Split.TEST, 0));
        assertTrue(e.getMessage().endsWith("(CIFAR-100's records of 3074 bytes are not supported)"), e.getMessage());
    }

    @Test
    void bitFlipsGiveOneLineOrTheDataWithThatOneByteChanged() throws IOException {
        SplittableRandom rnd = new SplittableRandom(7);
        byte[] raw = records(N, 0);
        int refused = 0, labelFlipsKept = 0;
        for (int trial = 0; trial < 300; trial++) {
            byte[] b = raw.clone();
            // half the flips on a label byte (the only bytes with a check), half anywhere
            int pos = trial % 2 == 0 ? rnd.nextInt(N) * 3073 : rnd.nextInt(b.length);
            b[pos] ^= (byte) (1 << rnd.nextInt(8));
            Path f = Files.write(dir.resolve("flip" + trial + ".bin"), b);
            try {
                LabeledImages d = LabeledImages.read(f, LabeledImages.Split.TEST, 0, ImageTransform.NONE, CIFAR);
                int rec = pos / 3073, at = pos % 3073;
                for (int i = 0; i < N; i++) {
                    assertEquals(i == rec && at == 0 ? b[pos] & 0xFF : (3 * i) % 10, d.labels()[i], "flip at " + pos);
                }
                byte[] want = new byte[N * 3072];
                for (int i = 0; i < N; i++) {
                    System.arraycopy(b, i * 3073 + 1, want, i * 3072, 3072);
                }
                assertArrayEquals(want, d.pixels(), "flip at " + pos + ": the pixels as stored");
                labelFlipsKept += at == 0 ? 1 : 0;
            } catch (IllegalArgumentException e) {
                assertOneLineNaming(e, f);
                assertTrue(pos % 3073 == 0 && e.getMessage().contains("labels are 0-9"), e.getMessage());
                refused++;
            } catch (RuntimeException | Error e) {
                fail("flip at " + pos + ": " + e, e);
            }
        }
        assertTrue(refused > 80, "label flips to 10..255 are refused: " + refused);
        assertTrue(labelFlipsKept > 10, "label flips within 0..9 cannot be told apart: " + labelFlipsKept);
    }

    @Test
    void theModelsInputMustMatch() throws IOException {
        Path f = Files.write(dir.resolve("test_batch.bin"), records(2, 0));
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                () -> LabeledImages.read(f, LabeledImages.Split.TEST, 0, ImageTransform.NONE, new int[] {1, 28, 28}));
        assertEquals(f + ": images are 3x32x32, the model takes 1x28x28 (a different channel count)", e.getMessage());
        e = assertThrows(IllegalArgumentException.class,
                () -> LabeledImages.read(f, LabeledImages.Split.TEST, 0, ImageTransform.NONE, new int[] {3, 28, 28}));
        assertEquals(f + ": images are 32x32 pixels (height x width), the model takes 28x28 (without the resize and center-crop options "
                + "images must be the model's size)", e.getMessage());
        LabeledImages crop = LabeledImages.read(f, LabeledImages.Split.TEST, 0, new ImageTransform(0, true), new int[] {3, 28, 28});
        assertEquals(28, crop.height());
        // center crop 28 of 32: offset 2; pixel (c, y, x) of the crop is (c, y + 2, x + 2) of the record
        assertEquals((byte) (7 + 50 * 2 + 3 * (4 + 2) + (5 + 2)), crop.pixels()[3 * 784 + 2 * 784 + 4 * 28 + 5]);
    }
}
