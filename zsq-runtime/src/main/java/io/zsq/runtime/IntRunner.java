package io.zsq.runtime;

import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;

/** Runs an {@link IntModel} on int8 inputs. Thread-safe: the model is immutable. */
public final class IntRunner {
    private final IntModel model;
    private final int inputSize;

    public IntRunner(IntModel model) {
        this.model = model;
        this.inputSize = Layer.size(model.inputShape());
    }

    public IntModel model() {
        return model;
    }

    /** Runs one image (int8, NCHW, the model's input quantization) and returns the int8 output. */
    public byte[] run(byte[] input) {
        if (input.length != inputSize) {
            throw new IllegalArgumentException("input has " + input.length + " values, model '" + model.inputName() + "' takes " + inputSize);
        }
        Map<String, byte[]> t = new HashMap<>();
        t.put(model.inputName(), input);
        for (Layer l : model.layers()) {
            t.put(l.output(), step(l, t));
        }
        return t.get(model.outputName());
    }

    /** One layer's output from the tensors computed so far (by name). */
    public static byte[] step(Layer l, Map<String, byte[]> tensors) {
        if (l instanceof Layer.Conv c) {
            return Kernels.conv(c, tensors.get(c.input()));
        } else if (l instanceof Layer.Add a) {
            return Kernels.add(a, tensors.get(a.a()), tensors.get(a.b()));
        } else if (l instanceof Layer.MaxPool m) {
            return Kernels.maxPool(m, tensors.get(m.input()));
        } else if (l instanceof Layer.AvgPool p) {
            return Kernels.avgPool(p, tensors.get(p.input()));
        } else if (l instanceof Layer.Slice s) {
            return Kernels.slice(s, tensors.get(s.input()));
        } else if (l instanceof Layer.Pad p) {
            return Kernels.pad(p, tensors.get(p.input()));
        } else if (l instanceof Layer.Mul m) {
            return Kernels.mul(m, tensors.get(m.a()), tensors.get(m.b()));
        } else if (l instanceof Layer.Lut t) {
            return Kernels.lut(t, tensors.get(t.input()));
        } else if (l instanceof Layer.Concat c) {
            byte[][] x = new byte[c.inputs().length][];
            for (int i = 0; i < x.length; i++) {
                x[i] = tensors.get(c.inputs()[i]);
            }
            return Kernels.concat(c, x);
        } else if (l instanceof Layer.Expand e) {
            return Kernels.expand(e, tensors.get(e.input()));
        }
        return tensors.get(((Layer.Reshape) l).input());
    }

    /** Runs a batch on {@code threads} threads; the result does not depend on the thread count. */
    public byte[][] runBatch(byte[][] inputs, int threads) {
        byte[][] out = new byte[inputs.length][];
        if (threads <= 1) {
            for (int i = 0; i < inputs.length; i++) {
                out[i] = run(inputs[i]);
            }
            return out;
        }
        ExecutorService pool = Executors.newFixedThreadPool(threads);
        try {
            List<Future<?>> fs = new ArrayList<>();
            for (int t = 0; t < threads; t++) {
                final int from = t;
                fs.add(pool.submit(() -> {
                    for (int i = from; i < inputs.length; i += threads) {
                        out[i] = run(inputs[i]);
                    }
                }));
            }
            for (Future<?> f : fs) {
                f.get();
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IllegalStateException(e);
        } catch (ExecutionException e) {
            throw new IllegalStateException(e.getCause());
        } finally {
            pool.shutdown();
        }
        return out;
    }

    /** What {@link #profile} measured: {@code nanos[i]} is layer i's total time over {@code images} images. */
    public record Profile(long images, long[] nanos) {}

    /**
     * Per-layer wall time on this thread: runs the images one at a time, layer by layer through
     * {@link #step}, first for {@code warmupNanos} untimed (the JIT compiles the kernels), then for at
     * least {@code nanos}, timing each layer, in {@link IntModel#layers()} order.
     */
    public Profile profile(byte[][] inputs, long warmupNanos, long nanos) {
        List<Layer> layers = model.layers();
        long[] ns = new long[layers.size()];
        long images = 0;
        for (int phase = 0; phase < 2; phase++) {
            java.util.Arrays.fill(ns, 0);
            images = 0;
            long start = System.nanoTime(), limit = phase == 0 ? warmupNanos : nanos;
            do {
                for (byte[] input : inputs) {
                    Map<String, byte[]> t = new HashMap<>();
                    t.put(model.inputName(), input);
                    for (int i = 0; i < layers.size(); i++) {
                        long s = System.nanoTime();
                        t.put(layers.get(i).output(), step(layers.get(i), t));
                        ns[i] += System.nanoTime() - s;
                    }
                    images++;
                }
            } while (System.nanoTime() - start < limit);
        }
        return new Profile(images, ns);
    }

    /** Index of the largest output value, ties to the first. */
    public static int argmax(byte[] v) {
        int best = 0;
        for (int i = 1; i < v.length; i++) {
            if (v[i] > v[best]) {
                best = i;
            }
        }
        return best;
    }
}
