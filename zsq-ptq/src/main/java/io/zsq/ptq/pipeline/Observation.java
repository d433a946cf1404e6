package io.zsq.ptq.pipeline;

import io.zsq.core.exec.Fp32Engine;
import io.zsq.core.ir.Graph;
import io.zsq.core.passes.StatRequest;
import io.zsq.core.passes.Stats;
import java.io.IOException;
import java.io.Serializable;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.stream.IntStream;

/**
 * One pass over a dataset for every statistic asked for: equal requests are pooled, each batch is read
 * once and run through the graph once, and every request sees that trace. Per-batch results are merged
 * in batch order ({@link Executor#reduce}), so threads, partitions and executors change nothing.
 */
public final class Observation {
    private Observation() {}

    /** Batches of images to observe. */
    public interface Source extends Serializable {
        int batches();

        /**
         * Whether synthesis assigned each image a class, {@code sample mod classes} (the {@code label} term of
         * its objective), so that a batch's sample numbers give its labels.
         */
        default boolean assignedLabels() {
            return false;
        }

        /** Batch {@code i}: NCHW images. */
        Requests.Sample read(int i) throws IOException;
    }

    /** Observes {@code requests} (pooled) on every batch of {@code source}; the merged statistics. */
    @SuppressWarnings({"unchecked", "rawtypes"})
    public static Stats observe(Executor ex, String stage, Graph g, List<StatRequest<?>> requests, Source source) throws IOException {
        List<StatRequest<?>> pooled = new ArrayList<>(new LinkedHashSet<>(requests));
        if (pooled.isEmpty()) {
            return Stats.of(Map.of());
        }
        Executor.Shared<Graph> graph = ex.share(g);
        Executor.Shared<ArrayList<StatRequest<?>>> reqs = ex.share(new ArrayList<>(pooled));
        Executor.Shared<Source> src = ex.share(source);
        List<Integer> idx = IntStream.range(0, source.batches()).boxed().toList();
        ArrayList<Serializable> all = ex.reduce(stage, idx, i -> {
            Requests.Sample b = src.get().read(i);
            Fp32Engine.Trace t = Fp32Engine.forward(graph.get(), b.images(), b.size(), null);
            ArrayList<Serializable> v = new ArrayList<>();
            for (StatRequest<?> r : reqs.get()) {
                v.add(r.observe(graph.get(), i, b.images(), b.size(), t));
            }
            return v;
        }, (a, b) -> {
            ArrayList<Serializable> m = new ArrayList<>();
            for (int k = 0; k < a.size(); k++) {
                m.add((Serializable) ((StatRequest) reqs.get().get(k)).merge(a.get(k), b.get(k)));
            }
            return m;
        });
        Map<StatRequest<?>, Serializable> merged = new LinkedHashMap<>();
        for (int k = 0; k < pooled.size(); k++) {
            merged.put(pooled.get(k), all.get(k));
        }
        return Stats.of(merged);
    }
}
