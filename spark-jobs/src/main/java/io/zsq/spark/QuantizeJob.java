package io.zsq.spark;

import io.zsq.core.data.IdxDataset;
import io.zsq.core.data.Preprocessing;
import io.zsq.core.exec.Fp32Engine;
import io.zsq.core.export.OnnxExport;
import io.zsq.core.imports.ModelImporter;
import io.zsq.core.ir.Graph;
import io.zsq.core.passes.Canonicalize;
import io.zsq.core.passes.Dfq;
import io.zsq.core.passes.GraphPass;
import io.zsq.core.passes.LowerToInteger;
import io.zsq.core.quant.FakeQuant;
import io.zsq.core.quant.QParams;
import io.zsq.core.quant.Scheme;
import io.zsq.ptq.Bits;
import io.zsq.ptq.BnRanges;
import io.zsq.ptq.Calibrator;
import io.zsq.ptq.MixedPrecision;
import io.zsq.ptq.ObserverSpec;
import io.zsq.runtime.IntModel;
import io.zsq.runtime.IntRunner;
import io.zsq.synth.ArrowDataset;
import io.zsq.synth.Generator;
import io.zsq.synth.Seeds;
import io.zsq.synth.SynthConfig;
import java.io.ByteArrayInputStream;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.PrintStream;
import java.io.Serializable;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.stream.IntStream;
import org.apache.spark.SparkConf;
import org.apache.spark.api.java.JavaSparkContext;
import org.apache.spark.broadcast.Broadcast;
import org.apache.spark.sql.SparkSession;

/**
 * Level-1 zero-shot quantization of one model, end to end: import, canonicalize (BN folding,
 * activation fusion), synthesize calibration data by BN-statistics matching (Spark, one task per
 * batch), calibrate on it and, as the lower bound, on Gaussian noise (Spark, merged observers), lower
 * to integer-only models, optionally evaluate on labelled idx data (Spark, one task per chunk), and
 * write {@code model.zsq} and {@code report.json} in the output folder.
 *
 * <pre>{@code
 * Map<String, Object> report = QuantizeJob.builder()
 *     .model(Path.of("src/models/fmnist-resnet.onnx"))
 *     .out(Path.of("out"))
 *     .bits("w8a8")
 *     .eval(Path.of("/usr/share/datasets/fashion-mnist"))
 *     .preprocessing("0.2860", "0.3530")
 *     .build()
 *     .run();
 * }</pre>
 */
public final class QuantizeJob {
    public static final String VERSION = "0.1.0";

    /**
     * The best combination measured (bench/synth-quality.sh: highest mean top-1 over both bundled
     * models, min-max and percentile observers, W8A8/W6A6/W4A8/W4A4).
     */
    public static final String DEFAULT_METHOD = "zeroq+label+di+dsg";

    /**
     * Min-max at 8-bit activations, MSE-optimal clipping below (bench/ptq-bars.sh, 2,000 test images:
     * W4A4 with mse vs min-max 90.15 vs 68.7-78.8 on the ResNet, 91.6 vs 89.8 on the DL4J CNN; at 8 bits
     * min-max is as good or better).
     */
    public static final String DEFAULT_OBSERVER = "auto";

    /** Every option of a quantize run; validated by {@link Builder#build()}. */
    public record Options(Path model, Path out, List<Bits> bits, Path calib, Path eval, int evalLimit, Preprocessing pre,
                          String observer, String method, Path realData, int count, int batch, int steps, double lr, long seed, boolean gaussianBaseline,
                          boolean quiet, Scheme scheme, Map<String, Bits> layerBits, boolean equalize, String biasCorrection,
                          String sizeBudget, String bnRanges, boolean absorbHighBias, String meanText, String stdText)
            implements Serializable {}

    /** Values of {@link Builder#biasCorrection}. */
    public static final List<String> BIAS_CORRECTIONS = List.of("none", "analytical", "empirical", "auto");

    /** Values of {@link Builder#bnRanges}. */
    public static final List<String> BN_RANGES = List.of("off", "on", "auto");

    /** {@code --bn-ranges auto} takes the BatchNorm-statistics ranges for activations of at most this many bits. */
    public static final int BN_RANGES_AUTO_MAX_BITS = 4;

    public static Builder builder() {
        return new Builder();
    }

