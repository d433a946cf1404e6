package io.zsq.core.io;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.URI;
import java.net.URISyntaxException;
import java.nio.file.FileSystems;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.ServiceLoader;
import java.util.Set;
import java.util.regex.Pattern;

/**
 * Paths from names and names from paths, for every filesystem a job may use. A name with a scheme other
 * than {@code file} ({@code hdfs://nn:8020/x}) goes to the first {@link Resolver} that handles the scheme;
 * anything else is a path of the default filesystem. {@link #name} is the inverse, so a task shipped to
 * another JVM gets the same file back from {@code of(name(p))}.
 */
public final class Locations {
    private Locations() {}

    /** Serves paths of a family of filesystems (found with {@link ServiceLoader}; spark-jobs has Hadoop's). */
    public interface Resolver {
        /** Whether names with this URI scheme ({@code hdfs}, lower case) are this resolver's. */
        boolean handles(String scheme);

        /** The path of {@code uri}, a URI of a scheme this resolver handles. */
        Path path(URI uri) throws IOException;
    }

    /** A URI scheme followed by {@code :/} ({@code hdfs://nn/x}, {@code file:/x}): a single letter is not one. */
    private static final Pattern SCHEME = Pattern.compile("^([A-Za-z][A-Za-z0-9+.\\-]+):/.*");

    /** Object stores: a file appears whole when its upload completes, and rename is a copy (neither atomic nor cheap). */
    private static final Set<String> OBJECT_STORES = Set.of("s3a", "s3", "s3n", "gs", "abfs", "abfss", "wasb", "wasbs", "oss", "cos", "cosn", "obs");

    private static volatile List<Resolver> resolvers;

    /**
     * The path a user's name denotes: {@code hdfs://nn:8020/x} through a resolver, {@code file:/x} and plain
     * names on the default filesystem. A scheme no resolver handles is refused in one line.
     */
    public static Path of(String name) {
        var m = SCHEME.matcher(name);
        if (!m.matches()) {
            return Path.of(name);
        }
        String scheme = m.group(1).toLowerCase(Locale.ROOT);
        URI uri;
        try {
            uri = new URI(name);
        } catch (URISyntaxException e) {
            throw new IllegalArgumentException(name + ": not a valid URI (" + e.getReason() + ")");
        }
        if (scheme.equals("file")) {
            return Path.of(uri);
        }
        for (Resolver r : resolvers()) {
            if (r.handles(scheme)) {
                try {
                    return r.path(uri);
                } catch (IOException e) {
                    throw new UncheckedIOException(name + ": " + e.getMessage(), e);
                }
            }
        }
        throw new IllegalArgumentException(name + ": no filesystem for scheme '" + scheme + "' (Hadoop filesystems come with spark-jobs, "
                + "s3a and others also need their Hadoop module, e.g. hadoop-aws, on the class path)");
    }

    /** The name {@link #of} turns back into {@code p} on any JVM of the job: the plain path on the default filesystem, else its URI. */
    public static String name(Path p) {
        return isDefault(p) ? p.toString() : p.toUri().toString();
    }

    /** Whether {@code p} is on this JVM's default filesystem (local disk: not shared between machines unless the user says so). */
    public static boolean isDefault(Path p) {
        return p.getFileSystem() == FileSystems.getDefault();
    }

    /**
     * Whether a file is committed by writing a temporary beside it and renaming it into place (atomic on local
     * disks and HDFS), or by writing it directly (object stores, where an upload appears whole when it completes
     * and a rename is a copy).
     */
    public static boolean commitsByRename(Path p) {
        return isDefault(p) || !OBJECT_STORES.contains(String.valueOf(p.toUri().getScheme()).toLowerCase(Locale.ROOT));
    }

    /**
     * {@code p} as a file of the local disk, for the libraries that read only those (DL4J's model zips, the
     * HDF5 library, ONNX Runtime): {@code p} itself on the default filesystem, else a copy in a temporary
     * folder, with the same file name, deleted on {@link LocalFile#close}.
     */
    public static LocalFile local(Path p) throws IOException {
        if (isDefault(p)) {
            return new LocalFile(p, null);
        }
        Path dir = Files.createTempDirectory("zsq-local");
        Path copy = dir.resolve(p.getFileName().toString());
        try {
            Files.copy(p, copy);
        } catch (IOException | RuntimeException e) {
            Files.deleteIfExists(copy);
            Files.deleteIfExists(dir);
            throw e;
        }
        return new LocalFile(copy, dir);
    }

    /** A file on the local disk; {@code temporary}: the folder of a copy, removed on close (null: the user's own file). */
    public record LocalFile(Path path, Path temporary) implements AutoCloseable {
        @Override
        public void close() throws IOException {
            if (temporary != null) {
                Files.deleteIfExists(path);
                Files.deleteIfExists(temporary);
            }
        }
    }

    private static List<Resolver> resolvers() {
        List<Resolver> r = resolvers;
        if (r == null) {
            List<Resolver> found = new ArrayList<>();
            ServiceLoader.load(Resolver.class, Locations.class.getClassLoader()).forEach(found::add);
            ClassLoader context = Thread.currentThread().getContextClassLoader();
            if (found.isEmpty() && context != null) { // spark-submit loads the application jar in a child class loader
                ServiceLoader.load(Resolver.class, context).forEach(found::add);
            }
            resolvers = r = List.copyOf(found);
        }
        return r;
    }
}
