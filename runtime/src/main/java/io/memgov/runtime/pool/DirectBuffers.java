package io.memgov.runtime.pool;

import io.memgov.runtime.UnsafeAccess;

import java.lang.invoke.MethodHandle;
import java.lang.invoke.MethodType;
import java.lang.reflect.Field;
import java.nio.Buffer;
import java.nio.ByteBuffer;

/**
 * Direct {@link ByteBuffer}s as pool entries: freeing one at once (rather than when the GC finds it
 * unreachable), and reading its native address. Uses {@code sun.misc.Unsafe} (module jdk.unsupported)
 * when the JVM offers it; without it, a dropped buffer is left to the GC.
 */
public final class DirectBuffers {
    private static final MethodHandle INVOKE_CLEANER =
            UnsafeAccess.method("invokeCleaner", MethodType.methodType(void.class, ByteBuffer.class));
    private static final MethodHandle GET_LONG =
            UnsafeAccess.method("getLong", MethodType.methodType(long.class, Object.class, long.class));
    private static final long ADDRESS_OFFSET = addressOffset();

    /** Where a Buffer keeps its native address, or -1 when it cannot be found. */
    private static long addressOffset() {
        MethodHandle offset = UnsafeAccess.method("objectFieldOffset", MethodType.methodType(long.class, Field.class));
        try {
            return offset == null ? -1 : (long) offset.invoke(Buffer.class.getDeclaredField("address"));
        } catch (Throwable t) {
            return -1; // addresses unknown
        }
    }

    private DirectBuffers() {
    }

    /** The {@link BufferPool.Freer} of direct ByteBuffers. */
    public static final BufferPool.Freer FREER = (entry, bytes) -> free((ByteBuffer) entry);

    /** True when {@link #free} frees at once. */
    public static boolean canFree() {
        return INVOKE_CLEANER != null;
    }

    /**
     * Frees a direct buffer's memory now. {@code buffer} must be one that
     * {@link ByteBuffer#allocateDirect} returned (not a slice or duplicate), and nothing may use its
     * memory afterwards. Returns false when it was left to the GC.
     */
    public static boolean free(ByteBuffer buffer) {
        if (INVOKE_CLEANER == null || buffer == null || !buffer.isDirect()) {
            return false;
        }
        try {
            INVOKE_CLEANER.invokeExact(buffer);
            return true;
        } catch (Throwable t) {
            return false;
        }
    }

    /** The native address of a direct buffer's first byte, or 0 when it cannot be read. */
    public static long address(ByteBuffer buffer) {
        if (GET_LONG == null || ADDRESS_OFFSET < 0 || buffer == null || !buffer.isDirect()) {
            return 0;
        }
        try {
            return (long) GET_LONG.invokeExact((Object) buffer, ADDRESS_OFFSET);
        } catch (Throwable t) {
            return 0;
        }
    }
}
