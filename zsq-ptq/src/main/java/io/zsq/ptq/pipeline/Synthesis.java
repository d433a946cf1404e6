package io.zsq.ptq.pipeline;

import com.fasterxml.jackson.core.type.TypeReference;
import io.zsq.core.data.LabeledImages;
import io.zsq.core.data.Preprocessing;
import io.zsq.core.exec.Fp32Engine;
import io.zsq.core.io.Locations;
import io.zsq.core.ir.Graph;
import io.zsq.core.ir.Node;
import io.zsq.core.ir.OpType;
import io.zsq.synth.ArrowDataset;
import io.zsq.synth.DatasetManifest;
import io.zsq.synth.DatasetSpec;
import io.zsq.synth.Generator;
import io.zsq.synth.SynthConfig;
import java.io.IOException;
import java.io.Serializable;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.stream.IntStream;

/**
 * Writes a synthetic calibration dataset: one task per batch, each batch an Arrow file committed under
 * a temporary name, then {@code manifest.json} (the settings and every batch's SHA-256), written last.
 * A batch already on disk is kept only if it was made with exactly this dataset's settings (recorded in
 * the batch itself); otherwise the run stops with one line naming the setting that differs. Each task
 * also measures its batch's diversity (mean pairwise L2 distance of the penultimate features).
 */
public final class Synthesis {
    private Synthesis() {}

    /** What one batch task did. */
    record BatchResult(int index, String file, int images, String sha256, double loss, boolean resumed, double diversity, double seconds,
                       String device, String fallback, String gpu) implements Serializable {}

    /**
     * @param real for method {@code real}: the training images read as the (not data-free) upper bound, else null
     */
    public static QuantizeReport.SynthesisReport run(Executor ex, Graph g, SynthConfig cfg, DatasetSpec spec, Path dir, LabeledImages real,
                                                     Preprocessing pre, boolean quiet) throws IOException {
        return run(ex, g, cfg, spec, dir, real, pre, quiet, Plan.Device.CPU);
    }

