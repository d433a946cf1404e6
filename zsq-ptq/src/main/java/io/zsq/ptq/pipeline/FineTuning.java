package io.zsq.ptq.pipeline;

import io.zsq.core.ir.Graph;
import io.zsq.core.passes.ModelState;
import java.io.IOException;
import java.io.PrintStream;
import java.nio.file.Path;
import java.util.ServiceLoader;

/**
 * Level 2, as the pipeline sees it: given the FP32 teacher (the canonical graph, BN folded), the
 * Level-1 student (the graph it is lowered from and its placed quantization) and the synthetic
 * calibration set, returns the fine-tuned student in the same form, which the pipeline then lowers
 * and reports beside Level 1. The implementation is zsq-qat's, found on the class path (this module
 * does not depend on it).
 */
public interface FineTuning {

    /** The fine-tuned model and what the run measured. */
    record Result(ModelState state, QuantizeReport.FineTuneInfo info) {}

    /**
     * @param dir where checkpoints go (resumed from when they match this run's settings)
     */
    Result run(Plan.FineTune settings, Graph teacher, ModelState student, Observation.Source data, Executor ex, Path dir, PrintStream log)
            throws IOException;

    /** {@link #run} with the steps on {@code device}'s engine (by default the CPU's, whatever it says). */
    default Result run(Plan.FineTune settings, Graph teacher, ModelState student, Observation.Source data, Executor ex, Path dir, PrintStream log,
                       Plan.Device device) throws IOException {
        return run(settings, teacher, student, data, ex, dir, log);
    }

    /** The implementation on the class path; a plan that asks for Level 2 without one fails in one line. */
    static FineTuning load() {
        return ServiceLoader.load(FineTuning.class).findFirst().orElseThrow(() -> new IllegalArgumentException(
                "--level 2 needs the zsq-qat module on the class path (io.zsq:zsq-qat); it is not there"));
    }
}
