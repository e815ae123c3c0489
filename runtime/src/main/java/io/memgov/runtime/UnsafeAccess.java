package io.memgov.runtime;

import java.lang.invoke.MethodHandle;
import java.lang.invoke.MethodHandles;
import java.lang.invoke.MethodType;
import java.lang.reflect.Field;

/**
 * {@code sun.misc.Unsafe} (module jdk.unsupported), reached by reflection when the JVM offers it, as
 * method handles bound to the instance: kept in {@code static final} fields, they compile to the
 * plain intrinsics.
 */
public final class UnsafeAccess {
    private static final Class<?> TYPE;
    private static final Object UNSAFE;

    static {
        Class<?> type = null;
        Object unsafe = null;
        try {
            type = Class.forName("sun.misc.Unsafe");
            Field f = type.getDeclaredField("theUnsafe");
            f.setAccessible(true);
            unsafe = f.get(null);
        } catch (Throwable t) {
            // not available: every handle is null
        }
        TYPE = unsafe == null ? null : type;
        UNSAFE = unsafe;
    }

    private UnsafeAccess() {
    }

    /** Unsafe's method {@code name} of {@code type}, bound to the instance; null when there is none. */
    public static MethodHandle method(String name, MethodType type) {
        if (UNSAFE == null) {
            return null;
        }
        try {
            return MethodHandles.lookup().findVirtual(TYPE, name, type).bindTo(UNSAFE);
        } catch (Throwable t) {
            return null;
        }
    }
}
