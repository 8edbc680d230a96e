/**
 * The backend service-provider interface.
 *
 * <p>A backend is found with {@link java.util.ServiceLoader} through its {@link dev.moba.spi.BackendProvider}. The
 * interface is deliberately coarse so that a device backend can keep KV on the device and run a whole batch in a
 * few calls: the core hands it appends ({@link dev.moba.spi.KvCache#append}), one gating call per batch
 * ({@link dev.moba.spi.Backend#gate}) and one attend call per batch ({@link dev.moba.spi.Backend#attend}), and gets
 * back block selections and {@code (o, lse)} partials. Where and how K and V are stored is the backend's business.
 */
package dev.moba.spi;
