package io.zsq.qat;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.zsq.ptq.pipeline.Executor;
import io.zsq.ptq.pipeline.InProcessExecutor;
import io.zsq.ptq.pipeline.Plan;
import java.io.IOException;
import java.io.Serializable;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * Level 2's checkpoints: a run killed after some steps and started again with the same settings ends with the bits
 * of the run that was never stopped; a checkpoint of other settings or another start is ignored and replaced; the
 * file is written under a temporary name and renamed; a truncated one is refused in one line naming it.
 */
class CheckpointTest {
    @TempDir
    Path dir;

    /** 8 steps, a checkpoint every 2. */
    static final Plan.FineTune S = FineTunerTest.settings(8, 8, 4, 1e-3, 1e-3, 2, 13);

    /** Hands everything to another executor, until its {@code steps}-th step, which it fails as a killed job would. */
    static final class KilledAfter implements Executor {
        final Executor inner = new InProcessExecutor(2);
        int steps;

        KilledAfter(int steps) {
            this.steps = steps;
        }

        @Override
        public <I extends Serializable, R extends Serializable> List<R> map(String stage, List<I> items, Task<I, R> task) throws IOException {
            return inner.map(stage, items, task);
        }

        @Override
        public <I extends Serializable, R extends Serializable> R reduce(String stage, List<I> items, Task<I, R> task, Merge<R> merge)
                throws IOException {
            if (steps-- == 0) {
                throw new IOException("killed");
            }
            return inner.reduce(stage, items, task, merge);
        }

        @Override
        public <T extends Serializable> Shared<T> share(T value) {
            return inner.share(value);
        }

        @Override
        public int parallelism() {
            return inner.parallelism();
        }
    }

    static FineTuner.Result run(Plan.FineTune s, Executor ex, Path d) throws IOException {
        return FineTuner.run(s, FineTunerTest.TEACHER, FineTunerTest.student(), FineTunerTest.POOL_IMAGES, ex, d, FineTunerTest.QUIET);
    }

    private static List<String> files(Path d) throws IOException {
        try (Stream<Path> s = Files.list(d)) {
            return s.map(p -> p.getFileName().toString()).sorted().toList();
        }
    }

    @ParameterizedTest(name = "killed after {0} steps")
    @ValueSource(ints = {1, 3, 4, 7})
    void aKilledRunResumesToTheBitsOfOneThatWasNot(int killedAfter) throws IOException {
        FineTuner.Result whole = run(S, new InProcessExecutor(2), dir.resolve("whole"));
        assertEquals(S.steps(), opt(dir.resolve("whole"), S).steps(), "the finished run's checkpoint holds its last step");

        Path d = dir.resolve("killed");
        IOException e = assertThrows(IOException.class, () -> run(S, new KilledAfter(killedAfter), d));
        assertEquals("killed", e.getMessage());
        int saved = killedAfter / 2 * 2; // the last multiple of checkpointEvery reached
        if (saved == 0) {
            assertFalse(Files.exists(d.resolve("checkpoint.bin")), "no checkpoint before step 2");
        } else {
            assertEquals(List.of("checkpoint.bin"), files(d), "nothing but the renamed checkpoint");
            assertEquals(saved, opt(d, S).steps());
        }

        FineTuner.Result resumed = run(S, new InProcessExecutor(1), d);
        assertEquals(saved, resumed.resumed());
        assertTrue(Nets.sameBits(whole.params(), resumed.params()), "first difference at " + Nets.firstDifference(whole.params(), resumed.params()));
        assertEquals(whole.curve(), resumed.curve(), "the loss curve, the saved part included");
        assertEquals(whole.initialLoss(), resumed.initialLoss(), 0.0);
        assertEquals(whole.finalLoss(), resumed.finalLoss(), 0.0);
        assertEquals(List.of("checkpoint.bin"), files(d));
    }

    @Test
    void aRunKilledBetweenTwoPointsOfTheCurveDrawsTheSameCurve() throws IOException {
        // 200 steps: a point of the curve every 2 (the mean of their losses); a checkpoint every 3, so that the kill after
        // step 100 leaves a checkpoint at 99, one step into a point
        Plan.FineTune s = FineTunerTest.settings(200, 2, 1, 1e-3, 1e-3, 3, 4);
        FineTuner.Result whole = run(s, new InProcessExecutor(1), null);
        assertEquals(100, whole.curve().size());
        Path d = dir.resolve("killed");
        assertThrows(IOException.class, () -> run(s, new KilledAfter(100), d));
        FineTuner.Result resumed = run(s, new InProcessExecutor(1), d);
        assertEquals(99, resumed.resumed());
        assertTrue(Nets.sameBits(whole.params(), resumed.params()));
        assertEquals(whole.curve(), resumed.curve());
        assertEquals(whole.finalLoss(), resumed.finalLoss(), 0.0);
    }

