package dev.moba.backend.cuda;

import static org.bytedeco.cuda.global.nvrtc.NVRTC_SUCCESS;
import static org.bytedeco.cuda.global.nvrtc.nvrtcCompileProgram;
import static org.bytedeco.cuda.global.nvrtc.nvrtcCreateProgram;
import static org.bytedeco.cuda.global.nvrtc.nvrtcDestroyProgram;
import static org.bytedeco.cuda.global.nvrtc.nvrtcGetCUBIN;
import static org.bytedeco.cuda.global.nvrtc.nvrtcGetCUBINSize;
import static org.bytedeco.cuda.global.nvrtc.nvrtcGetErrorString;
import static org.bytedeco.cuda.global.nvrtc.nvrtcGetProgramLog;
import static org.bytedeco.cuda.global.nvrtc.nvrtcGetProgramLogSize;

import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.AtomicMoveNotSupportedException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.HexFormat;
import java.util.List;
import org.bytedeco.cuda.nvrtc._nvrtcProgram;
import org.bytedeco.javacpp.BytePointer;
import org.bytedeco.javacpp.PointerPointer;
import org.bytedeco.javacpp.SizeTPointer;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Compiles the module's CUDA C++ sources with NVRTC for one GPU architecture, and keeps the binaries in a folder
 * keyed by a hash of the sources, options and architecture, so a process pays the compilation (seconds) only the
 * first time on a machine.
 */
final class KernelCompiler {

    private static final Logger LOG = LoggerFactory.getLogger(KernelCompiler.class);
    private static final String RESOURCES = "/dev/moba/backend/cuda/";

    /** Header sources every kernel file may include by name. */
    static final List<String> HEADERS = List.of("moba_common.cuh", "moba_lists.cuh", "moba_mma.cuh", "moba_wgmma.cuh");

    private final Path cacheFolder;

    /** Binaries go under {@code cacheFolder}; {@code null} compiles every time. */
    KernelCompiler(Path cacheFolder) {
        this.cacheFolder = cacheFolder;
    }

    /** The CUBIN of source file {@code name} for {@code architecture} (e.g. {@code sm_90a}). */
    byte[] cubin(String name, String architecture) {
        String source = resource(name);
        List<String> headers = HEADERS.stream().map(KernelCompiler::resource).toList();
        List<String> options = List.of("--gpu-architecture=" + architecture, "--std=c++17", "-default-device", "-lineinfo");
        Path cached = cacheFolder == null ? null
                : cacheFolder.resolve(name + "-" + architecture + "-" + hash(source, headers, options) + ".cubin");
        if (cached != null && Files.isRegularFile(cached)) {
            try {
                return Files.readAllBytes(cached);
            } catch (IOException e) {
                LOG.warn("cannot read cached kernels {}; compiling again: {}", cached, e.toString());
            }
        }
        long started = System.nanoTime();
        byte[] binary = compile(name, source, headers, options);
        LOG.info("compiled {} for {} in {} ms", name, architecture, (System.nanoTime() - started) / 1_000_000);
        if (cached != null) {
            store(cached, binary);
        }
        return binary;
    }

    private static byte[] compile(String name, String source, List<String> headers, List<String> options) {
        _nvrtcProgram program = new _nvrtcProgram();
        try (PointerPointer<BytePointer> headerSources = new PointerPointer<>(headers.toArray(String[]::new));
             PointerPointer<BytePointer> headerNames = new PointerPointer<>(HEADERS.toArray(String[]::new));
             PointerPointer<BytePointer> optionArray = new PointerPointer<>(options.toArray(String[]::new))) {
            nvrtc(nvrtcCreateProgram(program, new BytePointer(source), new BytePointer(name), headers.size(),
                    headerSources, headerNames), "nvrtcCreateProgram");
            int status = nvrtcCompileProgram(program, options.size(), optionArray);
            if (status != NVRTC_SUCCESS) {
                throw new CudaException("compiling " + name + " failed: " + nvrtcGetErrorString(status).getString()
                        + "\n" + log(program));
            }
            try (SizeTPointer size = new SizeTPointer(1)) {
                nvrtc(nvrtcGetCUBINSize(program, size), "nvrtcGetCUBINSize");
                byte[] binary = new byte[(int) size.get()];
                nvrtc(nvrtcGetCUBIN(program, binary), "nvrtcGetCUBIN");
                return binary;
            }
        } finally {
            nvrtcDestroyProgram(program);
        }
    }

    private static String log(_nvrtcProgram program) {
        try (SizeTPointer size = new SizeTPointer(1)) {
            nvrtcGetProgramLogSize(program, size);
            byte[] text = new byte[(int) size.get()];
            nvrtcGetProgramLog(program, text);
            return new String(text, StandardCharsets.UTF_8).trim();
        }
    }

    private static void nvrtc(int status, String call) {
        if (status != NVRTC_SUCCESS) {
            throw new CudaException(call + " failed: " + nvrtcGetErrorString(status).getString());
        }
    }

    private static void store(Path cached, byte[] binary) {
        try {
            Files.createDirectories(cached.getParent());
            Path partial = Files.createTempFile(cached.getParent(), cached.getFileName().toString(), ".part");
            Files.write(partial, binary);
            try {
                Files.move(partial, cached, StandardCopyOption.ATOMIC_MOVE);
            } catch (AtomicMoveNotSupportedException e) {
                Files.move(partial, cached, StandardCopyOption.REPLACE_EXISTING);
            }
        } catch (IOException e) {
            LOG.warn("cannot cache kernels in {}: {}", cached.getParent(), e.toString());
        }
    }

    static String resource(String name) {
        try (InputStream in = KernelCompiler.class.getResourceAsStream(RESOURCES + name)) {
            if (in == null) {
                throw new IllegalStateException("kernel source " + name + " is missing from the backend jar");
            }
            return new String(in.readAllBytes(), StandardCharsets.UTF_8);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    private static String hash(String source, List<String> headers, List<String> options) {
        try {
            MessageDigest digest = MessageDigest.getInstance("SHA-256");
            digest.update(source.getBytes(StandardCharsets.UTF_8));
            headers.forEach(h -> digest.update(h.getBytes(StandardCharsets.UTF_8)));
            options.forEach(o -> digest.update(o.getBytes(StandardCharsets.UTF_8)));
            return HexFormat.of().formatHex(digest.digest(), 0, 8);
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException(e);
        }
    }
}
