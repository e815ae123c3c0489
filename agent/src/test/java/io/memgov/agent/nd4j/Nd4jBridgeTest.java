package io.memgov.agent.nd4j;

import io.memgov.agent.asm.RecordingContext;
import io.memgov.agent.asm.Stubs;
import io.memgov.agent.asm.TypeRewrite;
import org.junit.jupiter.api.Test;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

import static io.memgov.agent.nd4j.Nd4jStubs.CPU_BUFFER;
import static io.memgov.agent.nd4j.Nd4jStubs.DEALLOCATOR;
import static io.memgov.agent.nd4j.Nd4jStubs.ODB;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNull;

/** The ND4J bridge applies its rewrites' list, for its modes, and refuses classes it does not know. */
class Nd4jBridgeTest {
    private static final List<String> ALWAYS = List.of("org.nd4j.nativeblas.OpaqueDataBuffer",
            "org.nd4j.linalg.cpu.nativecpu.buffer.CpuDeallocator", "org.nd4j.linalg.cpu.nativecpu.buffer.BaseCpuDataBuffer",
            "org.nd4j.linalg.cpu.nativecpu.CpuMemoryManager", "org.nd4j.linalg.cpu.nativecpu.workspace.CpuWorkspace");
    private static final List<String> SPILL = List.of("org.nd4j.linalg.api.buffer.BaseDataBuffer",
            "org.nd4j.linalg.cpu.nativecpu.buffer.LongBuffer", "org.nd4j.linalg.cpu.nativecpu.ops.NativeOpExecutioner",
            "org.nd4j.linalg.cpu.nativecpu.blas.CpuLevel1", "org.nd4j.linalg.cpu.nativecpu.blas.CpuLevel2",
            "org.nd4j.linalg.cpu.nativecpu.blas.CpuLevel3", "org.nd4j.linalg.cpu.nativecpu.blas.CpuLapack",
            "org.nd4j.linalg.cpu.nativecpu.CpuNDArrayFactory", "org.nd4j.nativeblas.BaseNativeNDArrayFactory",
            "org.nd4j.linalg.api.memory.BasicMemoryManager");

    @Test
    void theTargetsOfEachMode() {
        List<String> spill = new ArrayList<>(ALWAYS);
        spill.addAll(SPILL);
        assertEquals(ALWAYS, new Nd4jBridge(false, false).targets());
        assertEquals(ALWAYS, new Nd4jBridge(false, true).targets());
        assertEquals(spill, new Nd4jBridge(true, false).targets());
        assertEquals(spill, new Nd4jBridge(true, true).targets());
    }

    @Test
    void theBridgeAppliesTheRewritesOfItsListThatApply() {
        for (boolean spill : new boolean[]{false, true}) {
            for (boolean pool : new boolean[]{false, true}) {
                List<String> expected = new ArrayList<>();
                for (TypeRewrite r : Nd4jBridge.rewrites(spill, pool)) {
                    if (r.applies()) {
                        expected.add(r.getClass().getSimpleName() + " " + r.type());
                    }
                }
                List<String> applied = new ArrayList<>();
                new Nd4jBridge(spill, pool).rewrites().forEach(r -> applied.add(r.getClass().getSimpleName() + " " + r.type()));
                assertEquals(expected, applied, "spill " + spill + ", pool " + pool);
            }
        }
    }

    @Test
    void theBridgesRewritesAreMadeForItsModes() {
        byte[] stub = Nd4jStubs.classes().get(CPU_BUFFER);
        for (boolean spill : new boolean[]{false, true}) {
            for (boolean pool : new boolean[]{false, true}) {
                TypeRewrite r = new Nd4jBridge(spill, pool).rewrites().get(2);
                assertEquals("org/nd4j/linalg/cpu/nativecpu/buffer/BaseCpuDataBuffer", r.type());
                assertArrayEquals(new BaseCpuDataBufferRewrite(spill, pool).rewrite(stub), r.rewrite(stub));
            }
        }
        assertFalse(Arrays.equals(new BaseCpuDataBufferRewrite(false, true).rewrite(stub),
                new BaseCpuDataBufferRewrite(false, false).rewrite(stub)), "the modes change the rewrite");
    }

    @Test
    void theHelperClassesAreTheAgentsOwn() {
        Nd4jBridge bridge = new Nd4jBridge(true, true);
        assertEquals("nd4j", bridge.framework());
        assertEquals("org.nd4j.nativeblas.OpaqueDataBuffer", bridge.probeClass());
        for (String helper : bridge.helpers()) {
            assertNotNull(Nd4jBridge.class.getClassLoader().getResource(helper.replace('.', '/') + ".class"), helper);
        }
    }

    private static String problem(Map<String, byte[]> classes) throws Exception {
        return new Nd4jBridge(true, false).shapeProblem(Stubs.load(classes), "org/nd4j/linalg/cpu/nativecpu/CpuMemoryManager",
                new byte[0]);
    }

    @Test
    void theStubsHaveTheShapeTheRewritesRelyOn() throws Exception {
        assertNull(problem(Nd4jStubs.classes()));
        assertNull(new Nd4jBridge(false, false).shapeProblem(Stubs.load(Nd4jStubs.classes()),
                "org/nd4j/nativeblas/OpaqueDataBuffer", Nd4jStubs.classes().get(ODB)), "the class being defined, read as given");
    }

    @Test
    void missingMembersAreRefusedAndEveryClassOfTheLoaderLeftAlone() throws Exception {
        Map<String, byte[]> classes = new HashMap<>(Nd4jStubs.classes());
        classes.put(ODB, Stubs.without(classes.get(ODB), "closeBuffer"));
        classes.put(DEALLOCATOR, Stubs.without(classes.get(DEALLOCATOR), "opaqueDataBuffer"));
        Stubs.Loader loader = Stubs.load(classes);
        RecordingContext ctx = new RecordingContext();
        Nd4jBridge bridge = new Nd4jBridge(false, false);
        String memoryManager = "org.nd4j.linalg.cpu.nativecpu.CpuMemoryManager";
        assertNull(bridge.transform(loader, memoryManager, Nd4jStubs.classes().get(memoryManager), null, ctx));
        assertNull(bridge.transform(loader, ODB, classes.get(ODB), null, ctx));
        assertEquals(List.of("unknown nd4j " + memoryManager + ": missing OpaqueDataBuffer.closeBuffer()V, "
                + "CpuDeallocator.deallocate() over its opaqueDataBuffer"), ctx.events);
    }

    @Test
    void anUnreadableOrAlreadyRewrittenOpaqueDataBufferIsRefused() throws Exception {
        Map<String, byte[]> classes = new HashMap<>(Nd4jStubs.classes());
        classes.remove(DEALLOCATOR);
        assertEquals("OpaqueDataBuffer or CpuDeallocator cannot be read from the class loader "
                + "(is nd4j-native, the CPU backend, on the class path?)", problem(classes));
        classes = new HashMap<>(Nd4jStubs.classes());
        classes.put(ODB, new OpaqueDataBufferRewrite(false).rewrite(classes.get(ODB)));
        assertEquals("OpaqueDataBuffer is already instrumented by another copy of memgov", problem(classes));
    }
}