    /** Builder with defaults: w8a8, auto observer, 256 synthetic images in batches of 32, 200 steps, seed 1. */
    public static final class Builder {
        private Path model, out, calib, eval, realData;
        private List<Bits> bits = List.of(Bits.parse("w8a8"));
        private int evalLimit = 0, count = 256, batch = 32, steps = 200;
        private String mean = "0", std = "1", observer = DEFAULT_OBSERVER, method = DEFAULT_METHOD;
        private double lr = 0.5;
        private long seed = 1;
        private boolean gaussian = true, quiet = false, weightFullRange = false, symmetricActivations = false, equalize = false;
        private boolean absorbHighBias = false;
        private String granularity = "channel", biasCorrection = "none", sizeBudget = null, bnRanges = "auto";
        private Map<String, Bits> layerBits = new LinkedHashMap<>();

        public Builder model(Path p) { this.model = p; return this; }
        public Builder out(Path p) { this.out = p; return this; }
        /** One bit setting ({@code w8a8}) or several, comma-separated; the first is the emitted model. */
        public Builder bits(String b) {
            List<Bits> l = new ArrayList<>();
            for (String s : b.split(",")) {
                l.add(Bits.parse(s));
            }
            this.bits = l;
            return this;
        }
        /** Use a synthetic dataset made earlier (a folder of Arrow batches) instead of generating one. */
        public Builder calib(Path p) { this.calib = p; return this; }
        public Builder eval(Path p) { this.eval = p; return this; }
        public Builder evalLimit(int n) { this.evalLimit = n; return this; }
        public Builder preprocessing(String mean, String std) { this.mean = mean; this.std = std; return this; }
        public Builder observer(String o) { this.observer = o; return this; }
        /** Calibration data method (see {@link io.zsq.synth.SynthConfig#BASE}); default {@link #DEFAULT_METHOD}. */
        public Builder method(String m) { this.method = m; return this; }
        /** For {@code method("real")}: the idx folder whose train split is the (not data-free) upper bound. */
        public Builder realData(Path p) { this.realData = p; return this; }
        public Builder count(int n) { this.count = n; return this; }
        public Builder batch(int n) { this.batch = n; return this; }
        public Builder steps(int n) { this.steps = n; return this; }
        public Builder lr(double v) { this.lr = v; return this; }
        public Builder seed(long s) { this.seed = s; return this; }
        public Builder gaussianBaseline(boolean b) { this.gaussian = b; return this; }
        public Builder quiet(boolean q) { this.quiet = q; return this; }
        /** Weight granularity: {@code channel} (default), {@code tensor} or {@code group:G} (G consecutive output channels share a scale). */
        public Builder weightGranularity(String g) { this.granularity = g; return this; }
        /** Full weight range {@code [-2^(b-1), 2^(b-1)-1]} instead of the restricted, symmetric-around-0 one. */
        public Builder weightFullRange(boolean f) { this.weightFullRange = f; return this; }
        /** Symmetric activations (zero point 0) for tensors that go negative; non-negative ones stay unsigned. */
        public Builder symmetricActivations(boolean s) { this.symmetricActivations = s; return this; }
        /** Per-layer bit widths: {@code id=wNaM[,id=wNaM...]} (ids as in report.json's layers). */
        public Builder layerBits(String spec) {
            Map<String, Bits> m = new LinkedHashMap<>();
            for (String part : spec.split(",")) {
                int eq = part.lastIndexOf('=');
                if (eq <= 0) {
                    throw new IllegalArgumentException("--layer-bits takes id=wNaM[,id=wNaM...], not '" + part + "'");
                }
                m.put(part.substring(0, eq).trim(), Bits.parse(part.substring(eq + 1)));
            }
            this.layerBits = m;
            return this;
        }
        /**
         * Mixed-precision weights: per-layer bit widths (2..8) minimizing the summed ZeroQ sensitivity under
         * this weight size: bytes ({@code 42000}) or a ratio of the int8 weights ({@code 0.5x}, {@code 50%}).
         */
        public Builder sizeBudget(String b) { this.sizeBudget = b; return this; }
        /** Cross-layer equalization (DFQ) before calibration. */
        public Builder equalize(boolean e) { this.equalize = e; return this; }
        /** High-bias absorption (DFQ) after equalization: ReLU layers hand {@code max(0, beta - 3 gamma)} to the next layer's bias. */
        public Builder absorbHighBias(boolean a) { this.absorbHighBias = a; return this; }
        /** Bias correction: none, analytical (BN statistics), empirical (synthetic data), auto (analytical where possible, else empirical). */
        public Builder biasCorrection(String b) { this.biasCorrection = b; return this; }
        /**
         * Activation ranges of layers with folded BatchNorm statistics from those statistics ({@link BnRanges}) instead of the
         * calibration data: {@code on}, {@code off}, or {@code auto} (default: for activations of at most 4 bits).
         */
        public Builder bnRanges(String b) { this.bnRanges = b; return this; }

