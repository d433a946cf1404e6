package io.zsq.synth;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.zsq.core.ir.Graph;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class ArrowDatasetTest {
    @TempDir
    Path dir;

    @Test
    void batchesRoundTripWithMetadataAndRegenerateAloneBitForBit() throws IOException {
        Graph g = RandomGraphs.small(21);
        SynthConfig cfg = new SynthConfig("zeroq", 10, 4, 5, 0.1, 77);
        for (int b = 0; b < cfg.batches(); b++) {
            ArrowDataset.write(dir, Generator.generate(g, cfg, b, null), g.inputShape(), cfg);
        }
        assertEquals(3, ArrowDataset.batches(dir).size());
        ArrowDataset.Read last = ArrowDataset.read(ArrowDataset.batchFile(dir, 2));
        assertEquals(2, last.size());
        assertEquals("zeroq", last.metadata().get("zsq.method"));
        assertEquals("5", last.metadata().get("zsq.steps"));
        assertEquals("2,8,8", last.metadata().get("zsq.shape"));
        assertTrue(last.metadata().get("zsq.final_loss").contains("\"bn3\":"), last.metadata().get("zsq.final_loss"));
        // batch 1 regenerated on its own equals the stored one, bit for bit
        Generator.Batch again = Generator.generate(g, cfg, 1, null);
        assertArrayEquals(again.images(), ArrowDataset.read(ArrowDataset.batchFile(dir, 1)).images());
        assertTrue(Files.list(dir).noneMatch(p -> p.toString().endsWith(".tmp")));
    }

    @Test
    void notAnArrowFileNamesTheFile() throws IOException {
        Path f = dir.resolve("batch-00000.arrow");
        Files.writeString(f, "hello");
        IOException e = assertThrows(IOException.class, () -> ArrowDataset.read(f));
        assertTrue(e.getMessage().contains(f.toString()), e.getMessage());
    }
}
