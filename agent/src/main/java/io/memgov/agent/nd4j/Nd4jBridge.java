package io.memgov.agent.nd4j;

import io.memgov.agent.HelperBridge;
import io.memgov.agent.asm.Rewrites;
import net.bytebuddy.jar.asm.ClassReader;
import net.bytebuddy.jar.asm.ClassVisitor;
import net.bytebuddy.jar.asm.ClassWriter;
import net.bytebuddy.jar.asm.MethodVisitor;
import net.bytebuddy.jar.asm.Opcodes;

import java.io.IOException;
import java.util.ArrayList;
import java.util.List;

/**
 * The ND4J native CPU bridge (ND4J 1.0.0-M2.1). Rewrites:
 * <ul>
 * <li>{@code BaseCpuDataBuffer}: its {@code OpaqueDataBuffer.allocateDataBuffer} calls (every detached
 * buffer) go through the helper, which admits {@code numElements × width} bytes under the limit
 * first and counts the buffer; its {@code OpaqueDataBuffer.expand} calls go through the helper too,
 * which recounts the buffer at its new size.</li>
 * <li>{@code OpaqueDataBuffer}: implements {@link io.memgov.runtime.Governed};
 * {@code closeBuffer()} (close) releases it.</li>
 * <li>{@code CpuDeallocator.deallocate()} (the GC path) releases it too; whichever comes first counts
 * (a buffer the GC path finds still counted was never closed: a {@code leak} event).</li>
 * <li>{@code CpuMemoryManager} and {@code CpuWorkspace}: {@code NativeOps.mallocHost}/{@code freeHost}
 * calls (workspace blocks and their overflow) go through the helper, which counts them by address.</li>
 * </ul>
 * The logic is in {@code org.nd4j.nativeblas.MemgovNd4j}, defined in ND4J's own class loader.
 */
