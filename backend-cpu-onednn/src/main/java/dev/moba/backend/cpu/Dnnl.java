package dev.moba.backend.cpu;

import static org.bytedeco.dnnl.global.dnnl.dnnl_memory_desc_create_with_strides;
import static org.bytedeco.dnnl.global.dnnl.dnnl_success;

import org.bytedeco.dnnl.dnnl_memory_desc;
import org.bytedeco.javacpp.Pointer;

/** Small helpers over oneDNN's C API: status checks, raw addresses, strided memory descriptors. */
final class Dnnl {

    private Dnnl() {}

    /** Throws naming {@code what} unless {@code status} is success. */
    static void check(int status, String what) {
        if (status != dnnl_success) {
            throw new IllegalStateException("oneDNN: " + what + " failed with status " + status);
        }
    }

    /** A JavaCPP pointer to native memory at {@code address} that JavaCPP does not own. */
    static Pointer address(long address) {
        return new Address(address);
    }

    /** A 2-D memory descriptor of {@code rows x cols} elements of {@code dataType} with the given strides. */
    static dnnl_memory_desc matrix(long rows, long cols, int dataType, long rowStride, long colStride) {
        dnnl_memory_desc md = new dnnl_memory_desc();
        check(dnnl_memory_desc_create_with_strides(md, 2, new long[] {rows, cols}, dataType,
                new long[] {rowStride, colStride}), "memory descriptor " + rows + "x" + cols);
        return md;
    }

    private static final class Address extends Pointer {
        Address(long address) {
            this.address = address;
        }
    }
}
