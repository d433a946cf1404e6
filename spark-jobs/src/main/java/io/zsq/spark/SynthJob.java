package io.zsq.spark;

import io.zsq.core.data.IdxDataset;
import io.zsq.core.data.Preprocessing;
import io.zsq.core.exec.Fp32Engine;
import io.zsq.core.ir.Graph;
import io.zsq.core.ir.Node;
import io.zsq.core.ir.OpType;
import io.zsq.synth.ArrowDataset;
import io.zsq.synth.Generator;
import io.zsq.synth.SynthConfig;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.stream.IntStream;
import org.apache.spark.api.java.JavaSparkContext;
import org.apache.spark.broadcast.Broadcast;

/**
 * Writes a calibration dataset (one Arrow file per batch, one Spark task per batch) and reports it.
 * A batch file already present with the same method, seed, steps and size is kept (resume). Each task
 * also measures its batch's diversity: the mean pairwise L2 distance of the penultimate features (the
 * input of the last dense layer), averaged over batches in the report.
 */
public final class SynthJob {
    private SynthJob() {}

    /**
     * @param real for method {@code real}: the idx folder whose {@code train} split is read (the
     *             upper bound; not data-free), else null
     */
    public static Map<String, Object> run(JavaSparkContext jsc, Broadcast<Graph> bGraph, SynthConfig cfg, Path dir, Path real,
                                          Preprocessing pre, boolean quiet) throws IOException {
        Files.createDirectories(dir);
        String d = dir.toString();
        int total = cfg.batches();
        Broadcast<IdxDataset> bReal = null;
        if (cfg.method().equals("real")) {
            if (real == null) {
                throw new IllegalArgumentException("--method real needs --real-data DIR (an idx folder with train-* files)");
            }
            bReal = jsc.broadcast(IdxDataset.load(real, "train", cfg.count()));
        }
        Broadcast<IdxDataset> realData = bReal;
        long wall0 = System.nanoTime();
        List<double[]> res = jsc.parallelize(IntStream.range(0, total).boxed().toList(), total).map(b -> {
            Path f = ArrowDataset.batchFile(Path.of(d), b);
            Graph g = bGraph.value();
            if (Files.exists(f)) {
                ArrowDataset.Read r = ArrowDataset.read(f);
                Map<String, String> m = r.metadata();
                if (String.valueOf(cfg.seed()).equals(m.get("zsq.job_seed")) && String.valueOf(cfg.objectiveSteps()).equals(m.get("zsq.steps"))
                        && r.size() == cfg.sizeOf(b) && cfg.method().equals(m.get("zsq.method"))) {
                    double loss = 0; // the stored final loss by term, summed
                    for (String part : m.getOrDefault("zsq.final_loss", "{}").replaceAll("[{}]", "").split(",")) {
                        loss += part.contains(":") ? Double.parseDouble(part.substring(part.indexOf(':') + 1)) : 0;
                    }
                    return new double[] {b, loss, 1, diversity(g, r.images(), r.size()), 0, 0};
                }
            }
            Generator.Batch batch;
            long t0 = System.nanoTime();
            if (realData != null) {
                batch = Generator.real(realData.value(), pre, cfg, b);
            } else {
                batch = Generator.generate(g, cfg, b, (step, l) -> {
                    if (!quiet && (step % 50 == 0)) {
                        System.err.printf("zsq: synthesize batch %d/%d  step %d/%d  loss %.4f%n", b + 1, total, step, cfg.steps(), l);
                    }
                });
            }
            double secs = (System.nanoTime() - t0) / 1e9;
            ArrowDataset.write(Path.of(d), batch, g.inputShape(), cfg);
            double loss = batch.finalLoss().values().stream().mapToDouble(Double::doubleValue).sum();
            if (!quiet) {
                System.err.printf("zsq: synthesize batch %d/%d  done, loss %.4f%n", b + 1, total, loss);
            }
            return new double[] {b, loss, 0, diversity(g, batch.images(), batch.size()), secs, batch.size()};
        }).collect();
        double wall = (System.nanoTime() - wall0) / 1e9;
        Map<String, Object> r = new LinkedHashMap<>();
        r.put("method", cfg.method());
        r.put("dataset", dir.toString());
        r.put("count", cfg.count());
        r.put("batch", cfg.batchSize());
        r.put("steps", cfg.objectiveSteps());
        r.put("lr", cfg.learningRate());
        r.put("seed", cfg.seed());
        r.put("batches_resumed", res.stream().filter(v -> v[2] > 0).count());
        r.put("mean_final_loss", res.stream().mapToDouble(v -> v[1]).average().orElse(Double.NaN));
        r.put("diversity_penultimate", res.stream().mapToDouble(v -> v[3]).average().orElse(Double.NaN));
        double genSecs = res.stream().mapToDouble(v -> v[4]).sum(), genImages = res.stream().mapToDouble(v -> v[5]).sum();
        r.put("generation_task_seconds", genSecs);
        r.put("images_per_second_per_task", genSecs > 0 ? genImages / genSecs : Double.NaN);
        r.put("job_seconds", wall);
        r.put("images_per_second", genImages > 0 ? genImages / wall : Double.NaN);
        return r;
    }

    /** Mean pairwise L2 distance of the penultimate features within a batch (NaN without a dense layer). */
    static double diversity(Graph g, float[] images, int n) {
        Node last = null;
        for (Node node : g.nodes()) {
            if (node.op() == OpType.DENSE) {
                last = node;
            }
        }
        if (last == null || n < 2) {
            return Double.NaN;
        }
        float[] f = Fp32Engine.forward(g, images, n, null).get(last.input());
        int dim = f.length / n;
        double sum = 0;
        for (int i = 0; i < n; i++) {
            for (int j = i + 1; j < n; j++) {
                double s = 0;
                for (int k = 0; k < dim; k++) {
                    double e = f[i * dim + k] - f[j * dim + k];
                    s += e * e;
                }
                sum += Math.sqrt(s);
            }
        }
        return sum / ((double) n * (n - 1) / 2);
    }
}
