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
        return t;
    }

    @Override
    protected List<String> helpers() {
        return List.of(HELPER.replace('/', '.'));
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
                return Rewrites.rewrite(bytes, Nd4jBridge::opaqueDataBuffer);
            case DEALLOCATOR:
                return Rewrites.rewrite(bytes, writer -> Rewrites.methods(writer, (access, name, desc, mv) ->
                        !(name.equals("deallocate") && desc.equals("()V")) ? mv : Rewrites.atEntry(mv, 1, m -> {
                            m.visitVarInsn(Opcodes.ALOAD, 0);
                            m.visitFieldInsn(Opcodes.GETFIELD, DEALLOCATOR, "opaqueDataBuffer", "L" + ODB + ";");
                            Rewrites.invokeStatic(m, HELPER, "deallocated", "(Ljava/lang/Object;)V");
                        })));
            case CPU_BUFFER:
                return Rewrites.rewrite(bytes, writer -> Rewrites.methods(writer, (access, name, desc, mv) ->
                        Rewrites.replaceCalls(
                                Rewrites.replaceCalls(mv, ODB, "expand", "(J)V", 1, r -> {
                                    r.visitVarInsn(Opcodes.ALOAD, 0);
                                    Rewrites.invokeStatic(r, HELPER, "expand", "(L" + ODB + ";JLjava/lang/Object;)V");
                                }),
                                ODB, "allocateDataBuffer", ALLOCATE, 0,
                                r -> Rewrites.invokeStatic(r, HELPER, "allocateDataBuffer", ALLOCATE))));
            default: // CpuMemoryManager, CpuWorkspace
                return Rewrites.rewrite(bytes, writer -> Rewrites.methods(writer, (access, name, desc, mv) ->
                        Rewrites.replaceCalls(
                                Rewrites.replaceCalls(mv, NATIVE_OPS, "mallocHost", MALLOC_HOST, 0,
                                        r -> Rewrites.invokeStatic(r, HELPER, "mallocHost", "(Ljava/lang/Object;JI)Lorg/bytedeco/javacpp/Pointer;")),
                                NATIVE_OPS, "freeHost", FREE_HOST, 0,
                                r -> Rewrites.invokeStatic(r, HELPER, "freeHost", "(Ljava/lang/Object;Ljava/lang/Object;)I"))));
        }
    }

    private static ClassVisitor opaqueDataBuffer(ClassVisitor writer) {
        return new Rewrites.AddGoverned(writer, ODB) {
            @Override
            public MethodVisitor visitMethod(int access, String name, String desc, String sig, String[] exceptions) {
                MethodVisitor mv = super.visitMethod(access, name, desc, sig, exceptions);
                if (name.equals("closeBuffer") && desc.equals("()V")) {
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
