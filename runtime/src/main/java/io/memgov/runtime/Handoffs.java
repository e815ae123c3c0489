package io.memgov.runtime;

import java.util.concurrent.atomic.AtomicLong;

/**
 * What a framework helper announces on a thread for the array it creates next on that thread: that
 * it is a view of a tracked array ({@link #expectView}/{@link #takeView}), or that it adopts a direct
 * buffer nothing else holds ({@link #owned}/{@link #takeOwned}). Per thread, not per governor: an
 * announcement made while one governor was installed is consumed whichever is installed next.
 */
final class Handoffs {
    private Handoffs() {
    }

    /** Marks an announced view whose parent array is not tracked: it counts nothing. */
    private static final Object UNTRACKED = new Object();
    private static final ThreadLocal<PendingView> PENDING_VIEW = ThreadLocal.withInitial(PendingView::new);
    /** How many threads have a view announced: lets every other allocation skip the thread-local. */
    private static final AtomicLong PENDING_VIEWS = new AtomicLong();
    /** The direct buffer that NDSerializer-like code allocated on this thread for a tensor to adopt. */
    private static final ThreadLocal<Object> OWNED_DIRECT = new ThreadLocal<>();

    /** See {@link Governor#expectView}. */
    static void expectView(long handle, Object parent) {
        PendingView p = PENDING_VIEW.get();
        if (!p.set) {
            PENDING_VIEWS.incrementAndGet();
        }
        p.set = true;
        p.handle = handle;
        p.parent = parent == null ? UNTRACKED : parent;
    }

    /** See {@link Governor#takeView}. */
    static Object takeView(long handle) {
        if (PENDING_VIEWS.get() == 0) {
            return null;
        }
        PendingView p = PENDING_VIEW.get();
        if (!p.set) {
            return null;
        }
        p.set = false;
        PENDING_VIEWS.decrementAndGet();
        Object parent = p.parent;
        p.parent = null;
        return p.handle == handle ? parent : null;
    }

    static void owned(Object buffer) {
        OWNED_DIRECT.set(buffer);
    }

    static boolean takeOwned(Object buffer) {
        Object o = OWNED_DIRECT.get();
        if (o == null) {
            return false;
        }
        OWNED_DIRECT.remove();
        return o == buffer;
    }

    private static final class PendingView {
        boolean set;
        long handle;
        Object parent;
    }
}
