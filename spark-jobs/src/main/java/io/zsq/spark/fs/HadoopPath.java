package io.zsq.spark.fs;

import java.io.IOException;
import java.io.ObjectStreamException;
import java.io.Serializable;
import java.net.URI;
import java.net.URISyntaxException;
import java.nio.file.LinkOption;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.nio.file.ProviderMismatchException;
import java.nio.file.WatchEvent;
import java.nio.file.WatchKey;
import java.nio.file.WatchService;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;

/**
 * A path on a Hadoop filesystem: the filesystem ({@code hdfs://nn:8020}) and '/'-separated names, absolute
 * or relative. An absolute one prints as its full URI, so messages name the file unambiguously; a task
 * shipped to an executor gets it back on that JVM's filesystem of the same URI.
 */
final class HadoopPath implements Path, Serializable {
    private static final long serialVersionUID = 1L;

    private final transient HadoopFs fs;
    private final String fsUri; // scheme://authority, to find the filesystem again after deserialization
    private final boolean absolute;
    private final String[] names;

    HadoopPath(HadoopFs fs, String path) {
        this(fs, path.startsWith("/"), split(path));
    }

    private HadoopPath(HadoopFs fs, boolean absolute, String[] names) {
        this.fs = fs;
        this.fsUri = fs.key();
        this.absolute = absolute;
        this.names = names;
    }

    private static String[] split(String path) {
        return Arrays.stream(path.split("/")).filter(s -> !s.isEmpty()).toArray(String[]::new);
    }

    /** The path on the Hadoop filesystem: {@code /a/b} or {@code a/b}. */
    String pathString() {
        return (absolute ? "/" : "") + String.join("/", names);
    }

    /** This path as Hadoop's, made absolute against the filesystem's working folder. */
    org.apache.hadoop.fs.Path hadoop() {
        return new org.apache.hadoop.fs.Path(((HadoopPath) toAbsolutePath()).toUri());
    }

    private HadoopPath of(boolean abs, List<String> n) {
        return new HadoopPath(fs, abs, n.toArray(String[]::new));
    }

    private HadoopPath check(Path other) {
        if (!(other instanceof HadoopPath h) || !h.fsUri.equals(fsUri)) {
            throw new ProviderMismatchException(other + " is not on " + fsUri);
        }
        return h;
    }

    @Override
    public HadoopFs getFileSystem() {
        return fs;
    }

    @Override
    public boolean isAbsolute() {
        return absolute;
    }

    @Override
    public Path getRoot() {
        return absolute ? new HadoopPath(fs, true, new String[0]) : null;
    }

    @Override
    public Path getFileName() {
        return names.length == 0 ? null : new HadoopPath(fs, false, new String[] {names[names.length - 1]});
    }

    @Override
    public Path getParent() {
        if (names.length == 0 || names.length == 1 && !absolute) {
            return null;
        }
        return new HadoopPath(fs, absolute, Arrays.copyOf(names, names.length - 1));
    }

    @Override
    public int getNameCount() {
        return names.length;
    }

    @Override
    public Path getName(int index) {
        return subpath(index, index + 1);
    }

    @Override
    public Path subpath(int beginIndex, int endIndex) {
        if (beginIndex < 0 || endIndex > names.length || beginIndex >= endIndex) {
            throw new IllegalArgumentException("subpath(" + beginIndex + ", " + endIndex + ") of " + this);
        }
        return new HadoopPath(fs, false, Arrays.copyOfRange(names, beginIndex, endIndex));
    }

    @Override
    public boolean startsWith(Path other) {
        if (!(other instanceof HadoopPath h) || !h.fsUri.equals(fsUri) || h.absolute != absolute || h.names.length > names.length) {
            return false;
        }
        return Arrays.equals(names, 0, h.names.length, h.names, 0, h.names.length);
    }

    @Override
    public boolean endsWith(Path other) {
        if (!(other instanceof HadoopPath h) || !h.fsUri.equals(fsUri) || h.names.length > names.length) {
            return false;
        }
        if (h.absolute) {
            return equals(h);
        }
        return Arrays.equals(names, names.length - h.names.length, names.length, h.names, 0, h.names.length);
    }

    @Override
    public Path normalize() {
        List<String> out = new ArrayList<>();
        for (String n : names) {
            if (n.equals(".")) {
                continue;
            }
            if (n.equals("..") && !out.isEmpty() && !out.get(out.size() - 1).equals("..")) {
                out.remove(out.size() - 1);
            } else if (!(n.equals("..") && absolute)) {
                out.add(n);
            }
        }
        return of(absolute, out);
    }

    @Override
    public Path resolve(Path other) {
        HadoopPath h = check(other);
        if (h.absolute) {
            return h;
        }
        List<String> n = new ArrayList<>(Arrays.asList(names));
        n.addAll(Arrays.asList(h.names));
        return of(absolute, n);
    }

    @Override
    public Path resolve(String other) {
        return resolve(new HadoopPath(fs, other));
    }

    @Override
    public Path relativize(Path other) {
        HadoopPath h = check(other);
        if (h.absolute != absolute) {
            throw new IllegalArgumentException(other + " and " + this + ": one is absolute, the other not");
        }
        int common = 0;
        while (common < names.length && common < h.names.length && names[common].equals(h.names[common])) {
            common++;
        }
        List<String> n = new ArrayList<>();
        for (int i = common; i < names.length; i++) {
            n.add("..");
        }
        n.addAll(Arrays.asList(h.names).subList(common, h.names.length));
        return of(false, n);
    }

    @Override
    public URI toUri() {
        HadoopPath abs = (HadoopPath) toAbsolutePath();
        URI base = URI.create(fsUri);
        try {
            return new URI(base.getScheme(), base.getAuthority(), abs.pathString(), null, null);
        } catch (URISyntaxException e) {
            throw new IllegalArgumentException(abs.pathString() + ": not a valid path on " + fsUri, e);
        }
    }

    @Override
    public Path toAbsolutePath() {
        return absolute ? this : fs.workingFolder().resolve(this);
    }

    @Override
    public Path toRealPath(LinkOption... options) throws IOException {
        Path p = toAbsolutePath().normalize();
        if (!fs.provider().exists(p)) {
            throw new NoSuchFileException(p.toString());
        }
        return p;
    }

    @Override
    public WatchKey register(WatchService watcher, WatchEvent.Kind<?>[] events, WatchEvent.Modifier... modifiers) {
        throw new UnsupportedOperationException("a Hadoop filesystem has no watch service: " + this);
    }

    @Override
    public int compareTo(Path other) {
        return toString().compareTo(other.toString());
    }

    @Override
    public boolean equals(Object o) {
        return o instanceof HadoopPath h && h.fsUri.equals(fsUri) && h.absolute == absolute && Arrays.equals(h.names, names);
    }

    @Override
    public int hashCode() {
        return fsUri.hashCode() * 31 + Boolean.hashCode(absolute) * 17 + Arrays.hashCode(names);
    }

    /** The full URI for an absolute path ({@code hdfs://nn:8020/a/b}), the names for a relative one. */
    @Override
    public String toString() {
        return absolute ? fsUri + pathString() : pathString();
    }

    /** After deserialization on another JVM: the same path on that JVM's filesystem of the same URI. */
    private Object readResolve() throws ObjectStreamException {
        return new HadoopPath(HadoopFileSystemProvider.INSTANCE.fileSystem(URI.create(fsUri)), absolute, names);
    }
}
