package io.zsq.spark.fs;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.MappedByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.channels.FileLock;
import java.nio.channels.NonReadableChannelException;
import java.nio.channels.NonWritableChannelException;
import java.nio.channels.ReadableByteChannel;
import java.nio.channels.WritableByteChannel;
import org.apache.hadoop.fs.FSDataInputStream;
import org.apache.hadoop.fs.FSDataOutputStream;

/**
 * A file of a Hadoop filesystem open for reading (seekable, positional reads) or for writing (sequential,
 * as Hadoop files are written): what {@code Files.newByteChannel} and {@code FileChannel.open} give.
 * {@link #force} is {@code hsync}: on HDFS the bytes are on the datanodes' disks when it returns.
 */
final class HadoopChannel extends FileChannel {
    private final String name;
    private final FSDataInputStream in;
    private final FSDataOutputStream out;
    private final long size;

    private HadoopChannel(String name, FSDataInputStream in, FSDataOutputStream out, long size) {
        this.name = name;
        this.in = in;
        this.out = out;
        this.size = size;
    }

    static HadoopChannel reading(String name, FSDataInputStream in, long size) {
        return new HadoopChannel(name, in, null, size);
    }

    static HadoopChannel writing(String name, FSDataOutputStream out) {
        return new HadoopChannel(name, null, out, -1);
    }

    private FSDataInputStream in() {
        if (in == null) {
            throw new NonReadableChannelException();
        }
        return in;
    }

    private FSDataOutputStream out() {
        if (out == null) {
            throw new NonWritableChannelException();
        }
        return out;
    }

    @Override
    public int read(ByteBuffer dst) throws IOException {
        FSDataInputStream s = in();
        if (!dst.hasRemaining()) {
            return 0;
        }
        byte[] b = new byte[Math.min(dst.remaining(), 1 << 20)];
        int n = s.read(b, 0, b.length);
        if (n > 0) {
            dst.put(b, 0, n);
        }
        return n;
    }

    @Override
    public long read(ByteBuffer[] dsts, int offset, int length) throws IOException {
        long total = 0;
        for (int i = offset; i < offset + length; i++) {
            int n = read(dsts[i]);
            if (n < 0) {
                return total == 0 ? -1 : total;
            }
            total += n;
            if (dsts[i].hasRemaining()) {
                break;
            }
        }
        return total;
    }

    @Override
    public int read(ByteBuffer dst, long position) throws IOException {
        FSDataInputStream s = in();
        if (position >= size) {
            return -1;
        }
        byte[] b = new byte[(int) Math.min(dst.remaining(), Math.min(size - position, 1 << 20))];
        int n = s.read(position, b, 0, b.length);
        if (n > 0) {
            dst.put(b, 0, n);
        }
        return n;
    }

    @Override
    public int write(ByteBuffer src) throws IOException {
        FSDataOutputStream s = out();
        int n = src.remaining();
        if (src.hasArray()) {
            s.write(src.array(), src.arrayOffset() + src.position(), n);
            src.position(src.limit());
        } else {
            byte[] b = new byte[n];
            src.get(b);
            s.write(b);
        }
        return n;
    }

    @Override
    public long write(ByteBuffer[] srcs, int offset, int length) throws IOException {
        long total = 0;
        for (int i = offset; i < offset + length; i++) {
            total += write(srcs[i]);
        }
        return total;
    }

    @Override
    public int write(ByteBuffer src, long position) throws IOException {
        if (position != position()) {
            throw new UnsupportedOperationException(name + ": Hadoop files are written in order (a write at " + position + ", the end is at "
                    + position() + ")");
        }
        return write(src);
    }

    @Override
    public long position() throws IOException {
        return in != null ? in.getPos() : out.getPos();
    }

    @Override
    public FileChannel position(long newPosition) throws IOException {
        if (in != null) {
            in.seek(newPosition);
        } else if (newPosition != out.getPos()) {
            throw new UnsupportedOperationException(name + ": Hadoop files are written in order (a seek to " + newPosition + ")");
        }
        return this;
    }

    @Override
    public long size() throws IOException {
        return in != null ? size : out.getPos();
    }

    @Override
    public FileChannel truncate(long newSize) throws IOException {
        if (newSize < size()) {
            throw new UnsupportedOperationException(name + ": truncating an open Hadoop file");
        }
        return this;
    }

    @Override
    public void force(boolean metaData) throws IOException {
        if (out != null) {
            out.hsync();
        }
    }

    @Override
    public long transferTo(long position, long count, WritableByteChannel target) throws IOException {
        long done = 0;
        ByteBuffer b = ByteBuffer.allocate((int) Math.min(count, 1 << 20));
        while (done < count) {
            b.clear().limit((int) Math.min(b.capacity(), count - done));
            int n = read(b, position + done);
            if (n <= 0) {
                break;
            }
            b.flip();
            while (b.hasRemaining()) {
                target.write(b);
            }
            done += n;
        }
        return done;
    }

    @Override
    public long transferFrom(ReadableByteChannel src, long position, long count) throws IOException {
        long done = 0;
        ByteBuffer b = ByteBuffer.allocate((int) Math.min(count, 1 << 20));
        while (done < count) {
            b.clear().limit((int) Math.min(b.capacity(), count - done));
            int n = src.read(b);
            if (n <= 0) {
                break;
            }
            b.flip();
            write(b, position + done);
            done += n;
        }
        return done;
    }

    @Override
    public MappedByteBuffer map(MapMode mode, long position, long size) {
        throw new UnsupportedOperationException(name + ": memory-mapping a Hadoop file");
    }

    @Override
    public FileLock lock(long position, long size, boolean shared) {
        throw new UnsupportedOperationException(name + ": locking a Hadoop file");
    }

    @Override
    public FileLock tryLock(long position, long size, boolean shared) {
        throw new UnsupportedOperationException(name + ": locking a Hadoop file");
    }

    @Override
    protected void implCloseChannel() throws IOException {
        if (in != null) {
            in.close();
        } else {
            out.close();
        }
    }
}
