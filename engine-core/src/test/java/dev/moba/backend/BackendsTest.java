package dev.moba.backend;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.moba.spi.Availability;
import dev.moba.spi.Backend;
import dev.moba.spi.BackendOptions;
import dev.moba.spi.BackendProvider;
import java.io.IOException;
import java.net.URL;
import java.net.URLClassLoader;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class BackendsTest {

    @Test
    void onlyTheJavaBackendIsOnTheCoreClassPath() {
        assertThat(Backends.providers()).extracting(BackendProvider::id).containsExactly("java");
    }

    @Test
    void javaIsChosenByNameAndByAuto() {
        assertThat(Backends.choose("java", Backends.providers()).id()).isEqualTo("java");
        assertThat(Backends.choose(" Java ", Backends.providers()).id()).isEqualTo("java");
        assertThat(Backends.choose("auto", Backends.providers()).id()).isEqualTo("java");
        try (Backend backend = Backends.open("auto", new BackendOptions(1))) {
            assertThat(backend.id()).isEqualTo("java");
        }
    }

    @Test
    void theChoiceSaysWhyAndWhatAutoPassedOver() {
        List<BackendProvider> providers = List.of(
                new Fake("gpu", 100, Availability.unavailable("no device")),
                new Fake("cpu", 50, Availability.available("kernels for avx2")));
        BackendChoice auto = Backends.select("auto", providers);
        assertThat(auto.provider().id()).isEqualTo("cpu");
        assertThat(auto.how()).isEqualTo("auto: kernels for avx2");
        assertThat(auto.passedOver()).containsExactly(new BackendChoice.PassedOver("gpu", "no device"));
        BackendChoice named = Backends.select("cpu", providers);
        assertThat(named.how()).isEqualTo("named: kernels for avx2");
        assertThat(named.passedOver()).isEmpty();
        assertThat(Backends.select("auto", providers.subList(1, 2)).passedOver()).isEmpty();
    }

    @Test
    void anUnknownNameIsRefusedNamingIt() {
        assertThatThrownBy(() -> Backends.choose("cuda", Backends.providers()))
                .isInstanceOf(IllegalArgumentException.class)
                .hasMessage("no backend named 'cuda'; known: [java], auto");
        assertThatThrownBy(() -> Backends.open("nope", new BackendOptions(1)))
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("'nope'");
    }

    @Test
    void autoTakesTheBestAvailableProvider() {
        List<BackendProvider> providers = List.of(
                new Fake("gpu", 100, Availability.unavailable("no device")),
                new Fake("broken", 90, null),
                new Fake("cpu", 50, Availability.available("ok")),
                new Fake("slow", 0, Availability.available("ok")));
        assertThat(Backends.choose("auto", providers).id()).isEqualTo("cpu");
        assertThat(Backends.choose("slow", providers).id()).isEqualTo("slow");
        assertThatThrownBy(() -> Backends.choose("gpu", providers)).isInstanceOf(IllegalArgumentException.class)
                .hasMessage("backend 'gpu' cannot run here: no device");
        assertThatThrownBy(() -> Backends.choose("broken", providers)).isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining("availability check failed");
        assertThatThrownBy(() -> Backends.choose("auto", providers.subList(0, 2)))
                .isInstanceOf(IllegalStateException.class).hasMessageContaining("[gpu, broken]");
    }

    @Test
    void providersOfAnotherSpiVersionOrThatFailToLoadAreLeftOut(@TempDir Path dir) throws IOException {
        Path services = Files.createDirectories(dir.resolve("META-INF/services"));
        Files.writeString(services.resolve(BackendProvider.class.getName()), String.join("\n",
                OldSpi.class.getName(), CurrentSpi.class.getName(), "dev.moba.NoSuchProvider", ""));
        try (URLClassLoader loader = new URLClassLoader(new URL[] {dir.toUri().toURL()},
                BackendsTest.class.getClassLoader())) {
            // Sorted by priority: current (10) before java (0); the old one is ignored, the missing one skipped.
            assertThat(Backends.providers(loader)).extracting(BackendProvider::id).containsExactly("current", "java");
        }
    }

    /** A provider for selection tests; a null availability makes the check throw. */
    private record Fake(String id, int priority, Availability state) implements BackendProvider {
        @Override
        public Availability availability() {
            if (state == null) throw new IllegalStateException("probe crashed");
            return state;
        }

        @Override
        public Backend create(BackendOptions options) {
            throw new UnsupportedOperationException();
        }
    }

    /** Registered through a service file in a temporary folder. */
    public static final class CurrentSpi implements BackendProvider {
        @Override public String id() { return "current"; }
        @Override public int priority() { return 10; }
        @Override public Availability availability() { return Availability.available("test"); }
        @Override public Backend create(BackendOptions options) { throw new UnsupportedOperationException(); }
    }

    /** Built against a future SPI version. */
    public static final class OldSpi implements BackendProvider {
        @Override public String id() { return "old"; }
        @Override public int priority() { return 20; }
        @Override public Availability availability() { return Availability.available("test"); }
        @Override public Backend create(BackendOptions options) { throw new UnsupportedOperationException(); }
        @Override public int spiVersion() { return SPI_VERSION + 1; }
    }
}
