package io.memgov.agent.asm;

import net.bytebuddy.jar.asm.ClassReader;
import net.bytebuddy.jar.asm.ClassVisitor;
import net.bytebuddy.jar.asm.ClassWriter;
import net.bytebuddy.jar.asm.FieldVisitor;
import net.bytebuddy.jar.asm.MethodVisitor;
import net.bytebuddy.jar.asm.Opcodes;

import java.util.Arrays;
import java.util.HashSet;
import java.util.Set;
import java.util.function.Consumer;

/**
 * The few bytecode rewrites the bridges need, on ByteBuddy's repackaged ASM. They insert only
 * straight-line code (no branches, no new locals), so the classes' stack map frames stay valid and
 * nothing has to be computed from other classes: no framework class is ever loaded by a rewrite.
 */
public final class Rewrites {
    public static final int ASM = Opcodes.ASM9;
    public static final String GOVERNED = "io/memgov/runtime/Governed";
    public static final String FIELD = "memgov$tracked";

    private Rewrites() {
    }

    /** Rewrites {@code bytes} through the visitor {@code chain} builds over the writer. */
    public static byte[] rewrite(byte[] bytes, java.util.function.Function<ClassVisitor, ClassVisitor> chain) {
        ClassReader reader = new ClassReader(bytes);
        ClassWriter writer = new ClassWriter(reader, 0); // unchanged methods are copied as they are
        reader.accept(chain.apply(writer), 0);
        return writer.toByteArray();
    }

    /** Wraps the visitor of each method of a class. */
    public interface MethodWrapper {
        MethodVisitor wrap(int access, String name, String desc, MethodVisitor mv);
    }

    /** A class visitor that passes each method's visitor through {@code wrapper}. */
    public static ClassVisitor methods(ClassVisitor next, MethodWrapper wrapper) {
        return new ClassVisitor(ASM, next) {
            @Override
            public MethodVisitor visitMethod(int access, String name, String desc, String sig, String[] exceptions) {
                return wrapper.wrap(access, name, desc, super.visitMethod(access, name, desc, sig, exceptions));
            }
        };
    }

    /** Names of the methods ({@code name + descriptor}) and fields a class declares, and its interfaces. */
    public static final class Members {
        public final Set<String> methods = new HashSet<>();
        public final Set<String> fields = new HashSet<>();
        public final Set<String> interfaces = new HashSet<>();

        public static Members of(byte[] bytes) {
            Members m = new Members();
            new ClassReader(bytes).accept(new ClassVisitor(ASM) {
                @Override
                public void visit(int version, int access, String name, String sig, String superName, String[] itfs) {
                    m.interfaces.addAll(Arrays.asList(itfs));
                }

                @Override
                public FieldVisitor visitField(int access, String name, String desc, String sig, Object value) {
                    m.fields.add(name);
                    return null;
                }

                @Override
                public MethodVisitor visitMethod(int access, String name, String desc, String sig, String[] exceptions) {
                    m.methods.add(name + desc);
                    return null;
                }
            }, ClassReader.SKIP_CODE | ClassReader.SKIP_DEBUG | ClassReader.SKIP_FRAMES);
            return m;
        }

        /** True when a copy of memgov already rewrote this class. */
        public boolean governed() {
            return fields.contains(FIELD) || interfaces.contains(GOVERNED);
        }
    }

    /**
     * Makes the class implement {@code io.memgov.runtime.Governed} with a private volatile field;
     * {@code more} may add members before the class ends.
     */
    public static class AddGoverned extends ClassVisitor {
        private final String owner;

        public AddGoverned(ClassVisitor next, String owner) {
            super(ASM, next);
            this.owner = owner;
        }

        @Override
        public void visit(int version, int access, String name, String sig, String superName, String[] itfs) {
            String[] more = Arrays.copyOf(itfs, itfs.length + 1);
            more[itfs.length] = GOVERNED;
            super.visit(version, access, name, sig, superName, more);
        }

        /** Adds members of the rewrite's own; called before the field and accessors are added. */
        protected void addMembers() {
        }

        /** A new field written straight to the class. */
        public void visitFieldDirect(int access, String name, String desc) {
            cv.visitField(access, name, desc, null, null).visitEnd();
        }

