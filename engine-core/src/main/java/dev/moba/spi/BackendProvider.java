package dev.moba.spi;

/**
 * Entry point of a backend, registered in {@code META-INF/services/dev.moba.spi.BackendProvider}.
 * Implementations must have a public no-argument constructor and must not load native code before
 * {@link #availability()} or {@link #create} is called.
 */
public interface BackendProvider {

    /** Version of this interface; a provider built against another version is refused. */
    int SPI_VERSION = 1;

    /** The name users give in configuration, such as {@code java}. Lower case, no spaces. */
    String id();

    /** Preference when the backend is chosen automatically: the available provider with the highest wins. */
    int priority();

    /** Whether the backend can run here. Must not throw; may be slow the first time (it may load a library). */
    Availability availability();

    /** Creates a backend; the caller closes it. */
    Backend create(BackendOptions options);

    /** The SPI version this provider was built against. */
    default int spiVersion() {
        return SPI_VERSION;
    }
}
