package io.zsq.spark;

import io.zsq.core.data.ImageTransform;
import io.zsq.core.data.LabeledImages;
import io.zsq.core.imports.ModelImportException;
import io.zsq.core.io.Locations;
import io.zsq.core.passes.LowerToInteger;
import io.zsq.core.quant.FakeQuant;
import io.zsq.core.quant.QParams;
import io.zsq.ptq.pipeline.Pipeline;
import io.zsq.ptq.pipeline.Plan;
import io.zsq.ptq.pipeline.Plan.Defaults;
import io.zsq.ptq.pipeline.QuantizeReport;
import io.zsq.runtime.IntModel;
import io.zsq.runtime.IntRunner;
import io.zsq.runtime.IntSimd;
import java.io.PrintStream;
import java.io.PrintWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.Callable;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;
import picocli.CommandLine.Spec;
import picocli.CommandLine.Model.CommandSpec;
import java.util.stream.Stream;
import java.util.Objects;

/**
 * The {@code zsq} command line (picocli): a thin layer that parses the options into a {@link Plan}
 * (which validates them) and runs it on Spark ({@link QuantizeJob}). Every error is one line on
 * stderr: {@code zsq: error: ...}; exit code 2 for bad input, 1 for anything else.
 */
@Command(name = "zsq", mixinStandardHelpOptions = true, usageHelpAutoWidth = true, version = "zsq " + Pipeline.VERSION,
        description = "Data-free quantization of FP32 models to integer-only models.",
        subcommands = {Main.QuantizeCommand.class, Main.SynthCommand.class, Main.JobCommand.class, Main.RunCommand.class, Main.BenchCommand.class},
        footer = {"", "Spark: runs on local[*] unless a master is set (spark-submit, or -Dspark.master=...).",
            "Weights symmetric (per channel by default); activations per tensor; BN folded; dyadic requantization."})
public final class Main implements Callable<Integer> {
    private Main() {}

    public static void main(String[] args) {
        System.exit(run(args, System.out, System.err));
    }

    /** Runs the command line; the exit code (0 done, 1 failed, 2 bad input), errors as one line on {@code err}. */
    static int run(String[] args, PrintStream out, PrintStream err) {
        CommandLine cl = new CommandLine(new Main());
        cl.registerConverter(Path.class, Locations::of); // hdfs://, s3a:// and every other Hadoop filesystem, besides local paths
        cl.setOut(new PrintWriter(out, true));
        cl.setErr(new PrintWriter(err, true));
        cl.setParameterExceptionHandler((ex, a) -> {
            CommandLine c = ex.getCommandLine();
            List<String> unknown = c.getUnmatchedArguments();
            String what = unknown.isEmpty() || ex instanceof CommandLine.UnmatchedArgumentException ? ex.getMessage()
                    : "unknown option or argument: " + String.join(" ", unknown);
            err.println("zsq: error: " + what + " (try " + c.getCommandSpec().qualifiedName() + " --help)");
            return 2;
        });
        cl.setExecutionExceptionHandler((ex, c, parsed) -> {
            boolean input = ex instanceof IllegalArgumentException || ex instanceof ModelImportException;
            err.println("zsq: error: " + oneLine(ex));
            return input ? 2 : 1;
        });
        return cl.execute(args);
    }

    /** The message of an exception, or of the innermost cause that has one, as one line. */
    static String oneLine(Throwable e) {
        Throwable t = e;
        while (t.getMessage() == null && t.getCause() != null && t.getCause() != t) {
            t = t.getCause();
        }
        String m = t.getMessage() != null ? t.getMessage() : t.getClass().getSimpleName();
        int nl = m.indexOf('\n');
        return nl >= 0 ? m.substring(0, nl) : m;
    }

    @Override
    public Integer call() {
        new CommandLine(this).usage(System.out);
        return 2;
    }

