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
        // sizes from 100 MiB up come in M (JDK 17.0.15 on a 460 MiB process), small ones in B
        assertEquals(5L << 20, NativeHeap.fell("Trim native heap: RSS+Swap: 460M->455M (-5M)\n"));
        assertEquals(2L << 30, NativeHeap.fell("Trim native heap: RSS+Swap: 102G->100G (-2G)"));
        assertEquals((300L << 20) - (900L << 10), NativeHeap.fell("Trim native heap: RSS+Swap: 300M->900K (-299M)"));
        assertEquals(40, NativeHeap.fell("Trim native heap: RSS+Swap: 90B->50B (-40B)"));
    }

    @Test
    void aTrimIsDueOnceSpillsFreedTheThreshold() {
        NativeHeap heap = NativeHeap.create(8L << 20);
        assertTrue(heap.available(), "JDK 17.0.9+ on Linux, the package opened by surefire's argLine: " + heap.unavailable());
        assertFalse(heap.freed(4L << 20));
        assertTrue(heap.freed(4L << 20));
        long before = ProcessMemory.rss();
        long fell = heap.trim();
        assertTrue(fell >= 0 && fell <= Math.max(before, 0), "what RSS fell by, from the command's output: " + fell);
        assertEquals(0, heap.freedSinceCheck.get(), "a trim starts the count again");
        assertEquals(1, heap.trims.get());
    }

    @Test
    void theThresholdIsAQuarterOfTheLimitWithinBounds() {
        assertEquals(4L << 20, Background.trimThreshold(1L << 20));
        assertEquals(8L << 20, Background.trimThreshold(32L << 20));
        assertEquals(8L << 20, Background.trimThreshold(8L << 30));
    }

    /** A process whose RSS and JVM figures the test sets, and whose trim gives back what the test says. */
    static final class FakeProcess implements NativeHeap.Process {
        long rss = 500L << 20;
        long jvm = 300L << 20;
        long givesBack;
        int trims;
        long now;
        long trimTakes; // nanoseconds each trim advances the clock by

        @Override
        public long nanoTime() {
            return now;
        }

        @Override
        public long rss() {
            return rss;
        }

        @Override
        public long jvmResident() {
            return jvm;
        }

        @Override
        public String trim() {
            trims++;
            now += trimTakes;
            long before = rss;
            rss -= givesBack;
            return "Trim native heap: RSS+Swap: " + (before >> 10) + "K->" + (rss >> 10) + "K (-" + (givesBack >> 10) + "K)";
        }
    }

    private static final long MIB = 1L << 20;

    @Test
    void trimsWhenRssGrowsMoreThanGovernedAndJvmMemory() {
        FakeProcess p = new FakeProcess();
        NativeHeap heap = new NativeHeap(p, null, 4 * MIB);
        assertEquals(0, heap.check(0, true), "the first check only takes the base");
        p.rss += 16 * MIB;
        assertEquals(0, heap.check(16 * MIB, true), "governed HOST grew as much as RSS: nothing idle");
        p.rss += 8 * MIB;
        p.jvm += 8 * MIB;
        assertEquals(0, heap.check(16 * MIB, true), "the JVM's own memory grew as much: not the C heap's");
        assertEquals(0, p.trims);
        heap.freed(6 * MIB); // spills freed 6 MiB: what the C heap keeps of them is idle
        p.rss += 3 * MIB;
        assertEquals(0, heap.check(16 * MIB, true), "under the threshold");
        p.rss += 3 * MIB;
        p.givesBack = 6 * MIB;
        assertEquals(6 * MIB, heap.check(16 * MIB, true), "6 MiB over what governed and JVM memory explain");
        assertEquals(1, p.trims);
        assertEquals(6 * MIB, heap.trimmedBytes.get());
        p.rss -= 20 * MIB;
        assertEquals(0, heap.check(0, true), "RSS fell more than governed memory (16 MiB) did: nothing to do");
        heap.freed(4 * MIB);
        p.rss += 4 * MIB;
        p.givesBack = 4 * MIB;
        assertEquals(4 * MIB, heap.check(0, true), "the base moved with the fall");
    }

    @Test
    void growthThatNoSpillExplainsWaitsAHundredTimesTheLastTrimsDuration() {
        FakeProcess p = new FakeProcess();
        NativeHeap heap = new NativeHeap(p, null, 4 * MIB);
        heap.check(0, true);
        p.trimTakes = 100_000_000; // 100 ms, as in the MLP loop's process
        p.givesBack = 4 * MIB; // half of each excess: the threshold does not back off
        p.rss += 8 * MIB;
        heap.check(0, true);
        assertEquals(1, p.trims, "8 MiB unexplained: due");
        p.rss += 8 * MIB;
        p.now += 9_000_000_000L;
        assertEquals(0, heap.check(0, true), "9 s after a 100 ms trim: too soon");
        p.now += 1_000_000_000L;
        heap.check(0, true);
        assertEquals(2, p.trims, "10 s after: due (the excess waited, counted)");
        heap.freed(4 * MIB); // spills freed the threshold: a trim can give that back, whenever
        p.rss += 4 * MIB;
        heap.check(0, true);
        assertEquals(3, p.trims, "growth that spills explain is not spaced");
        p.trimTakes = 10_000_000_000L; // a 10 s trim: the wait is capped at 10 minutes
        p.rss += 8 * MIB;
        p.now += 10_000_000_000L;
        heap.check(0, true);
        assertEquals(4, p.trims);
        p.rss += 8 * MIB;
        p.now += NativeHeap.SPACING_MAX_NANOS - 1;
        heap.check(0, true);
        assertEquals(4, p.trims);
        p.now += 1;
        heap.check(0, true);
        assertEquals(5, p.trims);
    }

    @Test
    void jvmGrowthDoesNotForgiveTheNativeGrowthBesideIt() {
        FakeProcess p = new FakeProcess();
        NativeHeap heap = new NativeHeap(p, null, 4 * MIB);
        heap.check(0, true);
        p.rss += 3 * MIB; // the C heap keeps 3 MiB
        p.rss += 5 * MIB; // and the JVM's own memory grows by 5
        p.jvm += 5 * MIB;
        assertEquals(0, heap.check(0, true), "3 MiB of native growth: under the threshold");
        p.rss += 2 * MIB; // 2 more kept by the C heap: 5 in all since the last trim
        heap.freed(5 * MIB); // the spills that freed them
        p.givesBack = 5 * MIB;
        assertEquals(5 * MIB, heap.check(0, true), "the 3 MiB beside the JVM's growth still count");
        assertEquals(1, p.trims);
        p.rss += 6 * MIB;
        p.jvm += 6 * MIB;
        assertEquals(0, heap.check(0, true), "growth the JVM explains whole: no trim");
        assertEquals(0, heap.check(0, true), "and none on the next tick either (the base moved with the JVM)");
        assertEquals(1, p.trims);
    }

    @Test
    void growthThatNoSpillExplainsWaitsForALargerThresholdThatBacksOffWhileTrimsFindNothing() {
        FakeProcess p = new FakeProcess();
        NativeHeap heap = new NativeHeap(p, null, 4 * MIB);
        heap.check(0, true);
        p.rss += 6 * MIB;
        assertEquals(0, heap.check(0, true), "6 MiB that no spill freed: under " + (NativeHeap.UNEXPLAINED >> 20) + " MiB");
        heap.freed(3 * MIB);
        assertEquals(0, heap.check(0, true), "spills freed 3 MiB: a trim could not give back the threshold (4 MiB)");
        heap.freed(MIB);
        p.givesBack = 4 * MIB;
        assertEquals(4 * MIB, heap.check(0, true), "spills freed the threshold: the 6 MiB are due");
        assertEquals(0, heap.spilledSinceTrim.get(), "a trim starts the spills' count again");
        assertEquals(6 * MIB, heap.lastExcess, "the excess that made it due, for the debug event");

        // growth that no spill explains and no trim gives back (the Java heap touching new pages)
        p.givesBack = 0;
        p.rss += 8 * MIB;
        heap.check(0, true);
        assertEquals(2, p.trims, "8 MiB unexplained: due");
        p.rss += 15 * MIB;
        heap.check(0, true);
        assertEquals(2, p.trims, "that trim gave back nothing: the next waits for 16 MiB");
        p.rss += MIB;
        heap.check(0, true);
        assertEquals(3, p.trims);
        p.rss += 31 * MIB;
        heap.check(0, true);
        assertEquals(3, p.trims, "then for 32 MiB");
        p.rss += MIB;
        heap.check(0, true);
        p.rss += 32 * MIB;
        heap.check(0, true);
        assertEquals(5, p.trims, "32 MiB is the most it waits for");

        p.rss += 32 * MIB;
        p.givesBack = 16 * MIB;
        assertEquals(16 * MIB, heap.check(0, true));
        p.givesBack = 0;
        p.rss += 8 * MIB;
        heap.check(0, true);
        assertEquals(7, p.trims, "a trim that gave back half its excess: 8 MiB again");

        heap.freed(4 * MIB);
        p.rss += 4 * MIB;
        p.givesBack = 4 * MIB;
        assertEquals(4 * MIB, heap.check(0, true), "growth that spills explain is due at the threshold, backed off or not");
    }

    @Test
    void withTheLargestThresholdBothKindsOfGrowthAreDueAtIt() {
        FakeProcess p = new FakeProcess();
        NativeHeap heap = new NativeHeap(p, null, 8 * MIB);
        heap.check(0, true);
        p.rss += 8 * MIB;
        p.givesBack = 8 * MIB;
        assertEquals(8 * MIB, heap.check(0, true), "limits from 32 MiB up: 8 MiB, spills or not");
    }

    @Test
    void aCheckIsDueOnceSpillsFreedTheThresholdAndACheckStartsTheCountAgain() {
        FakeProcess p = new FakeProcess();
        NativeHeap heap = new NativeHeap(p, null, 4 * MIB);
        assertFalse(heap.freed(2 * MIB));
        assertFalse(heap.due());
        assertTrue(heap.freed(2 * MIB), "a threshold's worth freed");
        assertTrue(heap.due(), "the next spill checks first");
        heap.check(0, true);
        assertFalse(heap.due(), "a check starts the count again");
        assertFalse(heap.freed(2 * MIB));
    }

    @Test
    void aCheckOnTheGovernorThreadLeavesTheSpillersCheckDue() {
        FakeProcess p = new FakeProcess();
        NativeHeap heap = new NativeHeap(p, null, 4 * MIB);
        heap.check(0, true);
        heap.freed(4 * MIB); // a spill freed its victim; the allocation that does not reuse it comes next
        assertEquals(0, heap.check(0, false), "the governor's thread checks in between: nothing to see yet");
        assertTrue(heap.due(), "the next spill still checks before its own free");
        p.rss += 4 * MIB; // the allocation took fresh memory: the freed block sits idle
        p.givesBack = 4 * MIB;
        assertEquals(4 * MIB, heap.check(0, true), "the spiller's check finds it and trims");
        assertFalse(heap.due(), "a trim starts the count again");
        heap.freed(4 * MIB);
        heap.check(0, true);
        assertFalse(heap.due(), "so does the spiller's own check");
    }

    @Test
    void aLittleJvmGrowthBesideMemorySpillsFreedDoesNotPutTheTrimOff() {
        FakeProcess p = new FakeProcess();
        NativeHeap heap = new NativeHeap(p, null, 4 * MIB);
        heap.check(0, true);
        heap.freed(4 * MIB);
        p.rss += 4 * MIB + (8 << 10); // one freed block of the threshold's size stays in the heap
        p.jvm += 256 << 10; // and the code cache committed 256 KiB more
        p.givesBack = 4 * MIB;
        assertEquals(4 * MIB, heap.check(0, true), "spills explain it, the JVM's growth is under half of it: trimmed");
        heap.freed(4 * MIB);
        p.rss += 4 * MIB;
        p.jvm += 2 * MIB; // half of the excess is the JVM's
        assertEquals(0, heap.check(0, true), "as much JVM growth as native: the base moves with the JVM");
        assertEquals(1, p.trims);
        p.rss += 2 * MIB; // 2 more native: 4 MiB of it now, beside no new JVM growth
        assertEquals(4 * MIB, heap.check(0, true), "the native part stayed counted");
        assertEquals(2, p.trims);
    }

    @Test
    void theGovernorThreadChecksEveryTickAfterSpillsAndEveryTenthTickOtherwise() {
        NativeHeap heap = new NativeHeap(new FakeProcess(), null, 4 * MIB);
        int checks = 0;
        for (int t = 0; t < 100; t++) {
            checks += heap.tick() ? 1 : 0;
        }
        assertEquals(100 / NativeHeap.QUIET_TICKS, checks, "no spill: every " + NativeHeap.QUIET_TICKS + "th tick");
        heap.freed(MIB);
        assertTrue(heap.tick(), "a spill freed memory since the last check: this tick checks");
        assertTrue(heap.tick(), "and the next, until a check ran");
        heap.check(0, true);
        assertFalse(heap.tick(), "the check started the count again");
    }

    @Test
    void unavailableTrimmingDoesNothing() {
        NativeHeap heap = new NativeHeap(null, "not Linux (glibc)", 4 * MIB);
        assertFalse(heap.available());
        assertFalse(heap.freed(64 * MIB));
        assertEquals(0, heap.check(0, true));
        assertEquals(-1, heap.trim());
    }
}
