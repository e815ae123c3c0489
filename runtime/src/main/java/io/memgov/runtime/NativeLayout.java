package io.memgov.runtime;

import java.lang.invoke.MethodHandle;
import java.lang.invoke.MethodType;

/**
 * Where a framework's native tensor struct keeps its element count and its element type, learned
 * from tensors whose count and type are known, so that a tensor can be sized with two memory reads
 * instead of two JNI calls (about 120 ns of the 200 a DJL tensor's bookkeeping cost).
 *
 * <p>Nothing is assumed about the struct: {@link #learn} keeps only the offsets that hold the known
 * values in every sample (an int64 equal to the count, a 16-bit code that maps one-to-one to the
 * type) and gives up, returning null, unless exactly one offset of each kind is left. The samples
 * should mix shapes whose element counts differ from every dimension, and several types. A type code
 * that no sample showed is not sized here: {@link #bytes} returns -1 and the caller asks the
 * framework. Reads go through {@code sun.misc.Unsafe}; without it nothing is learned.
 */
public final class NativeLayout {
    private static final MethodHandle GET_LONG =
            UnsafeAccess.method("getLong", MethodType.methodType(long.class, long.class));
    private static final MethodHandle GET_SHORT =
            UnsafeAccess.method("getShort", MethodType.methodType(short.class, long.class));

    /** Type codes at or above this are never sized here. */
    static final int MAX_CODE = 256;

    private final long countOffset;
    private final long typeOffset;
    /** Element width by type code; 0: a code no sample showed. */
    private final int[] widthByCode;

    private NativeLayout(long countOffset, long typeOffset, int[] widthByCode) {
        this.countOffset = countOffset;
        this.typeOffset = typeOffset;
        this.widthByCode = widthByCode;
    }

    /** True when native memory can be read (sun.misc.Unsafe is there). */
    public static boolean readable() {
        return GET_LONG != null && GET_SHORT != null;
    }

    /**
     * Could {@code address} be a struct's address: 8-byte aligned and past the first 64 KiB (never
     * mapped)? Reading anything else would crash the JVM rather than throw; a struct this says yes to
     * must still be one the framework handed out.
     */
    public static boolean pointer(long address) {
        return (address & 7) == 0 && Long.compareUnsigned(address, 1L << 16) >= 0;
    }

    /** The 8 bytes at {@code address}. */
    public static long word(long address) {
        try {
            return (long) GET_LONG.invokeExact(address);
        } catch (Throwable t) {
            throw new IllegalStateException(t);
        }
    }

    /** The 16 bits at {@code address}, unsigned. */
    public static int u16(long address) {
        try {
            return ((short) GET_SHORT.invokeExact(address)) & 0xffff;
        } catch (Throwable t) {
            throw new IllegalStateException(t);
        }
    }

    /**
     * Learns the layout from samples: struct {@code i} starts at {@code structs[i]} and holds
     * {@code counts[i]} elements of type {@code types[i]} (the framework's own type number), each
     * {@code widths[i]} bytes wide. Offsets from 0 to {@code span} bytes are searched (the struct must
     * be at least that long). Returns null when native memory cannot be read, when the samples are
     * inconsistent, or when they leave no single offset for the count or for the type.
     */
    public static NativeLayout learn(long[] structs, long[] counts, int[] types, int[] widths, int span) {
        int n = structs.length;
        if (!readable() || n == 0 || counts.length != n || types.length != n || widths.length != n || span < 8) {
            return null;
        }
        for (int i = 0; i < n; i++) {
            if (structs[i] == 0 || counts[i] < 0 || widths[i] <= 0) {
                return null;
            }
            for (int j = 0; j < i; j++) {
                if (types[i] == types[j] && widths[i] != widths[j]) {
                    return null; // one type, two widths: the samples are wrong
                }
            }
        }
        long countOffset = -1;
        for (long o = 0; o + 8 <= span; o += 8) {
            boolean all = true;
            for (int i = 0; i < n && all; i++) {
                all = word(structs[i] + o) == counts[i];
            }
            if (all) {
                if (countOffset >= 0) {
                    return null; // two candidates: the samples do not tell them apart
                }
                countOffset = o;
            }
        }
        if (countOffset < 0) {
            return null;
        }
        long typeOffset = -1;
        int[] widthByCode = null;
        for (long o = 0; o + 2 <= span; o += 2) {
            int[] width = mapping(structs, types, widths, o);
            if (width != null) {
                if (typeOffset >= 0) {
                    return null;
                }
                typeOffset = o;
                widthByCode = width;
            }
        }
        return typeOffset < 0 ? null : new NativeLayout(countOffset, typeOffset, widthByCode);
    }

    /**
     * The width by code when the 16 bits at {@code offset} map the samples' types one-to-one to codes
     * under {@link #MAX_CODE} (and there are at least two types, so a constant field cannot pass);
     * else null. Most offsets fail at their first samples, so this is cheap even interpreted.
     */
    private static int[] mapping(long[] structs, int[] types, int[] widths, long offset) {
        int n = structs.length;
        int[] codes = new int[n];
        boolean twoTypes = false;
        for (int i = 0; i < n; i++) {
            int code = u16(structs[i] + offset);
            if (code >= MAX_CODE) {
                return null;
            }
            for (int j = 0; j < i; j++) {
                if ((types[j] == types[i]) != (codes[j] == code)) {
                    return null; // one type under two codes, or one code for two types
                }
            }
            codes[i] = code;
            twoTypes |= types[i] != types[0];
        }
        if (!twoTypes) {
            return null;
        }
        int[] width = new int[MAX_CODE];
        for (int i = 0; i < n; i++) {
            width[codes[i]] = widths[i];
        }
        return width;
    }

    /**
     * Bytes of the elements of the struct at {@code struct}: count times width, or -1 when its type
     * code is one no sample showed (or the count is negative).
     */
    public long bytes(long struct) {
        if (!pointer(struct)) {
            return -1;
        }
        long count = word(struct + countOffset);
        int code = u16(struct + typeOffset);
        int w = code < MAX_CODE ? widthByCode[code] : 0;
        return w == 0 || count < 0 ? -1 : count * w;
    }

    public long countOffset() { return countOffset; }
    public long typeOffset() { return typeOffset; }

    /** Number of type codes this layout sizes. */
    public int types() {
        int k = 0;
        for (int w : widthByCode) {
            k += w > 0 ? 1 : 0;
        }
        return k;
    }
}
