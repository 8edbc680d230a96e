package dev.moba.plugin;

import java.nio.file.Path;

/** A plugin folder that cannot be used; the message names the folder and the problem. */
public final class PluginException extends RuntimeException {

    private static final long serialVersionUID = 1L;

    private final transient Path folder;

    public PluginException(Path folder, String problem) {
        super("plugin folder " + folder + " " + problem);
        this.folder = folder;
    }

    public PluginException(Path folder, String problem, Throwable cause) {
        super("plugin folder " + folder + " " + problem, cause);
        this.folder = folder;
    }

    /** The folder at fault. */
    public Path folder() {
        return folder;
    }
}
