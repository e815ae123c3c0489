package io.memgov.agent.djl;

import io.memgov.agent.asm.RecordingContext;
import io.memgov.agent.asm.Rewrites;
import io.memgov.agent.asm.Stubs;
import io.memgov.agent.asm.TypeRewrite;
import org.junit.jupiter.api.Test;

import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

import static io.memgov.agent.djl.DjlStubs.PT_NDARRAY;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** The DJL bridge applies its rewrites' list, for its modes, and refuses a PtNDArray it does not know. */
class DjlBridgeTest {
    private static final String PT = "ai.djl.pytorch.engine.PtNDArray";
    private static final String JNI = "ai.djl.pytorch.jni.JniUtils";
    private static final String IVALUE = "ai.djl.pytorch.jni.IValue";
    private static final String IVALUE_UTILS = "ai.djl.pytorch.jni.IValueUtils";
    private static final String MANAGER = "ai.djl.pytorch.engine.PtNDManager";
    private static final String SERIALIZER = "ai.djl.ndarray.NDSerializer";

    @Test
    void theTargetsOfEachMode() {
        assertEquals(List.of(PT, JNI), new DjlBridge(false, false).targets());
        assertEquals(List.of(PT, JNI, MANAGER), new DjlBridge(false, true).targets());
        assertEquals(List.of(PT, JNI, IVALUE, IVALUE_UTILS, MANAGER, SERIALIZER), new DjlBridge(true, false).targets());
        assertEquals(List.of(PT, JNI, IVALUE, IVALUE_UTILS, MANAGER, SERIALIZER), new DjlBridge(true, true).targets());
    }

    @Test
    void theBridgeAppliesTheRewritesOfItsListThatApply() {
        for (boolean spill : new boolean[]{false, true}) {
            for (boolean pool : new boolean[]{false, true}) {
                List<String> expected = new ArrayList<>();
                for (TypeRewrite r : DjlBridge.rewrites(spill, pool)) {
                    if (r.applies()) {
                        expected.add(r.getClass().getSimpleName() + " " + r.type());
                    }
                }
                List<String> applied = new ArrayList<>();
                new DjlBridge(spill, pool).rewrites().forEach(r -> applied.add(r.getClass().getSimpleName() + " " + r.type()));
                assertEquals(expected, applied, "spill " + spill + ", pool " + pool);
            }
        }
    }

    @Test
    void theBridgesRewritesAreMadeForItsModes() {
        byte[] stub = DjlStubs.classes().get(PT_NDARRAY);
        for (boolean spill : new boolean[]{false, true}) {
            TypeRewrite r = new DjlBridge(spill, false).rewrites().get(0);
            assertEquals("ai/djl/pytorch/engine/PtNDArray", r.type());
            assertEquals(spill, Rewrites.Members.of(r.rewrite(stub)).interfaces.contains("io/memgov/runtime/Spillable"));
        }
    }

    @Test
    void theHelperClassesAreTheAgentsOwn() {
        DjlBridge bridge = new DjlBridge(true, true);
        assertEquals("djl", bridge.framework());
        assertEquals(PT, bridge.probeClass());
        assertTrue(bridge.helpers().contains("ai.djl.pytorch.jni.MemgovDjl"));
        for (String helper : bridge.helpers()) {
            assertNotNull(DjlBridge.class.getClassLoader().getResource(helper.replace('.', '/') + ".class"), helper);
        }
    }

    @Test
    void theStubPtNDArrayHasTheShapeTheRewritesRelyOn() throws Exception {
        byte[] stub = DjlStubs.classes().get(PT_NDARRAY);
        assertNull(new DjlBridge(true, true).shapeProblem(null, "ai/djl/pytorch/engine/PtNDArray", stub));
    }

    @Test
    void aPtNDArrayWithoutAMemberTheRewritesNeedIsRefusedAndLeftAlone() throws Exception {
        byte[] noIntern = Stubs.without(DjlStubs.classes().get(PT_NDARRAY), "intern");
        RecordingContext ctx = new RecordingContext();
        ClassLoader loader = RecordingContext.freshLoader();
        DjlBridge bridge = new DjlBridge(false, false);
        assertNull(bridge.transform(loader, PT, noIntern, null, ctx));
        assertNull(bridge.transform(loader, JNI, DjlStubs.classes().get(DjlStubs.JNI_UTILS), null, ctx),
                "nor is any other class of that loader rewritten");
        assertEquals(List.of("unknown djl " + PT + ": missing PtNDArray.intern(Lai/djl/ndarray/NDArray;)V"), ctx.events);
    }

    @Test
    void aPtNDArrayAnotherMemgovRewroteIsRefused() throws Exception {
        byte[] rewritten = new PtNDArrayRewrite(false, false).rewrite(DjlStubs.classes().get(PT_NDARRAY));
        assertEquals("PtNDArray is already instrumented by another copy of memgov",
                new DjlBridge(false, false).shapeProblem(null, "ai/djl/pytorch/engine/PtNDArray", rewritten));
    }

    @Test
    void spillModeRefusesAPtNDArrayThatOverridesGetHandle() throws Exception {
        Map<String, String> sources = new HashMap<>(DjlStubs.SOURCES);
        sources.put(PT_NDARRAY, sources.get(PT_NDARRAY).replace("    public void close()",
                "    public Long getHandle() { return 0L; }\n    public void close()"));
        byte[] overriding = Stubs.compile(sources).get(PT_NDARRAY);
        assertEquals("missing (PtNDArray overrides getHandle(): spilling would need another hook)",
                new DjlBridge(true, false).shapeProblem(null, "ai/djl/pytorch/engine/PtNDArray", overriding));
        assertNull(new DjlBridge(false, true).shapeProblem(null, "ai/djl/pytorch/engine/PtNDArray", overriding));
    }
}
