package io.zsq.qat;

import io.zsq.core.ir.Graph;
import io.zsq.core.ir.Tensor;
import io.zsq.core.passes.ModelState;
import io.zsq.ptq.pipeline.Executor;
import io.zsq.ptq.pipeline.FineTuning;
import io.zsq.ptq.pipeline.Observation;
import io.zsq.ptq.pipeline.Plan;
import io.zsq.ptq.pipeline.QuantizeReport;
import io.zsq.ptq.pipeline.Requests;
import java.io.IOException;
import java.io.PrintStream;
import java.nio.file.Path;

/**
 * zsq-qat's {@link FineTuning} for the pipeline (found by {@link java.util.ServiceLoader}): distillation with
 * {@link FineTuner}, or block reconstruction with {@link Reconstruction}.
 */
public final class Level2 implements FineTuning {

    @Override
    public Result run(Plan.FineTune settings, Graph teacher, ModelState student, Observation.Source data, Executor ex, Path dir, PrintStream log)
            throws IOException {
        return run(settings, teacher, student, data, ex, dir, log, Plan.Device.CPU);
    }

    @Override
    public Result run(Plan.FineTune settings, Graph teacher, ModelState student, Observation.Source data, Executor ex, Path dir, PrintStream log,
                      Plan.Device device) throws IOException {
        int[] out = teacher.shape(teacher.output());
        boolean classifier = (out.length == 1 || (out.length == 3 && out[1] == 1 && out[2] == 1)) && out[0] >= 2;
        if (settings.method() == Plan.QatMethod.KD && !classifier) { // reconstruction matches any output
            throw new IllegalArgumentException("--level 2 distils a classifier's logits: the model's output " + teacher.output() + " has shape "
                    + java.util.Arrays.toString(out) + ", not [classes]");
        }
        FineTuner.Pool pool = pool(data, teacher.inputShape(), classifier ? out[0] : 0);
        if (settings.labelWeight() > 0 && pool.labels() == null) {
            throw new IllegalArgumentException("--qat-label-weight needs the classes synthesis assigned: " + (data.assignedLabels()
                    ? "this calibration set's batches carry no sample numbers" : "a calibration set made with the label term (--method with +label)"));
        }
        boolean pact = settings.activationSteps() == Plan.ActivationSteps.PACT;
        Student st = new Student(student.graph(), student.quantization(), pact);
        log.printf("zsq: fine-tune (level 2, %s): %d steps%s of %d images (%d micro-batches of %d) from a pool of %d, %d parameters%n",
                settings.method().name().toLowerCase(java.util.Locale.ROOT), settings.steps(),
                settings.method() == Plan.QatMethod.RECONSTRUCT ? " per block" : "", settings.batch(),
                settings.batch() / settings.microBatch(), settings.microBatch(), pool.count(), st.size());
        if (settings.method() == Plan.QatMethod.RECONSTRUCT && device != Plan.Device.CPU) {
            log.println("zsq: --device " + device + ": block reconstruction runs on zsq's Vector API engine (CPU); the GPU engine runs distillation");
        }
        FineTuner.Result r = settings.method() == Plan.QatMethod.RECONSTRUCT ? Reconstruction.run(settings, st, pool, ex, dir, log)
                : FineTuner.run(settings, teacher, st, pool, ex, dir, log, device);
        ModelState tuned = new ModelState(st.fp32Graph(r.params()), st.quantization(r.params()), null);
        String bits = "w" + student.quantization().scheme().weightBits() + "a" + student.quantization().scheme().activationBits();
        return new Result(tuned, new QuantizeReport.FineTuneInfo(bits, settings, pool.count(), settings.batch() / settings.microBatch(),
                st.size(), r.initialLoss(), r.finalLoss(), r.curve(), r.resumed(), r.seconds(), r.secondsPerStep(), r.medianSecondsPerStep(),
                r.engine(), r.gpuUnavailable()));
    }

    /**
     * Every image of the calibration set, in batch order, with the class synthesis assigned each ({@code
     * sample mod classes}) where it assigned them and the batches carry sample numbers.
     */
    static FineTuner.Pool pool(Observation.Source data, int[] shape, int classes) throws IOException {
        java.util.List<float[]> parts = new java.util.ArrayList<>();
        java.util.List<int[]> samples = new java.util.ArrayList<>();
        int count = 0;
        for (int i = 0; i < data.batches(); i++) {
            Requests.Sample s = data.read(i);
            parts.add(s.images());
            samples.add(s.samples());
            count += s.size();
        }
        int[] labels = data.assignedLabels() && classes > 1 && samples.stream().allMatch(java.util.Objects::nonNull) ? new int[count] : null;
        if (labels != null) {
            int k = 0;
            for (int[] ids : samples) {
                for (int id : ids) {
                    labels[k++] = Math.floorMod(id, classes);
                }
            }
        }
        int per = Tensor.size(shape);
        float[] all = new float[count * per];
        int at = 0;
        for (float[] p : parts) {
            System.arraycopy(p, 0, all, at, p.length);
            at += p.length;
        }
        return new FineTuner.Pool(all, count, shape, labels);
    }
}
