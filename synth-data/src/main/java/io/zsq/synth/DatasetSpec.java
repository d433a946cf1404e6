package io.zsq.synth;

import com.fasterxml.jackson.annotation.JsonProperty;
import com.fasterxml.jackson.core.JacksonException;
import com.fasterxml.jackson.core.JsonProcessingException;
import io.zsq.core.data.Preprocessing;
import java.io.IOException;
import java.io.InputStream;
import java.io.Serializable;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.DigestInputStream;
import java.security.MessageDigest;
import java.util.Arrays;
import java.util.List;
import java.util.Objects;
import java.util.function.Function;
import java.util.regex.Pattern;

/**
 * Everything that decides the images of a synthetic dataset: the model (its SHA-256), its input shape
 * (C, H, W), the valid input range the preprocessing implies (per channel; samples are clamped to it when
 * {@code clamped}), the preprocessing as given (for provenance and messages), the method and its objective
 * weights, count, batch size, objective steps actually taken, learning rate, job seed, the real-data folder
 * (method {@code real} only) and the generator version. Stored as JSON (snake_case names) in every batch
 * file ({@code zsq.dataset}) and in the dataset's {@code manifest.json}; a dataset is reused only for an
 * equal spec ({@link #difference}), and calibrates only a model with the same hash, shape and input
 * range ({@link #calibrationMismatch}).
 *
 * <p>Arrays are copied on construction; do not modify the ones the accessors return.
 */
