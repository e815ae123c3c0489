package io.memgov.agent.djl;

import io.memgov.agent.asm.Stubs;
import org.junit.jupiter.api.Test;

import java.util.List;

import static io.memgov.agent.asm.Stubs.assertCalls;
import static io.memgov.agent.asm.Stubs.call;
import static io.memgov.agent.djl.DjlStubs.NDSERIALIZER;
import static io.memgov.agent.djl.DjlStubs.PT_NDMANAGER;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** NDSerializer's rewrite, over a stub Governor recording {@code owned}. */
class NDSerializerRewriteTest {
    private final Stubs.Loader loader = DjlStubs.with(NDSERIALIZER, new NDSerializerRewrite(true)::rewrite);

    @Test
    void appliesInSpillModeOnly() {
        assertEquals("ai/djl/ndarray/NDSerializer", new NDSerializerRewrite(true).type());
        assertTrue(new NDSerializerRewrite(true).applies());
        assertFalse(new NDSerializerRewrite(false).applies());
    }

    @Test
    void eachBufferAManagerAllocatesIsAnnouncedAsOwnedBeforeUse() throws Throwable {
        Object manager = loader.create(PT_NDMANAGER, new Class<?>[0]);
        Object data = loader.call(NDSERIALIZER, null, "decode",
                new Class<?>[]{loader.type("ai.djl.ndarray.NDManager"), int.class}, manager, 16);
        assertCalls(List.of(call("PtNDManager.allocateDirect", 16), call("owned", data), call("read into", data)),
                loader.calls(), "through NDManager");
        data = loader.call(NDSERIALIZER, null, "decodePt", new Class<?>[]{loader.type(PT_NDMANAGER), int.class}, manager, 8);
        assertCalls(List.of(call("PtNDManager.allocateDirect", 8), call("owned", data)), loader.calls(),
                "through PtNDManager");
    }

    @Test
    void otherDirectBuffersAreNotAnnounced() throws Throwable {
        loader.call(NDSERIALIZER, null, "heap", new Class<?>[]{int.class}, 8);
        assertCalls(List.of(), loader.calls());
    }
}
