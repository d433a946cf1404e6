package io.zsq.spark;

import io.zsq.core.imports.ModelImportException;
import io.zsq.ptq.pipeline.Executor;
import java.io.IOException;
import java.io.Serializable;
import java.util.ArrayList;
import java.util.List;
import org.apache.spark.api.java.JavaSparkContext;
import org.apache.spark.broadcast.Broadcast;

/**
 * The pipeline's {@link Executor} on Spark: the items become an RDD (one partition per item unless
 * {@code partitions} says otherwise), each task's result comes back with {@code collect} in item
 * order, and values tasks share are broadcast. A task that fails on bad input (an exception of the
 * pipeline's own) returns the failure instead of throwing, so the driver reports it as the one line
 * the task wrote rather than as Spark's stage-failure trace, and Spark does not retry what would fail
 * again; errors of the JVM (a lost executor, out of memory) are Spark's to retry.
 */
public final class SparkExecutor implements Executor {
    private final JavaSparkContext jsc;
    private final int partitions;

    /** One partition per item. */
    public SparkExecutor(JavaSparkContext jsc) {
        this(jsc, 0);
    }

    /** {@code partitions} partitions (0: one per item); the results do not depend on it. */
    public SparkExecutor(JavaSparkContext jsc, int partitions) {
        this.jsc = jsc;
        this.partitions = partitions;
    }

    /** A task's value, or how it failed. */
    record Outcome<R>(R value, String kind, String message) implements Serializable {
        static <I, R> Outcome<R> of(Task<I, R> task, I item) {
            try {
                return new Outcome<>(task.apply(item), null, null);
            } catch (IOException e) {
                return new Outcome<>(null, "io", message(e));
            } catch (ModelImportException e) {
                return new Outcome<>(null, "import", message(e));
            } catch (IllegalArgumentException e) {
                return new Outcome<>(null, "argument", message(e));
            } catch (Exception e) {
                return new Outcome<>(null, "other", e.getClass().getSimpleName() + ": " + message(e));
            }
        }

        private static String message(Exception e) {
            return e.getMessage() != null ? e.getMessage() : e.toString();
        }
    }

    @Override
    public <I extends Serializable, R extends Serializable> List<R> map(String stage, List<I> items, Task<I, R> task) throws IOException {
        if (items.isEmpty()) {
            return List.of();
        }
        jsc.setJobDescription("zsq " + stage);
        int slices = partitions > 0 ? Math.min(partitions, items.size()) : items.size();
        List<Outcome<R>> outcomes = jsc.parallelize(items, slices).map(i -> {
            FaultInjection.point(stage, "before");
            Outcome<R> o = Outcome.of(task, i);
            FaultInjection.point(stage, "after");
            return o;
        }).collect();
        String halt = jsc.getLocalProperty(FaultInjection.KEY);
        if (halt != null && halt.startsWith(stage + ":")) {
            jsc.setLocalProperty(FaultInjection.KEY, null); // the test hook fires in the first job of its stage only
        }
        List<R> out = new ArrayList<>(outcomes.size());
        for (Outcome<R> o : outcomes) {
            if (o.kind() != null) {
                switch (o.kind()) {
                    case "io" -> throw new IOException(o.message());
                    case "import" -> throw new ModelImportException(o.message());
                    case "argument" -> throw new IllegalArgumentException(o.message());
                    default -> throw new IllegalStateException(o.message());
                }
            }
            out.add(o.value());
        }
        return out;
    }

    @Override
    public <T extends Serializable> Shared<T> share(T value) {
        return new Broadcasted<>(jsc.broadcast(value));
    }

    private record Broadcasted<T>(Broadcast<T> b) implements Shared<T> {
        @Override
        public T get() {
            return b.value();
        }
    }

    @Override
    public int parallelism() {
        return jsc.defaultParallelism();
    }
}
