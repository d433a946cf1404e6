package io.zsq.qat;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import io.zsq.ptq.pipeline.InProcessExecutor;
import io.zsq.ptq.pipeline.Json;
import io.zsq.ptq.pipeline.Pipeline;
import io.zsq.ptq.pipeline.Plan;
import io.zsq.ptq.pipeline.QuantizeReport;
import io.zsq.runtime.IntModel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.provider.EnumSource;
import org.junit.jupiter.params.ParameterizedTest;

/**
 * Level 2 in the pipeline (found by ServiceLoader): the bundled ResNet, a small synthetic set, a few steps, real
 * FMNIST test images for the evaluation. The fine-tuned model is lowered, reported beside Level 1 and written, and
 * its integer model agrees with its own fake-quant simulation as Level 1's does.
 */
class Level2PipelineTest {
    static final Path RESNET = Path.of("../src/models/fmnist-resnet.onnx");
    static final Path FASHION = Path.of("/usr/share/datasets/fashion-mnist");

    @TempDir
    Path dir;

    @ParameterizedTest(name = "{0}")
    @EnumSource(value = Plan.QatMethod.class)
    void levelTwoIsFineTunedLoweredReportedAndWritten(Plan.QatMethod method) throws Exception {
        Path out = dir.resolve("l2");
        boolean recon = method == Plan.QatMethod.RECONSTRUCT;
        Plan.FineTune ft = new Plan.FineTune(method, 5, 8, 4, recon ? 1e-3 : 1e-4, 1e-3, Plan.Optimizer.ADAM, Plan.Schedule.COSINE, 4, 0, 2, 1);
        Plan plan = Plan.builder().model(RESNET).out(out).preprocessing("0.2860", "0.3530").count(32).batch(16).steps(10).bits("w4a8")
                .gaussianBaseline(false).eval(FASHION).evalLimit(300).fineTune(ft).quiet(true).build();
        QuantizeReport r = Pipeline.run(plan, new InProcessExecutor(2));

        assertEquals(List.of(1, 2), r.results().stream().map(QuantizeReport.ResultRow::level).toList(), "Level 1, then Level 2 from it");
        QuantizeReport.ResultRow l1 = r.results().get(0), l2 = r.results().get(1);
        assertEquals("w4a8", l2.bits());
        assertEquals("synthetic", l2.calibration());
        // the lowered Level-2 model is its simulation: the same argmax on every one of the 300 images (Level 1's does too)
        assertEquals(100.0, l2.agreementWithFakeQuant(), 0.0, "Level 2 integer vs its fake quantization");
        assertEquals(100.0, l1.agreementWithFakeQuant(), 0.0, "Level 1 integer vs its fake quantization");
        assertEquals(l2.intTop1(), l2.fakeQuantTop1(), 0.0);
        // five steps (per block for reconstruct) move the model a little, not away from what it was
        assertTrue(l2.intTop1() >= l1.intTop1() - 5, "Level 2 top-1 " + l2.intTop1() + " vs Level 1 " + l1.intTop1());

        assertEquals(1, r.fineTuning().size());
        QuantizeReport.FineTuneInfo info = r.fineTuning().get(0);
        assertEquals("w4a8", info.bits());
        assertEquals(ft, info.settings());
        assertEquals(32, info.poolImages(), "the whole synthetic set is the pool");
        assertEquals(2, info.microBatchesPerStep());
        int blocks = 5; // the bundled ResNet: the stem, three residual stages, the head
        assertEquals(recon ? 5 * blocks : 5, info.lossCurve().size());
        assertTrue(info.initialLoss() > 0 && Double.isFinite(info.finalLoss()), info.toString());
        if (recon) {
            assertTrue(info.finalLoss() < info.initialLoss(), "blocks' losses summed, learned against nearest rounding: " + info);
        } else {
            assertEquals(info.lossCurve().get(4).get(1), info.finalLoss(), 0.0);
        }
        assertEquals(0, info.stepsResumed());

        JsonNode json = Json.MAPPER.readTree(out.resolve("report.json").toFile());
        assertEquals(plan, Json.MAPPER.treeToValue(json.get("plan"), Plan.class), "the plan, Level 2's settings included, reads back");
        JsonNode f = json.get("fine_tuning").get(0);
        assertEquals(recon ? 5 * blocks : 5, f.get("loss_curve").size(), f.toString());
        assertEquals(2, json.get("results").get(1).get("level").asInt());
        assertTrue(Files.readString(out.resolve("report.html")).contains("<h2>Level 2</h2>"));
        assertTrue(Files.exists(out.resolve("qat-loss.png")));
        assertTrue(Files.exists(out.resolve("qat").resolve("w4a8").resolve("checkpoint.bin")), recon ? "the last block's checkpoint" : "the last step's checkpoint");

        IntModel m = IntModel.load(out.resolve("model.zsq"));
        String level = m.metadata().get("level");
        assertTrue(level != null && level.startsWith("2: ") && level.contains(recon ? "5 steps per block" : "5 steps)") && level.contains("no real data"),
                "the written model is Level 2's: " + level);
        assertEquals(plan, Json.MAPPER.readValue(m.metadata().get("plan"), Plan.class), "and from the model's provenance");
        assertFalse(r.realDataUsedForCalibration());
    }

    @Test
    void thePoolsLabelsAreTheClassesSynthesisAssignedAndOnlyThose() throws Exception {
        io.zsq.core.ir.Graph g = io.zsq.core.imports.ModelImporter.load(RESNET);
        Plan.Normalization norm = new Plan.Normalization("0.2860", "0.3530");
        for (String method : List.of("zeroq+label", "zeroq")) {
            Path calib = dir.resolve(method);
            Pipeline.synthesize(RESNET, calib, norm, Plan.builder().model(RESNET).out(calib).method(method).count(24).batch(8).steps(2).build()
                    .synthesis(), new InProcessExecutor(2), true);
            io.zsq.ptq.pipeline.Sources.Manifested src = io.zsq.ptq.pipeline.Sources.Manifested.of(calib,
                    io.zsq.synth.DatasetManifest.read(calib), g);
            FineTuner.Pool pool = Level2.pool(src, g.inputShape(), 10);
            assertEquals(24, pool.count());
            if (method.contains("label")) {
                assertTrue(src.assignedLabels());
                for (int i = 0; i < 24; i++) {
                    assertEquals(i % 10, pool.labels()[i], "sample " + i + "'s class: its number mod the classes, as synthesis aimed it");
                }
            } else {
                assertFalse(src.assignedLabels());
                assertEquals(null, pool.labels(), "no label term, no labels");
                Plan.FineTune ft = new Plan.FineTune(Plan.QatMethod.KD, 2, 8, 4, 1e-4, 1e-3, Plan.Optimizer.ADAM, Plan.Schedule.COSINE, 4, 0, 0, 1,
                        Plan.ActivationSteps.LSQ, 0.5);
                io.zsq.core.passes.ModelState placed = null;
                IllegalArgumentException e = org.junit.jupiter.api.Assertions.assertThrows(IllegalArgumentException.class,
                        () -> new Level2().run(ft, g, placed, src, new InProcessExecutor(1), null, System.out));
                assertTrue(e.getMessage().startsWith("--qat-label-weight needs the classes synthesis assigned"), e.getMessage());
            }
        }
    }
}
