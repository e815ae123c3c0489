package io.memgov.runtime.spill;

import io.memgov.runtime.Budget;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.DirectoryNotEmptyException;
import java.nio.file.FileAlreadyExistsException;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.NoSuchFileException;
import java.nio.file.OpenOption;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.nio.file.attribute.BasicFileAttributes;
import java.nio.file.attribute.FileAttribute;
import java.nio.file.attribute.PosixFilePermission;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.ArrayList;
import java.util.Collections;
import java.util.EnumSet;
import java.util.List;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;
import java.util.zip.CRC32;
import java.util.zip.CRC32C;

/**
 * The governor's spill files: one file per spilled tensor in {@code memgov.disk.dir}, counted on the
 * DISK budget by its full size. A file read back by a restore may be kept ({@link #retain}): the
 * tensor's next spill then writes nothing when its bytes did not change (same length, CRC32C and
 * CRC32: a 64-bit check).
 *
 * <p>File format (big-endian): header {@code "MGSP"} magic (4 bytes), format version int (4), tensor
 * id long (8), data length long (8); then the data; then the CRC32C of the data as an int (4).
 *
 * <p>Thread safe: writes, reads and deletes of different files may run concurrently.
 */
public final class SpillStore implements AutoCloseable {
    static final int MAGIC_INT = 0x4D475350; // "MGSP"
    static final int VERSION = 1;
    static final int HEADER = 4 + 4 + 8 + 8;
    static final int TRAILER = 4;
    /** Heap sources are written in slices so the JDK's temporary direct buffer stays small. */
    private static final int HEAP_CHUNK = 1 << 20;
    private static final String FIX_DIR = "set memgov.disk.dir to a writable directory";

    /** Restores read and checksum this much at a time (it stays in the CPU cache between the two). */
    private static final int READ_CHUNK = 256 * 1024;
    private static final Set<PosixFilePermission> DIR_PERMS = PosixFilePermissions.fromString("rwx------");
    private static final Set<PosixFilePermission> FILE_PERMS = PosixFilePermissions.fromString("rw-------");
    private static final OpenOption[] WRITE_OPTIONS = {StandardOpenOption.CREATE_NEW, StandardOpenOption.WRITE};
    private static final Set<OpenOption> WRITE_OPTION_SET =
            Collections.unmodifiableSet(EnumSet.of(StandardOpenOption.CREATE_NEW, StandardOpenOption.WRITE));

    private final Path dir;
    private final Budget disk;
    private final boolean posix;
    /** Opens a new spill file for writing (a test may substitute a channel that fails as a full disk does). */
    private final Opener opener;
    private final AtomicLong seq = new AtomicLong();
    private final Set<SpillFile> live = ConcurrentHashMap.newKeySet();
    /** Files kept after a restore, by tensor id (see {@link #retain}); each is also in {@link #live}. */
    private final ConcurrentHashMap<Long, SpillFile> retained = new ConcurrentHashMap<>();
    private final AtomicInteger files = new AtomicInteger();
    private final AtomicLong bytes = new AtomicLong();

    private final Object dirLock = new Object();
    private volatile boolean dirReady;
    /** Directories this store created, parents first. Guarded by dirLock. */
    private final List<Path> createdDirs = new ArrayList<>();
    private volatile boolean closed;

    /**
     * @param dir  {@code memgov.disk.dir}; created lazily (0700, with missing parents) on the first write
     * @param disk the DISK budget: used/peak/limit in bytes of spill files
     */
    public SpillStore(Path dir, Budget disk) {
        this(dir, disk, null);
    }

    /** {@code opener}: how a new spill file is opened for writing; null for the real one. */
    SpillStore(Path dir, Budget disk, Opener opener) {
        if (dir == null || disk == null) {
            throw new NullPointerException(dir == null ? "dir" : "disk");
        }
        this.dir = dir.toAbsolutePath();
        this.disk = disk;
        this.posix = this.dir.getFileSystem().supportedFileAttributeViews().contains("posix");
        this.opener = opener != null ? opener : posix
                ? path -> FileChannel.open(path, WRITE_OPTION_SET, PosixFilePermissions.asFileAttribute(FILE_PERMS))
                : path -> FileChannel.open(path, WRITE_OPTIONS);
    }

    /** Opens a new spill file (CREATE_NEW) for writing. */
    interface Opener {
        FileChannel open(Path path) throws IOException;
    }

