package io.memgov.agent.djl;

import io.memgov.agent.asm.Rewrites;
import io.memgov.agent.asm.TypeRewrite;
import net.bytebuddy.jar.asm.MethodVisitor;
import net.bytebuddy.jar.asm.Opcodes;

import static io.memgov.agent.djl.DjlNames.ALLOCATE_DIRECT;
import static io.memgov.agent.djl.DjlNames.NDMANAGER;
import static io.memgov.agent.djl.DjlNames.NDSERIALIZER;
import static io.memgov.agent.djl.DjlNames.PT_NDMANAGER;

/**
 * Spill mode, {@code NDSerializer} (Model.load's decoder): each buffer it allocates to read a tensor
 * into (and hands to the tensor it creates, keeping no other reference) is announced to the governor
 * ({@code Governor.owned}), so that the zero-copy tensor over it may be spilled. Calls only the
 * bootstrap runtime.
 */
final class NDSerializerRewrite implements TypeRewrite {
    private final boolean spillMode;

    NDSerializerRewrite(boolean spillMode) {
        this.spillMode = spillMode;
    }

    @Override
    public String type() {
        return NDSERIALIZER;
    }

    @Override
    public boolean applies() {
        return spillMode;
    }

    @Override
    public byte[] rewrite(byte[] bytes) {
        return Rewrites.rewrite(bytes, writer -> Rewrites.methods(writer, (access, name, desc, mv) ->
                new MethodVisitor(Rewrites.ASM, mv) {
                    @Override
                    public void visitMethodInsn(int opcode, String owner, String method, String mdesc, boolean itf) {
                        super.visitMethodInsn(opcode, owner, method, mdesc, itf);
                        if (method.equals("allocateDirect") && mdesc.equals(ALLOCATE_DIRECT)
                                && (owner.equals(NDMANAGER) || owner.equals(PT_NDMANAGER))) {
                            super.visitInsn(Opcodes.DUP);
                            Rewrites.invokeStatic(getDelegate(), "io/memgov/runtime/Governor", "owned", "(Ljava/lang/Object;)V");
                        }
                    }

                    @Override
                    public void visitMaxs(int maxStack, int maxLocals) {
                        super.visitMaxs(maxStack + 1, maxLocals);
                    }
                }));
    }
}
