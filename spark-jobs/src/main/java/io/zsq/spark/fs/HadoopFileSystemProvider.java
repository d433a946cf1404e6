package io.zsq.spark.fs;

import java.io.FileNotFoundException;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.io.UncheckedIOException;
import java.net.URI;
import java.nio.channels.Channels;
import java.nio.channels.FileChannel;
import java.nio.channels.SeekableByteChannel;
import java.nio.file.AccessMode;
import java.nio.file.CopyOption;
import java.nio.file.DirectoryNotEmptyException;
import java.nio.file.DirectoryStream;
import java.nio.file.FileAlreadyExistsException;
import java.nio.file.FileStore;
import java.nio.file.FileSystem;
import java.nio.file.LinkOption;
import java.nio.file.NoSuchFileException;
import java.nio.file.NotDirectoryException;
import java.nio.file.OpenOption;
import java.nio.file.Path;
import java.nio.file.ProviderMismatchException;
import java.nio.file.StandardCopyOption;
import java.nio.file.StandardOpenOption;
import java.nio.file.attribute.BasicFileAttributeView;
import java.nio.file.attribute.BasicFileAttributes;
import java.nio.file.attribute.FileAttribute;
import java.nio.file.attribute.FileAttributeView;
import java.nio.file.attribute.FileTime;
import java.nio.file.spi.FileSystemProvider;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashSet;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import org.apache.hadoop.conf.Configuration;
import org.apache.hadoop.fs.FSDataInputStream;
import org.apache.hadoop.fs.FileContext;
import org.apache.hadoop.fs.FileStatus;
import org.apache.hadoop.fs.Options;
import org.apache.hadoop.fs.UnsupportedFileSystemException;
import org.apache.spark.SparkConf;
import org.apache.spark.SparkEnv;
import scala.Tuple2;

/**
 * Every Hadoop filesystem ({@code hdfs:}, {@code s3a:}, {@code abfs:}, ...) behind {@link java.nio.file.Files}:
 * zsq's readers and writers run unchanged on {@link HadoopPath}s. Hadoop's configuration is its own
 * ({@code core-site.xml} / {@code hdfs-site.xml} on the class path, {@code HADOOP_CONF_DIR}) plus, inside
 * a Spark application, the {@code spark.hadoop.*} settings, as Spark applies them.
 *
 * <p>Semantics where Hadoop differs from a local disk: files are written in order (no seeks, no writes in
 * place); {@code move} is Hadoop's rename, with {@code REPLACE_EXISTING} an atomic overwrite where the
 * filesystem has one ({@link FileContext#rename} with {@code OVERWRITE}; on HDFS it is), and on object
 * stores a copy whose target still appears whole; permissions and access modes are not checked here.
 */
public final class HadoopFileSystemProvider extends FileSystemProvider {
    /** The one instance: paths find their filesystem through it after deserialization. */
    public static final HadoopFileSystemProvider INSTANCE = new HadoopFileSystemProvider();

    private final Map<String, HadoopFs> filesystems = new ConcurrentHashMap<>();

    private HadoopFileSystemProvider() {}

    /** Hadoop's configuration, plus the {@code spark.hadoop.*} settings of the Spark application this JVM runs, if any. */
    static Configuration configuration() {
        Configuration conf = new Configuration();
        SparkEnv env = SparkEnv.get();
        if (env != null) {
            SparkConf sc = env.conf();
            for (Tuple2<String, String> kv : sc.getAll()) {
                if (kv._1().startsWith("spark.hadoop.")) {
                    conf.set(kv._1().substring("spark.hadoop.".length()), kv._2());
                }
            }
        }
        return conf;
    }

    /** The filesystem of {@code uri} (its scheme and authority; none: Hadoop's default one for the scheme). */
    HadoopFs fileSystem(URI uri) {
        try {
            org.apache.hadoop.fs.FileSystem h = org.apache.hadoop.fs.FileSystem.get(uri, configuration());
            return filesystems.computeIfAbsent(HadoopFs.key(h.getUri()), k -> new HadoopFs(this, h));
        } catch (IOException e) {
            throw new UncheckedIOException(uri + ": cannot reach the filesystem: " + e.getMessage(), e);
        }
    }