    /** The synthesis options quantize and synth share. */
    static final class SynthOptions {
        @Option(names = "--model", required = true, paramLabel = "M",
                description = "FP32 model: ONNX (.onnx, BatchNormalization nodes kept), DL4J MultiLayerNetwork or ComputationGraph zip (.zip), "
                        + "or Keras 2 HDF5 (.h5, from model.save(\"m.h5\"))")
        Path model;
        @Option(names = "--mean", paramLabel = "V[,V...]", defaultValue = Defaults.MEAN,
                description = "input preprocessing: pixels / 255, then (x - mean) / std; one value or one per channel (default "
                        + "${DEFAULT-VALUE})")
        String mean;
        @Option(names = "--std", paramLabel = "V[,V...]", defaultValue = Defaults.STD, description = "(default ${DEFAULT-VALUE})")
        String std;
        @Option(names = "--input-shape", paramLabel = "CxHxW",
                description = "the input size for a model whose input height/width (or any dimension but the batch) is dynamic, e.g. "
                        + "3x48x192; refused where it contradicts a fixed dimension (default: the model's own)")
        String inputShape;
        @Option(names = "--method", paramLabel = "M", defaultValue = Defaults.METHOD,
                description = "calibration data: zeroq (BN-statistics matching, ZeroQ), optionally with components joined by '+': "
                        + "label (cross-entropy towards a class per sample, GDFQ), di (DeepInversion priors: TV, L2, jitter, "
                        + "flips), dsg (DSG slack margin and per-sample layer terms); deepinversion = zeroq+di; gaussian "
                        + "(noise); real (reads --real-data, NOT data-free) (default ${DEFAULT-VALUE})")
        String method;
        @Option(names = "--real-data", paramLabel = "PATH",
                description = "training images --method real reads (the upper bound), at the model's input size: an idx folder "
                        + "(its train split), a CIFAR-10 .bin file or folder (data_batch_N.bin, else train_*.bin), or an image folder "
                        + "(one subfolder per class)")
        Path realData;
        @Option(names = "--count", paramLabel = "N", defaultValue = "" + Defaults.COUNT,
                description = "synthetic calibration images (default ${DEFAULT-VALUE})")
        int count;
        @Option(names = "--batch", paramLabel = "N", defaultValue = "" + Defaults.BATCH,
                description = "synthetic images per batch, one Spark task each (default ${DEFAULT-VALUE})")
        int batch;
        @Option(names = "--steps", paramLabel = "N", defaultValue = "" + Defaults.STEPS,
                description = "Adam steps of BN-statistics matching per batch (default ${DEFAULT-VALUE})")
        int steps;
        @Option(names = "--lr", paramLabel = "X", defaultValue = "" + Defaults.LR,
                description = "Adam learning rate on the input (default ${DEFAULT-VALUE})")
        double lr;
        @Option(names = "--seed", paramLabel = "S", defaultValue = "" + Defaults.SEED,
                description = "job seed; batch b uses a seed derived from (S, b) (default ${DEFAULT-VALUE})")
        long seed;
        @Option(names = "--quiet", description = "no progress output")
        boolean quiet;
        @Option(names = "--device", paramLabel = "D", defaultValue = "cpu",
                description = "where synthesis and Level-2 distillation run: cpu (zsq's Vector API engine), gpu (the ONNX Runtime engine on a "
                        + "GPU per task; on a cluster each of their tasks asks for one GPU through a resource profile; without ONNX Runtime's CUDA provider "
                        + "the job says so once and runs on the CPU), auto (the GPU where there is one, else the CPU), onnxruntime-cpu "
                        + "(the GPU engine on ONNX Runtime's CPU provider) (default ${DEFAULT-VALUE})")
        String device;
        @Option(names = "--local-paths-shared",
                description = "local paths (no hdfs:// or other scheme) are one folder mounted at the same place on every node; "
                        + "without it a cluster run refuses a local --out or --calib (executors would write to their own disks)")
        boolean localPathsShared;

        Plan.Builder into(Plan.Builder b) {
            return b.model(model).preprocessing(mean, std).inputShape(inputShape).method(method).realData(realData).count(count).batch(batch).steps(steps).lr(lr)
                    .seed(seed).quiet(quiet).device(Plan.Device.parse(device));
        }
    }

