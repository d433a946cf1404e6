package io.zsq.spark;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.zsq.core.data.IdxDataset;
import io.zsq.core.data.Preprocessing;
import io.zsq.core.imports.ModelImporter;
import io.zsq.core.ir.Graph;
import io.zsq.core.passes.Canonicalize;
import io.zsq.core.passes.Dfq;
import io.zsq.core.passes.PassRunner;
import io.zsq.core.quant.FakeQuant;
import io.zsq.core.quant.QParams;
import io.zsq.ptq.Calibrator;
import io.zsq.ptq.ObserverSpec;
import io.zsq.ptq.pipeline.Evaluation;
import io.zsq.ptq.pipeline.Executor;
import io.zsq.ptq.pipeline.InProcessExecutor;
import io.zsq.ptq.pipeline.Pipeline;
import io.zsq.ptq.pipeline.Plan;
import io.zsq.ptq.pipeline.QuantizeReport;
import io.zsq.runtime.IntModel;
import io.zsq.runtime.IntRunner;
import io.zsq.runtime.Layer;
import io.zsq.synth.DatasetManifest;
import io.zsq.synth.Generator;
import io.zsq.synth.SynthConfig;
import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import org.apache.spark.api.java.JavaSparkContext;
import org.apache.spark.sql.SparkSession;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.provider.EnumSource;
import org.junit.jupiter.params.ParameterizedTest;

/** The whole Level-1 path through Spark local[2] on the bundled models and real Fashion-MNIST test images. */
class PipelineTest {
    static final Path FASHION = Path.of("/usr/share/datasets/fashion-mnist");
    static final Path RESNET = Path.of("../src/models/fmnist-resnet.onnx");
    static JavaSparkContext jsc;
    static SparkSession spark;

    @TempDir
    Path dir;

    /** One session for the class; jobs that look for an active session (the CLI) use it and leave it running. */
    @BeforeAll
    static void spark() {
        spark = SparkSession.builder().config(TestSpark.local(2, "zsq-test")).getOrCreate();
        jsc = JavaSparkContext.fromSparkContext(spark.sparkContext());
    }

    @AfterAll
    static void stop() {
        spark.stop();
    }

    static Plan.Builder small(Path model, Path out) {
        return Plan.builder().model(model).out(out).eval(FASHION).evalLimit(500).preprocessing("0.2860", "0.3530")
                .count(64).batch(32).steps(40).bits("w8a8,w4a8").quiet(true);
    }

    static void checkLevel1(QuantizeReport r, Path out) throws Exception {
        assertTrue(r.fp32Top1() >= 88, "FP32 top-1 on 500 images " + r.fp32Top1());
        QuantizeReport.ResultRow w8 = r.results().get(0);
        assertEquals("w8a8", w8.bits());
        assertEquals("synthetic", w8.calibration());
        assertTrue(w8.intTop1() >= r.fp32Top1() - 1.5, "W8A8 from synthetic data " + w8.intTop1() + " vs FP32 " + r.fp32Top1());
        assertTrue(w8.agreementWithFakeQuant() >= 98.5, "agreement " + w8.agreementWithFakeQuant());
        assertEquals(4, r.results().size(), "w8a8 and w4a8, each with synthetic and Gaussian calibration");
        assertEquals(false, r.realDataUsedForCalibration());
        String json = Files.readString(out.resolve("report.json"));
        assertTrue(json.contains("\"fp32_top1\"") && json.contains("\"stage_seconds\"") && json.contains("\"activation_sqnr_db\""), json);
        assertTrue(Files.readString(out.resolve("report.html")).contains("<h2>Layers"));
        assertTrue(Files.exists(out.resolve("sqnr.png")));
        IntModel m = IntModel.load(out.resolve("model.zsq"));
        assertEquals("8", m.metadata().get("weightBits"));
        assertTrue(m.metadata().get("calibration.data").contains("no real data"));
    }

