package io.memgov.agent.djl;

import io.memgov.agent.Bridge;
import io.memgov.agent.HelperInjector;
import net.bytebuddy.jar.asm.ClassReader;
import net.bytebuddy.jar.asm.ClassVisitor;
import net.bytebuddy.jar.asm.ClassWriter;
import net.bytebuddy.jar.asm.FieldVisitor;
import net.bytebuddy.jar.asm.MethodVisitor;
import net.bytebuddy.jar.asm.Opcodes;

import java.io.InputStream;
import java.security.ProtectionDomain;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.WeakHashMap;

/**
 * The DJL PyTorch bridge (DJL 0.36). Rewrites two classes with ByteBuddy's ASM:
 * <ul>
 * <li>{@code PtNDArray}: implements {@link io.memgov.runtime.Governed} (a field holds the array's
 * record); its {@code (PtNDManager, long[, ByteBuffer])} constructors end with
 * {@code MemgovDjl.created}, {@code close()} with {@code MemgovDjl.closed}, {@code intern} starts
 * with {@code MemgovDjl.interned}; and it gains a view constructor that announces a view before
 * delegating to {@code (PtNDManager, long)}.</li>
 * <li>{@code JniUtils}: its view methods construct their result through that view constructor.</li>
 * </ul>
 * {@code ai.djl.pytorch.jni.MemgovDjl}, the helper that holds the logic, is defined in DJL's own
 * class loader first. Either both classes of a loader are rewritten or neither.
 */
public final class DjlBridge implements Bridge {
    static final String PT_NDARRAY = "ai/djl/pytorch/engine/PtNDArray";
    static final String JNI_UTILS = "ai/djl/pytorch/jni/JniUtils";
    static final String HELPER = "ai/djl/pytorch/jni/MemgovDjl";
    static final String GOVERNED = "io/memgov/runtime/Governed";
    static final String FIELD = "memgov$tracked";
    static final String CTOR = "(Lai/djl/pytorch/engine/PtNDManager;J)V";
    static final String CTOR_BUFFER = "(Lai/djl/pytorch/engine/PtNDManager;JLjava/nio/ByteBuffer;)V";
    static final String VIEW_CTOR = "(Lai/djl/pytorch/engine/PtNDManager;JLjava/lang/Object;Ljava/lang/Object;I)V";
    static final String INTERN = "(Lai/djl/ndarray/NDArray;)V";

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

