package io.memgov.runtime.spill;

import java.nio.file.Path;

/** One spill file written by a {@link SpillStore}: the tensor id, the data length and the path. */
public final class SpillFile {
    private final long id;
    private final long length;
    private final Path path;
    private final long size;
    /** CRC32C of the data (also the file's trailer) and CRC32 of the data: 64 bits to tell unchanged data. */
    private final int crc32c;
    private final int crc32;
    /** The file's size, modification time and key (inode) right after it was written; null if unknown. */
    volatile Object stamp;
    /** A failed read of this file was reported (see {@link #firstFailure}). */
    private boolean failed;

    SpillFile(long id, long length, Path path, long size, int crc32c, int crc32) {
        this.id = id;
        this.length = length;
        this.path = path;
        this.size = size;
        this.crc32c = crc32c;
        this.crc32 = crc32;
    }

    /** True when this file holds {@code length} bytes whose CRC32C and CRC32 are these. */
    boolean holds(long length, int crc32c, int crc32) {
        return this.length == length && this.crc32c == crc32c && this.crc32 == crc32;
    }

    /**
     * True the first time it is called: a restore from this file failed, and the caller reports it
     * (once per file, however many uses or prefetches find it corrupt or missing).
     */
    public synchronized boolean firstFailure() {
        boolean first = !failed;
        failed = true;
        return first;
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
