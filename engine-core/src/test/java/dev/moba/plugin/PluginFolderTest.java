package dev.moba.plugin;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.moba.backend.BackendRegistry;
import dev.moba.spi.BackendProvider;
import fixtures.alpha.AlphaProvider;
import fixtures.alpha.AlphaSecret;
import fixtures.beta.BetaProvider;
import fixtures.old.OldProvider;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class PluginFolderTest {

    @TempDir
    Path root;

    @Test
    void findsTheProvidersOfEveryPluginFolder() throws IOException {
        PluginFolders.plugin(root, "alpha", AlphaProvider.class, AlphaSecret.class);
        PluginFolders.plugin(root, "beta", BetaProvider.class);

        PluginFolder.Scan scan = PluginFolder.scan(root);

        assertThat(scan.problems()).isEmpty();
        assertThat(scan.plugins()).extracting(p -> p.descriptor().id()).containsExactly("alpha", "beta");
        for (Plugin plugin : scan.plugins()) {
            assertThat(plugin.providers()).singleElement().satisfies(provider ->
                    assertThat(provider.getClass().getClassLoader()).isSameAs(plugin.loader()));
        }
        BackendRegistry registry = BackendRegistry.load(root);
        assertThat(registry.providers()).extracting(BackendProvider::id).containsExactly("beta", "alpha", "java");
        assertThat(registry.choose("alpha").availability().reason()).isEqualTo("alpha needs nothing; "
                + AlphaSecret.WORD);
    }

    @Test
    void aPluginSeesTheEngineButNeitherAnotherPluginNorTheEngineClassPath() throws Exception {
        PluginFolders.plugin(root, "alpha", AlphaProvider.class, AlphaSecret.class);
        PluginFolders.plugin(root, "beta", BetaProvider.class);
        PluginFolder.Scan scan = PluginFolder.scan(root);
        ClassLoader alpha = scan.plugins().get(0).loader();
        ClassLoader beta = scan.plugins().get(1).loader();

        Class<?> secret = alpha.loadClass(AlphaSecret.class.getName());
        assertThat(secret.getClassLoader()).isSameAs(alpha);
        assertThat(secret).isNotSameAs(AlphaSecret.class);
        assertThatThrownBy(() -> beta.loadClass(AlphaSecret.class.getName()))
                .isInstanceOf(ClassNotFoundException.class);
        assertThatThrownBy(() -> beta.loadClass(PluginFolderTest.class.getName().replace("dev.moba.", "fixtures.")))
                .isInstanceOf(ClassNotFoundException.class);
        assertThatThrownBy(() -> beta.loadClass("org.junit.jupiter.api.Test"))
                .isInstanceOf(ClassNotFoundException.class);
        assertThat(beta.loadClass(BackendProvider.class.getName())).isSameAs(BackendProvider.class);
    }

    @Test
    void aPluginFolderIsLoadedOnceForTheProcess() throws IOException {
        PluginFolders.plugin(root, "alpha", AlphaProvider.class, AlphaSecret.class);
        assertThat(PluginFolder.scan(root).plugins().getFirst().loader())
                .isSameAs(PluginFolder.scan(root).plugins().getFirst().loader());
    }

    @Test
    void aMissingFolderIsNamed() {
        Path missing = root.resolve("nowhere");
        assertThat(PluginFolder.scan(missing).problems()).singleElement().satisfies(p -> {
            assertThat(p.folder()).isEqualTo(missing);
            assertThat(p).hasMessage("plugin folder " + missing + " does not exist");
        });
        BackendRegistry registry = BackendRegistry.load(missing);
        assertThatThrownBy(() -> registry.choose("onednn")).isInstanceOf(IllegalArgumentException.class)
                .hasMessage("no backend named 'onednn'; known: [java], auto; plugin folder " + missing
                        + " does not exist");
        assertThat(registry.choose("auto").id()).isEqualTo("java");
    }

    @Test
    void anEmptyFolderIsNamed() throws IOException {
        assertThat(PluginFolder.scan(root).problems()).singleElement()
                .satisfies(p -> assertThat(p).hasMessage("plugin folder " + root + " holds no plugin (no sub-folder)"));
        Path bare = Files.createDirectories(root.resolve("bare"));
        assertThat(PluginFolder.scan(root).problems()).singleElement()
                .satisfies(p -> assertThat(p).hasMessage("plugin folder " + bare + " has no plugin.conf descriptor"));
        PluginFolders.descriptor(root, "bare", BackendProvider.SPI_VERSION);
        assertThat(PluginFolder.scan(root).problems()).singleElement()
                .satisfies(p -> assertThat(p).hasMessage("plugin folder " + bare + " holds no jar"));
    }

    @Test
    void aCorruptJarIsNamed() throws IOException {
        Path folder = PluginFolders.descriptor(root, "broken", BackendProvider.SPI_VERSION);
        Files.writeString(folder.resolve("broken.jar"), "not a zip file");
        assertThat(PluginFolder.scan(root).problems()).singleElement().satisfies(p -> {
            assertThat(p.folder()).isEqualTo(folder);
            assertThat(p.getMessage()).startsWith("plugin folder " + folder
                    + " holds a jar that cannot be read, broken.jar: ");
        });
    }

    @Test
    void aFolderWithoutProviderIsNamed() throws IOException {
        Path folder = PluginFolders.plugin(root, "empty", null, AlphaSecret.class);
        assertThat(PluginFolder.scan(root).problems()).singleElement().satisfies(p -> assertThat(p)
                .hasMessage("plugin folder " + folder + " registers no dev.moba.spi.BackendProvider"
                        + " (META-INF/services) in its jars"));
    }

    @Test
    void anSpiVersionMismatchIsNamedWhetherDescriptorOrProviderSaysSo() throws IOException {
        Path future = PluginFolders.descriptor(root, "future", BackendProvider.SPI_VERSION + 1);
        Path old = PluginFolders.plugin(root, "old", OldProvider.class);
        assertThat(PluginFolder.scan(root).problems()).extracting(Throwable::getMessage).containsExactly(
                "plugin folder " + future + " holds plugin 'future' built for SPI version "
                        + (BackendProvider.SPI_VERSION + 1) + ", but this engine speaks SPI version "
                        + BackendProvider.SPI_VERSION,
                "plugin folder " + old + " holds backend 'old' built for SPI version "
                        + (BackendProvider.SPI_VERSION + 1) + ", but this engine speaks SPI version "
                        + BackendProvider.SPI_VERSION);
        assertThatThrownBy(() -> BackendRegistry.load(root).choose("old"))
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("plugin folder " + old);
    }

    @Test
    void autoWarnsAboutBadPluginsAndSkipsOnesThatCannotLoadTheirNatives() throws IOException {
        PluginFolders.plugin(root, "beta", BetaProvider.class);
        Path broken = PluginFolders.descriptor(root, "broken", BackendProvider.SPI_VERSION);
        Files.writeString(broken.resolve("broken.jar"), "not a zip file");
        BackendRegistry registry = BackendRegistry.load(root);

        String log = stderrOf(() -> assertThat(registry.choose("auto").id()).isEqualTo("java"));

        assertThat(log).contains("WARN").contains("plugin folder " + broken + " holds a jar that cannot be read");
        assertThat(log).contains("backend 'beta' passed over: its native library cannot load: ")
                .contains("moba-beta-native");
        assertThatThrownBy(() -> registry.choose("beta")).isInstanceOf(IllegalArgumentException.class)
                .hasMessageStartingWith("backend 'beta' cannot run here: its native library cannot load");
    }

    private static String stderrOf(Runnable action) {
        PrintStream saved = System.err;
        ByteArrayOutputStream captured = new ByteArrayOutputStream();
        System.setErr(new PrintStream(captured, true, StandardCharsets.UTF_8));
        try {
            action.run();
        } finally {
            System.setErr(saved);
        }
        return captured.toString(StandardCharsets.UTF_8);
    }
}
