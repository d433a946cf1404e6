package io.zsq.ptq.pipeline;

import com.fasterxml.jackson.annotation.JsonInclude;
import io.zsq.core.passes.PassRunner;
import io.zsq.synth.DatasetSpec;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;

/**
 * {@code report.json}: what a quantize run did and measured, typed, with a schema version. Written by
 * {@link Json} in snake_case ({@code fp32_top1}, {@code stage_seconds}, ...); fields that do not apply
 * (evaluation without {@code --eval}, mixed precision without a budget) are left out.
 */
@JsonInclude(JsonInclude.Include.NON_NULL)
public record QuantizeReport(int schemaVersion, String tool, Path model, String modelSha256, boolean realDataUsedForCalibration,
                             Plan plan, List<PassRunner.Record> passes, String observer, SchemeInfo scheme, boolean equalization,
                             boolean highBiasAbsorption, String biasCorrection, String bnRanges, Map<String, ExportInfo> onnxExports,
                             MixedPrecisionInfo mixedPrecision, SynthesisReport synthesis, long fp32Parameters, long fp32ModelBytes,
                             Path outputModel, long outputModelBytes, Path evalData, Integer evalImages, String preprocessing, Double fp32Top1,
                             List<ResultRow> results, List<FineTuneInfo> fineTuning, List<LayerRow> layers, Map<String, Double> stageSeconds) {

    /** Version of this layout; bumped when a field changes meaning or goes away. */
    public static final int SCHEMA_VERSION = 1;

    /** The weight/activation scheme of the written model. */
    @JsonInclude(JsonInclude.Include.NON_NULL)
    public record SchemeInfo(String weightGranularity, String weightRange, String weights, String activations,
                             Map<String, Integer> layerWeightBits, Map<String, Integer> layerActivationBits) {}

    /** One ONNX export beside the model and, with {@code --eval}, how it agrees with zsq-runtime in ONNX Runtime. */
    @JsonInclude(JsonInclude.Include.NON_NULL)
    public record ExportInfo(Path file, long bytes, String opsets, Double onnxruntimeArgmaxAgreementWithZsqRuntime,
                             Double onnxruntimeMaxOutputDifferenceSteps, Integer onnxruntimeOutputsBeyondOneStep) {}

    /** ZeroQ mixed precision: the budget, the choice, every layer's sensitivity at 2..8 bits and the Pareto frontier. */
    public record MixedPrecisionInfo(String method, long budgetWeightBytes, long int8WeightBytes, long chosenWeightBytes,
                                     double chosenSensitivity, Map<String, Integer> weightBits, Map<String, Map<String, Double>> sensitivity,
                                     List<List<Double>> frontierBytesSensitivity) {}

    /** The calibration dataset: made by this run (or resumed), or given with {@code --calib}. */
    @JsonInclude(JsonInclude.Include.NON_NULL)
    public record SynthesisReport(String method, Path dataset, boolean generated, DatasetSpec spec, Integer batches, Long batchesResumed,
                                  Double meanFinalLoss, Double diversityPenultimate, Double generationTaskSeconds,
                                  Double imagesPerSecondPerTask, Double jobSeconds, Double imagesPerSecond, String device,
                                  Map<String, Integer> batchesByEngine, Map<String, Integer> batchesByGpu, String gpuUnavailable) {}

    /**
     * One Level-2 run: its settings, the distillation loss at the start (the Level-1 student) and the end,
     * the loss curve ({@code [step, loss]} every few steps, each the mean over the steps since the last point),
     * steps resumed from a checkpoint, and the time per optimizer step (wall, all micro-batches of a step): the
     * mean over the steps this run took (JIT warm-up included) and their median (steady state).
     */
    @JsonInclude(JsonInclude.Include.NON_NULL)
    public record FineTuneInfo(String bits, Plan.FineTune settings, int poolImages, int microBatchesPerStep, int parameters,
                               double initialLoss, double finalLoss, List<List<Double>> lossCurve, int stepsResumed, double seconds,
                               double secondsPerStep, double medianSecondsPerStep, String engine, String gpuUnavailable) {
        public FineTuneInfo(String bits, Plan.FineTune settings, int poolImages, int microBatchesPerStep, int parameters, double initialLoss,
                            double finalLoss, List<List<Double>> lossCurve, int stepsResumed, double seconds, double secondsPerStep,
                            double medianSecondsPerStep) {
            this(bits, settings, poolImages, microBatchesPerStep, parameters, initialLoss, finalLoss, lossCurve, stepsResumed, seconds,
                    secondsPerStep, medianSecondsPerStep, null, null);
        }
    }

    /** One (bits, calibration source, level) variant. */
    @JsonInclude(JsonInclude.Include.NON_NULL)
    public record ResultRow(String bits, String calibration, int level, Double intTop1, Double agreementWithFakeQuant, Double fakeQuantTop1,
                            long modelBytes, Map<String, Integer> layerWeightBits) {}

    /** One CONV, DENSE or ADD layer of the written model. */
    public record LayerRow(String id, String op, String output, Integer weightBits, Double weightSqnrDb, List<Double> outputRange,
                           String rangeSource, int activationBits, Double activationSqnrDb, Double sensitivity) {}
}
