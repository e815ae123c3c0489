package io.memgov.agent;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.Paths;
import java.util.List;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assumptions.assumeTrue;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

class LogbackSinkTest {
    @Test
    void writesLinesVerbatimToTheFile(@TempDir Path dir) throws Exception {
        Path file = dir.resolve("gov.log");
        LogbackSink sink = LogbackSink.open(file.toString());
        sink.write("event=start a=1 {}");
        sink.write("event=summary host.used=0");
        sink.close();
        assertEquals(List.of("event=start a=1 {}", "event=summary host.used=0"), Files.readAllLines(file));
    }

    @Test
    void createsMissingParentDirectories(@TempDir Path dir) throws Exception {
        Path file = dir.resolve("a/b/gov.log");
        LogbackSink sink = LogbackSink.open(file.toString());
        sink.write("x");
        sink.close();
        assertEquals(List.of("x"), Files.readAllLines(file));
    }

    @Test
    void anUnwritablePathIsAClearError(@TempDir Path dir) throws Exception {
        Path notADir = dir.resolve("file");
        Files.writeString(notADir, "");
        IllegalStateException e = assertThrows(IllegalStateException.class,
                () -> LogbackSink.open(notADir.resolve("gov.log").toString()));
        assertTrue(e.getMessage().contains("memgov.log.file"), e.getMessage());
    }

    private static final class Err {
        final ByteArrayOutputStream bytes = new ByteArrayOutputStream();
        final PrintStream stream = new PrintStream(bytes, true, StandardCharsets.UTF_8);

        List<String> lines() {
            String t = bytes.toString(StandardCharsets.UTF_8);
            return t.isEmpty() ? List.of() : List.of(t.split("\n"));
        }
    }

    @Test
    void aDeletedLogFileIsCreatedAgainAtItsPath(@TempDir Path dir) throws Exception {
        Path file = dir.resolve("gov.log");
        Err err = new Err();
        LogbackSink sink = LogbackSink.open(file.toString(), err.stream);
        sink.write("before");
        assertNull(sink.reopenIfMoved(), "nothing moved");
        Files.delete(file);
        sink.write("lost"); // goes to the deleted file, as with any appender
        assertEquals("the file was deleted or renamed", sink.reopenIfMoved());
        sink.write("after");
        assertNull(sink.reopenIfMoved(), "once reopened, nothing more to do");
        sink.close();
        assertEquals(List.of("after"), Files.readAllLines(file));
        assertEquals(List.of(), err.lines(), "a reopen is not an error");
    }

    @Test
    void aRenamedLogFileKeepsWhatWasWrittenAndAFreshOneTakesItsPath(@TempDir Path dir) throws Exception {
        Path file = dir.resolve("gov.log");
        Path rotated = dir.resolve("gov.log.1");
        LogbackSink sink = LogbackSink.open(file.toString(), new Err().stream);
        sink.write("one");
        Files.move(file, rotated);
        sink.write("two"); // still the renamed file: the rotation has not been noticed yet
        assertEquals("the file was deleted or renamed", sink.reopenIfMoved());
        sink.write("three");
        sink.close();
        assertEquals(List.of("one", "two"), Files.readAllLines(rotated));
        assertEquals(List.of("three"), Files.readAllLines(file));
    }

    @Test
    void aLogFileReplacedByAnotherIsFollowed(@TempDir Path dir) throws Exception {
        Path file = dir.resolve("gov.log");
        LogbackSink sink = LogbackSink.open(file.toString(), new Err().stream);
        sink.write("one");
        Files.move(file, dir.resolve("gov.log.1"));
        Files.writeString(file, "created by logrotate\n"); // logrotate's "create"
        assertEquals("another file took its path (renamed or rotated)", sink.reopenIfMoved());
        sink.write("two");
        sink.close();
        assertEquals(List.of("created by logrotate", "two"), Files.readAllLines(file));
    }

    @Test
    void aLogFileThatCannotBeCreatedAgainIsSaidOnceOnStderr(@TempDir Path dir) throws Exception {
        Path sub = dir.resolve("logs");
        Path file = sub.resolve("gov.log");
        Err err = new Err();
        LogbackSink sink = LogbackSink.open(file.toString(), err.stream);
        sink.write("one");
        Files.delete(file);
        Files.delete(sub);
        Files.writeString(sub, "a file where the directory was");
        assertNull(sink.reopenIfMoved());
        assertNull(sink.reopenIfMoved());
        sink.close();
        List<String> said = err.lines();
        assertEquals(1, said.size(), said.toString());
        assertTrue(said.get(0).startsWith("memgov: the log file " + file + " was deleted or renamed and cannot be created again ("), said.get(0));
        assertTrue(said.get(0).contains("set memgov.log.file to another file"), said.get(0));
    }

    /** A real ENOSPC: every write to /dev/full fails with "No space left on device". */
    @Test
    void aFullDiskIsSaidOnceOnStderrNamingTheFileAndTheCause() throws Exception {
        Path devFull = Paths.get("/dev/full");
        assumeTrue(Files.isWritable(devFull), "/dev/full is needed for a real ENOSPC");
        Err err = new Err();
        LogbackSink sink = LogbackSink.open(devFull.toString(), err.stream);
        for (int i = 0; i < 50; i++) {
            sink.write("event=report i=" + i);
        }
        assertNull(sink.reopenIfMoved(), "/dev/full is still there: nothing to reopen");
        sink.close();
        List<String> said = err.lines();
        assertEquals(1, said.size(), "said once: " + said);
        assertEquals("memgov: cannot write the log file /dev/full: No space left on device; memgov's events are lost"
                + " until it can be written again (governing goes on). Free space on that disk or set memgov.log.file"
                + " to a file on another disk", said.get(0));
    }

    @Test
    void aFailureIsSaidAgainOnlyAfterWritesWentThroughInBetween(@TempDir Path dir) throws Exception {
        Err err = new Err();
        LogbackSink sink = LogbackSink.open(dir.resolve("gov.log").toString(), err.stream);
        java.io.IOException full = new java.io.IOException("No space left on device");
        sink.writeFailed(full);
        sink.writeRecovered(); // Logback's buffered write ...
        sink.writeFailed(full); // ... and the flush that fails again
        assertNull(sink.reopenIfMoved()); // the background check: still failing
        sink.writeFailed(full);
        assertEquals(1, err.lines().size(), err.lines().toString());
        sink.writeRecovered(); // Logback reopened the file, wrote nothing yet
        assertNull(sink.reopenIfMoved());
        sink.writeFailed(full);
        assertEquals(1, err.lines().size(), "nothing went through in between: " + err.lines());
        sink.writeRecovered();
        sink.write("it went through"); // the file grows: writes go through again
        assertNull(sink.reopenIfMoved());
        sink.writeFailed(new java.io.IOException("Input/output error"));
        sink.close();
        List<String> said = err.lines();
        assertEquals(2, said.size(), said.toString());
        assertTrue(said.get(1).startsWith("memgov: cannot write the log file " + dir.resolve("gov.log").toAbsolutePath()
                + ": Input/output error; "), said.get(1));
        assertTrue(said.get(1).endsWith("Check the file and its disk, or set memgov.log.file to another file"), said.get(1));
    }

    @Test
    void consoleTargetsHaveNoFileToWatch() {
        LogbackSink sink = LogbackSink.open("stderr", new Err().stream);
        assertNull(sink.path());
        assertNull(sink.reopenIfMoved());
        sink.close();
    }
}
