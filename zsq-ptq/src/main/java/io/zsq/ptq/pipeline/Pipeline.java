package io.zsq.ptq.pipeline;

import io.zsq.core.data.ImageTransform;
import io.zsq.core.data.LabeledImages;
import io.zsq.core.data.Preprocessing;
import io.zsq.core.export.OnnxExport;
import io.zsq.core.imports.ModelImporter;
import io.zsq.core.ir.Graph;
import io.zsq.core.passes.AbsorbHighBias;
import io.zsq.core.passes.BiasCorrection;
import io.zsq.core.passes.Canonicalize;
import io.zsq.core.passes.CorrectBias;
import io.zsq.core.passes.Equalize;
import io.zsq.core.passes.Lower;
import io.zsq.core.passes.ModelState;
import io.zsq.core.passes.Pass;
import io.zsq.core.passes.PassRunner;
import io.zsq.core.passes.StatRequest;
import io.zsq.core.passes.Stats;
import io.zsq.core.quant.Scheme;
import io.zsq.ptq.Bits;
import io.zsq.ptq.ObserverSpec;
import io.zsq.synth.DatasetManifest;
import io.zsq.synth.DatasetSpec;
import io.zsq.synth.Method;
import io.zsq.synth.SynthConfig;
import java.io.IOException;
import java.io.PrintStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.stream.Stream;

/**
 * Level-1 zero-shot quantization of one model, as a library: the {@link Plan} run as passes over the
 * IR, with batch work handed to an {@link Executor} (threads in this JVM, or Spark). Import; the
 * data-free passes (fold BN, fuse activations, equalize, absorb high bias); the calibration dataset
 * (synthesized into {@code out/calib}, resumed, or given); one pass over it for every statistic the
 * later passes and the report ask for (and one over Gaussian noise, the lower bound); per bit setting:
 * bias correction, quantizer placement, lowering; the written model and its ONNX exports; optionally
 * evaluation on labelled data and the exports checked in ONNX Runtime; {@code report.json} and
 * {@code report.html}.
 *
 * <pre>{@code
 * QuantizeReport r = Pipeline.run(Plan.builder()
 *     .model(Path.of("src/models/fmnist-resnet.onnx")).out(Path.of("out"))
 *     .eval(Path.of("/usr/share/datasets/fashion-mnist")).preprocessing("0.2860", "0.3530")
 *     .build());
 * }</pre>
 */
public final class Pipeline {
    public static final String VERSION = "0.1.0";

    private final Plan plan;
    private final Executor ex;
    private final PrintStream log;
    private final Map<String, Double> stages = new LinkedHashMap<>();
    private long t0;

    private Pipeline(Plan plan, Executor ex) {
        this.plan = plan;
        this.ex = ex;
        this.log = plan.quiet() ? new PrintStream(PrintStream.nullOutputStream()) : System.err;
    }

    /** Runs in this JVM, on one thread per processor. */
    public static QuantizeReport run(Plan plan) throws IOException {
        return run(plan, new InProcessExecutor());
    }

    public static QuantizeReport run(Plan plan, Executor ex) throws IOException {
        Path out = plan.out();
        if (Files.exists(out) && !Files.isDirectory(out)) {
            throw new IllegalArgumentException("--out " + out + ": exists and is a file, not a folder");
        }
        boolean created = !Files.exists(out);
        try {
            return new Pipeline(plan, ex).execute();
        } catch (IOException | RuntimeException | Error e) {
            if (created) {
                removeIfNothingKept(out);
            }
            throw e;
        }
    }

    /**
     * The calibration dataset alone ({@code zsq synth}): synthesized into {@code dir} (resumed when it holds
     * batches made with the same settings), with its manifest; the report also goes to {@code dir/synth.json}.
     */
    public static QuantizeReport.SynthesisReport synthesize(Path model, Path dir, Plan.Normalization input, Plan.Synthesize syn, Executor ex,
                                                            boolean quiet) throws IOException {
        return synthesize(model, null, dir, input, syn, ex, quiet);
    }

