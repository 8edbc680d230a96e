package dev.moba.backend.cpu;

import static org.bytedeco.dnnl.global.dnnl.dnnl_cpu_isa_avx10_1_512;
import static org.bytedeco.dnnl.global.dnnl.dnnl_cpu_isa_avx10_1_512_amx;
import static org.bytedeco.dnnl.global.dnnl.dnnl_cpu_isa_avx10_1_512_amx_fp16;
import static org.bytedeco.dnnl.global.dnnl.dnnl_cpu_isa_avx10_2_512;
import static org.bytedeco.dnnl.global.dnnl.dnnl_cpu_isa_avx10_2_512_amx_2;
import static org.bytedeco.dnnl.global.dnnl.dnnl_cpu_isa_avx2;
import static org.bytedeco.dnnl.global.dnnl.dnnl_cpu_isa_avx2_vnni;
import static org.bytedeco.dnnl.global.dnnl.dnnl_cpu_isa_avx2_vnni_2;
import static org.bytedeco.dnnl.global.dnnl.dnnl_cpu_isa_avx512_core;
import static org.bytedeco.dnnl.global.dnnl.dnnl_cpu_isa_avx512_core_bf16;
import static org.bytedeco.dnnl.global.dnnl.dnnl_cpu_isa_avx512_core_vnni;
import static org.bytedeco.dnnl.global.dnnl.dnnl_get_effective_cpu_isa;
import static org.bytedeco.dnnl.global.dnnl.dnnl_version;

import java.lang.foreign.Arena;
import java.lang.foreign.FunctionDescriptor;
import java.lang.foreign.Linker;
import java.lang.foreign.SymbolLookup;
import java.lang.foreign.ValueLayout;
import java.lang.invoke.MethodHandle;
import java.nio.file.Path;
import org.bytedeco.dnnl.dnnl_version_t;
import org.bytedeco.javacpp.Loader;

/**
 * The oneDNN native library as loaded through JavaCPP: whether it loaded, its version and the instruction set its
 * kernels use, and the OpenMP thread count of the calling thread.
 *
 * <p>Loading happens once per class loader (a JNI library binds to one loader), on first use of {@link #get()}.
 */
final class DnnlLibrary {

    private final String version;
    private final String isa;
    private final MethodHandle ompSetNumThreads;

    private DnnlLibrary(String version, String isa, MethodHandle ompSetNumThreads) {
        this.version = version;
        this.isa = isa;
        this.ompSetNumThreads = ompSetNumThreads;
    }

    /** The loaded library; throws {@link UnsatisfiedLinkError} (or another {@link LinkageError}) if it cannot load. */
    static DnnlLibrary get() {
        return Holder.LIBRARY;
    }

    /** oneDNN's version, such as {@code 3.11.0}. */
    String version() {
        return version;
    }

    /** The instruction set oneDNN's kernels use here, such as {@code avx2} or {@code avx10_1_512_amx}. */
    String isa() {
        return isa;
    }

    /**
     * Sets how many OpenMP threads oneDNN calls made from the current thread may use. OpenMP keeps this per
     * thread, so every worker thread sets it once for itself.
     */
    void setCallerThreads(int threads) {
        try {
            ompSetNumThreads.invokeExact(threads);
        } catch (Throwable e) {
            throw new IllegalStateException("omp_set_num_threads failed", e);
        }
    }

    private static final class Holder {
        private static final DnnlLibrary LIBRARY = load();
    }

    private static DnnlLibrary load() {
        Loader.load(org.bytedeco.dnnl.global.dnnl.class);
        dnnl_version_t v = dnnl_version();
        String version = v.major() + "." + v.minor() + "." + v.patch();
        return new DnnlLibrary(version, isaName(dnnl_get_effective_cpu_isa()), ompSetNumThreads());
    }

    /** {@code omp_set_num_threads} of the OpenMP runtime JavaCPP loaded beside oneDNN. */
    private static MethodHandle ompSetNumThreads() {
        String path = Loader.getLoadedLibraries().entrySet().stream()
                .filter(e -> e.getKey().startsWith("gomp"))
                .map(java.util.Map.Entry::getValue)
                .findFirst()
                .orElseThrow(() -> new UnsatisfiedLinkError("the OpenMP runtime (libgomp) bundled with oneDNN was"
                        + " not loaded; loaded: " + Loader.getLoadedLibraries().keySet()));
        SymbolLookup gomp = SymbolLookup.libraryLookup(Path.of(path), Arena.global());
        return Linker.nativeLinker().downcallHandle(
                gomp.find("omp_set_num_threads").orElseThrow(
                        () -> new UnsatisfiedLinkError("omp_set_num_threads not found in " + path)),
                FunctionDescriptor.ofVoid(ValueLayout.JAVA_INT));
    }

    private static String isaName(int isa) {
        if (isa == dnnl_cpu_isa_avx10_2_512_amx_2) return "avx10_2_512_amx_2";
        if (isa == dnnl_cpu_isa_avx10_1_512_amx_fp16) return "avx10_1_512_amx_fp16";
        if (isa == dnnl_cpu_isa_avx10_1_512_amx) return "avx10_1_512_amx";
        if (isa == dnnl_cpu_isa_avx10_2_512) return "avx10_2_512";
        if (isa == dnnl_cpu_isa_avx10_1_512) return "avx10_1_512";
        if (isa == dnnl_cpu_isa_avx512_core_bf16) return "avx512_core_bf16";
        if (isa == dnnl_cpu_isa_avx512_core_vnni) return "avx512_core_vnni";
        if (isa == dnnl_cpu_isa_avx512_core) return "avx512_core";
        if (isa == dnnl_cpu_isa_avx2_vnni_2) return "avx2_vnni_2";
        if (isa == dnnl_cpu_isa_avx2_vnni) return "avx2_vnni";
        if (isa == dnnl_cpu_isa_avx2) return "avx2";
        return "isa#" + isa;
    }
}
