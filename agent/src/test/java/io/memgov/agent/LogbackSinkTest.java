package io.memgov.agent;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;

import static org.junit.jupiter.api.Assertions.assertEquals;
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
}
