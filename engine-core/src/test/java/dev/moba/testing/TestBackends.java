package dev.moba.testing;

import dev.moba.backend.java.JavaBackend;
import dev.moba.spi.BackendOptions;

/**
 * Java backends shared by the tests of one JVM: one that runs every call inline on the caller and one that splits
 * calls over a fork-join pool of two workers, so both execution paths are covered. They live as long as the test
 * JVM.
 */
public final class TestBackends {

    /** One thread: units run inline on the calling thread. */
    public static final JavaBackend INLINE = new JavaBackend(new BackendOptions(1));

    /** Two threads: units run on a fork-join pool. */
    public static final JavaBackend FORK_JOIN = new JavaBackend(new BackendOptions(2));

    private TestBackends() {}
}
