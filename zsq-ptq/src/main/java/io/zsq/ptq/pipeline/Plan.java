package io.zsq.ptq.pipeline;

import com.fasterxml.jackson.annotation.JsonCreator;
import com.fasterxml.jackson.annotation.JsonValue;
import io.zsq.core.data.ImageTransform;
import io.zsq.core.data.LabeledImages;
import io.zsq.core.data.Preprocessing;
import io.zsq.core.passes.BiasCorrection;
import io.zsq.core.quant.Scheme;
import io.zsq.ptq.Bits;
import io.zsq.ptq.ObserverSpec;
import io.zsq.synth.Method;
import java.io.Serializable;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Set;

/**
 * What one quantize run will do: every choice as a typed, immutable value, validated once when it is
 * built ({@link Builder#build}, which the command line and the Java API both use), written whole into
 * the provenance of everything the run emits and readable back from it (report.json's {@code plan}).
 * Strings like {@code "auto"} stop at {@link Builder}'s parsers.
 */
public record Plan(Path model, Path out, List<Bits> bits, Map<String, Bits> layerBits, int inputBits, Normalization input, InputShape inputShape, Observer observer,
                   Granularity weightGranularity, WeightRange weightRange, boolean symmetricActivations, boolean equalize,
                   boolean absorbHighBias, BiasCorrection biasCorrection, BnRangesMode bnRanges, SizeBudget sizeBudget,
                   Synthesize synthesis, Path calibDataset, boolean gaussianBaseline, Evaluation eval, FineTune fineTune, boolean quiet,
                   Device device)
        implements Serializable {

    /** The defaults, in one place: the builder starts from them and the command line's help prints them. */
    public static final class Defaults {
        private Defaults() {}

        public static final String BITS = "w8a8";
        /**
         * The network input stays at the 8 bits of an image's pixels whatever --bits says for the layers: on ResNet-32
         * (CIFAR-10, W4A4, validated on 5,000 CIFAR training images, never the test set) a 4-bit input cost 6.3 points at Level 1
         * (86.72 against 93.02) and 3.5 at Level 2 (93.90 against 97.40); on the bundled ResNet 0.56 / 0.06 (README).
         */
        public static final int INPUT_BITS = Scheme.INPUT_BITS;
        /** Min-max at 8-bit activations, MSE-optimal clipping below (bench/ptq-bars.sh, README). */
        public static final String OBSERVER = "auto";
        /** The best combination measured (bench/synth-quality.sh, README). */
        public static final String METHOD = "zeroq+label+di+dsg";
        public static final int COUNT = 256;
        public static final int BATCH = 32;
        public static final int STEPS = 200;
        public static final double LR = 0.5;
        public static final long SEED = 1;
        public static final String MEAN = "0";
        public static final String STD = "1";
        public static final String GRANULARITY = "channel";
        public static final String WEIGHT_RANGE = "restricted";
        public static final String BIAS_CORRECTION = "none";
        public static final String BN_RANGES = "auto";
        /**
         * Level 2, chosen on the bundled ResNet's synthetic data, validated on Fashion-MNIST training images 0-4,999 (never the
         * test set): W4A4, 1,024 synthetic images; lr 1e-4 / 1e-3 / 3e-5 / 1e-5 for weights gave 92.58 (additive scale steps),
         * 92.90 / 93.06 / 92.28 (log-domain); scale lr 1e-2 / 3e-3 / 3e-4 were worse; 250 / 1,000 / 2,000 steps were worse
         * than 500 (the student overfits the pool); T = 1 worse than 4; the feature term did not help there (README).
         */
        public static final int QAT_STEPS = 500;
        public static final int QAT_BATCH = 64;
        public static final int QAT_MICRO_BATCH = 16;
        public static final double QAT_LR = 3e-5;
        public static final double QAT_SCALE_LR = 1e-3; // log-domain step size updates
        public static final double QAT_TEMPERATURE = 4;
        public static final double QAT_FEATURE_WEIGHT = 0;
        public static final int QAT_CHECKPOINT_EVERY = 100;
        /**
         * Block reconstruction (--qat-method reconstruct): steps per block, images per step, the rounding
         * variables' Adam lr (AdaRound's 1e-3) and the activation step sizes' (log domain).
         */
        public static final int RECON_STEPS = 500;
        public static final int RECON_BATCH = 32;
        public static final int RECON_MICRO_BATCH = 16;
        public static final double RECON_LR = 1e-3;
        public static final double RECON_SCALE_LR = 1e-3;
    }

    public Plan {
        bits = List.copyOf(bits);
        if (device == null) { // a plan read back from a report written before --device: the CPU engine it ran on
            device = Device.CPU;
        }
        if (inputBits == 0) { // a plan read back from a report written before the input had its own width: the activations' then
            inputBits = bits.get(0).activations();
        }
        layerBits = Collections.unmodifiableMap(new LinkedHashMap<>(layerBits));
    }

    /** The weight/activation scheme of the first bit setting, with the per-layer overrides. */
    public Scheme scheme() {
        Map<String, Integer> w = new LinkedHashMap<>(), a = new LinkedHashMap<>();
        layerBits.forEach((k, v) -> {
            w.put(k, v.weights());
            a.put(k, v.activations());
        });
        return new Scheme(bits.get(0).weights(), bits.get(0).activations(), weightGranularity.group(), weightRange == WeightRange.FULL,
                symmetricActivations, w, a, inputBits);
    }

    public static Builder builder() {
        return new Builder();
    }

    // ---- the choices -------------------------------------------------------------------------

    /**
     * Which Level-2 method: {@code KD}, distillation of the whole student against the FP32 teacher (weights,
     * biases and step sizes learned, straight-through rounding); {@code RECONSTRUCT}, block reconstruction
     * (BRECQ with AdaRound's learned rounding, one block at a time against the FP32 block's output).
     */
    public enum QatMethod { KD, RECONSTRUCT }

    public enum Optimizer { ADAM, SGD }

    public enum Schedule { COSINE, STEP, CONSTANT }

    /**
     * How the activation step sizes (their clipping levels) learn: {@code LSQ} (Esser et al. 2020: the
     * rounding error inside the range and the clipping level outside, scaled by {@code 1/sqrt(N*Q_P)}) or
     * {@code PACT} (Choi et al. 2018: the clipping level learns from the clipped values alone).
     */
    public enum ActivationSteps { LSQ, PACT }

    /**
     * Level 2: fine-tuning the fake-quantized student (BN folded, as it is lowered) against the FP32 teacher
     * on the synthetic calibration set, after Level-1 calibration gave its starting point. {@code steps}
     * optimizer steps of {@code batch} images, each the gradient sum over micro-batches of {@code microBatch}
     * images (the unit of data parallelism: the result does not depend on how many run at once); {@code lr}
     * for weights and biases, {@code scaleLr} for the learned step sizes (LSQ) of weights (per channel) and
     * activations (per tensor); distillation at {@code temperature}, plus {@code featureWeight} times the
     * feature term (every quantized activation of the student against the teacher's, squared error over
     * the teacher's energy, per image), plus {@code labelWeight} times the cross-entropy of the student's
     * logits to the class synthesis assigned each image; a checkpoint every
     * {@code checkpointEvery} steps (0: none).
     */
    public record FineTune(QatMethod method, int steps, int batch, int microBatch, double lr, double scaleLr, Optimizer optimizer,
                           Schedule schedule, double temperature, double featureWeight, int checkpointEvery, long seed,
                           ActivationSteps activationSteps, double labelWeight)
            implements Serializable {
        /** With LSQ activation step sizes. */
        public FineTune(QatMethod method, int steps, int batch, int microBatch, double lr, double scaleLr, Optimizer optimizer, Schedule schedule,
                        double temperature, double featureWeight, int checkpointEvery, long seed) {
            this(method, steps, batch, microBatch, lr, scaleLr, optimizer, schedule, temperature, featureWeight, checkpointEvery, seed,
                    ActivationSteps.LSQ, 0);
        }

        public FineTune {
            if (activationSteps == null) {
                activationSteps = ActivationSteps.LSQ;
            }
            if (!(labelWeight >= 0) || Double.isInfinite(labelWeight)) {
                throw new IllegalArgumentException("--qat-label-weight must be >= 0, got " + labelWeight);
            }
            if (method == QatMethod.RECONSTRUCT && labelWeight > 0) {
                throw new IllegalArgumentException("--qat-label-weight sets up --qat-method kd; reconstruct matches block outputs, not classes");
            }
            if (steps < 1) {
                throw new IllegalArgumentException("--qat-steps must be >= 1, got " + steps);
            }
            if (batch < 1 || microBatch < 1 || batch % microBatch != 0) {
                throw new IllegalArgumentException("--qat-batch (" + batch + ") must be a positive multiple of --qat-micro-batch (" + microBatch + ")");
            }
            if (!(lr > 0) || !(scaleLr >= 0) || Double.isInfinite(lr) || Double.isInfinite(scaleLr)) {
                throw new IllegalArgumentException("--qat-lr must be > 0 and --qat-scale-lr >= 0, finite; got " + lr + ", " + scaleLr);
            }
            if (!(temperature > 0) || Double.isInfinite(temperature)) {
                throw new IllegalArgumentException("--qat-temperature must be > 0, got " + temperature);
            }
            if (!(featureWeight >= 0) || Double.isInfinite(featureWeight)) {
                throw new IllegalArgumentException("--qat-feature-weight must be >= 0, got " + featureWeight);
            }
            if (checkpointEvery < 0) {
                throw new IllegalArgumentException("--qat-checkpoint-every must be >= 0, got " + checkpointEvery);
            }
        }

        public static FineTune defaults() {
            return defaults(QatMethod.KD);
        }

        /** A method's defaults: for {@code RECONSTRUCT}, {@code steps} are per block and the temperature and feature weight are not used. */
        public static FineTune defaults(QatMethod m) {
            return m == QatMethod.RECONSTRUCT
                    ? new FineTune(m, Defaults.RECON_STEPS, Defaults.RECON_BATCH, Defaults.RECON_MICRO_BATCH, Defaults.RECON_LR, Defaults.RECON_SCALE_LR,
                            Optimizer.ADAM, Schedule.COSINE, Defaults.QAT_TEMPERATURE, Defaults.QAT_FEATURE_WEIGHT, Defaults.QAT_CHECKPOINT_EVERY, Defaults.SEED)
                    : new FineTune(m, Defaults.QAT_STEPS, Defaults.QAT_BATCH, Defaults.QAT_MICRO_BATCH, Defaults.QAT_LR, Defaults.QAT_SCALE_LR,
                            Optimizer.ADAM, Schedule.COSINE, Defaults.QAT_TEMPERATURE, Defaults.QAT_FEATURE_WEIGHT, Defaults.QAT_CHECKPOINT_EVERY, Defaults.SEED);
        }

        public FineTune withSteps(int n) {
            return new FineTune(method, n, batch, microBatch, lr, scaleLr, optimizer, schedule, temperature, featureWeight, checkpointEvery, seed,
                    activationSteps, labelWeight);
        }

        public static ActivationSteps activationSteps(String v) {
            return Builder.parseEnum(ActivationSteps.class, v, "--qat-activation-steps");
        }

        public static Optimizer optimizer(String v) {
            return Builder.parseEnum(Optimizer.class, v, "--qat-optimizer");
        }

        public static Schedule schedule(String v) {
            return Builder.parseEnum(Schedule.class, v, "--qat-schedule");
        }

        public static QatMethod method(String v) {
            return Builder.parseEnum(QatMethod.class, v, "--qat-method");
        }
    }

    /** Input preprocessing as given: pixels / 255, then {@code (x - mean) / std}, one value or one per channel. */
    public record Normalization(String mean, String std) implements Serializable {
        public Normalization {
            Preprocessing.parse(mean, std); // validates
        }

        public Preprocessing preprocessing() {
            return Preprocessing.parse(mean, std);
        }
    }

    /**
     * The model's input size without the batch ({@code 3x48x192}), for the dimensions an ONNX model leaves
     * symbolic (a dynamic height and width); null in a plan: the model's own, all fixed. A fixed dimension
     * it contradicts is refused at import.
     */
    public record InputShape(List<Integer> dims) implements Serializable {
        public InputShape {
            dims = List.copyOf(dims);
        }

        @JsonCreator
        public static InputShape parse(String s) {
            return of(io.zsq.core.imports.InputShapes.parse(s));
        }

        public static InputShape of(int[] d) {
            return new InputShape(java.util.Arrays.stream(d).boxed().toList());
        }

        public int[] toArray() {
            return dims.stream().mapToInt(Integer::intValue).toArray();
        }

        /** What the importer takes: the dims, or null for none given. */
        public static int[] arrayOrNull(InputShape s) {
            return s == null ? null : s.toArray();
        }

        @JsonValue
        @Override
        public String toString() {
            return io.zsq.core.imports.InputShapes.format(toArray());
        }
    }

    /** The activation range observer (its spec, parsed by {@link ObserverSpec#parse}, written back by its name). */
    public record Observer(ObserverSpec spec) implements Serializable {
        @JsonCreator
        public static Observer parse(String s) {
            return new Observer(ObserverSpec.parse(s));
        }

        @JsonValue
        @Override
        public String toString() {
            return spec.name();
        }
    }

    /** Output channels sharing one weight scale: 1 (per channel), all (per tensor), or G. */
    public record Granularity(int group) implements Serializable {
        @JsonCreator
        public static Granularity parse(String s) {
            try {
                return new Granularity(Scheme.parseGranularity(s.trim()));
            } catch (IllegalArgumentException e) {
                throw new IllegalArgumentException("--weight-granularity must be channel, tensor or group:G (G >= 1), not '" + s + "'");
            }
        }

        @JsonValue
        @Override
        public String toString() {
            return group == 1 ? "channel" : group == Scheme.PER_TENSOR ? "tensor" : "group:" + group;
        }
    }

    /** Weight integer range: restricted {@code [-(2^(b-1)-1), 2^(b-1)-1]} or full {@code [-2^(b-1), 2^(b-1)-1]}. */
    public enum WeightRange { RESTRICTED, FULL }

    /**
     * Where synthesis and Level-2 distillation run ({@code --device}; block reconstruction stays on the CPU):
     * {@code cpu}, zsq's Vector API engine; {@code gpu}, the ONNX Runtime engine on the task's GPU (on a
     * cluster each of their tasks asks for one GPU through a Spark resource profile; where ONNX Runtime's CUDA provider cannot load, the job says so once and runs
     * on the CPU); {@code auto}, the GPU engine where a task got a GPU and CUDA loads, otherwise the CPU,
     * silently; {@code onnxruntime-cpu}, the GPU engine's graphs on ONNX Runtime's CPU provider (what CI
     * checks the GPU engine with, and a peer in the benchmarks).
     */
    public enum Device {
        CPU, GPU, AUTO, ONNXRUNTIME_CPU;

        @JsonCreator
        public static Device parse(String v) {
            for (Device d : values()) {
                if (d.toString().equals(v.trim().toLowerCase(java.util.Locale.ROOT))) {
                    return d;
                }
            }
            throw new IllegalArgumentException("--device must be cpu, gpu, auto or onnxruntime-cpu, not '" + v + "'");
        }

        /** Whether the stage's tasks ask the cluster for a GPU each. */
        public boolean wantsGpu() {
            return this == GPU || this == AUTO;
        }

        @JsonValue
        @Override
        public String toString() {
            return name().toLowerCase(java.util.Locale.ROOT).replace('_', '-');
        }
    }

    /** Which activation ranges come from the folded BatchNorm statistics instead of the data. */
    public enum BnRangesMode {
        OFF, ON, AUTO;

        /** {@code AUTO} takes the BatchNorm-statistics ranges for activations of at most this many bits. */
        public static final int AUTO_MAX_BITS = 4;

        public boolean applies(int activationBits) {
            return this == ON || this == AUTO && activationBits <= AUTO_MAX_BITS;
        }
    }

    /** Mixed-precision weights within a size: bytes, or a ratio of the int8 weights. */
    public record SizeBudget(long bytes, double ratio) implements Serializable {
        public SizeBudget {
            if ((bytes > 0) == (ratio > 0) || bytes < 0 || ratio < 0 || ratio > 1) {
                throw new IllegalArgumentException("--size-budget takes bytes (42000) or a ratio in (0, 1] of the int8 weights (0.5x, 50%)");
            }
        }

        @JsonCreator
        public static SizeBudget parse(String v) {
            String s = v.trim();
            try {
                if (s.endsWith("x") || s.endsWith("%") || s.contains(".")) {
                    double r = s.endsWith("%") ? Double.parseDouble(s.substring(0, s.length() - 1)) / 100
                            : Double.parseDouble(s.endsWith("x") ? s.substring(0, s.length() - 1) : s);
                    if (!(r > 0 && r <= 1)) {
                        throw new IllegalArgumentException("--size-budget ratio must be in (0, 1] of the int8 size, not '" + v + "'");
                    }
                    return new SizeBudget(0, r);
                }
                long b = Long.parseLong(s);
                if (b <= 0) {
                    throw new IllegalArgumentException("--size-budget must be positive, not '" + v + "'");
                }
                return new SizeBudget(b, 0);
            } catch (NumberFormatException e) {
                throw new IllegalArgumentException("--size-budget takes bytes (42000) or a ratio of the int8 weights (0.5x, 50%), not '" + v + "'");
            }
        }

        /** The budget in bits of weights for {@code g}: a ratio is of its weights at 8 bits. */
        public long budgetBits(io.zsq.core.ir.Graph g) {
            return bytes > 0 ? bytes * 8 : (long) Math.floor(ratio * io.zsq.ptq.MixedPrecision.uniformBits(g, 8));
        }

        @JsonValue
        @Override
        public String toString() {
            return bytes > 0 ? Long.toString(bytes) : ratio + "x";
        }
    }

    /**
     * How calibration images are synthesized ({@code realData}: what method {@code real} reads, any format of
     * {@link LabeledImages#read}, its training split, at the model's size).
     * With {@code --calib} the dataset given is used instead, and these settings only lay out the
     * Gaussian baseline's batches.
     */
    public record Synthesize(Method method, int count, int batch, int steps, double lr, long seed, Path realData) implements Serializable {
        public Synthesize {
            if (count < 1) {
                throw new IllegalArgumentException("--count must be a positive number of images, not " + count);
            }
            if (batch < 1) {
                throw new IllegalArgumentException("--batch must be a positive number of images, not " + batch);
            }
            if (steps < 0) {
                throw new IllegalArgumentException("--steps must be 0 or more, not " + steps);
            }
            if (!(lr > 0) || Double.isInfinite(lr)) {
                throw new IllegalArgumentException("--lr must be a positive number, not " + lr);
            }
            if (method.base() == Method.Base.REAL && realData == null) {
                throw new IllegalArgumentException("--method real needs --real-data PATH (an idx folder with train-* files, CIFAR-10 "
                        + "binary files, or an image folder)");
            }
        }

        /** The synthesis settings for a model whose valid input range per channel is {@code range} ({@code [lo[], hi[]]}). */
        public io.zsq.synth.SynthConfig config(float[][] range) {
            return new io.zsq.synth.SynthConfig(method, count, batch, steps, lr, seed, range[0], range[1]);
        }
    }

    /**
     * Labelled evaluation data ({@link LabeledImages#read}: an idx folder, a CIFAR-10 binary file or folder, or
     * an image folder); {@code limit} images at most (0: all); the shorter side resized to {@code resize}
     * pixels first (0: not resized) and, with {@code centerCrop}, the model's input size cut from the center.
     */
    public record Evaluation(Path data, int limit, int resize, boolean centerCrop) implements Serializable {
        public Evaluation {
            if (data == null) {
                throw new IllegalArgumentException("--eval needs a path");
            }
            if (limit < 0) {
                throw new IllegalArgumentException("--eval-limit must be 0 (all) or a positive number of images, not " + limit);
            }
            if (resize < 0 || resize > ImageTransform.MAX_SIDE) {
                throw new IllegalArgumentException("--eval-resize must be a number of pixels 1.." + ImageTransform.MAX_SIDE
                        + " (the shorter side), not " + resize);
            }
        }

        /** The resize / center-crop the images go through. */
        public ImageTransform transform() {
            return new ImageTransform(resize, centerCrop);
        }
    }

    // ---- the builder -------------------------------------------------------------------------

    /** Starts from {@link Defaults}; the string setters parse (and fail naming the option), {@link #build} validates the whole. */
    public static final class Builder {
        private Path model, out, calib, eval, realData;
        private List<Bits> bits = List.of(Bits.parse(Defaults.BITS));
        private Map<String, Bits> layerBits = new LinkedHashMap<>();
        private int inputBits = Defaults.INPUT_BITS;
        private String mean = Defaults.MEAN, std = Defaults.STD;
        private Observer observer = Observer.parse(Defaults.OBSERVER);
        private Granularity granularity = Granularity.parse(Defaults.GRANULARITY);
        private WeightRange weightRange = WeightRange.valueOf(Defaults.WEIGHT_RANGE.toUpperCase(Locale.ROOT));
        private boolean symmetricActivations, equalize, absorbHighBias, gaussian = true, quiet;
        private Device device = Device.CPU;
        private BiasCorrection biasCorrection = BiasCorrection.valueOf(Defaults.BIAS_CORRECTION.toUpperCase(Locale.ROOT));
        private BnRangesMode bnRanges = BnRangesMode.valueOf(Defaults.BN_RANGES.toUpperCase(Locale.ROOT));
        private SizeBudget sizeBudget;
        private InputShape inputShape;
        private Method method = Method.parse(Defaults.METHOD);
        private int count = Defaults.COUNT, batch = Defaults.BATCH, steps = Defaults.STEPS, evalLimit, evalResize;
        private boolean evalCenterCrop;
        private double lr = Defaults.LR;
        private long seed = Defaults.SEED;
        private FineTune fineTune;

        public Builder model(Path p) { this.model = p; return this; }
        public Builder out(Path p) { this.out = p; return this; }

        /** One bit setting ({@code w8a8}) or several, comma-separated; the first is the emitted model. */
        public Builder bits(String b) {
            List<Bits> l = new ArrayList<>();
            for (String s : b.split(",")) {
                l.add(Bits.parse(s));
            }
            this.bits = l;
            return this;
        }

        /** Per-layer bit widths: {@code id=wNaM[,id=wNaM...]} (ids as in report.json's layers). */
        public Builder layerBits(String spec) {
            Map<String, Bits> m = new LinkedHashMap<>();
            for (String part : spec.split(",")) {
                int eq = part.lastIndexOf('=');
                if (eq <= 0) {
                    throw new IllegalArgumentException("--layer-bits takes id=wNaM[,id=wNaM...], not '" + part + "'");
                }
                m.put(part.substring(0, eq).trim(), Bits.parse(part.substring(eq + 1)));
            }
            this.layerBits = m;
            return this;
        }

        /** The network input's bit width (default 8, an image's own; {@code --bits} sets the layers'). */
        public Builder inputBits(int b) { this.inputBits = b; return this; }

        public Builder preprocessing(String mean, String std) { this.mean = mean; this.std = std; return this; }
        /** {@code CxHxW} ({@code 3x48x192}) for an input of dynamic size; null: the model's own. */
        public Builder inputShape(String s) { this.inputShape = s == null ? null : InputShape.parse(s); return this; }
        public Builder inputShape(int... dims) { this.inputShape = dims == null ? null : InputShape.of(dims); return this; }
        public Builder observer(String o) { this.observer = Observer.parse(o); return this; }
        /** {@code channel} (default), {@code tensor} or {@code group:G}. */
        public Builder weightGranularity(String g) { this.granularity = Granularity.parse(g); return this; }
        /** {@code restricted} (default) or {@code full}. */
        public Builder weightRange(String r) { this.weightRange = parseEnum(WeightRange.class, r, "--weight-range"); return this; }
        public Builder weightFullRange(boolean f) { this.weightRange = f ? WeightRange.FULL : WeightRange.RESTRICTED; return this; }
        public Builder symmetricActivations(boolean s) { this.symmetricActivations = s; return this; }
        public Builder equalize(boolean e) { this.equalize = e; return this; }
        public Builder absorbHighBias(boolean a) { this.absorbHighBias = a; return this; }
        /** none, analytical, empirical, auto. */
        public Builder biasCorrection(String b) { this.biasCorrection = parseEnum(BiasCorrection.class, b, "--bias-correction"); return this; }
        /** on, off, auto. */
        public Builder bnRanges(String b) { this.bnRanges = parseEnum(BnRangesMode.class, b, "--bn-ranges"); return this; }
        /** Bytes ({@code 42000}) or a ratio of the int8 weights ({@code 0.5x}, {@code 50%}); null for uniform widths. */
        public Builder sizeBudget(String b) { this.sizeBudget = b == null ? null : SizeBudget.parse(b); return this; }
        public Builder method(String m) { this.method = Method.parse(m); return this; }
        public Builder realData(Path p) { this.realData = p; return this; }
        public Builder count(int n) { this.count = n; return this; }
        public Builder batch(int n) { this.batch = n; return this; }
        public Builder steps(int n) { this.steps = n; return this; }
        public Builder lr(double v) { this.lr = v; return this; }
        public Builder seed(long s) { this.seed = s; return this; }
        /** Calibrate on a synthetic dataset made earlier instead of generating one. */
        public Builder calib(Path p) { this.calib = p; return this; }
        public Builder gaussianBaseline(boolean b) { this.gaussian = b; return this; }
        public Builder eval(Path p) { this.eval = p; return this; }
        public Builder evalLimit(int n) { this.evalLimit = n; return this; }
        /** Resize the shorter side of the evaluation images to {@code s} pixels (bilinear) first; 0: not resized. */
        public Builder evalResize(int s) { this.evalResize = s; return this; }
        /** Cut the model's input size out of the center of the (resized) evaluation images. */
        public Builder evalCenterCrop(boolean c) { this.evalCenterCrop = c; return this; }
        public Builder quiet(boolean q) { this.quiet = q; return this; }
        public Builder device(Device d) { this.device = d; return this; }
        /** Level 2 after calibration (null: Level 1 only). */
        public Builder fineTune(FineTune f) { this.fineTune = f; return this; }

        public Plan build() {
            if (model == null) {
                throw new IllegalArgumentException("--model is required");
            }
            if (out == null) {
                throw new IllegalArgumentException("--out is required");
            }
            if (eval == null && (evalResize != 0 || evalCenterCrop)) {
                throw new IllegalArgumentException("--eval-resize and --eval-center-crop apply to --eval's images: give --eval");
            }
            if (fineTune != null && fineTune.method() == QatMethod.RECONSTRUCT && biasCorrection != BiasCorrection.NONE) {
                // its targets are the placed model's own blocks, whose biases bias correction has moved away from the FP32 model's
                throw new IllegalArgumentException("--qat-method reconstruct rebuilds each block against the FP32 block: give it "
                        + "--bias-correction none (bias correction changes the biases it would read as FP32)");
            }
            Synthesize synth = new Synthesize(method, count, batch, steps, lr, seed, realData);
            if (inputBits < 2 || inputBits > 8) {
                throw new IllegalArgumentException("--input-bits must be 2..8, not " + inputBits);
            }
            Plan p = new Plan(model, out, bits, layerBits, inputBits, new Normalization(mean, std), inputShape, observer, granularity, weightRange,
                    symmetricActivations, equalize, absorbHighBias, biasCorrection, bnRanges, sizeBudget, synth, calib, gaussian,
                    eval == null ? null : new Evaluation(eval, evalLimit, evalResize, evalCenterCrop), fineTune, quiet, device);
            p.scheme(); // validates the bit widths together
            return p;
        }

        static <E extends Enum<E>> E parseEnum(Class<E> type, String v, String option) {
            for (E e : type.getEnumConstants()) {
                if (e.name().equalsIgnoreCase(v.trim())) {
                    return e;
                }
            }
            List<String> names = new ArrayList<>();
            for (E e : type.getEnumConstants()) {
                names.add(e.name().toLowerCase(Locale.ROOT));
            }
            throw new IllegalArgumentException(option + " must be one of " + String.join(", ", names) + ", not '" + v + "'");
        }
    }
}
