package dev.moba.plugin;

import dev.moba.spi.BackendProvider;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.URL;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.ServiceConfigurationError;
import java.util.ServiceLoader;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ConcurrentMap;
import java.util.jar.JarFile;
import java.util.stream.Stream;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Loads the plugins of a plugin folder ({@code moba.plugins.path}): every sub-folder holding a {@code plugin.conf}
 * and jars becomes a {@link Plugin} with its own {@link PluginClassLoader}; every folder that cannot be used becomes
 * a {@link PluginException} naming it, and the others load regardless.
 *
 * <p>Plugins are loaded once per folder and kept for the life of the process: a JNI library can be bound to one
 * class loader only, so a second loader over the same jars could never load its natives. That is the one piece of
 * process-wide state here.
 */
public final class PluginFolder {

    private static final Logger LOG = LoggerFactory.getLogger(PluginFolder.class);

    private static final ConcurrentMap<Path, Plugin> LOADED = new ConcurrentHashMap<>();

    /**
     * What scanning a plugin folder found.
     *
     * @param plugins  plugins that loaded, in folder-name order
     * @param problems folders that could not be used, each naming itself and the problem
     */
    public record Scan(List<Plugin> plugins, List<PluginException> problems) {
        public Scan {
            plugins = List.copyOf(plugins);
            problems = List.copyOf(problems);
        }
    }

    private PluginFolder() {}

    /** Loads (or returns the already loaded) plugins under {@code path}; never throws for a bad plugin. */
    public static Scan scan(Path path) {
        Path root = path.toAbsolutePath().normalize();
        if (!Files.isDirectory(root)) {
            return new Scan(List.of(), List.of(new PluginException(root, "does not exist")));
        }
        List<Path> folders;
        try (Stream<Path> children = Files.list(root)) {
            folders = children.filter(Files::isDirectory).sorted().toList();
        } catch (IOException e) {
            return new Scan(List.of(), List.of(new PluginException(root, "cannot be listed: " + e, e)));
        }
        if (folders.isEmpty()) {
            return new Scan(List.of(), List.of(new PluginException(root, "holds no plugin (no sub-folder)")));
        }
        List<Plugin> plugins = new ArrayList<>();
        List<PluginException> problems = new ArrayList<>();
        for (Path folder : folders) {
            try {
                plugins.add(LOADED.computeIfAbsent(folder, PluginFolder::load));
            } catch (PluginException e) {
                problems.add(e);
            }
        }
        return new Scan(plugins, problems);
    }

    /** Loads one plugin folder. */
    static Plugin load(Path folder) {
        PluginDescriptor descriptor = PluginDescriptor.read(folder);
        if (descriptor.spiVersion() != BackendProvider.SPI_VERSION) {
            throw new PluginException(folder, "holds plugin '" + descriptor.id() + "' built for SPI version "
                    + descriptor.spiVersion() + ", but this engine speaks SPI version " + BackendProvider.SPI_VERSION);
        }
        List<Path> jars = jars(folder);
        URL[] urls = new URL[jars.size()];
        for (int i = 0; i < urls.length; i++) {
            Path jar = jars.get(i);
            try (JarFile ignored = new JarFile(jar.toFile())) {
                urls[i] = jar.toUri().toURL();
            } catch (IOException e) {
                throw new PluginException(folder, "holds a jar that cannot be read, " + jar.getFileName() + ": " + e,
                        e);
            }
            LOG.info("plugin '{}' {}: loading {}", descriptor.id(), descriptor.version(), jar);
        }
        var loader = new PluginClassLoader("plugin-" + descriptor.id(), urls, PluginFolder.class.getClassLoader());
        List<BackendProvider> providers = providers(folder, loader);
        return new Plugin(folder, descriptor, loader, providers);
    }

    private static List<Path> jars(Path folder) {
        List<Path> jars;
        try (Stream<Path> files = Files.walk(folder)) {
            jars = files.filter(p -> p.getFileName().toString().endsWith(".jar") && Files.isRegularFile(p))
                    .sorted().toList();
        } catch (IOException | UncheckedIOException e) {
            throw new PluginException(folder, "cannot be listed: " + e, e);
        }
        if (jars.isEmpty()) {
            throw new PluginException(folder, "holds no jar");
        }
        return jars;
    }

    /** The providers the plugin's own jars register (not those the JDK might see). */
    private static List<BackendProvider> providers(Path folder, PluginClassLoader loader) {
        List<BackendProvider> found = new ArrayList<>();
        try {
            for (BackendProvider provider : ServiceLoader.load(BackendProvider.class, loader)) {
                if (provider.getClass().getClassLoader() != loader) {
                    continue;
                }
                if (provider.spiVersion() != BackendProvider.SPI_VERSION) {
                    throw new PluginException(folder, "holds backend '" + provider.id() + "' built for SPI version "
                            + provider.spiVersion() + ", but this engine speaks SPI version "
                            + BackendProvider.SPI_VERSION);
                }
                found.add(provider);
            }
        } catch (ServiceConfigurationError e) {
            throw new PluginException(folder, "has a backend provider that cannot be loaded: " + e.getMessage(), e);
        }
        if (found.isEmpty()) {
            throw new PluginException(folder, "registers no " + BackendProvider.class.getName()
                    + " (META-INF/services) in its jars");
        }
        return found;
    }
}
