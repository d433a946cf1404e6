package io.zsq.spark;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.ByteArrayOutputStream;
import java.io.DataOutputStream;
import java.io.IOException;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.SplittableRandom;
import java.util.stream.Stream;
import java.util.zip.GZIPOutputStream;
import org.apache.spark.sql.SparkSession;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Truncated and bit-flipped ONNX models, Arrow batches and idx evaluation files through the command line
 * (Spark local[2], as users run it): each gives one line on stderr naming the file, and leaves no output
 * folder behind; a flip the format cannot detect (in a float weight or a pixel) gives a complete run.
 */
class BadInputTest {
    static final Path RESNET = Path.of("../src/models/fmnist-resnet.onnx");
    static final Path FASHION = Path.of("/usr/share/datasets/fashion-mnist");
    static SparkSession spark;

    @TempDir
    Path dir;

    @BeforeAll
    static void spark() {
        spark = SparkSession.builder().config(TestSpark.local(2, "zsq-bad-input")).getOrCreate();
    }

    @AfterAll
    static void stop() {
        spark.stop();
    }

    record Run(int rc, String err) {}

    static Run zsq(String... args) {
        ByteArrayOutputStream err = new ByteArrayOutputStream();
        int rc = Main.run(args, new PrintStream(new ByteArrayOutputStream()), new PrintStream(err, true, StandardCharsets.UTF_8));
        return new Run(rc, err.toString(StandardCharsets.UTF_8));
    }

    static String[] quantize(Path model, Path out, String... more) {
        List<String> a = new ArrayList<>(List.of("quantize", "--model", model.toString(), "--out", out.toString(), "--count", "8", "--batch", "8",
                "--steps", "1", "--no-gaussian", "--quiet", "--mean", "0.2860", "--std", "0.3530"));
        a.addAll(List.of(more));
        return a.toArray(String[]::new);
    }

    /** Either a one-line error naming {@code file} and no output folder, or (an undetectable change) a complete run; true for an error. */
    static boolean errorOrComplete(Run r, String file, Path out) {
        if (r.rc() == 0) {
            assertTrue(Files.exists(out.resolve("model.zsq")) && Files.exists(out.resolve("report.json")), "a run that succeeds is complete");
            return false;
        }
        String e = r.err().strip();
        assertTrue(e.startsWith("zsq: error: ") && !e.contains("\n"), "one line: " + r.err());
        assertTrue(e.contains(file), "names " + file + ": " + e);
        assertFalse(Files.exists(out), "no output folder after: " + e);
        return true;
    }

    static byte[] flip(byte[] b, int bit) {
        byte[] c = b.clone();
        c[bit / 8] ^= (byte) (1 << (bit % 8));
        return c;
    }

    @Test
    void corruptOnnxModels() throws IOException {
        byte[] model = Files.readAllBytes(RESNET);
        List<byte[]> bad = new ArrayList<>();
        for (int cut : new int[] {0, 7, 100, model.length / 2, model.length - 1}) {
            bad.add(Arrays.copyOf(model, cut));
        }
        int truncations = bad.size();
        SplittableRandom r = new SplittableRandom(11);
        for (int i = 0; i < 14; i++) { // the graph's structure sits in the first few KB, the weights after it
            bad.add(flip(model, r.nextInt(i < 10 ? 4096 * 8 : model.length * 8)));
        }
        int errors = 0;
        for (int i = 0; i < bad.size(); i++) {
            Path f = Files.write(dir.resolve("m" + i + ".onnx"), bad.get(i));
            Path out = dir.resolve("out-onnx-" + i);
            boolean error = errorOrComplete(zsq(quantize(f, out)), f.getFileName().toString(), out);
            assertTrue(error || i >= truncations, "a truncated model is refused");
            errors += error ? 1 : 0;
        }
        assertTrue(errors > truncations, errors + " refused");
    }

