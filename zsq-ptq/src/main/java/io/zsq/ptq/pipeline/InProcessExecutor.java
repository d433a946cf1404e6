package io.zsq.ptq.pipeline;

import java.io.IOException;
import java.io.Serializable;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.ThreadFactory;

/** Runs tasks on a fixed number of threads in this JVM (the Java API without Spark). */
public final class InProcessExecutor implements Executor {
    private final int threads;

    /** One thread per available processor. */
    public InProcessExecutor() {
        this(Runtime.getRuntime().availableProcessors());
    }

    public InProcessExecutor(int threads) {
        if (threads < 1) {
            throw new IllegalArgumentException("threads must be >= 1, got " + threads);
        }
        this.threads = threads;
    }

    @Override
    public <I extends Serializable, R extends Serializable> List<R> map(String stage, List<I> items, Task<I, R> task) throws IOException {
        if (items.isEmpty()) {
            return List.of();
        }
        ThreadFactory named = r -> {
            Thread t = new Thread(r, "zsq-" + stage);
            t.setDaemon(true);
            return t;
        };
        ExecutorService pool = Executors.newFixedThreadPool(Math.min(threads, items.size()), named);
        try {
            List<Future<R>> fs = new ArrayList<>();
            for (I item : items) {
                fs.add(pool.submit(() -> task.apply(item)));
            }
            List<R> out = new ArrayList<>(items.size());
            for (Future<R> f : fs) {
                try {
                    out.add(f.get());
                } catch (ExecutionException e) {
                    throw Executor.rethrow(e.getCause());
                } catch (InterruptedException e) {
                    Thread.currentThread().interrupt();
                    throw new IOException(stage + " interrupted", e);
                }
            }
            return out;
        } finally {
            pool.shutdownNow();
        }
    }

    /** Merges in {@link Executor#reduce}'s tree, in item order as results come, with at most twice the thread count of results waiting. */
    @Override
    public <I extends Serializable, R extends Serializable> R reduce(String stage, List<I> items, Task<I, R> task, Merge<R> merge)
            throws IOException {
        if (items.isEmpty()) {
            throw new IllegalArgumentException(stage + ": nothing to reduce");
        }
        ExecutorService pool = Executors.newFixedThreadPool(Math.min(threads, items.size()), r -> {
            Thread t = new Thread(r, "zsq-" + stage);
            t.setDaemon(true);
            return t;
        });
        try {
            java.util.ArrayDeque<Future<R>> window = new java.util.ArrayDeque<>();
            int next = 0, chunk = Executor.chunkSize(items.size());
            R acc = null, part = null; // the fold of the chunks so far, and of the current chunk (Executor#reduce's tree)
            for (int done = 0; done < items.size(); done++) {
                while (next < items.size() && window.size() < 2 * threads) {
                    I item = items.get(next++);
                    window.add(pool.submit(() -> task.apply(item)));
                }
                R r;
                try {
                    r = window.poll().get();
                } catch (ExecutionException e) {
                    throw Executor.rethrow(e.getCause());
                } catch (InterruptedException e) {
                    Thread.currentThread().interrupt();
                    throw new IOException(stage + " interrupted", e);
                }
                part = done % chunk == 0 ? r : merge.merge(part, r);
                if (done % chunk == chunk - 1 || done == items.size() - 1) {
                    acc = acc == null ? part : merge.merge(acc, part);
                }
            }
            return acc;
        } finally {
            pool.shutdownNow();
        }
    }

    @Override
    public <T extends Serializable> Shared<T> share(T value) {
        return () -> value;
    }

    @Override
    public int parallelism() {
        return threads;
    }
}
