package dev.moba.backend.cuda;

import static dev.moba.backend.cuda.CudaCalls.check;
import static org.bytedeco.cuda.global.cudart.CU_EVENT_DISABLE_TIMING;
import static org.bytedeco.cuda.global.cudart.CU_STREAM_NON_BLOCKING;
import static org.bytedeco.cuda.global.cudart.cuEventCreate;
import static org.bytedeco.cuda.global.cudart.cuEventDestroy;
import static org.bytedeco.cuda.global.cudart.cuEventRecord;
import static org.bytedeco.cuda.global.cudart.cuStreamCreate;
import static org.bytedeco.cuda.global.cudart.cuStreamDestroy;
import static org.bytedeco.cuda.global.cudart.cuStreamWaitEvent;

import org.bytedeco.cuda.cudart.CUevent_st;
import org.bytedeco.cuda.cudart.CUstream_st;

/**
 * A second stream, for memory-bound work that can overlap the default stream's compute-bound kernels. {@link #fork}
 * makes it wait for everything the default stream has queued so far; {@link #join} makes the default stream wait for
 * everything queued on it. Both only queue waits on the device: the host never blocks. Use inside
 * {@link CudaDevice#run}.
 */
final class SideStream implements AutoCloseable {

    private final CUstream_st stream = new CUstream_st();
    private final CUevent_st forked = new CUevent_st();
    private final CUevent_st joined = new CUevent_st();

    SideStream() {
        // Non-blocking: the legacy default stream would otherwise serialise with it.
        check(cuStreamCreate(stream, CU_STREAM_NON_BLOCKING), "cuStreamCreate");
        check(cuEventCreate(forked, CU_EVENT_DISABLE_TIMING), "cuEventCreate");
        check(cuEventCreate(joined, CU_EVENT_DISABLE_TIMING), "cuEventCreate");
    }

    CUstream_st stream() {
        return stream;
    }

    /** Work queued on this stream from now on starts after the default stream's work queued so far. */
    void fork() {
        check(cuEventRecord(forked, (CUstream_st) null), "cuEventRecord");
        check(cuStreamWaitEvent(stream, forked, 0), "cuStreamWaitEvent");
    }

    /** Work queued on the default stream from now on starts after this stream's work queued so far. */
    void join() {
        check(cuEventRecord(joined, stream), "cuEventRecord");
        check(cuStreamWaitEvent((CUstream_st) null, joined, 0), "cuStreamWaitEvent");
    }

    @Override
    public void close() {
        cuEventDestroy(joined);
        cuEventDestroy(forked);
        cuStreamDestroy(stream);
    }
}
