package io.zsq.spark.fs;

import java.nio.file.FileStore;
import java.nio.file.FileSystem;
import java.nio.file.FileSystems;
import java.nio.file.Path;
import java.nio.file.PathMatcher;
import java.nio.file.WatchService;
import java.nio.file.attribute.UserPrincipalLookupService;
import java.util.List;
import java.util.Set;

/** One Hadoop filesystem ({@code hdfs://nn:8020}) as a {@link FileSystem}: its paths are {@link HadoopPath}s. */
final class HadoopFs extends FileSystem {
    private final HadoopFileSystemProvider provider;
    private final org.apache.hadoop.fs.FileSystem hadoop;
    private final String key;

    HadoopFs(HadoopFileSystemProvider provider, org.apache.hadoop.fs.FileSystem hadoop) {
        this.provider = provider;
        this.hadoop = hadoop;
        this.key = key(hadoop.getUri());
    }

    /** {@code scheme://authority} of a filesystem URI. */
    static String key(java.net.URI uri) {
        return uri.getScheme() + "://" + (uri.getAuthority() == null ? "" : uri.getAuthority());
    }

    String key() {
        return key;
    }

    org.apache.hadoop.fs.FileSystem hadoop() {
        return hadoop;
    }

    /** Where relative paths start: the Hadoop filesystem's working folder ({@code /user/NAME} on HDFS). */
    Path workingFolder() {
        return new HadoopPath(this, hadoop.getWorkingDirectory().toUri().getPath());
    }

    @Override
    public HadoopFileSystemProvider provider() {
        return provider;
    }

    /** The Hadoop filesystem stays open (Hadoop caches it per JVM and closes it at exit). */
    @Override
    public void close() {}

    @Override
    public boolean isOpen() {
        return true;
    }

    @Override
    public boolean isReadOnly() {
        return false;
    }

    @Override
    public String getSeparator() {
        return "/";
    }

    @Override
    public Iterable<Path> getRootDirectories() {
        return List.of(new HadoopPath(this, "/"));
    }

    @Override
    public Iterable<FileStore> getFileStores() {
        return List.of();
    }

    @Override
    public Set<String> supportedFileAttributeViews() {
        return Set.of("basic");
    }

    @Override
    public Path getPath(String first, String... more) {
        String p = more.length == 0 ? first : first + "/" + String.join("/", more);
        return new HadoopPath(this, p);
    }

    /** Glob and regex patterns as the default filesystem matches them, on the '/'-separated path. */
    @Override
    public PathMatcher getPathMatcher(String syntaxAndPattern) {
        PathMatcher m = FileSystems.getDefault().getPathMatcher(syntaxAndPattern);
        return p -> m.matches(Path.of(((HadoopPath) p).pathString()));
    }

    @Override
    public UserPrincipalLookupService getUserPrincipalLookupService() {
        throw new UnsupportedOperationException("user principals on " + key);
    }

    @Override
    public WatchService newWatchService() {
        throw new UnsupportedOperationException("a Hadoop filesystem has no watch service: " + key);
    }

    @Override
    public String toString() {
        return key;
    }
}
