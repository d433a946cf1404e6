package io.zsq.runtime;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;

class FixedPointTest {
    private static final int[] EDGES = {0, 1, -1, 2, -2, 3, 127, -128, 255, -255, 1 << 20, -(1 << 20), Integer.MAX_VALUE,
        Integer.MIN_VALUE, Integer.MAX_VALUE - 1, Integer.MIN_VALUE + 1, 1 << 30, -(1 << 30), (1 << 30) + 1};

    @Test
    void requantizationMatchesExactRoundingOnRandomOperands() {
        SplittableRandom r = new SplittableRandom(2);
        for (int i = 0; i < 300_000; i++) {
            int m = (1 << 30) + r.nextInt(1 << 30); // normalized mantissa in [2^30, 2^31)
            int shift = r.nextInt(-31, 31);
            int x = r.nextInt();
            assertEquals(LongReference.multiplyByQuantizedMultiplier(x, m, shift), FixedPoint.multiplyByQuantizedMultiplier(x, m, shift),
                    x + " * " + m + " * 2^" + shift);
        }
    }

    @Test
    void requantizationEdges() {
        int[] mantissas = {0, 1 << 30, (1 << 30) + 1, Integer.MAX_VALUE - 1, Integer.MAX_VALUE};
        for (int x : EDGES) {
            for (int m : mantissas) {
                for (int shift = -31; shift <= 30; shift++) { // large right shifts, and left shifts that saturate
                    assertEquals(LongReference.multiplyByQuantizedMultiplier(x, m, shift), FixedPoint.multiplyByQuantizedMultiplier(x, m, shift),
                            x + " * " + m + " * 2^" + shift);
                }
            }
        }
        assertEquals(Integer.MAX_VALUE, FixedPoint.multiplyByQuantizedMultiplier(Integer.MAX_VALUE, Integer.MAX_VALUE, 30));
        assertEquals(Integer.MIN_VALUE, FixedPoint.multiplyByQuantizedMultiplier(Integer.MIN_VALUE, Integer.MAX_VALUE, 30));
        assertThrows(IllegalArgumentException.class, () -> FixedPoint.multiplyByQuantizedMultiplier(1, 1 << 30, 31));
        assertThrows(IllegalArgumentException.class, () -> FixedPoint.multiplyByQuantizedMultiplier(1, 1 << 30, -32));
    }

    /** Small accumulators (4-bit grids) exhaustively, including exact ties, which go toward +infinity. */
    @Test
    void smallAccumulatorsRoundOnceAndTiesGoUp() {
        for (int x = -70_000; x <= 70_000; x++) {
            for (int shift : new int[] {-31, -20, -8, -2, -1, 0, 1}) {
                assertEquals(LongReference.multiplyByQuantizedMultiplier(x, Integer.MAX_VALUE, shift),
                        FixedPoint.multiplyByQuantizedMultiplier(x, Integer.MAX_VALUE, shift));
                assertEquals(LongReference.multiplyByQuantizedMultiplier(x, 1 << 30, shift),
                        FixedPoint.multiplyByQuantizedMultiplier(x, 1 << 30, shift));
            }
        }
        // the double-rounding case that motivated one rounding: 20 * 0.876 / 4 = 4.38 must give 4, not 5
        int m = (int) Math.round(0.876 * (1L << 31));
        assertEquals(4, FixedPoint.multiplyByQuantizedMultiplier(20, m, -2));
        // exact ties: M = 1/2 (mantissa 2^30, shift 0)
        assertEquals(2, FixedPoint.multiplyByQuantizedMultiplier(3, 1 << 30, 0));   // 1.5 -> 2
        assertEquals(-1, FixedPoint.multiplyByQuantizedMultiplier(-3, 1 << 30, 0)); // -1.5 -> -1
        assertEquals(0, FixedPoint.multiplyByQuantizedMultiplier(-1, 1 << 30, 0));  // -0.5 -> 0
    }

    @Test
    void averageRoundingTiesGoUp() {
        assertEquals(1, Kernels.roundedDivide(1, 2));
        assertEquals(0, Kernels.roundedDivide(-1, 2));
        assertEquals(-1, Kernels.roundedDivide(-3, 2));
        for (int den = 1; den <= 64; den++) {
            for (int num = -128 * den; num <= 127 * den; num++) {
                // in double, num / den is within 1e-13 of exact, and a non-tie is at least 1 / (2 den) from a tie
                assertEquals((long) Math.floor((double) num / den + 0.5), Kernels.roundedDivide(num, den), num + " / " + den);
            }
        }
    }
}
