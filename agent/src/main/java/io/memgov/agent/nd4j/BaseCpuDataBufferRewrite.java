package io.memgov.agent.nd4j;

import io.memgov.agent.asm.Rewrites;
import io.memgov.agent.asm.TypeRewrite;
import net.bytebuddy.jar.asm.ClassVisitor;
import net.bytebuddy.jar.asm.MethodVisitor;
import net.bytebuddy.jar.asm.Opcodes;

import java.util.Set;

import static io.memgov.agent.nd4j.Nd4jNames.ALLOCATE;
import static io.memgov.agent.nd4j.Nd4jNames.CPU_BUFFER;
import static io.memgov.agent.nd4j.Nd4jNames.HELPER;
import static io.memgov.agent.nd4j.Nd4jNames.ODB;
import static io.memgov.agent.nd4j.Nd4jNames.POINTER;

/**
 * {@code BaseCpuDataBuffer}: its {@code OpaqueDataBuffer.allocateDataBuffer} calls (every detached
 * buffer) go through the helper, which admits {@code numElements × width} bytes under the limit
 * first and counts the buffer; its {@code OpaqueDataBuffer.expand} calls go through the helper too,
 * which recounts the buffer at its new size. It implements the helper's {@code Buffer} (raw reads of
 * its native buffer and Java pointer, without the hooks its own accessors have), in every mode.
 * <p>Pool mode: buffers a data buffer allocates for itself (not those over a Java array, which
 * libnd4j replaces at once) are blocks of memgov's pool, handed to libnd4j as external memory;
 * {@code createUninitialized}'s are not zeroed.
 * <p>Spill mode: its constructors end
 * with {@code MemgovNd4j.constructed}, a view's constructor is bracketed by {@code viewOf} and
 * {@code viewDone}; its methods but {@code release()} are guarded ({@link MemoryGuards#guardMemory}).
 */
final class BaseCpuDataBufferRewrite implements TypeRewrite {
    static final String BUFFER_ITF = HELPER + "$Buffer";
    static final String VIEW_CTOR = "(Lorg/nd4j/linalg/api/buffer/DataBuffer;JJ)V";

    private final boolean spillMode;
    private final boolean poolMode;

    BaseCpuDataBufferRewrite(boolean spillMode, boolean poolMode) {
        this.spillMode = spillMode;
        this.poolMode = poolMode;
    }

    @Override
    public String type() {
        return CPU_BUFFER;
    }

    @Override
    public boolean applies() {
        return true;
    }

    @Override
    public byte[] rewrite(byte[] bytes) {
        return Rewrites.rewrite(bytes, writer -> {
            Set<String> touching = spillMode ? MemoryGuards.touchingMemory(bytes) : Set.of();
            ClassVisitor methods = Rewrites.methods(writer, (access, name, desc, mv) -> {
                MethodVisitor out = Rewrites.replaceCalls(
                        Rewrites.replaceCalls(mv, ODB, "expand", "(J)V", 1, r -> {
                            r.visitVarInsn(Opcodes.ALOAD, 0);
                            Rewrites.invokeStatic(r, HELPER, "expand", "(L" + ODB + ";JLjava/lang/Object;)V");
                        }),
                        ODB, "allocateDataBuffer", ALLOCATE, 1, r -> allocate(r, name, desc));
                if (!spillMode) {
                    return out;
                }
                if (name.equals("<init>")) {
                    out = Rewrites.beforeReturn(out, Opcodes.RETURN, 2, m -> {
                        m.visitVarInsn(Opcodes.ALOAD, 0);
                        Rewrites.invokeStatic(m, HELPER, "constructed", "(Ljava/lang/Object;)V");
                    });
                    if (desc.equals(VIEW_CTOR)) {
                        out = Rewrites.beforeReturn(out, Opcodes.RETURN, 2, m -> {
                            m.visitVarInsn(Opcodes.ALOAD, 0);
                            m.visitVarInsn(Opcodes.ALOAD, 1);
                            Rewrites.invokeStatic(m, HELPER, "viewDone", "(Ljava/lang/Object;Ljava/lang/Object;)V");
                        });
                        out = Rewrites.atEntry(out, 1, m -> {
                            m.visitVarInsn(Opcodes.ALOAD, 1);
                            Rewrites.invokeStatic(m, HELPER, "viewOf", "(Ljava/lang/Object;)V");
                        });
                    }
                }
                if (name.equals("release") && desc.equals("()V")) {
                    return out; // closing a spilled buffer must not bring it back first
                }
                return MemoryGuards.guardMemory(out, access, name, desc, CPU_BUFFER, touching);
            });
            return new BufferAccessors(methods);
        });
    }

    /** The helper call that replaces {@code allocateDataBuffer} in a method {@code name desc}. */
    private void allocate(MethodVisitor r, String name, String desc) {
        boolean overJavaArray = desc.startsWith("([");
        if (!poolMode || !name.equals("<init>") || overJavaArray) {
            Rewrites.invokeStatic(r, HELPER, "allocateDataBuffer", ALLOCATE);
        } else if (desc.equals("(JZ)V")) { // (long length, boolean initialize): it zeroes itself when asked to
            r.visitInsn(Opcodes.ICONST_0);
            Rewrites.invokeStatic(r, HELPER, "allocatePooled", "(JLorg/nd4j/linalg/api/buffer/DataType;ZZ)L" + ODB + ";");
        } else {
            Rewrites.invokeStatic(r, HELPER, "allocatePooled", ALLOCATE);
        }
    }

    /** The class implements the helper's Buffer (raw field reads). */
    static final class BufferAccessors extends ClassVisitor {
        BufferAccessors(ClassVisitor next) {
            super(Rewrites.ASM, next);
        }

        @Override
        public void visit(int version, int access, String name, String sig, String superName, String[] itfs) {
            String[] more = java.util.Arrays.copyOf(itfs, itfs.length + 1);
            more[itfs.length] = BUFFER_ITF;
            super.visit(version, access, name, sig, superName, more);
        }

        @Override
        public void visitEnd() {
            getter("memgov$odb", "ptrDataBuffer", "L" + ODB + ";");
            getter("memgov$pointer", "pointer", POINTER);
            super.visitEnd();
        }

        private void getter(String name, String field, String type) {
            MethodVisitor m = cv.visitMethod(Opcodes.ACC_PUBLIC | Opcodes.ACC_SYNTHETIC, name, "()" + type, null, null);
            m.visitCode();
            m.visitVarInsn(Opcodes.ALOAD, 0);
            m.visitFieldInsn(Opcodes.GETFIELD, CPU_BUFFER, field, type);
            m.visitInsn(Opcodes.ARETURN);
            m.visitMaxs(1, 1);
            m.visitEnd();
        }
    }
}
