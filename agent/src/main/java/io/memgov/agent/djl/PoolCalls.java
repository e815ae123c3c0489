package io.memgov.agent.djl;

import io.memgov.agent.asm.Rewrites;
import net.bytebuddy.jar.asm.MethodVisitor;
import net.bytebuddy.jar.asm.Opcodes;

import static io.memgov.agent.djl.DjlNames.ALLOCATE_DIRECT;
import static io.memgov.agent.djl.DjlNames.HELPER;
import static io.memgov.agent.djl.DjlNames.JNI_UTILS;
import static io.memgov.agent.djl.DjlNames.PT_NDMANAGER;

/**
 * In a method that copies a buffer into one of {@code PtNDManager.allocateDirect}: that buffer is
 * taken from the pool ({@code MemgovDjl.allocateDirect}), and the tensor then made over it
 * ({@code JniUtils.createNdFromByteBuffer}) or rebound to it ({@code JniUtils.set}) is told so
 * ({@code MemgovDjl.adopt}/{@code rebound}): the buffer goes back to the pool with that storage.
 * Used by {@link PtNDManagerRewrite} and {@link PtNDArrayRewrite}.
 */
final class PoolCalls extends MethodVisitor {
    static final String FROM_BYTE_BUFFER = "(Lai/djl/pytorch/engine/PtNDManager;Ljava/nio/ByteBuffer;"
            + "Lai/djl/ndarray/types/Shape;Lai/djl/ndarray/types/DataType;Lai/djl/ndarray/types/SparseFormat;"
            + "Lai/djl/Device;)Lai/djl/pytorch/engine/PtNDArray;";
    static final String JNI_SET = "(Lai/djl/pytorch/engine/PtNDArray;Ljava/nio/ByteBuffer;)V";

    /**
     * Spill mode: a tensor made over the method's direct input (not a copy) is told of it
     * ({@code MemgovDjl.adoptOwned}).
     */
    private final boolean spillMode;
    private boolean allocated;

    PoolCalls(MethodVisitor mv, boolean spillMode) {
        super(Rewrites.ASM, mv);
        this.spillMode = spillMode;
    }

    @Override
    public void visitMethodInsn(int opcode, String owner, String name, String desc, boolean itf) {
        if (opcode == Opcodes.INVOKEVIRTUAL && owner.equals(PT_NDMANAGER) && name.equals("allocateDirect")
                && desc.equals(ALLOCATE_DIRECT)) {
            // same stack: (manager, int) -> ByteBuffer
            Rewrites.invokeStatic(getDelegate(), HELPER, "allocateDirect",
                    "(L" + PT_NDMANAGER + ";I)Ljava/nio/ByteBuffer;");
            allocated = true;
            return;
        }
        super.visitMethodInsn(opcode, owner, name, desc, itf);
        if (opcode == Opcodes.INVOKESTATIC && owner.equals(JNI_UTILS)) {
            if (allocated && name.equals("createNdFromByteBuffer") && desc.equals(FROM_BYTE_BUFFER)) {
                getDelegate().visitInsn(Opcodes.DUP);
                Rewrites.invokeStatic(getDelegate(), HELPER, "adopt", "(Ljava/lang/Object;)V");
            } else if (spillMode && name.equals("createNdFromByteBuffer") && desc.equals(FROM_BYTE_BUFFER)) {
                // the direct input itself: create(Buffer data, ...)'s argument 1
                getDelegate().visitInsn(Opcodes.DUP);
                getDelegate().visitVarInsn(Opcodes.ALOAD, 1);
                Rewrites.invokeStatic(getDelegate(), HELPER, "adoptOwned", "(Ljava/lang/Object;Ljava/lang/Object;)V");
            } else if (name.equals("set") && desc.equals(JNI_SET)) {
                getDelegate().visitVarInsn(Opcodes.ALOAD, 0);
                getDelegate().visitInsn(allocated ? Opcodes.ICONST_1 : Opcodes.ICONST_0);
                Rewrites.invokeStatic(getDelegate(), HELPER, "rebound", "(Ljava/lang/Object;Z)V");
            }
        }
    }

    @Override
    public void visitMaxs(int maxStack, int maxLocals) {
        super.visitMaxs(maxStack + 2, maxLocals);
    }
}
