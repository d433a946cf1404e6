package io.zsq.ptq.pipeline;

import io.zsq.core.exec.OrtDevice;
import io.zsq.core.ir.Graph;
import io.zsq.synth.OrtBnMatchingLoss;
import io.zsq.synth.SynthesisLoss;

/**
 * Which engine a synthesis task runs on, from {@code --device} and the GPU the task was given
 * ({@link TaskGpu}): zsq's Vector API engine, or the ONNX Runtime engine on a GPU or on the CPU. A task that
 * wanted a GPU and cannot have one (no CUDA provider here) runs on the CPU and says why in its result, so
 * the driver can say it once.
 */
final class SynthesisEngines {
    private SynthesisEngines() {}

    /** The engine (null: the Vector API engine), its name, and why a GPU was not used (null when none was wanted or it was). */
    record Choice(SynthesisLoss loss, String device, String fallback) {}

    /** One ONNX Runtime engine per task thread, kept while the thread synthesizes batches of one graph on one device. */
    private static final ThreadLocal<OrtBnMatchingLoss> KEPT = new ThreadLocal<>();
    private static final ThreadLocal<Graph> KEPT_GRAPH = new ThreadLocal<>();

    static Choice choose(Plan.Device d, Graph g) {
        switch (d) {
            case CPU:
                return new Choice(null, "cpu", null);
            case ONNXRUNTIME_CPU:
                return ort(g, OrtDevice.cpu(1), null);
            default: {
                String why = OrtDevice.cudaUnavailable();
                if (why != null) {
                    return new Choice(null, "cpu", why);
                }
                String address = TaskGpu.address();
                int id;
                try {
                    id = address == null ? 0 : Integer.parseInt(address.trim());
                } catch (NumberFormatException e) {
                    throw new IllegalArgumentException("the cluster gave this task GPU '" + address + "', which is not a CUDA device index "
                            + "(the discovery script must print indices, as nvidia-smi numbers them)");
                }
                return ort(g, OrtDevice.cuda(id), null);
            }
        }
    }

    private static Choice ort(Graph g, OrtDevice device, String fallback) {
        OrtBnMatchingLoss kept = KEPT.get();
        if (kept == null || KEPT_GRAPH.get() != g || !kept.device().toString().equals(device.toString())) {
            if (kept != null) {
                kept.close();
            }
            kept = new OrtBnMatchingLoss(g, device);
            KEPT.set(kept);
            KEPT_GRAPH.set(g);
        }
        return new Choice(kept, device.toString(), fallback);
    }
}