    /** As above, for a model of dynamic input size: {@code shape} ({@code 3x48x192}) fixes it; null for the model's own. */
    public static QuantizeReport.SynthesisReport synthesize(Path model, Plan.InputShape shape, Path dir, Plan.Normalization input,
                                                            Plan.Synthesize syn, Executor ex, boolean quiet) throws IOException {
        return synthesize(model, shape, dir, input, syn, ex, quiet, Plan.Device.CPU);
    }

    /** As above, the images optimized on {@code device}'s engine. */
    public static QuantizeReport.SynthesisReport synthesize(Path model, Plan.InputShape shape, Path dir, Plan.Normalization input,
                                                            Plan.Synthesize syn, Executor ex, boolean quiet, Plan.Device device) throws IOException {
        if (Files.exists(dir) && !Files.isDirectory(dir)) {
            throw new IllegalArgumentException("--out " + dir + ": exists and is a file, not a folder");
        }
        Graph graph = ModelImporter.load(model, Plan.InputShape.arrayOrNull(shape));
        Preprocessing pre = input.preprocessing();
        SynthConfig cfg = syn.config(pre.inputRange(graph.inputShape()[0]));
        LabeledImages real = realImages(syn, graph);
        boolean created = !Files.exists(dir);
        try {
            QuantizeReport.SynthesisReport r = Synthesis.run(ex, graph, cfg, DatasetSpec.of(ModelImporter.sha256(model), graph.inputShape(),
                    pre, cfg, syn.realData()), dir, real, pre, quiet, device);
            Json.write(r, dir.resolve("synth.json"));
            return r;
        } catch (IOException | RuntimeException | Error e) {
            if (created) {
                removeIfNothingKept(dir);
            }
            throw e;
        }
    }

    private void start(String stage) {
        t0 = System.nanoTime();
        log.println("zsq: " + stage + " ...");
    }

    private void end(String stage) {
        stages.put(stage, (System.nanoTime() - t0) / 1e9);
    }

