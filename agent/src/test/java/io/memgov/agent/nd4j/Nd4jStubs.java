package io.memgov.agent.nd4j;

import io.memgov.agent.asm.Stubs;

import java.util.HashMap;
import java.util.Map;
import java.util.function.UnaryOperator;

/**
 * Stubs of the ND4J 1.0.0-M2.1 (and JavaCPP) classes the ND4J rewrites touch, under their real names,
 * with just those members, and a stub {@code MemgovNd4j} with the real helper's method descriptors
 * that records each call in {@code stub.Trace} (the real helper needs libnd4j).
 */
final class Nd4jStubs {
    static final String ODB = "org.nd4j.nativeblas.OpaqueDataBuffer";
    static final String DEALLOCATOR = "org.nd4j.linalg.cpu.nativecpu.buffer.CpuDeallocator";
    static final String CPU_BUFFER = "org.nd4j.linalg.cpu.nativecpu.buffer.BaseCpuDataBuffer";
    static final String BASE_BUFFER = "org.nd4j.linalg.api.buffer.BaseDataBuffer";
    static final String LONG_BUFFER = "org.nd4j.linalg.cpu.nativecpu.buffer.LongBuffer";
    static final String DATA_BUFFER = "org.nd4j.linalg.api.buffer.DataBuffer";
    static final String MEMORY_MANAGER = "org.nd4j.linalg.cpu.nativecpu.CpuMemoryManager";
    static final String WORKSPACE = "org.nd4j.linalg.cpu.nativecpu.workspace.CpuWorkspace";
    static final String NATIVE_OPS = "org.nd4j.nativeblas.NativeOps";
    static final String POINTER = "org.bytedeco.javacpp.Pointer";
    static final String HELPER = "org.nd4j.nativeblas.MemgovNd4j";

    static final Map<String, String> SOURCES = new HashMap<>();

