package io.zsq.ptq.pipeline;

import io.zsq.core.io.Locations;
import io.zsq.core.ir.Graph;
import io.zsq.core.ir.Tensor;
import io.zsq.synth.ArrowDataset;
import io.zsq.synth.DatasetManifest;
import io.zsq.synth.Generator;
import io.zsq.synth.SynthConfig;
import io.zsq.synth.Method;
import java.io.IOException;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.atomic.AtomicLong;

/** The datasets calibration observes. */
public final class Sources {
    private Sources() {}

    /** Arrow batches read so far in this JVM (each batch is read once per run: a test counts them). */
    public static final AtomicLong ARROW_READS = new AtomicLong();

    /**
     * The batches a manifest lists, each read once and checked against its SHA-256 and the model's input
     * size; a batch that changed after it was written, or does not fit the model, fails naming the file.
     */
    public record Manifested(String dir, List<DatasetManifest.Entry> entries, int imageSize, int batch, boolean assignedLabels)
            implements Observation.Source {
        public static Manifested of(Path dir, DatasetManifest m, Graph g) {
            boolean labels = m.spec() != null && m.spec().objective() != null && m.spec().objective().labelWeight() > 0
                    && m.spec().method() != null && Method.parse(m.spec().method()).has(Method.Component.LABEL);
            return new Manifested(Locations.name(dir), m.batches(), Tensor.size(g.inputShape()), m.spec() == null ? 0 : m.spec().batch(), labels);
        }

        @Override
        public int batches() {
            return entries.size();
        }

        @Override
        public Requests.Sample read(int i) throws IOException {
            DatasetManifest.Entry e = entries.get(i);
            Path f = Locations.of(dir).resolve(e.file());
            ArrowDataset.Read r = ArrowDataset.read(f);
            ARROW_READS.incrementAndGet();
            ArrowDataset.verify(r, e, f);
            if (r.size() != e.images() || r.images().length != (long) r.size() * imageSize) {
                throw new IOException(f + ": holds " + r.size() + " images of " + (r.size() == 0 ? 0 : r.images().length / r.size())
                        + " values; manifest.json and the model say " + e.images() + " of " + imageSize);
            }
            // a file holds its images' places in the batch; batch-NNNNN.arrow is batch NNNNN of `batch` images
            int first = Integer.parseInt(e.file().substring("batch-".length(), "batch-".length() + 5)) * batch;
            int[] samples = new int[r.size()];
            for (int j = 0; j < samples.length; j++) {
                samples[j] = first + r.samples()[j];
            }
            return new Requests.Sample(r.images(), r.size(), samples);
        }
    }

    /** Gaussian noise clamped to the valid input range, generated per batch from the job seed: the lower bound. */
    public record Gaussian(Graph graph, SynthConfig cfg) implements Observation.Source {
        public Gaussian {
            cfg = cfg.withMethod(io.zsq.synth.Method.GAUSSIAN);
        }

        @Override
        public int batches() {
            return cfg.batches();
        }

        @Override
        public Requests.Sample read(int i) {
            Generator.Batch b = Generator.generate(graph, cfg, i, null);
            return new Requests.Sample(b.images(), b.size());
        }
    }
}
