package io.zsq.core.data;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.ByteArrayInputStream;
import java.io.ByteArrayOutputStream;
import java.io.ObjectInputStream;
import java.io.ObjectOutputStream;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;

/** The format is chosen by what the path holds; idx folders read as before; the model's input is checked. */
class LabeledImagesTest {
    static final Path FASHION = Path.of("/usr/share/datasets/fashion-mnist");

    @Test
    void anIdxFolderIsReadAsIdxDatasetWithItsSplits() {
        LabeledImages test = LabeledImages.read(FASHION, LabeledImages.Split.TEST, 50, ImageTransform.NONE, new int[] {1, 28, 28});
        IdxDataset direct = IdxDataset.load(FASHION, "t10k", 50);
        assertTrue(test instanceof IdxDataset, "as stored, no copy");
        assertArrayEquals(direct.pixels(), test.pixels());
        assertArrayEquals(direct.labels(), test.labels());
        LabeledImages train = LabeledImages.read(FASHION, LabeledImages.Split.TRAIN, 20);
        assertArrayEquals(IdxDataset.load(FASHION, "train", 20).labels(), train.labels());
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                () -> LabeledImages.read(FASHION, LabeledImages.Split.TEST, 5, ImageTransform.NONE, new int[] {3, 32, 32}));
        assertEquals(FASHION + ": images are 1x28x28, the model takes 3x32x32 (a different channel count)", e.getMessage());
        // the transforms apply to stored formats too: 28 -> 32 -> center 28x28
        LabeledImages t = LabeledImages.read(FASHION, LabeledImages.Split.TEST, 5, new ImageTransform(32, true), new int[] {1, 28, 28});
        assertEquals(5 * 784, t.pixels().length);
        assertArrayEquals(java.util.Arrays.copyOf(direct.labels(), 5), t.labels());
        LabeledImages same = LabeledImages.read(FASHION, LabeledImages.Split.TEST, 5, new ImageTransform(0, true), new int[] {1, 28, 28});
        assertTrue(same instanceof IdxDataset, "a center crop to the stored size changes nothing");
    }

    @Test
    void itSerializesForSparkTasks() throws Exception {
        LabeledImages d = new LabeledImages.Of(2, 3, 1, 2, new byte[] {1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, (byte) 255}, new int[] {4, 7});
        ByteArrayOutputStream bo = new ByteArrayOutputStream();
        try (ObjectOutputStream o = new ObjectOutputStream(bo)) {
            o.writeObject(d);
        }
        LabeledImages back = (LabeledImages) new ObjectInputStream(new ByteArrayInputStream(bo.toByteArray())).readObject();
        assertArrayEquals(d.pixels(), back.pixels());
        assertArrayEquals(d.labels(), back.labels());
        assertArrayEquals(d.batch(1, 1, Preprocessing.parse("0", "1")), back.batch(1, 1, Preprocessing.parse("0", "1")));
        assertEquals(1f, back.batch(1, 1, Preprocessing.parse("0", "1"))[5]);
        assertThrows(IllegalArgumentException.class, () -> new LabeledImages.Of(2, 3, 1, 2, new byte[11], new int[2]));
        assertThrows(IllegalArgumentException.class, () -> new ImageTransform(-1, false));
    }
}
