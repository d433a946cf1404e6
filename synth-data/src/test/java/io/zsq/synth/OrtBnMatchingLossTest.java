package io.zsq.synth;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.zsq.core.exec.OrtDevice;
import io.zsq.core.imports.ModelImporter;
import io.zsq.core.ir.Graph;
import io.zsq.core.ir.Tensor;
import java.nio.file.Path;
import java.util.Map;
import org.junit.jupiter.api.Test;

/**
 * The ONNX Runtime engine (its CPU provider here) against zsq's Vector API engine: the same terms and the
 * same input gradient up to float rounding (relative 1e-4 in norm), on graphs with every op the engines
 * differentiate and on the bundled models, for the plain ZeroQ objective and for one with every term.
 */
class OrtBnMatchingLossTest {
    static final Objective ZEROQ = Objective.of(Method.ZEROQ);
    static final Objective ALL = Objective.of(Method.parse("zeroq+label+di+dsg"));

    @Test
    void everyOpGivesTheVectorEnginesTermsAndGradient() {
        for (Graph g : new Graph[] {RandomGraphs.small(3), RandomGraphs.optionA(4), RandomGraphs.squeezeExcite(5), RandomGraphs.wide(6)}) {
            for (Objective obj : new Objective[] {ZEROQ, ALL}) {
                compare(g, 3, obj, 2, "random graph " + g.nodes().size() + " nodes, " + obj);
            }
        }
    }

    @Test
    void bundledModelsGiveTheVectorEnginesTermsAndGradient() {
        for (String m : new String[] {"fmnist-resnet", "fmnist-mobilenet"}) {
            Graph g = ModelImporter.load(Path.of("../src/models/" + m + ".onnx"));
            compare(g, 8, ALL, 5, m);
            compare(g, 5, ZEROQ, 0, m + " (a last batch of another size)");
        }
    }

    @Test
    void theGeneratorMakesTheSameImagesOnEitherEngine() {
        Graph g = RandomGraphs.wide(8);
        SynthConfig cfg = new SynthConfig(Method.parse("zeroq+label"), 6, 3, 30, 0.05, 7);
        Generator.Batch vec = Generator.generate(g, cfg, 1, null);
        Generator.Batch ort;
        try (OrtBnMatchingLoss loss = new OrtBnMatchingLoss(g, OrtDevice.cpu(1))) {
            ort = Generator.generate(g, cfg, 1, null, loss);
        }
        double diff = 0, norm = 0;
        for (int i = 0; i < vec.images().length; i++) {
            diff += Math.pow(vec.images()[i] - ort.images()[i], 2);
            norm += Math.pow(vec.images()[i], 2);
        }
        assertTrue(Math.sqrt(diff / norm) < 1e-3, "images after 30 Adam steps differ by " + Math.sqrt(diff / norm) + " (relative)");
        assertEquals(vec.finalLoss().keySet(), ort.finalLoss().keySet());
        double a = vec.finalLoss().values().stream().mapToDouble(Double::doubleValue).sum();
        double b = ort.finalLoss().values().stream().mapToDouble(Double::doubleValue).sum();
        assertEquals(a, b, 1e-3 * Math.abs(a), "final loss");
    }

    private static void compare(Graph g, int batch, Objective obj, int first, String what) {
        int per = Tensor.size(g.inputShape());
        float[] x = Seeds.gaussian(17, batch * per);
        for (int i = 0; i < x.length; i++) {
            x[i] = 1.3f * x[i] + 0.2f;
        }
        float[] gv = new float[x.length], go = new float[x.length];
        BnMatchingLoss.Value v = new BnMatchingLoss(g).lossAndInputGradient(g, x, batch, gv, obj, first);
        BnMatchingLoss.Value o;
        try (OrtBnMatchingLoss ort = new OrtBnMatchingLoss(g, OrtDevice.cpu(1))) {
            o = ort.lossAndInputGradient(g, x, batch, go, obj, first);
        }
        assertEquals(v.terms().keySet(), o.terms().keySet(), what + ": terms");
        for (Map.Entry<String, Double> e : v.terms().entrySet()) {
            double a = e.getValue(), b = o.terms().get(e.getKey());
            assertEquals(a, b, 1e-4 * Math.abs(v.total()) + 1e-9, what + ": term " + e.getKey());
        }
        double diff = 0, norm = 0;
        for (int i = 0; i < x.length; i++) {
            diff += Math.pow(gv[i] - go[i], 2);
            norm += Math.pow(gv[i], 2);
        }
        assertTrue(norm > 0, what + ": a zero gradient compares nothing");
        assertTrue(Math.sqrt(diff / norm) < 1e-4, what + ": input gradients differ by " + Math.sqrt(diff / norm) + " (relative, in norm)");
    }
}
