package io.memgov.runtime.spill;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import io.memgov.runtime.Budget;

import java.io.IOException;
import java.io.RandomAccessFile;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

class SpillStoreTest {
    private static final int OVERHEAD = SpillStore.HEADER + SpillStore.TRAILER;

    @TempDir
    Path tmp;

    private static byte[] random(int n, long seed) {
        byte[] b = new byte[n];
        new Random(seed).nextBytes(b);
        return b;
    }

    private static byte[] bytesOf(ByteBuffer b) {
        byte[] out = new byte[b.remaining()];
        b.duplicate().get(out);
        return out;
    }

    private static boolean posix(Path p) {
        return p.getFileSystem().supportedFileAttributeViews().contains("posix");
    }

    private static long fileCount(Path dir) throws IOException {
        if (!Files.exists(dir)) {
            return 0;
        }
        try (Stream<Path> s = Files.list(dir)) {
            return s.count();
        }
    }

    @ParameterizedTest
    @ValueSource(ints = {0, 1, 4095, (1 << 20) + 3, (3 << 20) + 7})
    void roundTripIsBitForBitForHeapAndDirectSources(int size) throws Exception {
        Budget disk = new Budget("disk", Budget.NONE);
        try (SpillStore store = new SpillStore(tmp.resolve("spill"), disk)) {
            for (boolean direct : new boolean[] {false, true}) {
                byte[] payload = random(size, size * 31L + (direct ? 1 : 0));
                // surround the payload with bytes that must not be spilled
                ByteBuffer src = direct ? ByteBuffer.allocateDirect(size + 10) : ByteBuffer.allocate(size + 10);
                src.put(new byte[5]).put(payload).put(new byte[5]);
                src.position(5).limit(5 + size);

                SpillFile f = store.write(42, src);
                assertEquals(5, src.position());
                assertEquals(5 + size, src.limit());
                assertEquals(42, f.id());
                assertEquals(size, f.length());
                assertEquals(size + OVERHEAD, Files.size(f.path()));

                ByteBuffer back = store.read(f);
                assertTrue(back.isDirect());
                assertEquals(0, back.position());
                assertEquals(size, back.limit());
                assertTrue(java.util.Arrays.equals(payload, bytesOf(back)));
                // read does not delete: a second read gives the same bytes
                assertTrue(java.util.Arrays.equals(payload, bytesOf(store.read(f))));
                store.delete(f);
                assertFalse(Files.exists(f.path()));
            }
            assertEquals(0, store.files());
            assertEquals(0, disk.used());
        }
    }

    @Test
    void readOnlySourceBufferCanBeSpilled() throws Exception {
        byte[] payload = random(1000, 7);
        try (SpillStore store = new SpillStore(tmp.resolve("s"), new Budget("disk", -1))) {
            SpillFile f = store.write(1, ByteBuffer.wrap(payload).asReadOnlyBuffer());
            assertTrue(java.util.Arrays.equals(payload, bytesOf(store.read(f))));
        }
    }

    @Test
    void fileFormatIsHeaderDataTrailer() throws Exception {
        byte[] payload = random(100, 3);
        try (SpillStore store = new SpillStore(tmp.resolve("s"), new Budget("disk", -1))) {
            SpillFile f = store.write(7, ByteBuffer.wrap(payload));
            assertTrue(f.path().getFileName().toString().matches("spill-7-\\d+\\.bin"), f.path().toString());
            ByteBuffer all = ByteBuffer.wrap(Files.readAllBytes(f.path()));
            byte[] magic = new byte[4];
            all.get(magic);
            assertEquals("MGSP", new String(magic, "US-ASCII"));
            assertEquals(SpillStore.VERSION, all.getInt());
            assertEquals(7, all.getLong());
            assertEquals(100, all.getLong());
            byte[] data = new byte[100];
            all.get(data);
            assertTrue(java.util.Arrays.equals(payload, data));
            java.util.zip.CRC32C crc = new java.util.zip.CRC32C();
            crc.update(payload);
            assertEquals((int) crc.getValue(), all.getInt());
            assertFalse(all.hasRemaining());
        }
    }