public record DatasetSpec(
        @JsonProperty("model_sha256") String modelSha256,
        @JsonProperty("input_shape") int[] inputShape,
        @JsonProperty("input_min") float[] inputMin,
        @JsonProperty("input_max") float[] inputMax,
        @JsonProperty("clamped") boolean clamped,
        @JsonProperty("mean") float[] mean,
        @JsonProperty("std") float[] std,
        @JsonProperty("method") String method,
        @JsonProperty("objective") Objective objective,
        @JsonProperty("count") int count,
        @JsonProperty("batch") int batch,
        @JsonProperty("steps") int steps,
        @JsonProperty("lr") double lr,
        @JsonProperty("seed") long seed,
        @JsonProperty("real_data") String realData,
        @JsonProperty("generator") String generator) implements Serializable {

    /** The generator's arithmetic version: bump it when the same settings would give other images. */
    public static final String GENERATOR = "zsq-synth 1";

    private static final Pattern SHA256 = Pattern.compile("[0-9a-f]{64}");

    public DatasetSpec {
        if (modelSha256 == null || !SHA256.matcher(modelSha256).matches()) {
            throw new IllegalArgumentException("model_sha256 must be 64 lowercase hex digits, not " + modelSha256);
        }
        if (inputShape == null || inputShape.length == 0 || Arrays.stream(inputShape).anyMatch(d -> d <= 0)) {
            throw new IllegalArgumentException("input_shape needs positive dimensions, not " + Arrays.toString(inputShape));
        }
        if (inputMin == null || inputMax == null || inputMin.length != inputShape[0] || inputMax.length != inputShape[0]) {
            throw new IllegalArgumentException("input_min and input_max need one value per channel (" + inputShape[0] + "), not "
                    + Arrays.toString(inputMin) + " and " + Arrays.toString(inputMax));
        }
        if (mean == null || std == null || mean.length == 0 || std.length == 0) {
            throw new IllegalArgumentException("mean and std need at least one value");
        }
        Objects.requireNonNull(method, "method");
        Objects.requireNonNull(objective, "objective");
        Objects.requireNonNull(generator, "generator");
        if (count <= 0 || batch <= 0 || steps < 0 || !(lr > 0)) {
            throw new IllegalArgumentException("need count > 0, batch > 0, steps >= 0, lr > 0: count " + count + ", batch " + batch
                    + ", steps " + steps + ", lr " + lr);
        }
        inputShape = inputShape.clone();
        inputMin = inputMin.clone();
        inputMax = inputMax.clone();
        mean = mean.clone();
        std = std.clone();
    }

    /**
     * The spec of a run: the input range from the preprocessing, the rest from the config.
     *
     * @param realData the idx folder of method {@code real} (recorded as an absolute path), ignored otherwise
     * @throws IllegalArgumentException if the config clamps to another range than the preprocessing gives
     */
    public static DatasetSpec of(String modelSha256, int[] inputShape, Preprocessing pre, SynthConfig cfg, Path realData) {
        float[][] range = pre.inputRange(inputShape[0]);
        boolean clamped = cfg.inputMin() != null;
        if (clamped && (!Arrays.equals(cfg.inputMin(), range[0]) || !Arrays.equals(cfg.inputMax(), range[1]))) {
            throw new IllegalArgumentException("the synthesis clamps to " + Arrays.toString(cfg.inputMin()) + ".." + Arrays.toString(cfg.inputMax())
                    + " but the preprocessing (" + pre + ") gives the input range " + Arrays.toString(range[0]) + ".." + Arrays.toString(range[1]));
        }
        String real = cfg.method().base() == Method.Base.REAL && realData != null ? realData.toAbsolutePath().normalize().toString() : null;
        return new DatasetSpec(modelSha256, inputShape, range[0], range[1], clamped, pre.mean(), pre.std(), cfg.method().toString(), cfg.objective(),
                cfg.count(), cfg.batchSize(), cfg.objectiveSteps(), cfg.learningRate(), cfg.seed(), real, GENERATOR);
    }

    /** The SHA-256 (lowercase hex) of a file, e.g. the model. */
    public static String sha256(Path file) throws IOException {
        MessageDigest md = Json.sha256();
        try (InputStream in = new DigestInputStream(Files.newInputStream(file), md)) {
            in.transferTo(java.io.OutputStream.nullOutputStream());
        }
        return Json.hex(md.digest());
    }

    /** Values per image: the product of the input shape. */
    public int imageSize() {
        int s = 1;
        for (int d : inputShape) {
            s *= d;
        }
        return s;
    }

    public int batches() {
        return (count + batch - 1) / batch;
    }

    /** Images in batch {@code b} (the last may be short). */
    public int sizeOf(int b) {
        return Math.min(batch, count - b * batch);
    }

    /** One compared field: its JSON name and its value in a comparable, printable form. */
    private record Field(String name, Function<DatasetSpec, Object> value) {}

    private static final List<Field> FIELDS = List.of(
            new Field("model_sha256", s -> s.modelSha256),
            new Field("input_shape", s -> boxed(s.inputShape)),
            new Field("mean", s -> boxed(s.mean)),
            new Field("std", s -> boxed(s.std)),
            new Field("input_min", s -> boxed(s.inputMin)),
            new Field("input_max", s -> boxed(s.inputMax)),
            new Field("clamped", s -> s.clamped),
            new Field("method", s -> s.method),
            new Field("objective.label_weight", s -> s.objective.labelWeight()),
            new Field("objective.tv_weight", s -> s.objective.tvWeight()),
            new Field("objective.l2_weight", s -> s.objective.l2Weight()),
            new Field("objective.jitter", s -> s.objective.jitter()),
            new Field("objective.flip", s -> s.objective.flip()),
            new Field("objective.margin", s -> s.objective.margin()),
            new Field("objective.sample_weight", s -> s.objective.sampleWeight()),
            new Field("count", s -> s.count),
            new Field("batch", s -> s.batch),
            new Field("steps", s -> s.steps),
            new Field("lr", s -> s.lr),
            new Field("seed", s -> s.seed),
            new Field("real_data", s -> s.realData),
            new Field("generator", s -> s.generator));

    private static final List<String> CALIBRATION = List.of("model_sha256", "input_shape", "input_min", "input_max");

    /** The JSON names of the compared fields, in the order {@link #difference} checks them. */
    public static List<String> fieldNames() {
        return FIELDS.stream().map(Field::name).toList();
    }

    /**
     * Null if {@code dataset} describes the same images as this run, else the first differing field in a
     * fixed order, as one line: {@code steps (this run: 200, the dataset: 40)}; hashes are shortened
     * ({@code model_sha256 (this run: 1a2b3c4d5e6f..., the dataset: 9f8e7d6c5b4a...)}). A dataset with no
     * recorded spec (null: written by an older zsq) always differs.
     */
    public String difference(DatasetSpec dataset) {
        return compare(dataset, FIELDS);
    }

    /**
     * Whether a dataset can calibrate this run's model: null if the model hash, input shape and input range
     * are the same, else the first that differs as {@link #difference} words it (for the input range also
     * the preprocessing of both). The other settings describe the data; they are reported, not required.
     */
    public String calibrationMismatch(DatasetSpec dataset) {
        String d = compare(dataset, FIELDS.stream().filter(f -> CALIBRATION.contains(f.name)).toList());
        if (d != null && d.startsWith("input_m")) {
            d = d.substring(0, d.length() - 1) + "; preprocessing mean/std this run: " + Arrays.toString(mean) + "/" + Arrays.toString(std)
                    + ", the dataset: " + Arrays.toString(dataset.mean) + "/" + Arrays.toString(dataset.std) + ")";
        }
        return d;
    }

    private String compare(DatasetSpec dataset, List<Field> fields) {
        if (dataset == null) {
            return "settings (this run: " + GENERATOR + ", the dataset: none recorded, written by an older zsq)";
        }
        for (Field f : fields) {
            Object a = f.value.apply(this), b = f.value.apply(dataset);
            if (!Objects.equals(a, b)) {
                return f.name + " (this run: " + show(f.name, a) + ", the dataset: " + show(f.name, b) + ")";
            }
        }
        return null;
    }

    private static String show(String field, Object v) {
        if (v == null) {
            return "none";
        }
        String s = v.toString();
        return field.equals("model_sha256") && s.length() > 12 ? s.substring(0, 12) + "..." : s;
    }

    private static List<Integer> boxed(int[] a) {
        return Arrays.stream(a).boxed().toList();
    }

    private static List<Float> boxed(float[] a) {
        Float[] b = new Float[a.length];
        for (int i = 0; i < a.length; i++) {
            b[i] = a[i];
        }
        return List.of(b);
    }

    /** A one-line summary for reports: method, size, steps, lr, seed, model. */
    public String summary() {
        return method + ", " + count + " images in batches of " + batch + ", " + steps + " steps, lr " + lr + ", seed " + seed
                + ", input " + Arrays.toString(inputShape) + ", model " + show("model_sha256", modelSha256);
    }

    /** The spec as one line of JSON (the form stored in batch files and the manifest). */
    public String toJson() {
        try {
            return Json.MAPPER.writeValueAsString(this);
        } catch (JsonProcessingException e) {
            throw new UncheckedIOException(e);
        }
    }

    /** Parses {@link #toJson}'s form; a malformed one is an IOException with a one-line reason. */
    public static DatasetSpec fromJson(String json) throws IOException {
        try {
            DatasetSpec s = Json.MAPPER.readValue(json, DatasetSpec.class);
            if (s == null) {
                throw new IOException("null instead of a dataset spec");
            }
            return s;
        } catch (JacksonException e) {
            throw new IOException(Json.reason(e), e);
        }
    }

    @Override
    public boolean equals(Object o) {
        return o instanceof DatasetSpec s && difference(s) == null;
    }

    @Override
    public int hashCode() {
        return Objects.hash(modelSha256, Arrays.hashCode(inputShape), Arrays.hashCode(inputMin), Arrays.hashCode(inputMax), clamped,
                Arrays.hashCode(mean), Arrays.hashCode(std), method, objective, count, batch, steps, lr, seed, realData, generator);
    }

    @Override
    public String toString() {
        return toJson();
    }
}
