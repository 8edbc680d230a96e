package dev.moba.backend;

import dev.moba.spi.BackendProvider;
import java.util.Objects;

/**
 * A backend provider chosen by name or by {@code auto}, and why, in words fit to show users: the provider's own
 * availability reason and, for {@code auto}, the better providers it passed over with theirs.
 */
public record BackendChoice(BackendProvider provider, String reason) {

    public BackendChoice {
        Objects.requireNonNull(provider, "provider");
        Objects.requireNonNull(reason, "reason");
    }
}