    @Test
    void directoryIsCreatedLazily0700WithParentsAndFilesAre0600() throws Exception {
        assumeTrue(posix(tmp));
        Path dir = tmp.resolve("a").resolve("b").resolve("spill");
        try (SpillStore store = new SpillStore(dir, new Budget("disk", -1))) {
            assertFalse(Files.exists(tmp.resolve("a")));
            SpillFile f = store.write(1, ByteBuffer.allocate(10));
            assertEquals("rwx------", PosixFilePermissions.toString(Files.getPosixFilePermissions(dir)));
            assertEquals("rw-------", PosixFilePermissions.toString(Files.getPosixFilePermissions(f.path())));
        }
        assertFalse(Files.exists(tmp.resolve("a")), "created parents are removed too");
    }

    @Test
    void preExistingDirectoryIsUsedAsIsAndKept() throws Exception {
        Path dir = Files.createDirectory(tmp.resolve("existing"));
        Path other = Files.write(dir.resolve("not-ours.txt"), new byte[] {1});
        String perms = posix(dir) ? PosixFilePermissions.toString(Files.getPosixFilePermissions(dir)) : null;
        SpillStore store = new SpillStore(dir, new Budget("disk", -1));
        SpillFile f1 = store.write(1, ByteBuffer.allocate(10));
        SpillFile f2 = store.write(2, ByteBuffer.allocate(20));
        if (perms != null) {
            assertEquals(perms, PosixFilePermissions.toString(Files.getPosixFilePermissions(dir)));
        }
        store.close();
        assertFalse(Files.exists(f1.path()));
        assertFalse(Files.exists(f2.path()));
        assertTrue(Files.isDirectory(dir));
        assertTrue(Files.exists(other));
        store.close(); // idempotent
        assertTrue(Files.isDirectory(dir));
    }

    @Test
    void staleFileWithTheSameNameIsNotOverwritten() throws Exception {
        Path dir = Files.createDirectory(tmp.resolve("existing"));
        Path stale = Files.write(dir.resolve("spill-5-0.bin"), new byte[] {9, 9});
        try (SpillStore store = new SpillStore(dir, new Budget("disk", -1))) {
            SpillFile f = store.write(5, ByteBuffer.wrap(new byte[] {1, 2, 3}));
            assertFalse(stale.equals(f.path()));
            assertTrue(java.util.Arrays.equals(new byte[] {1, 2, 3}, bytesOf(store.read(f))));
        }
        assertTrue(java.util.Arrays.equals(new byte[] {9, 9}, Files.readAllBytes(stale)));
    }

    @Test
    void closeRemovesAllFilesAndTheCreatedDirectory() throws Exception {
        Path dir = tmp.resolve("memgov-1");
        Budget disk = new Budget("disk", -1);
        SpillStore store = new SpillStore(dir, disk);
        for (int i = 0; i < 10; i++) {
            store.write(i, ByteBuffer.allocate(100 * i));
        }
        assertEquals(10, fileCount(dir));
        store.close();
        assertFalse(Files.exists(dir));
        assertEquals(0, store.files());
        assertEquals(0, store.bytes());
        assertEquals(0, disk.used());
        store.close();
        assertThrows(SpillException.class, () -> store.write(1, ByteBuffer.allocate(1)));
        assertEquals(0, disk.used());
    }

    @Test
    void closeWithoutWritesCreatesNothing() {
        Path dir = tmp.resolve("never");
        new SpillStore(dir, new Budget("disk", -1)).close();
        assertFalse(Files.exists(dir));
    }

