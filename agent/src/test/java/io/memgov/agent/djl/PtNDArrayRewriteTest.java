package io.memgov.agent.djl;

import io.memgov.agent.asm.Rewrites;
import io.memgov.agent.asm.Stubs;
import io.memgov.runtime.Described;
import io.memgov.runtime.Governed;
import io.memgov.runtime.Spillable;
import org.junit.jupiter.api.Test;

import java.lang.reflect.Modifier;
import java.nio.ByteBuffer;
import java.util.List;

import static io.memgov.agent.asm.Stubs.assertCalls;
import static io.memgov.agent.asm.Stubs.call;
import static io.memgov.agent.djl.DjlStubs.NDARRAY;
import static io.memgov.agent.djl.DjlStubs.PT_NDARRAY;
import static io.memgov.agent.djl.DjlStubs.PT_NDMANAGER;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** PtNDArray's rewrite, on stub DJL classes and a recording stub MemgovDjl. */
class PtNDArrayRewriteTest {
    private Stubs.Loader loader;
    private Object manager;

    private void load(boolean spillMode, boolean poolMode) throws Throwable {
        loader = DjlStubs.with(PT_NDARRAY, new PtNDArrayRewrite(spillMode, poolMode)::rewrite);
        manager = loader.create(PT_NDMANAGER, new Class<?>[0]);
    }

    private Object array(long handle) throws Throwable {
        return loader.create(PT_NDARRAY, new Class<?>[]{loader.type(PT_NDMANAGER), long.class}, manager, handle);
    }

    @Test
    void rewritesPtNDArrayAlways() {
        PtNDArrayRewrite r = new PtNDArrayRewrite(false, false);
        assertEquals("ai/djl/pytorch/engine/PtNDArray", r.type());
        assertTrue(r.applies());
    }

    @Test
    void theConstructorsEndWithCreated() throws Throwable {
        load(false, false);
        Object a = array(42L);
        assertCalls(List.of(call("PtNDArray(manager, handle)", 42L), call("created", a, manager, 42L, false)), loader.calls());

        Class<?>[] zeroCopy = {loader.type(PT_NDMANAGER), long.class, ByteBuffer.class};
        Object b = loader.create(PT_NDARRAY, zeroCopy, manager, 43L, ByteBuffer.allocateDirect(8));
        assertCalls(List.of(call("PtNDArray(manager, handle, data)", 43L), call("created", b, manager, 43L, true)),
                loader.calls());
        Object c = loader.create(PT_NDARRAY, zeroCopy, manager, 44L, null);
        assertCalls(List.of(call("no data"), call("created", c, manager, 44L, true)), loader.calls(),
                "every return of the constructor");
    }

    @Test
    void anotherConstructorIsCreatedOnceThroughTheOneItDelegatesTo() throws Throwable {
        load(false, false);
        Object a = loader.create(PT_NDARRAY, new Class<?>[]{loader.type(PT_NDMANAGER), String[].class}, manager,
                new String[]{"x"});
        assertCalls(List.of(call("PtNDArray(manager, handle)", -1L), call("created", a, manager, -1L, false),
                call("strings")), loader.calls());
    }

    @Test
    void closeEndsWithClosed() throws Throwable {
        load(false, false);
        Object a = array(1L);
        loader.calls();
        ((AutoCloseable) a).close();
        assertCalls(List.of(call("close"), call("closed", a)), loader.calls());
    }

    @Test
    void internStartsWithInterned() throws Throwable {
        load(false, false);
        Object a = array(1L);
        Object b = array(2L);
        loader.calls();
        loader.call(PT_NDARRAY, a, "intern", new Class<?>[]{loader.type(NDARRAY)}, b);
        assertCalls(List.of(call("interned", a, b), call("intern", b)), loader.calls());
    }

