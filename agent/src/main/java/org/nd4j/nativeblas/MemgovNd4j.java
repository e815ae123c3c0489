package org.nd4j.nativeblas;

import io.memgov.runtime.Governed;
import io.memgov.runtime.Governor;
import io.memgov.runtime.MemgovOutOfMemoryError;
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

    /**
     * Replaces {@code OpaqueDataBuffer.allocateDataBuffer(numElements, dataType, allocateBoth)} in
     * ND4J's CPU data buffers: admits {@code numElements × width} bytes under the HOST limit first
     * (spilling, waiting or failing per memgov.on-limit), then allocates, then counts the buffer.
     */
    public static OpaqueDataBuffer allocateDataBuffer(long numElements, DataType dataType, boolean allocateBoth) {
        Object reservation = null;
        try {
            reservation = Governor.reserve(Governor.FW_ND4J, 0, 0, numElements * dataType.width());
        } catch (MemgovOutOfMemoryError refused) {
            throw refused;
        } catch (Throwable t) {
            Governor.adviceError("OpaqueDataBuffer.allocateDataBuffer", t);
        }
        OpaqueDataBuffer buffer;
        try {
            buffer = OpaqueDataBuffer.allocateDataBuffer(numElements, dataType, allocateBoth);
        } catch (Throwable t) {
            Governor.cancel(reservation);
            throw t;
        }
        try {
            if (((Object) buffer) instanceof Governed) {
                ((Governed) (Object) buffer).memgov$tracked(Governor.commit(reservation));
            } else {
                Governor.cancel(reservation);
            }
        } catch (Throwable t) {
            Governor.adviceError("OpaqueDataBuffer.allocateDataBuffer", t);
        }
        return buffer;
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

    /**
     * {@code CpuDeallocator.deallocate()}: the garbage collector's path. A buffer still counted here
     * was never closed: a {@code leak} (logged, rate-limited), then released like {@link #freed}.
     */
    public static void deallocated(Object buffer) {
        try {
            if (buffer instanceof Governed) {
                Object tracked = ((Governed) buffer).memgov$tracked();
                if (tracked != null) {
                    Governor.leaked(tracked);
                }
            }
        } catch (Throwable t) {
            Governor.adviceError("CpuDeallocator.deallocate", t);
        }
        freed(buffer);
    }

    /**
     * Replaces {@code buffer.expand(length)} in {@code BaseCpuDataBuffer.reallocate}: the new size is
     * admitted first; once the buffer has grown, it is counted at its new size.
     */
    public static void expand(OpaqueDataBuffer buffer, long length, Object dataBuffer) {
        Governed governed = ((Object) buffer) instanceof Governed ? (Governed) (Object) buffer : null;
        Object reservation = null;
        try {
            if (governed != null && governed.memgov$tracked() != null && dataBuffer instanceof BaseCpuDataBuffer) {
                long bytes = length * ((BaseCpuDataBuffer) dataBuffer).getElementSize();
                reservation = Governor.reserve(Governor.FW_ND4J, 0, 0, bytes);
            }
        } catch (MemgovOutOfMemoryError refused) {
            throw refused;
        } catch (Throwable t) {
            Governor.adviceError("OpaqueDataBuffer.expand", t);
        }
        try {
            buffer.expand(length);
        } catch (Throwable t) {
            Governor.cancel(reservation);
            throw t;
        }
        try {
            if (reservation != null) {
                Object old = governed.memgov$tracked();
                governed.memgov$tracked(Governor.commit(reservation));
                Governor.release(old);
            }
        } catch (Throwable t) {
            Governor.adviceError("OpaqueDataBuffer.expand", t);
        }
    }

    /** Replaces {@code nativeOps.mallocHost(bytes, flags)}: a workspace block, admitted like a buffer. */
    public static Pointer mallocHost(Object nativeOps, long bytes, int flags) {
        Object reservation = null;
        try {
            reservation = Governor.reserve(Governor.FW_ND4J_WORKSPACE, 0, 0, bytes);
        } catch (MemgovOutOfMemoryError refused) {
            throw refused;
        } catch (Throwable t) {
            Governor.adviceError("NativeOps.mallocHost", t);
        }
        Pointer p;
        try {
            p = ((NativeOps) nativeOps).mallocHost(bytes, flags);
        } catch (Throwable t) {
            Governor.cancel(reservation);
            throw t;
        }
        try {
            if (p != null && !p.isNull()) {
                Object tracked = Governor.commit(reservation);
                if (tracked != null) {
                    Object previous = BLOCKS.put(p.address(), tracked);
                    Governor.release(previous); // an address freed behind our back: it is gone
                }
            } else {
                Governor.cancel(reservation);
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
