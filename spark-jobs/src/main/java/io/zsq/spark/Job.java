package io.zsq.spark;

import com.fasterxml.jackson.core.JacksonException;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.zsq.core.imports.ModelImportException;
import io.zsq.core.io.Locations;
import io.zsq.ptq.pipeline.Json;
import io.zsq.ptq.pipeline.Plan;
import java.io.IOException;
import java.io.InputStream;
import java.io.PrintWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Instant;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.Iterator;
import java.util.List;
import java.util.Map;
import java.util.Set;
import org.apache.spark.api.java.JavaSparkContext;
import picocli.CommandLine;

/**
 * A scheduled pipeline: a job file names the models to quantize and how, and one command (or one
 * spark-submit) runs them all on one Spark application, one after the other.
 *
 * <pre>{@code
 * {
 *   "job": "nightly",                                  // optional; default: the file's name
 *   "summary": "hdfs://nn:8020/zsq/nightly.summary.json", // optional; default: beside the job file
 *   "defaults": {"bits": "w4a4", "level": 2, "count": 1024},
 *   "models": [
 *     {"name": "resnet", "model": "models/resnet.onnx", "out": "hdfs://nn:8020/zsq/resnet"},
 *     {"name": "mobilenet", "model": "models/mobilenet.onnx", "out": "out/mobilenet", "count": 2048}
 *   ]
 * }
 * }</pre>
 *
 * Each model's options are {@code zsq quantize}'s long options without the dashes, its own over the
 * defaults ({@code true} for a flag, a list for a comma-separated value), parsed and validated by the same
 * command, every model before any runs: a bad job file stops with one line naming the file, the model and
 * the option, and runs nothing. Relative paths are relative to the job file's folder.
 *
 * <p>Re-running is safe: a model whose {@code out} holds a finished run of the same plan (its report.json,
 * written last) is skipped; a half-finished one is resumed (its synthetic batches and Level-2 checkpoints
 * are kept); a finished run of a different plan is left alone and reported as failed. A model that fails does
 * not stop the others. The summary (JSON, rewritten atomically after every model) says what each model did
 * and whether any real data was read; the exit code is 0 when every model is done or skipped, 2 when one
 * failed on bad input (a missing model file, a refused option), 1 when one failed otherwise.
 */
final class Job {
    /** Version of the summary's layout. */
    static final int SUMMARY_VERSION = 1;

    /** One model of the job: its name and its plan. */
    record Entry(String name, Plan plan, boolean localPathsShared) {}

    /** What happened to one model. */
    record ModelSummary(String name, String status, String model, String out, Double seconds, String error, Boolean realDataRead,
                        Double fp32Top1, List<Result> results) {}

    /** One row of a model's report: bits, level, integer top-1. */
    record Result(String bits, int level, String calibration, Double intTop1) {}

    /** The job's summary, as the scheduler reads it. */
    record Summary(int schemaVersion, String job, String file, String started, String finished, Integer exitCode, boolean dataFree,
                   List<ModelSummary> models) {}

    private final Path file;
    private final String name;
    private final Path summary;
    private final List<Entry> entries;

    private Job(Path file, String name, Path summary, List<Entry> entries) {
        this.file = file;
        this.name = name;
        this.summary = summary;
        this.entries = entries;
    }

    String name() {
        return name;
    }

    Path summaryFile() {
        return summary;
    }

    List<Entry> entries() {
        return entries;
    }