        public QuantizeJob build() {
            if (model == null) {
                throw new IllegalArgumentException("--model is required");
            }
            if (out == null) {
                throw new IllegalArgumentException("--out is required");
            }
            ObserverSpec.parse(observer);
            new SynthConfig(method, count, batch, steps, lr, seed);
            if (!BIAS_CORRECTIONS.contains(biasCorrection)) {
                throw new IllegalArgumentException("--bias-correction must be one of " + BIAS_CORRECTIONS + ", not '" + biasCorrection + "'");
            }
            if (!BN_RANGES.contains(bnRanges)) {
                throw new IllegalArgumentException("--bn-ranges must be one of " + BN_RANGES + ", not '" + bnRanges + "'");
            }
            Scheme scheme = new Scheme(bits.get(0).weights(), bits.get(0).activations(), Scheme.parseGranularity(granularity),
                    weightFullRange, symmetricActivations, Map.of(), Map.of());
            return new QuantizeJob(new Options(model, out, bits, calib, eval, evalLimit, Preprocessing.parse(mean, std), observer,
                    method, realData, count, batch, steps, lr, seed, gaussian, quiet, scheme, layerBits, equalize, biasCorrection, sizeBudget, bnRanges, absorbHighBias, mean, std));
        }
    }

    private final Options o;
    private final Map<String, Double> stages = new LinkedHashMap<>();
    private final PrintStream log;

    private QuantizeJob(Options o) {
        this.o = o;
        this.log = o.quiet() ? new PrintStream(PrintStream.nullOutputStream()) : System.err;
    }

    /** Runs with the active Spark session if there is one (spark-submit), else a local[*] one it stops after. */
    public Map<String, Object> run() throws IOException {
        return withSpark("zsq quantize", null, this::run);
    }

    /** A Spark action that may fail with an IOException. */
    @FunctionalInterface
    interface SparkWork<T> {
        T apply(JavaSparkContext jsc) throws IOException;
    }

    /**
     * Runs {@code work} on the active Spark session (spark-submit) or on a new local one ({@code
     * local[threads]}, or {@code local[*]} when threads is null) that is stopped afterwards.
     */
    static <T> T withSpark(String app, Integer threads, SparkWork<T> work) throws IOException {
        SparkSession active = SparkSession.getActiveSession().isDefined() ? SparkSession.getActiveSession().get() : null;
        SparkConf conf = new SparkConf().setIfMissing("spark.master", threads == null ? "local[*]" : "local[" + threads + "]")
                .setIfMissing("spark.app.name", app).setIfMissing("spark.ui.enabled", "false")
                .setIfMissing("spark.executorEnv.OMP_NUM_THREADS", "1");
        if (conf.get("spark.master").startsWith("local")) {
            conf.setIfMissing("spark.driver.host", "127.0.0.1").setIfMissing("spark.driver.bindAddress", "127.0.0.1");
        }
        SparkSession spark = active != null ? active : SparkSession.builder().config(conf).getOrCreate();
        try {
            return work.apply(new JavaSparkContext(spark.sparkContext()));
        } finally {
            if (active == null) {
                spark.stop();
            }
        }
    }

    private long t0;

    private void start(String stage) {
        t0 = System.nanoTime();
        log.println("zsq: " + stage + " ...");
    }

    private void end(String stage) {
        stages.put(stage, (System.nanoTime() - t0) / 1e9);
    }

    private final Map<String, Object> report0 = new LinkedHashMap<>();

