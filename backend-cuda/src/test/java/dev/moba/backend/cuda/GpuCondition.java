package dev.moba.backend.cuda;

import dev.moba.spi.Availability;
import org.junit.jupiter.api.extension.ConditionEvaluationResult;
import org.junit.jupiter.api.extension.ExecutionCondition;
import org.junit.jupiter.api.extension.ExtensionContext;

/** Enables GPU tests where the CUDA backend is available, and otherwise skips them naming why. */
final class GpuCondition implements ExecutionCondition {

    private static final ExtensionContext.Namespace NAMESPACE = ExtensionContext.Namespace.create(GpuCondition.class);

    @Override
    public ConditionEvaluationResult evaluateExecutionCondition(ExtensionContext context) {
        Availability availability = context.getRoot().getStore(NAMESPACE)
                .getOrComputeIfAbsent("availability", key -> new CudaBackendProvider().availability(),
                        Availability.class);
        if (availability.available()) {
            return ConditionEvaluationResult.enabled("CUDA: " + availability.reason());
        }
        String reason = "skipped, needs a CUDA GPU: " + availability.reason();
        context.publishReportEntry("gpu", reason);
        System.err.println(context.getDisplayName() + ": " + reason);
        return ConditionEvaluationResult.disabled(reason);
    }
}
