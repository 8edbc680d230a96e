package dev.moba.engine;

/** An error the engine reports to its caller; the subclasses say which kind. */
public class MobaException extends RuntimeException {

    public MobaException(String message) {
        super(message);
    }

    public MobaException(String message, Throwable cause) {
        super(message, cause);
    }
}