    @SuppressWarnings("unchecked")
    public Map<String, Object> run(JavaSparkContext jsc) throws IOException {
        Files.createDirectories(o.out());
        start("import");
        Graph graph = ModelImporter.load(o.model());
        String hash = ModelImporter.sha256(o.model());
        end("import");

        start("canonicalize");
        List<String> passReports = new ArrayList<>();
        Graph canonical = Canonicalize.run(graph, passReports);
        if (o.equalize()) {
            GraphPass.Result eq = Dfq.equalize(canonical);
            canonical = eq.graph();
            passReports.add("cross-layer-equalization: " + eq.report());
        }
        if (o.absorbHighBias()) {
            GraphPass.Result hb = Dfq.absorbHighBias(canonical);
            canonical = hb.graph();
            passReports.add("high-bias-absorption: " + hb.report());
        }
        Scheme base = o.scheme().withLayerBits(weightBitsOf(o.layerBits()), activationBitsOf(o.layerBits()));
        base.checkLayers(canonical);
        end("canonicalize");

        Broadcast<Graph> bGraph = jsc.broadcast(graph);
        Broadcast<Graph> bCanon = jsc.broadcast(canonical);
        report0.put("scheme", describe(base));
        ObserverSpec spec = ObserverSpec.parse(o.observer());
        float[][] inputRange = o.pre().inputRange(graph.inputShape()[0]);
        SynthConfig cfg = new SynthConfig(o.method(), o.count(), o.batch(), o.steps(), o.lr(), o.seed(), inputRange[0], inputRange[1]);

        Path calibDir = o.calib() != null ? o.calib() : o.out().resolve("calib");
        Map<String, Object> synthReport = new LinkedHashMap<>();
        if (o.calib() == null) {
            start("synthesize");
            synthReport = SynthJob.run(jsc, bGraph, cfg, calibDir, o.realData(), o.pre(), o.quiet());
            end("synthesize");
        } else {
            synthReport.put("dataset", calibDir.toString());
            synthReport.put("generated", false);
        }

        start("calibrate");
        List<Path> files = ArrowDataset.batches(calibDir);
        if (files.isEmpty()) {
            throw new IOException(calibDir + ": no synthetic batches (batch-NNNNN.arrow)");
        }
        List<String> paths = files.stream().map(Path::toString).toList();
        Map<String, ObserverSpec.Accumulator> synthAcc = jsc.parallelize(paths, paths.size())
                .map(p -> {
                    ArrowDataset.Read r = ArrowDataset.read(Path.of(p));
                    return Calibrator.observe(bCanon.value(), spec, r.images(), r.size());
                }).reduce(Calibrator::merge);
        Map<String, float[]> empiricalMeans = null;
        if (o.biasCorrection().equals("empirical") || o.biasCorrection().equals("auto")) {
            empiricalMeans = jsc.parallelize(paths, paths.size()).map(p -> {
                ArrowDataset.Read r = ArrowDataset.read(Path.of(p));
                return Dfq.Means.observe(bCanon.value(), r.images(), r.size());
            }).reduce(Dfq.Means::merge).means();
        }
        if (o.sizeBudget() != null) {
            long budget = MixedPrecision.parseBudgetBits(o.sizeBudget(), canonical);
            Scheme forSens = base;
            MixedPrecision.Sensitivity sens = jsc.parallelize(paths, paths.size()).map(p -> {
                ArrowDataset.Read r = ArrowDataset.read(Path.of(p));
                return MixedPrecision.measure(bCanon.value(), forSens, r.images(), r.size());
            }).reduce(MixedPrecision.Sensitivity::merge);
            List<MixedPrecision.Choice> front = MixedPrecision.frontier(canonical, sens, budget);
            MixedPrecision.Choice pick = front.get(front.size() - 1);
            Map<String, Integer> wb = new LinkedHashMap<>(pick.bits());
            wb.putAll(base.layerWeightBits()); // explicit --layer-bits win
            base = base.withLayerBits(wb, base.layerActivationBits());
            report0.put("mixed_precision", mixedReport(canonical, sens, front, pick, budget));
            log.printf("zsq: mixed precision: %d weight bytes (budget %d, int8 %d): %s%n", pick.weightBytes(), budget / 8,
                    MixedPrecision.uniformBits(canonical, 8) / 8, pick.bits().values());
        }
        Map<String, ObserverSpec.Accumulator> bnAcc = o.bnRanges().equals("off") ? Map.of() : BnRanges.observe(canonical, spec);
        Map<String, ObserverSpec.Accumulator> gaussAcc = null;
        if (o.gaussianBaseline()) {
            SynthConfig g = cfg.withMethod("gaussian");
            gaussAcc = jsc.parallelize(range(g.batches()), g.batches())
                    .map(b -> {
                        Generator.Batch gb = Generator.generate(bGraph.value(), g, b, null);
                        return Calibrator.observe(bCanon.value(), spec, gb.images(), gb.size());
                    }).reduce(Calibrator::merge);
        }
        end("calibrate");

        start("lower");
        Map<String, String> prov = provenance(hash, passReports);
        List<Variant> variants = new ArrayList<>();
        for (Bits b : o.bits()) {
            Scheme scheme = base.withBits(b.weights(), b.activations());
            Graph g = corrected(canonical, scheme, empiricalMeans, passReports, b == o.bits().get(0));
            variants.add(variant(g, synthAcc, bnAcc, scheme, b, o.method().equals("real") ? "real" : "synthetic", prov, inputRange));
            if (gaussAcc != null) {
                variants.add(variant(g, gaussAcc, bnAcc, scheme, b, "gaussian", prov, inputRange));
            }
        }
        Path modelFile = o.out().resolve("model.zsq");
        variants.get(0).model().save(modelFile);
        Map<String, Object> exports = new LinkedHashMap<>();
        for (OnnxExport.Form f : OnnxExport.Form.values()) {
            Path p = o.out().resolve(f == OnnxExport.Form.QOPERATOR ? "model.qop.onnx" : "model.qdq.onnx");
            OnnxExport.write(variants.get(0).model(), f, p);
            exports.put(f.name().toLowerCase(java.util.Locale.ROOT), Map.of("file", p.toString(), "bytes", Files.size(p),
                    "opsets", "ai.onnx " + OnnxExport.OPSET + ", " + OnnxExport.MS + " 1"));
        }
        report0.put("onnx_exports", exports);
        end("lower");

        Map<String, Object> report = new LinkedHashMap<>();
        report.put("tool", "zsq " + VERSION);
        report.put("model", o.model().toString());
        report.put("model_sha256", hash);
        report.put("real_data_used_for_calibration", o.method().equals("real"));
        report.put("passes", passReports);
        report.put("observer", spec.name());
        report.putAll(report0);
        report.put("equalization", o.equalize());
        report.put("high_bias_absorption", o.absorbHighBias());
        report.put("bias_correction", o.biasCorrection());
        report.put("bn_ranges", o.bnRanges());
        report.put("synthesis", synthReport);
        report.put("fp32_parameters", canonical.parameterCount());
        report.put("fp32_model_bytes", Files.size(o.model()));
        report.put("output_model", modelFile.toString());
        report.put("output_model_bytes", Files.size(modelFile));

        List<Map<String, Object>> rows = new ArrayList<>();
        if (o.eval() != null) {
            start("evaluate");
            long[] counts = evaluate(jsc, bGraph, bCanon, variants);
            end("evaluate");
            int n = (int) counts[0];
            report.put("eval_data", o.eval().toString());
            report.put("eval_images", n);
            report.put("preprocessing", o.pre().toString());
            report.put("fp32_top1", 100.0 * counts[1] / n);
            for (int v = 0; v < variants.size(); v++) {
                rows.add(row(variants.get(v), 100.0 * counts[2 + 3 * v] / n, 100.0 * counts[3 + 3 * v] / n, 100.0 * counts[4 + 3 * v] / n));
            }
            start("check-onnx");
            checkExports(variants.get(0).model(), exports);
            end("check-onnx");
        } else {
            for (Variant v : variants) {
                rows.add(row(v, null, null, null));
            }
        }
        report.put("results", rows);
        report.put("stage_seconds", stages);
        Variant first = variants.get(0);
        ArrowDataset.Read sample = ArrowDataset.read(files.get(0));
        List<HtmlReport.LayerRow> layerRows = HtmlReport.layers(first.graph(), first.scheme(), first.points(), sample.images(), sample.size(),
                (Map<String, Object>) report.get("mixed_precision"));
        List<Map<String, Object>> layerJson = new ArrayList<>();
        for (HtmlReport.LayerRow lr : layerRows) {
            Map<String, Object> m = new LinkedHashMap<>();
            m.put("id", lr.id());
            m.put("op", lr.op());
            boolean weighted = !Double.isNaN(lr.weightSqnr()); // ADD has no weights
            m.put("weight_bits", weighted ? lr.weightBits() : null);
            m.put("weight_sqnr_db", weighted ? lr.weightSqnr() : null);
            m.put("output_range", List.of(lr.lo(), lr.hi()));
            m.put("range_source", first.bnRanged().contains(lr.output()) ? "batchnorm statistics" : "calibration data");
            m.put("activation_bits", lr.activationBits());
            m.put("activation_sqnr_db", lr.activationSqnr());
            m.put("sensitivity", lr.sensitivity());
            layerJson.add(m);
        }
        report.put("layers", layerJson);
        HtmlReport.write(o.out(), report, layerRows, first.bits() + (first.scheme().layerWeightBits().isEmpty() ? "" : " (mixed weights)"));
        Path json = o.out().resolve("report.json");
        Path tmp = o.out().resolve("report.json.tmp");
        Files.writeString(tmp, Json.write(report));
        Files.move(tmp, json, StandardCopyOption.REPLACE_EXISTING, StandardCopyOption.ATOMIC_MOVE);
        return report;
    }

