package dev.moba.backend;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import com.typesafe.config.Config;
import com.typesafe.config.ConfigFactory;
import dev.moba.spi.Backend;
import dev.moba.spi.BackendOptions;
import java.nio.file.Path;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class BackendsConfigTest {

    @TempDir
    Path plugins;

    private Config config(String text) {
        return ConfigFactory.parseString(text)
                .withFallback(ConfigFactory.parseMap(Map.of("moba.plugins.path", plugins.toString())))
                .withFallback(ConfigFactory.defaultReference());
    }

    @Test
    void theDefaultsPickTheBestBackendWithOneWorkerPerProcessor() {
        try (Backend backend = Backends.open(config(""))) {
            assertThat(backend.id()).isEqualTo("java");
        }
        BackendOptions options = Backends.options(config("").getConfig("moba"), "onednn");
        assertThat(options.threads()).isEqualTo(Runtime.getRuntime().availableProcessors());
        assertThat(options.settings()).containsExactly(Map.entry("native-threads", "1"));
    }

    @Test
    void threadsAndTheChosenBackendsOwnSectionAreHandedOver() {
        Config moba = config("moba { threads = 3, backends.alpha { depth = 7, mode = fast } }").getConfig("moba");
        BackendOptions options = Backends.options(moba, "alpha");
        assertThat(options.threads()).isEqualTo(3);
        assertThat(options.settings()).containsOnly(Map.entry("depth", "7"), Map.entry("mode", "fast"));
        assertThat(Backends.options(moba, "java").settings()).isEmpty();
    }

    @Test
    void badSettingsAreNamed() {
        assertThatThrownBy(() -> Backends.open(config("moba.threads = -1")))
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("moba.threads");
        assertThatThrownBy(() -> Backends.open(config("moba.backend = cuda")))
                .isInstanceOf(IllegalArgumentException.class)
                .hasMessageStartingWith("no backend named 'cuda'; known: [java], auto; plugin folder " + plugins);
    }
}