    @Test
    void corruptArrowBatchesAndManifests() throws IOException {
        Path data = dir.resolve("data");
        assertEquals(0, zsq("synth", "--model", RESNET.toString(), "--out", data.toString(), "--count", "16", "--batch", "8", "--steps", "1",
                "--mean", "0.2860", "--std", "0.3530", "--quiet").rc());
        byte[] batch = Files.readAllBytes(data.resolve("batch-00001.arrow"));
        List<byte[]> bad = new ArrayList<>();
        for (int cut : new int[] {0, 50, batch.length / 2, batch.length - 1}) {
            bad.add(Arrays.copyOf(batch, cut));
        }
        SplittableRandom r = new SplittableRandom(12);
        for (int i = 0; i < 12; i++) {
            bad.add(flip(batch, r.nextInt(batch.length * 8)));
        }
        for (int i = 0; i < bad.size(); i++) {
            Path copy = copyOf(data, dir.resolve("data-" + i));
            Files.write(copy.resolve("batch-00001.arrow"), bad.get(i));
            Path out = dir.resolve("out-arrow-" + i);
            assertTrue(errorOrComplete(zsq(quantize(RESNET, out, "--calib", copy.toString())), "batch-00001.arrow", out),
                    "every change to a batch is refused (case " + i + ")");
        }
        byte[] manifest = Files.readAllBytes(data.resolve("manifest.json"));
        for (int cut : new int[] {0, manifest.length / 2}) {
            Path copy = copyOf(data, dir.resolve("manifest-" + cut));
            Files.write(copy.resolve("manifest.json"), Arrays.copyOf(manifest, cut));
            Path out = dir.resolve("out-manifest-" + cut);
            assertTrue(errorOrComplete(zsq(quantize(RESNET, out, "--calib", copy.toString())), "manifest.json", out));
        }
    }

    @Test
    void corruptIdxEvaluationData() throws IOException {
        int n = 64;
        byte[] images = idx(0x803, n, 28, 28, io.zsq.core.data.IdxDataset.load(FASHION, "t10k", n).pixels());
        byte[] labels;
        {
            int[] y = io.zsq.core.data.IdxDataset.load(FASHION, "t10k", n).labels();
            byte[] b = new byte[n];
            for (int i = 0; i < n; i++) {
                b[i] = (byte) y[i];
            }
            labels = idx(0x801, n, -1, -1, b);
        }
        record Case(String file, byte[] bytes, boolean mustFail) {}
        List<Case> cases = new ArrayList<>();
        for (int cut : new int[] {0, 10, 16 + 784 * 3, images.length - 1}) {
            cases.add(new Case("t10k-images-idx3-ubyte", Arrays.copyOf(images, cut), true));
        }
        cases.add(new Case("t10k-labels-idx1-ubyte", Arrays.copyOf(labels, labels.length - 5), true));
        SplittableRandom r = new SplittableRandom(13);
        for (int i = 0; i < 8; i++) {
            cases.add(new Case("t10k-images-idx3-ubyte", flip(images, r.nextInt(16 * 8)), false)); // header flips
        }
        byte[] gz = gzip(images);
        for (int i = 0; i < 6; i++) {
            cases.add(new Case("t10k-images-idx3-ubyte.gz", flip(gz, 8 * 20 + r.nextInt((gz.length - 20) * 8)), true));
        }
        cases.add(new Case("t10k-images-idx3-ubyte.gz", Arrays.copyOf(gz, gz.length / 2), true));
        int errors = 0;
        for (int i = 0; i < cases.size(); i++) {
            Case c = cases.get(i);
            Path folder = Files.createDirectories(dir.resolve("idx-" + i));
            Files.write(folder.resolve(c.file()), c.bytes());
            Files.write(folder.resolve("t10k-labels-idx1-ubyte"), c.file().startsWith("t10k-labels") ? c.bytes() : labels);
            if (!c.file().startsWith("t10k-images")) {
                Files.write(folder.resolve("t10k-images-idx3-ubyte"), images);
            }
            Path out = dir.resolve("out-idx-" + i);
            boolean error = errorOrComplete(zsq(quantize(RESNET, out, "--eval", folder.toString())), c.file().replace(".gz", ""), out);
            assertTrue(error || !c.mustFail(), "case " + i + " (" + c.file() + ") is refused");
            errors += error ? 1 : 0;
        }
        assertTrue(errors >= 12, errors + " refused");
    }