    /** Reads and validates a job file; {@code summary} overrides the file's own summary location (null: the file's, or beside it). */
    static Job read(Path file, Path summary) throws IOException {
        JsonNode root;
        try (InputStream in = Files.newInputStream(file)) {
            root = Json.MAPPER.readTree(in);
        } catch (JacksonException e) {
            throw new IllegalArgumentException(file + ": not valid JSON (" + e.getOriginalMessage() + " at line "
                    + (e.getLocation() == null ? "?" : e.getLocation().getLineNr()) + ")");
        }
        if (root == null || !root.isObject()) {
            throw new IllegalArgumentException(file + ": a job file is a JSON object with \"models\"");
        }
        for (Iterator<String> it = root.fieldNames(); it.hasNext(); ) {
            String k = it.next();
            if (!Set.of("job", "summary", "defaults", "models").contains(k)) {
                throw new IllegalArgumentException(file + ": unknown field \"" + k + "\" (a job file has job, summary, defaults, models)");
            }
        }
        Path dir = file.toAbsolutePath().normalize().getParent();
        String fileName = file.getFileName().toString();
        String name = root.hasNonNull("job") ? root.get("job").asText() : fileName.replaceFirst("\\.json$", "");
        Path summaryFile = summary != null ? summary
                : root.hasNonNull("summary") ? resolve(dir, root.get("summary").asText()) : dir.resolve(name + ".summary.json");
        JsonNode defaults = root.path("defaults");
        if (!defaults.isMissingNode() && !defaults.isObject()) {
            throw new IllegalArgumentException(file + ": \"defaults\" must be an object of quantize options");
        }
        JsonNode models = root.path("models");
        if (!models.isArray() || models.isEmpty()) {
            throw new IllegalArgumentException(file + ": \"models\" must be a non-empty list");
        }
        List<Entry> entries = new ArrayList<>();
        Set<String> names = new HashSet<>(), outs = new HashSet<>();
        for (int i = 0; i < models.size(); i++) {
            JsonNode m = models.get(i);
            if (!m.isObject() || !m.hasNonNull("name")) {
                throw new IllegalArgumentException(file + ": models[" + i + "] must be an object with a \"name\"");
            }
            String n = m.get("name").asText();
            if (!names.add(n)) {
                throw new IllegalArgumentException(file + ": two models are named '" + n + "'");
            }
            ObjectNode options = Json.MAPPER.createObjectNode();
            if (defaults.isObject()) {
                options.setAll((ObjectNode) defaults);
            }
            options.setAll((ObjectNode) m);
            options.remove("name");
            Entry e = entry(file, dir, n, options);
            if (!outs.add(Locations.name(e.plan().out()))) {
                throw new IllegalArgumentException(file + ": model '" + n + "': out " + e.plan().out() + " is another model's too");
            }
            entries.add(e);
        }
        return new Job(file, name, summaryFile, entries);
    }

    /** A name relative to the job file's folder unless it has a scheme or is absolute. */
    private static Path resolve(Path dir, String v) {
        Path p = Locations.of(v);
        return p.isAbsolute() || !Locations.isDefault(p) ? p : dir.resolve(v).normalize();
    }

    /** One model's options as the quantize command's arguments, parsed and validated by it. */
    private static Entry entry(Path file, Path dir, String name, ObjectNode options) {
        String where = file + ": model '" + name + "'";
        Main.QuantizeCommand cmd = new Main.QuantizeCommand();
        CommandLine cl = new CommandLine(cmd);
        List<String> args = new ArrayList<>();
        for (Iterator<Map.Entry<String, JsonNode>> it = options.fields(); it.hasNext(); ) {
            Map.Entry<String, JsonNode> o = it.next();
            String opt = "--" + o.getKey();
            CommandLine.Model.OptionSpec spec = cl.getCommandSpec().findOption(opt);
            if (spec == null || spec.usageHelp() || spec.versionHelp()) {
                throw new IllegalArgumentException(where + ": unknown option \"" + o.getKey() + "\" (the options are zsq quantize's, without the "
                        + "dashes)");
            }
            JsonNode v = o.getValue();
            boolean flag = spec.arity().max() == 0;
            if (flag) {
                if (!v.isBoolean()) {
                    throw new IllegalArgumentException(where + ": \"" + o.getKey() + "\" is a flag: true or false, not " + v);
                }
                if (v.booleanValue()) {
                    args.add(opt);
                }
                continue;
            }
            String text;
            if (v.isArray()) {
                List<String> parts = new ArrayList<>();
                v.forEach(x -> parts.add(x.asText()));
                text = String.join(",", parts);
            } else if (v.isValueNode() && !v.isNull()) {
                text = v.asText();
            } else {
                throw new IllegalArgumentException(where + ": \"" + o.getKey() + "\" needs a value (a string, a number or a list), not " + v);
            }
            if (spec.type() == Path.class) {
                text = Locations.name(resolve(dir, text));
            }
            args.add(opt);
            args.add(text);
        }
        cl.registerConverter(Path.class, Locations::of);
        try {
            cl.parseArgs(args.toArray(String[]::new));
            return new Entry(name, cmd.plan(), cmd.synth.localPathsShared);
        } catch (CommandLine.ParameterException e) {
            throw new IllegalArgumentException(where + ": " + e.getMessage());
        } catch (IllegalArgumentException e) {
            throw new IllegalArgumentException(where + ": " + e.getMessage(), e);
        }
    }

