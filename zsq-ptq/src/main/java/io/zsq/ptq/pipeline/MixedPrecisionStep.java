package io.zsq.ptq.pipeline;

import io.zsq.core.ir.Graph;
import io.zsq.core.passes.Stats;
import io.zsq.core.quant.Scheme;
import io.zsq.ptq.MixedPrecision;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * ZeroQ mixed precision as a step of the pipeline: it asks for the per-layer sensitivity ({@link
 * Requests.Sensitivity}) and, from the observed statistics, chooses per-layer weight widths on the
 * Pareto frontier under the budget; explicit per-layer bits win.
 */
record MixedPrecisionStep(Scheme base, Plan.SizeBudget budget) {

    Requests.Sensitivity request() {
        return new Requests.Sensitivity(base);
    }

    /** The scheme with the chosen widths, and the report. */
    record Choice(Scheme scheme, QuantizeReport.MixedPrecisionInfo info) {}

    Choice choose(Graph g, Stats stats) {
        MixedPrecision.Sensitivity sens = stats.get(request());
        long bits = budget.budgetBits(g);
        List<MixedPrecision.Choice> front = MixedPrecision.frontier(g, sens, bits);
        MixedPrecision.Choice pick = front.get(front.size() - 1);
        Map<String, Integer> wb = new LinkedHashMap<>(pick.bits());
        wb.putAll(base.layerWeightBits()); // explicit --layer-bits win
        Map<String, Map<String, Double>> s = new LinkedHashMap<>();
        for (int i = 0; i < sens.layers().size(); i++) {
            Map<String, Double> byBits = new LinkedHashMap<>();
            for (int j = 0; j < MixedPrecision.CANDIDATES.length; j++) {
                byBits.put(Integer.toString(MixedPrecision.CANDIDATES[j]), sens.mean(i, j));
            }
            s.put(sens.layers().get(i), byBits);
        }
        List<List<Double>> f = new ArrayList<>();
        int step = Math.max(1, front.size() / 200);
        for (int i = 0; i < front.size(); i += step) {
            f.add(List.of((double) front.get(i).weightBytes(), front.get(i).sensitivity()));
        }
        QuantizeReport.MixedPrecisionInfo info = new QuantizeReport.MixedPrecisionInfo(
                "ZeroQ sensitivity (KL of the output with one layer's weights at b bits), Pareto choice under the budget", bits / 8,
                MixedPrecision.uniformBits(g, 8) / 8, pick.weightBytes(), pick.sensitivity(), pick.bits(), s, f);
        return new Choice(base.withLayerBits(wb, base.layerActivationBits()), info);
    }
}
