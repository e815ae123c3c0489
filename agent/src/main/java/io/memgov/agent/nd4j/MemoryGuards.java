package io.memgov.agent.nd4j;

import io.memgov.agent.asm.Rewrites;
import net.bytebuddy.jar.asm.ClassReader;
import net.bytebuddy.jar.asm.ClassVisitor;
import net.bytebuddy.jar.asm.MethodVisitor;
import net.bytebuddy.jar.asm.Opcodes;

import java.util.HashSet;
import java.util.Set;

import static io.memgov.agent.nd4j.Nd4jNames.HELPER;
import static io.memgov.agent.nd4j.Nd4jNames.ODB;
import static io.memgov.agent.nd4j.Nd4jNames.POINTER;

/**
 * Spill mode, the data buffer classes ({@link BaseCpuDataBufferRewrite}, {@link DataBufferRewrite}):
 * their reads of their memory fields go through the helper (which restores a spilled buffer and pins
 * it), accessors that hand memory out mark it escaped when called from outside ND4J's native-calling
 * code, and those methods are bracketed so pins end when the native call's Java method ends.
 */
final class MemoryGuards {
    /** Fields through which ND4J code reaches a buffer's memory. */
    static final Set<String> MEMORY_FIELDS = Set.of(
            "pointer" + POINTER, "indexer" + "Lorg/bytedeco/javacpp/indexer/Indexer;", "ptrDataBuffer" + "L" + ODB + ";");
    /** Accessors that hand a buffer's memory out (a pointer, an indexer, an NIO buffer, an address). */
    static final Set<String> HANDOUTS = Set.of(
            "addressPointer()" + POINTER, "getOpaqueDataBuffer()L" + ODB + ";", "pointer()" + POINTER,
            "indexer()Lorg/bytedeco/javacpp/indexer/Indexer;", "asNio()Ljava/nio/ByteBuffer;",
            "asNioFloat()Ljava/nio/FloatBuffer;", "asNioDouble()Ljava/nio/DoubleBuffer;",
            "asNioInt()Ljava/nio/IntBuffer;", "asNioLong()Ljava/nio/LongBuffer;",
            "wrappedBuffer()Ljava/nio/ByteBuffer;", "address()J", "platformAddress()J");
    /**
     * Methods of the data buffer classes that read a buffer's memory accessors without handing memory
     * out (address comparisons): bracketed, so their reads pin the buffer for the call only and do not
     * mark it escaped. {@code sameUnderlyingData} is what {@code BaseNDArray.doRowWise} asks of every
     * {@code addiRowVector} (a dense layer's bias), with the network's flattened parameters.
     */
    static final Set<String> COMPARISONS = Set.of(
            "sameUnderlyingData(Lorg/nd4j/linalg/api/buffer/DataBuffer;)Z");

    private MemoryGuards() {
    }

    /** The methods ({@code name + desc}) of a class that read a buffer's memory fields. */
    static Set<String> touchingMemory(byte[] bytes) {
        Set<String> found = new HashSet<>();
        new ClassReader(bytes).accept(new ClassVisitor(Rewrites.ASM) {
            @Override
            public MethodVisitor visitMethod(int access, String name, String desc, String sig, String[] exceptions) {
                String key = name + desc;
                return new MethodVisitor(Rewrites.ASM) {
                    @Override
                    public void visitFieldInsn(int opcode, String owner, String field, String fieldDesc) {
                        if (opcode == Opcodes.GETFIELD && MEMORY_FIELDS.contains(field + fieldDesc)) {
                            found.add(key);
                        }
                    }
                };
            }
        }, ClassReader.SKIP_DEBUG | ClassReader.SKIP_FRAMES);
        return found;
    }

    /**
     * One method of a data buffer class: each read of a memory field first calls the helper's
     * {@code use(buffer)}; hand-out accessors call {@code handout(this)} at entry; methods that do
     * either, and the comparisons, are bracketed.
     */
    static MethodVisitor guardMemory(MethodVisitor mv, int access, String name, String desc, String owner,
                                     Set<String> touching) {
        boolean handout = HANDOUTS.contains(name + desc) && (access & Opcodes.ACC_STATIC) == 0;
        boolean touches = touching.contains(name + desc);
        if (!touches && !handout) {
            return COMPARISONS.contains(name + desc) && Rewrites.bracketable(access, name)
                    ? Rewrites.bracket(mv, access, owner, desc, HELPER) : mv;
        }
        MethodVisitor out = !touches ? mv : new MethodVisitor(Rewrites.ASM, mv) {
            @Override
            public void visitFieldInsn(int opcode, String fieldOwner, String field, String fieldDesc) {
                if (opcode == Opcodes.GETFIELD && MEMORY_FIELDS.contains(field + fieldDesc)) {
                    super.visitInsn(Opcodes.DUP);
                    Rewrites.invokeStatic(getDelegate(), HELPER, "use", "(Ljava/lang/Object;)V");
                }
                super.visitFieldInsn(opcode, fieldOwner, field, fieldDesc);
            }

            @Override
            public void visitMaxs(int maxStack, int maxLocals) {
                super.visitMaxs(maxStack + 1, maxLocals);
            }
        };
        if (Rewrites.bracketable(access, name)) {
            out = Rewrites.bracket(out, access, owner, desc, HELPER);
            if (handout) {
                out = Rewrites.atEntry(out, 1, m -> {
                    m.visitVarInsn(Opcodes.ALOAD, 0);
                    Rewrites.invokeStatic(m, HELPER, "handout", "(Ljava/lang/Object;)V");
                });
            }
        }
        return out;
    }
}
