package io.zsq.core;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.zsq.core.imports.ModelImporter;
import io.zsq.core.ir.Graph;
import io.zsq.core.ir.Property;
import io.zsq.core.passes.AbsorbHighBias;
import io.zsq.core.passes.BiasCorrection;
import io.zsq.core.passes.CorrectBias;
import io.zsq.core.passes.Equalize;
import io.zsq.core.passes.FoldBatchNorm;
import io.zsq.core.passes.FuseActivations;
import io.zsq.core.passes.Lower;
import io.zsq.core.passes.ModelState;
import io.zsq.core.passes.Pass;
import io.zsq.core.passes.PassRunner;
import io.zsq.core.quant.Scheme;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

/** The runner enforces what passes declare: a wrong order fails before anything runs, naming the pass and the property. */
class PassOrderTest {
    static final Graph RESNET = ModelImporter.load(Fixtures.RESNET_ONNX);

    @Test
    void theDfqOrderRunsAndRecordsStructuredReports() {
        PassRunner r = new PassRunner();
        ModelState s = r.runAll(List.of(new FoldBatchNorm(), new FuseActivations(), new Equalize(), new AbsorbHighBias(),
                new CorrectBias(Scheme.of(8, 8), BiasCorrection.ANALYTICAL)), ModelState.of(RESNET));
        assertTrue(s.properties().containsAll(List.of(Property.BN_FOLDED, Property.ACTIVATIONS_FUSED, Property.EQUALIZED,
                Property.HIGH_BIAS_ABSORBED, Property.BIAS_CORRECTED)), s.properties().toString());
        assertEquals(List.of("fold-batchnorm", "fuse-activations", "cross-layer-equalization", "high-bias-absorption", "bias-correction"),
                r.records().stream().map(PassRunner.Record::name).toList());
        FoldBatchNorm.Report fold = (FoldBatchNorm.Report) r.records().get(0).report();
        assertEquals(9, fold.folded(), fold.toString());
    }

    @Test
    void aWrongOrderFailsNamingThePassAndTheProperty() {
        List<List<Pass<?>>> wrong = List.of(
                List.of(new FuseActivations()),                                              // fusion before folding
                List.of(new Equalize()),                                                     // equalization on the raw graph
                List.of(new FoldBatchNorm(), new FoldBatchNorm()),                           // twice
                List.of(new FoldBatchNorm(), new FuseActivations(), new CorrectBias(Scheme.of(8, 8), BiasCorrection.ANALYTICAL),
                        new Equalize()),                                                     // equalization after bias correction
                List.of(new FoldBatchNorm(), new FuseActivations(), new Lower(Map.of())));   // lowering before quantizers are placed
        for (List<Pass<?>> passes : wrong) {
            IllegalStateException e = assertThrows(IllegalStateException.class, () -> PassRunner.plan(passes, RESNET.properties()),
                    passes.toString());
            Pass<?> last = passes.get(passes.size() - 1);
            assertTrue(e.getMessage().contains(last.name()), e.getMessage());
            IllegalStateException run = assertThrows(IllegalStateException.class, () -> new PassRunner().runAll(passes, ModelState.of(RESNET)));
            assertEquals(e.getMessage(), run.getMessage());
        }
    }
}