    /** Runs every model in order on {@code jsc}; the summary is rewritten after each; the exit code. */
    int run(JavaSparkContext jsc, PrintWriter log) throws IOException {
        String started = Instant.now().toString();
        List<ModelSummary> done = new ArrayList<>();
        for (Entry e : entries) {
            done.add(new ModelSummary(e.name(), "pending", Locations.name(e.plan().model()), Locations.name(e.plan().out()), null, null, null,
                    null, List.of()));
        }
        writeSummary(started, null, null, done);
        int exit = 0;
        for (int i = 0; i < entries.size(); i++) {
            Entry e = entries.get(i);
            long t0 = System.nanoTime();
            ModelSummary s;
            try {
                JsonNode finished = finished(e.plan());
                if (finished != null) {
                    log.printf("zsq job %s: %s: finished before (%s), skipped%n", name, e.name(), e.plan().out());
                } else {
                    log.printf("zsq job %s: %s: quantize into %s%n", name, e.name(), e.plan().out());
                    QuantizeJob.run(e.plan(), jsc, e.localPathsShared());
                }
                s = summary(e, finished != null ? "skipped" : "done", finished != null ? finished : report(e.plan()), null,
                        finished != null ? 0 : (System.nanoTime() - t0) / 1e9);
            } catch (IllegalArgumentException | ModelImportException ex) {
                exit = 2;
                s = summary(e, "failed", null, Main.oneLine(ex), (System.nanoTime() - t0) / 1e9);
            } catch (Exception ex) { // an IOException, or what Spark throws when a job fails (SparkException, undeclared)
                exit = exit == 2 ? 2 : 1;
                s = summary(e, "failed", null, Main.oneLine(ex), (System.nanoTime() - t0) / 1e9);
            }
            if (s.error() != null) {
                log.printf("zsq job %s: %s: failed: %s%n", name, e.name(), s.error());
            }
            done.set(i, s);
            writeSummary(started, null, null, done);
        }
        writeSummary(started, Instant.now().toString(), exit, done);
        log.printf("zsq job %s: %d done, %d skipped, %d failed; summary %s%n", name, count(done, "done"), count(done, "skipped"),
                count(done, "failed"), summary);
        return exit;
    }

    private static long count(List<ModelSummary> l, String status) {
        return l.stream().filter(m -> m.status().equals(status)).count();
    }

    /**
     * The report of a finished run of exactly this plan in its out folder, else null (nothing finished there: run or resume
     * it). A finished run of another plan is refused, so that nothing a user kept is overwritten.
     */
    static JsonNode finished(Plan plan) throws IOException {
        if (!Files.isRegularFile(plan.out().resolve("report.json"))) {
            return null;
        }
        JsonNode report = report(plan);
        // through text, as the report was written, so that numbers and values compare as JSON (a long seed, an enum)
        String diff = difference((ObjectNode) Json.MAPPER.readTree(Json.write(plan)), report.path("plan"));
        if (diff != null) {
            throw new IllegalArgumentException("out " + plan.out() + " holds a finished run of another plan (" + diff + "); remove it or "
                    + "give this model another out");
        }
        return report;
    }

    /** The out folder's report.json. */
    private static JsonNode report(Plan plan) throws IOException {
        try (InputStream in = Files.newInputStream(plan.out().resolve("report.json"))) {
            return Json.MAPPER.readTree(in);
        }
    }

    /** The first setting in which two plans differ (progress output and the device aside), or null. */
    private static String difference(ObjectNode now, JsonNode was) {
        for (Iterator<Map.Entry<String, JsonNode>> it = now.fields(); it.hasNext(); ) {
            Map.Entry<String, JsonNode> f = it.next();
            if (f.getKey().equals("quiet") || f.getKey().equals("device")) { // how it runs, not what it makes
                continue;
            }
            if (!f.getValue().equals(was.path(f.getKey()))) {
                return f.getKey() + ": " + was.path(f.getKey()) + " then, " + f.getValue() + " now";
            }
        }
        return null;
    }

    /** A model's line of the summary, from its report.json (null: it failed). */
    private static ModelSummary summary(Entry e, String status, JsonNode r, String error, double seconds) {
        List<Result> results = new ArrayList<>();
        if (r != null) {
            for (JsonNode row : r.path("results")) {
                results.add(new Result(row.path("bits").asText(), row.path("level").asInt(), row.path("calibration").asText(),
                        row.path("int_top1").isNumber() ? row.path("int_top1").asDouble() : null));
            }
        }
        return new ModelSummary(e.name(), status, Locations.name(e.plan().model()), Locations.name(e.plan().out()), seconds, error,
                r == null ? null : r.path("real_data_used_for_calibration").asBoolean(true),
                r == null || !r.path("fp32_top1").isNumber() ? null : r.path("fp32_top1").asDouble(), results);
    }

    private void writeSummary(String started, String finished, Integer exit, List<ModelSummary> models) throws IOException {
        boolean dataFree = entries.stream().allMatch(e -> e.plan().synthesis().realData() == null);
        Summary s = new Summary(SUMMARY_VERSION, name, Locations.name(file), started, finished, exit, dataFree, List.copyOf(models));
        Path parent = summary.toAbsolutePath().getParent();
        if (parent != null) {
            Files.createDirectories(parent);
        }
        Json.write(s, summary);
    }
}