public final class Nd4jBridge extends HelperBridge {
    static final String ODB = "org/nd4j/nativeblas/OpaqueDataBuffer";
    static final String DEALLOCATOR = "org/nd4j/linalg/cpu/nativecpu/buffer/CpuDeallocator";
    static final String CPU_BUFFER = "org/nd4j/linalg/cpu/nativecpu/buffer/BaseCpuDataBuffer";
    static final String MEMORY_MANAGER = "org/nd4j/linalg/cpu/nativecpu/CpuMemoryManager";
    static final String WORKSPACE = "org/nd4j/linalg/cpu/nativecpu/workspace/CpuWorkspace";
    static final String NATIVE_OPS = "org/nd4j/nativeblas/NativeOps";
    static final String HELPER = "org/nd4j/nativeblas/MemgovNd4j";
    static final String ALLOCATE = "(JLorg/nd4j/linalg/api/buffer/DataType;Z)L" + ODB + ";";
    static final String MALLOC_HOST = "(JI)Lorg/bytedeco/javacpp/Pointer;";
    static final String FREE_HOST = "(Lorg/bytedeco/javacpp/Pointer;)I";
    static final String BASE_BUFFER = "org/nd4j/linalg/api/buffer/BaseDataBuffer";
    static final String LONG_BUFFER = "org/nd4j/linalg/cpu/nativecpu/buffer/LongBuffer";
    static final String BUFFER_ITF = HELPER + "$Buffer";
    static final String POINTER = "Lorg/bytedeco/javacpp/Pointer;";
    /** Fields through which ND4J code reaches a buffer's memory. */
    static final java.util.Set<String> MEMORY_FIELDS = java.util.Set.of(
            "pointer" + POINTER, "indexer" + "Lorg/bytedeco/javacpp/indexer/Indexer;", "ptrDataBuffer" + "L" + ODB + ";");
    /** Accessors that hand a buffer's memory out (a pointer, an indexer, an NIO buffer, an address). */
    static final java.util.Set<String> HANDOUTS = java.util.Set.of(
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
    static final java.util.Set<String> COMPARISONS = java.util.Set.of(
            "sameUnderlyingData(Lorg/nd4j/linalg/api/buffer/DataBuffer;)Z");
    /**
     * Classes whose methods hand buffer memory to native code within the call (ops, BLAS, LAPACK,
     * copies): in spill mode their methods are bracketed, and the buffers they touch stay pinned
     * until the outermost bracketed method returns.
     */
    static final List<String> NATIVE_CALLERS = List.of(
            "org/nd4j/linalg/cpu/nativecpu/ops/NativeOpExecutioner",
            "org/nd4j/linalg/cpu/nativecpu/blas/CpuLevel1",
            "org/nd4j/linalg/cpu/nativecpu/blas/CpuLevel2",
            "org/nd4j/linalg/cpu/nativecpu/blas/CpuLevel3",
            "org/nd4j/linalg/cpu/nativecpu/blas/CpuLapack",
            "org/nd4j/linalg/cpu/nativecpu/CpuNDArrayFactory",
            "org/nd4j/nativeblas/BaseNativeNDArrayFactory",
            "org/nd4j/linalg/api/memory/BasicMemoryManager");

    /**
     * Spill mode (a HOST limit with on-limit=spill): the data buffer classes' reads of their memory
     * fields go through the helper (which restores a spilled buffer and pins it), accessors that hand
     * memory out mark it escaped when called from outside ND4J's native-calling code, and those
     * classes' methods are bracketed so pins end when the native call's Java method ends.
     */
    private final boolean spillMode;
    /**
     * Pool mode (memgov.pool.enabled): buffers a data buffer allocates for itself (not those over a
     * Java array, which libnd4j replaces at once) are blocks of memgov's pool, handed to libnd4j as
     * external memory; {@code createUninitialized}'s are not zeroed.
     */
    private final boolean poolMode;

    public Nd4jBridge(boolean spillMode, boolean poolMode) {
        this.spillMode = spillMode;
        this.poolMode = poolMode;
    }

    @Override
    public String framework() {
        return "nd4j";
    }

    @Override
    public String probeClass() {
        return "org.nd4j.nativeblas.OpaqueDataBuffer";
    }

    @Override
    public List<String> targets() {
        List<String> t = new ArrayList<>();
        for (String s : new String[]{ODB, DEALLOCATOR, CPU_BUFFER, MEMORY_MANAGER, WORKSPACE}) {
            t.add(s.replace('/', '.'));
        }
        if (spillMode) {
            t.add(BASE_BUFFER.replace('/', '.'));
            t.add(LONG_BUFFER.replace('/', '.'));
            for (String s : NATIVE_CALLERS) {
                t.add(s.replace('/', '.'));
            }
        }
        return t;
    }

    @Override
    protected List<String> helpers() {
        String h = HELPER.replace('/', '.');
        return List.of(h, h + "$Buffer", h + "$ViewOf", h + "$Generation", h + "$Bridge", h + "$Block");
    }

    @Override
    protected String shapeProblem(ClassLoader loader, String internal, byte[] bytes) throws IOException {
        byte[] odb = classBytes(loader, ODB, internal, bytes);
        byte[] deallocator = classBytes(loader, DEALLOCATOR, internal, bytes);
        if (odb == null || deallocator == null) {
            return "OpaqueDataBuffer or CpuDeallocator cannot be read from the class loader "
                    + "(is nd4j-native, the CPU backend, on the class path?)";
        }
        Rewrites.Members o = Rewrites.Members.of(odb);
        if (o.governed()) {
            return "OpaqueDataBuffer is already instrumented by another copy of memgov";
        }
        List<String> missing = new ArrayList<>();
        for (String m : new String[]{"allocateDataBuffer" + ALLOCATE, "closeBuffer()V", "expand(J)V"}) {
            if (!o.methods.contains(m)) {
                missing.add("OpaqueDataBuffer." + m);
            }
        }
        Rewrites.Members d = Rewrites.Members.of(deallocator);
        if (!d.methods.contains("deallocate()V") || !d.fields.contains("opaqueDataBuffer")) {
            missing.add("CpuDeallocator.deallocate() over its opaqueDataBuffer");
        }
        return missing.isEmpty() ? null : "missing " + String.join(", ", missing);
    }

    @Override
    protected byte[] rewrite(String internal, byte[] bytes) {
        switch (internal) {
            case ODB:
                return Rewrites.rewrite(bytes, writer -> opaqueDataBuffer(writer, spillMode));
            case DEALLOCATOR:
                return Rewrites.rewrite(bytes, writer -> Rewrites.methods(writer, (access, name, desc, mv) -> {
                    MethodVisitor out = !spillMode ? mv : Rewrites.replaceCalls(mv, CPU_BUFFER, "getOpaqueDataBuffer",
                            "()L" + ODB + ";", 0, r -> Rewrites.invokeStatic(r, HELPER, "odb", "(Ljava/lang/Object;)L" + ODB + ";"));
                    return !(name.equals("deallocate") && desc.equals("()V")) ? out : Rewrites.atEntry(out, 1, m -> {
                        m.visitVarInsn(Opcodes.ALOAD, 0);
                        m.visitFieldInsn(Opcodes.GETFIELD, DEALLOCATOR, "opaqueDataBuffer", "L" + ODB + ";");
                        Rewrites.invokeStatic(m, HELPER, "deallocated", "(Ljava/lang/Object;)V");
                    });
                }));
            case CPU_BUFFER:
                return Rewrites.rewrite(bytes, writer -> {
                    java.util.Set<String> touching = spillMode ? touchingMemory(bytes) : java.util.Set.of();
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
                            if (desc.equals("(Lorg/nd4j/linalg/api/buffer/DataBuffer;JJ)V")) { // a view
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
                        return guardMemory(out, access, name, desc, CPU_BUFFER, touching);
                    });
                    return new BufferAccessors(methods);
                });
            case BASE_BUFFER:
            case LONG_BUFFER:
                return Rewrites.rewrite(bytes, writer -> {
                    java.util.Set<String> touching = touchingMemory(bytes);
                    return Rewrites.methods(writer, (access, name, desc, mv) ->
                            guardMemory(mv, access, name, desc, internal, touching));
                });
            case MEMORY_MANAGER:
            case WORKSPACE:
                return Rewrites.rewrite(bytes, writer -> Rewrites.methods(writer, (access, name, desc, mv) -> {
                    MethodVisitor out = Rewrites.replaceCalls(
                            Rewrites.replaceCalls(mv, NATIVE_OPS, "mallocHost", MALLOC_HOST, 0,
                                    r -> Rewrites.invokeStatic(r, HELPER, "mallocHost", "(Ljava/lang/Object;JI)Lorg/bytedeco/javacpp/Pointer;")),
                            NATIVE_OPS, "freeHost", FREE_HOST, 0,
                            r -> Rewrites.invokeStatic(r, HELPER, "freeHost", "(Ljava/lang/Object;Ljava/lang/Object;)I"));
                    return spillMode && internal.equals(MEMORY_MANAGER) && bracketable(access, name)
                            ? Rewrites.bracket(out, access, internal, desc, HELPER) : out;
                }));
            default: // a native-calling class (spill mode)
                return Rewrites.rewrite(bytes, writer -> Rewrites.methods(writer, (access, name, desc, mv) ->
                        bracketable(access, name) ? Rewrites.bracket(mv, access, internal, desc, HELPER) : mv));
        }
    }

