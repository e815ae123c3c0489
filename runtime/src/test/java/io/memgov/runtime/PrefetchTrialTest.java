package io.memgov.runtime;

import org.junit.jupiter.api.Test;

import java.util.concurrent.atomic.AtomicLong;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

class PrefetchTrialTest {
    /** A clock the test moves: each miss takes {@code onNanos} or {@code offNanos}, by the trial's mode. */
    static final class Run {
        long now;
        final AtomicLong offs = new AtomicLong();
        final PrefetchTrial trial = new PrefetchTrial(() -> now, offs);

        /** Misses until the trial has judged (two rounds of settle + window, on then off). */
        void trial(long onNanos, long offNanos) {
            int n = 2 * PrefetchTrial.ROUNDS * (PrefetchTrial.SETTLE + PrefetchTrial.WINDOW);
            for (int i = 0; i < n; i++) {
                now += trial.on() ? onNanos : offNanos;
                trial.miss();
            }
        }

        void hold() {
            for (int i = 0; i < PrefetchTrial.HOLD * (PrefetchTrial.SETTLE + PrefetchTrial.WINDOW); i++) {
                now += 1000;
                trial.miss();
            }
        }
    }

    @Test
    void prefetchingStaysOnWhenItIsFasterOrNoSlower() {
        Run r = new Run();
        assertTrue(r.trial.on(), "on from the start: the first window is an on window");
        r.trial(1_000_000, 1_500_000);
        assertTrue(r.trial.on(), "misses came faster with prefetching");
        assertEquals(0, r.offs.get());
        Run tie = new Run();
        tie.trial(1_000_000, 980_000);
        assertTrue(tie.trial.on(), "off only 2% faster: within the margin, prefetching stays on");
    }

    @Test
    void prefetchingGoesOffWhenTheApplicationRunsFasterWithoutItAndIsTriedAgainLater() {
        Run r = new Run();
        r.trial(1_600_000, 1_000_000);
        assertFalse(r.trial.on(), "misses came 1.6x slower with prefetching (its copies took the application's cores)");
        assertEquals(1, r.offs.get());
        r.hold();
        assertTrue(r.trial.on(), "after the hold, a new trial starts with an on window");
        r.trial(1_000_000, 1_600_000);
        assertTrue(r.trial.on(), "the workload changed: prefetching pays now");
        assertEquals(1, r.offs.get());
    }

    @Test
    void theTrialAlternatesOnAndOffWindowsAndDoesNotTimeTheSettlingMisses() {
        Run r = new Run();
        int window = PrefetchTrial.SETTLE + PrefetchTrial.WINDOW;
        for (int i = 0; i < window; i++) {
            assertTrue(r.trial.on());
            r.now += 1000;
            r.trial.miss();
        }
        assertFalse(r.trial.on(), "the second window is an off window");
        assertTrue(PrefetchTrial.onIn(0) && !PrefetchTrial.onIn(1) && !PrefetchTrial.onIn(2) && PrefetchTrial.onIn(3),
                "on, off, off, on: a trend over the trial (the JIT warming up) favours neither");
        // the settling misses of the off window take long (prefetched tensors of the on window run
        // out), the timed ones are fast: only the timed ones count
        for (int i = 0; i < window; i++) {
            r.now += i < PrefetchTrial.SETTLE ? 1_000_000_000L : 900;
            r.trial.miss();
        }
        assertFalse(r.trial.on(), "the third window is an off window too");
        for (int i = 0; i < 2 * window; i++) {
            r.now += r.trial.on() ? 1000 : 900;
            r.trial.miss();
        }
        assertFalse(r.trial.on(), "off was 10% faster over the timed misses: off");
    }
}
