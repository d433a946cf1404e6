package io.zsq.synth;

import com.fasterxml.jackson.annotation.JsonProperty;
import java.io.Serializable;

/**
 * The terms of the synthesis objective, from the method's components. Every method starts from
 * ZeroQ's BN-statistics matching (Cai et al. 2020); components add:
 * <ul>
 *   <li>{@code label}: {@code labelWeight} x cross-entropy of the logits towards class (sample index mod
 *       classes), as in GDFQ (Xu et al. 2020) and IntraQ (Zhong et al. 2022);</li>
 *   <li>{@code di}: DeepInversion's image priors (Yin et al. 2020): total variation and L2 of the input,
 *       and each step a random jitter of up to {@code jitter} pixels and a random horizontal flip;</li>
 *   <li>{@code dsg}: DSG's diversity (Zhang et al. 2021): a slack {@code margin} (in units of the target
 *       std) inside which a channel statistic is not penalized, and per-sample layer enhancement: each
 *       sample also matches one layer (sample index mod layers) on its own statistics, weight
 *       {@code sampleWeight}.</li>
 * </ul>
 * The weights are part of a dataset's {@link DatasetSpec} (JSON names in snake_case), so changing them
 * here makes datasets made with the old ones stale.
 */
public record Objective(@JsonProperty("label_weight") double labelWeight, @JsonProperty("tv_weight") double tvWeight,
                        @JsonProperty("l2_weight") double l2Weight, @JsonProperty("jitter") int jitter,
                        @JsonProperty("flip") boolean flip, @JsonProperty("margin") double margin,
                        @JsonProperty("sample_weight") double sampleWeight) implements Serializable {

    public static Objective of(Method method) {
        boolean label = method.has(Method.Component.LABEL), di = method.has(Method.Component.DI), dsg = method.has(Method.Component.DSG);
        return new Objective(label ? 0.1 : 0, di ? 1e-3 : 0, di ? 1e-4 : 0, di ? 2 : 0, di, dsg ? 0.05 : 0, dsg ? 0.1 : 0);
    }
}