    @Test
    void onnxResNetEndToEnd() throws Exception {
        Path out = dir.resolve("resnet");
        QuantizeReport r = QuantizeJob.run(small(RESNET, out).build(), jsc);
        checkLevel1(r, out);
        assertEquals(2, DatasetManifest.read(out.resolve("calib")).batches().size());
        // a re-run with the same settings resumes from the complete batches
        QuantizeReport again = QuantizeJob.run(small(RESNET, out).bits("w8a8").build(), jsc);
        assertEquals(2L, again.synthesis().batchesResumed());
    }

    /**
     * The quantization parameters do not depend on where the batch work ran: threads in process (1 or 4)
     * or Spark tasks (1 or 4 partitions), through the real pipeline, synthesis included, with every
     * statistic (ranges, empirical means, sensitivity) merged from several batches.
     */
    @Test
    void inProcessAndSparkOneOrManyPartitionsGiveTheSameModelToTheBit() throws Exception {
        List<Executor> executors = List.of(new InProcessExecutor(1), new InProcessExecutor(4), new SparkExecutor(jsc, 1),
                new SparkExecutor(jsc, 4));
        byte[] reference = null;
        List<DatasetManifest.Entry> batches = null;
        QuantizeReport first = null;
        for (int i = 0; i < executors.size(); i++) {
            Path out = dir.resolve("exec-" + i);
            QuantizeReport r = Pipeline.run(Plan.builder().model(RESNET).out(out).preprocessing("0.2860", "0.3530").count(48).batch(8)
                    .steps(3).bits("w4a4,w8a8").observer("percentile:99.9").biasCorrection("empirical").sizeBudget("0.6x")
                    .gaussianBaseline(false).quiet(true).build(), executors.get(i));
            byte[] model = withoutProvenance(IntModel.load(out.resolve("model.zsq")));
            List<DatasetManifest.Entry> b = DatasetManifest.read(out.resolve("calib")).batches();
            if (reference == null) {
                reference = model;
                batches = b;
                first = r;
            } else {
                assertEquals(batches, b, "synthetic batches, executor " + i);
                assertArrayEquals(reference, model, "weights, biases, multipliers, shifts, zero points and scales, executor " + i);
                assertEquals(first.mixedPrecision().weightBits(), r.mixedPrecision().weightBits());
                assertEquals(first.layers(), r.layers(), "per-layer ranges and SQNR, executor " + i);
            }
        }
    }

    /**
     * Level 2 as synchronous data-parallel steps: threads (1 or 3 at once) and Spark (micro-batches in 1 or 4
     * partitions) give the same fine-tuned integer model to the bit, and the same loss curve.
     */
    @ParameterizedTest(name = "{0}")
    @EnumSource(value = Plan.QatMethod.class)
    void levelTwoIsTheSameOnOneOrManyTasks(Plan.QatMethod method) throws Exception {
        List<Executor> executors = List.of(new InProcessExecutor(1), new InProcessExecutor(3), new SparkExecutor(jsc, 1), new SparkExecutor(jsc, 4));
        Path calib = dir.resolve("l2-calib-" + method);
        Pipeline.synthesize(RESNET, calib, new Plan.Normalization("0.2860", "0.3530"), Plan.builder().model(RESNET).out(calib).count(32).batch(16)
                .steps(3).build().synthesis(), new InProcessExecutor(2), true);
        byte[] reference = null;
        List<List<Double>> curve = null;
        for (int i = 0; i < executors.size(); i++) {
            Path out = dir.resolve("l2-" + method + "-" + i);
            QuantizeReport r = Pipeline.run(Plan.builder().model(RESNET).out(out).preprocessing("0.2860", "0.3530").calib(calib).bits("w4a4")
                    .gaussianBaseline(false).quiet(true).fineTune(new Plan.FineTune(method, 3, 16, 4, 1e-3, 1e-2, Plan.Optimizer.ADAM,
                            Plan.Schedule.COSINE, 4, method == Plan.QatMethod.KD ? 0.5 : 0, 0, 1)).build(), executors.get(i));
            byte[] model = withoutProvenance(IntModel.load(out.resolve("model.zsq")));
            assertTrue(IntModel.load(out.resolve("model.zsq")).metadata().get("level").startsWith("2:"));
            if (reference == null) {
                reference = model;
                curve = r.fineTuning().get(0).lossCurve();
            } else {
                assertArrayEquals(reference, model, "the level-2 model, executor " + i);
                assertEquals(curve, r.fineTuning().get(0).lossCurve(), "loss curve, executor " + i);
            }
        }
    }

