package io.memgov.agent.djl;

import io.memgov.agent.HelperBridge;
import io.memgov.agent.asm.Rewrites;
import net.bytebuddy.jar.asm.ClassReader;
import net.bytebuddy.jar.asm.ClassVisitor;
import net.bytebuddy.jar.asm.ClassWriter;
import net.bytebuddy.jar.asm.MethodVisitor;
import net.bytebuddy.jar.asm.Opcodes;

import java.io.IOException;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

/**
 * The DJL PyTorch bridge (DJL 0.36). Rewrites two classes:
 * <ul>
 * <li>{@code PtNDArray}: implements {@link io.memgov.runtime.Governed}; its
 * {@code (PtNDManager, long[, ByteBuffer])} constructors end with {@code MemgovDjl.created},
 * {@code close()} with {@code MemgovDjl.closed}, {@code intern} starts with
 * {@code MemgovDjl.interned}; and it gains a view constructor that announces a view before
 * delegating to {@code (PtNDManager, long)}.</li>
 * <li>{@code JniUtils}: its view methods construct their result through that view constructor.</li>
 * </ul>
 * The logic is in {@code ai.djl.pytorch.jni.MemgovDjl}, defined in DJL's own class loader.
 */
public final class DjlBridge extends HelperBridge {
    static final String IVALUE = "ai/djl/pytorch/jni/IValue";
    static final String IVALUE_UTILS = "ai/djl/pytorch/jni/IValueUtils";
    static final String SPILLABLE = "io/memgov/runtime/Spillable";
    static final String DESCRIBED = "io/memgov/runtime/Described";
    static final String GET_SHAPE = "(Lai/djl/pytorch/engine/PtNDArray;)Lai/djl/ndarray/types/Shape;";
    static final String GET_DATA_TYPE = "(Lai/djl/pytorch/engine/PtNDArray;)Lai/djl/ndarray/types/DataType;";
    static final String ATOMIC_REF = "java/util/concurrent/atomic/AtomicReference";

    /**
     * Spill mode (a HOST limit with on-limit=spill): PtNDArray also implements Spillable, its
     * getHandle() goes through the helper (which restores a spilled tensor and pins the array for the
     * native call in progress), and every method of the classes that call libtorch (JniUtils, IValue,
     * IValueUtils) is bracketed, so pins end when the native call's Java method ends.
     */
    private final boolean spillMode;
    /**
     * Pooling (memgov.pool.enabled): the direct buffers PtNDManager.create(Buffer, Shape, DataType) and
     * PtNDArray.set(Buffer) copy into come from the governor's pool, and go back to it with the last
     * array over the storage that points into them.
     */
    private final boolean poolMode;

    public DjlBridge(boolean spillMode) {
        this(spillMode, false);
    }

    public DjlBridge(boolean spillMode, boolean poolMode) {
        this.spillMode = spillMode;
        this.poolMode = poolMode;
    }

    static final String PT_NDARRAY = "ai/djl/pytorch/engine/PtNDArray";
    static final String JNI_UTILS = "ai/djl/pytorch/jni/JniUtils";
    static final String PT_NDMANAGER = "ai/djl/pytorch/engine/PtNDManager";
    static final String NDMANAGER = "ai/djl/ndarray/NDManager";
    static final String NDSERIALIZER = "ai/djl/ndarray/NDSerializer";
    static final String ALLOCATE_DIRECT = "(I)Ljava/nio/ByteBuffer;";
    static final String CREATE_BUFFER = "(Ljava/nio/Buffer;Lai/djl/ndarray/types/Shape;Lai/djl/ndarray/types/DataType;)L"
            + "ai/djl/pytorch/engine/PtNDArray;";
    static final String FROM_BYTE_BUFFER = "(Lai/djl/pytorch/engine/PtNDManager;Ljava/nio/ByteBuffer;"
            + "Lai/djl/ndarray/types/Shape;Lai/djl/ndarray/types/DataType;Lai/djl/ndarray/types/SparseFormat;"
            + "Lai/djl/Device;)Lai/djl/pytorch/engine/PtNDArray;";
    static final String JNI_SET = "(Lai/djl/pytorch/engine/PtNDArray;Ljava/nio/ByteBuffer;)V";
    static final String HELPER = "ai/djl/pytorch/jni/MemgovDjl";
    static final String CTOR = "(Lai/djl/pytorch/engine/PtNDManager;J)V";
    static final String CTOR_BUFFER = "(Lai/djl/pytorch/engine/PtNDManager;JLjava/nio/ByteBuffer;)V";
    static final String VIEW_CTOR = "(Lai/djl/pytorch/engine/PtNDManager;JLjava/lang/Object;Ljava/lang/Object;I)V";
    static final String INTERN = "(Lai/djl/ndarray/NDArray;)V";
    static final String GET_BYTE_BUFFER = "(Lai/djl/pytorch/engine/PtNDArray;Z)Ljava/nio/ByteBuffer;";

