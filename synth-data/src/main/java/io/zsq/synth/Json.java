package io.zsq.synth;

import com.fasterxml.jackson.core.JacksonException;
import com.fasterxml.jackson.core.JsonLocation;
import com.fasterxml.jackson.databind.DeserializationFeature;
import com.fasterxml.jackson.databind.JsonMappingException;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.exc.UnrecognizedPropertyException;
import com.fasterxml.jackson.databind.exc.ValueInstantiationException;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.HexFormat;

/** The one Jackson mapper of the dataset formats (strict: no unknown, missing or null-for-primitive fields), and SHA-256. */
final class Json {
    private Json() {}

    static final ObjectMapper MAPPER = new ObjectMapper()
            .enable(DeserializationFeature.FAIL_ON_UNKNOWN_PROPERTIES)
            .enable(DeserializationFeature.FAIL_ON_NULL_FOR_PRIMITIVES)
            .enable(DeserializationFeature.FAIL_ON_MISSING_CREATOR_PROPERTIES)
            .enable(DeserializationFeature.FAIL_ON_TRAILING_TOKENS);

    /**
     * A short, one-line reason for a Jackson failure: where (JSON path, line and column) and what, without
     * Jackson's source excerpts and reference chains; a constructor's own validation message as it is.
     */
    static String reason(JacksonException e) {
        if (e instanceof ValueInstantiationException && e.getCause() instanceof IllegalArgumentException iae && iae.getMessage() != null) {
            return shorten(printable(path(e)) + firstLine(iae.getMessage()));
        }
        if (e instanceof UnrecognizedPropertyException) {
            return printable(path(e)) + "unknown field";
        }
        String m = firstLine(e.getOriginalMessage());
        if (m.startsWith("Missing creator property")) {
            return printable(path(e)) + "missing";
        }
        StringBuilder sb = new StringBuilder(printable(path(e))).append(shorten(m));
        JsonLocation loc = e.getLocation();
        if (loc != null && loc.getLineNr() > 0) {
            sb.append(" at line ").append(loc.getLineNr()).append(", column ").append(loc.getColumnNr());
        }
        return sb.toString();
    }

    private static String shorten(String s) {
        return s.length() > 160 ? s.substring(0, 160) + "..." : s;
    }

    private static String path(JacksonException e) {
        if (!(e instanceof JsonMappingException m) || m.getPath().isEmpty()) {
            return "";
        }
        StringBuilder sb = new StringBuilder();
        for (JsonMappingException.Reference r : m.getPath()) {
            if (r.getFieldName() != null) {
                sb.append(sb.length() > 0 ? "." : "").append(r.getFieldName());
            } else if (r.getIndex() >= 0) {
                sb.append('[').append(r.getIndex()).append(']');
            }
        }
        return sb.length() > 0 ? sb + ": " : "";
    }

    /** The first line of a message, with any other control character (damaged data quoted in it) shown as '?'. */
    static String firstLine(String s) {
        if (s == null || s.isBlank()) {
            return "no reason given";
        }
        int nl = s.indexOf('\n');
        return printable((nl < 0 ? s : s.substring(0, nl)).strip());
    }

    static String printable(String s) {
        StringBuilder sb = new StringBuilder(s.length());
        s.codePoints().forEach(c -> sb.appendCodePoint(Character.isISOControl(c) ? '?' : c));
        return sb.toString();
    }

    static MessageDigest sha256() {
        try {
            return MessageDigest.getInstance("SHA-256");
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException("the JDK has no SHA-256", e);
        }
    }

    /**
     * A fresh temporary name beside {@code target} ({@code <name>.<random>.tmp}), created empty with the
     * default permissions: unique, so two attempts at the same file (a retried or speculative task) never
     * write into one temporary.
     */
    static java.nio.file.Path createTemporary(java.nio.file.Path target) throws java.io.IOException {
        for (;;) {
            String r = Long.toHexString(java.util.concurrent.ThreadLocalRandom.current().nextLong() & Long.MAX_VALUE);
            java.nio.file.Path tmp = target.resolveSibling(target.getFileName() + "." + r + ".tmp");
            try {
                return java.nio.file.Files.createFile(tmp);
            } catch (java.nio.file.FileAlreadyExistsException e) {
                // try another name
            }
        }
    }

    static String hex(byte[] digest) {
        return HexFormat.of().formatHex(digest);
    }
}
