package io.memgov.agent.nd4j;

import io.memgov.agent.asm.Stubs;
import org.junit.jupiter.api.Test;

import java.util.List;

import static io.memgov.agent.asm.Stubs.assertCalls;
import static io.memgov.agent.asm.Stubs.call;
import static io.memgov.agent.nd4j.Nd4jStubs.BASE_BUFFER;
import static io.memgov.agent.nd4j.Nd4jStubs.DATA_BUFFER;
import static io.memgov.agent.nd4j.Nd4jStubs.LONG_BUFFER;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** BaseDataBuffer's and LongBuffer's spill-mode guards. */
class DataBufferRewriteTest {
    private Stubs.Loader loader;
    private Object buffer;

    private void load(String type, DataBufferRewrite rewrite) throws Throwable {
        loader = Nd4jStubs.with(type, rewrite::rewrite);
        buffer = loader.create(LONG_BUFFER, new Class<?>[]{long.class}, 8L);
        loader.calls();
    }

    @Test
    void bothApplyInSpillModeOnly() {
        assertEquals("org/nd4j/linalg/api/buffer/BaseDataBuffer", DataBufferRewrite.baseDataBuffer(true).type());
        assertEquals("org/nd4j/linalg/cpu/nativecpu/buffer/LongBuffer", DataBufferRewrite.longBuffer(true).type());
        assertTrue(DataBufferRewrite.baseDataBuffer(true).applies());
        assertTrue(DataBufferRewrite.longBuffer(true).applies());
        assertFalse(DataBufferRewrite.baseDataBuffer(false).applies());
        assertFalse(DataBufferRewrite.longBuffer(false).applies());
    }

    @Test
    void baseDataBuffersReadsHandoutsAndComparisonsAreGuarded() throws Throwable {
        load(BASE_BUFFER, DataBufferRewrite.baseDataBuffer(true));
        loader.call(BASE_BUFFER, buffer, "pointer", new Class<?>[0]);
        assertCalls(List.of(call("enter"), call("handout", buffer), call("use", buffer), call("exit")), loader.calls(),
                "a hand-out");
        loader.call(BASE_BUFFER, null, "peek", new Class<?>[]{loader.type(BASE_BUFFER)}, buffer);
        assertCalls(List.of(call("enter"), call("use", buffer), call("exit")), loader.calls(),
                "a static read is no hand-out");
        assertEquals(true, loader.call(BASE_BUFFER, buffer, "sameUnderlyingData", new Class<?>[]{loader.type(DATA_BUFFER)},
                buffer));
        assertCalls(List.of(call("enter"), call("exit")), loader.calls(), "a comparison is bracketed only");
        assertEquals(4L, loader.call(BASE_BUFFER, buffer, "length", new Class<?>[0]));
        assertCalls(List.of(), loader.calls(), "a method that touches no memory");
    }

    @Test
    void longBuffersOwnReadsAreGuarded() throws Throwable {
        load(LONG_BUFFER, DataBufferRewrite.longBuffer(true));
        assertEquals(100L, loader.call(LONG_BUFFER, buffer, "first", new Class<?>[0]));
        assertCalls(List.of(call("enter"), call("use", buffer), call("exit")), loader.calls());
    }
}
