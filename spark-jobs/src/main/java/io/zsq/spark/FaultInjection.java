package io.zsq.spark;

import org.apache.spark.SparkEnv;
import org.apache.spark.TaskContext;

/**
 * A test hook: the job's local property {@code zsq.test.halt=STAGE:PARTITION:before|after} halts the executor JVM (as a lost
 * node would: no clean-up, no shutdown hooks) when the task of that partition of that stage starts or has
 * done its work, on the task's first attempt only, so Spark's retry runs it to the end, and in the first job of
 * that stage only (a Level-2 run has a job per step; {@link SparkExecutor} clears the property after it). Unset, it costs one
 * property look-up per task.
 */
final class FaultInjection {
    private FaultInjection() {}

    /** Set with {@code JavaSparkContext.setLocalProperty} on the thread that runs the job. */
    static final String KEY = "zsq.test.halt";

    static void point(String stage, String when) {
        TaskContext task = TaskContext.get();
        if (task == null || task.attemptNumber() > 0) {
            return;
        }
        String want = task.getLocalProperty(KEY);
        if (want != null && want.equals(stage + ":" + task.partitionId() + ":" + when)) {
            SparkEnv env = SparkEnv.get();
            System.err.println("zsq: test hook " + KEY + "=" + want + ": halting executor " + (env == null ? "?" : env.executorId()));
            Runtime.getRuntime().halt(137);
        }
    }
}
