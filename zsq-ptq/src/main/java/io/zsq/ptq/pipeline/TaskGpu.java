package io.zsq.ptq.pipeline;

import java.util.concurrent.Callable;

/**
 * The GPU the running task was given, if any: an executor that schedules GPUs (Spark with GPU resources,
 * through a resource profile) runs each task of a GPU stage inside {@link #with}, so the task's code reads
 * its address with {@link #address} wherever it is.
 */
public final class TaskGpu {
    private TaskGpu() {}

    private static final ThreadLocal<String> ADDRESS = new ThreadLocal<>();

    /** The GPU address (as the cluster's discovery script gave it, e.g. {@code "1"}) of the running task, or null. */
    public static String address() {
        return ADDRESS.get();
    }

    /** Runs {@code body} as a task given GPU {@code address} (null: none). */
    public static <R> R with(String address, Callable<R> body) throws Exception {
        String before = ADDRESS.get();
        ADDRESS.set(address);
        try {
            return body.call();
        } finally {
            ADDRESS.set(before);
        }
    }
}