    @Test
    void diskBudgetFollowsWritesAndDeletes() throws Exception {
        Budget disk = new Budget("disk", Budget.NONE);
        try (SpillStore store = new SpillStore(tmp.resolve("s"), disk)) {
            SpillFile a = store.write(1, ByteBuffer.allocate(1000));
            assertEquals(1000 + OVERHEAD, disk.used());
            assertEquals(1000 + OVERHEAD, store.bytes());
            assertEquals(1, store.files());
            SpillFile b = store.write(2, ByteBuffer.allocateDirect(500));
            assertEquals(1500 + 2 * OVERHEAD, disk.used());
            assertEquals(1500 + 2 * OVERHEAD, disk.peak());
            assertEquals(2, store.files());
            store.delete(a);
            assertEquals(500 + OVERHEAD, disk.used());
            assertEquals(1500 + 2 * OVERHEAD, disk.peak());
            assertEquals(1, store.files());
            store.delete(a); // idempotent
            assertEquals(500 + OVERHEAD, disk.used());
            assertEquals(500 + OVERHEAD, store.bytes());
            store.delete(b);
            assertEquals(0, disk.used());
            assertEquals(0, store.files());
            assertEquals(0, store.bytes());
        }
    }

    @Test
    void diskLimitThrowsDiskFullAndWritesNothing() throws Exception {
        Path dir = tmp.resolve("s");
        Budget disk = new Budget("disk", 1000 + OVERHEAD + 50);
        try (SpillStore store = new SpillStore(dir, disk)) {
            store.write(1, ByteBuffer.allocate(1000));
            long used = disk.used();
            DiskFullException e = assertThrows(DiskFullException.class, () -> store.write(2, ByteBuffer.allocate(100)));
            String m = e.getMessage();
            assertTrue(m.startsWith("memgov:"), m);
            assertTrue(m.contains(String.valueOf(100 + OVERHEAD)), m);
            assertTrue(m.contains(String.valueOf(used)), m);
            assertTrue(m.contains(String.valueOf(disk.limit())), m);
            assertTrue(m.contains("memgov.disk.limit") && m.contains("free space"), m);
            assertEquals(100 + OVERHEAD, e.requested());
            assertEquals(disk.limit(), e.limit());
            assertEquals(used, disk.used());
            assertEquals(1, store.files());
            assertEquals(1, fileCount(dir));
            // exactly up to the limit is still fine
            store.write(3, ByteBuffer.allocate(50 - OVERHEAD));
            assertEquals(disk.limit(), disk.used());
        }
    }

    /**
     * A real ENOSPC from the kernel: the spill file is created (and partly written, as on a disk that
     * fills up), but the channel the store writes through is /dev/full's, whose writes fail with "No
     * space left on device". (A tiny tmpfs would need root.)
     */
    @Test
    void noSpaceLeftOnDeviceIsADiskFullNamingTheDirAndTheFixAndLeavesNoPartialFile() throws Exception {
        Path devFull = java.nio.file.Paths.get("/dev/full");
        assumeTrue(Files.isWritable(devFull), "/dev/full is needed to get a real ENOSPC");
        Path dir = tmp.resolve("s");
        Budget disk = new Budget("disk", Budget.NONE);
        List<Path> opened = new ArrayList<>();
        SpillStore.Opener full = path -> {
            Files.write(path, new byte[4096], StandardOpenOption.CREATE_NEW, StandardOpenOption.WRITE); // partial
            opened.add(path);
            return FileChannel.open(devFull, StandardOpenOption.WRITE);
        };
        try (SpillStore store = new SpillStore(dir, disk, full)) {
            byte[] data = random(64 * 1024, 9);
            DiskFullException e = assertThrows(DiskFullException.class, () -> store.write(5, ByteBuffer.wrap(data)));
            assertTrue(e.noSpace(), "ENOSPC is the file system being full, not the DISK limit");
            String m = e.getMessage();
            assertTrue(m.startsWith("memgov: cannot spill tensor 5: the disk of memgov.disk.dir=" + dir + " is full"), m);
            assertTrue(m.contains("No space left on device"), m);
            assertTrue(m.contains("the tensor stays in memory"), m);
            assertTrue(m.contains("Free space on that disk or point memgov.disk.dir to a bigger disk"), m);
            assertEquals(dir, e.dir());
            assertEquals(-1, e.limit());
            assertEquals(64 * 1024 + OVERHEAD, e.requested());
            assertTrue(e.usable() >= 0, "the free space of the file system is given");
            assertEquals(1, opened.size());
            assertFalse(Files.exists(opened.get(0)), "the partial spill file is removed");
            assertEquals(0, fileCount(dir));
            assertEquals(0, disk.used(), "nothing stays reserved on DISK");
            assertEquals(0, store.files());
            assertTrue(SpillStore.isNoSpace(e.getCause()), String.valueOf(e.getCause()));
        }
    }

