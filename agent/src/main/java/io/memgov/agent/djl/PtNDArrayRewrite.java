package io.memgov.agent.djl;

import io.memgov.agent.asm.Rewrites;
import io.memgov.agent.asm.TypeRewrite;
import net.bytebuddy.jar.asm.MethodVisitor;
import net.bytebuddy.jar.asm.Opcodes;

import static io.memgov.agent.djl.DjlNames.CTOR;
import static io.memgov.agent.djl.DjlNames.CTOR_BUFFER;
import static io.memgov.agent.djl.DjlNames.HELPER;
import static io.memgov.agent.djl.DjlNames.INTERN;
import static io.memgov.agent.djl.DjlNames.JNI_UTILS;
import static io.memgov.agent.djl.DjlNames.PT_NDARRAY;
import static io.memgov.agent.djl.DjlNames.VIEW_CTOR;

/**
 * {@code PtNDArray}: implements {@link io.memgov.runtime.Governed} and
 * {@link io.memgov.runtime.Described}; its {@code (PtNDManager, long[, ByteBuffer])} constructors end
 * with {@code MemgovDjl.created}, {@code close()} with {@code MemgovDjl.closed}, {@code intern} starts
 * with {@code MemgovDjl.interned}; its lazy getShape()/getDataType() ask the helper instead of
 * libtorch; and it gains a view constructor that announces a view before delegating to
 * {@code (PtNDManager, long)}. Spill mode: it also implements {@link io.memgov.runtime.Spillable},
 * its getHandle() goes through the helper (which restores a spilled tensor and pins the array for
 * the native call in progress), and {@code intern} is bracketed. Pool mode: {@code set(Buffer)}'s
 * copy goes into a pooled buffer ({@link PoolCalls}).
 */
final class PtNDArrayRewrite implements TypeRewrite {
    static final String SPILLABLE = "io/memgov/runtime/Spillable";
    static final String DESCRIBED = "io/memgov/runtime/Described";
    static final String GET_SHAPE = "(Lai/djl/pytorch/engine/PtNDArray;)Lai/djl/ndarray/types/Shape;";
    static final String GET_DATA_TYPE = "(Lai/djl/pytorch/engine/PtNDArray;)Lai/djl/ndarray/types/DataType;";
    static final String ATOMIC_REF = "java/util/concurrent/atomic/AtomicReference";

    private final boolean spillMode;
    private final boolean poolMode;

    PtNDArrayRewrite(boolean spillMode, boolean poolMode) {
        this.spillMode = spillMode;
        this.poolMode = poolMode;
    }

    @Override
    public String type() {
        return PT_NDARRAY;
    }

    @Override
    public boolean applies() {
        return true;
    }