    private Map<String, Object> row(Variant v, Double top1, Double agreement, Double fakeQuantTop1) {
        Map<String, Object> r = new LinkedHashMap<>();
        r.put("bits", v.bits().toString());
        r.put("calibration", v.source());
        r.put("int_top1", top1);
        r.put("agreement_with_fake_quant", agreement);
        r.put("fake_quant_top1", fakeQuantTop1);
        r.put("model_bytes", (long) v.bytes().length);
        if (!v.scheme().layerWeightBits().isEmpty()) {
            r.put("layer_weight_bits", v.scheme().layerWeightBits());
        }
        return r;
    }

    private Map<String, String> provenance(String hash, List<String> passes) {
        Map<String, String> m = new LinkedHashMap<>();
        m.put("zsq.version", VERSION);
        m.put("source.model", o.model().getFileName().toString());
        m.put("source.sha256", hash);
        m.put("calibration.data", o.method().equals("real") ? "REAL images from " + o.realData() + " (upper bound; not data-free)"
                : "synthetic (" + o.method() + "); no real data read");
        m.put("calibration.observer", o.observer());
        m.put("dfq", "equalize=" + o.equalize() + " absorb-high-bias=" + o.absorbHighBias() + " bias-correction=" + o.biasCorrection());
        m.put("calibration.bnRanges", o.bnRanges());
        // what the float input must go through before quantization (zsq run reads it back)
        m.put("input.mean", o.meanText());
        m.put("input.std", o.stdText());
        m.put("synthesis", "count=" + o.count() + " batch=" + o.batch() + " steps=" + o.steps() + " lr=" + o.lr() + " seed=" + o.seed());
        m.put("passes", String.join("; ", passes));
        return m;
    }

