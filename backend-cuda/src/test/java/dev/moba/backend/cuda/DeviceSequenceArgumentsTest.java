package dev.moba.backend.cuda;

import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.moba.backend.java.JavaBackend;
import dev.moba.config.HeadLayout;
import dev.moba.config.MobaConfig;
import dev.moba.spi.BackendOptions;
import dev.moba.tensor.DType;
import java.util.List;
import org.junit.jupiter.api.Test;

/** The device path refuses, with a message naming the problem, what it cannot run; no GPU needed. */
class DeviceSequenceArgumentsTest {

    @Test
    void refusesABackendOtherThanCuda() {
        try (JavaBackend java = new JavaBackend(new BackendOptions(1))) {
            MobaConfig config = MobaConfig.of(512, 3).withDtype(DType.BF16);
            assertThatThrownBy(() -> new DeviceSequence(java, config, new HeadLayout(8, 2, 128), 4096))
                    .isInstanceOf(IllegalArgumentException.class)
                    .hasMessage("device sequences run on the CUDA backend, not on 'java'");
            assertThatThrownBy(() -> new DeviceDecode(java, List.of()))
                    .isInstanceOf(IllegalArgumentException.class)
                    .hasMessageContaining("CUDA backend");
        }
    }
}
