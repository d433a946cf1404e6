package io.zsq.ptq.pipeline;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import io.zsq.core.passes.PassRunner;
import io.zsq.runtime.IntModel;
import io.zsq.synth.DatasetManifest;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The Level-1 pipeline as a library, in this JVM, with no Spark on the class path: bundled model, real test images. */
class PipelineTest {
    static final Path RESNET = Path.of("../src/models/fmnist-resnet.onnx");
    static final Path MOBILENET = Path.of("../src/models/fmnist-mobilenet.onnx");
    static final Path FASHION = Path.of("/usr/share/datasets/fashion-mnist");

    @TempDir
    Path dir;

    static Plan.Builder small(Path model, Path out) {
        return Plan.builder().model(model).out(out).preprocessing("0.2860", "0.3530").count(64).batch(32).steps(40).quiet(true);
    }

    @Test
    void quantizesWithoutSparkAndRecordsThePlanWhole() throws Exception {
        assertThrows(ClassNotFoundException.class, () -> Class.forName("org.apache.spark.SparkContext"), "Spark is not on this class path");
        Path out = dir.resolve("resnet");
        Plan plan = small(RESNET, out).bits("w8a8,w4a8").eval(FASHION).evalLimit(500).build();
        QuantizeReport r = Pipeline.run(plan, new InProcessExecutor(2));
        assertTrue(r.fp32Top1() >= 88, "FP32 top-1 on 500 images " + r.fp32Top1());
        assertEquals(4, r.results().size(), "w8a8 and w4a8, each with synthetic and Gaussian calibration");
        QuantizeReport.ResultRow w8 = r.results().get(0);
        assertEquals("w8a8", w8.bits());
        assertEquals("synthetic", w8.calibration());
        assertTrue(w8.intTop1() >= r.fp32Top1() - 1.5, "W8A8 from synthetic data " + w8.intTop1() + " vs FP32 " + r.fp32Top1());
        assertTrue(w8.agreementWithFakeQuant() >= 98.5, "agreement " + w8.agreementWithFakeQuant());
        assertFalse(r.realDataUsedForCalibration());
        assertEquals(List.of("fold-batchnorm", "fuse-activations", "place-quantizers", "lower-to-integer"),
                r.passes().stream().map(PassRunner.Record::name).toList());
        for (QuantizeReport.ExportInfo e : r.onnxExports().values()) { // both exports run in ONNX Runtime by the pipeline itself
            assertTrue(e.onnxruntimeArgmaxAgreementWithZsqRuntime() >= 99.5, e.toString());
        }

        JsonNode json = Json.MAPPER.readTree(out.resolve("report.json").toFile());
        assertEquals(QuantizeReport.SCHEMA_VERSION, json.get("schema_version").asInt());
        assertTrue(json.has("fp32_top1") && json.has("stage_seconds") && json.get("layers").get(0).has("activation_sqnr_db"), json.toString());
        assertEquals(plan, Json.MAPPER.treeToValue(json.get("plan"), Plan.class), "the plan reads back from report.json as it was");
        IntModel m = IntModel.load(out.resolve("model.zsq"));
        assertEquals(plan, Json.MAPPER.readValue(m.metadata().get("plan"), Plan.class), "and from the model's provenance");
        assertTrue(m.metadata().get("calibration.data").contains("no real data"));
        assertEquals("0.2860", m.metadata().get("input.mean"));
        assertTrue(Files.readString(out.resolve("report.html")).contains("<h2>Layers"));
        assertTrue(Files.exists(out.resolve("sqnr.png")));
        DatasetManifest manifest = DatasetManifest.read(out.resolve("calib"));
        assertEquals(2, manifest.batches().size());
    }

    /** Bias correction, mixed precision, two bit settings, quantizer placement and the report all observe the dataset in one read. */
    @Test
    void theInputShapeIsPartOfThePlanAndCheckedAgainstTheModel() throws Exception {
        Plan p = small(RESNET, dir.resolve("shape")).inputShape("3x48x192").build();
        assertEquals(List.of(3, 48, 192), p.inputShape().dims());
        JsonNode json = Json.MAPPER.valueToTree(p);
        assertEquals("3x48x192", json.get("input_shape").asText());
        assertEquals(p, Json.MAPPER.treeToValue(json, Plan.class), "the plan with its input shape reads back");
        Plan none = small(RESNET, dir.resolve("none")).build();
        assertEquals(none, Json.MAPPER.treeToValue(Json.MAPPER.valueToTree(none), Plan.class));
        assertThrows(IllegalArgumentException.class, () -> small(RESNET, dir.resolve("bad")).inputShape("3x-1x4"));
        // the bundled model's input is fixed at 1x28x28: another size is refused at import, before anything is written
        Exception e = assertThrows(RuntimeException.class, () -> Pipeline.run(p, new InProcessExecutor(1)));
        assertTrue(e.getMessage().contains("--input-shape 3x48x192 contradicts input"), e.getMessage());
        assertFalse(Files.exists(dir.resolve("shape").resolve("model.zsq")));
    }

    @Test
    void theCalibrationDataIsReadOnce() throws Exception {
        Path data = dir.resolve("data");
        Plan.Synthesize syn = new Plan.Synthesize(io.zsq.synth.Method.parse("zeroq"), 64, 16, 5, 0.5, 3, null);
        Pipeline.synthesize(RESNET, data, new Plan.Normalization("0.2860", "0.3530"), syn, new InProcessExecutor(2), true);
        long before = Sources.ARROW_READS.get();
        QuantizeReport r = Pipeline.run(small(RESNET, dir.resolve("q")).calib(data).bits("w4a8,w8a8").biasCorrection("empirical")
                .sizeBudget("0.5x").build(), new InProcessExecutor(2));
        assertEquals(4, Sources.ARROW_READS.get() - before, "each of the 4 batches read once");
        assertTrue(r.mixedPrecision() != null && r.mixedPrecision().chosenWeightBytes() <= r.mixedPrecision().budgetWeightBytes());
        PassRunner.Record bc = r.passes().stream().filter(p -> p.name().equals("bias-correction")).findFirst().orElseThrow();
        assertTrue(((io.zsq.core.passes.Dfq.BiasCorrectionReport) bc.report()).layers() > 0, bc.toString());
        assertFalse(r.synthesis().generated());
    }

