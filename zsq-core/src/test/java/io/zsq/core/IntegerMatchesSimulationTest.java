package io.zsq.core;

import static org.junit.jupiter.api.Assertions.assertTrue;

import io.zsq.core.exec.Fp32Engine;
import io.zsq.core.imports.ModelImporter;
import io.zsq.core.ir.Graph;
import io.zsq.core.passes.Canonicalize;
import io.zsq.core.passes.LowerToInteger;
import io.zsq.core.quant.FakeQuant;
import io.zsq.core.quant.QParams;
import io.zsq.core.quant.QuantPoints;
import io.zsq.core.quant.Scheme;
import io.zsq.runtime.IntModel;
import io.zsq.runtime.IntRunner;
import io.zsq.runtime.Layer;
import java.nio.file.Path;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.Map;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

/**
 * The integer model and the FP32 fake-quantized simulation of the same parameters agree on every
 * activation of every layer given the same inputs (up to float near-ties), not only on the argmax:
 * the simulation is what calibration and the reports reason about. Ranges are 0.6 x the observed min-max, so clamping is exercised; 4-bit
 * grids make small accumulators, where a requantization that rounds twice is off by one level.
 */
class IntegerMatchesSimulationTest {

    @ParameterizedTest(name = "{0} W{1}A{1}")
    @CsvSource({"fmnist-resnet.onnx, 8", "fmnist-resnet.onnx, 4", "fmnist-mobilenet.onnx, 8", "fmnist-mobilenet.onnx, 4",
        "fmnist-dl4j-cnn.zip, 4"})
    void everyLayerMatchesTheSimulation(String model, int bits) {
        Graph g = Canonicalize.run(ModelImporter.load(Path.of("../src/models", model)), null);
        Scheme scheme = Scheme.of(bits, bits);
        int n = 48;
        float[] x = Fixtures.test(2 * n).batch(0, 2 * n, Fixtures.PRE);
        float[] calib = java.util.Arrays.copyOfRange(x, 0, x.length / 2), eval = java.util.Arrays.copyOfRange(x, x.length / 2, x.length);
        Map<String, QParams> points = Fixtures.minMaxPoints(g, scheme, calib, n, 0.6);
        IntModel m = LowerToInteger.lower(g, points, scheme, Map.of());
        FakeQuant.Simulation sim = FakeQuant.of(g, points, scheme);
        Fp32Engine.Trace st = Fp32Engine.forward(sim.graph(), eval, n, sim.hook());
        Map<String, QParams> act = QuantPoints.propagate(g, points);
        byte[][] q = FakeQuant.quantizeInput(eval, n, act.get(g.input()));
        Map<String, long[]> diff = new LinkedHashMap<>(); // tensor -> {elements, mismatches, largest difference in levels}
        Map<String, float[]> simulated = new HashMap<>();
        for (Layer l : m.layers()) {
            simulated.put(l.output(), st.nchw(sim.graph(), l.output()));
        }
        for (int i = 0; i < n; i++) {
            // each layer reads the simulation's (quantized) inputs, so a near-tie upstream does not count again downstream
            Map<String, byte[]> v = new HashMap<>();
            v.put(m.inputName(), q[i]);
            for (Layer l : m.layers()) {
                float[] s = simulated.get(l.output());
                QParams p = act.get(l.output());
                byte[] y = IntRunner.step(l, v);
                byte[] ys = new byte[y.length];
                for (int j = 0; j < y.length; j++) {
                    ys[j] = (byte) p.quantize(s[i * y.length + j]);
                }
                v.put(l.output(), ys);
                long[] d = diff.computeIfAbsent(l.output(), k -> new long[3]);
                for (int j = 0; j < y.length; j++) {
                    int e = Math.abs(p.quantize(s[i * y.length + j]) - y[j]);
                    d[0]++;
                    d[1] += e > 0 ? 1 : 0;
                    d[2] = Math.max(d[2], e);
                }
            }
        }
        diff.forEach((tensor, d) -> assertTrue(d[1] <= d[0] / 10_000 && d[2] <= 1,
                model + " W" + bits + "A" + bits + " " + tensor + ": " + d[1] + " of " + d[0] + " values differ, by up to " + d[2] + " levels"));
    }
}