    private static HadoopPath cast(Path p) {
        if (!(p instanceof HadoopPath h)) {
            throw new ProviderMismatchException(p + " is not on a Hadoop filesystem");
        }
        return h;
    }

    private static org.apache.hadoop.fs.FileSystem hadoop(Path p) {
        return cast(p).getFileSystem().hadoop();
    }

    /** Hadoop's exceptions as java.nio.file's, naming the path. */
    private static IOException translate(IOException e, Path p) {
        if (e instanceof FileNotFoundException) {
            return (IOException) new NoSuchFileException(p.toString()).initCause(e);
        }
        if (e instanceof org.apache.hadoop.fs.FileAlreadyExistsException) {
            return (IOException) new FileAlreadyExistsException(p.toString()).initCause(e);
        }
        if (e instanceof org.apache.hadoop.fs.ParentNotDirectoryException) {
            return (IOException) new NotDirectoryException(p.toString()).initCause(e);
        }
        return e;
    }

    private static FileStatus status(Path p) throws IOException {
        try {
            return hadoop(p).getFileStatus(cast(p).hadoop());
        } catch (IOException e) {
            throw translate(e, p);
        }
    }

    boolean exists(Path p) throws IOException {
        return hadoop(p).exists(cast(p).hadoop());
    }

    @Override
    public String getScheme() {
        return "hadoop";
    }

    @Override
    public FileSystem newFileSystem(URI uri, Map<String, ?> env) {
        return fileSystem(uri);
    }

    @Override
    public FileSystem getFileSystem(URI uri) {
        return fileSystem(uri);
    }

    @Override
    public Path getPath(URI uri) {
        String path = uri.getPath() == null || uri.getPath().isEmpty() ? "/" : uri.getPath();
        return new HadoopPath(fileSystem(uri), path);
    }

    @Override
    public InputStream newInputStream(Path path, OpenOption... options) throws IOException {
        try {
            return hadoop(path).open(cast(path).hadoop());
        } catch (IOException e) {
            throw translate(e, path);
        }
    }

    @Override
    public OutputStream newOutputStream(Path path, OpenOption... options) throws IOException {
        Set<OpenOption> o = new HashSet<>(Arrays.asList(options));
        if (o.isEmpty()) {
            o.addAll(List.of(StandardOpenOption.CREATE, StandardOpenOption.TRUNCATE_EXISTING, StandardOpenOption.WRITE));
        }
        o.add(StandardOpenOption.WRITE);
        return Channels.newOutputStream(newFileChannel(path, o));
    }

    @Override
    public FileChannel newFileChannel(Path path, Set<? extends OpenOption> options, FileAttribute<?>... attrs) throws IOException {
        HadoopPath p = cast(path);
        org.apache.hadoop.fs.FileSystem fs = hadoop(path);
        boolean write = options.contains(StandardOpenOption.WRITE) || options.contains(StandardOpenOption.APPEND);
        try {
            if (!write) {
                FileStatus st = fs.getFileStatus(p.hadoop());
                if (st.isDirectory()) {
                    throw new IOException(path + ": is a folder");
                }
                FSDataInputStream in = fs.open(p.hadoop());
                return HadoopChannel.reading(path.toString(), in, st.getLen());
            }
            boolean exists = fs.exists(p.hadoop());
            if (options.contains(StandardOpenOption.CREATE_NEW)) {
                return HadoopChannel.writing(path.toString(), fs.create(p.hadoop(), false));
            }
            if (!exists && !options.contains(StandardOpenOption.CREATE)) {
                throw new NoSuchFileException(path.toString());
            }
            if (exists && options.contains(StandardOpenOption.APPEND)) {
                return HadoopChannel.writing(path.toString(), fs.append(p.hadoop()));
            }
            if (exists && !options.contains(StandardOpenOption.TRUNCATE_EXISTING)) {
                throw new UnsupportedOperationException(path + ": Hadoop files cannot be written in place (open with TRUNCATE_EXISTING or APPEND)");
            }
            return HadoopChannel.writing(path.toString(), fs.create(p.hadoop(), true));
        } catch (IOException e) {
            throw translate(e, path);
        }
    }

