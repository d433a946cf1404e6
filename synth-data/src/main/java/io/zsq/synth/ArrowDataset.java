package io.zsq.synth;

import com.fasterxml.jackson.core.JsonProcessingException;
import io.zsq.core.io.Locations;
import java.io.IOException;
import java.io.OutputStream;
import java.nio.ByteOrder;
import java.nio.channels.Channels;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.StandardOpenOption;
import java.security.DigestOutputStream;
import java.security.MessageDigest;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.regex.Pattern;
import java.util.stream.Stream;
import org.apache.arrow.memory.BufferAllocator;
import org.apache.arrow.memory.RootAllocator;
import org.apache.arrow.vector.FieldVector;
import org.apache.arrow.vector.Float4Vector;
import org.apache.arrow.vector.IntVector;
import org.apache.arrow.vector.VectorSchemaRoot;
import org.apache.arrow.vector.complex.FixedSizeListVector;
import org.apache.arrow.vector.ipc.ArrowFileReader;
import org.apache.arrow.vector.ipc.ArrowFileWriter;
import org.apache.arrow.vector.ipc.SeekableReadChannel;
import org.apache.arrow.vector.ipc.message.ArrowBlock;
import org.apache.arrow.vector.types.FloatingPointPrecision;
import org.apache.arrow.vector.types.pojo.ArrowType;
import org.apache.arrow.vector.types.pojo.Field;
import org.apache.arrow.vector.types.pojo.FieldType;
import org.apache.arrow.vector.types.pojo.Schema;
import org.apache.arrow.vector.util.ByteArrayReadableSeekableByteChannel;

/**
 * A synthetic dataset on disk: a folder of Arrow IPC files {@code batch-00000.arrow}, ..., each with
 * columns {@code image: FixedSizeList<float32>[C*H*W]} (NCHW, the model's preprocessed input space)
 * and {@code sample: int32}, and schema metadata: {@code zsq.dataset} (the {@link DatasetSpec} as JSON),
 * {@code zsq.shape}, {@code zsq.method}, {@code zsq.seed} (of the batch), {@code zsq.job_seed},
 * {@code zsq.batch_index}, {@code zsq.steps}, {@code zsq.lr}, {@code zsq.final_loss} (JSON, per BN
 * layer); and, written last by the driver, {@link DatasetManifest manifest.json} with every file's
 * SHA-256. Each file is written under a temporary name and renamed when complete, so a killed run leaves
 * only whole batches (and temporaries, see {@link #cleanTemporaries}).
 *
 * <p>Reading never returns silently wrong data and never throws anything but one-line IOExceptions: a
 * damaged file is refused as not readable Arrow, and damage Arrow cannot see (inside the float data) is
 * caught by {@link #verify} against the manifest's SHA-256.
 */
public final class ArrowDataset {
    private ArrowDataset() {}

    /** Metadata key of the {@link DatasetSpec} (JSON) in each batch file's schema. */
    public static final String SPEC_KEY = "zsq.dataset";

    private static final Pattern BATCH = Pattern.compile("batch-\\d{5}\\.arrow");
    private static final Pattern TEMPORARY = Pattern.compile("(batch-\\d{5}\\.arrow|" + Pattern.quote(DatasetManifest.FILE) + ")(\\.[0-9a-f]+)?\\.tmp");

    public static Path batchFile(Path dir, int index) {
        return dir.resolve(String.format("batch-%05d.arrow", index));
    }

