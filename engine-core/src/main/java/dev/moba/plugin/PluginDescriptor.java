package dev.moba.plugin;

import com.typesafe.config.Config;
import com.typesafe.config.ConfigException;
import com.typesafe.config.ConfigFactory;
import java.nio.file.Files;
import java.nio.file.Path;

/**
 * What a plugin says about itself in {@code plugin.conf} (HOCON) at the top of its folder:
 * <pre>
 * id = onednn
 * version = "0.1.0"
 * spi-version = 1
 * </pre>
 *
 * @param id         the backend id it provides, as users name it in {@code moba.backend}
 * @param version    the plugin's own version, for logs
 * @param spiVersion the {@link dev.moba.spi.BackendProvider#SPI_VERSION} it was built against
 */
public record PluginDescriptor(String id, String version, int spiVersion) {

    /** The descriptor's file name inside a plugin folder. */
    public static final String FILE = "plugin.conf";

    /**
     * Reads the descriptor of the plugin in {@code folder}.
     *
     * @throws PluginException naming the file when it is missing, unreadable or lacks a key
     */
    public static PluginDescriptor read(Path folder) {
        Path file = folder.resolve(FILE);
        if (!Files.isRegularFile(file)) {
            throw new PluginException(folder, "has no " + FILE + " descriptor");
        }
        try {
            Config config = ConfigFactory.parseFile(file.toFile());
            return new PluginDescriptor(config.getString("id"), config.getString("version"),
                    config.getInt("spi-version"));
        } catch (ConfigException e) {
            throw new PluginException(folder, FILE + " is not usable: " + e.getMessage());
        }
    }
}
