package dev.moba.spi;

/**
 * Whether a backend can run on this machine, and why (or why not). The reason is shown to users when a backend
 * is chosen or passed over.
 */
public record Availability(boolean available, String reason) {

    public static Availability available(String reason) {
        return new Availability(true, reason);
    }

    public static Availability unavailable(String reason) {
        return new Availability(false, reason);
    }
}