    @Command(name = "quantize", mixinStandardHelpOptions = true, usageHelpAutoWidth = true, sortOptions = false,
            description = "Quantize an FP32 model without its training data: synthesize calibration images from its BatchNorm statistics,"
                    + " calibrate (Level 1), lower to an integer-only model, export it to ONNX, report.")
    static final class QuantizeCommand implements Callable<Integer> {
        @Mixin
        SynthOptions synth;
        @Option(names = "--out", required = true, paramLabel = "DIR",
                description = "output folder: model.zsq, model.qop.onnx, model.qdq.onnx, report.json, report.html, calib/ (the "
                        + "synthetic dataset)")
        Path out;
        @Option(names = "--bits", paramLabel = "B[,B...]", defaultValue = Defaults.BITS,
                description = "bit widths wNaM (weights N, activations M, 2..8); several are all calibrated and evaluated, the "
                        + "first is written (default ${DEFAULT-VALUE})")
        String bits;
        @Option(names = "--input-bits", paramLabel = "B", defaultValue = "" + Defaults.INPUT_BITS,
                description = "bit width of the network input, 2..8, whatever --bits says for the layers (default ${DEFAULT-VALUE}: "
                        + "the image's own pixels)")
        int inputBits;
        @Option(names = "--eval", paramLabel = "DATA",
                description = "labelled test images to measure top-1 on: an MNIST-format idx folder (t10k-images/labels, .gz or "
                        + "not), a CIFAR-10 binary file or folder (test_batch.bin), or an image folder (one subfolder per class, "
                        + "sorted names = labels, PNG/JPEG files)")
        Path eval;
        @Option(names = "--eval-limit", paramLabel = "N", defaultValue = "0",
                description = "evaluate the first N images only (default: all; image folders: the classes in turn)")
        int evalLimit;
        @Option(names = "--eval-resize", paramLabel = "S", defaultValue = "0",
                description = "resize the shorter side of the --eval images to S pixels first (bilinear, half-pixel centers, no "
                        + "antialiasing) (default: as stored)")
        int evalResize;
        @Option(names = "--eval-center-crop",
                description = "cut the model's input size out of the center of the (resized) --eval images; without it and "
                        + "--eval-resize, images must be the model's size")
        boolean evalCenterCrop;
        @Option(names = "--observer", paramLabel = "O", defaultValue = Defaults.OBSERVER,
                description = "activation range observer: auto (minmax at 8-bit activations, mse below), minmax, movingavg (mean of"
                        + " per-batch min/max), percentile[:P] (P default 99.99), kl (entropy threshold, TensorRT), mse (MSE-"
                        + "optimal clipping) (default ${DEFAULT-VALUE})")
        String observer;
        @Option(names = "--weight-granularity", paramLabel = "G", defaultValue = Defaults.GRANULARITY,
                description = "channel, tensor, or group:N (N consecutive output channels share a scale) (default ${DEFAULT-VALUE})")
        String granularity;
        @Option(names = "--weight-range", paramLabel = "R", defaultValue = Defaults.WEIGHT_RANGE,
                description = "restricted ([-(2^(b-1)-1), 2^(b-1)-1]) or full ([-2^(b-1), 2^(b-1)-1]); weights are always symmetric"
                        + " (the integer kernels have no weight zero point) (default ${DEFAULT-VALUE})")
        String weightRange;
        @Option(names = "--symmetric-activations",
                description = "zero point 0 for activations that go negative (non-negative ones, e.g. after ReLU, stay unsigned)")
        boolean symmetricActivations;
        @Option(names = "--layer-bits", paramLabel = "L",
                description = "per-layer bit widths overriding --bits: id=wNaM[,id=wNaM...] (layer ids as in the model, e.g. /l1/c1/Conv)")
        String layerBits;
        @Option(names = "--size-budget", paramLabel = "S",
                description = "mixed-precision weights: per-layer widths 2..8 minimizing the summed ZeroQ sensitivity within S "
                        + "bytes of weights, or a ratio of the int8 weights: 0.5x or 50%% (0.5x = the size of uniform 4-bit "
                        + "weights)")
        String sizeBudget;
        @Option(names = "--equalize",
                description = "cross-layer equalization before calibration (DFQ; ReLU6 becomes ReLU in equalized layers)")
        boolean equalize;
        @Option(names = "--absorb-high-bias",
                description = "high-bias absorption (DFQ): a ReLU layer whose BatchNorm says its input stays above c = max(0, beta "
                        + "- 3 gamma) hands c to the next layer's bias; use with --equalize")
        boolean absorbHighBias;
        @Option(names = "--bias-correction", paramLabel = "B", defaultValue = Defaults.BIAS_CORRECTION,
                description = "none, analytical (from the BatchNorm statistics, no data), empirical (per-channel input means on the"
                        + " synthetic data), auto (analytical where a layer's input comes from a BatchNorm, else empirical) "
                        + "(default ${DEFAULT-VALUE})")
        String biasCorrection;
        @Option(names = "--bn-ranges", paramLabel = "R", defaultValue = Defaults.BN_RANGES,
                description = "activation ranges of layers with a folded BatchNorm from its statistics instead of the calibration "
                        + "data: on, off, or auto (for activations of 4 bits or fewer) (default ${DEFAULT-VALUE})")
        String bnRanges;
        @Option(names = "--calib", paramLabel = "DIR",
                description = "calibrate on a synthetic dataset made earlier (zsq synth) instead of generating one")
        Path calib;
        @Option(names = "--no-gaussian", description = "skip the Gaussian-noise calibration baseline")
        boolean noGaussian;
        @Option(names = "--level", paramLabel = "L", defaultValue = "1",
                description = "1: calibrate (zero-shot PTQ); 2: then fine-tune the quantized model against the FP32 one on the same "
                        + "synthetic set (zero-shot QAT: distillation or block reconstruction, --qat-method), reported beside level 1; the level-2 model is written (default ${DEFAULT-VALUE})")
        int level;
        @Option(names = "--qat-method", paramLabel = "M",
                description = "level 2: kd (distillation of the whole model: LSQ step sizes, straight-through rounding) or reconstruct "
                        + "(block by block against the FP32 block's output: AdaRound rounding, LSQ activation step sizes; BRECQ) "
                        + "(default kd). The options below default per method: kd / reconstruct")
        String qatMethod;
        @Option(names = "--qat-steps", paramLabel = "N",
                description = "optimizer steps; per block for reconstruct (default " + Defaults.QAT_STEPS + " / " + Defaults.RECON_STEPS + ")")
        Integer qatSteps;
        @Option(names = "--qat-batch", paramLabel = "N", description = "images per step (default " + Defaults.QAT_BATCH + " / " + Defaults.RECON_BATCH + ")")
        Integer qatBatch;
        @Option(names = "--qat-micro-batch", paramLabel = "N",
                description = "images per task; the step's gradient is their sum, the same for any number of tasks at once (default "
                        + Defaults.QAT_MICRO_BATCH + " / " + Defaults.RECON_MICRO_BATCH + ")")
        Integer qatMicroBatch;
        @Option(names = "--qat-lr", paramLabel = "X",
                description = "weights and biases (kd), rounding variables (reconstruct) (default " + Defaults.QAT_LR + " / " + Defaults.RECON_LR + ")")
        Double qatLr;
        @Option(names = "--qat-scale-lr", paramLabel = "X",
                description = "learned step sizes, log domain (default " + Defaults.QAT_SCALE_LR + " / " + Defaults.RECON_SCALE_LR + ")")
        Double qatScaleLr;
        @Option(names = "--qat-optimizer", paramLabel = "O", description = "adam or sgd (momentum 0.9) (default adam)")
        String qatOptimizer;
        @Option(names = "--qat-schedule", paramLabel = "S", description = "cosine, step or constant (default cosine)")
        String qatSchedule;
        @Option(names = "--qat-activation-steps", paramLabel = "G",
                description = "how activation step sizes (clipping levels) learn: lsq (rounding error inside, clipping level outside) or pact "
                        + "(from the clipped values alone) (default lsq)")
        String qatActivationSteps;
        @Option(names = "--qat-label-weight", paramLabel = "X",
                description = "kd: weight of the cross-entropy to the class synthesis assigned each image (a pool made with the label "
                        + "term) (default 0)")
        Double qatLabelWeight;
        @Option(names = "--qat-temperature", paramLabel = "T", description = "kd: distillation temperature (default " + Defaults.QAT_TEMPERATURE + ")")
        Double qatTemperature;
        @Option(names = "--qat-feature-weight", paramLabel = "X",
                description = "kd: weight of the feature term: each quantized activation against the FP32 one, squared error over its energy "
                        + "(default " + Defaults.QAT_FEATURE_WEIGHT + ")")
        Double qatFeatureWeight;
        @Option(names = "--qat-checkpoint-every", paramLabel = "N",
                description = "steps between checkpoints in OUT/qat/BITS (a killed run resumes from the last; reconstruct writes one after "
                        + "each block when this is not 0); 0: none (default " + Defaults.QAT_CHECKPOINT_EVERY + ")")
        Integer qatCheckpointEvery;

