package io.memgov.agent.nd4j;

import io.memgov.agent.asm.Rewrites;
import io.memgov.agent.asm.TypeRewrite;
import net.bytebuddy.jar.asm.MethodVisitor;
import net.bytebuddy.jar.asm.Opcodes;

import static io.memgov.agent.nd4j.Nd4jNames.CPU_BUFFER;
import static io.memgov.agent.nd4j.Nd4jNames.DEALLOCATOR;
import static io.memgov.agent.nd4j.Nd4jNames.HELPER;
import static io.memgov.agent.nd4j.Nd4jNames.ODB;

/**
 * {@code CpuDeallocator.deallocate()} (the GC path) starts with {@code MemgovNd4j.deallocated} over
 * its {@code opaqueDataBuffer}, which releases it too; whichever of this and close comes first
 * counts (a buffer the GC path finds still counted was never closed: a {@code leak} event). Spill
 * mode: its reads of {@code BaseCpuDataBuffer.getOpaqueDataBuffer()} go through
 * {@code MemgovNd4j.odb}.
 */
final class CpuDeallocatorRewrite implements TypeRewrite {
    private final boolean spillMode;

    CpuDeallocatorRewrite(boolean spillMode) {
        this.spillMode = spillMode;
    }

    @Override
    public String type() {
        return DEALLOCATOR;
    }

    @Override
    public boolean applies() {
        return true;
    }

    @Override
    public byte[] rewrite(byte[] bytes) {
        return Rewrites.rewrite(bytes, writer -> Rewrites.methods(writer, (access, name, desc, mv) -> {
            MethodVisitor out = !spillMode ? mv : Rewrites.replaceCalls(mv, CPU_BUFFER, "getOpaqueDataBuffer",
                    "()L" + ODB + ";", 0, r -> Rewrites.invokeStatic(r, HELPER, "odb", "(Ljava/lang/Object;)L" + ODB + ";"));
            return !(name.equals("deallocate") && desc.equals("()V")) ? out : Rewrites.atEntry(out, 1, m -> {
                m.visitVarInsn(Opcodes.ALOAD, 0);
                m.visitFieldInsn(Opcodes.GETFIELD, DEALLOCATOR, "opaqueDataBuffer", "L" + ODB + ";");
                Rewrites.invokeStatic(m, HELPER, "deallocated", "(Ljava/lang/Object;)V");
            });
        }));
    }
}