        /** A new method written straight to the class, bypassing this visitor's own method hooks. */
        public MethodVisitor visitMethodDirect(int access, String name, String desc) {
            return cv.visitMethod(access, name, desc, null, null);
        }

        @Override
        public void visitEnd() {
            addMembers();
            super.visitField(Opcodes.ACC_PRIVATE | Opcodes.ACC_VOLATILE | Opcodes.ACC_SYNTHETIC | Opcodes.ACC_TRANSIENT,
                    FIELD, "Ljava/lang/Object;", null, null).visitEnd();

            MethodVisitor get = super.visitMethod(Opcodes.ACC_PUBLIC | Opcodes.ACC_SYNTHETIC, FIELD,
                    "()Ljava/lang/Object;", null, null);
            get.visitCode();
            get.visitVarInsn(Opcodes.ALOAD, 0);
            get.visitFieldInsn(Opcodes.GETFIELD, owner, FIELD, "Ljava/lang/Object;");
            get.visitInsn(Opcodes.ARETURN);
            get.visitMaxs(1, 1);
            get.visitEnd();

            MethodVisitor set = super.visitMethod(Opcodes.ACC_PUBLIC | Opcodes.ACC_SYNTHETIC, FIELD,
                    "(Ljava/lang/Object;)V", null, null);
            set.visitCode();
            set.visitVarInsn(Opcodes.ALOAD, 0);
            set.visitVarInsn(Opcodes.ALOAD, 1);
            set.visitFieldInsn(Opcodes.PUTFIELD, owner, FIELD, "Ljava/lang/Object;");
            set.visitInsn(Opcodes.RETURN);
            set.visitMaxs(2, 2);
            set.visitEnd();
            super.visitEnd();
        }
    }

    /** Emits {@code hook} before every {@code returnOpcode} of a method. */
    public static MethodVisitor beforeReturn(MethodVisitor mv, int returnOpcode, int extraStack,
                                             Consumer<MethodVisitor> hook) {
        return new MethodVisitor(ASM, mv) {
            @Override
            public void visitInsn(int opcode) {
                if (opcode == returnOpcode) {
                    hook.accept(getDelegate());
                }
                super.visitInsn(opcode);
            }

            @Override
            public void visitMaxs(int maxStack, int maxLocals) {
                super.visitMaxs(maxStack + extraStack, maxLocals);
            }
        };
    }

    /** Emits {@code hook} at the start of a method. */
    public static MethodVisitor atEntry(MethodVisitor mv, int extraStack, Consumer<MethodVisitor> hook) {
        return new MethodVisitor(ASM, mv) {
            @Override
            public void visitCode() {
                super.visitCode();
                hook.accept(getDelegate());
            }

            @Override
            public void visitMaxs(int maxStack, int maxLocals) {
                super.visitMaxs(maxStack + extraStack, maxLocals);
            }
        };
    }

    /**
     * Replaces calls to {@code owner.name desc} with what {@code replacement} emits (it receives the
     * call's opcode, and must leave the stack as the call would).
     */
    public static MethodVisitor replaceCalls(MethodVisitor mv, String owner, String name, String desc, int extraStack,
                                             Consumer<MethodVisitor> replacement) {
        return new MethodVisitor(ASM, mv) {
            @Override
            public void visitMethodInsn(int opcode, String o, String n, String d, boolean itf) {
                if (o.equals(owner) && n.equals(name) && d.equals(desc)) {
                    replacement.accept(getDelegate());
                } else {
                    super.visitMethodInsn(opcode, o, n, d, itf);
                }
            }

            @Override
            public void visitMaxs(int maxStack, int maxLocals) {
                super.visitMaxs(maxStack + extraStack, maxLocals);
            }
        };
    }

    /**
     * Brackets a whole method with {@code owner.enter()V} and {@code owner.exit()V}: exit runs before
     * every return and, through a catch-all handler that rethrows, when the method throws. The
     * handler is the last entry of the method's exception table, so the method's own handlers (its
     * catch and finally blocks) still come first for what is thrown inside their ranges. The
     * handler's frame lists the method's parameters only, so it is valid at every instruction of a
     * method that never stores into its parameter slots (javac never does).
     */
    public static MethodVisitor bracket(MethodVisitor mv, int access, String methodOwner, String desc,
                                        String hookOwner) {
        return bracket(mv, access, methodOwner, desc, m -> invokeStatic(m, hookOwner, "enter", "()V"), 0,
                hookOwner, "exit");
    }

