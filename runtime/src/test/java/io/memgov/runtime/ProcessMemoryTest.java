package io.memgov.runtime;

import org.junit.jupiter.api.Test;

import java.nio.ByteBuffer;
import java.util.LinkedHashMap;
import java.util.Map;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

class ProcessMemoryTest {
    @Test
    void readsThisProcesssResidentMemory() {
        long rss = ProcessMemory.rss();
        assertTrue(rss > 1L << 20 && rss < Runtime.getRuntime().maxMemory() + (8L << 30), "rss " + rss);
        long[] status = ProcessMemory.rssAndPeak();
        assertTrue(status[0] > 1L << 20, "VmRSS " + status[0]);
        assertTrue(status[1] >= status[0], "VmHWM " + status[1] + " under VmRSS " + status[0]);
    }

    @Test
    void parsesStatusLines() {
        assertEquals(123456L << 10, ProcessMemory.kib("VmRSS:\t  123456 kB"));
        assertEquals(0, ProcessMemory.kib("VmHWM:\t       0 kB"));
        assertEquals(-1, ProcessMemory.kib("VmRSS:"));
    }

    @Test
    void nativeOtherIsWhatNothingElseExplains() {
        assertEquals(100, ProcessMemory.nativeOther(1000, 500, 200, 100, 100));
        assertEquals(0, ProcessMemory.nativeOther(1000, 900, 200, 100, 100), "never negative");
        assertEquals(300, ProcessMemory.nativeOther(1000, 500, 200, -1, 0), "direct unknown counts as none");
        assertEquals(-1, ProcessMemory.nativeOther(-1, 500, 200, 100, 100), "no RSS, no estimate");
    }

    @Test
    void directBuffersShowInDirectUsed() {
        Map<String, Object> before = new LinkedHashMap<>();
        ProcessMemory.put(before, 0);
        ByteBuffer b = ByteBuffer.allocateDirect(8 << 20);
        Map<String, Object> after = new LinkedHashMap<>();
        ProcessMemory.put(after, 0);
        assertTrue((long) after.get("direct.used") - (long) before.get("direct.used") >= 8 << 20, before + " " + after);
        for (String k : new String[] {"rss", "rss.peak", "heap.used", "heap.committed", "nonheap.committed", "native.other"}) {
            assertTrue((long) after.get(k) >= 0, k + " in " + after);
        }
        assertEquals(8 << 20, b.capacity());
    }

    @Test
    void theJvmsResidentEstimateHoldsTheHeapInUseAndNeverMoreThanIsCommitted() {
        long[][] keep = new long[64][];
        for (int i = 0; i < keep.length; i++) {
            keep[i] = new long[128 << 10]; // 64 x 1 MiB, live
        }
        long estimate = ProcessMemory.jvmResident();
        java.lang.management.MemoryMXBean m = java.lang.management.ManagementFactory.getMemoryMXBean();
        long heapCommitted = m.getHeapMemoryUsage().getCommitted();
        long nonHeap = m.getNonHeapMemoryUsage().getCommitted();
        assertTrue(estimate >= Math.min(heapCommitted, 64L << 20) + nonHeap / 2, "estimate " + estimate);
        assertTrue(estimate <= heapCommitted + nonHeap + (16L << 20), "estimate " + estimate + " over committed "
                + heapCommitted + " + " + nonHeap);
        assertEquals(128 << 10, keep[63].length);
    }
}
