package dev.moba.backend;

import dev.moba.spi.BackendProvider;
import java.util.List;
import java.util.Objects;

/**
 * A backend provider chosen by name or by {@code auto}, and why, in words fit to show users: the provider's own
 * availability reason and, for {@code auto}, the better providers it passed over with theirs.
 *
 * @param provider   the provider chosen
 * @param auto       whether {@code auto} chose it (otherwise it was named)
 * @param why        the provider's availability reason
 * @param passedOver for {@code auto}, the better providers that cannot run here, best first
 */
public record BackendChoice(BackendProvider provider, boolean auto, String why, List<PassedOver> passedOver) {

    /** A provider {@code auto} did not take, and its reason. */
    public record PassedOver(String id, String reason) {

        public PassedOver {
            Objects.requireNonNull(id, "id");
            Objects.requireNonNull(reason, "reason");
        }
    }

    public BackendChoice {
        Objects.requireNonNull(provider, "provider");
        Objects.requireNonNull(why, "why");
        passedOver = List.copyOf(passedOver);
    }

    /** How it was chosen and why, for example {@code auto: kernels for avx2}; {@link #passedOver} says the rest. */
    public String how() {
        return (auto ? "auto: " : "named: ") + why;
    }
}
