package io.memgov.agent;

import io.memgov.runtime.spill.SpillStore;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.nio.file.attribute.FileTime;
import java.util.concurrent.TimeUnit;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

class StaleCleanupTest {
    private static final long SELF = ProcessHandle.current().pid();
    private static final long NOW = System.currentTimeMillis();

    /** The pid of a process that ran and was waited for: not alive any more. */
    static long deadPid() throws IOException, InterruptedException {
        Process p = new ProcessBuilder("true").start();
        assertEquals(0, p.waitFor());
        long pid = p.pid();
        for (int i = 0; i < 100 && ProcessHandle.of(pid).isPresent(); i++) {
            Thread.sleep(10);
        }
        assertFalse(ProcessHandle.of(pid).isPresent(), "pid " + pid + " should be gone");
        return pid;
    }

    static Path spillDir(Path tmp, long pid, int files) throws IOException {
        Path d = Files.createDirectory(tmp.resolve("memgov-" + pid));
        for (int i = 0; i < files; i++) {
            Files.write(d.resolve("spill-" + (i + 1) + "-" + i + ".bin"), new byte[100]);
        }
        return d;
    }

    static Path file(Path p, int bytes) throws IOException {
        return Files.write(p, new byte[bytes]);
    }

    @Test
    void aDeadPidsSpillDirectoryAndBootstrapJarGoAndALivePidsStay(@TempDir Path root) throws Exception {
        Path tmp = Files.createDirectory(root.resolve("tmp"));
        long dead = deadPid();
        long live = ProcessHandle.current().parent().orElseThrow().pid();
        Path deadDir = spillDir(tmp, dead, 3);
        Path liveDir = spillDir(tmp, live, 2);
        Path deadJar = file(tmp.resolve("memgov-bootstrap-" + dead + "-12345.jar"), 50);
        Path liveJar = file(tmp.resolve("memgov-bootstrap-" + live + "-678.jar"), 50);
        Path ownJar = file(tmp.resolve("memgov-bootstrap-" + SELF + "-9.jar"), 50);

        StaleCleanup.Result r = StaleCleanup.run(tmp);

        assertFalse(Files.exists(deadDir));
        assertFalse(Files.exists(deadJar));
        assertTrue(Files.exists(liveDir.resolve("spill-1-0.bin")) && Files.exists(liveDir.resolve("spill-2-1.bin")));
        assertTrue(Files.exists(liveJar));
        assertTrue(Files.exists(ownJar), "this JVM's own jar is in use");
        assertEquals(1, r.dirs);
        assertEquals(3, r.files);
        assertEquals(1, r.jars);
        assertEquals(3 * 100 + 50, r.bytes);
        assertEquals(0, r.kept);
        assertEquals(2, r.removed.size());
    }

    @Test
    void onlyDirectoriesHoldingNothingButSpillFilesAreRemoved(@TempDir Path root) throws Exception {
        Path tmp = Files.createDirectory(root.resolve("tmp"));
        Path empty = Files.createDirectory(tmp.resolve("memgov-101"));
        Path foreign = spillDir(tmp, 102, 2);
        file(foreign.resolve("notes.txt"), 1);
        Path nested = spillDir(tmp, 103, 1);
        Files.createDirectory(nested.resolve("spill-9-9.bin")); // a directory named like a spill file
        Path plainFile = file(tmp.resolve("memgov-104"), 10);
        Path other = Files.createDirectory(tmp.resolve("memgov-models-105"));
        Path otherName = Files.createDirectory(tmp.resolve("memgov-106x"));

        StaleCleanup.Result r = StaleCleanup.run(tmp, SELF, pid -> false, NOW);

        assertFalse(Files.exists(empty), "an empty spill directory of a dead pid goes");
        assertTrue(Files.exists(foreign.resolve("notes.txt")) && Files.exists(foreign.resolve("spill-1-0.bin")),
                "a directory with something memgov does not write stays whole");
        assertTrue(Files.isDirectory(nested.resolve("spill-9-9.bin")) && Files.exists(nested.resolve("spill-1-0.bin")));
        assertTrue(Files.isRegularFile(plainFile));
        assertTrue(Files.isDirectory(other) && Files.isDirectory(otherName));
        assertEquals(1, r.dirs);
        assertEquals(0, r.files);
        assertEquals(2, r.kept);
    }

