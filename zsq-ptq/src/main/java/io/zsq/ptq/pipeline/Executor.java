package io.zsq.ptq.pipeline;

import java.io.IOException;
import java.io.Serializable;
import java.util.ArrayList;
import java.util.List;

/**
 * Where batch work runs: threads in this JVM ({@link InProcessExecutor}) or Spark tasks (spark-jobs'
 * {@code SparkExecutor}). The pipeline hands it independent tasks (one per batch, chunk or layer) and
 * merges their results itself, in item order, so every executor and every split computes the same bits.
 */
public interface Executor {

    /** A task over one item; serializable so that Spark can ship it. */
    @FunctionalInterface
    interface Task<I, R> extends Serializable {
        R apply(I item) throws Exception;
    }

    /** A value every task may read (a Spark broadcast, or the value itself in process). */
    interface Shared<T> extends Serializable {
        T get();
    }

    /**
     * {@code task} applied to every item, the results in item order. When tasks fail, the call fails with
     * the failure of the first item in order that failed, as the task threw it ({@link IOException} or a
     * runtime exception) with its one-line message.
     *
     * @param stage what the tasks do, for progress and the Spark UI
     */
    <I extends Serializable, R extends Serializable> List<R> map(String stage, List<I> items, Task<I, R> task) throws IOException;

    /**
     * {@link #map} for a stage whose tasks each want a GPU ({@code gpu}): an executor that schedules GPUs gives
     * every task one (Spark: a resource profile asking one GPU per task) and runs it inside {@link TaskGpu#with},
     * so the task reads its address with {@link TaskGpu#address}. One that does not runs it as {@link #map}.
     */
    default <I extends Serializable, R extends Serializable> List<R> map(String stage, List<I> items, Task<I, R> task, boolean gpu)
            throws IOException {
        return map(stage, items, task);
    }

    /** Merges the result of the next item into what the earlier ones gave. */
    @FunctionalInterface
    interface Merge<R> extends Serializable {
        R merge(R earlier, R next);
    }

    /** The most results a {@link #reduce} brings back: longer lists of items are folded in this many consecutive chunks. */
    int REDUCE_RESULTS = 64;

    /**
     * {@code task} applied to every item, the results merged in a tree fixed by the number of items alone: the
     * items cut into at most {@link #REDUCE_RESULTS} consecutive chunks of equal size ({@link #chunks}), each
     * chunk's results merged left to right where it ran, then the chunks' merged left to right ({@code ((c0 + c1)
     * + c2) + ...}). Whatever ran where, the same bits, for merges that are not associative in floating point
     * too; up to 64 items this is the plain left fold {@code ((r0 + r1) + r2) + ...}. The caller holds at most 64
     * results however many items there are (a calibration over thousands of batches does not gather thousands
     * of histograms on the driver). By default {@link #map} over the chunks, then the merge; an executor may merge
     * as results arrive, in order, so that it need not hold them all.
     */
    default <I extends Serializable, R extends Serializable> R reduce(String stage, List<I> items, Task<I, R> task, Merge<R> merge)
            throws IOException {
        List<R> results = map(stage, chunks(items), chunk -> {
            R acc = null;
            for (I item : chunk) {
                R r = task.apply(item);
                acc = acc == null ? r : merge.merge(acc, r);
            }
            return acc;
        });
        R acc = results.get(0);
        for (int i = 1; i < results.size(); i++) {
            acc = merge.merge(acc, results.get(i));
        }
        return acc;
    }

    /** {@link #reduce} for a stage whose tasks each want a GPU (as {@link #map(String, List, Task, boolean)}); the same tree. */
    default <I extends Serializable, R extends Serializable> R reduce(String stage, List<I> items, Task<I, R> task, Merge<R> merge, boolean gpu)
            throws IOException {
        if (!gpu) {
            return reduce(stage, items, task, merge);
        }
        List<R> results = map(stage, chunks(items), chunk -> {
            R acc = null;
            for (I item : chunk) {
                R r = task.apply(item);
                acc = acc == null ? r : merge.merge(acc, r);
            }
            return acc;
        }, true);
        R acc = results.get(0);
        for (int i = 1; i < results.size(); i++) {
            acc = merge.merge(acc, results.get(i));
        }
        return acc;
    }

    /** {@link #reduce}'s chunks: consecutive runs of {@code ceil(n / 64)} items (one item each for up to 64). */
    static <I extends Serializable> List<ArrayList<I>> chunks(List<I> items) {
        int size = chunkSize(items.size());
        List<ArrayList<I>> chunks = new ArrayList<>();
        for (int from = 0; from < items.size(); from += size) {
            chunks.add(new ArrayList<>(items.subList(from, Math.min(items.size(), from + size))));
        }
        return chunks;
    }

    /** Items per chunk of a reduce over {@code n} items. */
    static int chunkSize(int n) {
        return Math.max(1, (n + REDUCE_RESULTS - 1) / REDUCE_RESULTS);
    }

    /** Makes {@code value} readable by tasks without shipping it with each. */
    <T extends Serializable> Shared<T> share(T value);

    /** How many tasks run at once. */
    int parallelism();

    /** Rethrows a task's exception as what it was; anything checked but not an IOException is wrapped in one. */
    static IOException rethrow(Throwable t) {
        if (t instanceof IOException io) {
            return io;
        }
        if (t instanceof RuntimeException r) {
            throw r;
        }
        if (t instanceof Error e) {
            throw e;
        }
        return new IOException(t.getMessage() != null ? t.getMessage() : t.toString(), t);
    }
}
