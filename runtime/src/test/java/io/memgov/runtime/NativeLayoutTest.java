package io.memgov.runtime;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import io.memgov.runtime.pool.DirectBuffers;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.util.ArrayList;
import java.util.List;

import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/** Fake native structs in direct buffers: a count at 40, a type code at 58, and fields that look alike. */
class NativeLayoutTest {
    private static final int SPAN = 128;
    private static final int COUNT_AT = 40;
    private static final int CODE_AT = 58;
    /** The framework's type numbers, their struct codes and widths. */
    private static final int[] TYPES = {0, 1, 3, 4, 6};
    private static final int[] CODES = {6, 7, 3, 4, 11};
    private static final int[] WIDTHS = {4, 8, 4, 8, 2};
    private static final long[][] SHAPES = {{3, 1237}, {5, 7, 11}, {70001}, {2, 3, 4, 5}};

    private final List<ByteBuffer> keep = new ArrayList<>();

    @BeforeEach
    void readable() {
        assumeTrue(NativeLayout.readable(), "sun.misc.Unsafe is not available");
    }

    private long struct(long[] shape, int code, long serial) {
        ByteBuffer b = ByteBuffer.allocateDirect(SPAN).order(ByteOrder.nativeOrder());
        keep.add(b);
        long count = 1;
        for (int i = 0; i < shape.length; i++) {
            count *= shape[i];
            b.putLong(64 + 8 * i, shape[i]); // sizes, like a tensor's: one of them equals the count for 1-D
        }
        b.putLong(0, 0x7f00_0000_1000L + serial * 64); // a pointer: differs per struct
        b.putLong(COUNT_AT, count);
        b.putShort(CODE_AT, (short) code);
        b.putShort(CODE_AT + 2, (short) 1); // a constant neighbour (a device index, say)
        b.putLong(8, shape.length);
        return DirectBuffers.address(b);
    }

    private static long count(long[] shape) {
        long n = 1;
        for (long d : shape) {
            n *= d;
        }
        return n;
    }

    /** Every type in every shape. */
    private NativeLayout learnAll(int types) {
        int n = types * SHAPES.length;
        long[] structs = new long[n];
        long[] counts = new long[n];
        int[] types2 = new int[n];
        int[] widths = new int[n];
        int k = 0;
        for (int t = 0; t < types; t++) {
            for (long[] shape : SHAPES) {
                structs[k] = struct(shape, CODES[t], k);
                counts[k] = count(shape);
                types2[k] = TYPES[t];
                widths[k] = WIDTHS[t];
                k++;
            }
        }
        return NativeLayout.learn(structs, counts, types2, widths, SPAN);
    }

    @Test
    void learnsTheCountAndTypeOffsetsAndSizesAStructWithTwoReads() {
        NativeLayout layout = learnAll(TYPES.length);
        assertNotNull(layout);
        assertEquals(COUNT_AT, layout.countOffset());
        assertEquals(CODE_AT, layout.typeOffset());
        assertEquals(TYPES.length, layout.types());
        assertEquals(12345L * 8, layout.bytes(struct(new long[]{5, 2469}, CODES[1], 99)));
        assertEquals(0L, layout.bytes(struct(new long[]{0, 4}, CODES[0], 98)), "an empty tensor has no bytes");
        assertEquals(1000L * 2, layout.bytes(struct(new long[]{1000}, CODES[4], 97)));
    }

    @Test
    void aTypeCodeNoSampleShowedIsNotSized() {
        NativeLayout layout = learnAll(TYPES.length);
        assertNotNull(layout);
        assertEquals(-1L, layout.bytes(struct(new long[]{10}, 5, 96)), "code 5 was never seen: the caller asks the framework");
        assertEquals(-1L, layout.bytes(struct(new long[]{10}, 300, 95)));
    }

    @Test
    void aNullOrMisalignedAddressIsNeverRead() {
        NativeLayout layout = learnAll(TYPES.length);
        assertNotNull(layout);
        assertEquals(-1L, layout.bytes(0));
        assertEquals(-1L, layout.bytes(8));
        assertEquals(-1L, layout.bytes(struct(new long[]{10}, CODES[0], 94) + 4));
        assertEquals(-1L, layout.bytes(-1L));
    }

    @Test
    void oneTypeCannotTellTheTypeFieldFromAConstantOne() {
        assertNull(learnAll(1));
    }

    @Test
    void twoFieldsThatAlwaysHoldTheCountAreAmbiguous() {
        long[] shape = {70001};
        long[] structs = {struct(shape, CODES[0], 1), struct(shape, CODES[1], 2)};
        // 1-D only: the first size equals the count in every sample
        assertNull(NativeLayout.learn(structs, new long[]{70001, 70001}, new int[]{TYPES[0], TYPES[1]},
                new int[]{WIDTHS[0], WIDTHS[1]}, SPAN));
    }

    @Test
    void inconsistentSamplesLearnNothing() {
        long a = struct(SHAPES[0], CODES[0], 1);
        long b = struct(SHAPES[1], CODES[1], 2);
        long[] counts = {count(SHAPES[0]), count(SHAPES[1])};
        assertNull(NativeLayout.learn(new long[]{a, b}, counts, new int[]{0, 0}, new int[]{4, 4}, SPAN),
                "one type under two codes");
        assertNull(NativeLayout.learn(new long[]{a, b}, counts, new int[]{0, 0}, new int[]{4, 8}, SPAN),
                "one type, two widths");
        assertNull(NativeLayout.learn(new long[]{a, b}, new long[]{counts[0], counts[1] + 1}, new int[]{0, 1},
                new int[]{4, 8}, SPAN), "a count no field holds");
        assertNull(NativeLayout.learn(new long[]{a, 0}, counts, new int[]{0, 1}, new int[]{4, 8}, SPAN), "a null struct");
        assertNull(NativeLayout.learn(new long[0], new long[0], new int[0], new int[0], SPAN));
    }
}
