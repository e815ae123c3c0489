package io.memgov.runtime.spill;

import java.nio.file.Path;

/** One spill file written by a {@link SpillStore}: the tensor id, the data length and the path. */
public final class SpillFile {
    private final long id;
    private final long length;
    private final Path path;
    private final long size;

    SpillFile(long id, long length, Path path, long size) {
        this.id = id;
        this.length = length;
        this.path = path;
        this.size = size;
    }

    /** The tensor id. */
    public long id() { return id; }
    /** Bytes of tensor data (without header and trailer). */
    public long length() { return length; }
    public Path path() { return path; }
    /** Bytes of the file on disk (header + data + trailer): what the DISK budget counts. */
    long size() { return size; }

    @Override
    public String toString() {
        return "SpillFile{id=" + id + ", length=" + length + ", path=" + path + "}";
    }
}
