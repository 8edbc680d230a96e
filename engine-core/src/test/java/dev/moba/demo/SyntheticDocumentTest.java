package dev.moba.demo;

import static org.assertj.core.api.Assertions.assertThat;

import dev.moba.config.HeadLayout;
import dev.moba.tensor.DType;
import java.util.Arrays;
import java.util.stream.IntStream;
import org.junit.jupiter.api.Test;

class SyntheticDocumentTest {

    private static DemoSpec spec(long seed) {
        return new DemoSpec(3000, 10, 2, new HeadLayout(4, 2, 16), 64, 3, 500, DType.FP32, seed);
    }

    @Test
    void theSameSeedGivesTheSameDocumentAndAnotherSeedAnother() {
        var a = new SyntheticDocument(spec(5));
        var b = new SyntheticDocument(spec(5));
        var c = new SyntheticDocument(spec(6));
        for (SyntheticDocument.Part part : SyntheticDocument.Part.values()) {
            assertThat(values(b, part, 1, 0, 3010)).isEqualTo(values(a, part, 1, 0, 3010));
            assertThat(values(c, part, 1, 0, 3010)).isNotEqualTo(values(a, part, 1, 0, 3010));
        }
        assertThat(IntStream.range(0, 3010).map(a::topic).toArray())
                .isEqualTo(IntStream.range(0, 3010).map(b::topic).toArray());
    }

    @Test
    void anyRangeIsTheSameAsPartOfALongerOne() {
        var document = new SyntheticDocument(spec(1));
        float[] whole = values(document, SyntheticDocument.Part.QUERY, 0, 0, 1000);
        float[] part = values(document, SyntheticDocument.Part.QUERY, 0, 700, 13);
        int row = 4 * 16;
        assertThat(part).isEqualTo(Arrays.copyOfRange(whole, 700 * row, 713 * row));
        assertThat(values(document, SyntheticDocument.Part.KEY, 0, 0, 10))
                .isNotEqualTo(values(document, SyntheticDocument.Part.KEY, 1, 0, 10));
    }

    @Test
    void topicsRecurAndTheFirstAreTheMostFrequent() {
        var document = new SyntheticDocument(spec(3));
        int[] counts = new int[SyntheticDocument.TOPICS];
        for (int p = 0; p < 3010; p++) {
            counts[document.topic(p)]++;
        }
        assertThat(counts[0]).isGreaterThan(counts[SyntheticDocument.TOPICS - 1]);
        assertThat(IntStream.range(0, 47).map(document::mainTopic).distinct().count()).isGreaterThan(2);
    }

    @Test
    void valuesAreRoundedToTheStorageType() {
        var document = new SyntheticDocument(spec(1));
        float[] bf16 = new float[10 * 2 * 16];
        document.fill(SyntheticDocument.Part.KEY, 0, 0, 10, DType.BF16, bf16);
        for (float value : bf16) {
            assertThat(DType.BF16.round(value)).isEqualTo(value);
        }
    }

    private static float[] values(SyntheticDocument document, SyntheticDocument.Part part, int layer, int from,
                                  int count) {
        float[] out = new float[count * document.heads(part) * 16];
        document.fill(part, layer, from, count, DType.FP32, out);
        return out;
    }
}