    /** One lowered model: bits, calibration source, activation parameters, serialized bytes. */
    record Variant(Bits bits, String source, Graph graph, Scheme scheme, Map<String, QParams> points, Set<String> bnRanged, byte[] bytes)
            implements Serializable {
        IntModel model() {
            try {
                return IntModel.read(new ByteArrayInputStream(bytes));
            } catch (IOException e) {
                throw new UncheckedIOException(e);
            }
        }
    }

    private Variant variant(Graph canonical, Map<String, ObserverSpec.Accumulator> data, Map<String, ObserverSpec.Accumulator> bn,
                            Scheme scheme, Bits bits, String source, Map<String, String> prov, float[][] inputRange) throws IOException {
        Map<String, ObserverSpec.Accumulator> acc = new LinkedHashMap<>(data);
        Set<String> bnRanged = new LinkedHashSet<>();
        for (Map.Entry<String, ObserverSpec.Accumulator> e : bn.entrySet()) {
            if (o.bnRanges().equals("on")
                    || o.bnRanges().equals("auto") && scheme.activationBits(canonical, e.getKey()) <= BN_RANGES_AUTO_MAX_BITS) {
                acc.put(e.getKey(), e.getValue());
                bnRanged.add(e.getKey());
            }
        }
        Map<String, QParams> points = Calibrator.finish(acc, canonical, scheme);
        // the input's range is known from the preprocessing (pixels 0..1), not estimated from samples
        double lo = Double.MAX_VALUE, hi = -Double.MAX_VALUE;
        for (int c = 0; c < inputRange[0].length; c++) {
            lo = Math.min(lo, inputRange[0][c]);
            hi = Math.max(hi, inputRange[1][c]);
        }
        points.put(canonical.input(), scheme.activation(lo, hi, bits.activations()));
        Map<String, String> meta = new LinkedHashMap<>(prov);
        meta.put("calibration.source", source);
        if (source.equals("gaussian")) {
            meta.put("calibration.data", "Gaussian noise N(0,1) clamped to the valid input range (baseline)");
        }
        IntModel m = LowerToInteger.lower(canonical, points, scheme, meta);
        ByteArrayOutputStream bo = new ByteArrayOutputStream();
        m.write(bo);
        return new Variant(bits, source, canonical, scheme, points, bnRanged, bo.toByteArray());
    }

    /**
     * Runs both ONNX exports of the written model in ONNX Runtime (on the driver) over the evaluation
     * images and records, per form, the argmax agreement with zsq-runtime and the largest output
     * difference in quantization steps.
     */
    private void checkExports(IntModel m, Map<String, Object> exports) throws IOException {
        try {
            checkExportsInOrt(m, exports);
        } catch (ai.onnxruntime.OrtException | InterruptedException e) {
            throw new IOException("checking the ONNX exports in ONNX Runtime: " + e.getMessage(), e);
        }
    }

