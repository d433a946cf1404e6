package io.zsq.ptq.pipeline;

import io.zsq.core.exec.Fp32Engine;
import io.zsq.core.ir.Graph;
import io.zsq.core.passes.StatRequest;
import io.zsq.core.quant.Scheme;
import io.zsq.ptq.Calibrator;
import io.zsq.ptq.MixedPrecision;
import io.zsq.ptq.ObserverSpec;
import java.io.Serializable;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/** The statistics Level-1 passes and reports ask for (besides zsq-core's {@code Dfq.InputMeans}). */
public final class Requests {
    private Requests() {}

    /** Observed ranges of {@code tensors} with one observer spec: what quantizer placement needs. */
    public record ActivationRanges(ObserverSpec spec, List<String> tensors) implements StatRequest<Ranges> {
        public ActivationRanges {
            tensors = List.copyOf(tensors);
        }

        @Override
        public Ranges observe(Graph g, int index, float[] x, int n, Fp32Engine.Trace trace) {
            Map<String, ObserverSpec.Accumulator> acc = new LinkedHashMap<>();
            for (String t : tensors) {
                ObserverSpec.Accumulator a = spec.empty();
                float[] v = trace.get(t);
                for (float f : v) {
                    if (!Float.isFinite(f)) {
                        throw new IllegalArgumentException(g.metadata().getOrDefault(io.zsq.core.imports.ModelImporter.SOURCE_FILE, "the model")
                                + ": produces NaN or infinite values at tensor " + t + " on calibration batch " + index
                                + " (damaged or diverged weights?)");
                    }
                }
                a.observe(v);
                acc.put(t, a);
            }
            return new Ranges(acc);
        }

        @Override
        public Ranges merge(Ranges a, Ranges b) {
            return new Ranges(Calibrator.merge(a.accumulators(), b.accumulators()));
        }
    }

    /** Accumulators by tensor. */
    public record Ranges(Map<String, ObserverSpec.Accumulator> accumulators) implements Serializable {}

    /** ZeroQ's per-layer sensitivity at every candidate weight width, under {@code scheme}'s granularity and range. */
    public record Sensitivity(Scheme scheme) implements StatRequest<MixedPrecision.Sensitivity> {
        @Override
        public MixedPrecision.Sensitivity observe(Graph g, int index, float[] x, int n, Fp32Engine.Trace trace) {
            return MixedPrecision.measure(g, scheme, x, n);
        }

        @Override
        public MixedPrecision.Sensitivity merge(MixedPrecision.Sensitivity a, MixedPrecision.Sensitivity b) {
            return a.merge(b);
        }
    }

    /** The first calibration batch itself (the report measures per-layer activation SQNR on it). */
    public record FirstBatch() implements StatRequest<Sample> {
        @Override
        public Sample observe(Graph g, int index, float[] x, int n, Fp32Engine.Trace trace) {
            return index == 0 ? new Sample(x.clone(), n) : null;
        }

        @Override
        public Sample merge(Sample a, Sample b) {
            return a != null ? a : b;
        }
    }

    /** NCHW images. */
    /** A batch: NCHW images, and their sample numbers in the dataset where it has them (else null). */
    public record Sample(float[] images, int size, int[] samples) implements Serializable {
        public Sample(float[] images, int size) {
            this(images, size, null);
        }
    }
}
