package dev.moba.backend;

import dev.moba.plugin.Plugin;
import dev.moba.plugin.PluginException;
import dev.moba.plugin.PluginFolder;
import dev.moba.spi.Backend;
import dev.moba.spi.BackendOptions;
import dev.moba.spi.BackendProvider;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.HashSet;
import java.util.List;
import java.util.Locale;
import java.util.Set;
import java.util.stream.Collectors;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Every backend this process can use: the providers on the engine's own class path (the Java backend at least) and
 * those of the plugin folder, with the plugin folders that could not be used.
 *
 * <p>{@code auto} logs each unusable plugin folder as a warning and picks the best available provider, logging why
 * each better one was passed over. A backend named explicitly must exist and be able to run; when it does not
 * exist, the error names the unusable plugin folders, one of which may be the one meant.
 */
public final class BackendRegistry {

    private static final Logger LOG = LoggerFactory.getLogger(BackendRegistry.class);

    private final List<BackendProvider> providers;
    private final List<PluginException> problems;

    private BackendRegistry(List<BackendProvider> providers, List<PluginException> problems) {
        this.providers = List.copyOf(providers);
        this.problems = List.copyOf(problems);
    }

    /** The class path's providers only. */
    public static BackendRegistry classPath() {
        return new BackendRegistry(Backends.providers(), List.of());
    }

    /** The class path's providers plus the plugins of the folder {@code pluginsPath}. */
    public static BackendRegistry load(Path pluginsPath) {
        PluginFolder.Scan scan = PluginFolder.scan(pluginsPath);
        List<BackendProvider> all = new ArrayList<>(Backends.providers());
        Set<String> ids = all.stream().map(BackendProvider::id).collect(Collectors.toCollection(HashSet::new));
        for (Plugin plugin : scan.plugins()) {
            for (BackendProvider provider : plugin.providers()) {
                if (!ids.add(provider.id())) {
                    LOG.warn("backend '{}' of plugin folder {} ignored: a backend with that id is already loaded",
                            provider.id(), plugin.folder());
                    continue;
                }
                all.add(provider);
            }
        }
        all.sort(Comparator.comparingInt(BackendProvider::priority).reversed());
        return new BackendRegistry(all, scan.problems());
    }

    /** Usable providers, highest priority first. */
    public List<BackendProvider> providers() {
        return providers;
    }

    /** Plugin folders that could not be used, each naming the folder and why. */
    public List<PluginException> problems() {
        return problems;
    }

    /**
     * The provider called {@code name}, or the best available one for {@code auto}.
     *
     * @throws IllegalArgumentException when no provider has that name (naming any unusable plugin folder), or it
     *                                  cannot run here (saying why)
     * @throws IllegalStateException    when {@code auto} finds nothing that can run
     */
    public BackendProvider choose(String name) {
        return select(name).provider();
    }

    /** {@link #choose(String)}, with why that provider was chosen ({@link Backends#select(String, List)}). */
    public BackendChoice select(String name) {
        String wanted = name.trim().toLowerCase(Locale.ROOT);
        if (wanted.equals(Backends.AUTO)) {
            problems.forEach(p -> LOG.warn("{}; it is passed over", p.getMessage()));
            return Backends.select(Backends.AUTO, providers);
        }
        if (providers.stream().noneMatch(p -> p.id().equals(wanted))) {
            String ids = providers.stream().map(BackendProvider::id).toList().toString();
            StringBuilder message = new StringBuilder("no backend named '").append(name).append("'; known: ")
                    .append(ids).append(", auto");
            problems.forEach(p -> message.append("; ").append(p.getMessage()));
            throw new IllegalArgumentException(message.toString());
        }
        return Backends.select(wanted, providers);
    }

    /** Creates the backend {@code name} ({@code auto} for the best available). */
    public Backend open(String name, BackendOptions options) {
        return choose(name).create(options);
    }
}
