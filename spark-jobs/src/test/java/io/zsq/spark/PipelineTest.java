package io.zsq.spark;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.zsq.core.data.IdxDataset;
import io.zsq.core.data.Preprocessing;
import io.zsq.core.imports.ModelImportException;
import io.zsq.core.imports.ModelImporter;
import io.zsq.core.ir.Graph;
import io.zsq.core.passes.Canonicalize;
import io.zsq.core.quant.FakeQuant;
import io.zsq.core.quant.QParams;
import io.zsq.ptq.Calibrator;
import io.zsq.ptq.ObserverSpec;
import io.zsq.runtime.IntModel;
import io.zsq.runtime.IntRunner;
import io.zsq.synth.Generator;
import io.zsq.synth.SynthConfig;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.stream.IntStream;
import org.apache.spark.SparkConf;
import org.apache.spark.api.java.JavaSparkContext;
import org.apache.spark.sql.SparkSession;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The whole Level-1 path through Spark local[2] on the bundled models and real Fashion-MNIST test images. */
class PipelineTest {
    static final Path FASHION = Path.of("/usr/share/datasets/fashion-mnist");
    static JavaSparkContext jsc;

    @TempDir
    Path dir;

    static SparkSession spark;

    /** One session for the class; jobs that look for an active session (the CLI) use it and leave it running. */
    @BeforeAll
    static void spark() {
        spark = SparkSession.builder().config(new SparkConf().setMaster("local[2]").setAppName("zsq-test").set("spark.ui.enabled", "false")
                .set("spark.driver.host", "127.0.0.1").set("spark.driver.bindAddress", "127.0.0.1")).getOrCreate();
        jsc = JavaSparkContext.fromSparkContext(spark.sparkContext());
    }

    @AfterAll
    static void stop() {
        spark.stop();
    }

    static QuantizeJob.Builder small(Path model, Path out) {
        return QuantizeJob.builder().model(model).out(out).eval(FASHION).evalLimit(500).preprocessing("0.2860", "0.3530")
                .count(64).batch(32).steps(40).bits("w8a8,w4a8").quiet(true);
    }

    @SuppressWarnings("unchecked")
    static void checkLevel1(Map<String, Object> r, Path out) throws Exception {
        double fp32 = (Double) r.get("fp32_top1");
        assertTrue(fp32 >= 88, "FP32 top-1 on 500 images " + fp32);
        List<Map<String, Object>> rows = (List<Map<String, Object>>) r.get("results");
        Map<String, Object> w8 = rows.get(0);
        assertEquals("w8a8", w8.get("bits"));
        assertEquals("synthetic", w8.get("calibration"));
        double int8 = (Double) w8.get("int_top1");
        assertTrue(int8 >= fp32 - 1.5, "W8A8 from synthetic data " + int8 + " vs FP32 " + fp32);
        assertTrue((Double) w8.get("agreement_with_fake_quant") >= 98.5, "agreement " + w8.get("agreement_with_fake_quant"));
        assertEquals(4, rows.size(), "w8a8 and w4a8, each with synthetic and Gaussian calibration");
        assertEquals(false, r.get("real_data_used_for_calibration"));
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
        Map<String, Object> r = small(Path.of("../src/models/fmnist-resnet.onnx"), out).build().run(jsc);
        checkLevel1(r, out);
        assertEquals(2, Files.list(out.resolve("calib")).filter(p -> p.toString().endsWith(".arrow")).count());
        // a re-run with the same settings resumes from the complete batches
        Map<String, Object> again = small(Path.of("../src/models/fmnist-resnet.onnx"), out).bits("w8a8").build().run(jsc);
        assertEquals(2L, ((Map<?, ?>) again.get("synthesis")).get("batches_resumed"));
    }