        /** The Level-2 settings: the method's defaults, overridden by the --qat-* options given. */
        Plan.FineTune fineTune() {
            Plan.FineTune d = Plan.FineTune.defaults(qatMethod == null ? Plan.QatMethod.KD : Plan.FineTune.method(qatMethod));
            if (d.method() == Plan.QatMethod.RECONSTRUCT && (qatTemperature != null || qatFeatureWeight != null || qatLabelWeight != null)) {
                throw new IllegalArgumentException("--qat-temperature, --qat-feature-weight and --qat-label-weight set up --qat-method kd, "
                        + "not reconstruct");
            }
            return new Plan.FineTune(d.method(), or(qatSteps, d.steps()), or(qatBatch, d.batch()), or(qatMicroBatch, d.microBatch()),
                    or(qatLr, d.lr()), or(qatScaleLr, d.scaleLr()), qatOptimizer == null ? d.optimizer() : Plan.FineTune.optimizer(qatOptimizer),
                    qatSchedule == null ? d.schedule() : Plan.FineTune.schedule(qatSchedule), or(qatTemperature, d.temperature()),
                    or(qatFeatureWeight, d.featureWeight()), or(qatCheckpointEvery, d.checkpointEvery()), synth.seed,
                    qatActivationSteps == null ? d.activationSteps() : Plan.FineTune.activationSteps(qatActivationSteps),
                    or(qatLabelWeight, d.labelWeight()));
        }

