package io.zsq.synth;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

import io.zsq.core.data.Preprocessing;
import io.zsq.core.ir.Graph;
import java.io.IOException;
import java.io.OutputStream;
import java.nio.channels.Channels;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.List;
import java.util.Map;
import java.util.SplittableRandom;
import org.apache.arrow.memory.BufferAllocator;
import org.apache.arrow.memory.RootAllocator;
import org.apache.arrow.vector.Float4Vector;
import org.apache.arrow.vector.IntVector;
import org.apache.arrow.vector.VectorSchemaRoot;
import org.apache.arrow.vector.complex.FixedSizeListVector;
import org.apache.arrow.vector.ipc.ArrowFileWriter;
import org.apache.arrow.vector.types.FloatingPointPrecision;
import org.apache.arrow.vector.types.pojo.ArrowType;
import org.apache.arrow.vector.types.pojo.Field;
import org.apache.arrow.vector.types.pojo.FieldType;
import org.apache.arrow.vector.types.pojo.Schema;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class ArrowDatasetTest {
    static final String MODEL = "ab".repeat(32);

    @TempDir
    Path dir;

    static DatasetSpec spec(Graph g, SynthConfig cfg) {
        return DatasetSpec.of(MODEL, g.inputShape(), new Preprocessing(new float[] {0}, new float[] {1}), cfg, null);
    }

    static String sha256(Path f) throws Exception {
        return HexFormat.of().formatHex(MessageDigest.getInstance("SHA-256").digest(Files.readAllBytes(f)));
    }

    @Test
    void batchesRoundTripWithMetadataAndRegenerateAloneBitForBit() throws Exception {
        Graph g = RandomGraphs.small(21);
        SynthConfig cfg = new SynthConfig("zeroq", 10, 4, 5, 0.1, 77);
        DatasetSpec spec = spec(g, cfg);
        List<DatasetManifest.Entry> entries = new ArrayList<>();
        for (int b = 0; b < cfg.batches(); b++) {
            Generator.Batch batch = Generator.generate(g, cfg, b, null);
            String sha = ArrowDataset.write(dir, batch, g.inputShape(), cfg, spec);
            Path f = ArrowDataset.batchFile(dir, b);
            assertEquals(sha256(f), sha);
            ArrowDataset.Read r = ArrowDataset.read(f);
            assertEquals(sha, r.sha256());
            assertArrayEquals(batch.images(), r.images());
            entries.add(DatasetManifest.Entry.of(f, r.size(), sha));
        }
        DatasetManifest.of(spec, entries).write(dir);
        assertEquals(3, ArrowDataset.batches(dir).size());
        ArrowDataset.Read last = ArrowDataset.read(ArrowDataset.batchFile(dir, 2));
        assertEquals(2, last.size());
        assertEquals("zeroq", last.metadata().get("zsq.method"));
        assertEquals("5", last.metadata().get("zsq.steps"));
        assertEquals("2,8,8", last.metadata().get("zsq.shape"));
        assertTrue(last.metadata().get("zsq.final_loss").contains("\"bn3\":"), last.metadata().get("zsq.final_loss"));
        assertEquals(spec, ArrowDataset.spec(last));
        assertNull(spec.difference(ArrowDataset.spec(last)));
        // batch 1 regenerated on its own equals the stored one, bit for bit
        Generator.Batch again = Generator.generate(g, cfg, 1, null);
        assertArrayEquals(again.images(), ArrowDataset.read(ArrowDataset.batchFile(dir, 1)).images());
        try (var s = Files.list(dir)) {
            assertTrue(s.noneMatch(p -> p.toString().endsWith(".tmp")));
        }
        DatasetManifest m = DatasetManifest.read(dir);
        for (Path f : m.files(dir)) {
            ArrowDataset.verify(ArrowDataset.read(f), m.entry(f), f);
        }
    }

    @Test
    void writeRefusesABatchThatDoesNotFitTheSpec() {
        Graph g = RandomGraphs.small(21);
        SynthConfig cfg = new SynthConfig("gaussian", 10, 4, 0, 0.1, 77);
        Generator.Batch b = Generator.generate(g, cfg, 0, null);
        assertThrows(IllegalArgumentException.class, () -> ArrowDataset.write(dir, b, new int[] {2, 8, 8}, cfg,
                DatasetSpec.of(MODEL, new int[] {2, 4, 16}, new Preprocessing(new float[] {0}, new float[] {1}), cfg, null)));
        assertThrows(IllegalArgumentException.class, () -> ArrowDataset.write(dir, b, g.inputShape(), cfg,
                spec(g, new SynthConfig("gaussian", 10, 5, 0, 0.1, 77))));
    }

    static void assertOneLineNaming(IOException e, Path f) {
        assertTrue(e.getMessage().contains(f.getFileName().toString()), e.getMessage());
        assertTrue(e.getMessage().chars().noneMatch(Character::isISOControl), e.getMessage());
    }

    @Test
    void notAnArrowFileNamesTheFile() throws IOException {
        Path f = dir.resolve("batch-00000.arrow");
        Files.writeString(f, "hello");
        IOException e = assertThrows(IOException.class, () -> ArrowDataset.read(f));
        assertTrue(e.getMessage().startsWith(f + ": not a readable Arrow IPC batch ("), e.getMessage());
        assertOneLineNaming(e, f);
        e = assertThrows(IOException.class, () -> ArrowDataset.read(dir.resolve("batch-00001.arrow")));
        assertEquals(dir.resolve("batch-00001.arrow") + ": no such batch file", e.getMessage());
    }

    /** An Arrow file with the given image column type and metadata (and the usual sample column unless told otherwise). */
    static void writeArrow(Path f, Field image, boolean sample, Map<String, String> meta) throws IOException {
        List<Field> fields = sample ? List.of(image, new Field("sample", FieldType.notNullable(new ArrowType.Int(32, true)), null)) : List.of(image);
        try (BufferAllocator alloc = new RootAllocator(); VectorSchemaRoot root = VectorSchemaRoot.create(new Schema(fields, meta), alloc)) {
            root.allocateNew();
            if (root.getVector("image") instanceof FixedSizeListVector l && l.getDataVector() instanceof Float4Vector v) {
                for (int i = 0; i < 2; i++) {
                    l.setNotNull(i);
                    for (int j = 0; j < l.getListSize(); j++) {
                        v.setSafe(i * l.getListSize() + j, j);
                    }
                }
            } else if (root.getVector("image") instanceof IntVector iv) {
                iv.setSafe(0, 1);
                iv.setSafe(1, 2);
            }
            root.setRowCount(2);
            try (OutputStream os = Files.newOutputStream(f); ArrowFileWriter w = new ArrowFileWriter(root, null, Channels.newChannel(os))) {
                w.start();
                w.writeBatch();
                w.end();
            }
        }
    }

    static Field floats(int width) {
        return new Field("image", FieldType.notNullable(new ArrowType.FixedSizeList(width)),
                List.of(new Field("value", FieldType.notNullable(new ArrowType.FloatingPoint(FloatingPointPrecision.SINGLE)), null)));
    }

    @Test
    void wrongColumnsAndWidthsAreRefused() throws IOException {
        Graph g = RandomGraphs.small(21);
        DatasetSpec spec = spec(g, new SynthConfig("gaussian", 10, 4, 0, 0.1, 77));
        Path ok = dir.resolve("ok.arrow");
        writeArrow(ok, floats(128), true, Map.of(ArrowDataset.SPEC_KEY, spec.toJson()));
        assertEquals(2, ArrowDataset.read(ok).size());
        Object[][] cases = {
            {floats(100), true, Map.of(ArrowDataset.SPEC_KEY, spec.toJson()), "images of 100 values, the zsq.dataset input shape [2, 8, 8] needs 128"},
            {floats(128), false, Map.of(), "columns [image], expected [image, sample]"},
            {new Field("image", FieldType.notNullable(new ArrowType.Int(32, true)), null), true, Map.of(), "column image is Int(32, true)"},
            {floats(128), true, Map.of(ArrowDataset.SPEC_KEY, "{\"model_sha256\":"), "zsq.dataset metadata: "},
        };
        int i = 0;
        for (Object[] c : cases) {
            @SuppressWarnings("unchecked")
            Map<String, String> meta = (Map<String, String>) c[2];
            Path f = dir.resolve("bad" + i++ + ".arrow");
            writeArrow(f, (Field) c[0], (Boolean) c[1], meta);
            IOException e = assertThrows(IOException.class, () -> ArrowDataset.read(f));
            assertTrue(e.getMessage().startsWith(f + ": not a readable Arrow IPC batch (" + c[3]), e.getMessage());
            assertOneLineNaming(e, f);
        }
    }

    /** A damaged copy either fails to read with one line naming it, or reads with another SHA-256 that verify refuses. */
    static boolean damagedIsCaught(Path f, DatasetManifest.Entry entry) {
        try {
            ArrowDataset.Read r = ArrowDataset.read(f);
            assertNotEquals(entry.sha256(), r.sha256(), f.toString());
            IOException e = assertThrows(IOException.class, () -> ArrowDataset.verify(r, entry, f));
            assertEquals(f + ": SHA-256 differs from manifest.json (the batch changed after it was written); regenerate the dataset", e.getMessage());
            return false;
        } catch (IOException e) {
            assertOneLineNaming(e, f);
            return true;
        } catch (RuntimeException | Error e) {
            fail(f + ": " + e, e);
            return false;
        }
    }

    @Test
    void truncatedAndBitFlippedCopiesNeverPassAndNeverThrowAnythingElse() throws Exception {
        Graph g = RandomGraphs.small(21);
        SynthConfig cfg = new SynthConfig("gaussian", 10, 4, 0, 0.1, 77);
        DatasetSpec spec = spec(g, cfg);
        String sha = ArrowDataset.write(dir, Generator.generate(g, cfg, 0, null), g.inputShape(), cfg, spec);
        Path orig = ArrowDataset.batchFile(dir, 0);
        DatasetManifest.Entry entry = DatasetManifest.Entry.of(orig, 4, sha);
        byte[] bytes = Files.readAllBytes(orig);
        Path damaged = Files.createDirectories(dir.resolve("damaged"));
        for (int cut : new int[] {0, 10, bytes.length / 2, bytes.length - 1}) {
            Path f = damaged.resolve("cut-" + cut + ".arrow");
            Files.write(f, java.util.Arrays.copyOf(bytes, cut));
            IOException e = assertThrows(IOException.class, () -> ArrowDataset.read(f));
            assertOneLineNaming(e, f);
        }
        SplittableRandom rnd = new SplittableRandom(424242);
        int refused = 0, bySha = 0;
        for (int i = 0; i < 200; i++) {
            byte[] c = bytes.clone();
            int pos = rnd.nextInt(c.length);
            c[pos] ^= (byte) (1 << rnd.nextInt(8));
            Path f = damaged.resolve("flip-" + i + "-at-" + pos + ".arrow");
            Files.write(f, c);
            if (damagedIsCaught(f, entry)) {
                refused++;
            } else {
                bySha++;
            }
        }
        // the file is mostly float data, which only the hash can check; the structure is checked by reading
        assertTrue(refused > 5 && bySha > 50, refused + " refused by the reader, " + bySha + " by the SHA-256");
    }

    @Test
    void cleanTemporariesRemovesOnlyStaleTemporaries() throws IOException {
        for (String n : new String[] {"batch-00000.arrow.tmp", "batch-00003.arrow.7f3a.tmp", "manifest.json.1b.tmp", "notes.tmp",
                "batch-00001.arrow", "manifest.json"}) {
            Files.writeString(dir.resolve(n), "x");
        }
        assertEquals(3, ArrowDataset.cleanTemporaries(dir));
        try (var s = Files.list(dir)) {
            assertEquals(List.of("batch-00001.arrow", "manifest.json", "notes.tmp"), s.map(p -> p.getFileName().toString()).sorted().toList());
        }
        assertEquals(0, ArrowDataset.cleanTemporaries(dir.resolve("missing")));
    }
}