    /** The model's layers and typed quantization, without the metadata (which names the output folder). */
    static byte[] withoutProvenance(IntModel m) throws Exception {
        ByteArrayOutputStream bo = new ByteArrayOutputStream();
        new IntModel(Map.of(), m.inputName(), m.inputShape(), m.outputName(), m.outputShape(), m.layers(), m.quantization()).write(bo);
        return bo.toByteArray();
    }

    @Test
    void dfqAndCalibrationChoicesEndToEnd() throws Exception {
        Path out = dir.resolve("dfq");
        QuantizeReport r = QuantizeJob.run(small(RESNET, out).bits("w8a8").gaussianBaseline(false).observer("kl").weightGranularity("tensor")
                .equalize(true).biasCorrection("auto").build(), jsc);
        QuantizeReport.ResultRow row = r.results().get(0);
        assertTrue(row.intTop1() >= r.fp32Top1() - 1.5, "per-tensor W8A8 with CLE + bias correction " + row + " vs FP32 " + r.fp32Top1());
        assertTrue(row.agreementWithFakeQuant() >= 98.5, "agreement " + row);
        assertTrue(r.equalization());
        PassRunner.Record eq = r.passes().stream().filter(p -> p.name().equals("cross-layer-equalization")).findFirst().orElseThrow();
        Dfq.EqualizationReport er = (Dfq.EqualizationReport) eq.report();
        assertTrue(er.pairs() > 0 && er.scales().size() == er.pairs(), er.toString());
        assertTrue(r.passes().stream().anyMatch(p -> p.name().equals("bias-correction")), r.passes().toString());
        assertEquals("tensor", IntModel.load(out.resolve("model.zsq")).metadata().get("weightGranularity"));

        // per-layer bits, on the dataset just made
        Path out2 = dir.resolve("layer-bits");
        QuantizeReport r2 = QuantizeJob.run(small(RESNET, out2).bits("w8a8").gaussianBaseline(false).calib(out.resolve("calib"))
                .layerBits("/l1/c1/Conv=w4a4").build(), jsc);
        assertTrue(r2.results().get(0).agreementWithFakeQuant() >= 98.5);
        assertEquals("auto", r2.bnRanges());
        for (String f : new String[] {"model.qop.onnx", "model.qdq.onnx"}) {
            assertTrue(Files.size(out2.resolve(f)) > 1000, f);
        }
        assertEquals(2, r2.onnxExports().size(), r2.onnxExports().toString());
        for (QuantizeReport.ExportInfo f : r2.onnxExports().values()) { // run in ONNX Runtime on the evaluation images by the job itself
            assertTrue(f.onnxruntimeArgmaxAgreementWithZsqRuntime() >= 99.5, f.toString());
            assertTrue(f.onnxruntimeMaxOutputDifferenceSteps() <= 1.001, f.toString());
        }
        // zsq run: the written model alone, preprocessing from its metadata, the same predictions on 1 and 2 threads
        IntModel written = IntModel.load(out2.resolve("model.zsq"));
        assertEquals("0.2860", written.metadata().get("input.mean"));
        assertEquals(0, Main.run(new String[] {"run", "--model", out2.toString(), "--data", FASHION.toString(), "--limit", "100", "--threads", "2"},
                System.out, System.err));
        byte[][] imgs = new byte[40][];
        java.util.SplittableRandom rnd = new java.util.SplittableRandom(2);
        for (int i = 0; i < imgs.length; i++) {
            imgs[i] = new byte[784];
            for (int j = 0; j < 784; j++) {
                imgs[i][j] = (byte) rnd.nextInt(-128, 128);
            }
        }
        byte[][] one = new IntRunner(written).runBatch(imgs, 1), two = new IntRunner(written).runBatch(imgs, 2);
        for (int i = 0; i < imgs.length; i++) {
            assertArrayEquals(one[i], two[i], "image " + i);
        }
        for (QuantizeReport.LayerRow layer : r2.layers()) {
            // --bn-ranges auto: only the 4-bit activation takes its range from the BatchNorm statistics
            assertEquals(layer.id().equals("/l1/c1/Conv") ? "batchnorm statistics" : "calibration data", layer.rangeSource(), layer.toString());
            assertEquals(layer.id().equals("/l1/c1/Conv") ? 4 : 8, layer.activationBits(), layer.toString());
        }
        List<Layer.Conv> convs = written.layers().stream().filter(l -> l instanceof Layer.Conv).map(l -> (Layer.Conv) l).toList();
        assertEquals(1, convs.stream().filter(c -> c.weightBits() == 4).count(), "one layer at 4 bits");
        assertEquals(4, convs.get(1).weightBits(), "per-layer bits on /l1/c1/Conv (after the stem)");
        for (byte w : convs.get(1).weights()) {
            assertTrue(w >= -7 && w <= 7, "4-bit restricted weights");
        }
        // mixed precision at the size of uniform 4-bit weights
        QuantizeReport r3 = QuantizeJob.run(small(RESNET, dir.resolve("mixed")).bits("w4a8").gaussianBaseline(false)
                .calib(out.resolve("calib")).sizeBudget("0.5x").build(), jsc);
        QuantizeReport.MixedPrecisionInfo mp = r3.mixedPrecision();
        assertTrue(mp.chosenWeightBytes() <= mp.budgetWeightBytes() && mp.chosenWeightBytes() > 0.9 * mp.budgetWeightBytes(), mp.toString());
        assertEquals(mp.budgetWeightBytes() * 2, mp.int8WeightBytes(), 1.0);
        java.util.Set<Integer> widths = new java.util.HashSet<>();
        IntModel.load(dir.resolve("mixed/model.zsq")).layers().stream().filter(l -> l instanceof Layer.Conv)
                .forEach(l -> widths.add(((Layer.Conv) l).weightBits()));
        assertTrue(widths.size() > 1, "mixed widths " + widths);
        String html = Files.readString(dir.resolve("mixed/report.html"));
        assertTrue(html.contains("no real data was read") && html.contains("pareto.png") && html.contains("/l1/c1/Conv")
                && html.contains("calibration data") && html.contains("model.qop.onnx") && html.contains("place-quantizers"), html);
        for (String png : new String[] {"sqnr.png", "pareto.png"}) {
            java.awt.image.BufferedImage img = javax.imageio.ImageIO.read(dir.resolve("mixed").resolve(png).toFile());
            assertTrue(img != null && img.getWidth() == 900, png);
        }
        for (QuantizeReport.LayerRow layer : r.layers()) {
            if (layer.weightSqnrDb() != null) {
                assertTrue(layer.weightSqnrDb() > 20, "per-tensor 8-bit weights keep > 20 dB: " + layer);
            }
        }
    }