        private static <T> T or(T given, T otherwise) {
            return given != null ? given : otherwise;
        }

        private boolean anyQatOption() {
            return Stream.of(qatMethod, qatSteps, qatBatch, qatMicroBatch, qatLr, qatScaleLr, qatOptimizer, qatSchedule,
                    qatActivationSteps, qatLabelWeight, qatTemperature, qatFeatureWeight, qatCheckpointEvery).anyMatch(Objects::nonNull);
        }

        Plan plan() {
            Plan.Builder b = synth.into(Plan.builder()).out(out).bits(bits).inputBits(inputBits).eval(eval).evalLimit(evalLimit).evalResize(evalResize)
                    .evalCenterCrop(evalCenterCrop).observer(observer)
                    .weightGranularity(granularity).weightRange(weightRange).symmetricActivations(symmetricActivations).equalize(equalize)
                    .absorbHighBias(absorbHighBias).biasCorrection(biasCorrection).bnRanges(bnRanges).sizeBudget(sizeBudget).calib(calib)
                    .gaussianBaseline(!noGaussian);
            if (level != 1 && level != 2) {
                throw new IllegalArgumentException("--level must be 1 or 2, not " + level);
            }
            if (level == 1 && anyQatOption()) {
                throw new IllegalArgumentException("the --qat-* options set up level 2: give --level 2 with them");
            }
            if (level == 2) {
                b.fineTune(fineTune());
            }
            if (layerBits != null) {
                b.layerBits(layerBits);
            }
            return b.build();
        }

        @Override
        public Integer call() throws Exception {
            QuantizeReport report = QuantizeJob.run(plan(), synth.localPathsShared);
            System.out.print(table(report));
            return 0;
        }
    }

