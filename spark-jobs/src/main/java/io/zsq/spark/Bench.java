package io.zsq.spark;

import ai.onnxruntime.OnnxTensor;
import ai.onnxruntime.OrtEnvironment;
import ai.onnxruntime.OrtException;
import ai.onnxruntime.OrtSession;
import io.zsq.core.data.ImageTransform;
import io.zsq.core.data.LabeledImages;
import io.zsq.core.data.Preprocessing;
import io.zsq.core.exec.Fp32Engine;
import io.zsq.core.exec.Simd;
import io.zsq.core.export.OnnxExport;
import io.zsq.core.imports.ModelImporter;
import io.zsq.core.ir.Graph;
import io.zsq.core.passes.LowerToInteger;
import io.zsq.core.quant.FakeQuant;
import io.zsq.core.quant.QParams;
import io.zsq.ptq.pipeline.ExportCheck;
import io.zsq.ptq.pipeline.InProcessExecutor;
import io.zsq.ptq.pipeline.Json;
import io.zsq.ptq.pipeline.Pipeline;
import io.zsq.ptq.pipeline.Plan;
import io.zsq.runtime.IntModel;
import io.zsq.runtime.IntRunner;
import io.zsq.runtime.IntSimd;
import io.zsq.runtime.Layer;
import java.io.IOException;
import java.nio.FloatBuffer;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.SplittableRandom;
import java.util.concurrent.Callable;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;

/**
 * {@code zsq bench}: inference speed of one model on every engine, measured in one run. An engine runs
 * T worker threads, each a stream of batches of B images, single-threaded per call (ONNX Runtime with
 * one intra-op thread), after a warm-up; images/s count all streams. Engines: zsq-runtime int8 (input
 * quantization included), ONNX Runtime int8 on the QOperator export, ONNX Runtime FP32 on the source
 * ONNX model, and the IR executor in FP32 (zsq-core: Vector API convolutions, ND4J dense layers).
 */
final class Bench {
    private Bench() {}

    interface Engine {
        /** Runs one batch of {@code n} NCHW float images; returns something to keep the JIT honest. */
        float run(float[] x, int n) throws Exception;
    }

