package io.memgov.runtime;

import static org.junit.jupiter.api.Assertions.assertEquals;

import java.util.ArrayList;
import java.util.List;

import org.junit.jupiter.api.Test;

class CountsTest {
    @Test
    void sumsAreExactOnceTheCountingThreadsHaveFinished() throws Exception {
        Counts counts = new Counts();
        int threads = 40; // more than the stripes: threads share stripes
        int each = 20_000;
        List<Thread> all = new ArrayList<>();
        for (int t = 0; t < threads; t++) {
            int bytes = t + 1;
            Thread th = new Thread(() -> {
                for (int i = 0; i < each; i++) {
                    counts.allocated(bytes);
                    if (i % 2 == 0) {
                        counts.released();
                    }
                }
            });
            all.add(th);
            th.start();
        }
        for (Thread th : all) {
            th.join();
        }
        assertEquals((long) threads * each, counts.allocations());
        assertEquals((long) each * threads * (threads + 1) / 2, counts.allocatedBytes());
        assertEquals((long) threads * each / 2, counts.releases());
    }

    @Test
    void startsAtZero() {
        Counts counts = new Counts();
        assertEquals(0, counts.allocations());
        assertEquals(0, counts.allocatedBytes());
        assertEquals(0, counts.releases());
    }
}
