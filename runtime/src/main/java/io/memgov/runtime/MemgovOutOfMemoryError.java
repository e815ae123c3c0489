package io.memgov.runtime;

/**
 * An allocation memgov could not admit under a tier's limit. Its message starts with
 * {@code memgov:} and names the tier, the request, the use and the limit. Nothing already allocated
 * is lost: the failed allocation is undone.
 */
public final class MemgovOutOfMemoryError extends OutOfMemoryError {
    private static final long serialVersionUID = 1L;

    public MemgovOutOfMemoryError(String message) {
        super(message);
    }
}
