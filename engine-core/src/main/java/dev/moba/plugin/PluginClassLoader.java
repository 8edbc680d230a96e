package dev.moba.plugin;

import java.net.URL;
import java.net.URLClassLoader;
import java.util.List;

/**
 * The class loader of one plugin. The engine's own classes ({@code dev.moba.} ones the engine has, and the SLF4J API
 * so that plugins log through the engine's logging) come from the engine; everything else comes from the JDK or from
 * the plugin's own jars, never from the engine's class path or another plugin. So two plugins may bundle different
 * versions of one library, and a JNI library binds to exactly one plugin.
 */
final class PluginClassLoader extends URLClassLoader {

    /** Package prefixes shared with the engine. */
    static final List<String> SHARED_PACKAGES = List.of("dev.moba.", "org.slf4j.");

    static {
        registerAsParallelCapable();
    }

    private final ClassLoader engine;

    PluginClassLoader(String name, URL[] jars, ClassLoader engine) {
        super(name, jars, ClassLoader.getPlatformClassLoader());
        this.engine = engine;
    }

    @Override
    protected Class<?> loadClass(String name, boolean resolve) throws ClassNotFoundException {
        for (String prefix : SHARED_PACKAGES) {
            if (name.startsWith(prefix)) {
                try {
                    return engine.loadClass(name);
                } catch (ClassNotFoundException notTheEngines) {
                    // A plugin's own class in the engine's namespace, such as its provider.
                    break;
                }
            }
        }
        return super.loadClass(name, resolve);
    }
}