    @Test
    void symbolicLinksAreNeverFollowedNorRemoved(@TempDir Path root) throws Exception {
        Path tmp = Files.createDirectory(root.resolve("tmp"));
        Path elsewhere = Files.createDirectory(root.resolve("elsewhere"));
        Path target = spillDir(elsewhere, 201, 2);
        Path link = Files.createSymbolicLink(tmp.resolve("memgov-202"), target);
        Path targetJar = file(elsewhere.resolve("precious.jar"), 10);
        Path jarLink = Files.createSymbolicLink(tmp.resolve("memgov-bootstrap-203-1.jar"), targetJar);
        Path inner = spillDir(tmp, 204, 1);
        Path innerLink = Files.createSymbolicLink(inner.resolve("spill-5-5.bin"), targetJar);

        StaleCleanup.Result r = StaleCleanup.run(tmp, SELF, pid -> false, NOW);

        assertTrue(Files.exists(link, LinkOption.NOFOLLOW_LINKS) && Files.exists(target.resolve("spill-1-0.bin")));
        assertTrue(Files.exists(jarLink, LinkOption.NOFOLLOW_LINKS) && Files.exists(targetJar));
        assertTrue(Files.exists(innerLink, LinkOption.NOFOLLOW_LINKS) && Files.exists(inner.resolve("spill-1-0.bin")),
                "a link inside keeps the whole directory");
        assertEquals(0, r.dirs);
        assertEquals(0, r.jars);
        assertEquals(1, r.kept);
    }

    @Test
    void aLivePidIsAskedAndKeptAndTheOwnPidsLeftoverDirectoryGoes(@TempDir Path root) throws Exception {
        Path tmp = Files.createDirectory(root.resolve("tmp"));
        Path liveDir = spillDir(tmp, 301, 1);
        Path liveJar = file(tmp.resolve("memgov-bootstrap-301-5.jar"), 1);
        Path ownDir = spillDir(tmp, SELF, 2); // before this JVM's governor exists: an earlier process's
        Path ownJar = file(tmp.resolve("memgov-bootstrap-" + SELF + "-5.jar"), 1);

        StaleCleanup.Result r = StaleCleanup.run(tmp, SELF, pid -> pid == 301, NOW);

        assertTrue(Files.exists(liveDir.resolve("spill-1-0.bin")) && Files.exists(liveJar));
        assertFalse(Files.exists(ownDir));
        assertTrue(Files.exists(ownJar));
        assertEquals(1, r.dirs);
        assertEquals(0, r.jars);
    }

    @Test
    void oldStyleJarsWithoutAPidGoOnlyWhenOlderThanADay(@TempDir Path root) throws Exception {
        Path tmp = Files.createDirectory(root.resolve("tmp"));
        Path old = file(tmp.resolve("memgov-bootstrap-1234567890123.jar"), 7);
        Files.setLastModifiedTime(old, FileTime.fromMillis(NOW - TimeUnit.HOURS.toMillis(25)));
        Path recent = file(tmp.resolve("memgov-bootstrap-9876543210.jar"), 7);
        Files.setLastModifiedTime(recent, FileTime.fromMillis(NOW - TimeUnit.HOURS.toMillis(23)));
        Path notOurs = file(tmp.resolve("memgov-bootstrap-x.jar"), 7);
        Files.setLastModifiedTime(notOurs, FileTime.fromMillis(NOW - TimeUnit.DAYS.toMillis(30)));

        StaleCleanup.Result r = StaleCleanup.run(tmp, SELF, pid -> true, NOW);

        assertFalse(Files.exists(old));
        assertTrue(Files.exists(recent) && Files.exists(notOurs));
        assertEquals(1, r.jars);
        assertEquals(7, r.bytes);
    }

    @Test
    void aMissingTempDirectoryIsNothingToClean() {
        StaleCleanup.Result r = StaleCleanup.run(Path.of("/no/such/dir"), SELF, pid -> false, NOW);
        assertFalse(r.any());
    }

    @Test
    void spillFileNames() {
        assertTrue(SpillStore.isSpillFileName("spill-7-0.bin"));
        assertTrue(SpillStore.isSpillFileName("spill-123456789-42.bin"));
        assertFalse(SpillStore.isSpillFileName("spill-7.bin"));
        assertFalse(SpillStore.isSpillFileName("spill-7-0.bin.tmp"));
        assertFalse(SpillStore.isSpillFileName("notes.txt"));
    }
}