    static int run(Path model, Path out, Plan.InputShape inputShape, List<Integer> threads, List<Integer> batches, double seconds, String mean, String std,
                   Path data, ImageTransform transform) throws Exception {
        Preprocessing pre = Preprocessing.parse(mean, std);
        Path dir;
        Path fp32;
        if (Files.isDirectory(model) && Files.exists(model.resolve("model.zsq"))) {
            dir = model;
            com.fasterxml.jackson.databind.JsonNode model0 = Json.MAPPER.readTree(dir.resolve("report.json").toFile()).get("model");
            if (model0 == null || !model0.isTextual()) {
                throw new IOException(dir.resolve("report.json") + ": no \"model\" entry (the FP32 model the folder was quantized from)");
            }
            fp32 = Path.of(model0.asText());
            com.fasterxml.jackson.databind.JsonNode shape = Json.MAPPER.readTree(dir.resolve("report.json").toFile()).path("plan").path("input_shape");
            if (inputShape == null && shape.isTextual()) {
                inputShape = Plan.InputShape.parse(shape.asText());
            }
        } else {
            dir = out != null ? out : Files.createTempDirectory("zsq-bench");
            fp32 = model;
            if (!Files.exists(dir.resolve("model.zsq"))) {
                System.err.println("zsq bench: quantizing " + model + " with the defaults (W8A8) into " + dir);
                Pipeline.run(Plan.builder().model(model).out(dir).preprocessing(mean, std).inputShape(Plan.InputShape.arrayOrNull(inputShape)).gaussianBaseline(false).quiet(true).build(),
                        new InProcessExecutor());
            }
        }
        IntModel m = IntModel.load(dir.resolve("model.zsq"));
        Graph g = ModelImporter.load(fp32, Plan.InputShape.arrayOrNull(inputShape));
        int[] in = g.inputShape();
        int per = in[0] * in[1] * in[2];
        int maxBatch = batches.stream().mapToInt(Integer::intValue).max().orElse(1);
        float[] pool = images(data, transform, pre, per, Math.max(256, maxBatch), in);
        QParams qi = LowerToInteger.tensorQuantization(m, m.inputName());
        OrtEnvironment env = ExportCheck.environment();
        OrtSession.SessionOptions opts = new OrtSession.SessionOptions();
        opts.setIntraOpNumThreads(1);
        opts.setInterOpNumThreads(1);
        byte[] qop = OnnxExport.export(m, OnnxExport.Form.QOPERATOR);
        List<String> names = new ArrayList<>();
        List<Engine> engines = new ArrayList<>();
        IntRunner runner = new IntRunner(m);
        names.add("zsq-runtime int8");
        engines.add((x, n) -> {
            byte[][] q = FakeQuant.quantizeInput(x, n, qi);
            float s = 0;
            for (byte[] img : q) {
                s += runner.run(img)[0];
            }
            return s;
        });
        OrtSession ortInt8 = env.createSession(qop, opts);
        names.add("ONNX Runtime int8 (QOperator export)");
        engines.add((x, n) -> ort(env, ortInt8, x, n, in));
        OrtSession ortFp32 = fp32.toString().endsWith(".onnx") ? env.createSession(fp32.toString(), opts) : null;
        if (ortFp32 != null) {
            names.add("ONNX Runtime FP32 (source model)");
            engines.add((x, n) -> ort(env, ortFp32, x, n, in));
        }
        names.add("IR executor FP32 (ND4J + Vector API)");
        engines.add((x, n) -> Fp32Engine.run(g, x, n)[0]);

        StringBuilder t = new StringBuilder();
        t.append(String.format("zsq bench: %s (%s)%n", fp32, dir.resolve("model.zsq")));
        t.append(String.format("machine: %d cores, %s %s, Java %s; %s; FP32 convolutions: %s%n", Runtime.getRuntime().availableProcessors(),
                System.getProperty("os.arch"), System.getProperty("os.name"), System.getProperty("java.version"), IntSimd.describe(),
                Simd.describe()));
        t.append(String.format("each cell: T streams of batch B for %.1f s after a %.1f s warm-up; ONNX Runtime %s, 1 intra-op thread per call%n%n",
                seconds, warmup(seconds), ortVersion()));
        t.append(String.format("%-38s", "images/s"));
        for (int b : batches) {
            for (int th : threads) {
                t.append(String.format(" %14s", "B=" + b + " T=" + th));
            }
        }
        t.append('\n');
        double[][] ips = new double[engines.size()][batches.size() * threads.size()];
        for (int e = 0; e < engines.size(); e++) {
            t.append(String.format("%-38s", names.get(e)));
            int col = 0;
            for (int b : batches) {
                for (int th : threads) {
                    ips[e][col] = measure(engines.get(e), pool, per, b, th, seconds);
                    t.append(String.format(" %14.1f", ips[e][col]));
                    col++;
                }
            }
            t.append('\n');
            System.err.printf("zsq bench: %s done%n", names.get(e));
        }
        t.append(String.format("%-38s", "zsq int8 / ORT int8"));
        for (int c = 0; c < ips[0].length; c++) {
            t.append(String.format(" %14.2f", ips[0][c] / ips[1][c]));
        }
        t.append('\n');
        t.append(layerTable(runner, FakeQuant.quantizeInput(pool, Math.min(64, pool.length / per), qi), seconds));
        t.append("\nfile sizes (bytes)\n");
        t.append(String.format("  FP32 source model            %10d  %s%n", Files.size(fp32), fp32.getFileName()));
        t.append(String.format("  zsq integer model            %10d  model.zsq (%s-bit weights%s)%n", Files.size(dir.resolve("model.zsq")),
                m.metadata().get("weightBits"), Integer.parseInt(m.metadata().getOrDefault("weightBits", "8")) <= 4 ? ", packed two per byte" : ""));
        t.append(String.format("  ONNX QOperator export        %10d%n", qop.length));
        t.append(String.format("  ONNX QDQ export              %10d%n", OnnxExport.export(m, OnnxExport.Form.QDQ).length));
        System.out.print(t);
        ortInt8.close();
        if (ortFp32 != null) {
            ortFp32.close();
        }
        return 0;
    }

    /** zsq-runtime's time per layer on one thread ({@link IntRunner#profile}), one row per layer. */
    static String layerTable(IntRunner runner, byte[][] images, double seconds) {
        IntRunner.Profile p = runner.profile(images, (long) (warmup(seconds) * 1e9), (long) (seconds * 1e9));
        List<Layer> layers = runner.model().layers();
        long total = java.util.Arrays.stream(p.nanos()).sum();
        StringBuilder t = new StringBuilder(String.format("%nzsq-runtime int8 per layer, 1 thread, %d images (%s)%n", p.images(),
                IntSimd.describe()));
        t.append(String.format("%3s  %-30s %-10s %10s %7s  %s%n", "#", "layer", "output", "us/image", "share", "tensor"));
        for (int i = 0; i < layers.size(); i++) {
            Layer l = layers.get(i);
            t.append(String.format("%3d  %-30s %-10s %10.2f %6.1f%%  %s%n", i, describe(l), shape(l.outShape()), p.nanos()[i] / 1e3 / p.images(),
                    100.0 * p.nanos()[i] / total, l.output()));
        }
        t.append(String.format("%3s  %-30s %-10s %10.2f %6.1f%%%n", "", "all layers", "", total / 1e3 / p.images(), 100.0));
        return t.toString();
    }