    @Test
    void noSpaceIsToldFromOtherIoErrors() {
        assertTrue(SpillStore.isNoSpace(new IOException("No space left on device")));
        assertTrue(SpillStore.isNoSpace(new java.nio.file.FileSystemException("/x/spill-1-0.bin", null, "No space left on device")));
        assertTrue(SpillStore.isNoSpace(new java.nio.file.FileSystemException("/x", null, "Disk quota exceeded")));
        assertTrue(SpillStore.isNoSpace(new java.io.UncheckedIOException(new IOException("No space left on device"))));
        assertTrue(SpillStore.isNoSpace(new SpillException("memgov: cannot create spill directory",
                new IOException("No space left on device"))));
        assertFalse(SpillStore.isNoSpace(new IOException("Permission denied")));
        assertFalse(SpillStore.isNoSpace(new java.nio.file.AccessDeniedException("/x")));
        assertFalse(SpillStore.isNoSpace(new IOException((String) null)));
        assertFalse(SpillStore.isNoSpace(new IOException("Input/output error")));
        assertFalse(SpillStore.isNoSpace(null));
    }

    @Test
    void otherWriteErrorsStayPlainSpillExceptions() throws Exception {
        Budget disk = new Budget("disk", Budget.NONE);
        SpillStore.Opener broken = path -> {
            throw new IOException("Input/output error");
        };
        try (SpillStore store = new SpillStore(tmp.resolve("s"), disk, broken)) {
            SpillException e = assertThrows(SpillException.class, () -> store.write(1, ByteBuffer.allocate(10)));
            assertFalse(e instanceof DiskFullException, e.toString());
            assertTrue(e.getMessage().contains("Input/output error"), e.getMessage());
            assertEquals(0, disk.used());
        }
    }

    @Test
    void aFullDiskLimitIsNotNoSpace() throws Exception {
        Budget disk = new Budget("disk", 10);
        try (SpillStore store = new SpillStore(tmp.resolve("s"), disk)) {
            DiskFullException e = assertThrows(DiskFullException.class, () -> store.write(1, ByteBuffer.allocate(100)));
            assertFalse(e.noSpace());
            assertEquals(10, e.limit());
            assertEquals(tmp.resolve("s").toAbsolutePath(), e.dir());
        }
    }

    @Test
    void diskFullOnFirstWriteCreatesNoDirectory() {
        Path dir = tmp.resolve("s");
        Budget disk = new Budget("disk", 0);
        SpillStore store = new SpillStore(dir, disk);
        assertThrows(DiskFullException.class, () -> store.write(1, ByteBuffer.allocate(1)));
        assertEquals(0, disk.used());
        store.close();
    }

    private SpillFile spillAndBreak(SpillStore store, long id) throws Exception {
        return store.write(id, ByteBuffer.wrap(random(4096, id)));
    }

    private static void assertCorrupt(SpillStore store, SpillFile f, String detail) {
        CorruptSpillException e = assertThrows(CorruptSpillException.class, () -> store.read(f));
        String m = e.getMessage();
        assertTrue(m.contains(f.path().toString()), m);
        assertTrue(m.contains("tensor " + f.id()), m);
        assertTrue(m.contains("not restored"), m);
        assertTrue(m.contains(detail), m);
        assertEquals(f.id(), e.id());
        assertEquals(f.path(), e.path());
    }

    private static void flipByte(Path p, long offset) throws IOException {
        try (RandomAccessFile raf = new RandomAccessFile(p.toFile(), "rw")) {
            raf.seek(offset);
            int b = raf.read();
            raf.seek(offset);
            raf.write(b ^ 0x10);
        }
    }

