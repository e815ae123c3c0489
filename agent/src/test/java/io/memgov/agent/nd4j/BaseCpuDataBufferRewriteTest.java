package io.memgov.agent.nd4j;

import io.memgov.agent.asm.Stubs;
import org.junit.jupiter.api.Test;

import java.util.List;

import static io.memgov.agent.asm.Stubs.assertCalls;
import static io.memgov.agent.asm.Stubs.call;
import static io.memgov.agent.nd4j.Nd4jStubs.CPU_BUFFER;
import static io.memgov.agent.nd4j.Nd4jStubs.DATA_BUFFER;
import static io.memgov.agent.nd4j.Nd4jStubs.HELPER;
import static io.memgov.agent.nd4j.Nd4jStubs.LONG_BUFFER;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** BaseCpuDataBuffer's rewrite, through a LongBuffer left as it is. */
class BaseCpuDataBufferRewriteTest {
    private Stubs.Loader loader;

    private void load(boolean spillMode, boolean poolMode) {
        loader = Nd4jStubs.with(CPU_BUFFER, new BaseCpuDataBufferRewrite(spillMode, poolMode)::rewrite);
    }

    private Object buffer(long length) throws Throwable {
        return loader.create(LONG_BUFFER, new Class<?>[]{long.class}, length);
    }

    private Object invoke(Object buffer, String method) throws Throwable {
        return loader.call(CPU_BUFFER, buffer, method, new Class<?>[0]);
    }

    @Test
    void rewritesBaseCpuDataBufferAlways() {
        assertEquals("org/nd4j/linalg/cpu/nativecpu/buffer/BaseCpuDataBuffer", new BaseCpuDataBufferRewrite(false, false).type());
        assertTrue(new BaseCpuDataBufferRewrite(false, false).applies());
    }

    @Test
    void allocationsAndExpansionsGoThroughTheHelper() throws Throwable {
        load(false, false);
        Object b = buffer(8);
        assertCalls(List.of(call("allocateDataBuffer", 8L), call("BaseCpuDataBuffer(length)")), loader.calls());
        loader.create(LONG_BUFFER, new Class<?>[]{long.class, boolean.class}, 6L, true);
        assertCalls(List.of(call("allocateDataBuffer", 6L)), loader.calls());
        Object odb = invoke(b, "getOpaqueDataBuffer");
        loader.calls();
        loader.call(CPU_BUFFER, b, "reallocate", new Class<?>[]{long.class}, 16L);
        assertCalls(List.of(call("expand", odb, 16L, b)), loader.calls());
    }

    @Test
    void itGivesTheHelperRawAccessToItsMemoryInEveryMode() throws Throwable {
        for (boolean spill : new boolean[]{false, true}) {
            load(spill, false);
            Object b = buffer(8);
            Class<?> raw = loader.type(HELPER + "$Buffer");
            assertTrue(raw.isInstance(b));
            loader.calls();
            Object odb = raw.getMethod("memgov$odb").invoke(b);
            Object pointer = raw.getMethod("memgov$pointer").invoke(b);
            assertCalls(List.of(), loader.calls(), "raw reads, without hooks");
            assertSame(odb, invoke(b, "getOpaqueDataBuffer"));
            assertSame(pointer, invoke(b, "addressPointer"));
        }
    }

    @Test
    void poolModePoolsTheBuffersADataBufferAllocatesForItself() throws Throwable {
        load(false, true);
        buffer(8);
        assertCalls(List.of(call("allocatePooled", 8L), call("BaseCpuDataBuffer(length)")), loader.calls());
        loader.create(LONG_BUFFER, new Class<?>[]{long.class, boolean.class}, 6L, true);
        assertCalls(List.of(call("allocatePooled", 6L, false)), loader.calls(), "(length, initialize) zeroes itself");
        Object b = loader.create(LONG_BUFFER, new Class<?>[]{float[].class}, (Object) new float[3]);
        assertCalls(List.of(call("allocateDataBuffer", 3L)), loader.calls(), "not a buffer over a Java array");
        loader.call(CPU_BUFFER, b, "reset", new Class<?>[]{long.class}, 4L);
        assertCalls(List.of(call("allocateDataBuffer", 4L)), loader.calls(), "nor one allocated outside a constructor");
    }

    @Test
    void spillModeTellsTheHelperOfEachConstructedBufferAndView() throws Throwable {
        load(true, false);
        Object parent = buffer(8);
        assertCalls(List.of(call("allocateDataBuffer", 8L), call("BaseCpuDataBuffer(length)"), call("constructed", parent)),
                loader.calls());
        Object view = loader.create(LONG_BUFFER, new Class<?>[]{loader.type(DATA_BUFFER), long.class, long.class},
                parent, 4L, 0L);
        assertCalls(List.of(call("viewOf", parent), call("use", parent), call("view"), call("viewDone", view, parent),
                call("constructed", view)), loader.calls());
    }

    @Test
    void spillModeGuardsTheReadsOfItsMemoryAndItsHandouts() throws Throwable {
        load(true, false);
        Object b = buffer(8);
        loader.calls();
        Object odb = invoke(b, "getOpaqueDataBuffer");
        assertCalls(List.of(call("enter"), call("handout", b), call("getOpaqueDataBuffer"), call("use", b), call("exit")),
                loader.calls(), "a hand-out that reads a memory field");
        loader.call(CPU_BUFFER, b, "reallocate", new Class<?>[]{long.class}, 16L);
        assertCalls(List.of(call("enter"), call("use", b), call("expand", odb, 16L, b), call("exit")), loader.calls(),
                "a method that reads a memory field");
        assertEquals(100L, invoke(b, "address"));
        assertCalls(List.of(call("enter"), call("handout", b), call("enter"), call("handout", b), call("use", b),
                call("exit"), call("exit")), loader.calls(), "a hand-out that reads through another");
        assertEquals(4L, invoke(b, "width"));
        assertCalls(List.of(), loader.calls(), "a method that does neither");
    }

    @Test
    void spillModeLeavesReleaseAlone() throws Throwable {
        load(true, false);
        Object b = buffer(8);
        Object odb = invoke(b, "getOpaqueDataBuffer");
        loader.calls();
        loader.call(LONG_BUFFER, b, "free", new Class<?>[0]);
        assertCalls(List.of(call("closeBuffer", odb)), loader.calls(), "closing a spilled buffer does not restore it");
    }
}
