package dev.moba.backend.cpu;

import static org.assertj.core.api.Assertions.assertThat;

import dev.moba.tensor.DType;
import java.util.SplittableRandom;
import jdk.incubator.vector.FloatVector;
import org.junit.jupiter.api.Test;

class TileAttentionTest {

    @Test
    void bf16ConversionRoundsToNearestEvenLikeTheStorageType() {
        SplittableRandom random = new SplittableRandom(7);
        int lanes = FloatVector.SPECIES_PREFERRED.length();
        float[] values = new float[lanes * 512];
        for (int i = 0; i < values.length; i++) {
            values[i] = switch (i % 4) {
                case 0 -> (float) random.nextGaussian();
                case 1 -> (float) Math.exp(-random.nextDouble(0, 80));
                // exact halfway cases, both parities of the kept bit
                case 2 -> Float.intBitsToFloat(0x3F808000 + (random.nextInt(0, 1 << 7) << 16));
                default -> 0f;
            };
        }
        for (int start = 0; start < values.length; start += lanes) {
            short[] bits = TileAttention.toBf16(FloatVector.fromArray(FloatVector.SPECIES_PREFERRED, values, start))
                    .toArray();
            for (int i = 0; i < lanes; i++) {
                float widened = Float.intBitsToFloat((bits[i] & 0xFFFF) << 16);
                assertThat(widened).as("bf16 of %s", values[start + i]).isEqualTo(DType.BF16.round(values[start + i]));
            }
        }
    }
}
