package io.memgov.runtime.spill;

/**
 * What the governor asks of a framework to spill one tensor. The framework's helper implements it;
 * restoring is driven by the framework (on the tensor's next use) through the governor's
 * {@code beginRestore}/{@code readSpill}/{@code endRestore}.
 */
public interface SpillBridge {
    /**
     * Writes the storage of {@code tensor} to {@code store} as tensor {@code id} and frees its native
     * memory, or does nothing and returns null when it cannot be spilled now (in use, shared, needed
     * by autograd, not contiguous...). Called with the storage marked SPILLING. A native call may pin
     * the storage at any moment (and make a view of it): the bridge must first make the tensor
     * unreachable for new uses, then check {@code Governor.inUse(record)}, and give up if it is pinned
     * or shared.
     */
    SpillFile spill(Object tensor, Object record, long id, SpillStore store) throws SpillException;

    /**
     * Moves the storage of a DEVICE {@code tensor} to host memory (DEVICE→HOST offload) and frees its
     * device memory, or returns false when it cannot now; same rules as {@link #spill}. Its next use
     * moves it back. Bridges without GPU support keep this default.
     */
    default boolean offload(Object tensor, Object record) {
        return false;
    }

    /**
     * Restores spilled {@code tensor} now, on the calling (prefetch) thread: the governor has marked
     * its storage RESTORING and admitted its bytes; the bridge reads it as a demand restore would
     * ({@code Governor.readSpill}) and ends with {@code Governor.endRestore(record, ok)}. Returns false
     * without touching anything when it cannot (the governor then ends the restore as failed).
     * Bridges that cannot restore off the tensor's own thread keep this default.
     */
    default boolean restoreAhead(Object tensor, Object record) {
        return false;
    }

    /**
     * The pool kind whose idle entries this bridge's restores take ({@code Governor.poolTake}), or -1:
     * a prefetch short of headroom hands such an entry straight to its restore instead of freeing it
     * (freed on the prefetch thread and allocated again there, it would come back as new pages).
     */
    default int restorePoolKind() {
        return -1;
    }
}
