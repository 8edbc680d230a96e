package dev.moba.plugin;

import dev.moba.spi.BackendProvider;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.jar.JarEntry;
import java.util.jar.JarOutputStream;

/** Builds plugin folders for tests: a descriptor and a jar of test classes, optionally registering a provider. */
final class PluginFolders {

    private PluginFolders() {}

    /** Writes {@code root/id/plugin.conf}. */
    static Path descriptor(Path root, String id, int spiVersion) throws IOException {
        Path folder = Files.createDirectories(root.resolve(id));
        Files.writeString(folder.resolve(PluginDescriptor.FILE),
                "id = " + id + "\nversion = \"1.0\"\nspi-version = " + spiVersion + "\n");
        return folder;
    }

    /**
     * Writes a plugin folder {@code root/id} with a jar holding {@code classes} (read from the test class path)
     * and, when {@code provider} is not null, a service entry registering it.
     */
    static Path plugin(Path root, String id, Class<?> provider, Class<?>... classes) throws IOException {
        Path folder = descriptor(root, id, BackendProvider.SPI_VERSION);
        try (OutputStream file = Files.newOutputStream(folder.resolve(id + ".jar"));
             JarOutputStream jar = new JarOutputStream(file)) {
            if (provider != null) {
                jar.putNextEntry(new JarEntry("META-INF/services/" + BackendProvider.class.getName()));
                jar.write((provider.getName() + "\n").getBytes(StandardCharsets.UTF_8));
                jar.closeEntry();
                add(jar, provider);
            }
            for (Class<?> c : classes) {
                add(jar, c);
            }
        }
        return folder;
    }

    private static void add(JarOutputStream jar, Class<?> c) throws IOException {
        String name = c.getName().replace('.', '/') + ".class";
        jar.putNextEntry(new JarEntry(name));
        try (InputStream in = PluginFolders.class.getClassLoader().getResourceAsStream(name)) {
            if (in == null) {
                throw new UncheckedIOException(new IOException("no class file " + name + " on the test class path"));
            }
            in.transferTo(jar);
        }
        jar.closeEntry();
    }
}