    public Path dir() { return dir; }

    /** Spill files are named {@code spill-<tensor id>-<n>.bin}. */
    private static final java.util.regex.Pattern FILE_NAME = java.util.regex.Pattern.compile("spill--?\\d+-\\d+\\.bin");

    /** True for a name this store gives its spill files ({@code spill-<tensor id>-<n>.bin}). */
    public static boolean isSpillFileName(String name) {
        return FILE_NAME.matcher(name).matches();
    }

    /**
     * Writes {@code data} (position..limit, not modified) as the spill file of tensor {@code id}.
     *
     * @throws DiskFullException the file would take the DISK budget over its limit; nothing was written
     * @throws SpillException    the directory or the file could not be written; nothing was left behind
     */
    public SpillFile write(long id, ByteBuffer data) throws SpillException {
        if (data == null) {
            throw new NullPointerException("data");
        }
        if (closed) {
            throw new SpillException("memgov: spill store " + dir + " is closed; tensor " + id + " was not spilled");
        }
        ByteBuffer src = data.duplicate();
        long length = src.remaining();
        long size = HEADER + length + TRAILER;
        int sum = 0;
        int sum2 = 0;
        SpillFile clean = retained.remove(id);
        if (clean != null) {
            sum = crc32c(src);
            sum2 = crc32(src);
            if (clean.holds(length, sum, sum2) && live.contains(clean) && untouched(clean)) {
                return clean; // unchanged since it was restored from this file: nothing to write
            }
            delete(clean); // changed: the kept copy is stale
        }
        if (!disk.tryReserve(size) && (dropRetained(size) == 0 || !disk.tryReserve(size))) {
            long used = disk.used();
            long limit = disk.limit();
            throw new DiskFullException("memgov: cannot spill tensor " + id + ": DISK tier request of " + size
                    + " bytes (" + length + " bytes of data) would exceed the limit (used " + used + " of limit "
                    + limit + " bytes); raise memgov.disk.limit or free space in " + dir, size, used, limit,
                    dir, false, -1, null);
        }
        if (clean == null) { // checksummed only once the file has room: a full DISK costs no pass over the data
            sum = crc32c(src);
            sum2 = crc32(src);
        }
        Path path = null;
        boolean done = false;
        try {
            ensureDir();
            ByteBuffer header = ByteBuffer.allocate(HEADER);
            header.putInt(MAGIC_INT).putInt(VERSION).putLong(id).putLong(length).flip();
            ByteBuffer trailer = ByteBuffer.allocate(TRAILER);
            trailer.putInt(sum).flip();

            FileChannel ch = null;
            while (ch == null) {
                path = dir.resolve("spill-" + id + "-" + seq.getAndIncrement() + ".bin");
                try {
                    ch = opener.open(path);
                } catch (FileAlreadyExistsException e) {
                    path = null; // a stale file of another run in a pre-existing directory: take the next name
                }
            }
            try (FileChannel c = ch) {
                if (src.isDirect() || src.remaining() <= HEAP_CHUNK) {
                    ByteBuffer[] all = {header, src, trailer};
                    while (trailer.hasRemaining()) {
                        c.write(all);
                    }
                } else {
                    writeFully(c, header);
                    int end = src.limit();
                    while (src.position() < end) {
                        src.limit((int) Math.min(end, (long) src.position() + HEAP_CHUNK));
                        writeFully(c, src);
                    }
                    writeFully(c, trailer);
                }
            }
            SpillFile file = new SpillFile(id, length, path, size, sum, sum2);
            file.stamp = stamp(path);
            live.add(file);
            files.incrementAndGet();
            bytes.addAndGet(size);
            done = true;
            if (closed) { // raced with close(): do not leave a file behind
                delete(file);
                throw new SpillException("memgov: spill store " + dir + " is closed; tensor " + id + " was not spilled");
            }
            return file;
        } catch (SpillException e) {
            if (!(e instanceof DiskFullException) && isNoSpace(e.getCause())) {
                throw noSpace(id, length, size, path, e.getCause());
            }
            throw e;
        } catch (IOException | RuntimeException e) {
            if (isNoSpace(e)) {
                throw noSpace(id, length, size, path, e);
            }
            throw new SpillException("memgov: cannot write spill file " + (path != null ? path : dir)
                    + " of tensor " + id + " (" + length + " bytes): " + e + "; the tensor stays in memory", e);
        } finally {
            if (!done) {
                if (path != null) {
                    try {
                        Files.deleteIfExists(path);
                    } catch (IOException | RuntimeException ignored) {
                        // best effort: the file is partial and unknown to the store
                    }
                }
                disk.release(size);
            }
        }
    }

