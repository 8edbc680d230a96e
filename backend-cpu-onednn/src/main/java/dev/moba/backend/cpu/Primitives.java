package dev.moba.backend.cpu;

import dev.moba.backend.cpu.MatMulPrimitive.Operand;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ConcurrentMap;
import org.bytedeco.dnnl.dnnl_engine;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The matmul primitives of one backend, created on first use per (shape, kind, row bucket, key bucket) and kept
 * until the backend closes: creating one costs milliseconds, reusing it microseconds.
 */
final class Primitives implements AutoCloseable {

    /** Which of the two products of block attention. */
    enum Kind { SCORES, OUTPUTS }

    record Key(AttentionShape shape, Kind kind, int rows, int keys) {}

    private static final Logger LOG = LoggerFactory.getLogger(Primitives.class);

    private final dnnl_engine engine;
    private final ConcurrentMap<Key, MatMulPrimitive> created = new ConcurrentHashMap<>();

    Primitives(dnnl_engine engine) {
        this.engine = engine;
    }

    MatMulPrimitive get(Key key) {
        return created.computeIfAbsent(key, k -> {
            Operand[] operands = k.kind() == Kind.SCORES
                    ? k.shape().scores(k.rows(), k.keys())
                    : k.shape().outputs(k.rows(), k.keys());
            MatMulPrimitive primitive = MatMulPrimitive.create(engine, operands[0], operands[1], operands[2]);
            LOG.debug("oneDNN matmul {} {}x{} of {}: {}", k.kind(), k.rows(), k.keys(), k.shape(),
                    primitive.implementation());
            return primitive;
        });
    }

    @Override
    public void close() {
        created.values().forEach(MatMulPrimitive::close);
        created.clear();
    }
}
