package dev.moba.backend.cpu;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.moba.backend.Backends;
import dev.moba.spi.BackendOptions;
import dev.moba.spi.BackendProvider;
import java.util.Map;
import org.junit.jupiter.api.Test;

class OneDnnBackendProviderTest {

    @Test
    void isFoundOnTheClassPathAndChosenByAuto() {
        assertThat(Backends.providers()).extracting(BackendProvider::id).containsExactly("onednn", "java");
        BackendProvider chosen = Backends.choose("auto", Backends.providers());
        assertThat(chosen.id()).isEqualTo("onednn");
        assertThat(chosen.availability().reason()).startsWith("oneDNN 3.11");
    }

    @Test
    void describesHowEachStorageTypeRuns() {
        assertThat(OneDnnBackends.INLINE.describe())
                .contains("1 worker(s) x 1 OpenMP thread(s)")
                .contains(OneDnnBackends.INLINE.bf16Kernels() ? "bf16 on bf16 kernels" : "bf16 widened to fp32");
    }

    @Test
    void aBadThreadSettingIsRefusedNamingIt() {
        var provider = new OneDnnBackendProvider();
        assertThatThrownBy(() -> provider.create(new BackendOptions(1, Map.of("native-threads", "many"))))
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("native-threads")
                .hasMessageContaining("'many'");
        assertThatThrownBy(() -> provider.create(new BackendOptions(1, Map.of("native-threads", "0"))))
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining(">= 1");
    }
}
