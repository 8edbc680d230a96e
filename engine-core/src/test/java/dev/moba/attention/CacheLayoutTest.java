package dev.moba.attention;

import static org.assertj.core.api.Assertions.assertThat;

import dev.moba.config.AttentionMode;
import dev.moba.gating.GateRequest;
import dev.moba.gating.Selection;
import dev.moba.kv.HostKvCache;
import dev.moba.merge.Partials;
import dev.moba.plan.AttendPlan;
import dev.moba.spi.Backend;
import dev.moba.spi.KvCache;
import dev.moba.spi.KvSpec;
import dev.moba.tensor.DType;
import dev.moba.testing.Errors;
import dev.moba.testing.Qkv;
import dev.moba.testing.RandomTensors;
import dev.moba.testing.ReferenceMoba;
import dev.moba.testing.TestBackends;
import java.lang.foreign.Arena;
import java.util.List;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

/**
 * The Java backend keeps fp32 blocks in its kernel's panels and reads them where they lie; given row-major blocks
 * (as the oneDNN backend keeps them) it packs them per use. Both give the same outputs ({@link Engine#SAME}), in
 * prefill and in decode, for block sizes and head dims that are and are not multiples of a panel.
 */
class CacheLayoutTest {

    /** The Java backend over row-major caches. */
    private static final class RowMajorJava implements Backend {
        @Override
        public String id() {
            return "java-row-major";
        }

        @Override
        public KvCache openCache(KvSpec spec) {
            return new HostKvCache(spec);
        }

        @Override
        public List<Selection> gate(List<GateRequest> requests) {
            return TestBackends.INLINE.gate(requests);
        }

        @Override
        public List<Partials> attend(List<AttendPlan> plans, Arena arena) {
            return TestBackends.INLINE.attend(plans, arena);
        }

        @Override
        public void close() {}
    }

    @ParameterizedTest(name = "block {0}, dim {1}")
    @CsvSource({"64, 128", "48, 64", "100, 80", "16, 16", "130, 32"})
    void panelsAndRowMajorBlocksGiveTheSameOutputs(int block, int dim) {
        Qkv data = new RandomTensors(block + dim).qkv(5 * block + 7, 4, 2, dim);
        try (MobaAttention panels = Engine.layer(TestBackends.INLINE, data, block, 3, DType.FP32, AttentionMode.MOBA);
             MobaAttention rowMajor = Engine.layer(new RowMajorJava(), data, block, 3, DType.FP32,
                     AttentionMode.MOBA)) {
            for (int[] chunks : new int[][] {{data.tokens()}, {3 * block + 1, 1}, {1}}) {
                float[] expected = Engine.chunked(rowMajor, data, chunks);
                assertThat(Errors.maxAbs(Engine.chunked(panels, data, chunks), expected))
                        .isLessThanOrEqualTo(Engine.SAME);
            }
            float[] reference = ReferenceMoba.withDefaultScale(4, 2, dim, block, 3).run(data.q(), data.k(), data.v());
            assertThat(Errors.maxAbs(Engine.oneShot(panels, data), reference)).isLessThanOrEqualTo(1e-5);
        }
    }
}