    private static int crc32c(ByteBuffer src) {
        CRC32C crc = new CRC32C();
        crc.update(src.duplicate());
        return (int) crc.getValue();
    }

    private static int crc32(ByteBuffer src) {
        CRC32 crc = new CRC32();
        crc.update(src.duplicate());
        return (int) crc.getValue();
    }

    /**
     * True when {@code t} (or a cause of it) says the file system is full: {@code ENOSPC} ("No space
     * left on device") or {@code EDQUOT} ("Disk quota exceeded"), as the JDK words the errno on Linux
     * and macOS.
     */
    public static boolean isNoSpace(Throwable t) {
        for (int depth = 0; t != null && depth < 8; t = t.getCause(), depth++) {
            String m = t instanceof java.nio.file.FileSystemException
                    ? ((java.nio.file.FileSystemException) t).getReason() : t.getMessage();
            if (m == null && t instanceof java.nio.file.FileSystemException) {
                m = t.getMessage();
            }
            if (m != null) {
                String l = m.toLowerCase(java.util.Locale.ROOT);
                if (l.contains("no space left on device") || l.contains("disk quota exceeded")
                        || l.contains("not enough space on the disk")) {
                    return true;
                }
            }
        }
        return false;
    }

    /** The file system of the spill directory is full: a {@link DiskFullException} naming it, its space and the fix. */
    private DiskFullException noSpace(long id, long length, long size, Path path, Throwable cause) {
        long usable = usableSpace();
        long used = Math.max(0, disk.used() - size); // less this file's reservation, released as it is removed
        String reason = cause.getMessage() != null && !cause.getMessage().isEmpty() ? cause.getMessage() : cause.toString();
        return new DiskFullException("memgov: cannot spill tensor " + id + ": the disk of memgov.disk.dir=" + dir
                + " is full (" + reason + ") writing " + (path != null ? path : dir) + " (" + size + " bytes, "
                + length + " bytes of data)" + (usable >= 0 ? "; " + usable + " bytes usable there" : "")
                + "; the tensor stays in memory. Free space on that disk or point memgov.disk.dir to a bigger disk",
                size, used, disk.limit(), dir, true, usable, cause);
    }

    /** Bytes usable on the spill directory's file system (the nearest existing parent's), -1 if unknown. */
    long usableSpace() {
        try {
            Path p = dir;
            while (p != null && !Files.exists(p)) {
                p = p.getParent();
            }
            return p == null ? -1 : Files.getFileStore(p).getUsableSpace();
        } catch (IOException | RuntimeException e) {
            return -1;
        }
    }

    /**
     * Reads a spill file back into a new direct buffer (position 0, limit = data length), after verifying
     * its header, size and checksum. Does not delete the file.
     *
     * @throws CorruptSpillException the file is missing, truncated, has a wrong header or checksum
     * @throws SpillException        the file could not be read
     */
    public ByteBuffer read(SpillFile file) throws SpillException {
        if (file.length() > Integer.MAX_VALUE) {
            throw corrupt(file, "length " + file.length() + " exceeds a buffer", null);
        }
        ByteBuffer out = ByteBuffer.allocateDirect((int) file.length());
        readInto(file, out);
        out.flip();
        return out;
    }