    private QuantizeReport execute() throws IOException {
        Preprocessing pre = plan.input().preprocessing();
        start("import");
        Graph graph = ModelImporter.load(plan.model(), Plan.InputShape.arrayOrNull(plan.inputShape()));
        String hash = ModelImporter.sha256(plan.model());
        end("import");

        // every input is checked before anything is written
        LabeledImages evalData = plan.eval() == null ? null : LabeledImages.read(plan.eval().data(), LabeledImages.Split.TEST,
                plan.eval().limit(), plan.eval().transform(), graph.inputShape());
        if (evalData != null) {
            checkLabels(evalData, plan.eval().data(), graph);
        }
        Plan.Synthesize syn = plan.synthesis();
        float[][] inputRange = pre.inputRange(graph.inputShape()[0]);
        SynthConfig cfg = syn.config(inputRange);
        DatasetSpec want = DatasetSpec.of(hash, graph.inputShape(), pre, cfg, syn.realData());
        DatasetManifest given = null;
        if (plan.calibDataset() != null) {
            given = DatasetManifest.read(plan.calibDataset());
            String mismatch = want.calibrationMismatch(given.spec());
            if (mismatch != null) {
                throw new IllegalArgumentException("--calib " + plan.calibDataset() + ": the dataset was made for another model or input: "
                        + mismatch + "; make one for this model with zsq synth, or leave --calib out");
            }
        }
        LabeledImages real = plan.calibDataset() == null ? realImages(syn, graph) : null;

        start("canonicalize");
        PassRunner runner = new PassRunner();
        List<Pass<?>> dataFree = new ArrayList<>(Canonicalize.passes());
        if (plan.equalize()) {
            dataFree.add(new Equalize());
        }
        if (plan.absorbHighBias()) {
            dataFree.add(new AbsorbHighBias());
        }
        ModelState canonical;
        Scheme base = plan.scheme();
        try {
            canonical = runner.runAll(dataFree, ModelState.of(graph));
            base.checkLayers(canonical.graph());
        } catch (IllegalArgumentException e) {
            throw new IllegalArgumentException(plan.model() + ": " + e.getMessage(), e);
        }
        end("canonicalize");
        Files.createDirectories(plan.out()); // every input checked: from here on the run writes

        Path calibDir;
        QuantizeReport.SynthesisReport synthReport;
        if (given == null) {
            start("synthesize");
            calibDir = plan.out().resolve("calib");
            synthReport = Synthesis.run(ex, graph, cfg, want, calibDir, real, pre, plan.quiet(), plan.device());
            given = DatasetManifest.read(calibDir);
            end("synthesize");
        } else {
            calibDir = plan.calibDataset();
            synthReport = new QuantizeReport.SynthesisReport(given.spec().method(), calibDir, false, given.spec(), given.batches().size(),
                    null, null, null, null, null, null, null, null, null, null, null);
        }
        boolean realData = given.spec().method().equals("real");

        start("calibrate");
        ObserverSpec spec = plan.observer().spec();
        PlaceQuantizers placement = new PlaceQuantizers(base, spec, plan.bnRanges(), inputRange[0], inputRange[1]);
        MixedPrecisionStep mixed = plan.sizeBudget() == null ? null : new MixedPrecisionStep(base, plan.sizeBudget());
        List<StatRequest<?>> requests = new ArrayList<>(placement.statistics(canonical));
        if (plan.biasCorrection() != BiasCorrection.NONE) {
            requests.addAll(new CorrectBias(base, plan.biasCorrection()).statistics(canonical));
        }
        if (mixed != null) {
            requests.add(mixed.request());
        }
        requests.add(new Requests.FirstBatch());
        Stats stats = Observation.observe(ex, "calibrate", canonical.graph(), requests,
                Sources.Manifested.of(calibDir, given, graph));
        QuantizeReport.MixedPrecisionInfo mixedInfo = null;
        Scheme chosen = base;
        if (mixed != null) {
            MixedPrecisionStep.Choice c = mixed.choose(canonical.graph(), stats);
            chosen = c.scheme();
            mixedInfo = c.info();
            log.printf("zsq: mixed precision: %d weight bytes (budget %d, int8 %d): %s%n", mixedInfo.chosenWeightBytes(),
                    mixedInfo.budgetWeightBytes(), mixedInfo.int8WeightBytes(), mixedInfo.weightBits().values());
        }
        Stats gaussian = !plan.gaussianBaseline() ? null : Observation.observe(ex, "calibrate-gaussian", canonical.graph(),
                placement.statistics(canonical), new Sources.Gaussian(graph, cfg));
        end("calibrate");

        List<Variant> variants = new ArrayList<>();
        List<QuantizeReport.FineTuneInfo> fineTuning = new ArrayList<>();
        FineTuning level2 = plan.fineTune() == null ? null : FineTuning.load();
        Variant written = null;
        for (Bits b : plan.bits()) {
            start("lower");
            Scheme scheme = chosen.withBits(b.weights(), b.activations());
            PassRunner r = variants.isEmpty() ? runner : new PassRunner(); // the provenance lists the written model's passes
            ModelState s = canonical;
            if (plan.biasCorrection() != BiasCorrection.NONE) {
                s = r.run(new CorrectBias(scheme, plan.biasCorrection()), s, stats);
            }
            PlaceQuantizers place = new PlaceQuantizers(scheme, spec, plan.bnRanges(), inputRange[0], inputRange[1]);
            String source = realData ? "real" : "synthetic";
            ModelState placed = r.run(place, s, stats);
            Variant l1 = lower(r, placed, b, source, 1, hash, realData);
            variants.add(l1);
            end("lower");
            if (level2 != null) {
                start("fine-tune " + b);
                Path dir = plan.out().resolve("qat").resolve(b.toString());
                FineTuning.Result ft = level2.run(plan.fineTune(), canonical.graph(), placed, Sources.Manifested.of(calibDir, given, graph), ex, dir, log,
                        plan.device());
                fineTuning.add(ft.info());
                Variant l2 = lower(new PassRunner(), ft.state(), b, source, 2, hash, realData);
                variants.add(l2);
                end("fine-tune " + b);
                written = written == null ? l2 : written;
            }
            written = written == null ? l1 : written;
            if (gaussian != null) {
                variants.add(lower(new PassRunner(), new PassRunner().run(place, s, gaussian), b, "gaussian", 1, hash, false));
            }
        }
        start("export");
        Path modelFile = plan.out().resolve("model.zsq");
        Variant first = written;
        first.model().save(modelFile);
        Map<String, QuantizeReport.ExportInfo> exports = new LinkedHashMap<>();
        for (OnnxExport.Form f : OnnxExport.Form.values()) {
            Path p = plan.out().resolve(f == OnnxExport.Form.QOPERATOR ? "model.qop.onnx" : "model.qdq.onnx");
            OnnxExport.write(first.model(), f, p);
            exports.put(f.name().toLowerCase(Locale.ROOT), new QuantizeReport.ExportInfo(p, Files.size(p),
                    "ai.onnx " + OnnxExport.OPSET + ", " + OnnxExport.MS + " 1", null, null, null));
        }
        end("export");

        List<QuantizeReport.ResultRow> rows = new ArrayList<>();
        Double fp32Top1 = null;
        if (evalData != null) {
            start("evaluate");
            Evaluation.Counts k = Evaluation.run(ex, graph, variants, evalData, pre, plan.quiet());
            end("evaluate");
            fp32Top1 = k.pct(k.fp32());
            for (int v = 0; v < variants.size(); v++) {
                rows.add(row(variants.get(v), k.pct(k.integer()[v]), k.pct(k.agreement()[v]), k.pct(k.fakeQuant()[v])));
            }
            start("check-onnx");
            for (Map.Entry<String, QuantizeReport.ExportInfo> e : exports.entrySet()) {
                QuantizeReport.ExportInfo i = e.getValue();
                ExportCheck.Result c = ExportCheck.check(first.model(), i.file(), evalData, pre, log, e.getKey());
                e.setValue(new QuantizeReport.ExportInfo(i.file(), i.bytes(), i.opsets(), c.argmaxAgreement(), c.maxOutputDifferenceSteps(),
                        c.outputsBeyondOneStep()));
            }
            end("check-onnx");
        } else {
            for (Variant v : variants) {
                rows.add(row(v, null, null, null));
            }
        }
        Requests.Sample sample = stats.get(new Requests.FirstBatch());
        List<QuantizeReport.LayerRow> layers = HtmlReport.layers(first.graph(), first.quantization(), sample.images(), sample.size(), mixedInfo);
        QuantizeReport report = new QuantizeReport(QuantizeReport.SCHEMA_VERSION, "zsq " + VERSION, plan.model(), hash, realData, plan,
                runner.records(), spec.name(), describe(base), plan.equalize(), plan.absorbHighBias(), name(plan.biasCorrection()),
                name(plan.bnRanges()), exports, mixedInfo, synthReport, canonical.graph().parameterCount(), Files.size(plan.model()),
                modelFile, Files.size(modelFile), evalData == null ? null : plan.eval().data(), evalData == null ? null : evalData.count(),
                evalData == null ? null : pre.toString(), fp32Top1, rows, fineTuning.isEmpty() ? null : fineTuning, layers, stages);
        HtmlReport.write(plan.out(), report, first.bits() + (first.quantization().scheme().layerWeightBits().isEmpty() ? "" : " (mixed weights)"));
        Json.write(report, plan.out().resolve("report.json"));
        return report;
    }

