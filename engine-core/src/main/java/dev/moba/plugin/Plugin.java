package dev.moba.plugin;

import dev.moba.spi.BackendProvider;
import java.nio.file.Path;
import java.util.List;

/**
 * A loaded plugin: its folder, descriptor, class loader and the backend providers found in its jars.
 *
 * @param folder     the plugin's folder
 * @param descriptor what {@code plugin.conf} says
 * @param loader     the plugin's own class loader, kept for the life of the process
 * @param providers  the providers its jars register, at least one
 */
public record Plugin(Path folder, PluginDescriptor descriptor, ClassLoader loader, List<BackendProvider> providers) {

    public Plugin {
        providers = List.copyOf(providers);
    }
}
