package io.memgov.agent.djl;

import io.memgov.agent.asm.Stubs;

import java.util.HashMap;
import java.util.Map;
import java.util.function.UnaryOperator;

/**
 * Stubs of the DJL 0.36 classes the DJL rewrites touch, under their real names, with just those
 * members (shaped as DJL's bytecode is where a rewrite depends on it), and a stub
 * {@code MemgovDjl} with the real helper's method descriptors that records each call in
 * {@code stub.Trace} (the real helper needs libtorch).
 */
final class DjlStubs {
    static final String PT_NDARRAY = "ai.djl.pytorch.engine.PtNDArray";
    static final String PT_NDMANAGER = "ai.djl.pytorch.engine.PtNDManager";
    static final String JNI_UTILS = "ai.djl.pytorch.jni.JniUtils";
    static final String NDSERIALIZER = "ai.djl.ndarray.NDSerializer";
    static final String SHAPE = "ai.djl.ndarray.types.Shape";
    static final String DATA_TYPE = "ai.djl.ndarray.types.DataType";
    static final String NDARRAY = "ai.djl.ndarray.NDArray";
    static final String NDINDEX = "ai.djl.ndarray.index.NDIndex";

    static final Map<String, String> SOURCES = new HashMap<>();

    static {
        SOURCES.put("ai.djl.util.NativeResource", "package ai.djl.util;\n"
                + "public abstract class NativeResource<T> implements AutoCloseable {\n"
                + "    protected final java.util.concurrent.atomic.AtomicReference<T> handle;\n"
                + "    protected NativeResource(T handle) { this.handle = new java.util.concurrent.atomic.AtomicReference<>(handle); }\n"
                + "    public T getHandle() { stub.Trace.add(\"NativeResource.getHandle\"); return handle.get(); }\n"
                + "    public void close() { }\n"
                + "}\n");
        SOURCES.put(NDARRAY, "package ai.djl.ndarray;\npublic interface NDArray { }\n");
        SOURCES.put("ai.djl.ndarray.NDManager", "package ai.djl.ndarray;\n"
                + "public interface NDManager { java.nio.ByteBuffer allocateDirect(int capacity); }\n");
        SOURCES.put(SHAPE, "package ai.djl.ndarray.types;\n"
                + "public final class Shape { public final long[] dims; public Shape(long... dims) { this.dims = dims; } }\n");
        SOURCES.put(DATA_TYPE, "package ai.djl.ndarray.types;\npublic enum DataType { FLOAT32, INT8 }\n");
        SOURCES.put("ai.djl.ndarray.types.SparseFormat", "package ai.djl.ndarray.types;\npublic enum SparseFormat { DENSE }\n");
        SOURCES.put("ai.djl.Device", "package ai.djl;\npublic final class Device { }\n");
        SOURCES.put(NDINDEX, "package ai.djl.ndarray.index;\npublic final class NDIndex { }\n");
        SOURCES.put(PT_NDMANAGER, "package ai.djl.pytorch.engine;\n"
                + "import java.nio.*;\nimport ai.djl.ndarray.types.*;\nimport ai.djl.pytorch.jni.JniUtils;\n"
                + "public class PtNDManager implements ai.djl.ndarray.NDManager {\n"
                + "    public ByteBuffer allocateDirect(int capacity) {\n"
                + "        stub.Trace.add(\"PtNDManager.allocateDirect\", capacity);\n"
                + "        return ByteBuffer.allocateDirect(capacity);\n"
                + "    }\n"
                + "    public PtNDArray create(Buffer data, Shape shape, DataType dataType) {\n"
                + "        if (data.isDirect() && data instanceof ByteBuffer) {\n"
                + "            return JniUtils.createNdFromByteBuffer(this, (ByteBuffer) data, shape, dataType, SparseFormat.DENSE, null);\n"
                + "        }\n"
                + "        ByteBuffer copy = allocateDirect(data.capacity());\n"
                + "        return JniUtils.createNdFromByteBuffer(this, copy, shape, dataType, SparseFormat.DENSE, null);\n"
                + "    }\n"
                + "    public ByteBuffer scratch(int capacity) { return allocateDirect(capacity); }\n"
                + "}\n");
        SOURCES.put(PT_NDARRAY, "package ai.djl.pytorch.engine;\n"
                + "import java.nio.*;\nimport ai.djl.ndarray.types.*;\nimport ai.djl.pytorch.jni.JniUtils;\n"
                + "public class PtNDArray extends ai.djl.util.NativeResource<Long> implements ai.djl.ndarray.NDArray {\n"
                + "    private final PtNDManager manager;\n"
                + "    private Shape shape;\n"
                + "    private DataType dataType;\n"
                + "    public PtNDArray(PtNDManager manager, long handle) {\n"
                + "        super(handle);\n"
                + "        this.manager = manager;\n"
                + "        stub.Trace.add(\"PtNDArray(manager, handle)\", handle);\n"
                + "    }\n"
                + "    public PtNDArray(PtNDManager manager, long handle, ByteBuffer data) {\n"
                + "        super(handle);\n"
                + "        this.manager = manager;\n"
                + "        if (data == null) { stub.Trace.add(\"no data\"); return; }\n"
                + "        stub.Trace.add(\"PtNDArray(manager, handle, data)\", handle);\n"
                + "    }\n"
                + "    public PtNDArray(PtNDManager manager, String[] strs) { this(manager, -1L); stub.Trace.add(\"strings\"); }\n"
                + "    public PtNDManager getManager() { return manager; }\n"
                + "    public Shape getShape() { if (shape == null) { shape = JniUtils.getShape(this); } return shape; }\n"
                + "    public DataType getDataType() { if (dataType == null) { dataType = JniUtils.getDataType(this); } return dataType; }\n"
                + "    public void intern(ai.djl.ndarray.NDArray replaced) { stub.Trace.add(\"intern\", replaced); }\n"
                + "    public void set(Buffer data) {\n"
                + "        if (data.isDirect() && data instanceof ByteBuffer) { JniUtils.set(this, (ByteBuffer) data); return; }\n"
                + "        ByteBuffer copy = manager.allocateDirect(data.capacity());\n"
                + "        JniUtils.set(this, copy);\n"
                + "    }\n"
                + "    public void close() { stub.Trace.add(\"close\"); }\n"
                + "}\n");
        SOURCES.put(JNI_UTILS, "package ai.djl.pytorch.jni;\n"
                + "import java.nio.*;\nimport ai.djl.ndarray.types.*;\nimport ai.djl.ndarray.index.NDIndex;\n"
                + "import ai.djl.pytorch.engine.*;\n"
                + "public final class JniUtils {\n"
                + "    private JniUtils() { }\n"
                + "    public static PtNDArray createNdFromByteBuffer(PtNDManager manager, ByteBuffer data, Shape shape,\n"
                + "            DataType dataType, SparseFormat format, ai.djl.Device device) {\n"
                + "        stub.Trace.add(\"createNdFromByteBuffer\", data);\n"
                + "        return new PtNDArray(manager, 10L, data);\n"
                + "    }\n"
                + "    public static void set(PtNDArray array, ByteBuffer data) { stub.Trace.add(\"JniUtils.set\", array, data); }\n"
                + "    public static Shape getShape(PtNDArray array) { stub.Trace.add(\"JniUtils.getShape\"); return new Shape(1); }\n"
                + "    public static DataType getDataType(PtNDArray array) { stub.Trace.add(\"JniUtils.getDataType\"); return DataType.INT8; }\n"
                + "    public static PtNDArray slice(PtNDArray array, long begin) { return new PtNDArray(array.getManager(), 20L); }\n"
                + "    public static PtNDArray reshape(PtNDArray array, long[] shape) { return new PtNDArray(array.getManager(), 21L); }\n"
                + "    public static PtNDArray to(PtNDArray array, DataType dataType) { return new PtNDArray(array.getManager(), 22L); }\n"
                + "    public static PtNDArray indexAdv(PtNDArray array, NDIndex index, PtNDManager manager) {\n"
                + "        return new PtNDArray(manager, 23L);\n"
                + "    }\n"
                + "    public static PtNDArray indexAdv(PtNDArray array, long index) { return new PtNDArray(array.getManager(), 24L); }\n"
                + "    public static PtNDArray add(PtNDArray a, PtNDArray b) { return new PtNDArray(a.getManager(), 25L); }\n"
                + "    public static PtNDArray split(PtNDManager manager, long handle) { return new PtNDArray(manager, handle); }\n"
                + "    public static ByteBuffer getByteBuffer(PtNDArray array, boolean tryDirect) {\n"
                + "        stub.Trace.add(\"getByteBuffer\", tryDirect);\n"
                + "        return null;\n"
                + "    }\n"
                + "    public static void fail(PtNDArray array) { throw new IllegalStateException(\"libtorch failed\"); }\n"
                + "    public static PtNDArray uniform(PtNDManager manager, double low, double high, Shape shape,\n"
                + "            DataType dataType, ai.djl.Device device) { return new PtNDArray(manager, 30L); }\n"
                + "    public static PtNDArray full(PtNDManager manager, Shape shape, double value, DataType dataType,\n"
                + "            ai.djl.Device device, SparseFormat format) {\n"
                + "        if (value < 0) { throw new IllegalStateException(\"libtorch failed\"); }\n"
                + "        return new PtNDArray(manager, 31L);\n"
                + "    }\n"
                + "    private static native long torchThing(long handle);\n"
                + "}\n");
        SOURCES.put(NDSERIALIZER, "package ai.djl.ndarray;\n"
                + "import java.nio.ByteBuffer;\n"
                + "final class NDSerializer {\n"
                + "    private NDSerializer() { }\n"
                + "    static ByteBuffer decode(NDManager manager, int size) {\n"
                + "        ByteBuffer data = manager.allocateDirect(size);\n"
                + "        stub.Trace.add(\"read into\", data);\n"
                + "        return data;\n"
                + "    }\n"
                + "    static ByteBuffer decodePt(ai.djl.pytorch.engine.PtNDManager manager, int size) { return manager.allocateDirect(size); }\n"
                + "    static ByteBuffer heap(int size) { return ByteBuffer.allocateDirect(size); }\n"
                + "}\n");
        // the helper: MemgovDjl's descriptors, each call recorded
        SOURCES.put("ai.djl.pytorch.jni.MemgovDjl", "package ai.djl.pytorch.jni;\n"
                + "import java.nio.ByteBuffer;\nimport ai.djl.ndarray.types.*;\nimport ai.djl.pytorch.engine.*;\n"
                + "public final class MemgovDjl {\n"
                + "    public static final Shape SHAPE = new Shape(2, 3);\n"
                + "    public static final Long HANDLE = 77L;\n"
                + "    public static void created(Object array, Object manager, long handle, boolean zeroCopy) {\n"
                + "        stub.Trace.add(\"created\", array, manager, handle, zeroCopy);\n"
                + "    }\n"
                + "    public static void closed(Object array) { stub.Trace.add(\"closed\", array); }\n"
                + "    public static void interned(Object array, Object replaced) { stub.Trace.add(\"interned\", array, replaced); }\n"
                + "    public static long view(long handle, Object source, Object extra, int kind) {\n"
                + "        stub.Trace.add(\"view\", handle, source, extra, kind);\n"
                + "        return handle + 1000;\n"
                + "    }\n"
                + "    public static Shape shape(PtNDArray array) { stub.Trace.add(\"shape\", array); return SHAPE; }\n"
                + "    public static DataType dataType(PtNDArray array) { stub.Trace.add(\"dataType\", array); return DataType.FLOAT32; }\n"
                + "    public static Object handle(Object array) { stub.Trace.add(\"handle\", array); return HANDLE; }\n"
                + "    public static void ahead(Shape shape, DataType type, ai.djl.Device device) {\n"
                + "        stub.Trace.add(\"ahead\", shape, type, device);\n"
                + "        if (shape.dims.length == 0) { throw new OutOfMemoryError(\"memgov: refused\"); }\n"
                + "    }\n"
                + "    public static void behind() { stub.Trace.add(\"behind\"); }\n"
                + "    public static void enter() { stub.Trace.add(\"enter\"); }\n"
                + "    public static void exit() { stub.Trace.add(\"exit\"); }\n"
                + "    public static ByteBuffer allocateDirect(PtNDManager manager, int bytes) {\n"
                + "        ByteBuffer pooled = ByteBuffer.allocateDirect(bytes);\n"
                + "        stub.Trace.add(\"pooled allocateDirect\", manager, bytes, pooled);\n"
                + "        return pooled;\n"
                + "    }\n"
                + "    public static void adopt(Object array) { stub.Trace.add(\"adopt\", array); }\n"
                + "    public static void adoptOwned(Object array, Object data) { stub.Trace.add(\"adoptOwned\", array, data); }\n"
                + "    public static void rebound(Object array, boolean pooled) { stub.Trace.add(\"rebound\", array, pooled); }\n"
                + "}\n");
        SOURCES.put("io.memgov.runtime.Governor", "package io.memgov.runtime;\n"
                + "public final class Governor { public static void owned(Object buffer) { stub.Trace.add(\"owned\", buffer); } }\n");
    }

    private static Map<String, byte[]> compiled;

    private DjlStubs() {
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
}
