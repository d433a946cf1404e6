package io.zsq.qat;

import io.zsq.ptq.pipeline.Plan;
import java.io.DataInputStream;
import java.io.DataOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.nio.ByteBuffer;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.List;

/**
 * A Level-2 run's state after a step ({@code checkpoint.bin}, format version 2): the parameters, the
 * optimizer's moments and step count, the loss curve so far with the losses since its last point (so that
 * a resumed run draws the curve the uninterrupted one draws), the first and the latest step's loss (so that
 * a run resumed at its end reports both), and a signature of what the run started from (settings, the
 * starting parameters, the pool). Written to a temporary name and renamed; a checkpoint of another format
 * version or whose signature differs from the run's is ignored (the run starts over and overwrites it).
 */
final class Checkpoint {
    private Checkpoint() {}

    static final int VERSION = 2;
    private static final String MAGIC = "zsq-qat-checkpoint";

    /** What a run needs besides the optimizer: {@code since} is the sum of the {@code sinceSteps} losses after the curve's last point. */
    record State(float[] params, List<List<Double>> curve, double initialLoss, double lastLoss, double since, int sinceSteps) {}

    static Path file(Path dir) {
        return dir.resolve("checkpoint.bin");
    }

    static String signature(Plan.FineTune s, float[] start, FineTuner.Pool pool) {
        return signature(s, start, pool, "");
    }

    /** {@link #signature(Plan.FineTune, float[], FineTuner.Pool)} of a run that also depends on {@code more} (how it is cut into blocks). */
    static String signature(Plan.FineTune s, float[] start, FineTuner.Pool pool, String more) {
        try {
            MessageDigest md = MessageDigest.getInstance("SHA-256");
            md.update(s.toString().getBytes(java.nio.charset.StandardCharsets.UTF_8));
            md.update(more.getBytes(java.nio.charset.StandardCharsets.UTF_8));
            ByteBuffer b = ByteBuffer.allocate(4 * start.length);
            b.asFloatBuffer().put(start);
            md.update(b.array());
            ByteBuffer q = ByteBuffer.allocate(4 * pool.images().length);
            q.asFloatBuffer().put(pool.images());
            md.update(q.array());
            return HexFormat.of().formatHex(md.digest());
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException(e);
        }
    }

    static void write(Path dir, String signature, float[] p, Optimizer opt, List<List<Double>> curve, double initialLoss, double lastLoss,
                      double since, int sinceSteps) throws IOException {
        Files.createDirectories(dir);
        Path tmp = dir.resolve("checkpoint.bin.tmp");
        try (OutputStream os = new java.io.BufferedOutputStream(Files.newOutputStream(tmp)); DataOutputStream out = new DataOutputStream(os)) {
            out.writeUTF(MAGIC);
            out.writeInt(VERSION);
            out.writeUTF(signature);
            out.writeInt(opt.t);
            out.writeDouble(initialLoss);
            out.writeDouble(lastLoss);
            out.writeDouble(since);
            out.writeInt(sinceSteps);
            floats(out, p);
            floats(out, opt.m);
            out.writeBoolean(opt.v != null);
            if (opt.v != null) {
                floats(out, opt.v);
            }
            curve(out, curve);
        }
        Files.move(tmp, file(dir), StandardCopyOption.REPLACE_EXISTING, StandardCopyOption.ATOMIC_MOVE);
    }

    /** The saved state, restoring {@code opt}'s moments and step; null when there is none or it belongs to another run. */
    static State read(Path dir, String signature, int n, Optimizer opt) throws IOException {
        Path f = file(dir);
        if (!Files.isRegularFile(f)) {
            return null;
        }
        try (InputStream is = new java.io.BufferedInputStream(Files.newInputStream(f)); DataInputStream in = new DataInputStream(is)) {
            if (!MAGIC.equals(in.readUTF()) || in.readInt() != VERSION || !signature.equals(in.readUTF())) {
                return null;
            }
            int t = in.readInt();
            double initialLoss = in.readDouble(), lastLoss = in.readDouble(), since = in.readDouble();
            int sinceSteps = in.readInt();
            float[] p = floats(in, n);
            float[] m = floats(in, n);
            float[] v = in.readBoolean() ? floats(in, n) : null;
            if ((v == null) != (opt.v == null)) {
                return null;
            }
            List<List<Double>> curve = curve(in);
            System.arraycopy(m, 0, opt.m, 0, n);
            if (v != null) {
                System.arraycopy(v, 0, opt.v, 0, n);
            }
            opt.t = t;
            return new State(p, curve, initialLoss, lastLoss, since, sinceSteps);
        } catch (java.io.EOFException e) {
            throw new IOException(f + ": truncated Level-2 checkpoint; delete it to start the fine-tuning over", e);
        }
    }

