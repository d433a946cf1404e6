package io.zsq.spark;

import io.zsq.core.imports.ModelImportException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/** The {@code zsq} command line: a thin layer over {@link QuantizeJob}. */
public final class Main {
    static final String HELP = """
            zsq %s: data-free quantization of FP32 models to integer-only models

            usage: zsq quantize --model M --out DIR [options]
                   zsq synth --model M --out DIR --count N [--batch B] [--steps S] [--method M] [--seed X] [--threads T]
                             [--lr X] [--mean V --std V] [--real-data DIR] [--quiet]
                   zsq run --model DIR|FILE.zsq --data DIR [--limit N] [--threads T] [--mean V --std V]
                             the integer model alone (zsq-runtime) on an idx test set, T threads (default: all
                             cores; the same predictions for any T); preprocessing from the model unless given
                   zsq bench --model M [--threads T[,T...]] [--batch B[,B...]] [--seconds S] [--mean V --std V] [--out DIR]
                             [--data DIR]
                             M: an FP32 model (quantized with the defaults first, into --out or a temporary folder)
                             or an output folder of zsq quantize; prints images/s of zsq-runtime int8, ONNX Runtime
                             int8 (the QOperator export) and FP32, and the IR executor FP32, for each batch size and
                             thread count (default 1,64 and 1,2; 3 s per cell), and the file sizes

            quantize options:

              --model M          FP32 model: ONNX (.onnx, BatchNormalization nodes kept) or DL4J MultiLayerNetwork zip (.zip)
              --out DIR          output folder: model.zsq, report.json, calib/ (the synthetic dataset)
              --bits B[,B...]    bit widths, wNaM (weights N, activations M, 2..8), default w8a8; several are all
                                 calibrated and evaluated, the first is written as model.zsq
              --eval DATA        MNIST-format idx folder with t10k-images/labels (.gz or not) to measure top-1 on
              --eval-limit N     evaluate the first N images only (default: all)
              --mean V[,V...]    input preprocessing: pixels / 255, then (x - mean) / std; one value or one per channel (default 0)
              --std V[,V...]     (default 1)
              --observer O       activation range observer: auto (default: minmax at 8-bit activations, mse below),
                                 minmax, movingavg (mean of per-batch min/max),
                                 percentile[:P] (default P 99.99), kl (entropy threshold, TensorRT), mse (MSE-optimal clipping)
              --weight-granularity G
                                 channel (default), tensor, or group:N (N consecutive output channels share a scale)
              --weight-range R   restricted (default, [-(2^(b-1)-1), 2^(b-1)-1]) or full ([-2^(b-1), 2^(b-1)-1]); weights
                                 are always symmetric (the integer kernels have no weight zero point)
              --symmetric-activations
                                 zero point 0 for activations that go negative (non-negative ones, e.g. after ReLU,
                                 stay unsigned); default asymmetric
              --layer-bits L     per-layer bit widths overriding --bits: id=wNaM[,id=wNaM...] (layer ids as in the
                                 model, e.g. /l1/c1/Conv)
              --size-budget S    mixed-precision weights: per-layer widths 2..8 minimizing the summed ZeroQ sensitivity
                                 (output KL with one layer quantized) within S bytes of weights, or a ratio of the
                                 int8 weights: 0.5x or 50%% (0.5x = the size of uniform 4-bit weights)
              --equalize         cross-layer equalization before calibration (DFQ; ReLU6 becomes ReLU in equalized layers)
              --absorb-high-bias high-bias absorption (DFQ): a ReLU layer whose BatchNorm says its input stays above
                                 c = max(0, beta - 3 gamma) hands c to the next layer's bias; use with --equalize
              --bias-correction B
                                 none (default), analytical (from the BatchNorm statistics, no data), empirical (per-
                                 channel input means on the synthetic calibration data), auto (analytical where a
                                 layer's input comes from a BatchNorm, else empirical)
              --bn-ranges R      activation ranges of layers with a folded BatchNorm from its statistics instead of the
                                 calibration data (the observer runs on clamp(N(beta, gamma^2)) per channel): on, off,
                                 or auto (default: for activations of 4 bits or fewer, where it measured better)
              --method M         calibration data: zeroq (BN-statistics matching, ZeroQ), optionally with components
                                 joined by '+': label (cross-entropy towards a class per sample, GDFQ), di (DeepInversion
                                 priors: TV, L2, jitter, flips), dsg (DSG slack margin and per-sample layer terms);
                                 deepinversion = zeroq+di; gaussian (noise); real (reads --real-data, NOT data-free)
                                 (default zeroq+label+di+dsg, the best combination measured)
              --real-data DIR    idx folder whose train split --method real reads (the upper bound)
              --count N          synthetic calibration images (default 256)
              --batch N          synthetic images per batch, one Spark task each (default 32)
              --steps N          Adam steps of BN-statistics matching per batch (default 200)
              --lr X             Adam learning rate on the input (default 0.5)
              --seed S           job seed; batch b uses a seed derived from (S, b) (default 1)
              --calib DIR        calibrate on a synthetic dataset made earlier instead of generating one
              --no-gaussian      skip the Gaussian-noise calibration baseline
              --quiet            no progress output

            synth options: as for quantize, plus --threads T (Spark local[T]); writes DIR/batch-NNNNN.arrow and DIR/synth.json

            Spark: runs on local[*] unless a master is set (spark-submit, or -Dspark.master=...).
            Weights symmetric (per channel by default); activations per tensor; BN folded; dyadic requantization.
            """;