    private void checkExportsInOrt(IntModel m, Map<String, Object> exports) throws ai.onnxruntime.OrtException, InterruptedException {
        IdxDataset data = IdxDataset.load(o.eval(), "t10k", o.evalLimit());
        QParams qi = LowerToInteger.tensorQuantization(m, m.inputName()), qo = LowerToInteger.tensorQuantization(m, m.outputName());
        int[] in = m.inputShape();
        IntRunner runner = new IntRunner(m);
        ai.onnxruntime.OrtEnvironment env = Bench.ortEnvironment();
        for (Map.Entry<String, Object> e : exports.entrySet()) {
            @SuppressWarnings("unchecked")
            Map<String, Object> info = new LinkedHashMap<>((Map<String, Object>) e.getValue());
            int agree = 0, beyond = 0;
            double worst = 0;
            try (ai.onnxruntime.OrtSession s = env.createSession((String) info.get("file"), new ai.onnxruntime.OrtSession.SessionOptions())) {
                for (int from = 0; from < data.count(); from += 500) {
                    int n = Math.min(500, data.count() - from);
                    float[] x = data.batch(from, n, o.pre());
                    byte[][] ours = runner.runBatch(FakeQuant.quantizeInput(x, n, qi), Runtime.getRuntime().availableProcessors());
                    float[][] ort;
                    try (ai.onnxruntime.OnnxTensor t = ai.onnxruntime.OnnxTensor.createTensor(env, java.nio.FloatBuffer.wrap(x),
                            new long[] {n, in[0], in[1], in[2]}); ai.onnxruntime.OrtSession.Result r = s.run(Map.of(s.getInputNames().iterator().next(), t))) {
                        ort = (float[][]) r.get(0).getValue();
                    }
                    for (int i = 0; i < n; i++) {
                        int a = 0;
                        for (int j = 0; j < ort[i].length; j++) {
                            double d = Math.abs(ort[i][j] - qo.dequantize(ours[i][j])) / qo.scale();
                            worst = Math.max(worst, d);
                            beyond += d > 1.001 ? 1 : 0;
                            a = ort[i][j] > ort[i][a] ? j : a;
                        }
                        agree += a == IntRunner.argmax(ours[i]) ? 1 : 0;
                    }
                }
            }
            info.put("onnxruntime_argmax_agreement_with_zsq_runtime", 100.0 * agree / data.count());
            info.put("onnxruntime_max_output_difference_steps", worst);
            info.put("onnxruntime_outputs_beyond_one_step", beyond);
            exports.put(e.getKey(), info);
            log.printf("zsq: %s export in ONNX Runtime: argmax agreement with zsq-runtime %.2f%% on %d images, outputs within %.2f steps"
                    + " (%d values beyond one step)%n", e.getKey(), 100.0 * agree / data.count(), data.count(), worst, beyond);
        }
    }

    /** counts: [images, fp32 correct, then per variant: int correct, int == fake-quant argmax, fake-quant correct]. */
    private long[] evaluate(JavaSparkContext jsc, Broadcast<Graph> bGraph, Broadcast<Graph> bCanon, List<Variant> variants) {
        IdxDataset data = IdxDataset.load(o.eval(), "t10k", o.evalLimit());
        Broadcast<IdxDataset> bData = jsc.broadcast(data);
        Broadcast<List<Variant>> bVar = jsc.broadcast(variants);
        Preprocessing pre = o.pre();
        int chunk = 250;
        int chunks = (data.count() + chunk - 1) / chunk;
        boolean quiet = o.quiet();
        return jsc.parallelize(range(chunks), Math.min(chunks, 2 * jsc.defaultParallelism())).map(c -> {
            if (!quiet) {
                System.err.printf("zsq: evaluate images %d-%d of %d%n", c * chunk + 1, Math.min((c + 1) * chunk, bData.value().count()),
                        bData.value().count());
            }
            IdxDataset d = bData.value();
            int from = c * chunk, n = Math.min(chunk, d.count() - from);
            float[] x = d.batch(from, n, pre);
            List<Variant> vs = bVar.value();
            long[] k = new long[2 + 3 * vs.size()];
            k[0] = n;
            int[] fp = argmax(Fp32Engine.run(bGraph.value(), x, n), n);
            for (int i = 0; i < n; i++) {
                k[1] += fp[i] == d.labels()[from + i] ? 1 : 0;
            }
            for (int v = 0; v < vs.size(); v++) {
                Variant var = vs.get(v);
                IntRunner runner = new IntRunner(var.model());
                byte[][] q = FakeQuant.quantizeInput(x, n, var.points().get(var.graph().input()));
                int[] sim = argmax(FakeQuant.of(var.graph(), var.points(), var.scheme()).run(x, n), n);
                for (int i = 0; i < n; i++) {
                    int p = IntRunner.argmax(runner.run(q[i]));
                    k[2 + 3 * v] += p == d.labels()[from + i] ? 1 : 0;
                    k[3 + 3 * v] += p == sim[i] ? 1 : 0;
                    k[4 + 3 * v] += sim[i] == d.labels()[from + i] ? 1 : 0;
                }
            }
            return k;
        }).reduce((a, b) -> {
            long[] s = a.clone();
            for (int i = 0; i < s.length; i++) {
                s[i] += b[i];
            }
            return s;
        });
    }