    @Test
    void corruptedDataByteIsDetected() throws Exception {
        try (SpillStore store = new SpillStore(tmp.resolve("s"), new Budget("disk", -1))) {
            SpillFile f = spillAndBreak(store, 7);
            flipByte(f.path(), SpillStore.HEADER + 1234);
            assertCorrupt(store, f, "checksum 0x");
            store.delete(f);
            assertEquals(0, store.files());
        }
    }

    @Test
    void corruptedTrailerIsDetected() throws Exception {
        try (SpillStore store = new SpillStore(tmp.resolve("s"), new Budget("disk", -1))) {
            SpillFile f = spillAndBreak(store, 8);
            flipByte(f.path(), Files.size(f.path()) - 1);
            assertCorrupt(store, f, "expected 0x");
        }
    }

    @Test
    void wrongMagicIsDetected() throws Exception {
        try (SpillStore store = new SpillStore(tmp.resolve("s"), new Budget("disk", -1))) {
            SpillFile f = spillAndBreak(store, 9);
            flipByte(f.path(), 0);
            assertCorrupt(store, f, "magic");
        }
    }

    @Test
    void truncatedFileIsDetected() throws Exception {
        try (SpillStore store = new SpillStore(tmp.resolve("s"), new Budget("disk", -1))) {
            SpillFile f = spillAndBreak(store, 10);
            try (FileChannel ch = FileChannel.open(f.path(), StandardOpenOption.WRITE)) {
                ch.truncate(Files.size(f.path()) - 100);
            }
            assertCorrupt(store, f, "truncated");
            SpillFile g = spillAndBreak(store, 11);
            try (FileChannel ch = FileChannel.open(g.path(), StandardOpenOption.WRITE)) {
                ch.truncate(10); // inside the header
            }
            assertCorrupt(store, g, "truncated");
        }
    }

    @Test
    void deletedFileIsDetected() throws Exception {
        try (SpillStore store = new SpillStore(tmp.resolve("s"), new Budget("disk", -1))) {
            SpillFile f = spillAndBreak(store, 12);
            Files.delete(f.path());
            assertCorrupt(store, f, "missing");
            store.delete(f); // still releases its bytes
            assertEquals(0, store.bytes());
        }
    }

    @Test
    void dirThatIsARegularFileGivesSpillExceptionWithTheFix() throws Exception {
        Path file = Files.write(tmp.resolve("plain"), new byte[] {1});
        Budget disk = new Budget("disk", -1);
        SpillStore store = new SpillStore(file, disk);
        SpillException e = assertThrows(SpillException.class, () -> store.write(1, ByteBuffer.allocate(10)));
        assertFalse(e instanceof DiskFullException);
        String m = e.getMessage();
        assertTrue(m.contains(file.toString()), m);
        assertTrue(m.contains("set memgov.disk.dir to a writable directory"), m);
        assertEquals(0, disk.used());
        assertEquals(0, store.files());
        store.close();
        assertTrue(Files.isRegularFile(file));

        // a directory below a regular file cannot be created either
        SpillStore below = new SpillStore(file.resolve("sub"), disk);
        SpillException e2 = assertThrows(SpillException.class, () -> below.write(1, ByteBuffer.allocate(10)));
        assertTrue(e2.getMessage().contains("set memgov.disk.dir to a writable directory"), e2.getMessage());
        assertEquals(0, disk.used());
        below.close();
    }

    @Test
    void ioErrorDeletesThePartialFileAndReleasesTheReservation() throws Exception {
        assumeTrue(posix(tmp));
        Path dir = Files.createDirectory(tmp.resolve("ro"));
        Budget disk = new Budget("disk", -1);
        SpillStore store = new SpillStore(dir, disk);
        store.write(1, ByteBuffer.allocate(10)); // directory checked and ready
        Files.setPosixFilePermissions(dir, PosixFilePermissions.fromString("r-x------"));
        try {
            assumeTrue(!Files.isWritable(dir), "running as root: permissions are not enforced");
            SpillException e = assertThrows(SpillException.class, () -> store.write(2, ByteBuffer.allocate(10)));
            assertTrue(e.getMessage().contains("tensor 2"), e.getMessage());
            assertNotNull(e.getCause());
            assertEquals(10 + OVERHEAD, disk.used());
            assertEquals(1, store.files());
        } finally {
            Files.setPosixFilePermissions(dir, PosixFilePermissions.fromString("rwx------"));
            store.close();
        }
    }