    private Main() {}

    public static void main(String[] args) {
        try {
            System.exit(run(args));
        } catch (IllegalArgumentException | ModelImportException e) {
            System.err.println("zsq: error: " + e.getMessage());
            System.exit(2);
        } catch (Exception e) {
            Throwable root = e;
            while (root.getCause() != null && root.getCause() != root) {
                root = root.getCause();
            }
            System.err.println("zsq: error: " + (root.getMessage() != null ? root.getMessage() : root.toString()));
            System.exit(1);
        }
    }

    static int run(String[] args) throws Exception {
        if (args.length == 0 || args[0].equals("--help") || args[0].equals("-h") || args[0].equals("help")) {
            System.out.printf(HELP, QuantizeJob.VERSION);
            return args.length == 0 ? 2 : 0;
        }
        if (args[0].equals("synth")) {
            return synth(args);
        }
        if (args[0].equals("bench")) {
            return bench(args);
        }
        if (args[0].equals("run")) {
            return runModel(args);
        }
        if (!args[0].equals("quantize")) {
            throw new IllegalArgumentException("unknown command '" + args[0] + "' (try zsq --help)");
        }
        QuantizeJob.Builder b = QuantizeJob.builder();
        String mean = "0", std = "1";
        for (int i = 1; i < args.length; i++) {
            String a = args[i];
            switch (a) {
                case "--help" -> {
                    System.out.printf(HELP, QuantizeJob.VERSION);
                    return 0;
                }
                case "--no-gaussian" -> b.gaussianBaseline(false);
                case "--quiet" -> b.quiet(true);
                case "--equalize" -> b.equalize(true);
                case "--absorb-high-bias" -> b.absorbHighBias(true);
                case "--symmetric-activations" -> b.symmetricActivations(true);
                default -> {
                    if (i + 1 >= args.length || !a.startsWith("--")) {
                        throw new IllegalArgumentException("unknown or incomplete option '" + a + "' (try zsq quantize --help)");
                    }
                    String v = args[++i];
                    switch (a) {
                        case "--model" -> b.model(Path.of(v));
                        case "--out" -> b.out(Path.of(v));
                        case "--bits" -> b.bits(v);
                        case "--eval" -> b.eval(Path.of(v));
                        case "--eval-limit" -> b.evalLimit(intArg(a, v));
                        case "--mean" -> mean = v;
                        case "--std" -> std = v;
                        case "--observer" -> b.observer(v);
                        case "--method" -> b.method(v);
                        case "--real-data" -> b.realData(Path.of(v));
                        case "--count" -> b.count(intArg(a, v));
                        case "--batch" -> b.batch(intArg(a, v));
                        case "--steps" -> b.steps(intArg(a, v));
                        case "--lr" -> b.lr(Double.parseDouble(v));
                        case "--seed" -> b.seed(Long.parseLong(v));
                        case "--calib" -> b.calib(Path.of(v));
                        case "--weight-granularity" -> b.weightGranularity(v);
                        case "--weight-range" -> {
                            if (!v.equals("full") && !v.equals("restricted")) {
                                throw new IllegalArgumentException("--weight-range takes full or restricted, not '" + v + "'");
                            }
                            b.weightFullRange(v.equals("full"));
                        }
                        case "--layer-bits" -> b.layerBits(v);
                        case "--bias-correction" -> b.biasCorrection(v);
                        case "--bn-ranges" -> b.bnRanges(v);
                        case "--size-budget" -> b.sizeBudget(v);
                        default -> throw new IllegalArgumentException("unknown option '" + a + "' (try zsq quantize --help)");
                    }
                }
            }
        }
        b.preprocessing(mean, std);
        QuantizeJob job = b.build();
        Map<String, Object> report = job.run();
        System.out.print(table(report));
        return 0;
    }

