package io.memgov.runtime.spill;

/** A spill would take the DISK tier over {@code memgov.disk.limit}; nothing was written. */
public final class DiskFullException extends SpillException {
    private static final long serialVersionUID = 1L;

    private final long requested;
    private final long used;
    private final long limit;

    public DiskFullException(String message, long requested, long used, long limit) {
        super(message);
        this.requested = requested;
        this.used = used;
        this.limit = limit;
    }

    public long requested() { return requested; }
    public long used() { return used; }
    public long limit() { return limit; }
}