    /**
     * {@link #bracket(MethodVisitor, int, String, String, String)} with the code at entry that
     * {@code entry} emits (it may use {@code entryStack} operand stack slots and must leave the
     * stack empty), and {@code exitOwner.exitName()V} at every end.
     */
    public static MethodVisitor bracket(MethodVisitor mv, int access, String methodOwner, String desc,
                                        Consumer<MethodVisitor> entry, int entryStack, String exitOwner,
                                        String exitName) {
        boolean isStatic = (access & Opcodes.ACC_STATIC) != 0;
        net.bytebuddy.jar.asm.Label start = new net.bytebuddy.jar.asm.Label();
        net.bytebuddy.jar.asm.Label end = new net.bytebuddy.jar.asm.Label();
        net.bytebuddy.jar.asm.Label handler = new net.bytebuddy.jar.asm.Label();
        return new MethodVisitor(ASM, mv) {
            @Override
            public void visitCode() {
                super.visitCode();
                entry.accept(getDelegate());
                super.visitLabel(start);
            }

            @Override
            public void visitInsn(int opcode) {
                if (opcode >= Opcodes.IRETURN && opcode <= Opcodes.RETURN) {
                    invokeStatic(getDelegate(), exitOwner, exitName, "()V");
                }
                super.visitInsn(opcode);
            }

            @Override
            public void visitMaxs(int maxStack, int maxLocals) {
                super.visitLabel(end);
                // declared after the method's own try-catch blocks (all visited before its first
                // instruction): the JVM takes the first entry whose range holds the throwing
                // instruction, and this one holds them all
                super.visitTryCatchBlock(start, end, handler, "java/lang/Throwable");
                super.visitLabel(handler);
                java.util.List<Object> locals = new java.util.ArrayList<>();
                if (!isStatic) {
                    locals.add(methodOwner);
                }
                for (net.bytebuddy.jar.asm.Type t : net.bytebuddy.jar.asm.Type.getArgumentTypes(desc)) {
                    switch (t.getSort()) {
                        case net.bytebuddy.jar.asm.Type.BOOLEAN:
                        case net.bytebuddy.jar.asm.Type.BYTE:
                        case net.bytebuddy.jar.asm.Type.CHAR:
                        case net.bytebuddy.jar.asm.Type.SHORT:
                        case net.bytebuddy.jar.asm.Type.INT:
                            locals.add(Opcodes.INTEGER);
                            break;
                        case net.bytebuddy.jar.asm.Type.FLOAT:
                            locals.add(Opcodes.FLOAT);
                            break;
                        case net.bytebuddy.jar.asm.Type.LONG:
                            locals.add(Opcodes.LONG);
                            break;
                        case net.bytebuddy.jar.asm.Type.DOUBLE:
                            locals.add(Opcodes.DOUBLE);
                            break;
                        case net.bytebuddy.jar.asm.Type.ARRAY:
                            locals.add(t.getDescriptor());
                            break;
                        default:
                            locals.add(t.getInternalName());
                    }
                }
                super.visitFrame(Opcodes.F_FULL, locals.size(), locals.toArray(), 1, new Object[]{"java/lang/Throwable"});
                invokeStatic(getDelegate(), exitOwner, exitName, "()V");
                super.visitInsn(Opcodes.ATHROW);
                super.visitMaxs(Math.max(maxStack, Math.max(1, entryStack)), maxLocals);
            }
        };
    }

    /** True for a method {@link #bracket} may wrap: one with code, not a constructor or initializer. */
    public static boolean bracketable(int access, String name) {
        return !name.startsWith("<") && (access & (Opcodes.ACC_ABSTRACT | Opcodes.ACC_NATIVE)) == 0;
    }

    public static void invokeStatic(MethodVisitor mv, String owner, String name, String desc) {
        mv.visitMethodInsn(Opcodes.INVOKESTATIC, owner, name, desc, false);
    }
}
