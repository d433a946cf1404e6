package io.zsq.ptq;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.zsq.core.imports.ModelImporter;
import io.zsq.core.ir.Graph;
import io.zsq.core.ir.Node;
import io.zsq.core.passes.Canonicalize;
import java.nio.file.Path;
import java.util.Map;
import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;

class BnRangesTest {

    /** Phi(x) by Simpson's rule on the density: an independent check of the quantile function. */
    private static double phi(double x) {
        int n = 20_000;
        double h = x / n, s = 0;
        for (int i = 0; i <= n; i++) {
            double t = i * h, f = Math.exp(-t * t / 2) / Math.sqrt(2 * Math.PI);
            s += f * (i == 0 || i == n ? 1 : (i % 2 == 1 ? 4 : 2));
        }
        return 0.5 + s * h / 3;
    }

    @Test
    void quantileFunctionInvertsTheNormalCdf() {
        for (double p : new double[] {1e-6, 1e-4, 0.001, 0.01, 0.02425, 0.1, 0.3, 0.5, 0.7, 0.9, 0.97575, 0.99, 0.9999, 1 - 1e-6}) {
            double x = BnRanges.inverseNormal(p);
            assertEquals(p, phi(x), 1e-6 * Math.min(p, 1 - p), "p = " + p); // relative to the smaller tail
        }
        assertEquals(0, BnRanges.inverseNormal(0.5), 1e-12);
        assertEquals(-BnRanges.inverseNormal(0.2), BnRanges.inverseNormal(0.8), 1e-12);
    }

    /**
     * Every folded layer of the ResNet gets a range; for the min-max observer that range is where the
     * fused activation clips or the extreme stratified quantile of the widest channel, and it matches
     * what random N(beta, gamma^2) samples of the same size give to within their spread.
     */
    @Test
    void rangesComeFromTheFoldedStatistics() {
        Graph c = Canonicalize.run(ModelImporter.load(Path.of("../src/models/fmnist-resnet.onnx")), null);
        Map<String, ObserverSpec.Accumulator> bn = BnRanges.observe(c, ObserverSpec.parse("minmax"));
        int folded = 0;
        double zMax = BnRanges.inverseNormal(1 - 0.5 / BnRanges.SAMPLES);
        SplittableRandom r = new SplittableRandom(4);
        for (Node n : c.nodes()) {
            if (n.param(Node.STATS_BETA) == null) {
                continue;
            }
            folded++;
            float[] beta = n.param(Node.STATS_BETA).data(), gamma = n.param(Node.STATS_GAMMA).data();
            float lo = n.f("fusedMin", Float.NEGATIVE_INFINITY), hi = n.f("fusedMax", Float.POSITIVE_INFINITY);
            double eLo = Double.MAX_VALUE, eHi = -Double.MAX_VALUE, sLo = Double.MAX_VALUE, sHi = -Double.MAX_VALUE;
            for (int ch = 0; ch < beta.length; ch++) {
                eLo = Math.min(eLo, Math.max(lo, beta[ch] - gamma[ch] * zMax));
                eHi = Math.max(eHi, Math.min(hi, beta[ch] + gamma[ch] * zMax));
                for (int k = 0; k < BnRanges.SAMPLES; k++) {
                    double v = Math.max(lo, Math.min(hi, beta[ch] + gamma[ch] * r.nextGaussian()));
                    sLo = Math.min(sLo, v);
                    sHi = Math.max(sHi, v);
                }
            }
            double[] got = bn.get(n.output()).range(8);
            assertEquals(Math.min(eLo, 0), Math.min(got[0], 0), 1e-4 * (eHi - eLo) + 1e-6, n.id() + " min");
            assertEquals(eHi, got[1], 1e-4 * (eHi - eLo), n.id() + " max");
            assertEquals(sHi, got[1], 0.25 * (sHi - Math.max(sLo, 0)), n.id() + " max vs sampling");
        }
        assertEquals(folded, bn.size());
        assertTrue(folded >= 9, "the ResNet has 9 folded BatchNorms, found " + folded);
    }
}
