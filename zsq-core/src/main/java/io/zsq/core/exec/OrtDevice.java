package io.zsq.core.exec;

import ai.onnxruntime.OnnxTensor;
import ai.onnxruntime.OrtEnvironment;
import ai.onnxruntime.OrtException;
import ai.onnxruntime.OrtProvider;
import ai.onnxruntime.OrtSession;
import java.nio.FloatBuffer;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * Where ONNX graphs built by {@link OnnxGraphs} run: ONNX Runtime's CPU provider, or its CUDA provider on
 * one GPU. The CUDA provider is in ONNX Runtime's GPU build only ({@code onnxruntime_gpu}, which needs the
 * CUDA 12 and cuDNN 9 libraries on the machine); {@link #cudaUnavailable} says in one line why a GPU cannot
 * be used here, so callers can fall back to the CPU once and say so.
 */
public final class OrtDevice {
    public enum Kind { CPU, CUDA }

    private final Kind kind;
    private final int id;
    private final int threads;

    private OrtDevice(Kind kind, int id, int threads) {
        this.kind = kind;
        this.id = id;
        this.threads = threads;
    }

    /** ONNX Runtime's CPU provider with {@code threads} intra-op threads. */
    public static OrtDevice cpu(int threads) {
        if (threads < 1) {
            throw new IllegalArgumentException("ONNX Runtime needs at least one thread, got " + threads);
        }
        return new OrtDevice(Kind.CPU, -1, threads);
    }

    /** ONNX Runtime's CUDA provider on GPU {@code id}; refused in one line when no CUDA provider can load. */
    public static OrtDevice cuda(int id) {
        String why = cudaUnavailable();
        if (why != null) {
            throw new IllegalStateException(why);
        }
        return new OrtDevice(Kind.CUDA, id, 1);
    }

    private static volatile String cudaCheck;

    /** Null when ONNX Runtime's CUDA provider is available here; otherwise why not, in one line. */
    public static String cudaUnavailable() {
        String c = cudaCheck;
        if (c == null) {
            String[] r = new String[1];
            Thread t = new Thread(null, () -> r[0] = probeCuda(), "zsq-cuda-probe", STACK_BYTES); // loading the provider recurses deeply too
            t.start();
            try {
                t.join();
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                return "interrupted while probing for ONNX Runtime's CUDA provider";
            }
            c = r[0] == null ? "ONNX Runtime's CUDA provider check failed" : r[0];
            cudaCheck = c;
        }
        return c.isEmpty() ? null : c;
    }

    private static String probeCuda() {
        try {
            OrtEnvironment.getEnvironment(); // the provider's loading logs through the environment's logger: without one it fails
            if (!OrtEnvironment.getAvailableProviders().contains(OrtProvider.CUDA)) {
                return "ONNX Runtime on the class path is the CPU build (com.microsoft.onnxruntime:onnxruntime); GPUs need onnxruntime_gpu";
            }
            try (OrtSession.SessionOptions o = new OrtSession.SessionOptions()) {
                o.addCUDA(0); // loads the provider library and with it CUDA and cuDNN
            }
            return "";
        } catch (OrtException | UnsatisfiedLinkError e) {
            return "ONNX Runtime's CUDA provider did not load (the CUDA 12 and cuDNN 9 libraries must be on LD_LIBRARY_PATH): "
                    + firstLine(e.getMessage());
        }
    }

    private static String firstLine(String s) {
        if (s == null) {
            return "no message";
        }
        int nl = s.indexOf('\n');
        return nl < 0 ? s : s.substring(0, nl);
    }

    public Kind kind() {
        return kind;
    }

    /** The GPU's index ({@code -1} on the CPU). */
    public int id() {
        return id;
    }

    @Override
    public String toString() {
        return kind == Kind.CPU ? "onnxruntime-cpu(" + threads + " threads)" : "onnxruntime-cuda:" + id;
    }

    /**
     * The stack of the thread a session is built and run on. ONNX Runtime's graph passes recurse along the graph:
     * a Level-2 gradient graph of the bundled ResNet (a few thousand nodes) overflows a 1 MB Java thread stack
     * (Spark's task threads) and the process dies with SIGSEGV, no Java exception. 8 MB sufficed; this leaves room.
     */
    static final long STACK_BYTES = 64L << 20;

    /** A session of {@code model} on this device, built and run on a thread of its own with a deep stack ({@link #STACK_BYTES}). */
    public Session open(byte[] model) {
        java.util.concurrent.ExecutorService thread = java.util.concurrent.Executors.newSingleThreadExecutor(r -> {
            Thread t = new Thread(null, r, "zsq-onnxruntime", STACK_BYTES);
            t.setDaemon(true);
            return t;
        });
        try {
            return thread.submit(() -> {
                OrtSession.SessionOptions o = new OrtSession.SessionOptions();
                try {
                    o.setOptimizationLevel(OrtSession.SessionOptions.OptLevel.ALL_OPT);
                    o.setSessionLogLevel(ai.onnxruntime.OrtLoggingLevel.ORT_LOGGING_LEVEL_ERROR); // its optimizers' notes on our graphs are noise
                    o.setIntraOpNumThreads(threads);
                    o.setInterOpNumThreads(1);
                    if (kind == Kind.CUDA) {
                        o.addCUDA(id);
                    }
                    return new Session(OrtEnvironment.getEnvironment().createSession(model, o), o, thread);
                } catch (OrtException e) {
                    o.close();
                    throw new IllegalStateException("ONNX Runtime (" + this + ") refused the gradient graph: " + firstLine(e.getMessage()), e);
                }
            }).get();
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            thread.shutdownNow();
            throw new IllegalStateException("interrupted while ONNX Runtime built the gradient graph", e);
        } catch (java.util.concurrent.ExecutionException e) {
            thread.shutdownNow();
            throw e.getCause() instanceof RuntimeException r ? r : new IllegalStateException(e.getCause());
        }
    }

    /** A float input: values and dims. */
    public record Input(float[] values, long[] dims) {}

    /** One loaded graph. Not thread-safe across concurrent {@link #run} calls with shared outputs; one per loop. */
    public static final class Session implements AutoCloseable {
        private final OrtSession session;
        private final OrtSession.SessionOptions options;
        private final java.util.concurrent.ExecutorService thread;

        Session(OrtSession session, OrtSession.SessionOptions options, java.util.concurrent.ExecutorService thread) {
            this.session = session;
            this.options = options;
            this.thread = thread;
        }

        /** Runs the graph on {@code inputs} (on the session's own thread); returns the named outputs as float arrays. */
        public Map<String, float[]> run(Map<String, Input> inputs, List<String> outputs) {
            try {
                return thread.submit(() -> runHere(inputs, outputs)).get();
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                throw new IllegalStateException("interrupted while ONNX Runtime ran the gradient graph", e);
            } catch (java.util.concurrent.ExecutionException e) {
                throw e.getCause() instanceof RuntimeException r ? r : new IllegalStateException(e.getCause());
            }
        }

        private Map<String, float[]> runHere(Map<String, Input> inputs, List<String> outputs) {
            OrtEnvironment env = OrtEnvironment.getEnvironment();
            Map<String, OnnxTensor> in = new HashMap<>();
            try {
                for (Map.Entry<String, Input> e : inputs.entrySet()) {
                    in.put(e.getKey(), OnnxTensor.createTensor(env, FloatBuffer.wrap(e.getValue().values()), e.getValue().dims()));
                }
                try (OrtSession.Result r = session.run(in, new java.util.LinkedHashSet<>(outputs))) {
                    Map<String, float[]> out = new LinkedHashMap<>();
                    for (String name : outputs) {
                        OnnxTensor t = (OnnxTensor) r.get(name).orElseThrow(() -> new IllegalStateException("no output " + name));
                        FloatBuffer fb = t.getFloatBuffer();
                        float[] a = new float[fb.remaining()];
                        fb.get(a);
                        out.put(name, a);
                    }
                    return out;
                }
            } catch (OrtException e) {
                throw new IllegalStateException("ONNX Runtime failed running the gradient graph: " + firstLine(e.getMessage()), e);
            } finally {
                in.values().forEach(OnnxTensor::close);
            }
        }

        @Override
        public void close() {
            try {
                thread.submit(() -> {
                    try {
                        session.close();
                    } finally {
                        options.close();
                    }
                    return null;
                }).get();
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            } catch (java.util.concurrent.ExecutionException e) {
                throw new IllegalStateException("ONNX Runtime failed closing a session: " + e.getCause().getMessage(), e.getCause());
            } finally {
                thread.shutdown();
            }
        }
    }
}
