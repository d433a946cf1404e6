package io.zsq.ptq.pipeline;

import io.zsq.core.ir.Property;
import io.zsq.core.passes.ModelState;
import io.zsq.core.passes.Pass;
import io.zsq.core.passes.StatRequest;
import io.zsq.core.passes.Stats;
import io.zsq.core.quant.QParams;
import io.zsq.core.quant.QuantPoints;
import io.zsq.core.quant.Quantization;
import io.zsq.core.quant.Scheme;
import io.zsq.ptq.BnRanges;
import io.zsq.ptq.Calibrator;
import io.zsq.ptq.ObserverSpec;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * Quantizer placement: parameters for every quantization point of the canonical graph (the input, and
 * the outputs of CONV, DENSE and ADD) from the observed ranges, with the ranges of folded-BatchNorm
 * layers from their statistics where {@code bnRanges} applies ({@link BnRanges}), and the input's range
 * from the preprocessing (pixels 0..1) rather than from samples; then the weight parameters of the
 * scheme ({@link Quantization#of}).
 */
public record PlaceQuantizers(Scheme scheme, ObserverSpec spec, Plan.BnRangesMode bnRanges, float[] inputMin, float[] inputMax)
        implements Pass<PlaceQuantizers.Report> {

    /** Where each activation range came from. */
    public record Report(String observer, int points, List<String> fromBatchNormStatistics, List<String> fromCalibrationData) {}

    @Override
    public String name() {
        return "place-quantizers";
    }

    @Override
    public Set<Property> requires() {
        return Set.of(Property.ACTIVATIONS_FUSED);
    }

    @Override
    public Property establishes() {
        return Property.QUANTIZERS_PLACED;
    }

    @Override
    public List<StatRequest<?>> statistics(ModelState state) {
        return List.of(new Requests.ActivationRanges(spec, QuantPoints.of(state.graph())));
    }

    @Override
    public Result<Report> run(ModelState state, Stats stats) {
        var g = state.graph();
        Map<String, ObserverSpec.Accumulator> acc = new LinkedHashMap<>(stats.get(new Requests.ActivationRanges(spec, QuantPoints.of(g)))
                .accumulators());
        Set<String> bnRanged = new LinkedHashSet<>();
        if (bnRanges != Plan.BnRangesMode.OFF) {
            for (Map.Entry<String, ObserverSpec.Accumulator> e : BnRanges.observe(g, spec).entrySet()) {
                if (bnRanges.applies(scheme.activationBits(g, e.getKey()))) {
                    acc.put(e.getKey(), e.getValue());
                    bnRanged.add(e.getKey());
                }
            }
        }
        Map<String, QParams> points = Calibrator.finish(acc, g, scheme);
        double lo = Double.MAX_VALUE, hi = -Double.MAX_VALUE;
        for (int c = 0; c < inputMin.length; c++) {
            lo = Math.min(lo, inputMin[c]);
            hi = Math.max(hi, inputMax[c]);
        }
        points.put(g.input(), scheme.activation(lo, hi, scheme.activationBits(g, g.input())));
        List<String> fromData = new ArrayList<>(points.keySet());
        fromData.removeAll(bnRanged);
        return new Result<>(state.withQuantization(Quantization.of(g, scheme, points, bnRanged)),
                new Report(spec.name(), points.size(), List.copyOf(bnRanged), fromData));
    }
}