    /** The optimizer state the checkpoint in {@code d} restores for a run of {@code s}, or a fresh one when it is not that run's. */
    private static Optimizer opt(Path d, Plan.FineTune s) throws IOException {
        Student st = FineTunerTest.student();
        float[] p = st.initial();
        Optimizer o = new Optimizer(s, p, st.stepSizeMask());
        Checkpoint.read(d, Checkpoint.signature(s, p, FineTunerTest.POOL_IMAGES), p.length, o);
        return o;
    }

    @Test
    void aCheckpointOfOtherSettingsOrAnotherStartIsIgnoredAndReplaced() throws IOException {
        run(S, new InProcessExecutor(2), dir);
        Plan.FineTune other = FineTunerTest.settings(8, 8, 4, 2e-3, 1e-3, 2, 13); // another learning rate
        FineTuner.Result fresh = run(other, new InProcessExecutor(2), null);
        FineTuner.Result r = run(other, new InProcessExecutor(2), dir);
        assertEquals(0, r.resumed(), "S's checkpoint is not this run's");
        assertTrue(Nets.sameBits(fresh.params(), r.params()));
        assertEquals(8, opt(dir, other).steps(), "the checkpoint is now the other run's");
        assertEquals(0, opt(dir, S).steps(), "and no longer S's");
        // the same settings from another pool: the signature covers the start too
        FineTuner.Pool pool = new FineTuner.Pool(Nets.images(99, FineTunerTest.POOL, Nets.INPUT), FineTunerTest.POOL, Nets.INPUT);
        FineTuner.Result p = FineTuner.run(other, FineTunerTest.TEACHER, FineTunerTest.student(), pool, new InProcessExecutor(2), dir,
                FineTunerTest.QUIET);
        assertEquals(0, p.resumed());
        // a checkpoint of format version 1 (without the losses a resumed run reports) is another run's too
        Path v1 = dir.resolve("v1");
        Files.createDirectories(v1);
        Student st = FineTunerTest.student();
        try (java.io.DataOutputStream out = new java.io.DataOutputStream(Files.newOutputStream(v1.resolve("checkpoint.bin")))) {
            out.writeUTF("zsq-qat-checkpoint");
            out.writeInt(1);
            out.writeUTF(Checkpoint.signature(S, st.initial(), FineTunerTest.POOL_IMAGES));
            out.writeInt(4);
            out.writeDouble(0.5);
        }
        assertEquals(0, run(S, new InProcessExecutor(2), v1).resumed());
        assertEquals(S.steps(), opt(v1, S).steps(), "and replaced by this run's");
        // a run with no checkpoints asked for writes none
        Path none = dir.resolve("none");
        run(FineTunerTest.settings(4, 8, 4, 1e-3, 1e-3, 0, 13), new InProcessExecutor(1), none);
        assertFalse(Files.exists(none));
    }

    @Test
    void theFileIsRenamedIntoPlaceAndATruncatedOneIsRefused() throws IOException {
        Files.createDirectories(dir);
        Files.writeString(dir.resolve("checkpoint.bin.tmp"), "the remains of a write that was killed");
        FineTuner.Result whole = run(S, new InProcessExecutor(2), dir);
        assertEquals(List.of("checkpoint.bin"), files(dir), "the temporary file is written over and renamed");

        byte[] full = Files.readAllBytes(dir.resolve("checkpoint.bin"));
        Files.write(dir.resolve("checkpoint.bin"), java.util.Arrays.copyOf(full, full.length / 2));
        IOException e = assertThrows(IOException.class, () -> run(S, new InProcessExecutor(2), dir));
        assertTrue(e.getMessage().contains(dir.resolve("checkpoint.bin").toString()) && e.getMessage().contains("truncated")
                && !e.getMessage().contains("\n"), e.getMessage());

        Files.write(dir.resolve("checkpoint.bin"), full);
        FineTuner.Result again = run(S, new InProcessExecutor(2), dir);
        assertEquals(S.steps(), again.resumed(), "a finished run's checkpoint: nothing left to do");
        assertTrue(Nets.sameBits(whole.params(), again.params()));
        assertEquals(whole.curve(), again.curve());
        assertEquals(whole.initialLoss(), again.initialLoss(), 0.0);
        assertEquals(whole.finalLoss(), again.finalLoss(), 0.0, "the final loss of a run resumed at its end is the one it ended with");
    }
}
