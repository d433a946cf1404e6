package io.zsq.core;

import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.onnxruntime.OnnxTensor;
import ai.onnxruntime.OrtEnvironment;
import ai.onnxruntime.OrtSession;
import io.zsq.core.data.IdxDataset;
import io.zsq.core.export.OnnxExport;
import io.zsq.core.imports.ModelImporter;
import io.zsq.core.ir.Graph;
import io.zsq.core.passes.Canonicalize;
import io.zsq.core.passes.LowerToInteger;
import io.zsq.core.quant.FakeQuant;
import io.zsq.core.quant.QParams;
import io.zsq.core.quant.Scheme;
import io.zsq.runtime.IntModel;
import io.zsq.runtime.IntRunner;
import java.nio.FloatBuffer;
import java.nio.file.Path;
import java.util.Map;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

/**
 * The ONNX exports of an integer model, run in ONNX Runtime, against zsq-runtime on real test images:
 * argmax agreement of at least 99.5% and every output within one quantization step.
 */
class OnnxExportTest {
    static final int EVAL = 1000;

    @ParameterizedTest(name = "{0} W{1}A{2} {3}")
    @CsvSource({"fmnist-resnet.onnx, 8, 8, QOPERATOR", "fmnist-resnet.onnx, 8, 8, QDQ", "fmnist-mobilenet.onnx, 8, 8, QOPERATOR",
        "fmnist-mobilenet.onnx, 8, 8, QDQ", "fmnist-dl4j-cnn.zip, 8, 8, QOPERATOR", "fmnist-dl4j-cnn.zip, 8, 8, QDQ",
        "fmnist-resnet.onnx, 4, 4, QOPERATOR", "fmnist-mobilenet.onnx, 4, 4, QDQ"})
    void onnxRuntimeAgreesWithTheIntegerRuntime(String model, int wBits, int aBits, OnnxExport.Form form) throws Exception {
        Graph g = Canonicalize.run(ModelImporter.load(Path.of("../src/models", model)), null);
        Scheme scheme = Scheme.of(wBits, aBits);
        int calibN = 64;
        IdxDataset data = Fixtures.test(calibN + EVAL);
        Map<String, QParams> points = Fixtures.minMaxPoints(g, scheme, data.batch(0, calibN, Fixtures.PRE), calibN, aBits < 8 ? 0.6 : 1);
        IntModel m = LowerToInteger.lower(g, points, scheme, Map.of("zsq.version", "test"));
        byte[] file = OnnxExport.export(m, form);
        java.util.Set<String> ops = new java.util.TreeSet<>();
        onnx.Onnx.ModelProto.parseFrom(file).getGraph().getNodeList().forEach(n -> ops.add(n.getOpType()));
        assertTrue(form == OnnxExport.Form.QOPERATOR ? ops.contains("QLinearConv") && !ops.contains("Conv")
                : ops.containsAll(java.util.List.of("Conv", "QuantizeLinear", "DequantizeLinear")) && !ops.contains("QLinearConv"), ops.toString());
        QParams qo = LowerToInteger.tensorQuantization(m, m.outputName());
        IntRunner runner = new IntRunner(m);
        OrtEnvironment env = OrtEnvironment.getEnvironment();
        ExportAgreement e = new ExportAgreement();
        try (OrtSession s = env.createSession(file, new OrtSession.SessionOptions())) {
            for (int from = calibN; from < calibN + EVAL; from += 250) {
                float[] x = data.batch(from, 250, Fixtures.PRE);
                float[][] ort;
                try (OnnxTensor t = OnnxTensor.createTensor(env, FloatBuffer.wrap(x), new long[] {250, 1, 28, 28});
                     OrtSession.Result r = s.run(Map.of(s.getInputNames().iterator().next(), t))) {
                    ort = (float[][]) r.get(0).getValue();
                }
                byte[][] q = FakeQuant.quantizeInput(x, 250, points.get(g.input()));
                for (int i = 0; i < 250; i++) {
                    e.add(ort[i], runner.run(q[i]), qo);
                }
            }
        }
        System.out.printf("%s W%dA%d %s: argmax agreement %d/%d, outputs within one step %d/%d, largest difference %.2f steps%n",
                model, wBits, aBits, form, e.agree, EVAL, e.within, e.values, e.worst);
        assertTrue(e.agree >= 0.995 * EVAL, "argmax agreement " + e.agree + "/" + EVAL);
        assertTrue(e.within == e.values, e.within + " of " + e.values + " outputs within one step; largest " + e.worst);
    }
}