    @Test
    void dl4jCnnEndToEnd() throws Exception {
        Path out = dir.resolve("dl4j");
        checkLevel1(QuantizeJob.run(small(Path.of("../src/models/fmnist-dl4j-cnn.zip"), out).build(), jsc), out);
    }

    @Test
    void integerModelAgreesWithItsFakeQuantizedSimulation() throws Exception {
        Graph g = ModelImporter.load(RESNET);
        Graph c = Canonicalize.run(g, null);
        SynthConfig cfg = new SynthConfig("gaussian", 32, 32, 0, 0.5, 9);
        Generator.Batch gb = Generator.generate(g, cfg, 0, null);
        Map<String, QParams> q = Calibrator.finish(Calibrator.observe(c, ObserverSpec.parse("minmax"), gb.images(), 32), 8);
        IntModel m = io.zsq.core.passes.LowerToInteger.lower(c, q, 8, Map.of());
        IdxDataset d = IdxDataset.load(FASHION, "t10k", 400);
        float[] x = d.batch(0, 400, Preprocessing.parse("0.2860", "0.3530"));
        int[] sim = Evaluation.argmax(FakeQuant.of(c, q, 8).run(x, 400), 400);
        byte[][] qx = FakeQuant.quantizeInput(x, 400, q.get(c.input()));
        IntRunner run = new IntRunner(m);
        byte[][] outs1 = run.runBatch(qx, 1), outs2 = run.runBatch(qx, 2);
        int agree = 0;
        for (int i = 0; i < 400; i++) {
            assertTrue(java.util.Arrays.equals(outs1[i], outs2[i]), "thread count changes nothing");
            agree += IntRunner.argmax(outs1[i]) == sim[i] ? 1 : 0;
        }
        assertTrue(agree >= 394, "integer vs fake-quant argmax agreement " + agree + "/400");
    }