    /** Lowers one placed (or fine-tuned) variant, recording the pass in {@code r}. */
    private Variant lower(PassRunner r, ModelState placed, Bits b, String source, int level, String hash, boolean realData) throws IOException {
        Map<String, String> meta = provenance(hash, source, realData, placed);
        if (level == 2) {
            Plan.QatMethod m = plan.fineTune().method();
            int steps = plan.fineTune().steps();
            meta.put("level", "2: " + switch (m) {
                case RECONSTRUCT -> "reconstructed block by block against the FP32 model (reconstruct, " + steps + " steps per block) on ";
                case KD -> "fine-tuned by distillation against the FP32 model (kd, " + steps + " steps) on ";
            } + (realData ? "the REAL calibration images (upper bound; not data-free)"
                    : "the synthetic calibration set; no real data read"));
        }
        ModelState lowered = r.run(new Lower(meta), placed, Stats.NONE);
        java.io.ByteArrayOutputStream bo = new java.io.ByteArrayOutputStream();
        lowered.lowered().write(bo);
        return new Variant(b, source, level, placed.graph(), placed.quantization(), bo.toByteArray());
    }

    /** What the integer model records about how it was made (the whole plan included, as JSON). */
    private Map<String, String> provenance(String hash, String source, boolean realData, ModelState placed) {
        Map<String, String> m = new LinkedHashMap<>();
        m.put("zsq.version", VERSION);
        m.put("source.model", plan.model().getFileName().toString());
        m.put("source.sha256", hash);
        m.put("calibration.data", source.equals("gaussian") ? "Gaussian noise N(0,1) clamped to the valid input range (baseline)"
                : realData ? "REAL images (upper bound; not data-free)" : "synthetic (" + plan.synthesis().method() + "); no real data read");
        m.put("calibration.source", source);
        m.put("calibration.observer", plan.observer().toString());
        m.put("dfq", "equalize=" + plan.equalize() + " absorb-high-bias=" + plan.absorbHighBias() + " bias-correction="
                + name(plan.biasCorrection()));
        m.put("calibration.bnRanges", name(plan.bnRanges()));
        // what the float input must go through before quantization (zsq run reads it back)
        m.put("input.mean", plan.input().mean());
        m.put("input.std", plan.input().std());
        m.put("passes", String.join(", ", Stream.concat(List.of("import").stream(), placed.properties().stream()
                .map(p -> p.name().toLowerCase(Locale.ROOT))).toList()) + ", lowered");
        try {
            m.put("plan", Json.MAPPER.writeValueAsString(plan));
        } catch (IOException e) {
            throw new IllegalStateException(e);
        }
        return m;
    }

