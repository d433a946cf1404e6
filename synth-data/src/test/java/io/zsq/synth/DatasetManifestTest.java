package io.zsq.synth;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class DatasetManifestTest {
    @TempDir
    Path dir;

    static DatasetManifest manifest() {
        DatasetSpec s = DatasetSpecTest.base(); // 10 images in batches of 4
        return DatasetManifest.of(s, List.of(new DatasetManifest.Entry("batch-00000.arrow", 4, "a".repeat(64)),
                new DatasetManifest.Entry("batch-00001.arrow", 4, "b".repeat(64)), new DatasetManifest.Entry("batch-00002.arrow", 2, "c".repeat(64))));
    }

    @Test
    void writesAtomicallyAndReadsBackEqual() throws IOException {
        DatasetManifest m = manifest();
        m.write(dir);
        assertTrue(DatasetManifest.exists(dir));
        try (var s = Files.list(dir)) {
            assertEquals(List.of(DatasetManifest.FILE), s.map(p -> p.getFileName().toString()).toList());
        }
        String json = Files.readString(DatasetManifest.file(dir));
        assertTrue(json.contains("\"schema_version\" : 1") && json.contains("\"batches\"") && json.contains("\"model_sha256\""), json);
        DatasetManifest back = DatasetManifest.read(dir);
        assertEquals(m, back);
        assertNull(DatasetManifest.mismatch(DatasetSpecTest.base(), back));
        assertEquals("steps (this run: 6, the dataset: 5)", DatasetManifest.mismatch(DatasetSpecTest.changed("steps"), back));
        assertEquals("c".repeat(64), back.entry(dir.resolve("batch-00002.arrow")).sha256());
        assertNull(back.entry(dir.resolve("batch-00009.arrow")));
        assertEquals(dir.resolve("batch-00001.arrow"), back.files(dir).get(1));
        m.write(dir); // replaces
        assertEquals(m, DatasetManifest.read(dir));
    }

    @Test
    void onlyACompleteDatasetHasAManifest() {
        DatasetSpec s = DatasetSpecTest.base();
        DatasetManifest.Entry e = new DatasetManifest.Entry("batch-00000.arrow", 4, "a".repeat(64));
        assertThrows(IllegalArgumentException.class, () -> DatasetManifest.of(s, List.of(e)));
        assertThrows(IllegalArgumentException.class, () -> new DatasetManifest.Entry("../batch-00000.arrow", 4, "a".repeat(64)));
        assertThrows(IllegalArgumentException.class, () -> new DatasetManifest.Entry("batch-00000.arrow", 4, "A".repeat(64)));
    }

    @Test
    void missingManifestSaysTheDatasetIsIncompleteAndWhatToDo() throws IOException {
        IOException e = assertThrows(IOException.class, () -> DatasetManifest.read(dir));
        assertEquals(dir + ": not a complete zsq synthetic dataset (no manifest.json: written by an older zsq, or its run did not finish); "
                + "regenerate it with zsq synth, or run zsq quantize without --calib", e.getMessage());
        e = assertThrows(IOException.class, () -> DatasetManifest.read(dir.resolve("nope")));
        assertTrue(e.getMessage().startsWith(dir.resolve("nope") + ": no such folder"), e.getMessage());
    }

    @Test
    void malformedManifestsAreOneLineNamingTheFile() throws IOException {
        manifest().write(dir);
        String good = Files.readString(DatasetManifest.file(dir));
        String[][] cases = {
            {"", "not valid JSON"},
            {"{\"schema_version\": 1, ", "not valid JSON"},
            {"[1, 2]", "not a zsq dataset manifest (a JSON array"},
            {"{}", "no integer schema_version"},
            {good.replace("\"schema_version\" : 1", "\"schema_version\" : 2"), "schema version 2, this zsq reads version 1 (written by a newer zsq)"},
            {good.replace("\"images\" : 2", "\"images\" : 3"), "batch-00002.arrow has 3 images, the spec implies 2"},
            {good.replace("\"count\" : 10", "\"count\" : \"ten\""), "spec.count: "},
            {good.replace("\"steps\" : 5,", ""), "malformed manifest (spec.steps: missing)"},
            {good.replace("\"steps\" : 5,", "\"steps\" : 5, \"extra\" : 1,"), "malformed manifest (spec.extra: unknown field)"},
            {good.replace("c".repeat(64), "c".repeat(63)), "sha256 must be 64 lowercase hex digits"},
            {good.replace("batch-00001", "batch-00007"), "batch 1 is batch-00007.arrow, expected batch-00001.arrow"},
        };
        Path f = DatasetManifest.file(dir);
        for (String[] c : cases) {
            Files.writeString(f, c[0]);
            IOException e = assertThrows(IOException.class, () -> DatasetManifest.read(dir), c[0]);
            assertTrue(e.getMessage().startsWith(f + ": "), e.getMessage());
            assertTrue(e.getMessage().contains(c[1]), c[1] + " in " + e.getMessage());
            assertFalse(e.getMessage().contains("\n"), e.getMessage());
            assertTrue(e.getMessage().length() < f.toString().length() + 300, e.getMessage());
        }
    }
}
