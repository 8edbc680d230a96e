package dev.moba.backend.cpu;

import static org.bytedeco.dnnl.global.dnnl.dnnl_matmul_primitive_desc_create;
import static org.bytedeco.dnnl.global.dnnl.dnnl_memory_desc_clone;
import static org.bytedeco.dnnl.global.dnnl.dnnl_memory_desc_destroy;
import static org.bytedeco.dnnl.global.dnnl.dnnl_memory_desc_get_size;
import static org.bytedeco.dnnl.global.dnnl.dnnl_primitive_attr_create;
import static org.bytedeco.dnnl.global.dnnl.dnnl_primitive_attr_destroy;
import static org.bytedeco.dnnl.global.dnnl.dnnl_primitive_attr_set_scratchpad_mode;
import static org.bytedeco.dnnl.global.dnnl.dnnl_primitive_desc_query_md;
import static org.bytedeco.dnnl.global.dnnl.dnnl_query_scratchpad_md;
import static org.bytedeco.dnnl.global.dnnl.dnnl_scratchpad_mode_user;
import static org.bytedeco.dnnl.global.dnnl.dnnl_primitive_create;
import static org.bytedeco.dnnl.global.dnnl.dnnl_primitive_desc_destroy;
import static org.bytedeco.dnnl.global.dnnl.dnnl_primitive_desc_query;
import static org.bytedeco.dnnl.global.dnnl.dnnl_primitive_destroy;
import static org.bytedeco.dnnl.global.dnnl.dnnl_query_impl_info_str;
import static org.bytedeco.dnnl.global.dnnl.dnnl_success;

import org.bytedeco.dnnl.dnnl_engine;
import org.bytedeco.dnnl.dnnl_memory_desc;
import org.bytedeco.dnnl.dnnl_primitive_attr;
import org.bytedeco.dnnl.dnnl_primitive;
import org.bytedeco.dnnl.dnnl_primitive_desc;
import org.bytedeco.javacpp.PointerPointer;

/**
 * One oneDNN matmul primitive of fixed shape, {@code src [m, k] x weights [k, n] -> dst [m, n]} with the strides of
 * its {@link Operand}s. Created once per shape and shared by every worker thread (executing a primitive is
 * thread-safe); each worker binds its own memory to it ({@link BoundMatMul}), its scratchpad included: oneDNN's
 * own scratchpad is shared by all threads unless the library was built for concurrent execution.
 */
final class MatMulPrimitive implements AutoCloseable {

    /**
     * One matrix operand.
     *
     * @param rows      rows
     * @param cols      columns
     * @param dataType  oneDNN data type ({@code dnnl_f32}, {@code dnnl_bf16}, ...)
     * @param rowStride elements between rows
     * @param colStride elements between columns
     */
    record Operand(long rows, long cols, int dataType, long rowStride, long colStride) {
        dnnl_memory_desc descriptor() {
            return Dnnl.matrix(rows, cols, dataType, rowStride, colStride);
        }
    }

    final dnnl_primitive primitive;
    final dnnl_memory_desc src;
    final dnnl_memory_desc weights;
    final dnnl_memory_desc dst;
    final dnnl_memory_desc scratchpad;
    final long scratchpadBytes;
    private final String implementation;

    private MatMulPrimitive(dnnl_primitive primitive, dnnl_memory_desc src, dnnl_memory_desc weights,
                            dnnl_memory_desc dst, dnnl_memory_desc scratchpad, String implementation) {
        this.primitive = primitive;
        this.src = src;
        this.weights = weights;
        this.dst = dst;
        this.scratchpad = scratchpad;
        this.scratchpadBytes = dnnl_memory_desc_get_size(scratchpad);
        this.implementation = implementation;
    }

    /** Creates the primitive, or throws {@link UnsupportedOperationException} when oneDNN has no kernel for it. */
    static MatMulPrimitive create(dnnl_engine engine, Operand src, Operand weights, Operand dst) {
        dnnl_memory_desc srcMd = src.descriptor();
        dnnl_memory_desc weightsMd = weights.descriptor();
        dnnl_memory_desc dstMd = dst.descriptor();
        dnnl_primitive_desc pd = new dnnl_primitive_desc();
        dnnl_primitive_attr attr = new dnnl_primitive_attr();
        Dnnl.check(dnnl_primitive_attr_create(attr), "attribute creation");
        Dnnl.check(dnnl_primitive_attr_set_scratchpad_mode(attr, dnnl_scratchpad_mode_user), "scratchpad mode");
        int status = dnnl_matmul_primitive_desc_create(pd, engine, srcMd, weightsMd, null, dstMd, attr);
        dnnl_primitive_attr_destroy(attr);
        if (status != dnnl_success) {
            dnnl_memory_desc_destroy(srcMd);
            dnnl_memory_desc_destroy(weightsMd);
            dnnl_memory_desc_destroy(dstMd);
            throw new UnsupportedOperationException("oneDNN has no matmul for " + src + " x " + weights + " -> "
                    + dst + " on this CPU");
        }
        try {
            PointerPointer<?> info = new PointerPointer<>(1);
            Dnnl.check(dnnl_primitive_desc_query(pd, dnnl_query_impl_info_str, 0, info), "implementation query");
            String implementation = info.getString(0);
            dnnl_memory_desc scratchpad = new dnnl_memory_desc();
            Dnnl.check(dnnl_memory_desc_clone(scratchpad, dnnl_primitive_desc_query_md(pd, dnnl_query_scratchpad_md,
                    0)), "scratchpad descriptor");
            dnnl_primitive primitive = new dnnl_primitive();
            Dnnl.check(dnnl_primitive_create(primitive, pd), "matmul creation");
            return new MatMulPrimitive(primitive, srcMd, weightsMd, dstMd, scratchpad, implementation);
        } finally {
            dnnl_primitive_desc_destroy(pd);
        }
    }

    /** oneDNN's name of the kernel it chose, such as {@code brg_matmul:avx10_1_512_amx}. */
    String implementation() {
        return implementation;
    }

    @Override
    public void close() {
        dnnl_primitive_destroy(primitive);
        dnnl_memory_desc_destroy(src);
        dnnl_memory_desc_destroy(weights);
        dnnl_memory_desc_destroy(dst);
        dnnl_memory_desc_destroy(scratchpad);
    }
}