    /**
     * Writes batch {@code b} to {@code dir/batch-NNNNN.arrow} (a temporary, forced to disk, then renamed).
     *
     * @return the SHA-256 (lowercase hex) of the file's bytes, for the manifest
     * @throws IllegalArgumentException if the batch does not fit the spec (shape, image count)
     */
    public static String write(Path dir, Generator.Batch b, int[] shape, SynthConfig cfg, DatasetSpec spec) throws IOException {
        if (!Arrays.equals(shape, spec.inputShape())) {
            throw new IllegalArgumentException("batch shape " + Arrays.toString(shape) + " but the dataset spec says " + Arrays.toString(spec.inputShape()));
        }
        if (b.index() < 0 || b.index() >= spec.batches() || b.size() != spec.sizeOf(b.index())) {
            throw new IllegalArgumentException("batch " + b.index() + " of " + b.size() + " images does not fit the spec's " + spec.count()
                    + " images in batches of " + spec.batch());
        }
        int size = spec.imageSize();
        if ((long) b.size() * size != b.images().length) {
            throw new IllegalArgumentException("batch " + b.index() + " has " + b.images().length + " values, " + b.size() + " images of " + size + " need "
                    + (long) b.size() * size);
        }
        Files.createDirectories(dir);
        Map<String, String> meta = new LinkedHashMap<>();
        meta.put(SPEC_KEY, spec.toJson());
        meta.put("zsq.shape", shape.length == 3 ? shape[0] + "," + shape[1] + "," + shape[2] : String.valueOf(size));
        meta.put("zsq.method", cfg.method().toString());
        meta.put("zsq.seed", Long.toString(b.seed()));
        meta.put("zsq.job_seed", Long.toString(cfg.seed()));
        meta.put("zsq.batch_index", Integer.toString(b.index()));
        meta.put("zsq.steps", Integer.toString(cfg.objectiveSteps()));
        meta.put("zsq.lr", Double.toString(cfg.learningRate()));
        try {
            meta.put("zsq.final_loss", Json.MAPPER.writeValueAsString(b.finalLoss()));
        } catch (JsonProcessingException e) {
            throw new IOException("cannot write the final loss as JSON: " + Json.reason(e), e);
        }
        Field image = new Field("image", FieldType.notNullable(new ArrowType.FixedSizeList(size)),
                List.of(new Field("value", FieldType.notNullable(new ArrowType.FloatingPoint(FloatingPointPrecision.SINGLE)), null)));
        Field sample = new Field("sample", FieldType.notNullable(new ArrowType.Int(32, true)), null);
        Schema schema = new Schema(List.of(image, sample), meta);
        Path target = batchFile(dir, b.index());
        boolean rename = Locations.commitsByRename(target); // object stores: written in place, whole when the upload completes
        Path tmp = rename ? Json.createTemporary(target) : target;
        MessageDigest md = Json.sha256();
        boolean done = false;
        try {
            try (BufferAllocator alloc = new RootAllocator(); VectorSchemaRoot root = VectorSchemaRoot.create(schema, alloc)) {
                FixedSizeListVector list = (FixedSizeListVector) root.getVector("image");
                IntVector ids = (IntVector) root.getVector("sample");
                root.allocateNew();
                Float4Vector values = (Float4Vector) list.getDataVector();
                for (int i = 0; i < b.size(); i++) {
                    list.setNotNull(i);
                    ids.setSafe(i, i);
                    for (int j = 0; j < size; j++) {
                        values.setSafe(i * size + j, b.images()[i * size + j]);
                    }
                }
                root.setRowCount(b.size());
                try (FileChannel fc = FileChannel.open(tmp, StandardOpenOption.WRITE, StandardOpenOption.CREATE, StandardOpenOption.TRUNCATE_EXISTING);
                     OutputStream os = new DigestOutputStream(Channels.newOutputStream(fc), md);
                     ArrowFileWriter w = new ArrowFileWriter(root, null, Channels.newChannel(os))) {
                    w.start();
                    w.writeBatch();
                    w.end();
                    os.flush();
                    fc.force(true);
                }
            }
            if (rename) {
                Files.move(tmp, target, StandardCopyOption.REPLACE_EXISTING, StandardCopyOption.ATOMIC_MOVE);
            }
            done = true;
        } finally {
            if (rename || !done) {
                Files.deleteIfExists(tmp);
            }
        }
        return Json.hex(md.digest());
    }

    /** One batch read back: its images (NCHW, {@code size} of them), their places in the batch, the file's metadata and the SHA-256 of its bytes. */
    public record Read(int size, float[] images, int[] samples, Map<String, String> metadata, String sha256) {}

