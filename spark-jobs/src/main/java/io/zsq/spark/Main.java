package io.zsq.spark;

import io.zsq.core.imports.ModelImportException;
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

              --model M          FP32 model: ONNX (.onnx, BatchNormalization nodes kept) or DL4J MultiLayerNetwork zip (.zip)
              --out DIR          output folder: model.zsq, report.json, calib/ (the synthetic dataset)
              --bits B[,B...]    bit widths, wNaM (weights N, activations M, 2..8), default w8a8; several are all
                                 calibrated and evaluated, the first is written as model.zsq
              --eval DATA        MNIST-format idx folder with t10k-images/labels (.gz or not) to measure top-1 on
              --eval-limit N     evaluate the first N images only (default: all)
              --mean V[,V...]    input preprocessing: pixels / 255, then (x - mean) / std; one value or one per channel (default 0)
              --std V[,V...]     (default 1)
              --observer O       activation range observer: minmax (default) or percentile[:P] (default P 99.99)
              --method M         synthesis: zeroq (BN-statistics matching), zeroq-label (plus cross-entropy towards an
                                 assigned class per sample, default) or gaussian (noise only)
              --count N          synthetic calibration images (default 256)
              --batch N          synthetic images per batch, one Spark task each (default 32)
              --steps N          Adam steps of BN-statistics matching per batch (default 200)
              --lr X             Adam learning rate on the input (default 0.5)
              --seed S           job seed; batch b uses a seed derived from (S, b) (default 1)
              --calib DIR        calibrate on a synthetic dataset made earlier instead of generating one
              --no-gaussian      skip the Gaussian-noise calibration baseline
              --quiet            no progress output

            Spark: runs on local[*] unless a master is set (spark-submit, or -Dspark.master=...).
            Weights: per-channel symmetric; activations: per-tensor asymmetric; BN folded; dyadic requantization.
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
                        case "--count" -> b.count(intArg(a, v));
                        case "--batch" -> b.batch(intArg(a, v));
                        case "--steps" -> b.steps(intArg(a, v));
                        case "--lr" -> b.lr(Double.parseDouble(v));
                        case "--seed" -> b.seed(Long.parseLong(v));
                        case "--calib" -> b.calib(Path.of(v));
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
        sb.append("\nzsq quantize: ").append(r.get("model")).append("  (no real data used for calibration)\n");
        if (r.containsKey("fp32_top1")) {
            sb.append(String.format("evaluated on %s images of %s%n", r.get("eval_images"), r.get("eval_data")));
        }
        sb.append(String.format("%n%-8s %-12s %10s %12s %12s%n", "bits", "calibration", "top-1 %", "agree w/ FQ", "size bytes"));
        if (r.containsKey("fp32_top1")) {
            sb.append(String.format("%-8s %-12s %10.2f %12s %12d%n", "fp32", "-", (Double) r.get("fp32_top1"), "-",
                    ((Number) r.get("fp32_model_bytes")).longValue()));
        }
        for (Map<String, Object> row : (List<Map<String, Object>>) r.get("results")) {
            Double top1 = (Double) row.get("int_top1"), agr = (Double) row.get("agreement_with_fake_quant");
            sb.append(String.format("%-8s %-12s %10s %12s %12d%n", row.get("bits"), row.get("calibration"),
                    top1 == null ? "-" : String.format("%.2f", top1), agr == null ? "-" : String.format("%.2f%%", agr),
                    ((Number) row.get("model_bytes")).longValue()));
        }
        sb.append("\nstage seconds:");
        ((Map<String, Double>) r.get("stage_seconds")).forEach((k, v) -> sb.append(String.format("  %s %.1f", k, v)));
        sb.append(String.format("%nwrote %s and report.json%n", r.get("output_model")));
        return sb.toString();
    }
}
