package io.zsq.runtime;

import java.io.BufferedInputStream;
import java.io.BufferedOutputStream;
import java.io.DataInputStream;
import java.io.DataOutputStream;
import java.io.EOFException;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.util.ArrayList;
import java.util.Collections;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * An integer-only model: an int8 input tensor, layers in execution order, an int8 output tensor.
 *
 * <p>File format ({@code .zsq}), big-endian: magic {@code "ZSQM"}, int format version, metadata
 * (count, then UTF key/value pairs: provenance and the input/output quantization written by the
 * exporter as decimal strings, for callers at the float boundary), input name and shape, output
 * name and shape, layer count, layers ({@link Layer#write}). Version 2: requantization rounds once
 * instead of gemmlowp's twice (see {@link FixedPoint}), and weights of 4 bits or fewer are stored
 * packed, two per byte, low nibble first; version 1 files are refused rather than run with a rounding
 * they were not calibrated for.
 */
public record IntModel(Map<String, String> metadata, String inputName, int[] inputShape, String outputName,
                       int[] outputShape, List<Layer> layers) {

    public static final int FORMAT_VERSION = 2;
    private static final int MAGIC = 0x5A53514D; // "ZSQM"

    public IntModel {
        metadata = Collections.unmodifiableMap(new LinkedHashMap<>(metadata));
        layers = List.copyOf(layers);
        Set<String> defined = new HashSet<>();
        defined.add(inputName);
        for (Layer l : layers) {
            for (String in : l.inputs()) {
                if (!defined.contains(in)) {
                    throw new IllegalArgumentException("layer writing '" + l.output() + "' reads '" + in + "' before it is written");
                }
            }
            defined.add(l.output());
        }
        if (!defined.contains(outputName)) {
            throw new IllegalArgumentException("output '" + outputName + "' is never written");
        }
    }

    /** Writes the model to {@code path} through a temporary file renamed when complete. */
    public void save(Path path) throws IOException {
        Path tmp = path.resolveSibling(path.getFileName() + ".tmp");
        try (OutputStream os = Files.newOutputStream(tmp)) {
            write(os);
        }
        Files.move(tmp, path, StandardCopyOption.REPLACE_EXISTING, StandardCopyOption.ATOMIC_MOVE);
    }

    public void write(OutputStream os) throws IOException {
        DataOutputStream out = new DataOutputStream(new BufferedOutputStream(os));
        out.writeInt(MAGIC);
        out.writeInt(FORMAT_VERSION);
        out.writeInt(metadata.size());
        for (Map.Entry<String, String> e : metadata.entrySet()) {
            out.writeUTF(e.getKey());
            out.writeUTF(e.getValue());
        }
        out.writeUTF(inputName);
        writeShape(out, inputShape);
        out.writeUTF(outputName);
        writeShape(out, outputShape);
        out.writeInt(layers.size());
        for (Layer l : layers) {
            Layer.write(l, out);
        }
        out.flush();
    }

    /** Reads a model; a file that is not a zsq model, or of an unknown version, fails naming the file. */
    public static IntModel load(Path path) throws IOException {
        try (InputStream is = Files.newInputStream(path)) {
            return read(is);
        } catch (EOFException e) {
            throw new IOException(path + ": truncated zsq model file", e);
        } catch (IOException | IllegalArgumentException e) {
            throw new IOException(path + ": " + e.getMessage(), e);
        }
    }

    public static IntModel read(InputStream is) throws IOException {
        DataInputStream in = new DataInputStream(new BufferedInputStream(is));
        if (in.readInt() != MAGIC) {
            throw new IOException("not a zsq integer model (bad magic)");
        }
        int version = in.readInt();
        if (version == 1) {
            throw new IOException("zsq model format version 1 (two-step rounding in requantization) is no longer run; "
                    + "re-run zsq quantize to write version " + FORMAT_VERSION);
        }
        if (version != FORMAT_VERSION) {
            throw new IOException("zsq model format version " + version + " is not supported (this runtime reads " + FORMAT_VERSION + ")");
        }
        int n = in.readInt();
        Map<String, String> meta = new LinkedHashMap<>();
        for (int i = 0; i < n; i++) {
            meta.put(in.readUTF(), in.readUTF());
        }
        String inName = in.readUTF();
        int[] inShape = readShape(in);
        String outName = in.readUTF();
        int[] outShape = readShape(in);
        int count = in.readInt();
        List<Layer> layers = new ArrayList<>();
        for (int i = 0; i < count; i++) {
            layers.add(Layer.read(in));
        }
        return new IntModel(meta, inName, inShape, outName, outShape, layers);
    }

    private static void writeShape(DataOutputStream out, int[] s) throws IOException {
        out.writeInt(s.length);
        for (int d : s) {
            out.writeInt(d);
        }
    }

    private static int[] readShape(DataInputStream in) throws IOException {
        int n = in.readInt();
        if (n < 0 || n > 8) {
            throw new IOException("corrupt shape rank " + n);
        }
        int[] s = new int[n];
        for (int i = 0; i < n; i++) {
            s[i] = in.readInt();
        }
        return s;
    }
}
