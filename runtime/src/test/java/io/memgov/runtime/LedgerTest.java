package io.memgov.runtime;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Set;

import org.junit.jupiter.api.Test;

class LedgerTest {
    private static Tracked storage(long id) {
        return new Tracked(id, 10 * id, Governor.FW_DJL, Tier.HOST.ordinal(), 0);
    }

    private static Set<Long> ids(Ledger ledger) {
        Set<Long> ids = new HashSet<>();
        ledger.forEach(t -> assertTrue(ids.add(t.id()), "listed twice: " + t.id()));
        return ids;
    }

    @Test
    void emptyLedger() {
        Ledger ledger = new Ledger();
        assertEquals(0, ledger.size());
        assertEquals(Set.of(), ids(ledger));
    }

    @Test
    void addAndRemoveAcrossStripes() {
        Ledger ledger = new Ledger();
        List<Tracked> all = new ArrayList<>();
        Set<Long> expected = new HashSet<>();
        // 100 ids fill every stripe several times over
        for (long id = 1; id <= 100; id++) {
            Tracked t = storage(id);
            all.add(t);
            ledger.add(t);
            expected.add(id);
        }
        assertEquals(100, ledger.size());
        assertEquals(expected, ids(ledger));

        // remove heads, middles and tails of the stripe lists
        for (Tracked t : all) {
            if (t.id() % 3 == 0 || t.id() <= 16 || t.id() > 84) {
                ledger.remove(t);
                expected.remove(t.id());
            }
        }
        assertEquals(expected.size(), ledger.size());
        assertEquals(expected, ids(ledger));

        for (Tracked t : all) {
            ledger.remove(t);
        }
        assertEquals(0, ledger.size());
        assertEquals(Set.of(), ids(ledger));
    }

    @Test
    void removingTwiceOrRemovingWhatWasNeverAddedChangesNothing() {
        Ledger ledger = new Ledger();
        Tracked a = storage(1);
        Tracked b = storage(17); // same stripe as a
        Tracked c = storage(33); // same stripe as a
        ledger.add(a);
        ledger.add(b);
        ledger.add(c);
        ledger.remove(c); // head
        ledger.remove(c);
        ledger.remove(storage(49)); // never added, same stripe
        assertEquals(2, ledger.size());
        assertEquals(Set.of(1L, 17L), ids(ledger));
        ledger.remove(a); // tail
        ledger.remove(a);
        assertEquals(Set.of(17L), ids(ledger));
        ledger.remove(b);
        ledger.remove(b);
        assertEquals(0, ledger.size());
    }

    @Test
    void concurrentAddAndRemoveKeepsTheCountExact() throws Exception {
        Ledger ledger = new Ledger();
        java.util.concurrent.atomic.AtomicLong ids = new java.util.concurrent.atomic.AtomicLong(1);
        List<List<Tracked>> kept = new java.util.concurrent.CopyOnWriteArrayList<>();
        BudgetTest.runConcurrently(() -> {
            List<Tracked> mine = new ArrayList<>();
            java.util.concurrent.ThreadLocalRandom r = java.util.concurrent.ThreadLocalRandom.current();
            for (int i = 0; i < 50_000; i++) {
                if (mine.isEmpty() || r.nextInt(3) != 0) {
                    Tracked t = storage(ids.getAndIncrement());
                    ledger.add(t);
                    mine.add(t);
                } else {
                    ledger.remove(mine.remove(r.nextInt(mine.size())));
                }
            }
            kept.add(mine);
        });
        int expected = 0;
        for (List<Tracked> l : kept) {
            expected += l.size();
        }
        assertEquals(expected, ledger.size());
        assertEquals(expected, ids(ledger).size());
        for (List<Tracked> l : kept) {
            l.forEach(ledger::remove);
        }
        assertEquals(0, ledger.size());
    }
}