    private static final String BLOCKS_MAGIC = "zsq-qat-reconstruct";

    /** A block reconstruction's state after a block ({@code checkpoint.bin}): the parameters with the first {@code blocks} blocks rebuilt. */
    record Blocks(float[] params, int blocks, List<List<Double>> curve, double initialLoss, double finalLoss) {}

    static void writeBlocks(Path dir, String signature, float[] p, int blocks, List<List<Double>> curve, double initialLoss, double finalLoss)
            throws IOException {
        Files.createDirectories(dir);
        Path tmp = dir.resolve("checkpoint.bin.tmp");
        try (OutputStream os = new java.io.BufferedOutputStream(Files.newOutputStream(tmp)); DataOutputStream out = new DataOutputStream(os)) {
            out.writeUTF(BLOCKS_MAGIC);
            out.writeInt(VERSION);
            out.writeUTF(signature);
            out.writeInt(blocks);
            out.writeDouble(initialLoss);
            out.writeDouble(finalLoss);
            floats(out, p);
            curve(out, curve);
        }
        Files.move(tmp, file(dir), StandardCopyOption.REPLACE_EXISTING, StandardCopyOption.ATOMIC_MOVE);
    }

    /** The saved reconstruction; null when there is none or it belongs to another run (or method). */
    static Blocks readBlocks(Path dir, String signature, int n) throws IOException {
        Path f = file(dir);
        if (!Files.isRegularFile(f)) {
            return null;
        }
        try (InputStream is = new java.io.BufferedInputStream(Files.newInputStream(f)); DataInputStream in = new DataInputStream(is)) {
            if (!BLOCKS_MAGIC.equals(in.readUTF()) || in.readInt() != VERSION || !signature.equals(in.readUTF())) {
                return null;
            }
            int blocks = in.readInt();
            double initialLoss = in.readDouble(), finalLoss = in.readDouble();
            float[] p = floats(in, n);
            List<List<Double>> curve = curve(in);
            return new Blocks(p, blocks, curve, initialLoss, finalLoss);
        } catch (java.io.EOFException e) {
            throw new IOException(f + ": truncated Level-2 checkpoint; delete it to start the fine-tuning over", e);
        }
    }

    private static void curve(DataOutputStream out, List<List<Double>> curve) throws IOException {
        out.writeInt(curve.size());
        for (List<Double> c : curve) {
            out.writeDouble(c.get(0));
            out.writeDouble(c.get(1));
        }
    }

    private static List<List<Double>> curve(DataInputStream in) throws IOException {
        List<List<Double>> curve = new ArrayList<>();
        int k = in.readInt();
        for (int i = 0; i < k; i++) {
            curve.add(List.of(in.readDouble(), in.readDouble()));
        }
        return curve;
    }

    private static void floats(DataOutputStream out, float[] a) throws IOException {
        out.writeInt(a.length);
        ByteBuffer b = ByteBuffer.allocate(4 * a.length);
        b.asFloatBuffer().put(a);
        out.write(b.array());
    }

    private static float[] floats(DataInputStream in, int n) throws IOException {
        int len = in.readInt();
        if (len != n) {
            throw new IOException("checkpoint holds " + len + " values where the run has " + n);
        }
        byte[] raw = new byte[4 * n];
        in.readFully(raw);
        float[] a = new float[n];
        ByteBuffer.wrap(raw).asFloatBuffer().get(a);
        return a;
    }
}
