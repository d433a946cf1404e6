package io.zsq.runtime;

import static org.junit.jupiter.api.Assertions.assertEquals;

import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;

class FixedPointTest {
    private static final int[] EDGES = {0, 1, -1, 2, -2, 3, 127, -128, 255, -255, 1 << 20, -(1 << 20), Integer.MAX_VALUE,
        Integer.MIN_VALUE, Integer.MAX_VALUE - 1, Integer.MIN_VALUE + 1, 1 << 30, -(1 << 30), (1 << 30) + 1};

    @Test
    void highMulMatchesLongReferenceOnEdgesAndRandom() {
        for (int a : EDGES) {
            for (int b : EDGES) {
                assertEquals(LongReference.multiplyByQuantizedMultiplier(a, b, 0), FixedPoint.saturatingRoundingDoublingHighMul(a, b),
                        a + " * " + b);
            }
        }
        SplittableRandom r = new SplittableRandom(1);
        for (int i = 0; i < 200_000; i++) {
            int a = r.nextInt(), b = r.nextInt();
            assertEquals(LongReference.multiplyByQuantizedMultiplier(a, b, 0), FixedPoint.saturatingRoundingDoublingHighMul(a, b));
        }
    }

    @Test
    void minTimesMinSaturates() {
        assertEquals(Integer.MAX_VALUE, FixedPoint.saturatingRoundingDoublingHighMul(Integer.MIN_VALUE, Integer.MIN_VALUE));
    }

    @Test
    void roundingShiftBreaksTiesAwayFromZero() {
        assertEquals(1, FixedPoint.roundingDivideByPowerOfTwo(1, 1));   // 0.5 -> 1
        assertEquals(-1, FixedPoint.roundingDivideByPowerOfTwo(-1, 1)); // -0.5 -> -1
        assertEquals(3, FixedPoint.roundingDivideByPowerOfTwo(5, 1));   // 2.5 -> 3
        assertEquals(-3, FixedPoint.roundingDivideByPowerOfTwo(-5, 1)); // -2.5 -> -3
        assertEquals(1, FixedPoint.roundingDivideByPowerOfTwo(5, 2));   // 1.25 -> 1
    }

    @Test
    void roundingShiftExhaustiveOverSmallValuesAndAllExponents() {
        for (int e = 0; e <= 31; e++) {
            for (int x = -70_000; x <= 70_000; x += 7) {
                assertEquals(LongReference.roundHalfAway(x, e), FixedPoint.roundingDivideByPowerOfTwo(x, e), x + " >> " + e);
            }
            for (int x : EDGES) {
                assertEquals(LongReference.roundHalfAway(x, e), FixedPoint.roundingDivideByPowerOfTwo(x, e), x + " >> " + e);
            }
        }
    }

    @Test
    void multiplyByQuantizedMultiplierMatchesReference() {
        SplittableRandom r = new SplittableRandom(2);
        for (int i = 0; i < 300_000; i++) {
            int m = (1 << 30) + r.nextInt(1 << 30); // normalized mantissa in [2^30, 2^31)
            int shift = r.nextInt(-31, 8);
            int x = shift > 0 ? r.nextInt(-(1 << (30 - shift)), 1 << (30 - shift)) : r.nextInt();
            assertEquals(LongReference.multiplyByQuantizedMultiplier(x, m, shift), FixedPoint.multiplyByQuantizedMultiplier(x, m, shift),
                    x + " * " + m + " * 2^" + shift);
        }
        // the largest mantissa, large right shifts, int8 x exhaustive
        for (int x = -65536; x <= 65536; x++) {
            for (int shift : new int[] {-31, -20, -1, 0, 1}) {
                assertEquals(LongReference.multiplyByQuantizedMultiplier(x, Integer.MAX_VALUE, shift),
                        FixedPoint.multiplyByQuantizedMultiplier(x, Integer.MAX_VALUE, shift));
            }
        }
    }
}
