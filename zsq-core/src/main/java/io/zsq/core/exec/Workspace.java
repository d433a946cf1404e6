package io.zsq.core.exec;

import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.function.Supplier;

/**
 * The arrays of a loop that runs one graph on one batch size step after step (synthesis, fine-tuning),
 * kept for the next step. Without a workspace every forward and backward pass allocates each activation,
 * gradient, padded copy and transposed weight anew: on the CIFAR ResNets at batch 32 those are 2 MB
 * arrays, which G1 (4 MB regions at an 8 GB heap) places in humongous regions, and the kernel time spent
 * faulting fresh pages in was most of the CPU time of synthesis. With one, {@link #recycle} hands a
 * step's arrays back and the next step takes the same ones: after the first step nothing is allocated.
 *
 * <p>Every array a workspace lends is valid until its next {@link #recycle}; the caller must not keep one
 * past that. Arrays come zeroed unless taken with {@link #scratch}, whose callers overwrite every
 * element. Not thread-safe: one workspace per loop (per thread).
 *
 * <p>A workspace also keeps the layouts the kernels derive from parameter arrays (transposed and
 * flipped convolution weights), keyed by the array itself: while a workspace is in use its graph's
 * parameters must not change in place; after changing them, {@link #forgetParameters}.
 */
public final class Workspace {
    private static final ThreadLocal<Workspace> ACTIVE = new ThreadLocal<>();

    private final Map<Integer, ArrayDeque<float[]>> freeFloats = new HashMap<>();
    private final Map<Integer, ArrayDeque<int[]>> freeInts = new HashMap<>();
    private final Map<float[], Boolean> lentFloats = new java.util.IdentityHashMap<>();
    private final Map<float[], Map<String, float[]>> derived = new java.util.IdentityHashMap<>();
    private final List<int[]> lentInts = new ArrayList<>();

    /** A zeroed array of {@code n} floats, valid until the next {@link #recycle}. */
    public float[] floats(int n) {
        float[] a = take(n);
        java.util.Arrays.fill(a, 0f);
        return a;
    }

    /** An array of {@code n} floats holding anything, for a caller that writes every element; valid until the next {@link #recycle}. */
    public float[] floatsUnzeroed(int n) {
        return take(n);
    }

    /** Hands back every array lent since the last call. */
    public void recycle() {
        for (float[] a : lentFloats.keySet()) {
            freeFloats.computeIfAbsent(a.length, k -> new ArrayDeque<>()).push(a);
        }
        for (int[] a : lentInts) {
            freeInts.computeIfAbsent(a.length, k -> new ArrayDeque<>()).push(a);
        }
        lentFloats.clear();
        lentInts.clear();
    }

    /** Drops the layouts derived from parameter arrays (after the parameters changed in place). */
    public void forgetParameters() {
        derived.clear();
    }

    private float[] take(int n) {
        ArrayDeque<float[]> q = freeFloats.get(n);
        float[] a = q == null || q.isEmpty() ? new float[n] : q.pop();
        lentFloats.put(a, Boolean.TRUE);
        return a;
    }

    /**
     * Hands one array back before the step ends, when the engine knows nothing reads it any more (a
     * gradient consumed, a padded copy used): the step's peak memory is then what is live at once, not all
     * it ever made. Arrays the active workspace did not lend are left alone.
     */
    static void release(float[] a) {
        Workspace ws = ACTIVE.get();
        if (ws != null && a != null && ws.lentFloats.remove(a) != null) {
            ws.freeFloats.computeIfAbsent(a.length, k -> new ArrayDeque<>()).push(a);
        }
    }

    /** Runs {@code body} with this workspace (if not null) lending the engine's arrays on this thread. */
    static <T> T within(Workspace ws, Supplier<T> body) {
        if (ws == null) {
            return body.get();
        }
        Workspace prev = ACTIVE.get();
        ACTIVE.set(ws);
        try {
            return body.get();
        } finally {
            ACTIVE.set(prev);
        }
    }

    /**
     * A layout derived from a parameter array (zeroed, then filled by {@code fill}): kept by the active
     * workspace under ({@code source}, {@code layout}) for the next steps, or made anew without one.
     */
    static float[] derived(float[] source, String layout, int n, java.util.function.Consumer<float[]> fill) {
        Workspace ws = ACTIVE.get();
        if (ws == null) {
            float[] a = new float[n];
            fill.accept(a);
            return a;
        }
        Map<String, float[]> forSource = ws.derived.computeIfAbsent(source, k -> new HashMap<>());
        float[] a = forSource.get(layout);
        if (a == null || a.length != n) {
            a = new float[n];
            fill.accept(a);
            forSource.put(layout, a);
        }
        return a;
    }

    /** A zeroed array from the active workspace, or a new one. */
    static float[] zeros(int n) {
        Workspace ws = ACTIVE.get();
        return ws == null ? new float[n] : ws.floats(n);
    }

    /** An array whose every element the caller overwrites: from the active workspace unzeroed, or new. */
    static float[] scratch(int n) {
        Workspace ws = ACTIVE.get();
        return ws == null ? new float[n] : ws.take(n);
    }

    /** An int array whose every element the caller overwrites. */
    static int[] intScratch(int n) {
        Workspace ws = ACTIVE.get();
        if (ws == null) {
            return new int[n];
        }
        ArrayDeque<int[]> q = ws.freeInts.get(n);
        int[] a = q == null || q.isEmpty() ? new int[n] : q.pop();
        ws.lentInts.add(a);
        return a;
    }
}
