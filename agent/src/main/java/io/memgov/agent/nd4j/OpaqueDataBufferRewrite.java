package io.memgov.agent.nd4j;

import io.memgov.agent.asm.Rewrites;
import io.memgov.agent.asm.TypeRewrite;
import net.bytebuddy.jar.asm.MethodVisitor;
import net.bytebuddy.jar.asm.Opcodes;

import static io.memgov.agent.nd4j.Nd4jNames.HELPER;
import static io.memgov.agent.nd4j.Nd4jNames.ODB;

/**
 * {@code OpaqueDataBuffer}: implements {@link io.memgov.runtime.Governed}; {@code closeBuffer()}
 * (close) ends with {@code MemgovNd4j.freed}, which releases it. Spill mode: {@code closeBuffer()}
 * starts with {@code MemgovNd4j.closing}, before ND4J frees the memory, so that a restore ahead of
 * use ends first.
 */
final class OpaqueDataBufferRewrite implements TypeRewrite {
    private final boolean spillMode;

    OpaqueDataBufferRewrite(boolean spillMode) {
        this.spillMode = spillMode;
    }

    @Override
    public String type() {
        return ODB;
    }

    @Override
    public boolean applies() {
        return true;
    }

    @Override
    public byte[] rewrite(byte[] bytes) {
        return Rewrites.rewrite(bytes, writer -> new Rewrites.AddGoverned(writer, ODB) {
            @Override
            public MethodVisitor visitMethod(int access, String name, String desc, String sig, String[] exceptions) {
                MethodVisitor mv = super.visitMethod(access, name, desc, sig, exceptions);
                if (name.equals("closeBuffer") && desc.equals("()V")) {
                    if (spillMode) {
                        mv = Rewrites.atEntry(mv, 1, m -> {
                            m.visitVarInsn(Opcodes.ALOAD, 0);
                            Rewrites.invokeStatic(m, HELPER, "closing", "(Ljava/lang/Object;)V");
                        });
                    }
                    return Rewrites.beforeReturn(mv, Opcodes.RETURN, 1, m -> {
                        m.visitVarInsn(Opcodes.ALOAD, 0);
                        Rewrites.invokeStatic(m, HELPER, "freed", "(Ljava/lang/Object;)V");
                    });
                }
                return mv;
            }
        });
    }
}