    /**
     * Reads a batch file: its bytes once, their SHA-256, and the Arrow IPC parsed from them. The file must
     * have the columns {@link #write} writes, and images as wide as its {@code zsq.dataset} shape.
     *
     * @throws IOException one line, {@code <file>: not a readable Arrow IPC batch (<reason>)}, for every kind
     *         of damage Arrow can see; nothing else escapes
     */
    public static Read read(Path file) throws IOException {
        byte[] bytes;
        try {
            if (Files.size(file) > Integer.MAX_VALUE - 8) {
                throw new IOException(file + ": " + Files.size(file) + " bytes, larger than one batch file can be (2 GiB)");
            }
            bytes = Files.readAllBytes(file);
        } catch (NoSuchFileException e) {
            throw new IOException(file + ": no such batch file", e);
        } catch (IOException e) {
            if (e.getMessage() != null && e.getMessage().startsWith(file + ": ")) {
                throw e;
            }
            throw new IOException(file + ": cannot read (" + Json.firstLine(e.getMessage()) + ")", e);
        }
        String sha = Json.hex(Json.sha256().digest(bytes));
        try {
            return parse(bytes, sha);
        } catch (Bad e) {
            throw new IOException(file + ": not a readable Arrow IPC batch (" + shorten(Json.firstLine(e.getMessage())) + ")");
        } catch (IOException | RuntimeException | OutOfMemoryError | StackOverflowError | AssertionError e) {
            // Arrow and flatbuffers report damage as whatever they trip over first
            String m = e.getMessage();
            String why = m == null || m.isBlank() ? e.getClass().getSimpleName() : e.getClass().getSimpleName() + ": " + Json.firstLine(m);
            throw new IOException(file + ": not a readable Arrow IPC batch (" + shorten(why) + ")", e);
        }
    }

    /** A reason found by our own checks. */
    private static final class Bad extends Exception {
        Bad(String m) {
            super(m, null, false, false);
        }
    }

    private static String shorten(String s) {
        return s.length() > 200 ? s.substring(0, 200) + "..." : s;
    }

    private static Read parse(byte[] bytes, String sha) throws IOException, Bad {
        long limit = Math.max(1L << 20, 2L * bytes.length + (1L << 16)); // decoded buffers cannot exceed the file
        try (BufferAllocator alloc = new RootAllocator(limit);
             ArrowFileReader r = new ArrowFileReader(new SeekableReadChannel(new ByteArrayReadableSeekableByteChannel(bytes)), alloc)) {
            List<ArrowBlock> blocks = r.getRecordBlocks();
            for (List<ArrowBlock> bs : List.of(blocks, r.getDictionaryBlocks())) {
                for (ArrowBlock b : bs) {
                    long end = b.getOffset() + b.getMetadataLength() + b.getBodyLength();
                    if (b.getOffset() < 0 || b.getMetadataLength() <= 0 || b.getBodyLength() < 0 || end < 0 || end > bytes.length) {
                        throw new Bad("a block at offset " + b.getOffset() + " declares " + b.getMetadataLength() + " + " + b.getBodyLength()
                                + " bytes, the file holds " + bytes.length);
                    }
                }
            }
            if (blocks.isEmpty()) {
                throw new Bad("no record batch");
            }
            VectorSchemaRoot root = r.getVectorSchemaRoot();
            Schema schema = root.getSchema();
            Map<String, String> meta = schema.getCustomMetadata() == null ? Map.of() : schema.getCustomMetadata();
            List<String> names = schema.getFields().stream().map(Field::getName).toList();
            if (!names.equals(List.of("image", "sample"))) {
                throw new Bad("columns " + names + ", expected [image, sample]");
            }
            Field imageField = schema.getFields().get(0);
            if (!(imageField.getType() instanceof ArrowType.FixedSizeList fsl) || imageField.getChildren().size() != 1
                    || !(imageField.getChildren().get(0).getType() instanceof ArrowType.FloatingPoint fp)
                    || fp.getPrecision() != FloatingPointPrecision.SINGLE) {
                throw new Bad("column image is " + imageField.getType() + ", expected FixedSizeList<float32>");
            }
            if (!(schema.getFields().get(1).getType() instanceof ArrowType.Int it) || it.getBitWidth() != 32) {
                throw new Bad("column sample is " + schema.getFields().get(1).getType() + ", expected int32");
            }
            int width = fsl.getListSize();
            DatasetSpec spec;
            try {
                spec = specOf(meta);
            } catch (IOException e) {
                throw new Bad(SPEC_KEY + " metadata: " + e.getMessage());
            }
            if (width <= 0 || (spec != null && width != spec.imageSize())) {
                throw new Bad("images of " + width + " values" + (spec == null ? "" : ", the " + SPEC_KEY + " input shape "
                        + Arrays.toString(spec.inputShape()) + " needs " + spec.imageSize()));
            }
            FieldVector v = root.getVector("image");
            if (!(v instanceof FixedSizeListVector list) || !(list.getDataVector() instanceof Float4Vector)) {
                throw new Bad("column image is not decoded as FixedSizeList<float32>");
            }
            List<float[]> parts = new ArrayList<>();
            List<int[]> ids = new ArrayList<>();
            long rows = 0;
            while (r.loadNextBatch()) {
                Float4Vector values = (Float4Vector) list.getDataVector();
                int n = root.getRowCount();
                long need = (long) n * width;
                if (n < 0 || need > values.getValueCount() || 4 * need > values.getDataBuffer().capacity() || 4 * need > bytes.length) {
                    throw new Bad(n + " rows of " + width + " values, the batch holds " + values.getValueCount());
                }
                float[] p = new float[(int) need];
                values.getDataBuffer().nioBuffer(0, (int) (4 * need)).order(ByteOrder.LITTLE_ENDIAN).asFloatBuffer().get(p);
                parts.add(p);
                IntVector sampleIds = (IntVector) root.getVector("sample");
                int[] q = new int[n];
                for (int i = 0; i < n; i++) {
                    q[i] = sampleIds.isNull(i) ? i : sampleIds.get(i); // the writer puts each image's place in its batch
                }
                ids.add(q);
                rows += n;
            }
            if (rows == 0 || (spec != null && rows > spec.batch())) {
                throw new Bad(rows + " images" + (spec == null ? "" : ", a batch of this dataset holds 1 to " + spec.batch()));
            }
            float[] all = new float[(int) (rows * width)];
            int at = 0;
            for (float[] p : parts) {
                System.arraycopy(p, 0, all, at, p.length);
                at += p.length;
            }
            int[] samples = new int[(int) rows];
            at = 0;
            for (int[] q : ids) {
                System.arraycopy(q, 0, samples, at, q.length);
                at += q.length;
            }
            return new Read((int) rows, all, samples, new LinkedHashMap<>(meta), sha);
        }
    }

