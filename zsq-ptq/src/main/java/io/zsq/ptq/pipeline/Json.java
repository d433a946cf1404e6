package io.zsq.ptq.pipeline;

import com.fasterxml.jackson.core.JsonGenerator;
import com.fasterxml.jackson.databind.JsonSerializer;
import com.fasterxml.jackson.databind.MapperFeature;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.PropertyNamingStrategies;
import com.fasterxml.jackson.databind.SerializationFeature;
import com.fasterxml.jackson.databind.SerializerProvider;
import com.fasterxml.jackson.databind.cfg.EnumFeature;
import com.fasterxml.jackson.databind.json.JsonMapper;
import com.fasterxml.jackson.databind.module.SimpleModule;
import com.fasterxml.jackson.databind.ser.std.ToStringSerializer;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;

/**
 * The JSON of reports and plans: snake_case names, enums in lower case, paths as written (not as URIs),
 * non-finite numbers as null, indented; files written to a temporary name and renamed.
 */
public final class Json {
    private Json() {}

    public static final ObjectMapper MAPPER = create();

    private static ObjectMapper create() {
        SimpleModule m = new SimpleModule("zsq");
        m.addSerializer(Path.class, ToStringSerializer.instance);
        JsonSerializer<Double> finite = new JsonSerializer<>() {
            @Override
            public void serialize(Double v, JsonGenerator gen, SerializerProvider p) throws IOException {
                if (v == null || !Double.isFinite(v)) {
                    gen.writeNull();
                } else {
                    gen.writeNumber(v);
                }
            }
        };
        m.addSerializer(Double.class, finite);
        m.addSerializer(Double.TYPE, finite);
        return JsonMapper.builder().addModule(m).propertyNamingStrategy(PropertyNamingStrategies.SNAKE_CASE)
                .configure(EnumFeature.WRITE_ENUMS_TO_LOWERCASE, true).configure(MapperFeature.ACCEPT_CASE_INSENSITIVE_ENUMS, true)
                .enable(SerializationFeature.INDENT_OUTPUT).build();
    }

    public static String write(Object v) {
        try {
            return MAPPER.writeValueAsString(v) + "\n";
        } catch (IOException e) {
            throw new IllegalStateException("cannot write JSON: " + e.getMessage(), e);
        }
    }

    /** Writes {@code v} to {@code file} through a temporary name, renamed when complete. */
    public static void write(Object v, Path file) throws IOException {
        Path tmp = file.resolveSibling(file.getFileName() + ".tmp");
        Files.writeString(tmp, write(v));
        Files.move(tmp, file, StandardCopyOption.REPLACE_EXISTING, StandardCopyOption.ATOMIC_MOVE);
    }

    public static <T> T read(Path file, Class<T> type) throws IOException {
        try (java.io.InputStream in = Files.newInputStream(file)) {
            return MAPPER.readValue(in, type);
        }
    }
}