    @Command(name = "synth", mixinStandardHelpOptions = true, usageHelpAutoWidth = true, sortOptions = false,
            description = "Write the synthetic calibration dataset alone: DIR/batch-NNNNN.arrow, DIR/manifest.json and DIR/synth.json.")
    static final class SynthCommand implements Callable<Integer> {
        @Mixin
        SynthOptions synth;
        @Option(names = "--out", required = true, paramLabel = "DIR", description = "the dataset folder")
        Path out;
        @Option(names = "--threads", paramLabel = "T", description = "Spark local[T] (default: all cores)")
        Integer threads;

        @Override
        public Integer call() throws Exception {
            Plan p = synth.into(Plan.builder()).out(out).build();
            long t0 = System.nanoTime();
            QuantizeReport.SynthesisReport r = QuantizeJob.withSpark("zsq synth", threads,
                    jsc -> {
                        QuantizeJob.requireShared(jsc, synth.localPathsShared, "--out", out);
                        return Pipeline.synthesize(p.model(), p.inputShape(), out, p.input(), p.synthesis(), new SparkExecutor(jsc), p.quiet(),
                                p.device());
                    });
            System.out.print(io.zsq.ptq.pipeline.Json.write(r));
            System.err.printf("zsq synth: %d batches in %.1f s with Spark start-up%n", r.batches(), (System.nanoTime() - t0) / 1e9);
            return 0;
        }
    }

    @Command(name = "job", mixinStandardHelpOptions = true, usageHelpAutoWidth = true, sortOptions = false,
            description = {"Run a job file: its models quantized one after the other on one Spark application, for schedulers (cron, "
                    + "Airflow). Re-running skips finished models and resumes half-finished ones. A JSON summary says what each model did "
                    + "and whether real data was read; exit code 0 all done or skipped, 2 a model failed on bad input, 1 otherwise.",
                "", "Job file: {\"job\": NAME, \"summary\": FILE, \"defaults\": {OPTIONS}, \"models\": [{\"name\": N, OPTIONS}, ...]} "
                    + "where OPTIONS are zsq quantize's long options without the dashes (\"bits\": \"w4a4\", \"level\": 2, "
                    + "\"equalize\": true); relative paths are relative to the job file's folder. Example: src/jobs/nightly.json."})
    static final class JobCommand implements Callable<Integer> {
        @Parameters(index = "0", paramLabel = "JOB", description = "the job file (JSON; a local path or hdfs://, s3a://, ...)")
        Path file;
        @Option(names = "--summary", paramLabel = "FILE", description = "where the summary goes (default: the job file's \"summary\", "
                + "else JOB-NAME.summary.json beside the job file)")
        Path summary;
        @Option(names = "--check", description = "read and validate the job file, every model's options included; run nothing")
        boolean check;
        @Spec
        CommandSpec spec;

        @Override
        public Integer call() throws Exception {
            Job job = Job.read(file, summary);
            if (check) {
                spec.commandLine().getOut().printf("zsq job %s: %d models, every option valid; summary would go to %s%n", job.name(),
                        job.entries().size(), job.summaryFile());
                return 0;
            }
            return QuantizeJob.withSpark("zsq job " + job.name(), null, jsc -> job.run(jsc, spec.commandLine().getErr()));
        }
    }

    @Command(name = "run", mixinStandardHelpOptions = true, usageHelpAutoWidth = true, sortOptions = false,
                    description = "The integer model alone (zsq-runtime, no Spark) on labelled test images, on T threads (the "
                            + "same predictions for any T); preprocessing from the model unless given.")
    static final class RunCommand implements Callable<Integer> {
        @Option(names = "--model", required = true, paramLabel = "DIR|FILE.zsq",
                description = "an output folder of zsq quantize, or a .zsq file")
        Path model;
        @Option(names = "--data", required = true, paramLabel = "DATA",
                description = "an idx folder (t10k-images/labels), a CIFAR-10 binary file or folder (test_batch.bin), or an image "
                        + "folder (one subfolder per class)")
        Path data;
        @Option(names = "--limit", paramLabel = "N", defaultValue = "0", description = "the first N images only (default: all)")
        int limit;
        @Option(names = "--resize", paramLabel = "S", defaultValue = "0",
                description = "resize the shorter side to S pixels first (bilinear) (default: as stored)")
        int resize;
        @Option(names = "--center-crop", description = "cut the model's input size out of the center of the (resized) images")
        boolean centerCrop;
        @Option(names = "--threads", paramLabel = "T", description = "threads (default: all cores)")
        Integer threads;
        @Option(names = "--mean", paramLabel = "V[,V...]", description = "preprocessing (default: as recorded in the model)")
        String mean;
        @Option(names = "--std", paramLabel = "V[,V...]", description = "preprocessing (default: as recorded in the model)")
        String std;