    @Test
    void spillModeBracketsIntern() throws Throwable {
        load(true, false);
        Object a = array(1L);
        Object b = array(2L);
        loader.calls();
        loader.call(PT_NDARRAY, a, "intern", new Class<?>[]{loader.type(NDARRAY)}, b);
        assertCalls(List.of(call("enter"), call("interned", a, b), call("intern", b), call("exit")), loader.calls());
    }

    @Test
    void itIsGovernedThroughAPrivateVolatileField() throws Throwable {
        load(false, false);
        Governed a = (Governed) array(1L);
        assertNull(a.memgov$tracked());
        Object tracked = new Object();
        a.memgov$tracked(tracked);
        assertSame(tracked, a.memgov$tracked());
        int modifiers = a.getClass().getDeclaredField(Rewrites.FIELD).getModifiers();
        assertTrue(Modifier.isPrivate(modifiers) && Modifier.isVolatile(modifiers) && Modifier.isTransient(modifiers));
        byte[] stub = DjlStubs.classes().get(PT_NDARRAY);
        assertFalse(Rewrites.Members.of(stub).governed());
        assertTrue(Rewrites.Members.of(new PtNDArrayRewrite(false, false).rewrite(stub)).governed(),
                "another copy of memgov recognizes the rewritten class");
    }

    @Test
    void itIsDescribedByWhatTheGovernorReadAtCreation() throws Throwable {
        load(false, false);
        Described a = (Described) array(1L);
        assertNull(a.memgov$sizes());
        assertEquals(-1, a.memgov$dataType(), "unknown until described");
        long[] sizes = {2, 3};
        a.memgov$describe(sizes, 4);
        assertSame(sizes, a.memgov$sizes());
        assertEquals(4, a.memgov$dataType());
        a.memgov$describe(sizes, 0);
        assertEquals(0, a.memgov$dataType());
    }

    @Test
    void theLazyGettersAskTheHelperNotLibtorch() throws Throwable {
        load(false, false);
        Object a = array(1L);
        loader.calls();
        Object shape = loader.call(PT_NDARRAY, a, "getShape", new Class<?>[0]);
        assertSame(loader.type("ai.djl.pytorch.jni.MemgovDjl").getField("SHAPE").get(null), shape);
        Object type = loader.call(PT_NDARRAY, a, "getDataType", new Class<?>[0]);
        assertEquals("FLOAT32", type.toString());
        assertCalls(List.of(call("shape", a), call("dataType", a)), loader.calls());
    }

    @Test
    void theViewConstructorAnnouncesTheViewThenConstructsOverTheHandleTheHelperGives() throws Throwable {
        load(false, false);
        Object source = array(1L);
        loader.calls();
        Object extra = new Object();
        Object view = loader.create(PT_NDARRAY, new Class<?>[]{loader.type(PT_NDMANAGER), long.class, Object.class,
                Object.class, int.class}, manager, 5L, source, extra, 2);
        assertCalls(List.of(call("view", 5L, source, extra, 2), call("PtNDArray(manager, handle)", 1005L),
                call("created", view, manager, 1005L, false)), loader.calls());
        assertTrue(loader.type(PT_NDARRAY).getDeclaredConstructor(loader.type(PT_NDMANAGER), long.class, Object.class,
                Object.class, int.class).isSynthetic());
    }

    @Test
    void spillModeMakesItSpillableOverItsHandleAndGetHandleGoesThroughTheHelper() throws Throwable {
        load(true, false);
        Object a = array(42L);
        loader.calls();
        Spillable s = (Spillable) a;
        assertEquals(42L, s.memgov$handle());
        assertEquals(42L, s.memgov$swapHandle(-1L));
        assertEquals(-1L, s.memgov$handle());
        assertFalse(s.memgov$casHandle(42L, 43L));
        Object current = s.memgov$handle();
        assertTrue(s.memgov$casHandle(current, 42L));
        assertEquals(42L, s.memgov$handle());
        assertCalls(List.of(), loader.calls());

        Object handle = loader.type("ai.djl.util.NativeResource").getMethod("getHandle").invoke(a);
        assertSame(loader.type("ai.djl.pytorch.jni.MemgovDjl").getField("HANDLE").get(null), handle);
        assertCalls(List.of(call("handle", a)), loader.calls());
    }

