package io.zsq.runtime;

import static org.junit.jupiter.api.Assertions.assertDoesNotThrow;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

/** A tensor's quantization is validated with integers only; a model's input and output always carry one. */
class TensorQuantTest {
    private static final int ONE = 0x3F800000; // 1.0f

    @Test
    void scaleBitsMustBeAPositiveFiniteNumber() {
        assertDoesNotThrow(() -> new TensorQuant(1, 0, -128, 127)); // the smallest subnormal
        assertDoesNotThrow(() -> new TensorQuant(0x7F7FFFFF, 0, -128, 127)); // the largest finite value
        for (int bits : new int[] {0, 0x80000000, 0xBF800000, 0x7F800000, 0x7FC00000, 0xFF800000, -1}) { // 0, -0, -1, inf, NaN, -inf
            IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> new TensorQuant(bits, 0, -128, 127),
                    Integer.toHexString(bits));
            assertTrue(e.getMessage().contains("positive and finite"), e.getMessage());
        }
    }

    @Test
    void rangeMustBeAnInt8SubrangeHoldingTheZeroPoint() {
        assertDoesNotThrow(() -> new TensorQuant(ONE, 7, -8, 7));
        assertThrows(IllegalArgumentException.class, () -> new TensorQuant(ONE, 0, 5, 5));
        assertThrows(IllegalArgumentException.class, () -> new TensorQuant(ONE, 0, 7, -8));
        assertThrows(IllegalArgumentException.class, () -> new TensorQuant(ONE, 8, -8, 7));
        assertThrows(IllegalArgumentException.class, () -> new TensorQuant(ONE, -9, -8, 7));
        assertThrows(IllegalArgumentException.class, () -> new TensorQuant(ONE, 0, -129, 127));
        assertThrows(IllegalArgumentException.class, () -> new TensorQuant(ONE, 0, -128, 128));
    }

    @Test
    void modelNeedsQuantizationOfItsInputAndOutputAndOfNothingElse() {
        List<Layer> layers = List.of(new Layer.Reshape("x", "y", new int[] {4}));
        TensorQuant q = new TensorQuant(ONE, 0, -128, 127);
        IntModel m = new IntModel(Map.of(), "x", new int[] {4, 1, 1}, "y", new int[] {4, 1, 1}, layers, Map.of("x", q, "y", q));
        assertEquals(q, m.quantization().get("y"));
        IllegalArgumentException noOut = assertThrows(IllegalArgumentException.class,
                () -> new IntModel(Map.of(), "x", new int[] {4, 1, 1}, "y", new int[] {4, 1, 1}, layers, Map.of("x", q)));
        assertTrue(noOut.getMessage().contains("'y'") && noOut.getMessage().contains("output"), noOut.getMessage());
        IllegalArgumentException noIn = assertThrows(IllegalArgumentException.class,
                () -> new IntModel(Map.of(), "x", new int[] {4, 1, 1}, "y", new int[] {4, 1, 1}, layers, Map.of("y", q)));
        assertTrue(noIn.getMessage().contains("'x'") && noIn.getMessage().contains("input"), noIn.getMessage());
        IllegalArgumentException stray = assertThrows(IllegalArgumentException.class,
                () -> new IntModel(Map.of(), "x", new int[] {4, 1, 1}, "y", new int[] {4, 1, 1}, layers, Map.of("x", q, "y", q, "z", q)));
        assertTrue(stray.getMessage().contains("'z'"), stray.getMessage());
        Map<String, TensorQuant> withNull = new LinkedHashMap<>(Map.of("x", q, "y", q));
        withNull.put("x", null);
        assertThrows(IllegalArgumentException.class,
                () -> new IntModel(Map.of(), "x", new int[] {4, 1, 1}, "y", new int[] {4, 1, 1}, layers, withNull));
    }
}