    /**
     * {@code zsq run}: the integer model alone (zsq-runtime, no Spark) on an idx test set, on T threads;
     * the input preprocessing comes from the model's metadata unless given.
     */
    static int runModel(String[] args) throws Exception {
        Map<String, String> o = options(args, List.of("--model", "--data", "--limit", "--threads", "--mean", "--std"), List.of());
        if (o == null) {
            return 0;
        }
        for (String req : List.of("--model", "--data")) {
            if (!o.containsKey(req)) {
                throw new IllegalArgumentException(req + " is required for zsq run");
            }
        }
        Path path = Path.of(o.get("--model"));
        io.zsq.runtime.IntModel m = io.zsq.runtime.IntModel.load(Files.isDirectory(path) ? path.resolve("model.zsq") : path);
        String mean = o.getOrDefault("--mean", m.metadata().get("input.mean")), std = o.getOrDefault("--std", m.metadata().get("input.std"));
        if (mean == null || std == null) {
            throw new IllegalArgumentException(path + ": the model does not record its input preprocessing; give --mean and --std");
        }
        io.zsq.core.data.IdxDataset d = io.zsq.core.data.IdxDataset.load(Path.of(o.get("--data")), "t10k",
                o.containsKey("--limit") ? intArg("--limit", o.get("--limit")) : 0);
        io.zsq.core.quant.QParams qi = io.zsq.core.passes.LowerToInteger.tensorQuantization(m, m.inputName());
        if (qi == null) {
            throw new IllegalArgumentException(path + ": no input quantization in the model metadata (re-run zsq quantize)");
        }
        int threads = intArg("--threads", o.getOrDefault("--threads", Integer.toString(Runtime.getRuntime().availableProcessors())));
        byte[][] q = io.zsq.core.quant.FakeQuant.quantizeInput(d.batch(0, d.count(), io.zsq.core.data.Preprocessing.parse(mean, std)),
                d.count(), qi);
        long t0 = System.nanoTime();
        byte[][] out = new io.zsq.runtime.IntRunner(m).runBatch(q, threads);
        double secs = (System.nanoTime() - t0) / 1e9;
        int correct = 0;
        for (int i = 0; i < out.length; i++) {
            correct += io.zsq.runtime.IntRunner.argmax(out[i]) == d.labels()[i] ? 1 : 0;
        }
        System.out.printf("zsq run: %s on %d images of %s: top-1 %.2f%%, %.1f images/s on %d threads (%s)%n", path, d.count(), o.get("--data"),
                100.0 * correct / d.count(), d.count() / secs, threads, io.zsq.runtime.IntSimd.describe());
        return 0;
    }

    /** {@code zsq bench}: inference speed on every engine, one table. */
    static int bench(String[] args) throws Exception {
        Map<String, String> o = options(args, List.of("--model", "--out", "--threads", "--batch", "--seconds", "--mean", "--std", "--data"),
                List.of());
        if (o == null) {
            return 0;
        }
        if (!o.containsKey("--model")) {
            throw new IllegalArgumentException("--model is required for zsq bench (an FP32 model, or an output folder of zsq quantize)");
        }
        return Bench.run(Path.of(o.get("--model")), o.containsKey("--out") ? Path.of(o.get("--out")) : null, ints("--threads",
                o.getOrDefault("--threads", "1,2")), ints("--batch", o.getOrDefault("--batch", "1,64")),
                Double.parseDouble(o.getOrDefault("--seconds", "3")), o.getOrDefault("--mean", "0"), o.getOrDefault("--std", "1"),
                Path.of(o.getOrDefault("--data", "/usr/share/datasets/fashion-mnist")));
    }

    /**
     * A subcommand's options: {@code --name value} for the names in {@code valued}, {@code --flag} (value
     * "true") for those in {@code flags}; null after printing the help for {@code --help}.
     */
    private static Map<String, String> options(String[] args, List<String> valued, List<String> flags) {
        Map<String, String> o = new LinkedHashMap<>();
        for (int i = 1; i < args.length; i++) {
            if (args[i].equals("--help")) {
                System.out.printf(HELP, QuantizeJob.VERSION);
                return null;
            } else if (flags.contains(args[i])) {
                o.put(args[i], "true");
            } else if (valued.contains(args[i]) && i + 1 < args.length) {
                o.put(args[i], args[++i]);
            } else {
                throw new IllegalArgumentException("unknown or incomplete option '" + args[i] + "' (try zsq --help)");
            }
        }
        return o;
    }

    private static List<Integer> ints(String name, String v) {
        List<Integer> l = new ArrayList<>();
        for (String s : v.split(",")) {
            l.add(intArg(name, s.trim()));
        }
        return l;
    }