    /** The dataset spec stored in a batch's metadata, or null for a batch written by an older zsq. */
    public static DatasetSpec spec(Read r) throws IOException {
        return specOf(r.metadata());
    }

    /** The {@value #SPEC_KEY} entry of batch metadata decoded, or null when absent; malformed: a one-line IOException. */
    public static DatasetSpec specOf(Map<String, String> metadata) throws IOException {
        String json = metadata.get(SPEC_KEY);
        return json == null ? null : DatasetSpec.fromJson(json);
    }

    /**
     * Checks a batch read back against its manifest entry.
     *
     * @throws IOException {@code <file>: SHA-256 differs from manifest.json (the batch changed after it was written); regenerate the dataset}
     */
    public static void verify(Read r, DatasetManifest.Entry e, Path file) throws IOException {
        if (e == null) {
            throw new IOException(file + ": not listed in " + DatasetManifest.FILE + "; regenerate the dataset");
        }
        if (!r.sha256().equals(e.sha256()) || r.size() != e.images()) {
            throw new IOException(file + ": SHA-256 differs from " + DatasetManifest.FILE + " (the batch changed after it was written); regenerate the dataset");
        }
    }

    /** The complete batch files of a dataset folder, in order. */
    public static List<Path> batches(Path dir) throws IOException {
        if (!Files.isDirectory(dir)) {
            throw new IOException(dir + ": no such synthetic dataset folder");
        }
        try (Stream<Path> s = Files.list(dir)) {
            return s.filter(p -> BATCH.matcher(p.getFileName().toString()).matches()).sorted().toList();
        }
    }

    /**
     * Removes the temporaries a killed run left ({@code batch-NNNNN.arrow[.x].tmp}, {@code manifest.json[.x].tmp});
     * other files are left alone. Call it before starting writers, never while they run.
     *
     * @return how many were removed (0 for a missing folder)
     */
    public static int cleanTemporaries(Path dir) throws IOException {
        if (!Files.isDirectory(dir)) {
            return 0;
        }
        int n = 0;
        try (Stream<Path> s = Files.list(dir)) {
            for (Path p : s.filter(p -> TEMPORARY.matcher(p.getFileName().toString()).matches() && Files.isRegularFile(p)).toList()) {
                n += Files.deleteIfExists(p) ? 1 : 0;
            }
        }
        return n;
    }
}
