package dev.moba.backend.cpu;

import static org.bytedeco.dnnl.global.dnnl.DNNL_ARG_DST;
import static org.bytedeco.dnnl.global.dnnl.DNNL_ARG_SCRATCHPAD;
import static org.bytedeco.dnnl.global.dnnl.DNNL_ARG_SRC;
import static org.bytedeco.dnnl.global.dnnl.DNNL_ARG_WEIGHTS;
import static org.bytedeco.dnnl.global.dnnl.dnnl_memory_create;
import static org.bytedeco.dnnl.global.dnnl.dnnl_memory_destroy;
import static org.bytedeco.dnnl.global.dnnl.dnnl_memory_set_data_handle;
import static org.bytedeco.dnnl.global.dnnl.dnnl_primitive_execute;
import static org.bytedeco.dnnl.global.dnnl.dnnl_stream_wait;

import org.bytedeco.dnnl.dnnl_engine;
import org.bytedeco.dnnl.dnnl_exec_arg_t;
import org.bytedeco.dnnl.dnnl_memory;
import org.bytedeco.dnnl.dnnl_stream;

/**
 * A {@link MatMulPrimitive} bound to one worker's buffers: source, destination and scratchpad are fixed, the weights
 * (a block's keys or values) are pointed at before each run. Creating the memory objects once keeps a run at a few
 * native calls.
 */
final class BoundMatMul implements AutoCloseable {

    private final MatMulPrimitive matmul;
    private final dnnl_memory src = new dnnl_memory();
    private final dnnl_memory weights = new dnnl_memory();
    private final dnnl_memory dst = new dnnl_memory();
    private final dnnl_memory scratchpad = new dnnl_memory();
    private final dnnl_exec_arg_t args = new dnnl_exec_arg_t(4);

    /** Binds {@code matmul} to the given buffers; {@code scratchpadAddress} holds its scratchpad bytes. */
    BoundMatMul(MatMulPrimitive matmul, dnnl_engine engine, long srcAddress, long dstAddress,
                long scratchpadAddress) {
        this.matmul = matmul;
        Dnnl.check(dnnl_memory_create(src, matmul.src, engine, Dnnl.address(srcAddress)), "source memory");
        Dnnl.check(dnnl_memory_create(weights, matmul.weights, engine, Dnnl.address(srcAddress)), "weights memory");
        Dnnl.check(dnnl_memory_create(dst, matmul.dst, engine, Dnnl.address(dstAddress)), "destination memory");
        Dnnl.check(dnnl_memory_create(scratchpad, matmul.scratchpad, engine, Dnnl.address(scratchpadAddress)),
                "scratchpad memory");
        args.position(0).arg(DNNL_ARG_SRC).memory(src);
        args.position(1).arg(DNNL_ARG_WEIGHTS).memory(weights);
        args.position(2).arg(DNNL_ARG_DST).memory(dst);
        args.position(3).arg(DNNL_ARG_SCRATCHPAD).memory(scratchpad);
        args.position(0);
    }

    /** Multiplies the bound source by the weights at {@code weightsAddress} into the bound destination. */
    void run(dnnl_stream stream, long weightsAddress) {
        Dnnl.check(dnnl_memory_set_data_handle(weights, Dnnl.address(weightsAddress)), "weights handle");
        Dnnl.check(dnnl_primitive_execute(matmul.primitive, stream, 4, args), "matmul");
        Dnnl.check(dnnl_stream_wait(stream), "stream wait");
    }

    @Override
    public void close() {
        dnnl_memory_destroy(src);
        dnnl_memory_destroy(weights);
        dnnl_memory_destroy(dst);
        dnnl_memory_destroy(scratchpad);
        args.close();
    }
}