    static {
        SOURCES.put(POINTER, "package org.bytedeco.javacpp;\n"
                + "public class Pointer { public final long address; public Pointer(long address) { this.address = address; } }\n");
        SOURCES.put("org.bytedeco.javacpp.indexer.Indexer", "package org.bytedeco.javacpp.indexer;\npublic class Indexer { }\n");
        SOURCES.put("org.nd4j.linalg.api.buffer.DataType", "package org.nd4j.linalg.api.buffer;\npublic enum DataType { FLOAT, LONG }\n");
        SOURCES.put(DATA_BUFFER, "package org.nd4j.linalg.api.buffer;\npublic interface DataBuffer { }\n");
        SOURCES.put(NATIVE_OPS, "package org.nd4j.nativeblas;\n"
                + "public interface NativeOps {\n"
                + "    org.bytedeco.javacpp.Pointer mallocHost(long bytes, int flags);\n"
                + "    int freeHost(org.bytedeco.javacpp.Pointer pointer);\n"
                + "}\n");
        SOURCES.put("stub.Ops", "package stub;\n"
                + "public final class Ops implements org.nd4j.nativeblas.NativeOps {\n"
                + "    public org.bytedeco.javacpp.Pointer mallocHost(long bytes, int flags) {\n"
                + "        Trace.add(\"NativeOps.mallocHost\", bytes); return new org.bytedeco.javacpp.Pointer(1);\n"
                + "    }\n"
                + "    public int freeHost(org.bytedeco.javacpp.Pointer pointer) { Trace.add(\"NativeOps.freeHost\"); return 0; }\n"
                + "}\n");
        SOURCES.put(ODB, "package org.nd4j.nativeblas;\n"
                + "import org.nd4j.linalg.api.buffer.DataType;\n"
                + "public class OpaqueDataBuffer {\n"
                + "    private boolean closed;\n"
                + "    public static OpaqueDataBuffer allocateDataBuffer(long elements, DataType dataType, boolean allocateBoth) {\n"
                + "        stub.Trace.add(\"ODB.allocateDataBuffer\", elements);\n"
                + "        return new OpaqueDataBuffer();\n"
                + "    }\n"
                + "    public void expand(long elements) { stub.Trace.add(\"ODB.expand\", elements); }\n"
                + "    public void closeBuffer() {\n"
                + "        if (closed) { stub.Trace.add(\"closed already\"); return; }\n"
                + "        closed = true;\n"
                + "        stub.Trace.add(\"closeBuffer\", this);\n"
                + "    }\n"
                + "}\n");
        SOURCES.put(BASE_BUFFER, "package org.nd4j.linalg.api.buffer;\n"
                + "import org.bytedeco.javacpp.Pointer;\nimport org.bytedeco.javacpp.indexer.Indexer;\n"
                + "public abstract class BaseDataBuffer implements DataBuffer {\n"
                + "    protected transient Indexer indexer;\n"
                + "    protected transient Pointer pointer;\n"
                + "    public Pointer pointer() { return pointer; }\n"
                + "    public Indexer indexer() { return indexer; }\n"
                + "    public long length() { return 4; }\n"
                + "    public boolean sameUnderlyingData(DataBuffer other) { return other == this; }\n"
                + "    public static Pointer peek(BaseDataBuffer buffer) { return buffer.pointer; }\n"
                + "}\n");
        SOURCES.put(CPU_BUFFER, "package org.nd4j.linalg.cpu.nativecpu.buffer;\n"
                + "import org.bytedeco.javacpp.Pointer;\nimport org.nd4j.nativeblas.OpaqueDataBuffer;\n"
                + "import org.nd4j.linalg.api.buffer.*;\n"
                + "public abstract class BaseCpuDataBuffer extends BaseDataBuffer {\n"
                + "    protected transient OpaqueDataBuffer ptrDataBuffer;\n"
                + "    protected BaseCpuDataBuffer(long length) {\n"
                + "        ptrDataBuffer = OpaqueDataBuffer.allocateDataBuffer(length, DataType.FLOAT, false);\n"
                + "        pointer = new Pointer(100);\n"
                + "        stub.Trace.add(\"BaseCpuDataBuffer(length)\");\n"
                + "    }\n"
                + "    protected BaseCpuDataBuffer(long length, boolean initialize) {\n"
                + "        ptrDataBuffer = OpaqueDataBuffer.allocateDataBuffer(length, DataType.FLOAT, false);\n"
                + "    }\n"
                + "    public BaseCpuDataBuffer(float[] data) {\n"
                + "        ptrDataBuffer = OpaqueDataBuffer.allocateDataBuffer(data.length, DataType.FLOAT, false);\n"
                + "    }\n"
                + "    protected BaseCpuDataBuffer(DataBuffer underlying, long length, long offset) {\n"
                + "        ptrDataBuffer = ((BaseCpuDataBuffer) underlying).ptrDataBuffer;\n"
                + "        stub.Trace.add(\"view\");\n"
                + "    }\n"
                + "    public void reallocate(long length) { ptrDataBuffer.expand(length); }\n"
                + "    public void reset(long length) { ptrDataBuffer = OpaqueDataBuffer.allocateDataBuffer(length, DataType.FLOAT, false); }\n"
                + "    public OpaqueDataBuffer getOpaqueDataBuffer() { stub.Trace.add(\"getOpaqueDataBuffer\"); return ptrDataBuffer; }\n"
                + "    public Pointer addressPointer() { return pointer; }\n"
                + "    public long address() { return addressPointer().address; }\n"
                + "    public long width() { return 4; }\n"
                + "    protected void release() { ptrDataBuffer.closeBuffer(); }\n"
                + "}\n");
        SOURCES.put(LONG_BUFFER, "package org.nd4j.linalg.cpu.nativecpu.buffer;\n"
                + "import org.nd4j.linalg.api.buffer.DataBuffer;\n"
                + "public class LongBuffer extends BaseCpuDataBuffer {\n"
                + "    public LongBuffer(long length) { super(length); }\n"
                + "    public LongBuffer(long length, boolean initialize) { super(length, initialize); }\n"
                + "    public LongBuffer(float[] data) { super(data); }\n"
                + "    public LongBuffer(DataBuffer underlying, long length, long offset) { super(underlying, length, offset); }\n"
                + "    public long first() { return pointer.address; }\n"
                + "    public void free() { release(); }\n"
                + "}\n");
        SOURCES.put(DEALLOCATOR, "package org.nd4j.linalg.cpu.nativecpu.buffer;\n"
                + "import org.nd4j.nativeblas.OpaqueDataBuffer;\n"
                + "public class CpuDeallocator {\n"
                + "    private final transient OpaqueDataBuffer opaqueDataBuffer;\n"
                + "    public CpuDeallocator(BaseCpuDataBuffer buffer) { opaqueDataBuffer = buffer.getOpaqueDataBuffer(); }\n"
                + "    public void deallocate() { stub.Trace.add(\"deallocate\"); opaqueDataBuffer.closeBuffer(); }\n"
                + "}\n");
        SOURCES.put(MEMORY_MANAGER, "package org.nd4j.linalg.cpu.nativecpu;\n"
                + "import org.bytedeco.javacpp.Pointer;\nimport org.nd4j.nativeblas.NativeOps;\n"
                + "public class CpuMemoryManager {\n"
                + "    private final NativeOps ops;\n"
                + "    public CpuMemoryManager(NativeOps ops) { this.ops = ops; }\n"
                + "    public Pointer allocate(long bytes) { return ops.mallocHost(bytes, 0); }\n"
                + "    public void release(Pointer pointer) { ops.freeHost(pointer); }\n"
                + "}\n");
        SOURCES.put(WORKSPACE, "package org.nd4j.linalg.cpu.nativecpu.workspace;\n"
                + "import org.bytedeco.javacpp.Pointer;\nimport org.nd4j.nativeblas.NativeOps;\n"
                + "public class CpuWorkspace {\n"
                + "    private final NativeOps ops;\n"
                + "    public CpuWorkspace(NativeOps ops) { this.ops = ops; }\n"
                + "    public Pointer init(long bytes) { return ops.mallocHost(bytes, 0); }\n"
                + "    public void destroy(Pointer pointer) { ops.freeHost(pointer); }\n"
                + "}\n");
        // the helper: MemgovNd4j's descriptors, each call recorded
        SOURCES.put(HELPER, "package org.nd4j.nativeblas;\n"
                + "import org.bytedeco.javacpp.Pointer;\nimport org.nd4j.linalg.api.buffer.DataType;\n"
                + "public final class MemgovNd4j {\n"
                + "    public interface Buffer { OpaqueDataBuffer memgov$odb(); Pointer memgov$pointer(); }\n"
                + "    public static final OpaqueDataBuffer ODB = new OpaqueDataBuffer();\n"
                + "    public static final Pointer HOST = new Pointer(7);\n"
                + "    public static OpaqueDataBuffer allocateDataBuffer(long elements, DataType dataType, boolean allocateBoth) {\n"
                + "        stub.Trace.add(\"allocateDataBuffer\", elements);\n"
                + "        return new OpaqueDataBuffer();\n"
                + "    }\n"
                + "    public static OpaqueDataBuffer allocatePooled(long elements, DataType dataType, boolean allocateBoth) {\n"
                + "        stub.Trace.add(\"allocatePooled\", elements);\n"
                + "        return new OpaqueDataBuffer();\n"
                + "    }\n"
                + "    public static OpaqueDataBuffer allocatePooled(long elements, DataType dataType, boolean allocateBoth,\n"
                + "            boolean zero) {\n"
                + "        stub.Trace.add(\"allocatePooled\", elements, zero);\n"
                + "        return new OpaqueDataBuffer();\n"
                + "    }\n"
                + "    public static void expand(OpaqueDataBuffer buffer, long length, Object dataBuffer) {\n"
                + "        stub.Trace.add(\"expand\", buffer, length, dataBuffer);\n"
                + "    }\n"
                + "    public static void constructed(Object buffer) { stub.Trace.add(\"constructed\", buffer); }\n"
                + "    public static void viewOf(Object parent) { stub.Trace.add(\"viewOf\", parent); }\n"
                + "    public static void viewDone(Object view, Object parent) { stub.Trace.add(\"viewDone\", view, parent); }\n"
                + "    public static void use(Object buffer) { stub.Trace.add(\"use\", buffer); }\n"
                + "    public static void handout(Object buffer) { stub.Trace.add(\"handout\", buffer); }\n"
                + "    public static void enter() { stub.Trace.add(\"enter\"); }\n"
                + "    public static void exit() { stub.Trace.add(\"exit\"); }\n"
                + "    public static void closing(Object odb) { stub.Trace.add(\"closing\", odb); }\n"
                + "    public static void freed(Object odb) { stub.Trace.add(\"freed\", odb); }\n"
                + "    public static void deallocated(Object odb) { stub.Trace.add(\"deallocated\", odb); }\n"
                + "    public static OpaqueDataBuffer odb(Object buffer) { stub.Trace.add(\"odb\", buffer); return ODB; }\n"
                + "    public static Pointer mallocHost(Object ops, long bytes, int flags) {\n"
                + "        stub.Trace.add(\"mallocHost\", ops, bytes, flags);\n"
                + "        return HOST;\n"
                + "    }\n"
                + "    public static int freeHost(Object ops, Object pointer) { stub.Trace.add(\"freeHost\", ops, pointer); return 0; }\n"
                + "}\n");
    }

    private static Map<String, byte[]> compiled;

    private Nd4jStubs() {
    }

    /** The stubs' class files (compiled once). */
    static synchronized Map<String, byte[]> classes() {
        if (compiled == null) {
            compiled = Stubs.compile(SOURCES);
        }
        return compiled;
    }

    /** A loader over the stubs with {@code binaryName} rewritten by {@code rewrite}. */
    static Stubs.Loader with(String binaryName, UnaryOperator<byte[]> rewrite) {
        return Stubs.load(Stubs.rewritten(classes(), binaryName, rewrite));
    }

    /** The static final field {@code name} of the stub helper in {@code loader}. */
    static Object helperField(Stubs.Loader loader, String name) throws ReflectiveOperationException {
        return loader.type(HELPER).getField(name).get(null);
    }
}