    @Test
    void concurrentWritesReadsAndDeletesKeepCountersExact() throws Exception {
        final int threads = 8;
        final int perThread = 200;
        Budget disk = new Budget("disk", Budget.NONE);
        Path dir = tmp.resolve("conc");
        try (SpillStore store = new SpillStore(dir, disk)) {
            ExecutorService pool = Executors.newFixedThreadPool(threads);
            CountDownLatch start = new CountDownLatch(1);
            List<Future<Integer>> results = new ArrayList<>();
            for (int t = 0; t < threads; t++) {
                final int thread = t;
                results.add(pool.submit(() -> {
                    start.await();
                    Random r = new Random(thread);
                    List<SpillFile> mine = new ArrayList<>();
                    List<byte[]> data = new ArrayList<>();
                    int verified = 0;
                    for (int i = 0; i < perThread; i++) {
                        byte[] payload = new byte[r.nextInt(20_000)];
                        r.nextBytes(payload);
                        ByteBuffer src;
                        if (r.nextBoolean()) {
                            src = ByteBuffer.allocateDirect(payload.length);
                            src.put(payload).flip();
                        } else {
                            src = ByteBuffer.wrap(payload);
                        }
                        mine.add(store.write(thread * 1_000_000L + i, src));
                        data.add(payload);
                        // interleave reads and deletes of earlier files
                        if (r.nextInt(3) == 0 && !mine.isEmpty()) {
                            int k = r.nextInt(mine.size());
                            if (!java.util.Arrays.equals(data.get(k), bytesOf(store.read(mine.get(k))))) {
                                throw new AssertionError("mismatch");
                            }
                            verified++;
                            store.delete(mine.remove(k));
                            data.remove(k);
                        }
                    }
                    for (int k = 0; k < mine.size(); k++) {
                        if (!java.util.Arrays.equals(data.get(k), bytesOf(store.read(mine.get(k))))) {
                            throw new AssertionError("mismatch");
                        }
                        verified++;
                        store.delete(mine.get(k));
                        store.delete(mine.get(k));
                    }
                    return verified;
                }));
            }
            start.countDown();
            int verified = 0;
            for (Future<Integer> f : results) {
                verified += f.get(120, TimeUnit.SECONDS);
            }
            pool.shutdown();
            assertEquals(threads * perThread, verified);
            assertEquals(0, store.files());
            assertEquals(0, store.bytes());
            assertEquals(0, disk.used());
            assertTrue(disk.peak() > 0);
            assertEquals(0, fileCount(dir));
        }
        assertFalse(Files.exists(dir));
    }

