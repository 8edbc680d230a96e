package dev.moba.engine;

/** The session named is closed, or was never opened on this engine. */
public final class SessionClosedException extends MobaException {

    public SessionClosedException(String message) {
        super(message);
    }
}