    @Test
    void resumeKeepsMatchingBatchesRegeneratesMissingOnesAndRefusesOthers() throws Exception {
        Path data = dir.resolve("data");
        Plan.Normalization in = new Plan.Normalization("0.2860", "0.3530");
        Plan.Synthesize syn = new Plan.Synthesize(io.zsq.synth.Method.parse("zeroq+label"), 48, 16, 4, 0.5, 7, null);
        Pipeline.synthesize(RESNET, data, in, syn, new InProcessExecutor(2), true);
        List<DatasetManifest.Entry> first = DatasetManifest.read(data).batches();
        Files.delete(data.resolve("batch-00001.arrow"));
        QuantizeReport.SynthesisReport again = Pipeline.synthesize(RESNET, data, in, syn, new InProcessExecutor(1), true);
        assertEquals(2L, again.batchesResumed());
        assertEquals(first, DatasetManifest.read(data).batches(), "the regenerated batch is the one deleted, to the bit");

        String[][] changes = {{"model_sha256"}, {"steps"}, {"lr"}, {"method"}, {"mean"}, {"seed"}};
        for (String[] c : changes) {
            Path model = c[0].equals("model_sha256") ? MOBILENET : RESNET;
            Plan.Normalization n = c[0].equals("mean") ? new Plan.Normalization("0.5", "0.3530") : in;
            Plan.Synthesize s = new Plan.Synthesize(io.zsq.synth.Method.parse(c[0].equals("method") ? "zeroq" : "zeroq+label"), 48, 16,
                    c[0].equals("steps") ? 5 : 4, c[0].equals("lr") ? 0.25 : 0.5, c[0].equals("seed") ? 8 : 7, null);
            IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                    () -> Pipeline.synthesize(model, data, n, s, new InProcessExecutor(1), true), c[0]);
            assertTrue(e.getMessage().contains(c[0]) && e.getMessage().contains("start fresh") && !e.getMessage().contains("\n"), e.getMessage());
        }
        assertEquals(first, DatasetManifest.read(data).batches(), "a refused run changes nothing");
        // a dataset made for the ResNet does not calibrate the MobileNet
        Path q = dir.resolve("q");
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                () -> Pipeline.run(small(MOBILENET, q).calib(data).build(), new InProcessExecutor(1)));
        assertTrue(e.getMessage().contains("--calib") && e.getMessage().contains("model_sha256"), e.getMessage());
        assertFalse(Files.exists(q), "a refused run leaves no output folder");
    }

    @Test
    void badOptionsAndOutputsNameWhatIsWrong() throws Exception {
        String[][] cases = {{"count", "--count"}, {"steps", "--steps"}, {"batch", "--batch"}, {"lr", "--lr"}};
        for (String[] c : cases) {
            Plan.Builder b = small(RESNET, dir.resolve("x"));
            switch (c[0]) {
                case "count" -> b.count(0);
                case "steps" -> b.steps(-3);
                case "batch" -> b.batch(0);
                default -> b.lr(-1);
            }
            IllegalArgumentException e = assertThrows(IllegalArgumentException.class, b::build);
            assertTrue(e.getMessage().startsWith(c[1]), e.getMessage());
        }
        for (String[] c : new String[][] {{"observer", "bogus"}, {"bias-correction", "sometimes"}, {"bn-ranges", "maybe"},
            {"weight-granularity", "row"}, {"size-budget", "2x"}, {"method", "zeroq+magic"}}) {
            IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> {
                Plan.Builder b = small(RESNET, dir.resolve("x"));
                switch (c[0]) {
                    case "observer" -> b.observer(c[1]);
                    case "bias-correction" -> b.biasCorrection(c[1]);
                    case "bn-ranges" -> b.bnRanges(c[1]);
                    case "weight-granularity" -> b.weightGranularity(c[1]);
                    case "size-budget" -> b.sizeBudget(c[1]);
                    default -> b.method(c[1]);
                }
            });
            assertTrue(e.getMessage().contains("--" + c[0]) && e.getMessage().contains(c[1].replace("zeroq+", "")), e.getMessage());
        }
        Path file = Files.writeString(dir.resolve("a-file"), "x");
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                () -> Pipeline.run(small(RESNET, file).build(), new InProcessExecutor(1)));
        assertTrue(e.getMessage().contains("a-file") && e.getMessage().contains("is a file"), e.getMessage());
        Path noEval = Files.createDirectories(dir.resolve("empty-eval"));
        Path out = dir.resolve("never");
        e = assertThrows(IllegalArgumentException.class, () -> Pipeline.run(small(RESNET, out).eval(noEval).build(), new InProcessExecutor(1)));
        assertTrue(e.getMessage().contains("empty-eval"), e.getMessage());
        assertFalse(Files.exists(out), "a failed run leaves no output folder");
        e = assertThrows(IllegalArgumentException.class, () -> Pipeline.run(small(RESNET, out).layerBits("/nope=w4a8").build(),
                new InProcessExecutor(1)));
        assertTrue(e.getMessage().contains("/nope"), e.getMessage());
        assertFalse(Files.exists(out));
    }
}
