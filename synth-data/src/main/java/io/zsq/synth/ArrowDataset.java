package io.zsq.synth;

import java.io.IOException;
import java.io.OutputStream;
import java.nio.channels.Channels;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.stream.Stream;
import org.apache.arrow.memory.BufferAllocator;
import org.apache.arrow.memory.RootAllocator;
import org.apache.arrow.vector.Float4Vector;
import org.apache.arrow.vector.IntVector;
import org.apache.arrow.vector.VectorSchemaRoot;
import org.apache.arrow.vector.complex.FixedSizeListVector;
import org.apache.arrow.vector.ipc.ArrowFileReader;
import org.apache.arrow.vector.ipc.ArrowFileWriter;
import org.apache.arrow.vector.types.FloatingPointPrecision;
import org.apache.arrow.vector.types.pojo.ArrowType;
import org.apache.arrow.vector.types.pojo.Field;
import org.apache.arrow.vector.types.pojo.FieldType;
import org.apache.arrow.vector.types.pojo.Schema;

/**
 * A synthetic dataset on disk: a folder of Arrow IPC files {@code batch-00000.arrow}, ..., each with
 * columns {@code image: FixedSizeList<float32>[C*H*W]} (NCHW, the model's preprocessed input space)
 * and {@code sample: int32}, and schema metadata: {@code zsq.shape}, {@code zsq.method},
 * {@code zsq.seed} (of the batch), {@code zsq.job_seed}, {@code zsq.batch_index}, {@code zsq.steps},
 * {@code zsq.lr}, {@code zsq.final_loss} (JSON, per BN layer). Each file is written under a temporary
 * name and renamed when complete, so a killed run leaves only whole batches.
 */
public final class ArrowDataset {
    private ArrowDataset() {}

    public static Path batchFile(Path dir, int index) {
        return dir.resolve(String.format("batch-%05d.arrow", index));
    }

    public static void write(Path dir, Generator.Batch b, int[] shape, SynthConfig cfg) throws IOException {
        Files.createDirectories(dir);
        int size = 1;
        for (int d : shape) {
            size *= d;
        }
        Map<String, String> meta = new LinkedHashMap<>();
        meta.put("zsq.shape", shape.length == 3 ? shape[0] + "," + shape[1] + "," + shape[2] : String.valueOf(size));
        meta.put("zsq.method", cfg.method());
        meta.put("zsq.seed", Long.toString(b.seed()));
        meta.put("zsq.job_seed", Long.toString(cfg.seed()));
        meta.put("zsq.batch_index", Integer.toString(b.index()));
        meta.put("zsq.steps", Integer.toString(cfg.objectiveSteps()));
        meta.put("zsq.lr", Double.toString(cfg.learningRate()));
        StringBuilder loss = new StringBuilder("{");
        b.finalLoss().forEach((k, v) -> loss.append(loss.length() > 1 ? "," : "").append('"').append(k).append("\":").append(v));
        meta.put("zsq.final_loss", loss.append('}').toString());
        Field image = new Field("image", FieldType.notNullable(new ArrowType.FixedSizeList(size)),
                List.of(new Field("value", FieldType.notNullable(new ArrowType.FloatingPoint(FloatingPointPrecision.SINGLE)), null)));
        Field sample = new Field("sample", FieldType.notNullable(new ArrowType.Int(32, true)), null);
        Schema schema = new Schema(List.of(image, sample), meta);
        Path target = batchFile(dir, b.index());
        Path tmp = target.resolveSibling(target.getFileName() + ".tmp");
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
            try (OutputStream os = Files.newOutputStream(tmp);
                 ArrowFileWriter w = new ArrowFileWriter(root, null, Channels.newChannel(os))) {
                w.start();
                w.writeBatch();
                w.end();
            }
        }
        Files.move(tmp, target, StandardCopyOption.REPLACE_EXISTING, StandardCopyOption.ATOMIC_MOVE);
    }

    /** One batch read back: the images and the file's metadata. */
    public record Read(int size, float[] images, Map<String, String> metadata) {}

    public static Read read(Path file) throws IOException {
        try (BufferAllocator alloc = new RootAllocator();
             FileChannel ch = FileChannel.open(file, StandardOpenOption.READ);
             ArrowFileReader r = new ArrowFileReader(ch, alloc)) {
            VectorSchemaRoot root = r.getVectorSchemaRoot();
            Map<String, String> meta = root.getSchema().getCustomMetadata();
            if (!(root.getVector("image") instanceof FixedSizeListVector list)) {
                throw new IOException(file + ": not a zsq synthetic batch (no FixedSizeList 'image' column)");
            }
            List<float[]> parts = new ArrayList<>();
            int rows = 0;
            int width = list.getListSize();
            while (r.loadNextBatch()) {
                Float4Vector values = (Float4Vector) list.getDataVector();
                int n = root.getRowCount();
                float[] p = new float[n * width];
                for (int i = 0; i < p.length; i++) {
                    p[i] = values.get(i);
                }
                parts.add(p);
                rows += n;
            }
            float[] all = new float[rows * width];
            int at = 0;
            for (float[] p : parts) {
                System.arraycopy(p, 0, all, at, p.length);
                at += p.length;
            }
            return new Read(rows, all, new LinkedHashMap<>(meta));
        } catch (IOException | RuntimeException e) {
            throw new IOException(file + ": cannot read Arrow batch: " + e.getMessage(), e);
        }
    }

    /** The complete batch files of a dataset folder, in order. */
    public static List<Path> batches(Path dir) throws IOException {
        if (!Files.isDirectory(dir)) {
            throw new IOException(dir + ": no such synthetic dataset folder");
        }
        try (Stream<Path> s = Files.list(dir)) {
            return s.filter(p -> p.getFileName().toString().matches("batch-\\d{5}\\.arrow")).sorted().toList();
        }
    }
}
