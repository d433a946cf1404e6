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
 * An integer-only model: an int8 input tensor, layers in execution order, an int8 output tensor, and
 * the quantization of its tensors ({@link TensorQuant}: scale, zero point, integer range), which the
 * runtime carries for callers at the float boundary and for the exporters but never computes with.
 * The input and the output always have an entry; every entry names the input or a layer's output.
 *
 * <p>File format ({@code .zsq}), big-endian: magic {@code "ZSQM"}, int format version, metadata
 * (count, then UTF key/value pairs: provenance), input name and shape, output name and shape, layer
 * count, layers ({@link Layer#write}), then the quantization section: count, then per tensor its UTF
 * name, int scale bits (IEEE-754 single precision), int zero point, int qmin, int qmax, in the order
 * of {@link #quantization()}.
 *
 * <p>Version 3 (this one): tensor quantization is typed data in its own section. Its layer tags are
 * 1 conv/dense, 2 add, 3 max pool, 4 average pool, 5 reshape, 6 slice ({@link Layer.Slice}: in and out
 * shapes, starts and steps), 7 pad ({@link Layer.Pad}: in and out shapes, begin pads, fill), 8 mul
 * ({@link Layer.Mul}: the three shapes, zero points, multiplier, shift, clamp), 9 lookup table
 * ({@link Layer.Lut}: input, output, function name, shape, function attributes, then the 256
 * table bytes), 10 concat ({@link Layer.Concat}: input
 * count, names, output, shape, per-input channels, zero points, multipliers and shifts, then output
 * zero point and clamp) and 11 expand ({@link Layer.Expand}: in and out shapes); slice and pad joined
 * version 3 before it was released, and tags 8-11 were
 * added to it for the squeeze-excite, concat and broadcasting-add ops: a reader without them refuses such a file naming
 * the unknown tag.
 * Version 2 wrote tensor quantization as decimal text in the metadata
 * ({@code "tensor.<name>" -> "scale zeroPoint qmin qmax"}); such files
 * are refused with that reason. Version 2 also made requantization round once instead of gemmlowp's
 * twice (see {@link FixedPoint}) and stored weights of 4 bits or fewer packed, two per byte, low
 * nibble first; version 1 files are refused rather than run with a rounding they were not calibrated
 * for. Counts and lengths read from a file are checked before anything is allocated for them, so a
 * corrupt or truncated file fails with one {@link IOException} naming it.
 */
public record IntModel(Map<String, String> metadata, String inputName, int[] inputShape, String outputName,
                       int[] outputShape, List<Layer> layers, Map<String, TensorQuant> quantization) {

    public static final int FORMAT_VERSION = 3;
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
        quantization = Collections.unmodifiableMap(new LinkedHashMap<>(quantization));
        for (Map.Entry<String, TensorQuant> e : quantization.entrySet()) {
            if (!defined.contains(e.getKey())) {
                throw new IllegalArgumentException("quantization given for '" + e.getKey() + "', which is not a tensor of the model");
            }
            if (e.getValue() == null) {
                throw new IllegalArgumentException("quantization of '" + e.getKey() + "' is null");
            }
        }
        for (String t : new String[] {inputName, outputName}) {
            if (!quantization.containsKey(t)) {
                throw new IllegalArgumentException("no quantization for '" + t + "' (the model's " + (t.equals(inputName) ? "input" : "output") + ")");
            }
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
        out.writeInt(quantization.size());
        for (Map.Entry<String, TensorQuant> e : quantization.entrySet()) {
            TensorQuant q = e.getValue();
            out.writeUTF(e.getKey());
            out.writeInt(q.scaleBits());
            out.writeInt(q.zeroPoint());
            out.writeInt(q.qmin());
            out.writeInt(q.qmax());
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
        if (version == 2) {
            throw new IOException("zsq model format version 2 stores quantization parameters as text in its metadata; "
                    + "re-run zsq quantize to write version " + FORMAT_VERSION);
        }
        if (version != FORMAT_VERSION) {
            throw new IOException("zsq model format version " + version + " is not supported (this runtime reads " + FORMAT_VERSION + ")");
        }
        int n = count(in, "metadata entry", MAX_COUNT);
        Map<String, String> meta = new LinkedHashMap<>();
        for (int i = 0; i < n; i++) {
            String k = in.readUTF();
            if (meta.put(k, in.readUTF()) != null) {
                throw new IOException("corrupt file: metadata key '" + k + "' appears twice");
            }
        }
        String inName = in.readUTF();
        int[] inShape = readShape(in);
        String outName = in.readUTF();
        int[] outShape = readShape(in);
        int count = count(in, "layer", MAX_COUNT);
        List<Layer> layers = new ArrayList<>();
        for (int i = 0; i < count; i++) {
            layers.add(Layer.read(in));
        }
        int nq = count(in, "quantization entry", count + 1); // the input and each layer's output at most
        Map<String, TensorQuant> quant = new LinkedHashMap<>();
        for (int i = 0; i < nq; i++) {
            String t = in.readUTF();
            if (quant.put(t, new TensorQuant(in.readInt(), in.readInt(), in.readInt(), in.readInt())) != null) {
                throw new IOException("corrupt file: quantization of '" + t + "' appears twice");
            }
        }
        return new IntModel(meta, inName, inShape, outName, outShape, layers, quant);
    }

    /** Upper bound on the metadata entries and layers of a file: more means the count is corrupt. */
    private static final int MAX_COUNT = 1 << 20;

    private static int count(DataInputStream in, String what, int max) throws IOException {
        int n = in.readInt();
        if (n < 0 || n > max) {
            throw new IOException("corrupt file: " + what + " count " + n + " (expected 0.." + max + ")");
        }
        return n;
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
