package dev.moba.engine;

/**
 * A chunk that does not fit its session (layer, position, shapes, values) was refused; nothing changed.
 */
public final class InvalidChunkException extends MobaException {

    public InvalidChunkException(String message) {
        super(message);
    }

    public InvalidChunkException(String message, Throwable cause) {
        super(message, cause);
    }
}