    private static String name(Enum<?> e) {
        return e.name().toLowerCase(Locale.ROOT);
    }

    private static QuantizeReport.ResultRow row(Variant v, Double top1, Double agreement, Double fakeQuantTop1) {
        Scheme s = v.quantization().scheme();
        return new QuantizeReport.ResultRow(v.bits().toString(), v.source(), v.level(), top1, agreement, fakeQuantTop1, v.bytes().length,
                s.layerWeightBits().isEmpty() ? null : s.layerWeightBits());
    }

    private static QuantizeReport.SchemeInfo describe(Scheme s) {
        boolean layers = !s.layerWeightBits().isEmpty();
        return new QuantizeReport.SchemeInfo(s.granularityName(), s.weightFullRange() ? "full" : "restricted", "symmetric",
                s.activationSymmetric() ? "symmetric (unsigned when non-negative)" : "asymmetric", layers ? s.layerWeightBits() : null,
                layers ? s.layerActivationBits() : null);
    }

    /**
     * For method {@code real}: the first {@code count} training images (the not data-free upper bound), at the
     * model's input size as stored (no resize or crop), else null.
     */
    private static LabeledImages realImages(Plan.Synthesize syn, Graph g) {
        return syn.method().base() == Method.Base.REAL
                ? LabeledImages.read(syn.realData(), LabeledImages.Split.TRAIN, syn.count(), ImageTransform.NONE, g.inputShape()) : null;
    }

    /** Every label must be one of the model's outputs (an image folder with more classes than the model is not its test set). */
    private static void checkLabels(LabeledImages d, Path path, Graph g) {
        int[] out = g.shape(g.output());
        if (out == null || out.length == 0) {
            return;
        }
        int classes = out[out.length - 1], max = -1;
        for (int y : d.labels()) {
            max = Math.max(max, y);
        }
        if (max >= classes) {
            throw new IllegalArgumentException(path + ": labels go up to " + max + " (" + (max + 1) + " classes), the model has " + classes
                    + " outputs");
        }
    }

    /** After a failed run: removes what it created unless a complete synthetic batch is there to resume from. */
    private static void removeIfNothingKept(Path out) {
        if (!Files.isDirectory(out)) {
            return;
        }
        try (Stream<Path> s = Files.walk(out)) {
            if (s.anyMatch(p -> p.getFileName().toString().matches("batch-\\d{5}\\.arrow"))) {
                return;
            }
        } catch (IOException e) {
            return;
        }
        try (Stream<Path> s = Files.walk(out)) {
            for (Path p : s.sorted(java.util.Comparator.reverseOrder()).toList()) {
                Files.deleteIfExists(p);
            }
        } catch (IOException e) {
            // best effort: what is left is named by the error the caller reports
        }
    }
}
