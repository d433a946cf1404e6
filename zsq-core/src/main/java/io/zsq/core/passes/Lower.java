package io.zsq.core.passes;

import io.zsq.core.ir.Property;
import io.zsq.core.quant.Quantization;
import io.zsq.runtime.IntModel;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Set;

/** Lowering to the integer-only model ({@link LowerToInteger}) with the placed quantization; {@code metadata} is its provenance. */
public record Lower(Map<String, String> metadata) implements Pass<Lower.Report> {

    /** What was written: layer count and the serialized size. */
    public record Report(int layers, long bytes) {}

    public Lower {
        metadata = new LinkedHashMap<>(metadata);
    }

    @Override
    public String name() {
        return "lower-to-integer";
    }

    @Override
    public Set<Property> requires() {
        return Set.of(Property.ACTIVATIONS_FUSED, Property.QUANTIZERS_PLACED);
    }

    @Override
    public Property establishes() {
        return Property.LOWERED;
    }

    @Override
    public Result<Report> run(ModelState state, Stats stats) {
        Quantization q = state.quantization();
        IntModel m = LowerToInteger.lower(state.graph(), q, metadata);
        java.io.ByteArrayOutputStream bo = new java.io.ByteArrayOutputStream();
        try {
            m.write(bo);
        } catch (java.io.IOException e) {
            throw new java.io.UncheckedIOException(e);
        }
        return new Result<>(state.withLowered(m), new Report(m.layers().size(), bo.size()));
    }
}
