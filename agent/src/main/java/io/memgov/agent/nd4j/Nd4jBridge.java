package io.memgov.agent.nd4j;

import io.memgov.agent.HelperBridge;
import io.memgov.agent.asm.BracketingRewrite;
import io.memgov.agent.asm.Rewrites;
import io.memgov.agent.asm.TypeRewrite;

import java.io.IOException;
import java.util.ArrayList;
import java.util.List;

import static io.memgov.agent.nd4j.Nd4jNames.ALLOCATE;
import static io.memgov.agent.nd4j.Nd4jNames.DEALLOCATOR;
import static io.memgov.agent.nd4j.Nd4jNames.HELPER;
import static io.memgov.agent.nd4j.Nd4jNames.ODB;

/**
 * The ND4J native CPU bridge (ND4J 1.0.0-M2.1): the rewrites of {@link #rewrites(boolean, boolean)},
 * whose logic is in {@code org.nd4j.nativeblas.MemgovNd4j}, defined in ND4J's own class loader.
 */
public final class Nd4jBridge extends HelperBridge {
    /**
     * Classes whose methods hand buffer memory to native code within the call (ops, BLAS, LAPACK,
     * copies): in spill mode their methods are bracketed, and the buffers they touch stay pinned
     * until the outermost bracketed method returns.
     */
    static final List<String> NATIVE_CALLERS = List.of(
            "org/nd4j/linalg/cpu/nativecpu/ops/NativeOpExecutioner",
            "org/nd4j/linalg/cpu/nativecpu/blas/CpuLevel1",
            "org/nd4j/linalg/cpu/nativecpu/blas/CpuLevel2",
            "org/nd4j/linalg/cpu/nativecpu/blas/CpuLevel3",
            "org/nd4j/linalg/cpu/nativecpu/blas/CpuLapack",
            "org/nd4j/linalg/cpu/nativecpu/CpuNDArrayFactory",
            "org/nd4j/nativeblas/BaseNativeNDArrayFactory",
            "org/nd4j/linalg/api/memory/BasicMemoryManager");

    /**
     * {@code spillMode} (a HOST limit with on-limit=spill): the data buffer classes' reads of their
     * memory fields go through the helper (which restores a spilled buffer and pins it), accessors that
     * hand memory out mark it escaped when called from outside ND4J's native-calling code, and those
     * classes' methods are bracketed so pins end when the native call's Java method ends.
     * {@code poolMode} (memgov.pool.enabled): buffers a data buffer allocates for itself are blocks of
     * memgov's pool.
     */
    public Nd4jBridge(boolean spillMode, boolean poolMode) {
        super(rewrites(spillMode, poolMode));
    }

    /** Every ND4J rewrite, made for these modes; the bridge applies those that apply. */
    static List<TypeRewrite> rewrites(boolean spillMode, boolean poolMode) {
        List<TypeRewrite> all = new ArrayList<>(List.of(
                new OpaqueDataBufferRewrite(spillMode),
                new CpuDeallocatorRewrite(spillMode),
                new BaseCpuDataBufferRewrite(spillMode, poolMode),
                HostMemoryRewrite.cpuMemoryManager(spillMode),
                HostMemoryRewrite.cpuWorkspace(),
                DataBufferRewrite.baseDataBuffer(spillMode),
                DataBufferRewrite.longBuffer(spillMode)));
        for (String type : NATIVE_CALLERS) {
            all.add(new BracketingRewrite(type, HELPER, spillMode));
        }
        return all;
    }

    @Override
    public String framework() {
        return "nd4j";
    }

    @Override
    public String probeClass() {
        return "org.nd4j.nativeblas.OpaqueDataBuffer";
    }

    @Override
    protected List<String> helpers() {
        String h = HELPER.replace('/', '.');
        return List.of(h, h + "$Buffer", h + "$ViewOf", h + "$Generation", h + "$Bridge", h + "$Block");
    }

    @Override
    protected String shapeProblem(ClassLoader loader, String internal, byte[] bytes) throws IOException {
        byte[] odb = classBytes(loader, ODB, internal, bytes);
        byte[] deallocator = classBytes(loader, DEALLOCATOR, internal, bytes);
        if (odb == null || deallocator == null) {
            return "OpaqueDataBuffer or CpuDeallocator cannot be read from the class loader "
                    + "(is nd4j-native, the CPU backend, on the class path?)";
        }
        Rewrites.Members o = Rewrites.Members.of(odb);
        if (o.governed()) {
            return "OpaqueDataBuffer is already instrumented by another copy of memgov";
        }
        List<String> missing = new ArrayList<>();
        for (String m : new String[]{"allocateDataBuffer" + ALLOCATE, "closeBuffer()V", "expand(J)V"}) {
            if (!o.methods.contains(m)) {
                missing.add("OpaqueDataBuffer." + m);
            }
        }
        Rewrites.Members d = Rewrites.Members.of(deallocator);
        if (!d.methods.contains("deallocate()V") || !d.fields.contains("opaqueDataBuffer")) {
            missing.add("CpuDeallocator.deallocate() over its opaqueDataBuffer");
        }
        return missing.isEmpty() ? null : "missing " + String.join(", ", missing);
    }
}