    /**
     * Reads a spill file's data into {@code out} (from its position; it must have {@code length()}
     * bytes remaining), e.g. straight into the memory of the tensor being rebuilt, and verifies the
     * header, size and checksum. On return the position has advanced by the data length. When this
     * throws, the bytes in {@code out} must not be used.
     *
     * @throws CorruptSpillException the file is missing, truncated, has a wrong header or checksum
     * @throws SpillException        the file could not be read
     */
    public void readInto(SpillFile file, ByteBuffer target) throws SpillException {
        long id = file.id();
        Path path = file.path();
        try (FileChannel ch = FileChannel.open(path, StandardOpenOption.READ)) {
            long size = ch.size();
            long expectedSize = HEADER + file.length() + TRAILER;
            if (size < HEADER) {
                throw corrupt(file, "truncated: " + size + " bytes, expected " + expectedSize, null);
            }
            ByteBuffer header = ByteBuffer.allocate(HEADER);
            if (!readFully(ch, header)) {
                throw corrupt(file, "truncated header", null);
            }
            header.flip();
            int magic = header.getInt();
            if (magic != MAGIC_INT) {
                throw corrupt(file, "wrong magic 0x" + hex(magic) + ", expected 0x" + hex(MAGIC_INT) + " \"MGSP\"", null);
            }
            int version = header.getInt();
            if (version != VERSION) {
                throw corrupt(file, "unknown format version " + version + ", expected " + VERSION, null);
            }
            long fileId = header.getLong();
            if (fileId != id) {
                throw corrupt(file, "header names tensor " + fileId, null);
            }
            long length = header.getLong();
            if (length != file.length()) {
                throw corrupt(file, "header length " + length + ", expected " + file.length(), null);
            }
            if (size != expectedSize) {
                throw corrupt(file, (size < expectedSize ? "truncated: " : "wrong size: ") + size
                        + " bytes, expected " + expectedSize, null);
            }
            if (target.remaining() < length) {
                throw new SpillException("memgov: spill file " + path + " of tensor " + id + " holds " + length
                        + " bytes but only " + target.remaining() + " can be restored into", null);
            }
            ByteBuffer out = target.duplicate();
            out.limit(out.position() + (int) length);
            int start = out.position();
            ByteBuffer trailer = ByteBuffer.allocate(TRAILER);
            // read and checksum chunk by chunk: each chunk is checksummed while it is still in cache
            CRC32C crc = new CRC32C();
            int end = out.limit();
            while (out.position() < end) {
                int chunkStart = out.position();
                out.limit((int) Math.min(end, (long) chunkStart + READ_CHUNK));
                while (out.hasRemaining()) {
                    if (ch.read(out) < 0) {
                        throw corrupt(file, "truncated while reading", null);
                    }
                }
                ByteBuffer chunk = out.duplicate();
                chunk.flip();
                chunk.position(chunkStart);
                crc.update(chunk);
            }
            while (trailer.hasRemaining()) {
                if (ch.read(trailer) < 0) {
                    throw corrupt(file, "truncated while reading", null);
                }
            }
            trailer.flip();
            int actual = (int) crc.getValue();
            int expected = trailer.getInt();
            if (actual != expected) {
                throw corrupt(file, "checksum 0x" + hex(actual) + " expected 0x" + hex(expected), null);
            }
            target.position(start + (int) length);
        } catch (NoSuchFileException e) {
            throw new CorruptSpillException("memgov: spill file " + path + " of tensor " + id
                    + " is missing; its data was not restored", id, path, e);
        } catch (SpillException e) {
            throw e;
        } catch (IOException e) {
            throw new SpillException("memgov: cannot read spill file " + path + " of tensor " + id + ": " + e
                    + "; its data was not restored", e);
        }
    }

    /**
     * Keeps {@code file} after its tensor was restored from it: while the tensor's bytes stay
     * unchanged, its next {@link #write} returns this file instead of writing another. Kept files
     * count on DISK; they are the first thing a full DISK gives up ({@link #dropRetained}), and go
     * with {@link #delete} (when the tensor is released) or {@link #close}.
     */
    public void retain(SpillFile file) {
        if (file == null) {
            return;
        }
        retained.put(file.id(), file);
        if (closed || !live.contains(file)) { // raced with close() or a delete: keep nothing
            retained.remove(file.id(), file);
        }
    }

    /** Size, modification time and file key (inode) of {@code path}: what a later check compares; null if unreadable. */
    private static Object stamp(Path path) {
        try {
            BasicFileAttributes a = Files.readAttributes(path, BasicFileAttributes.class, LinkOption.NOFOLLOW_LINKS);
            return java.util.Arrays.asList(a.size(), a.lastModifiedTime().toMillis(), a.fileKey());
        } catch (IOException | RuntimeException e) {
            return null;
        }
    }

    /**
     * True when a kept file is, by its size, modification time and inode, the file this store wrote:
     * a file replaced, truncated or rewritten since (by anything else) is not trusted with a tensor's
     * only copy. One stat; the bytes themselves were checksummed when they were written.
     */
    private static boolean untouched(SpillFile file) {
        Object before = file.stamp;
        return before != null && before.equals(stamp(file.path()));
    }

