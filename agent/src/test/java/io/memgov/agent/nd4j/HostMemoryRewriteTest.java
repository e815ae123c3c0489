package io.memgov.agent.nd4j;

import io.memgov.agent.asm.Stubs;
import org.junit.jupiter.api.Test;

import java.util.List;

import static io.memgov.agent.asm.Stubs.assertCalls;
import static io.memgov.agent.asm.Stubs.call;
import static io.memgov.agent.nd4j.Nd4jStubs.MEMORY_MANAGER;
import static io.memgov.agent.nd4j.Nd4jStubs.NATIVE_OPS;
import static io.memgov.agent.nd4j.Nd4jStubs.POINTER;
import static io.memgov.agent.nd4j.Nd4jStubs.WORKSPACE;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** CpuMemoryManager's and CpuWorkspace's rewrites: host mallocs and frees through the helper. */
class HostMemoryRewriteTest {
    private Stubs.Loader loader;
    private Object ops;

    private Object instance(String type, HostMemoryRewrite rewrite) throws Throwable {
        loader = Nd4jStubs.with(type, rewrite::rewrite);
        ops = loader.create("stub.Ops", new Class<?>[0]);
        return loader.create(type, new Class<?>[]{loader.type(NATIVE_OPS)}, ops);
    }

    private void assertMallocAndFreeGoThroughTheHelper(String type, Object owner, String malloc, String free,
                                                       boolean bracketed) throws Throwable {
        Object pointer = loader.call(type, owner, malloc, new Class<?>[]{long.class}, 64L);
        assertSame(Nd4jStubs.helperField(loader, "HOST"), pointer);
        List<List<Object>> expected = List.of(call("mallocHost", ops, 64L, 0));
        assertCalls(bracketed ? List.of(call("enter"), expected.get(0), call("exit")) : expected, loader.calls());
        loader.call(type, owner, free, new Class<?>[]{loader.type(POINTER)}, pointer);
        expected = List.of(call("freeHost", ops, pointer));
        assertCalls(bracketed ? List.of(call("enter"), expected.get(0), call("exit")) : expected, loader.calls());
    }

    @Test
    void bothApplyAlways() {
        assertEquals("org/nd4j/linalg/cpu/nativecpu/CpuMemoryManager", HostMemoryRewrite.cpuMemoryManager(false).type());
        assertEquals("org/nd4j/linalg/cpu/nativecpu/workspace/CpuWorkspace", HostMemoryRewrite.cpuWorkspace().type());
        assertTrue(HostMemoryRewrite.cpuMemoryManager(false).applies());
        assertTrue(HostMemoryRewrite.cpuWorkspace().applies());
    }

    @Test
    void theMemoryManagersHostMemoryGoesThroughTheHelper() throws Throwable {
        Object m = instance(MEMORY_MANAGER, HostMemoryRewrite.cpuMemoryManager(false));
        assertMallocAndFreeGoThroughTheHelper(MEMORY_MANAGER, m, "allocate", "release", false);
    }

    @Test
    void spillModeAlsoBracketsTheMemoryManager() throws Throwable {
        Object m = instance(MEMORY_MANAGER, HostMemoryRewrite.cpuMemoryManager(true));
        assertMallocAndFreeGoThroughTheHelper(MEMORY_MANAGER, m, "allocate", "release", true);
    }

    @Test
    void theWorkspacesHostMemoryGoesThroughTheHelperUnbracketed() throws Throwable {
        Object w = instance(WORKSPACE, HostMemoryRewrite.cpuWorkspace());
        assertMallocAndFreeGoThroughTheHelper(WORKSPACE, w, "init", "destroy", false);
    }
}
