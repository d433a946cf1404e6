package io.zsq.synth;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.zsq.core.data.Preprocessing;
import java.io.IOException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Iterator;
import java.util.List;
import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;

class DatasetSpecTest {
    static final String SHA = "1a2b3c4d5e6f" + "0".repeat(52);

    /** A spec as a driver makes it: bounds from the preprocessing. */
    static DatasetSpec base() {
        Preprocessing pre = new Preprocessing(new float[] {0.286f}, new float[] {0.353f});
        float[][] range = pre.inputRange(2);
        SynthConfig cfg = new SynthConfig("zeroq+label+di+dsg", 10, 4, 5, 0.1, 77, range[0], range[1]);
        return DatasetSpec.of(SHA, new int[] {2, 8, 8}, pre, cfg, null);
    }

    @Test
    void ofTakesTheRangeFromThePreprocessingAndTheStepsActuallyTaken() {
        DatasetSpec s = base();
        assertArrayEquals(new float[] {(0 - 0.286f) / 0.353f, (0 - 0.286f) / 0.353f}, s.inputMin());
        assertArrayEquals(new float[] {(1 - 0.286f) / 0.353f, (1 - 0.286f) / 0.353f}, s.inputMax());
        assertTrue(s.clamped());
        assertEquals("zeroq+label+di+dsg", s.method());
        assertEquals(Objective.of(Method.parse("zeroq+label+di+dsg")), s.objective());
        assertEquals(5, s.steps());
        assertEquals(DatasetSpec.GENERATOR, s.generator());
        Preprocessing pre = new Preprocessing(new float[] {0}, new float[] {1});
        DatasetSpec g = DatasetSpec.of(SHA, new int[] {2, 8, 8}, pre, new SynthConfig("gaussian", 10, 4, 5, 0.1, 77), Path.of("ignored"));
        assertEquals(0, g.steps());
        assertFalse(g.clamped());
        assertNull(g.realData());
        DatasetSpec r = DatasetSpec.of(SHA, new int[] {2, 8, 8}, pre, new SynthConfig("real", 10, 4, 5, 0.1, 77), Path.of("data/../data/x"));
        assertEquals(Path.of("data/x").toAbsolutePath().toString(), r.realData());
        // a config that clamps elsewhere than the preprocessing says is a caller's bug
        SynthConfig other = new SynthConfig("zeroq", 10, 4, 5, 0.1, 77, new float[] {0, 0}, new float[] {2, 2});
        assertThrows(IllegalArgumentException.class, () -> DatasetSpec.of(SHA, new int[] {2, 8, 8}, pre, other, null));
    }

    @Test
    void jsonRoundTripIsExactWithSnakeCaseNames() throws IOException {
        SplittableRandom rnd = new SplittableRandom(5);
        List<float[]> arrays = new ArrayList<>();
        for (int k = 0; k < 4; k++) {
            float[] a = new float[500];
            for (int i = 0; i < a.length; i++) {
                float f;
                do {
                    f = Float.intBitsToFloat(rnd.nextInt());
                } while (!Float.isFinite(f));
                a[i] = f;
            }
            a[0] = -0.0f;
            a[1] = Float.MIN_VALUE;
            a[2] = Float.MAX_VALUE;
            a[3] = 0.1f;
            arrays.add(a);
        }
        int[] shape = {500, 3, 7};
        for (long seed : new long[] {Long.MIN_VALUE, Long.MAX_VALUE, -1, 0x1234_5678_9abc_def0L}) {
            for (double lr : new double[] {0.1, 1e-300, Double.MAX_VALUE, Math.PI, Double.MIN_VALUE}) {
                Objective o = new Objective(0.1, 1e-3 / 3, Math.ulp(1.0), Integer.MAX_VALUE, true, Double.MIN_NORMAL, 1.0 / 7);
                DatasetSpec s = new DatasetSpec(SHA, shape, arrays.get(0), arrays.get(1), seed < 0, arrays.get(2), arrays.get(3), "zeroq+di", o,
                        Integer.MAX_VALUE, 7, 3, lr, seed, seed < 0 ? null : "/data/fashion", DatasetSpec.GENERATOR);
                String json = s.toJson();
                DatasetSpec back = DatasetSpec.fromJson(json);
                assertNull(s.difference(back), json);
                assertEquals(s, back);
                assertEquals(s.hashCode(), back.hashCode());
                assertArrayEquals(s.inputMin(), back.inputMin());
                assertEquals(Double.doubleToRawLongBits(lr), Double.doubleToRawLongBits(back.lr()));
                assertEquals(seed, back.seed());
                assertEquals(json, back.toJson());
            }
        }
        JsonNode tree = Json.MAPPER.readTree(base().toJson());
        List<String> names = new ArrayList<>();
        for (Iterator<String> it = tree.fieldNames(); it.hasNext(); ) {
            String n = it.next();
            if (n.equals("objective")) {
                tree.get(n).fieldNames().forEachRemaining(m -> names.add("objective." + m));
            } else {
                names.add(n);
            }
        }
        // every stored field is compared, under its JSON name
        assertEquals(names.stream().sorted().toList(), DatasetSpec.fieldNames().stream().sorted().toList());
        assertTrue(names.containsAll(List.of("model_sha256", "input_shape", "input_min", "real_data", "objective.label_weight",
                "objective.sample_weight")), names.toString());
    }