    @Override
    public SeekableByteChannel newByteChannel(Path path, Set<? extends OpenOption> options, FileAttribute<?>... attrs) throws IOException {
        return newFileChannel(path, options, attrs);
    }

    @Override
    public DirectoryStream<Path> newDirectoryStream(Path dir, DirectoryStream.Filter<? super Path> filter) throws IOException {
        if (!status(dir).isDirectory()) {
            throw new NotDirectoryException(dir.toString());
        }
        List<Path> entries = new ArrayList<>();
        FileStatus[] children;
        try {
            children = hadoop(dir).listStatus(cast(dir).hadoop());
        } catch (IOException e) {
            throw translate(e, dir);
        }
        for (FileStatus s : children) {
            Path child = dir.resolve(s.getPath().getName());
            if (filter.accept(child)) {
                entries.add(child);
            }
        }
        return new DirectoryStream<>() {
            @Override
            public Iterator<Path> iterator() {
                return entries.iterator();
            }

            @Override
            public void close() {}
        };
    }

    @Override
    public void createDirectory(Path dir, FileAttribute<?>... attrs) throws IOException {
        if (exists(dir)) {
            throw new FileAlreadyExistsException(dir.toString());
        }
        Path parent = dir.toAbsolutePath().getParent();
        if (parent != null && !exists(parent)) {
            throw new NoSuchFileException(parent.toString());
        }
        try {
            if (!hadoop(dir).mkdirs(cast(dir).hadoop())) {
                throw new IOException(dir + ": cannot create the folder");
            }
        } catch (IOException e) {
            throw translate(e, dir);
        }
    }

    @Override
    public void delete(Path path) throws IOException {
        FileStatus st = status(path);
        try {
            if (st.isDirectory() && hadoop(path).listStatus(cast(path).hadoop()).length > 0) {
                throw new DirectoryNotEmptyException(path.toString());
            }
            if (!hadoop(path).delete(cast(path).hadoop(), false)) {
                throw new IOException(path + ": cannot delete");
            }
        } catch (IOException e) {
            throw translate(e, path);
        }
    }

    @Override
    public void copy(Path source, Path target, CopyOption... options) throws IOException {
        boolean replace = Arrays.asList(options).contains(StandardCopyOption.REPLACE_EXISTING);
        if (!replace && exists(target)) {
            throw new FileAlreadyExistsException(target.toString());
        }
        if (status(source).isDirectory()) {
            createDirectory(target);
            return;
        }
        try (InputStream in = newInputStream(source); OutputStream out = newOutputStream(target)) {
            in.transferTo(out);
        }
    }

    @Override
    public void move(Path source, Path target, CopyOption... options) throws IOException {
        HadoopPath s = cast(source), t = cast(target);
        if (!s.getFileSystem().key().equals(t.getFileSystem().key())) {
            throw new ProviderMismatchException(source + " and " + target + " are on different filesystems");
        }
        status(source); // NoSuchFileException when it is not there
        org.apache.hadoop.fs.FileSystem fs = hadoop(source);
        try {
            if (Arrays.asList(options).contains(StandardCopyOption.REPLACE_EXISTING) && fs.exists(t.hadoop())) {
                try {
                    FileContext.getFileContext(fs.getUri(), fs.getConf()).rename(s.hadoop(), t.hadoop(), Options.Rename.OVERWRITE);
                    return;
                } catch (UnsupportedFileSystemException | UnsupportedOperationException e) {
                    // no FileContext for this filesystem: replace in two steps (the target is briefly absent, never partial)
                    fs.delete(t.hadoop(), false);
                }
            }
            if (!fs.rename(s.hadoop(), t.hadoop())) {
                if (fs.exists(t.hadoop())) {
                    throw new FileAlreadyExistsException(target.toString());
                }
                throw new IOException("cannot rename " + source + " to " + target);
            }
        } catch (IOException e) {
            throw translate(e, target);
        }
    }

