package io.memgov.agent.djl;

import io.memgov.agent.asm.Stubs;
import org.junit.jupiter.api.Test;

import java.nio.Buffer;
import java.nio.ByteBuffer;
import java.util.List;

import static io.memgov.agent.asm.Stubs.assertCalls;
import static io.memgov.agent.asm.Stubs.call;
import static io.memgov.agent.djl.DjlStubs.DATA_TYPE;
import static io.memgov.agent.djl.DjlStubs.PT_NDMANAGER;
import static io.memgov.agent.djl.DjlStubs.SHAPE;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** PtNDManager's rewrite (create(Buffer, Shape, DataType) through the pool), PtNDArray left as it is. */
class PtNDManagerRewriteTest {
    private Stubs.Loader loader;
    private Object manager;

    private void load(boolean spillMode, boolean poolMode) throws Throwable {
        loader = DjlStubs.with(PT_NDMANAGER, new PtNDManagerRewrite(spillMode, poolMode)::rewrite);
        manager = loader.create(PT_NDMANAGER, new Class<?>[0]);
    }

    private Object create(Buffer data) throws Throwable {
        return loader.call(PT_NDMANAGER, manager, "create",
                new Class<?>[]{Buffer.class, loader.type(SHAPE), loader.type(DATA_TYPE)}, data, null, null);
    }

    @Test
    void appliesInPoolModeOrSpillMode() {
        assertEquals("ai/djl/pytorch/engine/PtNDManager", new PtNDManagerRewrite(false, true).type());
        assertFalse(new PtNDManagerRewrite(false, false).applies());
        assertTrue(new PtNDManagerRewrite(false, true).applies());
        assertTrue(new PtNDManagerRewrite(true, false).applies());
        assertTrue(new PtNDManagerRewrite(true, true).applies());
    }

    @Test
    void aCopiedInputGoesIntoAPooledBufferThatTheNewTensorAdopts() throws Throwable {
        for (boolean spill : new boolean[]{false, true}) {
            load(spill, true);
            Object array = create(ByteBuffer.allocate(8));
            List<List<Object>> calls = loader.calls();
            assertEquals(List.of("pooled allocateDirect", "createNdFromByteBuffer", "PtNDArray(manager, handle, data)",
                    "adopt"), Stubs.names(calls));
            Object pooled = calls.get(0).get(3);
            assertCalls(List.of(call("pooled allocateDirect", manager, 8, pooled), call("createNdFromByteBuffer", pooled),
                    call("PtNDArray(manager, handle, data)", 10L), call("adopt", array)), calls, "spill " + spill);
        }
    }

    @Test
    void poolModeLeavesADirectInputAlone() throws Throwable {
        load(false, true);
        ByteBuffer direct = ByteBuffer.allocateDirect(8);
        create(direct);
        assertCalls(List.of(call("createNdFromByteBuffer", direct), call("PtNDArray(manager, handle, data)", 10L)),
                loader.calls());
    }

    @Test
    void spillModeTellsTheHelperOfATensorOverADirectInput() throws Throwable {
        load(true, false);
        ByteBuffer direct = ByteBuffer.allocateDirect(8);
        Object array = create(direct);
        assertCalls(List.of(call("createNdFromByteBuffer", direct), call("PtNDArray(manager, handle, data)", 10L),
                call("adoptOwned", array, direct)), loader.calls());
    }

    @Test
    void otherMethodsAllocateAsTheyDid() throws Throwable {
        load(true, true);
        loader.call(PT_NDMANAGER, manager, "scratch", new Class<?>[]{int.class}, 4);
        assertCalls(List.of(call("PtNDManager.allocateDirect", 4)), loader.calls());
    }
}