    /** The helper call that replaces {@code allocateDataBuffer} in a {@code BaseCpuDataBuffer} method. */
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

    static boolean bracketable(int access, String name) {
        return !name.startsWith("<") && (access & (Opcodes.ACC_ABSTRACT | Opcodes.ACC_NATIVE)) == 0;
    }

    /** The methods ({@code name + desc}) of a class that read a buffer's memory fields. */
    static java.util.Set<String> touchingMemory(byte[] bytes) {
        java.util.Set<String> found = new java.util.HashSet<>();
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
     * Spill mode, one method of a data buffer class: each read of a memory field first calls the
     * helper's {@code use(buffer)}; hand-out accessors call {@code handout(this)} at entry; methods
     * that do either are bracketed.
     */
    static MethodVisitor guardMemory(MethodVisitor mv, int access, String name, String desc, String owner,
                                     java.util.Set<String> touching) {
        boolean handout = HANDOUTS.contains(name + desc) && (access & Opcodes.ACC_STATIC) == 0;
        boolean touches = touching.contains(name + desc);
        if (!touches && !handout) {
            return COMPARISONS.contains(name + desc) && bracketable(access, name)
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
        if (bracketable(access, name)) {
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

    /** Spill mode: {@code BaseCpuDataBuffer} implements the helper's Buffer (raw field reads). */
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
            getter("memgov$odb", CPU_BUFFER, "ptrDataBuffer", "L" + ODB + ";");
            getter("memgov$pointer", CPU_BUFFER, "pointer", POINTER);
            super.visitEnd();
        }

        private void getter(String name, String owner, String field, String type) {
            MethodVisitor m = cv.visitMethod(Opcodes.ACC_PUBLIC | Opcodes.ACC_SYNTHETIC, name, "()" + type, null, null);
            m.visitCode();
            m.visitVarInsn(Opcodes.ALOAD, 0);
            m.visitFieldInsn(Opcodes.GETFIELD, owner, field, type);
            m.visitInsn(Opcodes.ARETURN);
            m.visitMaxs(1, 1);
            m.visitEnd();
        }
    }

    private static ClassVisitor opaqueDataBuffer(ClassVisitor writer, boolean spillMode) {
        return new Rewrites.AddGoverned(writer, ODB) {
            @Override
            public MethodVisitor visitMethod(int access, String name, String desc, String sig, String[] exceptions) {
                MethodVisitor mv = super.visitMethod(access, name, desc, sig, exceptions);
                if (name.equals("closeBuffer") && desc.equals("()V")) {
                    if (spillMode) { // before ND4J frees the memory: a restore ahead of use ends first
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
        };
    }
}
