package io.zsq.ptq.pipeline;

import java.io.IOException;
import java.io.Serializable;
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

    /** Merges the result of the next item into what the earlier ones gave. */
    @FunctionalInterface
    interface Merge<R> extends Serializable {
        R merge(R earlier, R next);
    }

    /**
     * {@code task} applied to every item, the results merged left to right in item order ({@code ((r0 + r1)
     * + r2) + ...}), whatever ran where: the same bits as one thread would give, for merges that are not
     * associative in floating point too. By default {@link #map} then the merge; an executor may merge as
     * results arrive, in order, so that it need not hold them all.
     */
    default <I extends Serializable, R extends Serializable> R reduce(String stage, List<I> items, Task<I, R> task, Merge<R> merge)
            throws IOException {
        List<R> results = map(stage, items, task);
        R acc = results.get(0);
        for (int i = 1; i < results.size(); i++) {
            acc = merge.merge(acc, results.get(i));
        }
        return acc;
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