    @Override
    public byte[] rewrite(byte[] bytes) {
        return Rewrites.rewrite(bytes, writer -> new Rewrites.AddGoverned(writer, PT_NDARRAY) {
            @Override
            public MethodVisitor visitMethod(int access, String name, String desc, String sig, String[] exceptions) {
                MethodVisitor mv = super.visitMethod(access, name, desc, sig, exceptions);
                if (poolMode && name.equals("set") && desc.equals("(Ljava/nio/Buffer;)V")) {
                    mv = new PoolCalls(mv, false);
                }
                if (name.equals("<init>") && (desc.equals(CTOR) || desc.equals(CTOR_BUFFER))) {
                    boolean zeroCopy = desc.equals(CTOR_BUFFER);
                    return Rewrites.beforeReturn(mv, Opcodes.RETURN, 5, m -> {
                        m.visitVarInsn(Opcodes.ALOAD, 0);
                        m.visitVarInsn(Opcodes.ALOAD, 1);
                        m.visitVarInsn(Opcodes.LLOAD, 2);
                        m.visitInsn(zeroCopy ? Opcodes.ICONST_1 : Opcodes.ICONST_0);
                        Rewrites.invokeStatic(m, HELPER, "created", "(Ljava/lang/Object;Ljava/lang/Object;JZ)V");
                    });
                }
                if (name.equals("close") && desc.equals("()V")) {
                    return Rewrites.beforeReturn(mv, Opcodes.RETURN, 1, m -> {
                        m.visitVarInsn(Opcodes.ALOAD, 0);
                        Rewrites.invokeStatic(m, HELPER, "closed", "(Ljava/lang/Object;)V");
                    });
                }
                // the lazy getters ask the helper, which answers from what the governor read at creation
                mv = Rewrites.replaceCalls(Rewrites.replaceCalls(mv, JNI_UTILS, "getShape", GET_SHAPE, 0,
                        m -> Rewrites.invokeStatic(m, HELPER, "shape", GET_SHAPE)),
                        JNI_UTILS, "getDataType", GET_DATA_TYPE, 0,
                        m -> Rewrites.invokeStatic(m, HELPER, "dataType", GET_DATA_TYPE));
                if (name.equals("intern") && desc.equals(INTERN)) {
                    MethodVisitor inner = spillMode ? Rewrites.bracket(mv, access, PT_NDARRAY, desc, HELPER) : mv;
                    return Rewrites.atEntry(inner, 2, m -> {
                        m.visitVarInsn(Opcodes.ALOAD, 0);
                        m.visitVarInsn(Opcodes.ALOAD, 1);
                        Rewrites.invokeStatic(m, HELPER, "interned", "(Ljava/lang/Object;Ljava/lang/Object;)V");
                    });
                }
                return mv;
            }

            @Override
            public void visit(int version, int access, String name, String sig, String superName, String[] itfs) {
                String[] more = java.util.Arrays.copyOf(itfs, itfs.length + (spillMode ? 2 : 1));
                more[itfs.length] = DESCRIBED;
                if (spillMode) {
                    more[itfs.length + 1] = SPILLABLE;
                }
                super.visit(version, access, name, sig, superName, more);
            }

            @Override
            protected void addMembers() {
                if (spillMode) {
                    addSpillMembers(this);
                }
                addDescribed(this);
                // PtNDArray(PtNDManager m, long h, Object source, Object extra, int kind):
                //     this(m, MemgovDjl.view(h, source, extra, kind))
                MethodVisitor view = super.visitMethod(Opcodes.ACC_PUBLIC | Opcodes.ACC_SYNTHETIC, "<init>",
                        VIEW_CTOR, null, null);
                view.visitCode();
                view.visitVarInsn(Opcodes.ALOAD, 0);
                view.visitVarInsn(Opcodes.ALOAD, 1);
                view.visitVarInsn(Opcodes.LLOAD, 2);
                view.visitVarInsn(Opcodes.ALOAD, 4);
                view.visitVarInsn(Opcodes.ALOAD, 5);
                view.visitVarInsn(Opcodes.ILOAD, 6);
                Rewrites.invokeStatic(view, HELPER, "view", "(JLjava/lang/Object;Ljava/lang/Object;I)J");
                view.visitMethodInsn(Opcodes.INVOKESPECIAL, PT_NDARRAY, "<init>", CTOR, false);
                view.visitInsn(Opcodes.RETURN);
                view.visitMaxs(7, 7);
                view.visitEnd();
            }
        });
    }