        @Override
        public Integer call() throws Exception {
            if (limit < 0) {
                throw new IllegalArgumentException("--limit must be 0 (all) or a positive number of images, not " + limit);
            }
            IntModel m = IntModel.load(Files.isDirectory(model) ? model.resolve("model.zsq") : model);
            String mn = mean != null ? mean : m.metadata().get("input.mean"), sd = std != null ? std : m.metadata().get("input.std");
            if (mn == null || sd == null) {
                throw new IllegalArgumentException(model + ": the model does not record its input preprocessing; give --mean and --std");
            }
            int t = threads != null ? threads : Runtime.getRuntime().availableProcessors();
            if (t < 1) {
                throw new IllegalArgumentException("--threads must be at least 1, not " + t);
            }
            LabeledImages d = LabeledImages.read(data, LabeledImages.Split.TEST, limit, transform(resize, centerCrop, "--resize"),
                    m.inputShape());
            QParams qi = LowerToInteger.tensorQuantization(m, m.inputName());
            byte[][] q = FakeQuant.quantizeInput(d.batch(0, d.count(), new Plan.Normalization(mn, sd).preprocessing()), d.count(), qi);
            long t0 = System.nanoTime();
            byte[][] out = new IntRunner(m).runBatch(q, t);
            double secs = (System.nanoTime() - t0) / 1e9;
            int correct = 0;
            for (int i = 0; i < out.length; i++) {
                correct += IntRunner.argmax(out[i]) == d.labels()[i] ? 1 : 0;
            }
            System.out.printf("zsq run: %s on %d images of %s: top-1 %.2f%%, %.1f images/s on %d threads (%s)%n", model, d.count(), data,
                    100.0 * correct / d.count(), d.count() / secs, t, IntSimd.describe());
            return 0;
        }
    }

    @Command(name = "bench", mixinStandardHelpOptions = true, usageHelpAutoWidth = true, sortOptions = false,
                    description = "Inference speed on every engine, one table: images/s of zsq-runtime int8, ONNX Runtime int8 (the "
                            + "QOperator export) and FP32, and the IR executor FP32, for each batch size and thread count, then the"
                            + " file sizes.")
    static final class BenchCommand implements Callable<Integer> {
        @Option(names = "--model", required = true, paramLabel = "M",
                description = "an FP32 model (quantized with the defaults first, into --out or a temporary folder) or an output "
                        + "folder of zsq quantize")
        Path model;
        @Option(names = "--out", paramLabel = "DIR", description = "where to quantize an FP32 model first")
        Path out;
        @Option(names = "--input-shape", paramLabel = "CxHxW",
                description = "the input size of an FP32 model with a dynamic input (e.g. 3x48x192; default: the model's own, or as "
                        + "recorded in the folder's report.json)")
        String inputShape;
        @Option(names = "--threads", paramLabel = "T[,T...]", split = ",", defaultValue = "1,2", description = "(default ${DEFAULT-VALUE})")
        List<Integer> threads;
        @Option(names = "--batch", paramLabel = "B[,B...]", split = ",", defaultValue = "1,64", description = "(default ${DEFAULT-VALUE})")
        List<Integer> batch;
        @Option(names = "--seconds", paramLabel = "S", defaultValue = "3", description = "per cell (default ${DEFAULT-VALUE})")
        double seconds;
        @Option(names = "--mean", paramLabel = "V[,V...]", defaultValue = Defaults.MEAN, description = "(default ${DEFAULT-VALUE})")
        String mean;
        @Option(names = "--std", paramLabel = "V[,V...]", defaultValue = Defaults.STD, description = "(default ${DEFAULT-VALUE})")
        String std;
        @Option(names = "--data", paramLabel = "DATA", defaultValue = "/usr/share/datasets/fashion-mnist",
                description = "test images to run, any format zsq run takes (default ${DEFAULT-VALUE}; noise in the valid range "
                        + "when absent or not of the model's shape)")
        Path data;
        @Option(names = "--resize", paramLabel = "S", defaultValue = "0",
                description = "resize the shorter side of the --data images to S pixels first (default: as stored)")
        int resize;
        @Option(names = "--center-crop", description = "cut the model's input size out of the center of the (resized) --data images")
        boolean centerCrop;

