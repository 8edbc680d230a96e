package dev.moba.backend;

import com.typesafe.config.Config;
import com.typesafe.config.ConfigValue;
import dev.moba.spi.Availability;
import dev.moba.spi.Backend;
import dev.moba.spi.BackendOptions;
import dev.moba.spi.BackendProvider;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.ServiceConfigurationError;
import java.util.ServiceLoader;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Finds backends with {@link ServiceLoader} and chooses one by name. {@code auto} takes the available provider
 * with the highest priority and logs why each one above it was passed over; any other name must be available or
 * the call fails saying why.
 *
 * <p>{@link #open(Config)} is the entry point from configuration: it reads {@code moba.backend},
 * {@code moba.threads}, {@code moba.plugins.path} and the chosen backend's section {@code moba.backends.<id>}, and
 * looks in the plugin folder as well as on the class path ({@link BackendRegistry}).
 */
public final class Backends {

    /** The name that picks the best available backend. */
    public static final String AUTO = "auto";

    private static final Logger LOG = LoggerFactory.getLogger(Backends.class);

    private Backends() {}

    /** Providers visible to {@code loader}, highest priority first; broken or mismatched ones are logged and left out. */
    public static List<BackendProvider> providers(ClassLoader loader) {
        List<BackendProvider> found = new ArrayList<>();
        var iterator = ServiceLoader.load(BackendProvider.class, loader).iterator();
        while (true) {
            try {
                if (!iterator.hasNext()) {
                    break;
                }
                BackendProvider provider = iterator.next();
                if (provider.spiVersion() != BackendProvider.SPI_VERSION) {
                    LOG.warn("backend '{}' ({}) was built for SPI version {}, this engine speaks {}; ignored",
                            provider.id(), provider.getClass().getName(), provider.spiVersion(),
                            BackendProvider.SPI_VERSION);
                    continue;
                }
                found.add(provider);
            } catch (ServiceConfigurationError e) {
                LOG.warn("a backend provider could not be loaded: {}", e.getMessage());
            }
        }
        found.sort(Comparator.comparingInt(BackendProvider::priority).reversed());
        return List.copyOf(found);
    }

    /** Providers on this class's own class path. */
    public static List<BackendProvider> providers() {
        return providers(Backends.class.getClassLoader());
    }

    /**
     * The provider called {@code name}, or the best available one for {@code auto}.
     *
     * @throws IllegalArgumentException when no provider has that name, or it cannot run here
     */
    public static BackendProvider choose(String name, List<BackendProvider> providers) {
        return select(name, providers).provider();
    }

    /**
     * {@link #choose(String, List)}, with the reason: the chosen provider's availability and, for {@code auto}, why
     * each better provider was passed over (both are logged as well).
     */
    public static BackendChoice select(String name, List<BackendProvider> providers) {
        String wanted = name.trim().toLowerCase(Locale.ROOT);
        if (wanted.equals(AUTO)) {
            List<BackendChoice.PassedOver> passedOver = new ArrayList<>();
            for (BackendProvider provider : providers) {
                Availability availability = safeAvailability(provider);
                if (availability.available()) {
                    LOG.info("backend '{}' chosen: {}", provider.id(), availability.reason());
                    return new BackendChoice(provider, true, availability.reason(), passedOver);
                }
                LOG.info("backend '{}' passed over: {}", provider.id(), availability.reason());
                passedOver.add(new BackendChoice.PassedOver(provider.id(), availability.reason()));
            }
            throw new IllegalStateException("no backend can run here (found: " + ids(providers) + ")");
        }
        for (BackendProvider provider : providers) {
            if (provider.id().equals(wanted)) {
                Availability availability = safeAvailability(provider);
                if (!availability.available()) {
                    throw new IllegalArgumentException("backend '" + wanted + "' cannot run here: "
                            + availability.reason());
                }
                return new BackendChoice(provider, false, availability.reason(), List.of());
            }
        }
        throw new IllegalArgumentException("no backend named '" + name + "'; known: " + ids(providers) + ", auto");
    }

    /**
     * Creates the backend configured under {@code moba} in {@code config}: {@code backend} (a name or
     * {@code auto}), {@code threads} (0 for one per processor), {@code plugins.path}, and {@code backends.<id>}
     * passed to the chosen backend as its settings.
     *
     * @throws IllegalArgumentException for a bad setting or a backend that is unknown or cannot run, naming it
     */
    public static Backend open(Config config) {
        return create(select(config), config);
    }

    /**
     * The provider {@code moba.backend} names in {@code config} (or the best for {@code auto}), found on the class
     * path and in the plugin folder {@code moba.plugins.path}, with why it was chosen; {@link #create} makes the
     * backend. Loading the plugin folder costs a class loader per plugin.
     *
     * @throws IllegalArgumentException for a backend that is unknown or cannot run, naming it
     */
    public static BackendChoice select(Config config) {
        Config moba = config.getConfig("moba");
        return BackendRegistry.load(Path.of(moba.getString("plugins.path"))).select(moba.getString("backend"));
    }

    /** Creates the backend of {@code choice} with the options {@code config}'s {@code moba} section gives it. */
    public static Backend create(BackendChoice choice, Config config) {
        return choice.provider().create(options(config.getConfig("moba"), choice.provider().id()));
    }

    /** Backend options from the {@code moba} section of the configuration, for the backend {@code id}. */
    public static BackendOptions options(Config moba, String id) {
        int threads = moba.getInt("threads");
        if (threads < 0) {
            throw new IllegalArgumentException("moba.threads must be 0 (one per processor) or more, got " + threads);
        }
        Map<String, String> settings = new LinkedHashMap<>();
        String section = "backends." + id;
        if (moba.hasPath(section)) {
            for (Map.Entry<String, ConfigValue> e : moba.getConfig(section).entrySet()) {
                settings.put(e.getKey(), String.valueOf(e.getValue().unwrapped()));
            }
        }
        return new BackendOptions(threads == 0 ? Runtime.getRuntime().availableProcessors() : threads, settings);
    }

    /** Creates the backend {@code name} ({@code auto} for the best available) from this class path. */
    public static Backend open(String name, BackendOptions options) {
        return choose(name, providers()).create(options);
    }

    private static Availability safeAvailability(BackendProvider provider) {
        try {
            return provider.availability();
        } catch (RuntimeException | LinkageError e) {
            return Availability.unavailable("availability check failed: " + e);
        }
    }

    private static String ids(List<BackendProvider> providers) {
        return providers.stream().map(BackendProvider::id).toList().toString();
    }
}