    @Override
    public boolean isSameFile(Path path, Path path2) {
        return path.toAbsolutePath().normalize().equals(path2.toAbsolutePath().normalize());
    }

    @Override
    public boolean isHidden(Path path) {
        Path n = path.getFileName();
        return n != null && n.toString().startsWith(".");
    }

    @Override
    public FileStore getFileStore(Path path) {
        throw new UnsupportedOperationException("file stores of " + path);
    }

    @Override
    public void checkAccess(Path path, AccessMode... modes) throws IOException {
        status(path);
    }

    @Override
    @SuppressWarnings("unchecked")
    public <V extends FileAttributeView> V getFileAttributeView(Path path, Class<V> type, LinkOption... options) {
        if (type != BasicFileAttributeView.class) {
            return null;
        }
        return (V) new BasicFileAttributeView() {
            @Override
            public String name() {
                return "basic";
            }

            @Override
            public BasicFileAttributes readAttributes() throws IOException {
                return HadoopFileSystemProvider.this.readAttributes(path, BasicFileAttributes.class);
            }

            @Override
            public void setTimes(FileTime lastModifiedTime, FileTime lastAccessTime, FileTime createTime) throws IOException {
                hadoop(path).setTimes(cast(path).hadoop(), lastModifiedTime == null ? -1 : lastModifiedTime.toMillis(),
                        lastAccessTime == null ? -1 : lastAccessTime.toMillis());
            }
        };
    }

    @Override
    @SuppressWarnings("unchecked")
    public <A extends BasicFileAttributes> A readAttributes(Path path, Class<A> type, LinkOption... options) throws IOException {
        if (type != BasicFileAttributes.class) {
            throw new UnsupportedOperationException(type.getSimpleName() + " of " + path + " (a Hadoop filesystem has basic attributes only)");
        }
        FileStatus st = status(path);
        return (A) new BasicFileAttributes() {
            @Override
            public FileTime lastModifiedTime() {
                return FileTime.fromMillis(st.getModificationTime());
            }

            @Override
            public FileTime lastAccessTime() {
                return FileTime.fromMillis(st.getAccessTime());
            }

            @Override
            public FileTime creationTime() {
                return FileTime.fromMillis(st.getModificationTime());
            }

            @Override
            public boolean isRegularFile() {
                return st.isFile();
            }

            @Override
            public boolean isDirectory() {
                return st.isDirectory();
            }

            @Override
            public boolean isSymbolicLink() {
                return false;
            }

            @Override
            public boolean isOther() {
                return false;
            }

            @Override
            public long size() {
                return st.getLen();
            }

            @Override
            public Object fileKey() {
                return null;
            }
        };
    }

    @Override
    public Map<String, Object> readAttributes(Path path, String attributes, LinkOption... options) throws IOException {
        BasicFileAttributes a = readAttributes(path, BasicFileAttributes.class);
        Map<String, Object> all = new LinkedHashMap<>();
        all.put("lastModifiedTime", a.lastModifiedTime());
        all.put("lastAccessTime", a.lastAccessTime());
        all.put("creationTime", a.creationTime());
        all.put("size", a.size());
        all.put("isRegularFile", a.isRegularFile());
        all.put("isDirectory", a.isDirectory());
        all.put("isSymbolicLink", false);
        all.put("isOther", false);
        all.put("fileKey", null);
        String names = attributes.startsWith("basic:") ? attributes.substring(6) : attributes;
        if (names.equals("*")) {
            return all;
        }
        Map<String, Object> some = new LinkedHashMap<>();
        for (String n : names.split(",")) {
            if (!all.containsKey(n)) {
                throw new IllegalArgumentException("'" + n + "': not a basic attribute");
            }
            some.put(n, all.get(n));
        }
        return some;
    }

    @Override
    public void setAttribute(Path path, String attribute, Object value, LinkOption... options) {
        throw new UnsupportedOperationException("setting " + attribute + " of " + path);
    }
}