    /** JniUtils methods whose result may share argument 0's storage, and when (MemgovDjl kinds). */
    static final Map<String, Integer> VIEW_METHODS = new HashMap<>();

    static {
        for (String m : new String[]{"broadcast", "slice", "index", "getItem", "squeeze", "unsqueeze", "split",
                "permute", "transpose", "diagonal", "detachGradient"}) {
            VIEW_METHODS.put(m, 0);
        }
        VIEW_METHODS.put("reshape", 1);
        VIEW_METHODS.put("flatten", 1);
        VIEW_METHODS.put("to", 2);
        VIEW_METHODS.put("indexAdv", 3);
    }

    @Override
    public String framework() {
        return "djl";
    }

    @Override
    public String probeClass() {
        return "ai.djl.pytorch.engine.PtNDArray";
    }

    @Override
    public List<String> targets() {
        List<String> t = new ArrayList<>(targetsWithoutPool());
        if (poolMode || spillMode) {
            t.add("ai.djl.pytorch.engine.PtNDManager");
        }
        if (spillMode) {
            t.add(NDSERIALIZER.replace('/', '.'));
        }
        return t;
    }

    private List<String> targetsWithoutPool() {
        return spillMode
                ? List.of("ai.djl.pytorch.engine.PtNDArray", "ai.djl.pytorch.jni.JniUtils", "ai.djl.pytorch.jni.IValue",
                "ai.djl.pytorch.jni.IValueUtils")
                : List.of("ai.djl.pytorch.engine.PtNDArray", "ai.djl.pytorch.jni.JniUtils");
    }

    @Override
    protected List<String> helpers() {
        String h = HELPER.replace('/', '.');
        return List.of(h, h + "$Bridge", h + "$Pending", h + "$Layout");
    }

    @Override
    protected String shapeProblem(ClassLoader loader, String internal, byte[] bytes) throws IOException {
        byte[] ptNDArray = classBytes(loader, PT_NDARRAY, internal, bytes);
        if (ptNDArray == null) {
            return "PtNDArray's class file cannot be read from the class loader";
        }
        Rewrites.Members m = Rewrites.Members.of(ptNDArray);
        if (m.governed()) {
            return "PtNDArray is already instrumented by another copy of memgov";
        }
        List<String> missing = new ArrayList<>();
        for (String method : new String[]{"<init>" + CTOR, "close()V", "intern" + INTERN}) {
            if (!m.methods.contains(method)) {
                missing.add("PtNDArray." + method);
            }
        }
        if (spillMode && m.methods.contains("getHandle()Ljava/lang/Object;")) {
            missing.add("(PtNDArray overrides getHandle(): spilling would need another hook)");
        }
        return missing.isEmpty() ? null : "missing " + String.join(", ", missing);
    }

    @Override
    protected byte[] rewrite(String internal, byte[] bytes) {
        switch (internal) {
            case PT_NDARRAY:
                return rewritePtNDArray(bytes, spillMode, poolMode);
            case PT_NDMANAGER:
                return rewritePtNDManager(bytes, spillMode);
            case NDSERIALIZER:
                return rewriteNDSerializer(bytes);
            case JNI_UTILS:
                return rewriteJniUtils(bytes, spillMode);
            default:
                return bracketAll(bytes, internal);
        }
    }

    /**
     * PtNDManager.create(Buffer, Shape, DataType): its copy of a non-direct input goes into a pooled
     * buffer; in spill mode, a tensor made over a direct input is told of it ({@code MemgovDjl.adoptOwned}).
     */
    static byte[] rewritePtNDManager(byte[] bytes, boolean spillMode) {
        return Rewrites.rewrite(bytes, writer -> Rewrites.methods(writer, (access, name, desc, mv) ->
                name.equals("create") && desc.equals(CREATE_BUFFER) ? new PoolCalls(mv, spillMode) : mv));
    }