    @Test
    void synthCommandWritesADatasetThatQuantizeCalibratesOn() throws Exception {
        Path data = dir.resolve("synth");
        ByteArrayOutputStream so = new ByteArrayOutputStream();
        assertEquals(0, Main.run(new String[] {"synth", "--model", RESNET.toString(), "--out", data.toString(), "--count", "24", "--batch", "8",
            "--steps", "10", "--method", "zeroq+label+di+dsg", "--mean", "0.2860", "--std", "0.3530", "--quiet"}, new PrintStream(so), System.err));
        assertEquals(3, DatasetManifest.read(data).batches().size());
        String json = Files.readString(data.resolve("synth.json"));
        assertTrue(json.contains("\"method\" : \"zeroq+label+di+dsg\"") && json.contains("diversity_penultimate"), json);
        io.zsq.synth.ArrowDataset.Read r = io.zsq.synth.ArrowDataset.read(io.zsq.synth.ArrowDataset.batchFile(data, 0));
        float lo = (0 - 0.2860f) / 0.3530f, hi = (1 - 0.2860f) / 0.3530f;
        for (float v : r.images()) {
            assertTrue(v >= lo - 1e-6 && v <= hi + 1e-6, "samples stay in the valid pixel range: " + v);
        }
        QuantizeReport q = QuantizeJob.run(Plan.builder().model(RESNET).out(dir.resolve("q")).calib(data).bits("w8a8")
                .preprocessing("0.2860", "0.3530").eval(FASHION).evalLimit(300).quiet(true).build(), jsc);
        assertTrue(q.results().get(0).intTop1() >= q.fp32Top1() - 2.0);
        assertEquals("zeroq+label+di+dsg", q.synthesis().method());
    }

    @Test
    void realDataSourceIsTheUpperBoundAndSaysSo() throws Exception {
        QuantizeReport r = QuantizeJob.run(small(RESNET, dir.resolve("real")).method("real").realData(FASHION).bits("w8a8").build(), jsc);
        assertTrue(r.realDataUsedForCalibration());
        assertTrue(IntModel.load(dir.resolve("real/model.zsq")).metadata().get("calibration.data").contains("REAL"));
        assertTrue(r.results().get(0).intTop1() >= r.fp32Top1() - 1.0);
        assertEquals("real", r.results().get(0).calibration());
    }
}