    @Test
    void badOptionsAndOutputs() throws IOException {
        Path out = dir.resolve("o");
        for (String[] bad : new String[][] {{"--count", "0", "--count"}, {"--steps", "-3", "--steps"}, {"--bits", "w9a8", "2..8"},
            {"--observer", "bogus", "--observer"}, {"--lr", "zero", "--lr"}, {"--input-shape", "1x0x28", "--input-shape"},
            {"--level", "3", "--level"}, {"--qat-steps", "10", "--level 2"}, {"--qat-method", "reconstruct", "--level 2"},
            {"--level 2 --qat-method bogus", "", "--qat-method"}, {"--level 2 --qat-method reconstruct --qat-temperature", "2", "--qat-temperature"},
            {"--level 2 --qat-activation-steps", "lsqq", "--qat-activation-steps"},
            {"--level 2 --qat-method reconstruct --qat-label-weight", "1", "--qat-label-weight"},
            {"--level 2 --qat-method reconstruct --bias-correction", "analytical", "--bias-correction none"},
            {"--input-bits", "9", "--input-bits must be 2..8"}, {"--device", "tpu", "--device must be cpu, gpu, auto or onnxruntime-cpu"}, {"--eval", "nosuchfs://host/x", "no filesystem for scheme 'nosuchfs'"}}) {
            List<String> args = new java.util.ArrayList<>(List.of(bad[0].split(" ")));
            if (!bad[1].isEmpty()) {
                args.add(bad[1]);
            }
            Run r = zsq(quantize(RESNET, out, args.toArray(String[]::new)));
            assertEquals(2, r.rc(), r.err());
            assertTrue(r.err().strip().startsWith("zsq: error: ") && r.err().contains(bad[2]) && !r.err().strip().contains("\n"), r.err());
            assertFalse(Files.exists(out));
        }
        Run shape = zsq(quantize(RESNET, out, "--input-shape", "1x32x32")); // the bundled model's input is fixed at 1x28x28
        assertTrue(errorOrComplete(shape, RESNET.getFileName().toString(), out) && shape.err().contains("--input-shape 1x32x32 contradicts"),
                shape.err());
        Run typo = zsq("quantize", "--modle", "x");
        assertEquals(2, typo.rc());
        assertTrue(typo.err().contains("--modle") && typo.err().contains("zsq quantize --help"), typo.err());
        Path file = Files.writeString(dir.resolve("a-file"), "x");
        Run f = zsq(quantize(RESNET, file));
        assertTrue(f.rc() == 2 && f.err().contains("a-file") && f.err().contains("is a file, not a folder"), f.err());
        Run missing = zsq(quantize(dir.resolve("missing.onnx"), out));
        assertTrue(missing.rc() == 2 && missing.err().contains("missing.onnx"), missing.err());
        assertFalse(Files.exists(out));
        Run help = zsq("quantize", "--help");
        assertEquals(0, help.rc());
    }