    @Test
    void withoutSpillModeItIsNeitherSpillableNorHooksGetHandle() throws Throwable {
        load(false, false);
        Object a = array(42L);
        loader.calls();
        assertFalse(a instanceof Spillable);
        assertEquals(42L, loader.type("ai.djl.util.NativeResource").getMethod("getHandle").invoke(a));
        assertCalls(List.of(call("NativeResource.getHandle")), loader.calls());
    }

    @Test
    void poolModeSetCopiesIntoAPooledBufferAndTellsTheHelper() throws Throwable {
        load(false, true);
        Object a = array(1L);
        loader.calls();
        loader.call(PT_NDARRAY, a, "set", new Class<?>[]{java.nio.Buffer.class}, ByteBuffer.allocate(8));
        List<List<Object>> calls = loader.calls();
        assertEquals(List.of("pooled allocateDirect", "JniUtils.set", "rebound"), Stubs.names(calls));
        Object pooled = calls.get(0).get(3);
        assertCalls(List.of(call("pooled allocateDirect", manager, 8, pooled), call("JniUtils.set", a, pooled),
                call("rebound", a, true)), calls);

        ByteBuffer direct = ByteBuffer.allocateDirect(8);
        loader.call(PT_NDARRAY, a, "set", new Class<?>[]{java.nio.Buffer.class}, direct);
        assertCalls(List.of(call("JniUtils.set", a, direct), call("rebound", a, false)), loader.calls(),
                "a direct buffer is set as it is, not pooled");
    }

    @Test
    void withoutPoolModeSetIsLeftAsItWas() throws Throwable {
        load(true, false);
        Object a = array(1L);
        loader.calls();
        loader.call(PT_NDARRAY, a, "set", new Class<?>[]{java.nio.Buffer.class}, ByteBuffer.allocate(8));
        assertEquals(List.of("PtNDManager.allocateDirect", "JniUtils.set"), Stubs.names(loader.calls()));
    }

    @Test
    void theRewriteAddsNoOtherMembersThanItsOwn() {
        byte[] stub = DjlStubs.classes().get(PT_NDARRAY);
        Rewrites.Members before = Rewrites.Members.of(stub);
        Rewrites.Members plain = Rewrites.Members.of(new PtNDArrayRewrite(false, false).rewrite(stub));
        Rewrites.Members spill = Rewrites.Members.of(new PtNDArrayRewrite(true, false).rewrite(stub));
        assertTrue(plain.methods.containsAll(before.methods));
        plain.methods.removeAll(before.methods);
        assertEquals(java.util.Set.of("memgov$tracked()Ljava/lang/Object;", "memgov$tracked(Ljava/lang/Object;)V",
                "memgov$describe([JI)V", "memgov$sizes()[J", "memgov$dataType()I",
                "<init>(Lai/djl/pytorch/engine/PtNDManager;JLjava/lang/Object;Ljava/lang/Object;I)V"), plain.methods);
        spill.methods.removeAll(before.methods);
        spill.methods.removeAll(plain.methods);
        assertEquals(java.util.Set.of("memgov$handle()Ljava/lang/Object;",
                "memgov$swapHandle(Ljava/lang/Object;)Ljava/lang/Object;",
                "memgov$casHandle(Ljava/lang/Object;Ljava/lang/Object;)Z", "getHandle()Ljava/lang/Object;"), spill.methods);
        assertEquals(java.util.Set.of("ai/djl/ndarray/NDArray", "io/memgov/runtime/Governed",
                "io/memgov/runtime/Described", "io/memgov/runtime/Spillable"), spill.interfaces);
        assertEquals(java.util.Set.of("ai/djl/ndarray/NDArray", "io/memgov/runtime/Governed",
                "io/memgov/runtime/Described"), plain.interfaces);
    }
}
