package io.memgov.agent.nd4j;

import io.memgov.agent.asm.Stubs;
import org.junit.jupiter.api.Test;

import java.util.List;

import static io.memgov.agent.asm.Stubs.assertCalls;
import static io.memgov.agent.asm.Stubs.call;
import static io.memgov.agent.nd4j.Nd4jStubs.CPU_BUFFER;
import static io.memgov.agent.nd4j.Nd4jStubs.DEALLOCATOR;
import static io.memgov.agent.nd4j.Nd4jStubs.LONG_BUFFER;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** CpuDeallocator's rewrite: the GC path tells the helper first. */
class CpuDeallocatorRewriteTest {
    private Stubs.Loader loader;
    private Object buffer;

    private Object deallocator(boolean spillMode) throws Throwable {
        loader = Nd4jStubs.with(DEALLOCATOR, new CpuDeallocatorRewrite(spillMode)::rewrite);
        buffer = loader.create(LONG_BUFFER, new Class<?>[]{long.class}, 8L);
        loader.calls();
        return loader.create(DEALLOCATOR, new Class<?>[]{loader.type(CPU_BUFFER)}, buffer);
    }

    @Test
    void rewritesCpuDeallocatorAlways() {
        assertEquals("org/nd4j/linalg/cpu/nativecpu/buffer/CpuDeallocator", new CpuDeallocatorRewrite(true).type());
        assertTrue(new CpuDeallocatorRewrite(false).applies());
    }

    @Test
    void deallocateStartsWithDeallocatedOverItsOpaqueDataBuffer() throws Throwable {
        Object d = deallocator(false);
        List<List<Object>> created = loader.calls();
        assertCalls(List.of(call("getOpaqueDataBuffer")), created, "without spill mode, the buffer's own getter");
        Object odb = loader.call(CPU_BUFFER, buffer, "getOpaqueDataBuffer", new Class<?>[0]);
        loader.calls();
        loader.call(DEALLOCATOR, d, "deallocate", new Class<?>[0]);
        assertCalls(List.of(call("deallocated", odb), call("deallocate"), call("closeBuffer", odb)), loader.calls());
    }

    @Test
    void spillModeReadsTheBuffersOpaqueDataBufferThroughTheHelper() throws Throwable {
        Object d = deallocator(true);
        assertCalls(List.of(call("odb", buffer)), loader.calls(), "not through the hooked getter");
        Object odb = Nd4jStubs.helperField(loader, "ODB");
        loader.call(DEALLOCATOR, d, "deallocate", new Class<?>[0]);
        assertCalls(List.of(call("deallocated", odb), call("deallocate"), call("closeBuffer", odb)), loader.calls());
    }
}
