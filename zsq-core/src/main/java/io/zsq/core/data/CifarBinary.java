package io.zsq.core.data;

import java.io.BufferedInputStream;
import java.io.IOException;
import java.io.InputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.Locale;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Stream;

/**
 * CIFAR-10 binary files ({@code cifar-10-binary.tar.gz}): records of 1 label byte (0-9) and 3,072 pixel
 * bytes, the 1,024 red values, then green, then blue, each plane row-major 32 x 32, which is already the
 * NCHW layout. A file whose size is not a whole number of records, or a label above 9, is refused with
 * one line naming the file; the pixel bytes carry no check.
 */
public final class CifarBinary {
    private CifarBinary() {}

    public static final int SIDE = 32, CHANNELS = 3, PIXELS = CHANNELS * SIDE * SIDE, RECORD = 1 + PIXELS, CLASSES = 10;

    private static final Pattern DATA_BATCH = Pattern.compile("data_batch_(\\d+)\\.bin"), TRAIN = Pattern.compile("train_(.*)\\.bin");

    /**
     * The files of a CIFAR-10 binary folder for a split: {@code test_batch.bin} for TEST; for TRAIN the
     * {@code data_batch_N.bin} files in the order of N (the original set), else the {@code train_*.bin} files by name.
     */
    public static List<Path> files(Path folder, LabeledImages.Split split) {
        if (split == LabeledImages.Split.TEST) {
            Path p = folder.resolve("test_batch.bin");
            if (!Files.isRegularFile(p)) {
                throw new IllegalArgumentException(folder + ": a CIFAR-10 binary folder without test_batch.bin (the test split; give a .bin "
                        + "file to read another)");
            }
            return List.of(p);
        }
        List<Path> batches = new ArrayList<>(), train = new ArrayList<>();
        try (Stream<Path> s = Files.list(folder)) {
            for (Path p : (Iterable<Path>) s::iterator) {
                String n = p.getFileName().toString();
                if (Files.isRegularFile(p) && DATA_BATCH.matcher(n).matches()) {
                    batches.add(p);
                } else if (Files.isRegularFile(p) && TRAIN.matcher(n).matches()) {
                    train.add(p);
                }
            }
        } catch (IOException | RuntimeException e) {
            throw new IllegalArgumentException(folder + ": cannot list the folder (" + LabeledImages.oneLine(e) + ")", e);
        }
        if (!batches.isEmpty()) {
            batches.sort(Comparator.comparingLong(p -> number(p)));
            return batches;
        }
        if (!train.isEmpty()) {
            train.sort(Comparator.comparing(p -> p.getFileName().toString()));
            return train;
        }
        throw new IllegalArgumentException(folder + ": a CIFAR-10 binary folder without training files (data_batch_N.bin or train_*.bin)");
    }

    private static long number(Path p) {
        Matcher m = DATA_BATCH.matcher(p.getFileName().toString());
        m.matches();
        String d = m.group(1);
        return d.length() > 18 ? Long.MAX_VALUE : Long.parseLong(d);
    }

    /**
     * The records of {@code files}, in order.
     *
     * @param limit at most this many images (the first ones), or all when {@code <= 0}
     */
    public static LabeledImages load(List<Path> files, int limit) {
        long total = 0;
        long[] records = new long[files.size()];
        for (int f = 0; f < files.size(); f++) {
            Path p = files.get(f);
            long size;
            try {
                size = Files.size(p);
            } catch (IOException e) {
                throw new IllegalArgumentException(p + ": cannot read (" + LabeledImages.oneLine(e) + ")", e);
            }
            if (size == 0) {
                throw new IllegalArgumentException(p + ": empty (a CIFAR-10 binary file holds records of " + RECORD + " bytes)");
            }
            if (size % RECORD != 0) {
                throw new IllegalArgumentException(p + ": " + size + " bytes, not a whole number of CIFAR-10 records of " + RECORD
                        + " bytes (1 label + 3072 pixels): " + size / RECORD + " records and " + size % RECORD + " bytes; truncated, or not "
                        + "a CIFAR-10 binary file" + (size % (RECORD + 1) == 0 ? " (CIFAR-100's records of 3074 bytes are not supported)" : ""));
            }
            records[f] = size / RECORD;
            total += records[f];
        }
        long count = limit > 0 ? Math.min(limit, total) : total;
        if (count * PIXELS > LabeledImages.MAX_PIXELS) {
            throw new IllegalArgumentException(files.get(0) + (files.size() > 1 ? " ..." : "") + ": " + count + " CIFAR-10 images do not fit "
                    + "one array (2 GiB): use a smaller limit");
        }
        int n = (int) count;
        byte[] px = new byte[n * PIXELS];
        int[] y = new int[n];
        byte[] rec = new byte[RECORD];
        int at = 0;
        for (int f = 0; f < files.size() && at < n; f++) {
            Path p = files.get(f);
            try (InputStream in = new BufferedInputStream(Files.newInputStream(p), 1 << 16)) {
                for (long r = 0; r < records[f] && at < n; r++) {
                    int got = in.readNBytes(rec, 0, RECORD);
                    if (got < RECORD) {
                        throw new IllegalArgumentException(p + ": truncated while reading: record " + r + " of " + records[f]
                                + " (the file changed while it was read?)");
                    }
                    int label = rec[0] & 0xFF;
                    if (label >= CLASSES) {
                        throw new IllegalArgumentException(p + ": record " + r + " has label " + label + "; CIFAR-10 labels are 0-9 "
                                + "(a damaged file, or not CIFAR-10 binary)");
                    }
                    y[at] = label;
                    System.arraycopy(rec, 1, px, at * PIXELS, PIXELS);
                    at++;
                }
            } catch (IOException e) {
                throw new IllegalArgumentException(p + ": cannot read (" + LabeledImages.oneLine(e) + ")", e);
            }
        }
        return new LabeledImages.Of(n, CHANNELS, SIDE, SIDE, px, y);
    }

    /** Class names from {@code batches.meta.txt} beside the data (one per line, label order), or null when there is none. */
    public static List<String> classNames(Path folder) {
        Path p = folder.resolve("batches.meta.txt");
        if (!Files.isRegularFile(p)) {
            return null;
        }
        try {
            return Files.readAllLines(p).stream().map(String::strip).filter(s -> !s.isEmpty()).toList();
        } catch (IOException e) {
            throw new IllegalArgumentException(p + ": cannot read (" + LabeledImages.oneLine(e) + ")", e);
        }
    }

    static boolean isBin(Path p) {
        return p.getFileName().toString().toLowerCase(Locale.ROOT).endsWith(".bin");
    }
}
