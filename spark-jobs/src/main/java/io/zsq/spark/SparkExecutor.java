package io.zsq.spark;

import io.zsq.core.imports.ModelImportException;
import io.zsq.ptq.pipeline.Executor;
import io.zsq.ptq.pipeline.TaskGpu;
import java.io.IOException;
import java.io.Serializable;
import java.util.ArrayList;
import java.util.List;
import org.apache.spark.TaskContext;
import org.apache.spark.api.java.JavaRDD;
import org.apache.spark.api.java.JavaSparkContext;
import org.apache.spark.broadcast.Broadcast;
import org.apache.spark.resource.ResourceInformation;
import org.apache.spark.resource.ResourceProfile;
import org.apache.spark.resource.ResourceProfileBuilder;
import org.apache.spark.resource.TaskResourceRequests;

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
        return map(stage, items, task, false);
    }

    /** One GPU per task, and one CPU core (built on the driver, once). */
    private ResourceProfile oneGpu;

    private synchronized ResourceProfile oneGpu() {
        if (oneGpu == null) {
            oneGpu = new ResourceProfileBuilder().require(new TaskResourceRequests().cpus(1).resource("gpu", 1.0)).build();
        }
        return oneGpu;
    }

    /**
     * Whether this application's executors have GPUs to schedule ({@code spark.executor.resource.gpu.amount} on a
     * cluster manager; Spark's local mode schedules none).
     */
    boolean schedulesGpus() {
        return !jsc.master().startsWith("local[") && !jsc.master().equals("local") && jsc.getConf().getDouble("spark.executor.resource.gpu.amount", 0) > 0;
    }

    /**
     * With {@code gpu}, on an application whose executors have GPUs, the stage's RDD carries a resource profile asking one
     * GPU per task (a task-only profile: the executors are the ones the application started, and Spark gives each task
     * one of its executor's GPU addresses, never one another running task holds); each task runs inside
     * {@link TaskGpu#with} its address. Elsewhere (local mode, or executors without GPUs) the tasks run as any others.
     */
    @Override
    public <I extends Serializable, R extends Serializable> List<R> map(String stage, List<I> items, Task<I, R> task, boolean gpu) throws IOException {
        if (items.isEmpty()) {
            return List.of();
        }
        jsc.setJobDescription("zsq " + stage);
        int slices = partitions > 0 ? Math.min(partitions, items.size()) : items.size();
        JavaRDD<I> rdd = jsc.parallelize(items, slices);
        boolean scheduled = gpu && schedulesGpus();
        if (scheduled) {
            rdd = rdd.withResources(oneGpu());
        }
        List<Outcome<R>> outcomes = rdd.map(i -> {
            FaultInjection.point(stage, "before");
            Outcome<R> o = scheduled ? TaskGpu.with(gpuAddress(), () -> Outcome.of(task, i)) : Outcome.of(task, i);
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

    /** The first GPU address Spark gave the running task, or null. */
    static String gpuAddress() {
        TaskContext tc = TaskContext.get();
        ResourceInformation r = tc == null ? null : tc.resourcesJMap().get("gpu");
        return r == null || r.addresses().length == 0 ? null : r.addresses()[0];
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