    /** Image folders and CIFAR-10 files through the command line: quantize --eval on Spark, zsq run --data, and their refusals. */
    @Test
    void evaluationDataOfEveryFormat() throws IOException {
        int n = 60;
        io.zsq.core.data.IdxDataset d = io.zsq.core.data.IdxDataset.load(FASHION, "t10k", n);
        Path png = dir.resolve("png");
        for (int i = 0; i < n; i++) {
            java.awt.image.BufferedImage im = new java.awt.image.BufferedImage(28, 28, java.awt.image.BufferedImage.TYPE_BYTE_GRAY);
            for (int p = 0; p < 784; p++) {
                im.getRaster().setSample(p % 28, p / 28, 0, d.pixels()[i * 784 + p] & 0xFF);
            }
            Path f = Files.createDirectories(png.resolve("class-" + d.labels()[i])).resolve(i + ".png");
            javax.imageio.ImageIO.write(im, "png", f.toFile());
        }
        assertEquals(10, Files.list(png).count(), "all ten classes among the first 60");
        Path out = dir.resolve("q");
        Run q = zsq(quantize(RESNET, out, "--eval", png.toString()));
        assertEquals(0, q.rc(), q.err());
        ByteArrayOutputStream fromPng = new ByteArrayOutputStream(), fromIdx = new ByteArrayOutputStream();
        PrintStream stdout = System.out; // zsq run prints its result line on System.out
        try {
            System.setOut(new PrintStream(fromPng, true));
            assertEquals(0, Main.run(new String[] {"run", "--model", out.toString(), "--data", png.toString()}, System.out, System.err));
            System.setOut(new PrintStream(fromIdx, true));
            assertEquals(0, Main.run(new String[] {"run", "--model", out.toString(), "--data", FASHION.toString(), "--limit", "" + n},
                    System.out, System.err));
        } finally {
            System.setOut(stdout);
        }
        java.util.function.Function<String, String> top1 = s -> s.replaceAll("(?s).*(top-1 [0-9.]+%).*", "$1");
        assertTrue(fromPng.toString().contains("on 60 images of " + png), fromPng.toString());
        assertEquals(top1.apply(fromIdx.toString()), top1.apply(fromPng.toString()));

        Path cifar = Files.write(dir.resolve("test_batch.bin"), new byte[3 * 3073]);
        Path never = dir.resolve("never");
        Run wrong = zsq(quantize(RESNET, never, "--eval", cifar.toString()));
        assertEquals(2, wrong.rc(), wrong.err());
        assertEquals("zsq: error: " + cifar + ": images are 3x32x32, the model takes 1x28x28 (a different channel count)", wrong.err().strip());
        assertFalse(Files.exists(never));
        Path cut = Files.write(dir.resolve("cut.bin"), new byte[3073 + 5]);
        Run trunc = zsq("run", "--model", out.toString(), "--data", cut.toString());
        assertEquals(2, trunc.rc(), trunc.err());
        assertTrue(trunc.err().strip().startsWith("zsq: error: " + cut + ": 3078 bytes, not a whole number of CIFAR-10 records")
                && !trunc.err().strip().contains("\n"), trunc.err());
        Run big = zsq("run", "--model", out.toString(), "--data", png.toString(), "--resize", "14");
        assertEquals(2, big.rc(), big.err());
        assertTrue(big.err().contains("after resizing the shorter side to 14, the model takes 28x28 (add the center-crop option)"), big.err());
        Run neg = zsq(quantize(RESNET, never, "--eval", png.toString(), "--eval-resize", "-1"));
        assertTrue(neg.rc() == 2 && neg.err().contains("--eval-resize must be"), neg.err());
        Run crop = zsq(quantize(RESNET, never, "--eval", png.toString(), "--eval-resize", "32", "--eval-center-crop", "--eval-limit", "20"));
        assertEquals(0, crop.rc(), crop.err());
    }

    static Path copyOf(Path from, Path to) throws IOException {
        Files.createDirectories(to);
        try (Stream<Path> s = Files.list(from)) {
            for (Path p : s.toList()) {
                Files.copy(p, to.resolve(p.getFileName()));
            }
        }
        return to;
    }

    static byte[] idx(int magic, int n, int h, int w, byte[] data) throws IOException {
        ByteArrayOutputStream bo = new ByteArrayOutputStream();
        DataOutputStream o = new DataOutputStream(bo);
        o.writeInt(magic);
        o.writeInt(n);
        if (h > 0) {
            o.writeInt(h);
            o.writeInt(w);
        }
        o.write(data);
        return bo.toByteArray();
    }

    static byte[] gzip(byte[] b) throws IOException {
        ByteArrayOutputStream bo = new ByteArrayOutputStream();
        try (GZIPOutputStream g = new GZIPOutputStream(bo)) {
            g.write(b);
        }
        return bo.toByteArray();
    }
}
