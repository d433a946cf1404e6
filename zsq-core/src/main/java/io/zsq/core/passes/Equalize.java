package io.zsq.core.passes;

import io.zsq.core.ir.Property;
import java.util.Set;

/** Cross-layer equalization ({@link Dfq#equalize}); before high-bias absorption, bias correction and quantization. */
public final class Equalize implements Pass<Dfq.EqualizationReport> {
    @Override
    public String name() {
        return "cross-layer-equalization";
    }

    @Override
    public Set<Property> requires() {
        return Set.of(Property.ACTIVATIONS_FUSED);
    }

    @Override
    public Property establishes() {
        return Property.EQUALIZED;
    }

    @Override
    public Set<Property> forbids() {
        return Set.of(Property.EQUALIZED, Property.HIGH_BIAS_ABSORBED, Property.BIAS_CORRECTED, Property.QUANTIZERS_PLACED);
    }

    @Override
    public Result<Dfq.EqualizationReport> run(ModelState state, Stats stats) {
        Dfq.Transformed<Dfq.EqualizationReport> t = Dfq.equalize(state.graph());
        return new Result<>(state.withGraph(t.graph()), t.report());
    }
}
