package io.memgov.runtime;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.function.Consumer;

/**
 * Live storages, in striped slot tables: O(1) insert and remove under an uncontended lock, no
 * per-entry allocation beyond the {@link Tracked} itself, and a walk for reports and spills. Which
 * storages: every one, in a governor that can spill (it looks here for cold ones); otherwise only
 * those with a recorded site (the report's live sites). The governor counts every storage apart
 * ({@link Counts}), without a lock.
 *
 * <p>Built for cache locality on the hot path: a thread adds to its own stripe, a freed slot is the
 * next one reused (a stack), and neither insert nor remove touches any other record, so an
 * allocation and a release touch a few cache lines that are usually still hot.
 */
public final class Ledger {
    private static final int STRIPES = 16;

    private final Stripe[] stripes = new Stripe[STRIPES];

    public Ledger() {
        for (int i = 0; i < STRIPES; i++) {
            stripes[i] = new Stripe();
        }
    }

    void add(Tracked t) {
        int s = (int) (Thread.currentThread().getId() & (STRIPES - 1));
        t.stripe = (byte) s;
        Stripe st = stripes[s];
        synchronized (st) {
            int slot = st.freeTop > 0 ? st.free[--st.freeTop] : st.highWater++;
            if (slot == st.slots.length) {
                st.slots = Arrays.copyOf(st.slots, slot * 2);
                st.free = Arrays.copyOf(st.free, slot * 2);
            }
            st.slots[slot] = t;
            t.slot = slot;
            st.size++;
        }
    }

    void remove(Tracked t) {
        Stripe st = stripes[t.stripe];
        synchronized (st) {
            int slot = t.slot;
            if (slot < 0 || slot >= st.highWater || st.slots[slot] != t) {
                return; // not in the ledger
            }
            st.slots[slot] = null;
            st.free[st.freeTop++] = slot;
            t.slot = -1;
            st.size--;
        }
    }

    /** Number of live storages. */
    public int size() {
        return (int) sum(st -> st.size);
    }

    /** Sums one figure over the stripes, each read under its lock. */
    private long sum(java.util.function.ToLongFunction<Stripe> figure) {
        long n = 0;
        for (Stripe st : stripes) {
            synchronized (st) {
                n += figure.applyAsLong(st);
            }
        }
        return n;
    }

    /** Calls {@code action} for each live storage, stripe by stripe (a consistent view per stripe). */
    public void forEach(Consumer<Tracked> action) {
        for (Stripe st : stripes) {
            List<Tracked> copy;
            synchronized (st) {
                copy = new ArrayList<>(st.size);
                for (int i = 0; i < st.highWater; i++) {
                    Tracked t = st.slots[i];
                    if (t != null) {
                        copy.add(t);
                    }
                }
            }
            copy.forEach(action);
        }
    }

    private static final class Stripe {
        Tracked[] slots = new Tracked[64];
        /** Free slots, a stack: the slot freed last is reused first (its cache line is hot). */
        int[] free = new int[64];
        int freeTop;
        int highWater;
        int size;
    }
}
