package io.memgov.examples;

import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.memory.MemoryWorkspace;
import org.nd4j.linalg.api.memory.conf.WorkspaceConfiguration;
import org.nd4j.linalg.api.memory.enums.AllocationPolicy;
import org.nd4j.linalg.api.memory.enums.LearningPolicy;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.cpu.nativecpu.bindings.Nd4jCpu;
import org.nd4j.linalg.factory.Nd4j;
import org.nd4j.linalg.indexing.NDArrayIndex;

import java.util.ArrayList;
import java.util.List;

/**
 * A scripted ND4J workload: creation in several ways, ops, views, close half, drop the rest and let
 * the GC release it, workspaces opened, closed and destroyed. At each checkpoint it prints libnd4j's
 * own counter of detached buffer bytes ({@code expected.host.used}) and the bytes of its workspace.
 */
public final class Nd4jSequences {
    private Nd4jSequences() {
    }

    /**
     * Bytes libnd4j's counter misses: it does not count the growth of a buffer by
     * {@code OpaqueDataBuffer.expand}, yet subtracts the grown size when that buffer is freed.
     */
    private static long uncounted;

    static long counter() {
        return Nd4jCpu.Environment.getInstance().getDeviceCounter(0);
    }

    /** What ND4J holds in detached buffers: libnd4j's counter, corrected for what it misses. */
    static long held() {
        return counter() + uncounted;
    }

    /**
     * A checkpoint where ND4J's deallocator thread may free garbage at any moment: the governor's
     * figure is logged between two reads of libnd4j's counter, and again until both reads agree
     * (tests read the last report of a label).
     */
    static void mark(String label) {
        long before = held();
        for (int i = 0; i < 50; i++) {
            Checkpoints.log(label);
            long after = held();
            if (after == before) {
                break;
            }
            before = after;
        }
        Checkpoints.expect(label, before);
    }

    public static void main(String[] args) throws Exception {
        // ND4J keeps some buffers for good (constants, RNG state): let a small run of the same kinds of
        // operations create them before the baseline
        INDArray warm = Nd4j.rand(DataType.FLOAT, 4, 4);
        warm.mmul(warm).add(1f).addi(2f);
        Nd4j.linspace(1, 10, 10, DataType.DOUBLE).dup();
        warm = null;
        awaitStable();
        mark("start");
        long base = held();

        List<INDArray> arrays = new ArrayList<>();
        arrays.add(Nd4j.create(DataType.FLOAT, 1000));
        arrays.add(Nd4j.create(new float[1000]));
        arrays.add(Nd4j.create(new double[]{1, 2, 3, 4}, new long[]{2, 2}));
        arrays.add(Nd4j.createUninitialized(DataType.INT, 333));
        arrays.add(Nd4j.rand(DataType.FLOAT, 64, 64));
        arrays.add(Nd4j.linspace(1, 100, 100, DataType.DOUBLE));
        mark("created");

        INDArray a = arrays.get(4);
        arrays.add(a.mmul(a));
        arrays.add(a.add(1f));
        arrays.add(a.dup());
        a.addi(2f);
        mark("ops");

        INDArray v1 = a.get(NDArrayIndex.interval(0, 10), NDArrayIndex.all());
        INDArray v2 = a.reshape(4096);
        INDArray v3 = a.transpose();
        mark("views");
        v1.getFloat(0);
        v2.getFloat(0);
        v3.getFloat(0);

        // a buffer that grows in place (DataBuffer.reallocate -> OpaqueDataBuffer.expand)
        org.nd4j.linalg.api.buffer.DataBuffer grown = Nd4j.createBuffer(DataType.FLOAT, 100, false);
        long before = counter();
        grown.reallocate(5000);
        grown.put(4999, 1f); // the memory really is there
        uncounted += (5000 - 100) * 4 - (counter() - before);
        mark("expanded");
        grown.close();

        // close half
        for (int i = 0; i < arrays.size(); i += 2) {
            arrays.get(i).close();
        }
        mark("half-closed");

        // drop the rest (and the views) and let the GC path release them
        arrays.clear();
        a = null;
        v1 = null;
        v2 = null;
        v3 = null;
        awaitStable();
        mark("gc-released");

        // a workspace: its block is malloc'd once, scopes reuse it, destroy frees it
        WorkspaceConfiguration conf = WorkspaceConfiguration.builder()
                .initialSize(1 << 20).policyAllocation(AllocationPolicy.STRICT)
                .policyLearning(LearningPolicy.NONE).build();
        long wsBytes;
        try (MemoryWorkspace ws = Nd4j.getWorkspaceManager().getAndActivateWorkspace(conf, "MEMGOV_WS")) {
            INDArray w1 = Nd4j.create(DataType.FLOAT, 1000);
            INDArray w2 = w1.add(1f);
            w2.getFloat(0);
            wsBytes = ws.getCurrentSize();
            System.out.println("workspace label=workspace-open bytes=" + wsBytes);
            mark("workspace-open");
        }
        System.out.println("workspace label=workspace-closed bytes=" + wsBytes);
        mark("workspace-closed");
        Nd4j.getWorkspaceManager().destroyWorkspace(Nd4j.getWorkspaceManager().getWorkspaceForCurrentThread("MEMGOV_WS"));
        System.out.println("workspace label=workspace-destroyed bytes=0");
        mark("workspace-destroyed");

        System.out.println("nd4j.base=" + base + " nd4j.end=" + held() + " libnd4j.counter=" + counter());
        System.out.println("done");
    }

    /** Drives the GC until libnd4j's counter stops moving. */
    static void awaitStable() throws InterruptedException {
        long last = -1;
        for (int i = 0; i < 100 && counter() != last; i++) {
            last = counter();
            System.gc();
            Thread.sleep(50);
        }
    }
}
