package io.memgov.agent.djl;

import io.memgov.agent.asm.Stubs;
import org.junit.jupiter.api.Test;

import java.lang.reflect.Modifier;
import java.util.List;

import static io.memgov.agent.asm.Stubs.assertCalls;
import static io.memgov.agent.asm.Stubs.call;
import static io.memgov.agent.djl.DjlStubs.DATA_TYPE;
import static io.memgov.agent.djl.DjlStubs.JNI_UTILS;
import static io.memgov.agent.djl.DjlStubs.NDINDEX;
import static io.memgov.agent.djl.DjlStubs.PT_NDARRAY;
import static io.memgov.agent.djl.DjlStubs.PT_NDMANAGER;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** JniUtils' rewrite, with PtNDArray rewritten too (its view constructor is PtNDArray's rewrite's). */
class JniUtilsRewriteTest {
    private Stubs.Loader loader;
    private Object manager;
    private Object array;

    private void load(boolean spillMode) throws Throwable {
        loader = Stubs.load(Stubs.rewritten(
                Stubs.rewritten(DjlStubs.classes(), PT_NDARRAY, new PtNDArrayRewrite(spillMode, false)::rewrite),
                JNI_UTILS, new JniUtilsRewrite(spillMode)::rewrite));
        manager = loader.create(PT_NDMANAGER, new Class<?>[0]);
        array = loader.create(PT_NDARRAY, new Class<?>[]{loader.type(PT_NDMANAGER), long.class}, manager, 1L);
        loader.calls();
    }

    private Object jni(String method, Class<?>[] types, Object... args) throws Throwable {
        return loader.call(JNI_UTILS, null, method, types, args);
    }

    private Class<?> arrayType() {
        return loader.type(PT_NDARRAY);
    }

    /** The calls a view of {@code source} over native handle {@code handle} makes, of this kind and extra. */
    private List<List<Object>> viewCalls(Object view, long handle, Object extra, int kind) {
        return List.of(call("view", handle, array, extra, kind), call("PtNDArray(manager, handle)", handle + 1000),
                call("created", view, manager, handle + 1000, false));
    }

    private Object[] factoryArgs() throws Throwable {
        Object shape = loader.create(DjlStubs.SHAPE, new Class<?>[]{long[].class}, (Object) new long[]{4, 5});
        Object type = loader.type(DATA_TYPE).getEnumConstants()[0];
        Object device = loader.create("ai.djl.Device", new Class<?>[0]);
        return new Object[]{shape, type, device};
    }

    private Object uniform(Object[] sized) throws Throwable {
        return jni("uniform", new Class<?>[]{loader.type(PT_NDMANAGER), double.class, double.class, loader.type(DjlStubs.SHAPE),
                loader.type(DATA_TYPE), loader.type("ai.djl.Device")}, manager, 0.0, 1.0, sized[0], sized[1], sized[2]);
    }

    @Test
    void aFactoryAdmitsItsTensorsBytesBeforeMakingItAndEndsWithBehind() throws Throwable {
        load(false);
        Object[] sized = factoryArgs();
        Object made = uniform(sized);
        assertCalls(List.of(call("ahead", sized[0], sized[1], sized[2]), call("PtNDArray(manager, handle)", 30L),
                call("created", made, manager, 30L, false), call("behind")), loader.calls(), "uniform, with no spill mode too");
        Class<?>[] full = {loader.type(PT_NDMANAGER), loader.type(DjlStubs.SHAPE), double.class, loader.type(DATA_TYPE),
            loader.type("ai.djl.Device"), loader.type("ai.djl.ndarray.types.SparseFormat")};
        assertThrows(IllegalStateException.class, () -> jni("full", full, manager, sized[0], -1.0, sized[1], sized[2], null));
        assertCalls(List.of(call("ahead", sized[0], sized[1], sized[2]), call("behind")), loader.calls(),
                "libtorch failed: what was reserved is given back");
        jni("createNdFromByteBuffer", new Class<?>[]{loader.type(PT_NDMANAGER), java.nio.ByteBuffer.class,
            loader.type(DjlStubs.SHAPE), loader.type(DATA_TYPE), loader.type("ai.djl.ndarray.types.SparseFormat"),
            loader.type("ai.djl.Device")}, manager, null, sized[0], sized[1], null, sized[2]);
        assertEquals("createNdFromByteBuffer", loader.calls().get(0).get(0), "a tensor over a buffer: no ahead");
    }

    @Test
    void inSpillModeTheFactorysAdmissionIsInsideThePinsAndARefusalEndsOnlyThem() throws Throwable {
        load(true);
        Object[] sized = factoryArgs();
        Object made = uniform(sized);
        assertCalls(List.of(call("enter"), call("ahead", sized[0], sized[1], sized[2]), call("PtNDArray(manager, handle)", 30L),
                call("created", made, manager, 30L, false), call("behind"), call("exit")), loader.calls());
        Object empty = loader.create(DjlStubs.SHAPE, new Class<?>[]{long[].class}, (Object) new long[0]);
        OutOfMemoryError e = assertThrows(OutOfMemoryError.class, () -> uniform(new Object[]{empty, sized[1], sized[2]}));
        assertEquals("memgov: refused", e.getMessage());
        assertCalls(List.of(call("enter"), call("ahead", empty, sized[1], sized[2]), call("exit")), loader.calls(),
                "refused: nothing was reserved, no behind(); the pins end");
    }

