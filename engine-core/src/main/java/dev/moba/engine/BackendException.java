package dev.moba.engine;

/**
 * The backend failed while running a chunk; the chunk was undone, the session stands where it stood and can go
 * on. The cause is the backend's error.
 */
public final class BackendException extends MobaException {

    public BackendException(String message, Throwable cause) {
        super(message, cause);
    }
}
