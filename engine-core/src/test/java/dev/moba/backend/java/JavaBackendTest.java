package dev.moba.backend.java;

import static org.assertj.core.api.Assertions.assertThat;

import dev.moba.kv.HostKvCache;
import dev.moba.kv.HostLayout;
import dev.moba.spi.BackendOptions;
import dev.moba.spi.KvSpec;
import dev.moba.tensor.DType;
import org.junit.jupiter.api.Test;

class JavaBackendTest {

    private static int panelOf(JavaBackend backend, KvSpec spec) {
        try (HostKvCache cache = (HostKvCache) backend.openCache(spec)) {
            return cache.panel();
        }
    }

    @Test
    void keepsFp32BlocksInTheKernelsPanelsWhereTheyFitAndOthersRowMajor() {
        try (JavaBackend backend = new JavaBackend(new BackendOptions(1))) {
            // Panels narrower than a padded host row (128-bit vectors) are never used.
            int expected = MatMul.PANEL % HostLayout.COLUMN_MULTIPLE == 0 ? MatMul.PANEL : 0;
            assertThat(panelOf(backend, new KvSpec(2, 128, 512, DType.FP32))).isEqualTo(expected);
            assertThat(panelOf(backend, new KvSpec(2, 128, 512, DType.BF16))).isZero();
            assertThat(panelOf(backend, new KvSpec(2, 128, 512, DType.FP16))).isZero();
            // A block of 8 keys would be padded to a whole panel of 16 or more: row-major.
            assertThat(panelOf(backend, new KvSpec(2, 128, 8, DType.FP32))).isZero();
            assertThat(panelOf(backend, new KvSpec(2, 8, 512, DType.FP32))).isZero();
        }
    }
}
