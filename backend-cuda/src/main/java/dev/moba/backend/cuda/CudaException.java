package dev.moba.backend.cuda;

/** A CUDA driver or run-time compiler call failed; the message names the call and the driver's reason. */
public final class CudaException extends RuntimeException {

    public CudaException(String message) {
        super(message);
    }
}