    /** The canonical graph with this variant's bias correction applied (reported once, for the first bit setting). */
    private Graph corrected(Graph canonical, Scheme scheme, Map<String, float[]> empirical, List<String> reports, boolean report) {
        String bc = o.biasCorrection();
        if (bc.equals("none")) {
            return canonical;
        }
        Map<String, float[]> means = new LinkedHashMap<>();
        if (bc.equals("empirical") || bc.equals("auto")) {
            means.putAll(empirical);
        }
        if (bc.equals("analytical") || bc.equals("auto")) {
            means.putAll(Dfq.analyticalMeans(canonical)); // analytical wins where both exist
        }
        GraphPass.Result r = Dfq.correctBias(canonical, scheme, means, bc);
        if (report) {
            reports.add("bias-correction: " + r.report());
        }
        return r.graph();
    }

    private static Map<String, Object> mixedReport(Graph g, MixedPrecision.Sensitivity sens, List<MixedPrecision.Choice> front,
                                                   MixedPrecision.Choice pick, long budgetBits) {
        Map<String, Object> m = new LinkedHashMap<>();
        m.put("method", "ZeroQ sensitivity (KL of the output with one layer's weights at b bits), Pareto choice under the budget");
        m.put("budget_weight_bytes", budgetBits / 8);
        m.put("int8_weight_bytes", MixedPrecision.uniformBits(g, 8) / 8);
        m.put("chosen_weight_bytes", pick.weightBytes());
        m.put("chosen_sensitivity", pick.sensitivity());
        m.put("weight_bits", pick.bits());
        Map<String, Object> s = new LinkedHashMap<>();
        for (int i = 0; i < sens.layers().size(); i++) {
            Map<String, Double> byBits = new LinkedHashMap<>();
            for (int j = 0; j < MixedPrecision.CANDIDATES.length; j++) {
                byBits.put(Integer.toString(MixedPrecision.CANDIDATES[j]), sens.mean(i, j));
            }
            s.put(sens.layers().get(i), byBits);
        }
        m.put("sensitivity", s);
        List<List<Double>> f = new ArrayList<>();
        int step = Math.max(1, front.size() / 200);
        for (int i = 0; i < front.size(); i += step) {
            f.add(List.of((double) front.get(i).weightBytes(), front.get(i).sensitivity()));
        }
        m.put("frontier_bytes_sensitivity", f);
        return m;
    }

    private static Map<String, Integer> weightBitsOf(Map<String, Bits> m) {
        Map<String, Integer> r = new LinkedHashMap<>();
        m.forEach((k, v) -> r.put(k, v.weights()));
        return r;
    }

    private static Map<String, Integer> activationBitsOf(Map<String, Bits> m) {
        Map<String, Integer> r = new LinkedHashMap<>();
        m.forEach((k, v) -> r.put(k, v.activations()));
        return r;
    }

    private static Map<String, Object> describe(Scheme s) {
        Map<String, Object> m = new LinkedHashMap<>();
        m.put("weight_granularity", s.granularityName());
        m.put("weight_range", s.weightFullRange() ? "full" : "restricted");
        m.put("weights", "symmetric");
        m.put("activations", s.activationSymmetric() ? "symmetric (unsigned when non-negative)" : "asymmetric");
        if (!s.layerWeightBits().isEmpty()) {
            m.put("layer_weight_bits", s.layerWeightBits());
            m.put("layer_activation_bits", s.layerActivationBits());
        }
        return m;
    }

    static int[] argmax(float[] logits, int n) {
        int classes = logits.length / n;
        int[] r = new int[n];
        for (int i = 0; i < n; i++) {
            int best = 0;
            for (int j = 1; j < classes; j++) {
                if (logits[i * classes + j] > logits[i * classes + best]) {
                    best = j;
                }
            }
            r[i] = best;
        }
        return r;
    }

    private static List<Integer> range(int n) {
        return IntStream.range(0, n).boxed().toList();
    }

    public Map<String, Double> stages() {
        return stages;
    }
}