    /** A layer as a kernel: kind, window/stride, groups. */
    static String describe(Layer l) {
        if (l instanceof Layer.Conv c) {
            boolean dense = c.inShape()[1] == 1 && c.inShape()[2] == 1 && c.kh() == 1 && c.kw() == 1;
            boolean depthwise = c.groups() > 1 && c.groups() == c.inShape()[0] && c.groups() == c.outShape()[0];
            String kind = dense ? "dense" : depthwise ? "depthwise conv" : c.groups() > 1 ? "grouped conv (" + c.groups() + ")" : "conv";
            return dense ? kind + " " + c.inShape()[0] + "->" + c.outShape()[0]
                    : String.format("%s %dx%d/%d,%d %d-bit", kind, c.kh(), c.kw(), c.strideH(), c.strideW(), c.weightBits());
        } else if (l instanceof Layer.Add) {
            return "add";
        } else if (l instanceof Layer.MaxPool m) {
            return String.format("max pool %dx%d/%d,%d", m.kh(), m.kw(), m.strideH(), m.strideW());
        } else if (l instanceof Layer.AvgPool a) {
            return a.kh() == a.inShape()[1] && a.kw() == a.inShape()[2] ? "global average pool"
                    : String.format("average pool %dx%d/%d,%d", a.kh(), a.kw(), a.strideH(), a.strideW());
        } else if (l instanceof Layer.Slice s) {
            return String.format("slice steps %d,%d,%d", s.steps()[0], s.steps()[1], s.steps()[2]);
        } else if (l instanceof Layer.Pad p) {
            return "pad (zero point " + p.fill() + ")";
        } else if (l instanceof Layer.Mul) {
            return "mul";
        } else if (l instanceof Layer.Lut) {
            return "lookup table";
        } else if (l instanceof Layer.Concat c) {
            return "concat of " + c.inputs().length;
        } else if (l instanceof Layer.Expand) {
            return "expand (broadcast)";
        }
        return "reshape";
    }

    private static String shape(int[] s) {
        return java.util.Arrays.stream(s).mapToObj(Integer::toString).collect(java.util.stream.Collectors.joining("x"));
    }

    private static String ortVersion() {
        try {
            return OrtEnvironment.getEnvironment().getVersion();
        } catch (Exception e) {
            return "?";
        }
    }

    private static float ort(OrtEnvironment env, OrtSession s, float[] x, int n, int[] in) throws OrtException {
        try (OnnxTensor t = OnnxTensor.createTensor(env, FloatBuffer.wrap(x, 0, n * in[0] * in[1] * in[2]), new long[] {n, in[0], in[1], in[2]});
             OrtSession.Result r = s.run(Map.of(s.getInputNames().iterator().next(), t))) {
            return ((float[][]) r.get(0).getValue())[0][0];
        }
    }

    /** Test images when the dataset is there (speed does not depend on it much), else uniform noise in the valid range. */
    private static float[] images(Path data, ImageTransform transform, Preprocessing pre, int per, int n, int[] in) {
        if (data != null && Files.exists(data)) {
            try {
                LabeledImages d = LabeledImages.read(data, LabeledImages.Split.TEST, n, transform, in);
                if (d.count() == n) {
                    return d.batch(0, n, pre);
                }
                System.err.println("zsq bench: " + data + " holds " + d.count() + " images, fewer than " + n + "; timing on noise instead");
            } catch (RuntimeException e) {
                System.err.println("zsq bench: " + e.getMessage() + "; timing on noise in the valid range instead");
            }
        }
        float[][] range = pre.inputRange(in[0]);
        SplittableRandom r = new SplittableRandom(1);
        float[] x = new float[n * per];
        for (int i = 0; i < x.length; i++) {
            int c = (i % per) / (in[1] * in[2]);
            x[i] = (float) (range[0][c] + r.nextDouble() * (range[1][c] - range[0][c]));
        }
        return x;
    }

    /** Long enough for the JIT to compile the vector kernels (about 1-2 s of a run). */
    static double warmup(double seconds) {
        return Math.max(2.0, seconds / 2);
    }

    /** Images/s of T threads, each running batches of B from its own slice of the pool, for {@code seconds}. */
    private static double measure(Engine e, float[] pool, int per, int batch, int threads, double seconds) throws Exception {
        int images = pool.length / per;
        ExecutorService ex = Executors.newFixedThreadPool(threads);
        try {
            for (int phase = 0; phase < 2; phase++) {
                double limit = phase == 0 ? warmup(seconds) : seconds;
                List<Future<long[]>> fs = new ArrayList<>();
                long start = System.nanoTime();
                for (int t = 0; t < threads; t++) {
                    int id = t;
                    Callable<long[]> task = () -> {
                        long done = 0;
                        int at = (id * batch) % (images - batch + 1);
                        float[] x = new float[batch * per];
                        while (System.nanoTime() - start < limit * 1e9) {
                            System.arraycopy(pool, at * per, x, 0, batch * per);
                            e.run(x, batch);
                            done += batch;
                            at = (at + batch) % (images - batch + 1);
                        }
                        return new long[] {done, System.nanoTime()};
                    };
                    fs.add(ex.submit(task));
                }
                long total = 0, end = start;
                for (Future<long[]> f : fs) {
                    long[] r = f.get();
                    total += r[0];
                    end = Math.max(end, r[1]);
                }
                if (phase == 1) {
                    return total / ((end - start) / 1e9);
                }
            }
            throw new IllegalStateException("unreachable");
        } finally {
            ex.shutdown();
        }
    }
}
