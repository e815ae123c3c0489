package io.memgov.runtime;

import java.util.ArrayList;
import java.util.List;
import java.util.function.Consumer;

/**
 * Live storages, in striped doubly linked lists: O(1) insert and remove under an uncontended
 * lock, no per-entry allocation beyond the {@link Tracked} itself, and a walk for reports.
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
        int s = (int) (t.id & (STRIPES - 1));
        t.stripe = (byte) s;
        Stripe st = stripes[s];
        synchronized (st) {
            t.next = st.head;
            if (st.head != null) {
                st.head.prev = t;
            }
            st.head = t;
            st.size++;
        }
    }

    void remove(Tracked t) {
        Stripe st = stripes[t.stripe];
        synchronized (st) {
            if (t.prev != null) {
                t.prev.next = t.next;
            } else if (st.head == t) {
                st.head = t.next;
            } else {
                return; // not linked
            }
            if (t.next != null) {
                t.next.prev = t.prev;
            }
            t.prev = null;
            t.next = null;
            st.size--;
        }
    }

    /** Number of live storages. */
    public int size() {
        int n = 0;
        for (Stripe st : stripes) {
            synchronized (st) {
                n += st.size;
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
                for (Tracked t = st.head; t != null; t = t.next) {
                    copy.add(t);
                }
            }
            copy.forEach(action);
        }
    }

    private static final class Stripe {
        Tracked head;
        int size;
    }
}
