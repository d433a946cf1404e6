package io.zsq.ptq.pipeline;

import io.zsq.core.data.LabeledImages;
import io.zsq.core.data.Preprocessing;
import io.zsq.core.exec.Fp32Engine;
import io.zsq.core.ir.Graph;
import io.zsq.core.quant.FakeQuant;
import io.zsq.runtime.IntRunner;
import java.io.IOException;
import java.util.ArrayList;
import java.util.List;
import java.util.stream.IntStream;

/**
 * Top-1 of the FP32 model, and of every variant's integer model and its fake-quantized simulation, on
 * labelled data: one task per chunk of images, counts summed in chunk order (integers: exact anyway).
 */
public final class Evaluation {
    private Evaluation() {}

    /** Images per task. */
    static final int CHUNK = 250;

    /** Correct counts: the FP32 model's, and per variant the integer model's, its agreement with the simulation, the simulation's. */
    public record Counts(int images, long fp32, long[] integer, long[] agreement, long[] fakeQuant) {
        public double pct(long k) {
            return 100.0 * k / images;
        }
    }

    public static Counts run(Executor ex, Graph fp32, List<Variant> variants, LabeledImages data, Preprocessing pre, boolean quiet)
            throws IOException {
        Executor.Shared<LabeledImages> d = ex.share(data);
        Executor.Shared<Graph> g = ex.share(fp32);
        Executor.Shared<ArrayList<Variant>> vs = ex.share(new ArrayList<>(variants));
        int chunks = (data.count() + CHUNK - 1) / CHUNK;
        List<long[]> parts = ex.map("evaluate", IntStream.range(0, chunks).boxed().toList(), c -> {
            LabeledImages dd = d.get();
            int from = c * CHUNK, n = Math.min(CHUNK, dd.count() - from);
            if (!quiet) {
                System.err.printf("zsq: evaluate images %d-%d of %d%n", from + 1, from + n, dd.count());
            }
            float[] x = dd.batch(from, n, pre);
            List<Variant> vv = vs.get();
            long[] k = new long[1 + 3 * vv.size()];
            int[] fp = argmax(Fp32Engine.run(g.get(), x, n), n);
            for (int i = 0; i < n; i++) {
                k[0] += fp[i] == dd.labels()[from + i] ? 1 : 0;
            }
            for (int v = 0; v < vv.size(); v++) {
                Variant var = vv.get(v);
                IntRunner runner = new IntRunner(var.model());
                byte[][] q = FakeQuant.quantizeInput(x, n, var.quantization().tensor(var.graph().input()));
                int[] sim = argmax(FakeQuant.of(var.graph(), var.quantization()).run(x, n), n);
                for (int i = 0; i < n; i++) {
                    int p = IntRunner.argmax(runner.run(q[i]));
                    k[1 + 3 * v] += p == dd.labels()[from + i] ? 1 : 0;
                    k[2 + 3 * v] += p == sim[i] ? 1 : 0;
                    k[3 + 3 * v] += sim[i] == dd.labels()[from + i] ? 1 : 0;
                }
            }
            return k;
        });
        long[] s = new long[1 + 3 * variants.size()];
        for (long[] p : parts) {
            for (int i = 0; i < s.length; i++) {
                s[i] += p[i];
            }
        }
        int m = variants.size();
        long[] integer = new long[m], agree = new long[m], fq = new long[m];
        for (int v = 0; v < m; v++) {
            integer[v] = s[1 + 3 * v];
            agree[v] = s[2 + 3 * v];
            fq[v] = s[3 + 3 * v];
        }
        return new Counts(data.count(), s[0], integer, agree, fq);
    }

    /** Index of the largest logit of each of {@code n} rows. */
    public static int[] argmax(float[] logits, int n) {
        int classes = logits.length / n;
        int[] r = new int[n];
        for (int i = 0; i < n; i++) {
            int best = 0;
            for (int j = 1; j < classes; j++) {
                if (logits[i * classes + j] > logits[i * classes + best]) {
                    best = j;
                }
            }
            r[i] = best;
        }
        return r;
    }
}
