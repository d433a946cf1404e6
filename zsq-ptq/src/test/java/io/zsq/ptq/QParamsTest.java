package io.zsq.ptq;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.zsq.core.quant.ChannelQParams;
import io.zsq.core.quant.Dyadic;
import io.zsq.core.quant.QParams;
import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;

class QParamsTest {
    @Test
    void asymmetricRangeMapsEndsToQminQmax() {
        for (int bits : new int[] {4, 8}) {
            QParams q = QParams.fromRange(-1.0, 3.0, bits, false);
            assertEquals(-(1 << (bits - 1)), q.quantize(-1f));
            assertEquals((1 << (bits - 1)) - 1, q.quantize(3f));
            assertEquals(0f, q.fakeQuantize(0f), 0f, "zero is exactly representable");
            assertEquals(4.0 / ((1 << bits) - 1), q.scale(), 1e-7);
        }
        QParams relu = QParams.fromRange(0, 6, 8, false);
        assertEquals(-128, relu.zeroPoint());
    }

    @Test
    void symmetricPerChannelUsesRestrictedRange() {
        float[] w = {0.5f, -1f, 0.25f, /* channel 1 */ 2f, 0f, -0.5f};
        ChannelQParams q = ChannelQParams.ofWeights(w, 2, 8);
        byte[] qw = q.quantize(w);
        assertEquals(-127, qw[1]);
        assertEquals(127, qw[3]);
        assertEquals(1f / 127, q.scales()[0], 1e-9);
    }

    @Test
    void invalidParametersAreRejected() {
        assertThrows(IllegalArgumentException.class, () -> new QParams(0f, 0, -128, 127));
        assertThrows(IllegalArgumentException.class, () -> new QParams(1f, 200, -128, 127));
        assertThrows(IllegalArgumentException.class, () -> QParams.fromRange(0, 1, 9, false));
    }

    @Test
    void dyadicMultipliersAreWithinHalfAnUlpOfQ31() {
        SplittableRandom r = new SplittableRandom(1);
        for (int i = 0; i < 100_000; i++) {
            double m = Math.pow(2, -30 + 35 * r.nextDouble());
            Dyadic d = Dyadic.of(m);
            assertTrue(d.multiplier() >= (1 << 30), "normalized mantissa");
            assertEquals(m, d.value(), m * Math.pow(2, -31));
        }
        Dyadic up = Dyadic.of(1.0 - 1e-12); // rounds to 2^31: must carry into the exponent
        assertEquals(1 << 30, up.multiplier());
        assertEquals(1, up.shift());
    }

    @Test
    void granularityAndRangeOfWeights() {
        // 4 output channels of 2 weights each, max |w| per channel 1, 2, 4, 8
        float[] w = {1f, -0.5f, 2f, 1f, -4f, 0f, 8f, -8f};
        assertArrayEquals(new float[] {1 / 127f, 2 / 127f, 4 / 127f, 8 / 127f}, ChannelQParams.ofWeights(w, 4, 8, 1, false).scales(), 1e-9f);
        assertArrayEquals(new float[] {2 / 127f, 2 / 127f, 8 / 127f, 8 / 127f}, ChannelQParams.ofWeights(w, 4, 8, 2, false).scales(), 1e-9f);
        assertArrayEquals(new float[] {8 / 127f, 8 / 127f, 8 / 127f, 8 / 127f}, ChannelQParams.ofWeights(w, 4, 8, 4, false).scales(), 1e-9f);
        ChannelQParams full = ChannelQParams.ofWeights(w, 4, 4, 4, true);
        assertEquals(-8, full.qmin());
        assertEquals(7, full.qmax());
        byte[] q = full.quantize(w);
        assertEquals(-8, q[7], "-max maps to qmin in full range");
        assertEquals(7, q[6], "+max saturates at qmax");
        assertEquals(-7, ChannelQParams.ofWeights(w, 4, 4, 4, false).quantize(w)[7], "restricted range stops at -qmax");
    }
}
