package org.nd4j.nativeblas;

import io.memgov.runtime.Governed;
import io.memgov.runtime.Governor;
import org.bytedeco.javacpp.Pointer;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.cpu.nativecpu.buffer.BaseCpuDataBuffer;

import java.util.concurrent.ConcurrentHashMap;

/**
 * The half of memgov's ND4J bridge that lives inside ND4J's class loader. The rewritten ND4J classes
 * call its static methods; every method catches its own Throwables (but lets ND4J's own exceptions
 * through where it calls ND4J on the caller's behalf).
 *
 * <p>It is never a class of the agent jar: the build stores its bytes as a resource.
 */
public final class MemgovNd4j {
    /** Workspace blocks by native address: they are freed by address. */
    private static final ConcurrentHashMap<Long, Object> BLOCKS = new ConcurrentHashMap<>();

    private MemgovNd4j() {
    }

    /** Return of {@code OpaqueDataBuffer.allocateDataBuffer(numElements, dataType, allocateBoth)}. */
    public static void allocated(Object buffer, long numElements, Object dataType) {
        try {
            if (buffer instanceof Governed && dataType instanceof DataType) {
                long bytes = numElements * ((DataType) dataType).width();
                ((Governed) buffer).memgov$tracked(Governor.allocate(Governor.FW_ND4J, 0, 0, bytes));
            }
        } catch (Throwable t) {
            Governor.adviceError("OpaqueDataBuffer.allocateDataBuffer", t);
        }
    }

    /**
     * The buffer's memory was freed: {@code OpaqueDataBuffer.closeBuffer()} (close) or
     * {@code CpuDeallocator.deallocate()} (the GC path). Whichever comes first releases; the other
     * finds nothing left.
     */
    public static void freed(Object buffer) {
        try {
            if (buffer instanceof Governed) {
                Governed g = (Governed) buffer;
                Object tracked = g.memgov$tracked();
                if (tracked != null) {
                    g.memgov$tracked(null);
                    Governor.release(tracked);
                }
            }
        } catch (Throwable t) {
            Governor.adviceError("OpaqueDataBuffer release", t);
        }
    }

    /** Replaces {@code buffer.expand(length)} in {@code BaseCpuDataBuffer.reallocate}. */
    public static void expand(OpaqueDataBuffer buffer, long length, Object dataBuffer) {
        buffer.expand(length);
        try {
            if (((Object) buffer) instanceof Governed && dataBuffer instanceof BaseCpuDataBuffer) {
                Governed g = (Governed) (Object) buffer;
                long bytes = length * ((BaseCpuDataBuffer) dataBuffer).getElementSize();
                g.memgov$tracked(Governor.resize(g.memgov$tracked(), bytes));
            }
        } catch (Throwable t) {
            Governor.adviceError("OpaqueDataBuffer.expand", t);
        }
    }

    /** Replaces {@code nativeOps.mallocHost(bytes, flags)}: a workspace block. */
    public static Pointer mallocHost(Object nativeOps, long bytes, int flags) {
        Pointer p = ((NativeOps) nativeOps).mallocHost(bytes, flags);
        try {
            if (p != null && !p.isNull()) {
                Object tracked = Governor.allocate(Governor.FW_ND4J_WORKSPACE, 0, 0, bytes);
                if (tracked != null) {
                    Object previous = BLOCKS.put(p.address(), tracked);
                    Governor.release(previous); // an address freed behind our back: it is gone
                }
            }
        } catch (Throwable t) {
            Governor.adviceError("NativeOps.mallocHost", t);
        }
        return p;
    }

    /** Replaces {@code nativeOps.freeHost(pointer)}. */
    public static int freeHost(Object nativeOps, Object pointer) {
        try {
            if (pointer instanceof Pointer && !((Pointer) pointer).isNull()) {
                Governor.release(BLOCKS.remove(((Pointer) pointer).address()));
            }
        } catch (Throwable t) {
            Governor.adviceError("NativeOps.freeHost", t);
        }
        return ((NativeOps) nativeOps).freeHost((Pointer) pointer);
    }
}
