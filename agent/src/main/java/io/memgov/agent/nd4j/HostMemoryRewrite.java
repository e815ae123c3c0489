package io.memgov.agent.nd4j;

import io.memgov.agent.asm.Rewrites;
import io.memgov.agent.asm.TypeRewrite;
import net.bytebuddy.jar.asm.MethodVisitor;

import static io.memgov.agent.nd4j.Nd4jNames.HELPER;
import static io.memgov.agent.nd4j.Nd4jNames.MEMORY_MANAGER;
import static io.memgov.agent.nd4j.Nd4jNames.NATIVE_OPS;
import static io.memgov.agent.nd4j.Nd4jNames.WORKSPACE;

/**
 * {@code CpuMemoryManager} and {@code CpuWorkspace}: their {@code NativeOps.mallocHost}/{@code freeHost}
 * calls (workspace blocks and their overflow) go through the helper, which counts them by address.
 * Spill mode: CpuMemoryManager's methods are bracketed too, as those of the other native-calling
 * classes are (its {@code memset} hands an array's buffer to native code).
 */
final class HostMemoryRewrite implements TypeRewrite {
    static final String MALLOC_HOST = "(JI)Lorg/bytedeco/javacpp/Pointer;";
    static final String FREE_HOST = "(Lorg/bytedeco/javacpp/Pointer;)I";

    private final String type;
    private final boolean bracket;

    private HostMemoryRewrite(String type, boolean bracket) {
        this.type = type;
        this.bracket = bracket;
    }

    static HostMemoryRewrite cpuMemoryManager(boolean spillMode) {
        return new HostMemoryRewrite(MEMORY_MANAGER, spillMode);
    }

    static HostMemoryRewrite cpuWorkspace() {
        return new HostMemoryRewrite(WORKSPACE, false);
    }

    @Override
    public String type() {
        return type;
    }

    @Override
    public boolean applies() {
        return true;
    }

    @Override
    public byte[] rewrite(byte[] bytes) {
        return Rewrites.rewrite(bytes, writer -> Rewrites.methods(writer, (access, name, desc, mv) -> {
            MethodVisitor out = Rewrites.replaceCalls(
                    Rewrites.replaceCalls(mv, NATIVE_OPS, "mallocHost", MALLOC_HOST, 0,
                            r -> Rewrites.invokeStatic(r, HELPER, "mallocHost", "(Ljava/lang/Object;JI)Lorg/bytedeco/javacpp/Pointer;")),
                    NATIVE_OPS, "freeHost", FREE_HOST, 0,
                    r -> Rewrites.invokeStatic(r, HELPER, "freeHost", "(Ljava/lang/Object;Ljava/lang/Object;)I"));
            return bracket && Rewrites.bracketable(access, name) ? Rewrites.bracket(out, access, type, desc, HELPER) : out;
        }));
    }
}