    /**
     * Two fields the governor fills when it sizes a new array ({@code memgov$sizes}, and
     * {@code memgov$dtype} holding the type's index plus one, 0 = unknown) and the Described methods
     * over them. PtNDArray's lazy getShape()/getDataType() ask the helper, which answers from them.
     */
    static void addDescribed(Rewrites.AddGoverned cv) {
        // volatile: a spill describes the array on the spilling thread, and the type is written first,
        // so a thread that sees the sizes sees them whole, and the type with them
        cv.visitFieldDirect(Opcodes.ACC_PRIVATE | Opcodes.ACC_SYNTHETIC | Opcodes.ACC_TRANSIENT | Opcodes.ACC_VOLATILE,
                "memgov$sizes", "[J");
        cv.visitFieldDirect(Opcodes.ACC_PRIVATE | Opcodes.ACC_SYNTHETIC | Opcodes.ACC_TRANSIENT, "memgov$dtype", "I");

        MethodVisitor describe = cv.visitMethodDirect(Opcodes.ACC_PUBLIC | Opcodes.ACC_SYNTHETIC, "memgov$describe", "([JI)V");
        describe.visitCode();
        describe.visitVarInsn(Opcodes.ALOAD, 0);
        describe.visitVarInsn(Opcodes.ILOAD, 2);
        describe.visitInsn(Opcodes.ICONST_1);
        describe.visitInsn(Opcodes.IADD);
        describe.visitFieldInsn(Opcodes.PUTFIELD, PT_NDARRAY, "memgov$dtype", "I");
        describe.visitVarInsn(Opcodes.ALOAD, 0);
        describe.visitVarInsn(Opcodes.ALOAD, 1);
        describe.visitFieldInsn(Opcodes.PUTFIELD, PT_NDARRAY, "memgov$sizes", "[J");
        describe.visitInsn(Opcodes.RETURN);
        describe.visitMaxs(3, 3);
        describe.visitEnd();

        MethodVisitor sizes = cv.visitMethodDirect(Opcodes.ACC_PUBLIC | Opcodes.ACC_SYNTHETIC, "memgov$sizes", "()[J");
        sizes.visitCode();
        sizes.visitVarInsn(Opcodes.ALOAD, 0);
        sizes.visitFieldInsn(Opcodes.GETFIELD, PT_NDARRAY, "memgov$sizes", "[J");
        sizes.visitInsn(Opcodes.ARETURN);
        sizes.visitMaxs(1, 1);
        sizes.visitEnd();

        MethodVisitor dtype = cv.visitMethodDirect(Opcodes.ACC_PUBLIC | Opcodes.ACC_SYNTHETIC, "memgov$dataType", "()I");
        dtype.visitCode();
        dtype.visitVarInsn(Opcodes.ALOAD, 0);
        dtype.visitFieldInsn(Opcodes.GETFIELD, PT_NDARRAY, "memgov$dtype", "I");
        dtype.visitInsn(Opcodes.ICONST_1);
        dtype.visitInsn(Opcodes.ISUB);
        dtype.visitInsn(Opcodes.IRETURN);
        dtype.visitMaxs(2, 1);
        dtype.visitEnd();
    }

    /** The Spillable accessors over NativeResource's handle, and getHandle() through the helper. */
    static void addSpillMembers(Rewrites.AddGoverned cv) {
        handleAccessor(cv, "memgov$handle", "()Ljava/lang/Object;", "get", 0, Opcodes.ARETURN);
        handleAccessor(cv, "memgov$swapHandle", "(Ljava/lang/Object;)Ljava/lang/Object;", "getAndSet", 1, Opcodes.ARETURN);
        handleAccessor(cv, "memgov$casHandle", "(Ljava/lang/Object;Ljava/lang/Object;)Z", "compareAndSet", 2, Opcodes.IRETURN);

        // public Object getHandle() { return MemgovDjl.handle(this); }
        MethodVisitor handle = cv.visitMethodDirect(Opcodes.ACC_PUBLIC | Opcodes.ACC_SYNTHETIC, "getHandle",
                "()Ljava/lang/Object;");
        handle.visitCode();
        handle.visitVarInsn(Opcodes.ALOAD, 0);
        Rewrites.invokeStatic(handle, HELPER, "handle", "(Ljava/lang/Object;)Ljava/lang/Object;");
        handle.visitInsn(Opcodes.ARETURN);
        handle.visitMaxs(1, 1);
        handle.visitEnd();
    }

    /**
     * {@code public R name(Object... args) { return this.handle.method(args); }}: an accessor over the
     * AtomicReference that NativeResource keeps the native handle in ({@code protected}, so reachable
     * from PtNDArray's own methods).
     */
    static void handleAccessor(Rewrites.AddGoverned cv, String name, String desc, String method, int args, int returnOp) {
        MethodVisitor m = cv.visitMethodDirect(Opcodes.ACC_PUBLIC | Opcodes.ACC_SYNTHETIC, name, desc);
        m.visitCode();
        m.visitVarInsn(Opcodes.ALOAD, 0);
        m.visitFieldInsn(Opcodes.GETFIELD, PT_NDARRAY, "handle", "L" + ATOMIC_REF + ";");
        for (int i = 1; i <= args; i++) {
            m.visitVarInsn(Opcodes.ALOAD, i);
        }
        String refDesc = desc.substring(0, desc.indexOf(')') + 1)
                + (returnOp == Opcodes.IRETURN ? "Z" : "Ljava/lang/Object;");
        m.visitMethodInsn(Opcodes.INVOKEVIRTUAL, ATOMIC_REF, method, refDesc, false);
        m.visitInsn(returnOp);
        m.visitMaxs(args + 1, args + 1);
        m.visitEnd();
    }
}
