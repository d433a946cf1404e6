package io.zsq.synth;

import com.fasterxml.jackson.annotation.JsonProperty;
import com.fasterxml.jackson.core.JacksonException;
import com.fasterxml.jackson.databind.JsonNode;
import io.zsq.core.io.Locations;
import java.io.IOException;
import java.io.Serializable;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.StandardOpenOption;
import java.util.List;
import java.util.Objects;
import java.util.regex.Pattern;

/**
 * {@code manifest.json} of a synthetic dataset folder: the {@link DatasetSpec} and every batch file with
 * its image count and SHA-256. The driver writes it last, after every batch is complete, so a folder
 * without one is not a finished dataset. Format version {@link #SCHEMA_VERSION}.
 *
 * <pre>{"schema_version": 1, "spec": {...}, "batches": [{"file": "batch-00000.arrow", "images": 32, "sha256": "..."}, ...]}</pre>
 */
public record DatasetManifest(
        @JsonProperty("schema_version") int schemaVersion,
        @JsonProperty("spec") DatasetSpec spec,
        @JsonProperty("batches") List<Entry> batches) implements Serializable {

    public static final int SCHEMA_VERSION = 1;
    public static final String FILE = "manifest.json";

    private static final Pattern BATCH_FILE = Pattern.compile("batch-\\d{5}\\.arrow");
    private static final Pattern SHA256 = Pattern.compile("[0-9a-f]{64}");

    /** One batch file: its name in the folder, its images and the SHA-256 (lowercase hex) of its bytes. */
    public record Entry(@JsonProperty("file") String file, @JsonProperty("images") int images, @JsonProperty("sha256") String sha256)
            implements Serializable {
        public Entry {
            if (file == null || !BATCH_FILE.matcher(file).matches()) {
                throw new IllegalArgumentException("batch file names look like batch-00000.arrow, not " + file);
            }
            if (images <= 0) {
                throw new IllegalArgumentException(file + ": images must be > 0, not " + images);
            }
            if (sha256 == null || !SHA256.matcher(sha256).matches()) {
                throw new IllegalArgumentException(file + ": sha256 must be 64 lowercase hex digits, not " + sha256);
            }
        }

        /** The entry of a batch file just written or read. */
        public static Entry of(Path file, int images, String sha256) {
            return new Entry(file.getFileName().toString(), images, sha256);
        }
    }

    /**
     * @throws IllegalArgumentException unless the batches are exactly {@code batch-00000.arrow ...} with the
     *         image counts the spec implies (a manifest only describes a complete dataset)
     */
    public DatasetManifest {
        Objects.requireNonNull(spec, "spec");
        Objects.requireNonNull(batches, "batches");
        batches = List.copyOf(batches);
        if (batches.size() != spec.batches()) {
            throw new IllegalArgumentException("lists " + batches.size() + " batches, the spec's " + spec.count() + " images in batches of "
                    + spec.batch() + " need " + spec.batches());
        }
        for (int i = 0; i < batches.size(); i++) {
            Entry e = batches.get(i);
            String want = ArrowDataset.batchFile(Path.of(""), i).toString();
            if (!e.file().equals(want)) {
                throw new IllegalArgumentException("batch " + i + " is " + e.file() + ", expected " + want);
            }
            if (e.images() != spec.sizeOf(i)) {
                throw new IllegalArgumentException(e.file() + " has " + e.images() + " images, the spec implies " + spec.sizeOf(i));
            }
        }
    }

    /** A manifest of the current schema version. */
    public static DatasetManifest of(DatasetSpec spec, List<Entry> batches) {
        return new DatasetManifest(SCHEMA_VERSION, spec, batches);
    }

    public static Path file(Path dir) {
        return dir.resolve(FILE);
    }

    public static boolean exists(Path dir) {
        return Files.isRegularFile(file(dir));
    }

    /** The entry for a batch file of this dataset (by file name), or null. */
    public Entry entry(Path batchFile) {
        String name = batchFile.getFileName().toString();
        return batches.stream().filter(e -> e.file().equals(name)).findFirst().orElse(null);
    }

    /** The batch files in order, resolved in {@code dir}. */
    public List<Path> files(Path dir) {
        return batches.stream().map(e -> dir.resolve(e.file())).toList();
    }

    /** Writes {@code dir/manifest.json} under a temporary name, forced to disk, then renamed into place. */
    public void write(Path dir) throws IOException {
        byte[] json = Json.MAPPER.writerWithDefaultPrettyPrinter().writeValueAsBytes(this);
        Files.createDirectories(dir);
        boolean rename = Locations.commitsByRename(file(dir)); // object stores: written in place, whole when the upload completes
        Path tmp = rename ? Json.createTemporary(file(dir)) : file(dir);
        boolean done = false;
        try {
            try (FileChannel ch = FileChannel.open(tmp, StandardOpenOption.WRITE, StandardOpenOption.CREATE, StandardOpenOption.TRUNCATE_EXISTING)) {
                ByteBuffer b = ByteBuffer.wrap(json);
                while (b.hasRemaining()) {
                    ch.write(b);
                }
                ch.force(true);
            }
            if (rename) {
                Files.move(tmp, file(dir), StandardCopyOption.REPLACE_EXISTING, StandardCopyOption.ATOMIC_MOVE);
            }
            done = true;
        } finally {
            if (rename || !done) {
                Files.deleteIfExists(tmp);
            }
        }
    }

    /**
     * Reads {@code dir/manifest.json}.
     *
     * @throws IOException with one line naming the folder (no manifest: not a complete dataset) or the file
     *         (not JSON, another schema version, a missing or invalid field)
     */
    public static DatasetManifest read(Path dir) throws IOException {
        Path f = file(dir);
        byte[] bytes;
        try {
            bytes = Files.readAllBytes(f);
        } catch (NoSuchFileException e) {
            if (!Files.isDirectory(dir)) {
                throw new IOException(dir + ": no such folder (expected a zsq synthetic dataset)", e);
            }
            throw new IOException(dir + ": not a complete zsq synthetic dataset (no " + FILE + ": written by an older zsq, or its run did not"
                    + " finish); regenerate it with zsq synth, or run zsq quantize without --calib", e);
        } catch (IOException e) {
            throw new IOException(f + ": cannot read (" + Json.firstLine(e.getMessage()) + ")", e);
        }
        JsonNode tree;
        try {
            tree = Json.MAPPER.readTree(bytes);
        } catch (JacksonException e) {
            throw new IOException(f + ": not valid JSON (" + Json.reason(e) + ")", e);
        }
        if (tree == null || tree.isMissingNode()) {
            throw new IOException(f + ": not valid JSON (the file is empty)");
        }
        if (!tree.isObject()) {
            throw new IOException(f + ": not a zsq dataset manifest (a JSON " + tree.getNodeType().toString().toLowerCase() + ", expected an object)");
        }
        JsonNode v = tree.get("schema_version");
        if (v == null || !v.isInt()) {
            throw new IOException(f + ": not a zsq dataset manifest (no integer schema_version)");
        }
        if (v.intValue() != SCHEMA_VERSION) {
            throw new IOException(f + ": schema version " + v.intValue() + ", this zsq reads version " + SCHEMA_VERSION
                    + (v.intValue() > SCHEMA_VERSION ? " (written by a newer zsq)" : "") + "; regenerate the dataset or use a matching zsq");
        }
        try {
            DatasetManifest m = Json.MAPPER.treeToValue(tree, DatasetManifest.class);
            return Objects.requireNonNull(m);
        } catch (JacksonException e) {
            throw new IOException(f + ": malformed manifest (" + Json.reason(e) + ")", e);
        }
    }

    /**
     * Null if the dataset was made with exactly the settings of this run, else the first differing field
     * ({@link DatasetSpec#difference}), e.g. {@code steps (this run: 200, the dataset: 40)}.
     */
    public static String mismatch(DatasetSpec expected, DatasetManifest m) {
        return expected.difference(m.spec());
    }
}
