package io.memgov.runtime.spill;

import java.nio.file.Path;

/**
 * A spill found no room on disk; nothing was written (a partial file was removed) and the tensor
 * stays in memory. Either the DISK tier is at {@code memgov.disk.limit} ({@link #noSpace()} false), or
 * the file system of {@code memgov.disk.dir} is full ({@link #noSpace()} true: {@code ENOSPC}, "No space
 * left on device", or a disk quota).
 */
public final class DiskFullException extends SpillException {
    private static final long serialVersionUID = 1L;

    private final long requested;
    private final long used;
    private final long limit;
    private final transient Path dir;
    private final boolean noSpace;
    private final long usable;

    /** The DISK tier's limit: {@code requested} bytes would take {@code used} over {@code limit}. */
    public DiskFullException(String message, long requested, long used, long limit) {
        this(message, requested, used, limit, null, false, -1, null);
    }

    public DiskFullException(String message, long requested, long used, long limit, Path dir, boolean noSpace,
                             long usable, Throwable cause) {
        super(message, cause);
        this.requested = requested;
        this.used = used;
        this.limit = limit;
        this.dir = dir;
        this.noSpace = noSpace;
        this.usable = usable;
    }

    /** Bytes of the spill file that did not fit (header, data and trailer). */
    public long requested() { return requested; }
    /** DISK bytes memgov's spill files held when it failed. */
    public long used() { return used; }
    /** memgov.disk.limit in bytes, -1 for none. */
    public long limit() { return limit; }
    /** memgov.disk.dir, or null when not known. */
    public Path dir() { return dir; }
    /** True: the file system itself is full (ENOSPC or a quota); false: the DISK tier is at its limit. */
    public boolean noSpace() { return noSpace; }
    /** Bytes the file system said were usable by this JVM after the failure, -1 when not known. */
    public long usable() { return usable; }
}
