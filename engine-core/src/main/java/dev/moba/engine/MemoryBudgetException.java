package dev.moba.engine;

/**
 * Accepting a chunk would take the engine past its memory budget ({@code moba.memory.budget}); the chunk was
 * refused and the session stands where it stood.
 */
public final class MemoryBudgetException extends MobaException {

    public MemoryBudgetException(String message) {
        super(message);
    }
}