    @Test
    void theFactoriesArgumentSlots() {
        String m = "Lai/djl/pytorch/engine/PtNDManager;";
        String t = "Lai/djl/ndarray/types/Shape;Lai/djl/ndarray/types/DataType;Lai/djl/Device;";
        String r = ")Lai/djl/pytorch/engine/PtNDArray;";
        int st = java.lang.reflect.Modifier.STATIC;
        assertTrue(java.util.Arrays.equals(new int[]{5, 6, 7}, JniUtilsRewrite.factoryArgs(st, "(" + m + "DD" + t + r)), "uniform");
        assertTrue(java.util.Arrays.equals(new int[]{1, 2, 3},
                JniUtilsRewrite.factoryArgs(st, "(" + m + t + "Lai/djl/ndarray/types/SparseFormat;" + r)), "zeros");
        assertNull(JniUtilsRewrite.factoryArgs(st, "(" + m + "Ljava/nio/ByteBuffer;" + t + r), "over a buffer");
        assertNull(JniUtilsRewrite.factoryArgs(st, "(" + m + "Lai/djl/ndarray/types/Shape;" + r), "no type nor device");
        assertNull(JniUtilsRewrite.factoryArgs(0, "(" + m + t + r), "not static");
    }

    @Test
    void rewritesJniUtilsAlways() {
        assertEquals("ai/djl/pytorch/jni/JniUtils", new JniUtilsRewrite(false).type());
        assertTrue(new JniUtilsRewrite(false).applies());
    }

    @Test
    void theViewMethodsConstructTheirResultThroughTheViewConstructorWithTheirKind() throws Throwable {
        load(false);
        Object slice = jni("slice", new Class<?>[]{arrayType(), long.class}, array, 0L);
        assertCalls(viewCalls(slice, 20L, null, 0), loader.calls(), "slice: always a view");
        Object reshaped = jni("reshape", new Class<?>[]{arrayType(), long[].class}, array, new long[]{2});
        assertCalls(viewCalls(reshaped, 21L, null, 1), loader.calls(), "reshape: a view if contiguous");
        Object to = jni("to", new Class<?>[]{arrayType(), loader.type(DATA_TYPE)}, array, null);
        assertCalls(viewCalls(to, 22L, null, 2), loader.calls(), "to: a view if the same type");
        Object index = loader.create(NDINDEX, new Class<?>[0]);
        Object indexed = jni("indexAdv", new Class<?>[]{arrayType(), loader.type(NDINDEX), loader.type(PT_NDMANAGER)},
                array, index, manager);
        assertCalls(viewCalls(indexed, 23L, index, 3), loader.calls(), "indexAdv: a view if a basic index, given with it");
    }

    @Test
    void otherMethodsConstructArraysAsTheyDid() throws Throwable {
        load(false);
        Object sum = jni("add", new Class<?>[]{arrayType(), arrayType()}, array, array);
        assertCalls(List.of(call("PtNDArray(manager, handle)", 25L), call("created", sum, manager, 25L, false)),
                loader.calls(), "not a view method");
        Object split = jni("split", new Class<?>[]{loader.type(PT_NDMANAGER), long.class}, manager, 26L);
        assertCalls(List.of(call("PtNDArray(manager, handle)", 26L), call("created", split, manager, 26L, false)),
                loader.calls(), "a view method's name, but not over an array");
        Object indexed = jni("indexAdv", new Class<?>[]{arrayType(), long.class}, array, 3L);
        assertCalls(List.of(call("PtNDArray(manager, handle)", 24L), call("created", indexed, manager, 24L, false)),
                loader.calls(), "indexAdv without an NDIndex");
    }

    @Test
    void withoutSpillModeNothingIsBracketedAndGetByteBufferMayGoDirect() throws Throwable {
        load(false);
        assertNull(jni("getByteBuffer", new Class<?>[]{arrayType(), boolean.class}, array, true));
        assertCalls(List.of(call("getByteBuffer", true)), loader.calls());
        assertThrows(IllegalStateException.class, () -> jni("fail", new Class<?>[]{arrayType()}, array));
        assertCalls(List.of(), loader.calls());
    }

    @Test
    void spillModeBracketsEveryMethodAndGetByteBufferAlwaysCopies() throws Throwable {
        load(true);
        assertNull(jni("getByteBuffer", new Class<?>[]{arrayType(), boolean.class}, array, true));
        assertCalls(List.of(call("enter"), call("getByteBuffer", false), call("exit")), loader.calls());

        Object slice = jni("slice", new Class<?>[]{arrayType(), long.class}, array, 0L);
        List<List<Object>> calls = loader.calls();
        assertEquals(call("enter"), calls.get(0));
        assertCalls(viewCalls(slice, 20L, null, 0), calls.subList(1, 4));
        assertEquals(List.of(call("exit")), calls.subList(4, calls.size()));

        IllegalStateException e = assertThrows(IllegalStateException.class,
                () -> jni("fail", new Class<?>[]{arrayType()}, array));
        assertEquals("libtorch failed", e.getMessage());
        assertCalls(List.of(call("enter"), call("exit")), loader.calls());
    }

    @Test
    void nativeMethodsStayNative() throws Throwable {
        load(true);
        assertTrue(Modifier.isNative(loader.type(JNI_UTILS).getDeclaredMethod("torchThing", long.class).getModifiers()));
    }
}