    private final Map<ClassLoader, Boolean> ready = new WeakHashMap<>();

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
        return List.of("ai.djl.pytorch.engine.PtNDArray", "ai.djl.pytorch.jni.JniUtils");
    }

    @Override
    public byte[] transform(ClassLoader loader, String className, byte[] bytes, ProtectionDomain pd, Context ctx)
            throws Exception {
        String internal = className.replace('.', '/');
        if (!readyIn(loader, internal, bytes, pd, ctx)) {
            return null;
        }
        byte[] out = internal.equals(PT_NDARRAY) ? rewritePtNDArray(bytes) : rewriteJniUtils(bytes);
        ctx.instrumented(framework(), className);
        return out;
    }

    /** Checks PtNDArray's shape and defines the helper, once per class loader. */
    private synchronized boolean readyIn(ClassLoader loader, String internal, byte[] bytes, ProtectionDomain pd,
                                         Context ctx) {
        Boolean known = ready.get(loader);
        if (known != null) {
            return known;
        }
        boolean ok = false;
        try {
            byte[] ptNDArray = internal.equals(PT_NDARRAY) ? bytes : resource(loader, PT_NDARRAY);
            String problem = ptNDArray == null ? "its class file cannot be read from the class loader"
                    : shapeProblem(ptNDArray);
            if (problem != null) {
                ctx.unknownShape(framework(), "ai.djl.pytorch.engine.PtNDArray", problem);
            } else {
                ctx.helpers().inject(loader, HELPER.replace('/', '.'), pd);
                ok = true;
            }
        } catch (Throwable t) {
            ctx.error("cannot define memgov's DJL helper in class loader " + loader
                    + "; DJL runs ungoverned in this loader", t);
        }
        ready.put(loader, ok);
        return ok;
    }

    private static byte[] resource(ClassLoader loader, String internal) throws java.io.IOException {
        try (InputStream in = loader == null ? ClassLoader.getSystemResourceAsStream(internal + ".class")
                : loader.getResourceAsStream(internal + ".class")) {
            return in == null ? null : in.readAllBytes();
        }
    }

    /** Null when PtNDArray has the members the rewrite relies on; else what is missing. */
    static String shapeProblem(byte[] ptNDArray) {
        Set<String> methods = new HashSet<>();
        Set<String> fields = new HashSet<>();
        String[][] interfaces = new String[1][];
        new ClassReader(ptNDArray).accept(new ClassVisitor(Opcodes.ASM9) {
            @Override
            public void visit(int version, int access, String name, String sig, String superName, String[] itfs) {
                interfaces[0] = itfs;
            }

            @Override
            public FieldVisitor visitField(int access, String name, String desc, String sig, Object value) {
                fields.add(name);
                return null;
            }

            @Override
            public MethodVisitor visitMethod(int access, String name, String desc, String sig, String[] exceptions) {
                methods.add(name + desc);
                return null;
            }
        }, ClassReader.SKIP_CODE | ClassReader.SKIP_DEBUG | ClassReader.SKIP_FRAMES);
        List<String> missing = new ArrayList<>();
        for (String m : new String[]{"<init>" + CTOR, "close()V", "intern" + INTERN}) {
            if (!methods.contains(m)) {
                missing.add(m);
            }
        }
        if (fields.contains(FIELD) || (interfaces[0] != null && Arrays.asList(interfaces[0]).contains(GOVERNED))) {
            return "it is already instrumented by another copy of memgov";
        }
        return missing.isEmpty() ? null : "missing " + String.join(", ", missing);
    }

    static byte[] rewritePtNDArray(byte[] bytes) {
        ClassReader reader = new ClassReader(bytes);
        ClassWriter writer = new ClassWriter(reader, 0);
        reader.accept(new ClassVisitor(Opcodes.ASM9, writer) {
            @Override
            public void visit(int version, int access, String name, String sig, String superName, String[] itfs) {
                String[] more = Arrays.copyOf(itfs, itfs.length + 1);
                more[itfs.length] = GOVERNED;
                super.visit(version, access, name, sig, superName, more);
            }

            @Override
            public MethodVisitor visitMethod(int access, String name, String desc, String sig, String[] exceptions) {
                MethodVisitor mv = super.visitMethod(access, name, desc, sig, exceptions);
                if (name.equals("<init>") && (desc.equals(CTOR) || desc.equals(CTOR_BUFFER))) {
                    return new BeforeReturn(mv, 4) {
                        @Override
                        void hook() {
                            super.visitVarInsn(Opcodes.ALOAD, 0);
                            super.visitVarInsn(Opcodes.ALOAD, 1);
                            super.visitVarInsn(Opcodes.LLOAD, 2);
                            super.visitMethodInsn(Opcodes.INVOKESTATIC, HELPER, "created",
                                    "(Ljava/lang/Object;Ljava/lang/Object;J)V", false);
                        }
                    };
                }
                if (name.equals("close") && desc.equals("()V")) {
                    return new BeforeReturn(mv, 1) {
                        @Override
                        void hook() {
                            super.visitVarInsn(Opcodes.ALOAD, 0);
                            super.visitMethodInsn(Opcodes.INVOKESTATIC, HELPER, "closed", "(Ljava/lang/Object;)V", false);
                        }
                    };
                }
                if (name.equals("intern") && desc.equals(INTERN)) {
                    return new MethodVisitor(Opcodes.ASM9, mv) {
                        @Override
                        public void visitCode() {
                            super.visitCode();
                            super.visitVarInsn(Opcodes.ALOAD, 0);
                            super.visitVarInsn(Opcodes.ALOAD, 1);
                            super.visitMethodInsn(Opcodes.INVOKESTATIC, HELPER, "interned",
                                    "(Ljava/lang/Object;Ljava/lang/Object;)V", false);
                        }

                        @Override
                        public void visitMaxs(int maxStack, int maxLocals) {
                            super.visitMaxs(maxStack + 2, maxLocals);
                        }
                    };
                }
                return mv;
            }

            @Override
            public void visitEnd() {
                super.visitField(Opcodes.ACC_PRIVATE | Opcodes.ACC_VOLATILE | Opcodes.ACC_SYNTHETIC | Opcodes.ACC_TRANSIENT,
                        FIELD, "Ljava/lang/Object;", null, null).visitEnd();

                MethodVisitor get = super.visitMethod(Opcodes.ACC_PUBLIC | Opcodes.ACC_SYNTHETIC, FIELD,
                        "()Ljava/lang/Object;", null, null);
                get.visitCode();
                get.visitVarInsn(Opcodes.ALOAD, 0);
                get.visitFieldInsn(Opcodes.GETFIELD, PT_NDARRAY, FIELD, "Ljava/lang/Object;");
                get.visitInsn(Opcodes.ARETURN);
                get.visitMaxs(1, 1);
                get.visitEnd();

                MethodVisitor set = super.visitMethod(Opcodes.ACC_PUBLIC | Opcodes.ACC_SYNTHETIC, FIELD,
                        "(Ljava/lang/Object;)V", null, null);
                set.visitCode();
                set.visitVarInsn(Opcodes.ALOAD, 0);
                set.visitVarInsn(Opcodes.ALOAD, 1);
                set.visitFieldInsn(Opcodes.PUTFIELD, PT_NDARRAY, FIELD, "Ljava/lang/Object;");
                set.visitInsn(Opcodes.RETURN);
                set.visitMaxs(2, 2);
                set.visitEnd();

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
                view.visitMethodInsn(Opcodes.INVOKESTATIC, HELPER, "view",
                        "(JLjava/lang/Object;Ljava/lang/Object;I)J", false);
                view.visitMethodInsn(Opcodes.INVOKESPECIAL, PT_NDARRAY, "<init>", CTOR, false);
                view.visitInsn(Opcodes.RETURN);
                view.visitMaxs(7, 7);
                view.visitEnd();
                super.visitEnd();
            }
        }, 0);
        return writer.toByteArray();
    }

    static byte[] rewriteJniUtils(byte[] bytes) {
        ClassReader reader = new ClassReader(bytes);
        ClassWriter writer = new ClassWriter(reader, 0);
        reader.accept(new ClassVisitor(Opcodes.ASM9, writer) {
            @Override
            public MethodVisitor visitMethod(int access, String name, String desc, String sig, String[] exceptions) {
                MethodVisitor mv = super.visitMethod(access, name, desc, sig, exceptions);
                Integer kind = VIEW_METHODS.get(name);
                if (kind == null || (access & Opcodes.ACC_STATIC) == 0
                        || !desc.startsWith("(L" + PT_NDARRAY + ";")
                        || (kind == 3 && !desc.startsWith("(L" + PT_NDARRAY + ";Lai/djl/ndarray/index/NDIndex;"))) {
                    return mv;
                }
                return new MethodVisitor(Opcodes.ASM9, mv) {
                    @Override
                    public void visitMethodInsn(int opcode, String owner, String mName, String mDesc, boolean itf) {
                        if (opcode == Opcodes.INVOKESPECIAL && owner.equals(PT_NDARRAY) && mName.equals("<init>")
                                && mDesc.equals(CTOR)) {
                            super.visitVarInsn(Opcodes.ALOAD, 0);
                            if (kind == 3) {
                                super.visitVarInsn(Opcodes.ALOAD, 1);
                            } else {
                                super.visitInsn(Opcodes.ACONST_NULL);
                            }
                            super.visitInsn(Opcodes.ICONST_0 + kind);
                            super.visitMethodInsn(opcode, owner, mName, VIEW_CTOR, itf);
                        } else {
                            super.visitMethodInsn(opcode, owner, mName, mDesc, itf);
                        }
                    }

                    @Override
                    public void visitMaxs(int maxStack, int maxLocals) {
                        super.visitMaxs(maxStack + 3, maxLocals);
                    }
                };
            }
        }, 0);
        return writer.toByteArray();
    }

    /** Emits {@link #hook()} before every {@code RETURN} of a void method. */
    abstract static class BeforeReturn extends MethodVisitor {
        private final int extraStack;

        BeforeReturn(MethodVisitor mv, int extraStack) {
            super(Opcodes.ASM9, mv);
            this.extraStack = extraStack;
        }

        abstract void hook();

        @Override
        public void visitInsn(int opcode) {
            if (opcode == Opcodes.RETURN) {
                hook();
            }
            super.visitInsn(opcode);
        }

        @Override
        public void visitMaxs(int maxStack, int maxLocals) {
            super.visitMaxs(maxStack + extraStack, maxLocals);
        }
    }
}