        @Override
        public Integer call() throws Exception {
            if (threads.stream().anyMatch(t -> t < 1) || batch.stream().anyMatch(b -> b < 1) || !(seconds > 0)) {
                throw new IllegalArgumentException("--threads, --batch and --seconds must be positive");
            }
            return Bench.run(model, out, inputShape == null ? null : Plan.InputShape.parse(inputShape), threads, batch, seconds, mean, std, data, transform(resize, centerCrop, "--resize"));
        }
    }

    /** The resize / center-crop options, validated naming the option. */
    static ImageTransform transform(int resize, boolean centerCrop, String option) {
        if (resize < 0 || resize > ImageTransform.MAX_SIDE) {
            throw new IllegalArgumentException(option + " must be a number of pixels 1.." + ImageTransform.MAX_SIDE + " (the shorter side), not "
                    + resize);
        }
        return new ImageTransform(resize, centerCrop);
    }

    static String table(QuantizeReport r) {
        StringBuilder sb = new StringBuilder();
        sb.append("\nzsq quantize: ").append(r.model()).append(r.realDataUsedForCalibration()
                ? "  (calibrated on REAL data: upper bound)\n" : "  (no real data used for calibration)\n");
        if (r.fp32Top1() != null) {
            sb.append(String.format("evaluated on %s images of %s%n", r.evalImages(), r.evalData()));
        }
        sb.append(String.format("%n%-8s %-12s %10s %10s %12s %12s%n", "bits", "calibration", "top-1 %", "FQ top-1", "agree w/ FQ", "size bytes"));
        if (r.fp32Top1() != null) {
            sb.append(String.format("%-8s %-12s %10.2f %10s %12s %12d%n", "fp32", "-", r.fp32Top1(), "-", "-", r.fp32ModelBytes()));
        }
        for (QuantizeReport.ResultRow row : r.results()) {
            sb.append(String.format("%-8s %-12s %10s %10s %12s %12d%n", row.bits(), row.calibration() + (row.level() == 2 ? "+L2" : ""),
                    row.intTop1() == null ? "-" : String.format("%.2f", row.intTop1()),
                    row.fakeQuantTop1() == null ? "-" : String.format("%.2f", row.fakeQuantTop1()),
                    row.agreementWithFakeQuant() == null ? "-" : String.format("%.2f%%", row.agreementWithFakeQuant()), row.modelBytes()));
        }
        if (r.fineTuning() != null) {
            boolean recon = r.fineTuning().get(0).settings().method() == Plan.QatMethod.RECONSTRUCT;
            sb.append(recon ? "\nL2 = level 2, block reconstruction on the same calibration set (losses summed over blocks):\n"
                    : "\nL2 = level 2, fine-tuned by distillation on the same calibration set:\n");
            for (QuantizeReport.FineTuneInfo f : r.fineTuning()) {
                sb.append(String.format("  %s: %d steps%s of %d images from a pool of %d, loss %.4g -> %.4g, %.3f s per step%n", f.bits(),
                        f.settings().steps(), recon ? " per block" : "", f.settings().batch(), f.poolImages(), f.initialLoss(), f.finalLoss(),
                        f.secondsPerStep()));
            }
        }
        sb.append("\nstage seconds:");
        r.stageSeconds().forEach((k, v) -> sb.append(String.format("  %s %.1f", k, v)));
        sb.append(String.format("%nwrote %s, model.qop.onnx and model.qdq.onnx (ONNX exports), report.json and report.html%n", r.outputModel()));
        return sb.toString();
    }
}
