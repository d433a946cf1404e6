package io.zsq.core.passes;

import io.zsq.core.ir.Property;
import io.zsq.core.quant.Scheme;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * Bias correction for the weight quantizer of {@code scheme} ({@link Dfq#correctBias}), with E[x] from
 * the BatchNorm statistics, from the calibration data (a {@link Dfq.InputMeans} request), or both
 * (analytical wins where both exist). Before quantizer placement.
 */
public record CorrectBias(Scheme scheme, BiasCorrection source) implements Pass<Dfq.BiasCorrectionReport> {

    public CorrectBias {
        if (source == BiasCorrection.NONE) {
            throw new IllegalArgumentException("bias correction NONE is no pass: leave it out");
        }
    }

    @Override
    public String name() {
        return "bias-correction";
    }

    @Override
    public Set<Property> requires() {
        return Set.of(Property.ACTIVATIONS_FUSED);
    }

    @Override
    public Property establishes() {
        return Property.BIAS_CORRECTED;
    }

    @Override
    public Set<Property> forbids() {
        return Set.of(Property.BIAS_CORRECTED, Property.QUANTIZERS_PLACED);
    }

    @Override
    public List<StatRequest<?>> statistics(ModelState state) {
        return source.needsData() ? List.of(new Dfq.InputMeans()) : List.of();
    }

    @Override
    public Result<Dfq.BiasCorrectionReport> run(ModelState state, Stats stats) {
        Map<String, float[]> means = new LinkedHashMap<>();
        if (source.needsData()) {
            means.putAll(stats.get(new Dfq.InputMeans()).means());
        }
        if (source == BiasCorrection.ANALYTICAL || source == BiasCorrection.AUTO) {
            means.putAll(Dfq.analyticalMeans(state.graph())); // analytical wins where both exist
        }
        Dfq.Transformed<Dfq.BiasCorrectionReport> t = Dfq.correctBias(state.graph(), scheme, means,
                source.name().toLowerCase(java.util.Locale.ROOT));
        return new Result<>(state.withGraph(t.graph()), t.report());
    }
}
