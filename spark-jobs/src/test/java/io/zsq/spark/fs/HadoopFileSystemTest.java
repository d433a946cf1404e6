package io.zsq.spark.fs;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.zsq.core.io.Locations;
import java.io.ByteArrayInputStream;
import java.io.ByteArrayOutputStream;
import java.io.ObjectInputStream;
import java.io.ObjectOutputStream;
import java.io.OutputStream;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.channels.SeekableByteChannel;
import java.nio.file.DirectoryNotEmptyException;
import java.nio.file.FileAlreadyExistsException;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.StandardOpenOption;
import java.util.List;
import java.util.Random;
import java.util.stream.Stream;
import org.apache.hadoop.conf.Configuration;
import org.apache.hadoop.hdfs.MiniDFSCluster;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/** java.nio.file on a real HDFS (an in-JVM MiniDFSCluster on 127.0.0.1), against what the same calls do on the local disk. */
class HadoopFileSystemTest {
    static MiniDFSCluster hdfs;
    static String root;

    @BeforeAll
    static void start() throws Exception {
        hdfs = MiniHdfs.start("fs-test");
        root = hdfs.getURI().toString();
    }

    @AfterAll
    static void stop() {
        MiniHdfs.stop(hdfs);
    }

    @Test
    void namesResolveToHdfsPathsAndBack() throws Exception {
        Path p = Locations.of(root + "/a/b/batch-00001.arrow");
        assertInstanceOf(HadoopPath.class, p);
        assertFalse(Locations.isDefault(p));
        assertEquals(root + "/a/b/batch-00001.arrow", Locations.name(p));
        assertEquals(p, Locations.of(Locations.name(p)));
        assertEquals("batch-00001.arrow", p.getFileName().toString());
        assertEquals(Locations.of(root + "/a/b"), p.getParent());
        assertEquals(Locations.of(root + "/a/b/c.json"), p.resolveSibling("c.json"));
        assertEquals(Locations.of(root + "/a/x"), p.getParent().resolve("../x").normalize());
        assertEquals("b/batch-00001.arrow", Locations.of(root + "/a").relativize(p).toString());
        assertTrue(p.startsWith(Locations.of(root + "/a")));
        assertTrue(p.endsWith(p.getFileName()));
        assertEquals(3, p.getNameCount());
        assertNull(Locations.of(root + "/").getParent());
        // a path shipped to another JVM (a Spark task) comes back as the same file
        ByteArrayOutputStream bo = new ByteArrayOutputStream();
        try (ObjectOutputStream o = new ObjectOutputStream(bo)) {
            o.writeObject(p);
        }
        try (ObjectInputStream i = new ObjectInputStream(new ByteArrayInputStream(bo.toByteArray()))) {
            Path back = (Path) i.readObject();
            assertEquals(p, back);
            assertTrue(back.getFileSystem() != null);
        }
        // local names stay local
        assertTrue(Locations.isDefault(Locations.of("out/x")));
        assertTrue(Locations.isDefault(Locations.of("file:/tmp/x")));
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> Locations.of("nosuchfs://h/x"));
        assertTrue(e.getMessage().startsWith("nosuchfs://h/x: no filesystem for scheme 'nosuchfs'"), e.getMessage());
        assertTrue(Locations.commitsByRename(p), "HDFS renames atomically");
    }

    @Test
    void filesReadsWritesListsMovesAndDeletesOnHdfs() throws Exception {
        Path dir = Locations.of(root + "/files/deep/er");
        Files.createDirectories(dir);
        assertTrue(Files.isDirectory(dir));
        Files.createDirectories(dir); // again: no error
        byte[] data = new byte[3 << 20];
        new Random(1).nextBytes(data);
        Path f = dir.resolve("data.bin");
        Files.write(f, data);
        assertTrue(Files.isRegularFile(f));
        assertEquals(data.length, Files.size(f));
        assertArrayEquals(data, Files.readAllBytes(f));
        // seekable, positioned reads (what an Arrow reader does)
        try (SeekableByteChannel ch = Files.newByteChannel(f)) {
            ch.position(1_000_003);
            ByteBuffer b = ByteBuffer.allocate(100);
            while (b.hasRemaining() && ch.read(b) >= 0) {
                // fill
            }
            assertArrayEquals(java.util.Arrays.copyOfRange(data, 1_000_003, 1_000_103), b.array());
            assertEquals(data.length, ch.size());
        }
        // CREATE_NEW refuses an existing file, as on a local disk
        assertThrows(FileAlreadyExistsException.class, () -> Files.createFile(f));
        // FileChannel with force: written, synced
        Path g = dir.resolve("g.txt");
        Files.createFile(g);
        try (FileChannel ch = FileChannel.open(g, StandardOpenOption.WRITE, StandardOpenOption.TRUNCATE_EXISTING)) {
            ch.write(ByteBuffer.wrap("hello hdfs".getBytes()));
            ch.force(true);
        }
        assertEquals("hello hdfs", Files.readString(g));
        // move: refused onto an existing file without REPLACE_EXISTING, atomic overwrite with it
        Path h = dir.resolve("h.txt");
        Files.writeString(h, "old");
        assertThrows(FileAlreadyExistsException.class, () -> Files.move(g, h));
        Files.move(g, h, StandardCopyOption.REPLACE_EXISTING, StandardCopyOption.ATOMIC_MOVE);
        assertFalse(Files.exists(g));
        assertEquals("hello hdfs", Files.readString(h));
        // listing
        try (Stream<Path> s = Files.list(dir)) {
            assertEquals(List.of(f, h), s.sorted().toList());
        }
        try (Stream<Path> s = Files.walk(Locations.of(root + "/files"))) {
            assertEquals(5, s.count(), "files, deep, er, data.bin, h.txt");
        }
        // delete
        assertThrows(DirectoryNotEmptyException.class, () -> Files.delete(dir));
        Files.delete(f);
        assertFalse(Files.deleteIfExists(f));
        assertThrows(NoSuchFileException.class, () -> Files.readAllBytes(f));
        assertThrows(NoSuchFileException.class, () -> Files.size(dir.resolve("none")));
        // streams
        try (OutputStream o = Files.newOutputStream(dir.resolve("s.txt"))) {
            o.write("stream".getBytes());
        }
        assertEquals("stream", new String(Files.newInputStream(dir.resolve("s.txt")).readAllBytes()));
        // copies between HDFS and the local disk, both ways
        Path local = Files.createTempFile("zsq-hdfs", ".txt");
        try {
            Files.copy(dir.resolve("s.txt"), local, StandardCopyOption.REPLACE_EXISTING);
            assertEquals("stream", Files.readString(local));
            Files.copy(local, dir.resolve("back.txt"));
            assertEquals("stream", Files.readString(dir.resolve("back.txt")));
            try (Locations.LocalFile copy = Locations.local(dir.resolve("back.txt"))) {
                assertTrue(Locations.isDefault(copy.path()));
                assertEquals("back.txt", copy.path().getFileName().toString());
                assertEquals("stream", Files.readString(copy.path()));
                local = copy.path();
            }
            assertFalse(Files.exists(local), "the local copy is removed on close");
        } finally {
            Files.deleteIfExists(local);
        }
    }
}
