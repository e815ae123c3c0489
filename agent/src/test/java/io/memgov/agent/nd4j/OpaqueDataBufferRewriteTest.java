package io.memgov.agent.nd4j;

import io.memgov.agent.asm.Stubs;
import io.memgov.runtime.Governed;
import org.junit.jupiter.api.Test;

import java.util.List;

import static io.memgov.agent.asm.Stubs.assertCalls;
import static io.memgov.agent.asm.Stubs.call;
import static io.memgov.agent.nd4j.Nd4jStubs.ODB;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** OpaqueDataBuffer's rewrite, on stub ND4J classes and a recording stub MemgovNd4j. */
class OpaqueDataBufferRewriteTest {
    private Stubs.Loader loader;

    private Object buffer(boolean spillMode) throws Throwable {
        loader = Nd4jStubs.with(ODB, new OpaqueDataBufferRewrite(spillMode)::rewrite);
        Object b = loader.create(ODB, new Class<?>[0]);
        loader.calls();
        return b;
    }

    @Test
    void rewritesOpaqueDataBufferAlways() {
        assertEquals("org/nd4j/nativeblas/OpaqueDataBuffer", new OpaqueDataBufferRewrite(false).type());
        assertTrue(new OpaqueDataBufferRewrite(false).applies());
    }

    @Test
    void itIsGoverned() throws Throwable {
        Governed b = (Governed) buffer(false);
        assertNull(b.memgov$tracked());
        Object tracked = new Object();
        b.memgov$tracked(tracked);
        assertSame(tracked, b.memgov$tracked());
    }

    @Test
    void closeBufferEndsWithFreedOnEveryReturn() throws Throwable {
        Object b = buffer(false);
        loader.call(ODB, b, "closeBuffer", new Class<?>[0]);
        assertCalls(List.of(call("closeBuffer", b), call("freed", b)), loader.calls());
        loader.call(ODB, b, "closeBuffer", new Class<?>[0]);
        assertCalls(List.of(call("closed already"), call("freed", b)), loader.calls());
    }

    @Test
    void spillModeAlsoStartsCloseBufferWithClosing() throws Throwable {
        Object b = buffer(true);
        loader.call(ODB, b, "closeBuffer", new Class<?>[0]);
        assertCalls(List.of(call("closing", b), call("closeBuffer", b), call("freed", b)), loader.calls());
    }

    @Test
    void itsOtherMethodsAreLeftAsTheyWere() throws Throwable {
        Object b = buffer(true);
        Class<?> dataType = loader.type("org.nd4j.linalg.api.buffer.DataType");
        loader.call(ODB, null, "allocateDataBuffer", new Class<?>[]{long.class, dataType, boolean.class}, 8L,
                dataType.getEnumConstants()[0], false);
        loader.call(ODB, b, "expand", new Class<?>[]{long.class}, 16L);
        assertCalls(List.of(call("ODB.allocateDataBuffer", 8L), call("ODB.expand", 16L)), loader.calls());
    }
}
