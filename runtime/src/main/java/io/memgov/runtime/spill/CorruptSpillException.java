package io.memgov.runtime.spill;

import java.nio.file.Path;

/** A spill file is missing, truncated or fails its header or checksum check; its data was not restored. */
public final class CorruptSpillException extends SpillException {
    private static final long serialVersionUID = 1L;

    private final long id;
    private final transient Path path;

    public CorruptSpillException(String message, long id, Path path, Throwable cause) {
        super(message, cause);
        this.id = id;
        this.path = path;
    }

    /** The tensor whose data was lost. */
    public long id() { return id; }
    /** The spill file. */
    public Path path() { return path; }
}