    /** {@link #run} with the images optimized on {@code device}'s engine ({@link SynthesisEngines}). */
    public static QuantizeReport.SynthesisReport run(Executor ex, Graph g, SynthConfig cfg, DatasetSpec spec, Path dir, LabeledImages real,
                                                     Preprocessing pre, boolean quiet, Plan.Device device) throws IOException {
        if (Files.exists(dir) && !Files.isDirectory(dir)) {
            throw new IllegalArgumentException(dir + ": exists and is not a folder (the synthetic dataset goes there)");
        }
        Files.createDirectories(dir);
        ArrowDataset.cleanTemporaries(dir);
        Path manifest = dir.resolve(DatasetManifest.FILE);
        if (Files.exists(manifest)) {
            String diff = spec.difference(DatasetManifest.read(dir).spec());
            if (diff != null) {
                throw new IllegalArgumentException(dir + ": made with a different " + diff + "; remove the folder or choose another "
                        + "--out to start fresh");
            }
        }
        int total = cfg.batches();
        for (int b = 0; b < total; b++) {
            if (!Files.exists(ArrowDataset.batchFile(dir, b))) {
                Files.deleteIfExists(manifest); // it will not describe the folder until every batch is back
                break;
            }
        }
        String d = Locations.name(dir); // the same folder on every JVM of the job
        Executor.Shared<Graph> graph = ex.share(g);
        Executor.Shared<LabeledImages> realData = real == null ? null : ex.share(real);
        long wall0 = System.nanoTime();
        boolean optimizes = real == null && cfg.method().optimizes();
        List<BatchResult> res = ex.map("synthesize", IntStream.range(0, total).boxed().toList(), b -> {
            Path f = ArrowDataset.batchFile(Locations.of(d), b);
            Graph gg = graph.get();
            if (Files.exists(f)) {
                ArrowDataset.Read r = ArrowDataset.read(f);
                DatasetSpec made = ArrowDataset.spec(r);
                if (made == null) {
                    throw new IllegalArgumentException(f + ": made by an older zsq (no dataset settings recorded); remove " + d
                            + " or choose another --out to start fresh");
                }
                String diff = spec.difference(made);
                if (diff != null) {
                    throw new IllegalArgumentException(f + ": made with a different " + diff + "; remove " + d
                            + " or choose another --out to start fresh");
                }
                Map<String, Double> loss = io.zsq.ptq.pipeline.Json.MAPPER.readValue(r.metadata().getOrDefault("zsq.final_loss", "{}"),
                        new TypeReference<Map<String, Double>>() {});
                return new BatchResult(b, f.getFileName().toString(), r.size(), r.sha256(),
                        loss.values().stream().mapToDouble(Double::doubleValue).sum(), true, diversity(gg, r.images(), r.size()), 0, null, null, null);
            }
            long t0 = System.nanoTime();
            SynthesisEngines.Choice engine = optimizes ? SynthesisEngines.choose(device, gg) : new SynthesisEngines.Choice(null, null, null);
            Generator.Batch batch;
            if (realData != null) {
                batch = Generator.real(realData.get(), pre, cfg, b);
            } else {
                batch = Generator.generate(gg, cfg, b, (step, l) -> {
                    if (!quiet && step % 50 == 0) {
                        System.err.printf("zsq: synthesize batch %d/%d  step %d/%d  loss %.4f%n", b + 1, total, step, cfg.steps(), l);
                    }
                }, engine.loss());
            }
            double secs = (System.nanoTime() - t0) / 1e9;
            for (float v : batch.images()) {
                if (!Float.isFinite(v)) { // never written: a dataset of NaN images would calibrate nothing
                    throw new IllegalArgumentException(gg.metadata().getOrDefault(io.zsq.core.imports.ModelImporter.SOURCE_FILE, "the model")
                            + ": synthesis of batch " + b + " diverged (NaN or infinite images): the model produces non-finite values or "
                            + "gradients (damaged or diverged weights?)");
                }
            }
            String sha = ArrowDataset.write(Locations.of(d), batch, gg.inputShape(), cfg, spec);
            double loss = batch.finalLoss().values().stream().mapToDouble(Double::doubleValue).sum();
            if (!quiet) {
                System.err.printf("zsq: synthesize batch %d/%d  done, loss %.4f%n", b + 1, total, loss);
            }
            return new BatchResult(b, f.getFileName().toString(), batch.size(), sha, loss, false, diversity(gg, batch.images(), batch.size()),
                    secs, engine.device(), engine.fallback(), TaskGpu.address());
        }, optimizes && device.wantsGpu());
        java.util.Map<String, Integer> devices = new java.util.TreeMap<>(), gpus = new java.util.TreeMap<>();
        String fallback = null;
        for (BatchResult r : res) {
            if (r.device() != null) {
                devices.merge(r.device(), 1, Integer::sum);
            }
            if (r.gpu() != null) {
                gpus.merge(r.gpu(), 1, Integer::sum);
            }
            fallback = fallback != null ? fallback : r.fallback();
        }
        if (fallback != null && device == Plan.Device.GPU) {
            System.err.println("zsq: --device gpu: " + fallback + "; synthesized on the CPU (zsq's Vector API engine) instead");
        }
        double wall = (System.nanoTime() - wall0) / 1e9;
        ArrowDataset.cleanTemporaries(dir); // what attempts lost with their executors left behind
        List<DatasetManifest.Entry> entries = new ArrayList<>();
        for (BatchResult r : res) {
            entries.add(new DatasetManifest.Entry(r.file(), r.images(), r.sha256()));
        }
        new DatasetManifest(DatasetManifest.SCHEMA_VERSION, spec, entries).write(dir);
        double genSecs = res.stream().mapToDouble(BatchResult::seconds).sum();
        double genImages = res.stream().filter(r -> !r.resumed()).mapToDouble(BatchResult::images).sum();
        return new QuantizeReport.SynthesisReport(cfg.method().toString(), dir, true, spec, total, res.stream().filter(BatchResult::resumed).count(),
                res.stream().mapToDouble(BatchResult::loss).average().orElse(Double.NaN),
                res.stream().mapToDouble(BatchResult::diversity).average().orElse(Double.NaN), genSecs,
                genSecs > 0 ? genImages / genSecs : Double.NaN, wall, genImages > 0 ? genImages / wall : Double.NaN, device.toString(),
                devices.isEmpty() ? null : devices, gpus.isEmpty() ? null : gpus, fallback);
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
