package io.zsq.core.ir;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.List;
import java.util.Map;
import java.util.Set;
import org.junit.jupiter.api.Test;

/** The SLICE and PAD conventions of {@link OpType}: normalization (ONNX's rules), output shapes, errors naming the node. */
class SliceAndPadShapeTest {
    static final int MAX = Integer.MAX_VALUE, MIN = Integer.MIN_VALUE;

    static Node slice(int[] starts, int[] ends, int[] steps) {
        return new Node("s1", OpType.SLICE, List.of("x"), "y", Map.of("starts", starts, "ends", ends, "steps", steps), Map.of(), Map.of());
    }

    static int[] shape(Node n, int... in) {
        return Graph.of("x", in, "y", List.of(n), Set.of(), Map.of()).shape("y");
    }

    @Test
    void sliceNormalizesLikeOnnx() {
        // x[:, :, ::2, ::2] of [16, 32, 32] as PyTorch exports it (end INT64_MAX, clamped by the importer to int)
        assertArrayEquals(new int[] {16, 16, 16}, shape(slice(new int[] {0, 0, 0}, new int[] {MAX, MAX, MAX}, new int[] {1, 2, 2}), 16, 32, 32));
        // odd sizes round up: ceil(7 / 2) = 4
        assertArrayEquals(new int[] {4, 4, 1}, shape(slice(new int[] {0, 0, 0}, new int[] {MAX, MAX, MAX}, new int[] {2, 2, 2}), 7, 7, 1));
        // negative start and end count from the end; both clamp to [0, dim]
        SliceWindow w = SliceWindow.of(slice(new int[] {-3, MIN, 2}, new int[] {MAX, -1, 100}, new int[] {1, 3, 4}), new int[] {5, 8, 11});
        assertArrayEquals(new int[] {2, 0, 2}, w.starts());
        assertArrayEquals(new int[] {1, 3, 4}, w.steps());
        assertArrayEquals(new int[] {3, 3, 3}, w.outShape()); // C 2..4; H 0, 3, 6 of 0..6; W 2, 6, 10
        assertArrayEquals(new int[] {1, 1, 1}, shape(slice(new int[] {-100, 4, 0}, new int[] {1, 5, 1}, new int[] {1, 1, 1}), 3, 5, 2));
    }

    @Test
    void emptyOrBadSlicesNameTheNode() {
        for (Node n : new Node[] {
            slice(new int[] {2, 0, 0}, new int[] {2, MAX, MAX}, new int[] {1, 1, 1}), // start == end
            slice(new int[] {0, 5, 0}, new int[] {MAX, 2, MAX}, new int[] {1, 1, 1}), // end before start
            slice(new int[] {0, 0, 9}, new int[] {MAX, MAX, MAX}, new int[] {1, 1, 1}), // start clamped to the end
            slice(new int[] {0, 0, 0}, new int[] {MAX, MAX, MAX}, new int[] {1, 0, 1}), // zero step
            slice(new int[] {0, 0}, new int[] {MAX, MAX}, new int[] {1, 1})}) { // two axes
            IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> shape(n, 4, 6, 6));
            assertTrue(e.getMessage().contains("s1") && e.getMessage().contains("SLICE"), e.getMessage());
        }
    }

    @Test
    void padAddsBeginAndEndAndRefusesNegativePads() {
        Node p = new Node("p1", OpType.PAD, List.of("x"), "y", Map.of("pads", new int[] {4, 0, 1, 4, 2, 0}), Map.of(), Map.of());
        assertArrayEquals(new int[] {16, 10, 9}, shape(p, 8, 8, 8));
        for (int[] pads : new int[][] {{0, -1, 0, 0, 0, 0}, {0, 0, 0, 0, 0, -2}, {1, 1, 1, 1}}) {
            Node bad = new Node("pad7", OpType.PAD, List.of("x"), "y", Map.of("pads", pads), Map.of(), Map.of());
            IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> shape(bad, 2, 4, 4));
            assertTrue(e.getMessage().contains("pad7") && e.getMessage().contains("PAD"), e.getMessage());
        }
    }
}
