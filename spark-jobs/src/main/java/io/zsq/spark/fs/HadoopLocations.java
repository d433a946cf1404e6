package io.zsq.spark.fs;

import io.zsq.core.io.Locations;
import java.net.URI;
import java.nio.file.Path;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;

/** Serves {@link Locations} every scheme Hadoop has a filesystem for ({@code hdfs}, and {@code s3a} etc. with their modules). */
public final class HadoopLocations implements Locations.Resolver {
    private final Map<String, Boolean> known = new ConcurrentHashMap<>();

    @Override
    public boolean handles(String scheme) {
        return known.computeIfAbsent(scheme, s -> {
            try {
                org.apache.hadoop.fs.FileSystem.getFileSystemClass(s, HadoopFileSystemProvider.configuration());
                return true;
            } catch (java.io.IOException e) {
                return false;
            }
        });
    }

    @Override
    public Path path(URI uri) {
        return HadoopFileSystemProvider.INSTANCE.getPath(uri);
    }
}