    /**
     * Spill mode, NDSerializer (Model.load's decoder): each buffer it allocates to read a tensor into
     * (and hands to the tensor it creates, keeping no other reference) is announced to the governor
     * ({@code Governor.owned}), so that the zero-copy tensor over it may be spilled. Calls only the
     * bootstrap runtime.
     */
    static byte[] rewriteNDSerializer(byte[] bytes) {
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

    /**
     * In a method that copies a buffer into one of {@code PtNDManager.allocateDirect}: that buffer is
     * taken from the pool ({@code MemgovDjl.allocateDirect}), and the tensor then made over it
     * ({@code JniUtils.createNdFromByteBuffer}) or rebound to it ({@code JniUtils.set}) is told so
     * ({@code MemgovDjl.adopt}/{@code rebound}): the buffer goes back to the pool with that storage.
     */
    static final class PoolCalls extends MethodVisitor {
        private final boolean spillMode;
        private boolean allocated;

        PoolCalls(MethodVisitor mv) {
            this(mv, false);
        }

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

    static byte[] rewritePtNDArray(byte[] bytes, boolean spillMode) {
        return rewritePtNDArray(bytes, spillMode, false);
    }

    static byte[] rewritePtNDArray(byte[] bytes, boolean spillMode, boolean poolMode) {
        return Rewrites.rewrite(bytes, writer -> new Rewrites.AddGoverned(writer, PT_NDARRAY) {
            @Override
            public MethodVisitor visitMethod(int access, String name, String desc, String sig, String[] exceptions) {
                MethodVisitor mv = super.visitMethod(access, name, desc, sig, exceptions);
                if (poolMode && name.equals("set") && desc.equals("(Ljava/nio/Buffer;)V")) {
                    mv = new PoolCalls(mv);
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

    /** Brackets every method (not constructors) of a class that calls libtorch. */
    static byte[] bracketAll(byte[] bytes, String owner) {
        return Rewrites.rewrite(bytes, writer -> Rewrites.methods(writer, (access, name, desc, mv) ->
                bracketable(access, name) ? Rewrites.bracket(mv, access, owner, desc, HELPER) : mv));
    }

    static boolean bracketable(int access, String name) {
        return !name.startsWith("<") && (access & (Opcodes.ACC_ABSTRACT | Opcodes.ACC_NATIVE)) == 0;
    }

    static byte[] rewriteJniUtils(byte[] bytes, boolean spillMode) {
        return Rewrites.rewrite(bytes, writer -> Rewrites.methods(writer, (access, name, desc, mv) -> {
            MethodVisitor out = mv;
            if (spillMode && bracketable(access, name)) {
                out = Rewrites.bracket(out, access, JNI_UTILS, desc, HELPER);
            }
            if (spillMode && name.equals("getByteBuffer") && desc.equals(GET_BYTE_BUFFER)) {
                // a direct buffer over a tensor's memory would outlive the call (toFloatArray() and the
                // like read it afterwards) and could be left dangling by a spill: in spill mode every
                // getByteBuffer copies, inside the call, with the array pinned (tryDirect = false)
                out = Rewrites.atEntry(out, 1, m -> {
                    m.visitInsn(Opcodes.ICONST_0);
                    m.visitVarInsn(Opcodes.ISTORE, 1);
                });
            }
            Integer kind = VIEW_METHODS.get(name);
            if (kind == null || (access & Opcodes.ACC_STATIC) == 0
                    || !desc.startsWith("(L" + PT_NDARRAY + ";")
                    || (kind == 3 && !desc.startsWith("(L" + PT_NDARRAY + ";Lai/djl/ndarray/index/NDIndex;"))) {
                return out;
            }
            return Rewrites.replaceCalls(out, PT_NDARRAY, "<init>", CTOR, 3, m -> {
                m.visitVarInsn(Opcodes.ALOAD, 0);
                if (kind == 3) {
                    m.visitVarInsn(Opcodes.ALOAD, 1);
                } else {
                    m.visitInsn(Opcodes.ACONST_NULL);
                }
                m.visitInsn(Opcodes.ICONST_0 + kind);
                m.visitMethodInsn(Opcodes.INVOKESPECIAL, PT_NDARRAY, "<init>", VIEW_CTOR, false);
            });
        }));
    }
}