    /** {@code zsq synth}: the calibration dataset alone. */
    static int synth(String[] args) throws Exception {
        Map<String, String> o = options(args, List.of("--model", "--out", "--count", "--batch", "--steps", "--method", "--seed", "--threads",
                "--lr", "--mean", "--std", "--real-data"), List.of("--quiet"));
        if (o == null) {
            return 0;
        }
        boolean quiet = o.containsKey("--quiet");
        for (String req : List.of("--model", "--out", "--count")) {
            if (!o.containsKey(req)) {
                throw new IllegalArgumentException(req + " is required for zsq synth");
            }
        }
        io.zsq.core.ir.Graph g = io.zsq.core.imports.ModelImporter.load(Path.of(o.get("--model")));
        io.zsq.core.data.Preprocessing pre = io.zsq.core.data.Preprocessing.parse(o.getOrDefault("--mean", "0"), o.getOrDefault("--std", "1"));
        float[][] range = pre.inputRange(g.inputShape()[0]);
        io.zsq.synth.SynthConfig cfg = new io.zsq.synth.SynthConfig(o.getOrDefault("--method", QuantizeJob.DEFAULT_METHOD), intArg("--count", o.get("--count")),
                intArg("--batch", o.getOrDefault("--batch", "32")), intArg("--steps", o.getOrDefault("--steps", "200")),
                Double.parseDouble(o.getOrDefault("--lr", "0.5")), Long.parseLong(o.getOrDefault("--seed", "1")), range[0], range[1]);
        Path out = Path.of(o.get("--out"));
        Path real = o.containsKey("--real-data") ? Path.of(o.get("--real-data")) : null;
        Integer threads = o.containsKey("--threads") ? intArg("--threads", o.get("--threads")) : null;
        boolean q = quiet;
        long t0 = System.nanoTime();
        Map<String, Object> r = QuantizeJob.withSpark("zsq synth", threads,
                jsc -> SynthJob.run(jsc, jsc.broadcast(g), cfg, out, real, pre, q));
        r.put("seconds_with_spark_startup", (System.nanoTime() - t0) / 1e9);
        java.nio.file.Files.writeString(out.resolve("synth.json.tmp"), Json.write(r));
        java.nio.file.Files.move(out.resolve("synth.json.tmp"), out.resolve("synth.json"), java.nio.file.StandardCopyOption.REPLACE_EXISTING);
        System.out.print(Json.write(r));
        return 0;
    }

    private static int intArg(String name, String v) {
        try {
            return Integer.parseInt(v);
        } catch (NumberFormatException e) {
            throw new IllegalArgumentException(name + " takes an integer, not '" + v + "'");
        }
    }

    @SuppressWarnings("unchecked")
    static String table(Map<String, Object> r) {
        StringBuilder sb = new StringBuilder();
        sb.append("\nzsq quantize: ").append(r.get("model")).append(Boolean.TRUE.equals(r.get("real_data_used_for_calibration"))
                ? "  (calibrated on REAL data: upper bound)\n" : "  (no real data used for calibration)\n");
        if (r.containsKey("fp32_top1")) {
            sb.append(String.format("evaluated on %s images of %s%n", r.get("eval_images"), r.get("eval_data")));
        }
        sb.append(String.format("%n%-8s %-12s %10s %10s %12s %12s%n", "bits", "calibration", "top-1 %", "FQ top-1", "agree w/ FQ", "size bytes"));
        if (r.containsKey("fp32_top1")) {
            sb.append(String.format("%-8s %-12s %10.2f %10s %12s %12d%n", "fp32", "-", (Double) r.get("fp32_top1"), "-", "-",
                    ((Number) r.get("fp32_model_bytes")).longValue()));
        }
        for (Map<String, Object> row : (List<Map<String, Object>>) r.get("results")) {
            Double top1 = (Double) row.get("int_top1"), agr = (Double) row.get("agreement_with_fake_quant");
            Double fq = (Double) row.get("fake_quant_top1");
            sb.append(String.format("%-8s %-12s %10s %10s %12s %12d%n", row.get("bits"), row.get("calibration"),
                    top1 == null ? "-" : String.format("%.2f", top1), fq == null ? "-" : String.format("%.2f", fq),
                    agr == null ? "-" : String.format("%.2f%%", agr),
                    ((Number) row.get("model_bytes")).longValue()));
        }
        sb.append("\nstage seconds:");
        ((Map<String, Double>) r.get("stage_seconds")).forEach((k, v) -> sb.append(String.format("  %s %.1f", k, v)));
        sb.append(String.format("%nwrote %s, model.qop.onnx and model.qdq.onnx (ONNX exports), report.json and report.html%n",
                r.get("output_model")));
        return sb.toString();
    }
}