    @Test
    void aKeptFileIsReusedWhileTheBytesAreUnchangedAndReplacedWhenTheyChange() throws Exception {
        Budget disk = new Budget("disk", Budget.NONE);
        try (SpillStore store = new SpillStore(tmp.resolve("spill"), disk)) {
            byte[] data = random(10_000, 5);
            SpillFile first = store.write(7, ByteBuffer.wrap(data));
            store.retain(first); // the tensor was restored from it
            assertEquals(10_000 + OVERHEAD, disk.used(), "a kept file still counts on DISK");

            SpillFile again = store.write(7, ByteBuffer.wrap(data.clone()));
            assertTrue(again == first, "unchanged bytes: the kept file is returned, nothing written");
            assertEquals(1, fileCount(store.dir()));
            assertEquals(10_000 + OVERHEAD, disk.used());
            ByteBuffer back = store.read(again);
            assertTrue(java.util.Arrays.equals(data, bytesOf(back)));

            store.retain(again);
            byte[] changed = data.clone();
            changed[9_999] ^= 1; // one bit
            SpillFile fresh = store.write(7, ByteBuffer.wrap(changed));
            assertFalse(fresh == first, "changed bytes are written to a new file");
            assertFalse(Files.exists(first.path()), "the stale copy is deleted");
            assertEquals(1, fileCount(store.dir()));
            assertEquals(10_000 + OVERHEAD, disk.used());
            assertTrue(java.util.Arrays.equals(changed, bytesOf(store.read(fresh))));

            // a kept file not retained again (the tensor was spilled from elsewhere) is not reused by another id
            store.retain(fresh);
            SpillFile other = store.write(8, ByteBuffer.wrap(changed));
            assertFalse(other == fresh);
            assertEquals(2, fileCount(store.dir()));
            store.delete(fresh); // the tensor was released
            store.delete(other);
            assertEquals(0, fileCount(store.dir()));
            assertEquals(0, disk.used());
        }
    }

    @Test
    void aFullDiskGivesUpKeptCopiesBeforeRefusingASpill() throws Exception {
        Budget disk = new Budget("disk", 2 * (1000 + OVERHEAD));
        try (SpillStore store = new SpillStore(tmp.resolve("spill"), disk)) {
            SpillFile a = store.write(1, ByteBuffer.wrap(random(1000, 1)));
            SpillFile b = store.write(2, ByteBuffer.wrap(random(1000, 2)));
            store.retain(a); // a is resident again; its file is only a copy
            SpillFile c = store.write(3, ByteBuffer.wrap(random(1000, 3)));
            assertFalse(Files.exists(a.path()), "the kept copy made room");
            assertTrue(Files.exists(b.path()), "a spilled tensor's file is never given up");
            assertTrue(Files.exists(c.path()));
            assertEquals(2 * (1000 + OVERHEAD), disk.used());
            // nothing kept any more: the next spill is refused, and nothing already spilled is lost
            assertThrows(DiskFullException.class, () -> store.write(4, ByteBuffer.wrap(random(1000, 4))));
            assertTrue(Files.exists(b.path()) && Files.exists(c.path()));
            // once c's tensor is released, a's next spill writes its file again
            store.delete(c);
            SpillFile a2 = store.write(1, ByteBuffer.wrap(random(1000, 1)));
            assertFalse(a2 == a);
            assertTrue(Files.exists(a2.path()));
        }
    }

    @Test
    void closeDeletesKeptCopies() throws Exception {
        Budget disk = new Budget("disk", Budget.NONE);
        SpillStore store = new SpillStore(tmp.resolve("spill"), disk);
        SpillFile a = store.write(1, ByteBuffer.wrap(random(100, 1)));
        store.retain(a);
        store.close();
        assertFalse(Files.exists(a.path()));
        assertEquals(0, disk.used());
        store.retain(a); // after close: nothing is kept
        assertEquals(0, disk.used());
    }

    @Test
    void aKeptFileChangedOnDiskIsNotTrustedAndTheBytesAreWrittenAgain() throws Exception {
        Budget disk = new Budget("disk", Budget.NONE);
        try (SpillStore store = new SpillStore(tmp.resolve("spill"), disk)) {
            byte[] data = random(50_000, 8);
            SpillFile first = store.write(9, ByteBuffer.wrap(data));
            store.retain(first);
            // something else rewrites the file while the tensor is in memory (same size, new content)
            byte[] junk = Files.readAllBytes(first.path());
            junk[100] ^= 0x40;
            Files.write(first.path(), junk);
            Files.setLastModifiedTime(first.path(), java.nio.file.attribute.FileTime.fromMillis(System.currentTimeMillis() + 5_000));
            SpillFile again = store.write(9, ByteBuffer.wrap(data));
            assertFalse(again == first, "a file changed on disk is not reused");
            assertTrue(java.util.Arrays.equals(data, bytesOf(store.read(again))), "the tensor's bytes, verified");
            assertFalse(Files.exists(first.path()));
        }
    }
}