    @Test
    @SuppressWarnings("unchecked")
    void dfqAndCalibrationChoicesEndToEnd() throws Exception {
        Path out = dir.resolve("dfq");
        Map<String, Object> r = small(Path.of("../src/models/fmnist-resnet.onnx"), out).bits("w8a8").gaussianBaseline(false)
                .observer("kl").weightGranularity("tensor").equalize(true).biasCorrection("auto").build().run(jsc);
        double fp32 = (Double) r.get("fp32_top1");
        Map<String, Object> row = ((List<Map<String, Object>>) r.get("results")).get(0);
        assertTrue((Double) row.get("int_top1") >= fp32 - 1.5, "per-tensor W8A8 with CLE + bias correction " + row + " vs FP32 " + fp32);
        assertTrue((Double) row.get("agreement_with_fake_quant") >= 98.5, "agreement " + row);
        assertEquals(true, r.get("equalization"));
        List<String> passes = (List<String>) r.get("passes");
        assertTrue(passes.stream().anyMatch(p -> p.startsWith("cross-layer-equalization: ") && p.contains("pairs equalized")), passes.toString());
        assertTrue(passes.stream().anyMatch(p -> p.startsWith("bias-correction: ")), passes.toString());
        assertEquals("tensor", IntModel.load(out.resolve("model.zsq")).metadata().get("weightGranularity"));

        // per-layer bits, on the dataset just made
        Path out2 = dir.resolve("layer-bits");
        Map<String, Object> r2 = small(Path.of("../src/models/fmnist-resnet.onnx"), out2).bits("w8a8").gaussianBaseline(false)
                .calib(out.resolve("calib")).layerBits("/l1/c1/Conv=w4a4").build().run(jsc);
        assertTrue((Double) ((List<Map<String, Object>>) r2.get("results")).get(0).get("agreement_with_fake_quant") >= 98.5);
        assertEquals("auto", r2.get("bn_ranges"));
        Map<String, Object> onnx = (Map<String, Object>) r2.get("onnx_exports");
        for (String f : new String[] {"model.qop.onnx", "model.qdq.onnx"}) {
            assertTrue(Files.size(out2.resolve(f)) > 1000, f);
        }
        assertEquals(2, onnx.size(), onnx.toString());
        for (Object form : onnx.values()) { // run in ONNX Runtime on the evaluation images by the job itself
            Map<String, Object> f = (Map<String, Object>) form;
            assertTrue((Double) f.get("onnxruntime_argmax_agreement_with_zsq_runtime") >= 99.5, f.toString());
            assertTrue((Double) f.get("onnxruntime_max_output_difference_steps") <= 1.001, f.toString());
        }
        // zsq run: the written model alone, preprocessing from its metadata, the same predictions on 1 and 2 threads
        IntModel written = IntModel.load(out2.resolve("model.zsq"));
        assertEquals("0.2860", written.metadata().get("input.mean"));
        assertEquals(0, Main.run(new String[] {"run", "--model", out2.toString(), "--data", FASHION.toString(), "--limit", "100", "--threads", "2"}));
        byte[][] imgs = new byte[40][];
        java.util.SplittableRandom rnd = new java.util.SplittableRandom(2);
        for (int i = 0; i < imgs.length; i++) {
            imgs[i] = new byte[784];
            for (int j = 0; j < 784; j++) {
                imgs[i][j] = (byte) rnd.nextInt(-128, 128);
            }
        }
        byte[][] one = new io.zsq.runtime.IntRunner(written).runBatch(imgs, 1), two = new io.zsq.runtime.IntRunner(written).runBatch(imgs, 2);
        for (int i = 0; i < imgs.length; i++) {
            org.junit.jupiter.api.Assertions.assertArrayEquals(one[i], two[i], "image " + i);
        }
        for (Map<String, Object> layer : (List<Map<String, Object>>) r2.get("layers")) {
            // --bn-ranges auto: only the 4-bit activation takes its range from the BatchNorm statistics
            assertEquals(layer.get("id").equals("/l1/c1/Conv") ? "batchnorm statistics" : "calibration data", layer.get("range_source"),
                    layer.toString());
            assertEquals(layer.get("id").equals("/l1/c1/Conv") ? 4 : 8, layer.get("activation_bits"), layer.toString());
        }
        List<io.zsq.runtime.Layer.Conv> convs = IntModel.load(out2.resolve("model.zsq")).layers().stream()
                .filter(l -> l instanceof io.zsq.runtime.Layer.Conv).map(l -> (io.zsq.runtime.Layer.Conv) l).toList();
        assertEquals(1, convs.stream().filter(c -> c.weightBits() == 4).count(), "one layer at 4 bits");
        assertEquals(4, convs.get(1).weightBits(), "per-layer bits on /l1/c1/Conv (after the stem)");
        for (byte w : convs.get(1).weights()) {
            assertTrue(w >= -7 && w <= 7, "4-bit restricted weights");
        }
        // mixed precision at the size of uniform 4-bit weights
        Map<String, Object> r3 = small(Path.of("../src/models/fmnist-resnet.onnx"), dir.resolve("mixed")).bits("w4a8").gaussianBaseline(false)
                .calib(out.resolve("calib")).sizeBudget("0.5x").build().run(jsc);
        Map<String, Object> mp = (Map<String, Object>) r3.get("mixed_precision");
        long budget = ((Number) mp.get("budget_weight_bytes")).longValue(), chosen = ((Number) mp.get("chosen_weight_bytes")).longValue();
        assertTrue(chosen <= budget && chosen > 0.9 * budget, chosen + " of " + budget);
        assertEquals(budget * 2, ((Number) mp.get("int8_weight_bytes")).longValue(), 1.0);
        java.util.Set<Integer> widths = new java.util.HashSet<>();
        IntModel.load(dir.resolve("mixed/model.zsq")).layers().stream().filter(l -> l instanceof io.zsq.runtime.Layer.Conv)
                .forEach(l -> widths.add(((io.zsq.runtime.Layer.Conv) l).weightBits()));
        assertTrue(widths.size() > 1, "mixed widths " + widths);
        String html = Files.readString(dir.resolve("mixed/report.html"));
        assertTrue(html.contains("no real data was read") && html.contains("pareto.png") && html.contains("/l1/c1/Conv")
                && html.contains("calibration data") && html.contains("model.qop.onnx"), html);
        for (String png : new String[] {"sqnr.png", "pareto.png"}) {
            java.awt.image.BufferedImage img = javax.imageio.ImageIO.read(dir.resolve("mixed").resolve(png).toFile());
            assertTrue(img != null && img.getWidth() == 900, png);
        }
        for (Map<String, Object> layer : (List<Map<String, Object>>) r.get("layers")) {
            if (layer.get("weight_sqnr_db") instanceof Double d) {
                assertTrue(d > 20, "per-tensor 8-bit weights keep > 20 dB: " + layer);
            }
        }
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                () -> small(Path.of("../src/models/fmnist-resnet.onnx"), dir.resolve("bad")).calib(out.resolve("calib"))
                        .layerBits("/nope=w4a8").build().run(jsc));
        assertTrue(e.getMessage().contains("/nope"), e.getMessage());
    }

    @Test
    void dl4jCnnEndToEnd() throws Exception {
        Path out = dir.resolve("dl4j");
        checkLevel1(small(Path.of("../src/models/fmnist-dl4j-cnn.zip"), out).build().run(jsc), out);
    }

    @Test
    void oneOrManyPartitionsGiveTheSameQuantizationParameters() {
        Graph g = ModelImporter.load(Path.of("../src/models/fmnist-resnet.onnx"));
        Graph c = Canonicalize.run(g, null);
        SynthConfig cfg = new SynthConfig("gaussian", 48, 8, 0, 0.5, 5);
        for (String obs : new String[] {"minmax", "percentile:99.9"}) {
            ObserverSpec spec = ObserverSpec.parse(obs);
            List<Integer> idx = IntStream.range(0, cfg.batches()).boxed().toList();
            Map<String, QParams> one = Calibrator.finish(jsc.parallelize(idx, 1).map(b -> {
                Generator.Batch gb = Generator.generate(g, cfg, b, null);
                return Calibrator.observe(c, spec, gb.images(), gb.size());
            }).reduce(Calibrator::merge), 8);
            Map<String, QParams> many = Calibrator.finish(jsc.parallelize(idx, 5).map(b -> {
                Generator.Batch gb = Generator.generate(g, cfg, b, null);
                return Calibrator.observe(c, spec, gb.images(), gb.size());
            }).reduce(Calibrator::merge), 8);
            assertEquals(one, many, obs);
        }
    }

    @Test
    void integerModelAgreesWithItsFakeQuantizedSimulation() throws Exception {
        Graph g = ModelImporter.load(Path.of("../src/models/fmnist-resnet.onnx"));
        Graph c = Canonicalize.run(g, null);
        SynthConfig cfg = new SynthConfig("gaussian", 32, 32, 0, 0.5, 9);
        Generator.Batch gb = Generator.generate(g, cfg, 0, null);
        Map<String, QParams> q = Calibrator.finish(Calibrator.observe(c, ObserverSpec.parse("minmax"), gb.images(), 32), 8);
        IntModel m = io.zsq.core.passes.LowerToInteger.lower(c, q, 8, Map.of());
        IdxDataset d = IdxDataset.load(FASHION, "t10k", 400);
        float[] x = d.batch(0, 400, Preprocessing.parse("0.2860", "0.3530"));
        int[] sim = QuantizeJob.argmax(FakeQuant.of(c, q, 8).run(x, 400), 400);
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
    @SuppressWarnings("unchecked")
    void synthCommandWritesADatasetThatQuantizeCalibratesOn() throws Exception {
        Path data = dir.resolve("synth");
        assertEquals(0, Main.run(new String[] {"synth", "--model", "../src/models/fmnist-resnet.onnx", "--out", data.toString(),
            "--count", "24", "--batch", "8", "--steps", "10", "--method", "zeroq+label+di+dsg", "--mean", "0.2860", "--std", "0.3530",
            "--quiet"}));
        assertEquals(3, Files.list(data).filter(p -> p.toString().endsWith(".arrow")).count());
        String json = Files.readString(data.resolve("synth.json"));
        assertTrue(json.contains("\"method\": \"zeroq+label+di+dsg\"") && json.contains("diversity_penultimate"), json);
        io.zsq.synth.ArrowDataset.Read r = io.zsq.synth.ArrowDataset.read(io.zsq.synth.ArrowDataset.batchFile(data, 0));
        float lo = (0 - 0.2860f) / 0.3530f, hi = (1 - 0.2860f) / 0.3530f;
        for (float v : r.images()) {
            assertTrue(v >= lo - 1e-6 && v <= hi + 1e-6, "samples stay in the valid pixel range: " + v);
        }
        Map<String, Object> q = QuantizeJob.builder().model(Path.of("../src/models/fmnist-resnet.onnx")).out(dir.resolve("q"))
                .calib(data).bits("w8a8").preprocessing("0.2860", "0.3530").eval(FASHION).evalLimit(300).quiet(true).build().run(jsc);
        assertTrue((Double) ((List<Map<String, Object>>) q.get("results")).get(0).get("int_top1") >= (Double) q.get("fp32_top1") - 2.0);
    }

    @Test
    @SuppressWarnings("unchecked")
    void realDataSourceIsTheUpperBoundAndSaysSo() throws Exception {
        Map<String, Object> r = small(Path.of("../src/models/fmnist-resnet.onnx"), dir.resolve("real")).method("real").realData(FASHION)
                .bits("w8a8").build().run(jsc);
        assertEquals(true, r.get("real_data_used_for_calibration"));
        assertTrue(IntModel.load(dir.resolve("real/model.zsq")).metadata().get("calibration.data").contains("REAL"));
        double fp32 = (Double) r.get("fp32_top1");
        assertTrue((Double) ((List<Map<String, Object>>) r.get("results")).get(0).get("int_top1") >= fp32 - 1.0);
    }

    @Test
    void badInputsGiveClearErrors() {
        ModelImportException e = assertThrows(ModelImportException.class,
                () -> small(dir.resolve("missing.onnx"), dir.resolve("o")).build().run(jsc));
        assertTrue(e.getMessage().contains("missing.onnx"), e.getMessage());
        IllegalArgumentException bits = assertThrows(IllegalArgumentException.class, () -> QuantizeJob.builder().bits("w9a8"));
        assertTrue(bits.getMessage().contains("2..8"), bits.getMessage());
        IllegalArgumentException cli = assertThrows(IllegalArgumentException.class, () -> Main.run(new String[] {"quantize", "--modle", "x"}));
        assertTrue(cli.getMessage().contains("--modle"), cli.getMessage());
    }
}