    /** Deletes kept clean files (see {@link #retain}) until at least {@code bytes} are freed; returns the bytes freed. */
    public long dropRetained(long bytes) {
        long freed = 0;
        for (SpillFile f : retained.values()) {
            if (freed >= bytes) {
                break;
            }
            if (retained.remove(f.id(), f) && live.contains(f)) {
                delete(f);
                freed += f.size();
            }
        }
        return freed;
    }

    /** Deletes the file and releases its bytes from the DISK budget. Idempotent. */
    public void delete(SpillFile file) {
        if (file == null) {
            return;
        }
        retained.remove(file.id(), file);
        if (live.remove(file)) {
            try {
                Files.deleteIfExists(file.path());
            } catch (IOException | RuntimeException ignored) {
                // the file is gone from the store's view; a leftover is removed with the directory at exit
            }
            files.decrementAndGet();
            bytes.addAndGet(-file.size());
            disk.release(file.size());
        }
    }

    /** True while {@code file} is one of this store's files (written, and not deleted since). */
    public boolean holds(SpillFile file) {
        return file != null && live.contains(file);
    }

    /** Number of spill files currently held. */
    public int files() { return files.get(); }

    /** Bytes (file sizes, as counted on the DISK budget) currently held. */
    public long bytes() { return bytes.get(); }

    /** Deletes every spill file, then the directories this store created (when empty). Idempotent. */
    @Override
    public void close() {
        closed = true;
        for (SpillFile f : live.toArray(new SpillFile[0])) {
            delete(f);
        }
        synchronized (dirLock) {
            for (int i = createdDirs.size() - 1; i >= 0; i--) {
                try {
                    Files.deleteIfExists(createdDirs.get(i));
                } catch (DirectoryNotEmptyException e) {
                    break; // someone else put files there: keep it and its parents
                } catch (IOException | RuntimeException e) {
                    break;
                }
            }
            createdDirs.clear();
        }
    }

    private void ensureDir() throws SpillException {
        if (dirReady) {
            return;
        }
        synchronized (dirLock) {
            if (dirReady) {
                return;
            }
            if (closed) {
                throw new SpillException("memgov: spill store " + dir + " is closed");
            }
            try {
                List<Path> missing = new ArrayList<>();
                for (Path p = dir; p != null && !Files.exists(p, LinkOption.NOFOLLOW_LINKS); p = p.getParent()) {
                    missing.add(0, p);
                }
                for (Path p : missing) {
                    try {
                        if (posix) {
                            FileAttribute<Set<PosixFilePermission>> attr = PosixFilePermissions.asFileAttribute(DIR_PERMS);
                            Files.createDirectory(p, attr);
                            Files.setPosixFilePermissions(p, DIR_PERMS); // exactly 0700 whatever the umask
                        } else {
                            Files.createDirectory(p);
                        }
                        createdDirs.add(p);
                    } catch (FileAlreadyExistsException e) {
                        // created concurrently by someone else: use it as is
                    }
                }
            } catch (IOException | RuntimeException e) {
                throw new SpillException("memgov: cannot create spill directory " + dir + ": " + e + "; " + FIX_DIR, e);
            }
            if (!Files.isDirectory(dir)) {
                throw new SpillException("memgov: spill directory " + dir + " is not a directory"
                        + (Files.exists(dir) ? " (it is a file)" : "") + "; " + FIX_DIR);
            }
            if (!Files.isWritable(dir)) {
                throw new SpillException("memgov: spill directory " + dir + " is not writable; " + FIX_DIR);
            }
            dirReady = true;
        }
    }

    private static void writeFully(FileChannel ch, ByteBuffer b) throws IOException {
        while (b.hasRemaining()) {
            ch.write(b);
        }
    }

    private static boolean readFully(FileChannel ch, ByteBuffer b) throws IOException {
        while (b.hasRemaining()) {
            if (ch.read(b) < 0) {
                return false;
            }
        }
        return true;
    }

    private static CorruptSpillException corrupt(SpillFile file, String why, Throwable cause) {
        return new CorruptSpillException("memgov: spill file " + file.path() + " of tensor " + file.id()
                + " is corrupt (" + why + "); its data was not restored", file.id(), file.path(), cause);
    }

    private static String hex(int v) {
        String s = Integer.toHexString(v);
        return "00000000".substring(s.length()) + s;
    }
}