    @Test
    void malformedJsonIsOneLine() {
        String good = base().toJson();
        for (String bad : new String[] {"", "{", "[]", good.replace("\"count\":10", "\"count\":\"ten\""), good.replace("\"count\":10,", ""),
                good.replace("\"count\":10", "\"count\":-1"), good.replace("\"seed\":77", "\"seed\":77,\"extra\":1"), good + " {}",
                good.replace(SHA, "xyz")}) {
            IOException e = assertThrows(IOException.class, () -> DatasetSpec.fromJson(bad), bad);
            assertFalse(e.getMessage().contains("\n"), e.getMessage());
            assertTrue(e.getMessage().length() < 300, e.getMessage());
        }
        IOException e = assertThrows(IOException.class, () -> DatasetSpec.fromJson(base().toJson().replace("\"count\":10", "\"count\":-1")));
        assertTrue(e.getMessage().contains("need count > 0"), e.getMessage());
    }

    /** The base spec with one field changed, through its JSON form (so every stored field is reachable). */
    static DatasetSpec changed(String field) throws IOException {
        ObjectNode t = (ObjectNode) Json.MAPPER.readTree(base().toJson());
        ObjectNode o = field.startsWith("objective.") ? (ObjectNode) t.get("objective") : t;
        String f = field.startsWith("objective.") ? field.substring("objective.".length()) : field;
        JsonNode v = o.get(f);
        switch (f) {
            case "model_sha256" -> o.put(f, "9f8e7d6c5b4a" + "1".repeat(52));
            case "input_shape" -> ((ArrayNode) v).set(2, 9);
            case "real_data" -> o.put(f, "/somewhere/else");
            default -> {
                if (v.isArray()) {
                    ((ArrayNode) v).set(0, v.get(0).floatValue() + 0.25f);
                } else if (v.isBoolean()) {
                    o.put(f, !v.booleanValue());
                } else if (v.isIntegralNumber()) {
                    o.put(f, v.longValue() + 1);
                } else if (v.isNumber()) {
                    o.put(f, v.doubleValue() * 2 + 0.5);
                } else {
                    o.put(f, v.textValue() + "x");
                }
            }
        }
        return DatasetSpec.fromJson(t.toString());
    }

    @Test
    void differenceNamesTheFieldThatChanged() throws IOException {
        DatasetSpec run = base();
        assertNull(run.difference(base()));
        for (String field : DatasetSpec.fieldNames()) {
            DatasetSpec dataset = changed(field);
            String d = run.difference(dataset);
            assertTrue(d != null && d.startsWith(field + " (this run: "), field + ": " + d);
            assertFalse(d.contains("\n"));
            assertNotEquals(run, dataset);
            assertNotEquals(run.hashCode(), dataset.hashCode(), field);
        }
        assertEquals("steps (this run: 5, the dataset: 6)", run.difference(changed("steps")));
        assertEquals("model_sha256 (this run: 1a2b3c4d5e6f..., the dataset: 9f8e7d6c5b4a...)", run.difference(changed("model_sha256")));
        assertEquals("mean (this run: [0.286], the dataset: [0.536])", run.difference(changed("mean")));
        assertEquals("real_data (this run: none, the dataset: /somewhere/else)", run.difference(changed("real_data")));
        assertTrue(run.difference(null).contains("older zsq"));
    }

    @Test
    void calibrationNeedsOnlyTheModelShapeAndInputRange() throws IOException {
        DatasetSpec run = base();
        for (String field : DatasetSpec.fieldNames()) {
            String d = run.calibrationMismatch(changed(field));
            if (List.of("model_sha256", "input_shape", "input_min", "input_max").contains(field)) {
                assertTrue(d != null && d.startsWith(field + " (this run: "), field + ": " + d);
                assertFalse(d.contains("\n"));
            } else {
                assertNull(d, field);
            }
        }
        // another preprocessing changes the range: named with both preprocessings
        Preprocessing pre = new Preprocessing(new float[] {0}, new float[] {1});
        DatasetSpec plain = DatasetSpec.of(SHA, new int[] {2, 8, 8}, pre, new SynthConfig("zeroq+label+di+dsg", 10, 4, 5, 0.1, 77), null);
        assertEquals("input_min (this run: [-0.81019837, -0.81019837], the dataset: [0.0, 0.0]; preprocessing mean/std this run: [0.286]/[0.353], "
                + "the dataset: [0.0]/[1.0])", run.calibrationMismatch(plain));
    }
}
