package io.memgov.runtime;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;

import io.memgov.runtime.config.LogFormat;
import io.memgov.runtime.config.LogLevel;
import io.memgov.runtime.config.MemgovConfig;
import io.memgov.runtime.log.EventLog;
import org.junit.jupiter.api.Test;

/** Budgets with parents: what a child reserves, forces and releases, its parents do too; a refusal anywhere changes nothing. */
class BudgetParentTest {
    @Test
    void reserveForceAndReleaseOnAChildApplyToEveryParent() {
        Budget root = new Budget("root", Budget.NONE);
        Budget mid = new Budget("mid", Budget.NONE, root);
        Budget leaf = new Budget("leaf", Budget.NONE, mid);
        assertSame(mid, leaf.parent());
        assertNull(root.parent());

        assertTrue(leaf.tryReserve(100));
        mid.forceReserve(30);
        leaf.forceReserve(7);
        assertEquals(107, leaf.used());
        assertEquals(137, mid.used());
        assertEquals(137, root.used());

        leaf.release(50);
        assertEquals(57, leaf.used());
        assertEquals(87, mid.used());
        assertEquals(87, root.used());
        // peaks: each budget's own highest use
        assertEquals(107, leaf.peak());
        assertEquals(137, mid.peak());
        assertEquals(137, root.peak());
    }

    @Test
    void aChildIsRefusedWhenItsParentIsFullAndNothingChanges() {
        Budget parent = new Budget("parent", 100);
        Budget child = new Budget("child", Budget.NONE, parent);
        Budget sibling = new Budget("sibling", Budget.NONE, parent);
        assertTrue(sibling.tryReserve(80));

        assertFalse(child.tryReserve(30), "80 + 30 is over the parent's 100");
        assertEquals(0, child.used(), "the child's reservation was rolled back");
        assertEquals(0, child.peak(), "a refused reservation raises no peak");
        assertEquals(80, parent.used());

        assertTrue(child.tryReserve(20), "exactly at the parent's limit fits");
        assertEquals(20, child.used());
        assertEquals(100, parent.used());
        assertEquals(100, parent.peak());
    }

    @Test
    void theChildsOwnLimitRefusesBeforeItsParentIsTouched() {
        Budget parent = new Budget("parent", 1000);
        Budget child = new Budget("child", 50, parent);
        assertFalse(child.tryReserve(60));
        assertEquals(0, parent.used());
        assertEquals(0, parent.peak());
        assertTrue(child.tryReserve(50));
        assertEquals(50, parent.used());
        // forcing ignores every limit in the chain (memory that exists must be counted)
        child.forceReserve(2000);
        assertEquals(2050, child.used());
        assertEquals(2050, parent.used());
        assertEquals(2050, parent.peak());
    }

    @Test
    void limitsAndPeakResetsStayOnTheirOwnBudget() {
        Budget parent = new Budget("parent", 100);
        Budget child = new Budget("child", Budget.NONE, parent);
        child.setLimit(10);
        assertEquals(100, parent.limit());
        assertTrue(child.tryReserve(10));
        child.release(10);
        child.resetPeak();
        assertEquals(0, child.peak());
        assertEquals(10, parent.peak());
    }

    @Test
    void concurrentChildrenNeverOverfillTheirParent() throws Exception {
        Budget parent = new Budget("parent", 1000);
        Budget[] children = {new Budget("a", Budget.NONE, parent), new Budget("b", Budget.NONE, parent)};
        ExecutorService pool = Executors.newFixedThreadPool(4);
        try {
            List<Future<?>> fs = new ArrayList<>();
            for (int th = 0; th < 4; th++) {
                Budget child = children[th % 2];
                fs.add(pool.submit(() -> {
                    for (int i = 0; i < 50_000; i++) {
                        if (child.tryReserve(300)) {
                            assertTrue(parent.used() <= 1000);
                            child.release(300);
                        }
                    }
                }));
            }
            for (Future<?> f : fs) {
                f.get(60, TimeUnit.SECONDS);
            }
        } finally {
            pool.shutdownNow();
        }
        assertEquals(0, parent.used());
        assertEquals(0, children[0].used() + children[1].used());
        assertTrue(parent.peak() <= 1000, "peak " + parent.peak());
    }

    /** The governor's per-framework chain: a workspace block counts under nd4j, once, in one call. */
    @Test
    void theGovernorsWorkspaceBytesCountUnderNd4j() {
        MemoryGovernor g = new MemoryGovernor(MemgovConfig.defaults(), new EventLog(l -> { }, LogFormat.TEXT, LogLevel.INFO));
        Governor.install(g);
        try {
            assertSame(g.host(Governor.FW_ND4J), g.host(Governor.FW_ND4J_WORKSPACE).parent());
            Object block = Governor.allocate(Governor.FW_ND4J_WORKSPACE, 0, 0, 4096);
            Object array = Governor.allocate(Governor.FW_ND4J, 0, 0, 1000);
            assertEquals(4096, g.host(Governor.FW_ND4J_WORKSPACE).used());
            assertEquals(5096, g.host(Governor.FW_ND4J).used());
            assertEquals(5096, g.host().used());
            Governor.release(block);
            assertEquals(0, g.host(Governor.FW_ND4J_WORKSPACE).used());
            assertEquals(1000, g.host(Governor.FW_ND4J).used());
            assertEquals(5096, g.host(Governor.FW_ND4J).peak());
            Governor.release(array);
            assertEquals(0, g.host().used());
        } finally {
            Teardown.uninstall(g);
        }
    }
}
