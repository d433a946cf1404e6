package io.zsq.core.passes;

import io.zsq.core.ir.Property;
import java.util.Set;

/** High-bias absorption ({@link Dfq#absorbHighBias}); after equalization (if any), before bias correction and quantization. */
public final class AbsorbHighBias implements Pass<Dfq.HighBiasReport> {
    @Override
    public String name() {
        return "high-bias-absorption";
    }

    @Override
    public Set<Property> requires() {
        return Set.of(Property.ACTIVATIONS_FUSED);
    }

    @Override
    public Property establishes() {
        return Property.HIGH_BIAS_ABSORBED;
    }

    @Override
    public Set<Property> forbids() {
        return Set.of(Property.HIGH_BIAS_ABSORBED, Property.BIAS_CORRECTED, Property.QUANTIZERS_PLACED);
    }

    @Override
    public Result<Dfq.HighBiasReport> run(ModelState state, Stats stats) {
        Dfq.Transformed<Dfq.HighBiasReport> t = Dfq.absorbHighBias(state.graph());
        return new Result<>(state.withGraph(t.graph()), t.report());
    }
}
