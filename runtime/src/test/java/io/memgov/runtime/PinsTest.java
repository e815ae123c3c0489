package io.memgov.runtime;

import org.junit.jupiter.api.Test;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

class PinsTest {
    static Tracked tensor() {
        return new Tracked(1, 4096, Governor.FW_ND4J, Tier.HOST.ordinal(), 0);
    }

    @Test
    void aStorageUsedInsideBracketsStaysPinnedUntilTheOutermostEnds() {
        Pins p = new Pins();
        Tracked a = tensor();
        Tracked b = tensor();
        p.enter();
        p.pin(a);
        p.enter();
        p.pin(b);
        p.pin(a); // read again: pinned once
        p.exit();
        assertTrue(Governor.pinned(a) && Governor.pinned(b), "the inner method ended, the outer did not");
        assertEquals(1, a.pins);
        p.exit();
        assertFalse(Governor.pinned(a) || Governor.pinned(b));
        assertEquals(0, p.depth());
    }

    @Test
    void outsideABracketNothingIsPinned() {
        Pins p = new Pins();
        Tracked a = tensor();
        p.pin(a);
        assertFalse(Governor.pinned(a));
        p.exit(); // an unmatched exit leaves the depth at 0
        assertEquals(0, p.depth());
    }

    @Test
    void manyStoragesInOneBracketAreAllUnpinned() {
        Pins p = new Pins();
        Tracked[] ts = new Tracked[100];
        p.enter();
        for (int i = 0; i < ts.length; i++) {
            ts[i] = tensor();
            p.pin(ts[i]);
        }
        p.exit();
        for (Tracked t : ts) {
            assertEquals(0, t.pins);
        }
    }
}
