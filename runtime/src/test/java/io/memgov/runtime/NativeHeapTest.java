package io.memgov.runtime;

import org.junit.jupiter.api.Test;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

class NativeHeapTest {
    @Test
    void readsHowMuchTheTrimGaveBack() {
        assertEquals(120L << 10, NativeHeap.fell("Trim native heap: RSS+Swap: 99968K->99848K (-120K)"));
        assertEquals(0, NativeHeap.fell("Trim native heap: RSS+Swap: 99848K->99968K (+120K)"));
        assertEquals(0, NativeHeap.fell("Not available"));
    }

    @Test
    void aTrimIsDueOnceSpillsFreedTheThreshold() {
        NativeHeap heap = NativeHeap.create(8L << 20);
        if (!heap.available()) {
            return; // an older JVM: nothing to trigger (the governor logs why once)
        }
        assertFalse(heap.freed(4L << 20));
        assertTrue(heap.freed(4L << 20));
        assertTrue(heap.trim() >= 0);
        assertEquals(0, heap.freedSinceTrim.get(), "a trim starts the count again");
        assertEquals(1, heap.trims.get());
    }

    @Test
    void theThresholdIsAQuarterOfTheLimitWithinBounds() {
        assertEquals(4L << 20, Governor.trimThreshold(1L << 20));
        assertEquals(8L << 20, Governor.trimThreshold(32L << 20));
        assertEquals(8L << 20, Governor.trimThreshold(8L << 30));
    }
}
