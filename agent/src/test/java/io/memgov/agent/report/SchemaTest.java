package io.memgov.agent.report;

import io.memgov.runtime.Fields;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.ByteArrayOutputStream;
import java.io.InputStream;
import java.io.PrintStream;
import java.lang.reflect.Method;
import java.net.URL;
import java.net.URLClassLoader;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The report reader takes its field names from the runtime's schema ({@link Fields}) as compile-time
 * constants only: {@code java -jar memgov-agent.jar report} runs without the runtime on its class path
 * (the runtime travels nested in the agent jar, for the bootstrap class path), so a reader that
 * resolved a runtime class would fail there with NoClassDefFoundError.
 */
class SchemaTest {
    @Test
    void theReportRunsWhereNoRuntimeClassIsVisible(@TempDir Path dir) throws Exception {
        URL agentClasses = ReportCommand.class.getProtectionDomain().getCodeSource().getLocation();
        try (URLClassLoader isolated = new URLClassLoader(new URL[] {agentClasses}, ClassLoader.getPlatformClassLoader())) {
            assertThrows(ClassNotFoundException.class, () -> isolated.loadClass(Fields.class.getName()),
                    "the loader must not see the runtime, or this test proves nothing");
            Method run = isolated.loadClass(ReportCommand.class.getName())
                    .getMethod("run", String[].class, PrintStream.class, PrintStream.class);
            for (String log : new String[] {"spill-debug.log", "spill.json", "observe-leak.log"}) {
                Path html = dir.resolve(log + ".html");
                ByteArrayOutputStream out = new ByteArrayOutputStream();
                ByteArrayOutputStream err = new ByteArrayOutputStream();
                int rc = (int) run.invoke(null, new String[] {ReportTest.resource(log).toString(), "--html", html.toString()},
                        new PrintStream(out, true, StandardCharsets.UTF_8), new PrintStream(err, true, StandardCharsets.UTF_8));
                assertEquals(0, rc, log + ": " + err.toString(StandardCharsets.UTF_8));
                String text = out.toString(StandardCharsets.UTF_8);
                // the reader found the summary's figures under the schema's names
                assertTrue(text.contains(Fields.SPILLS) && text.contains("storages: "), log + ":\n" + text);
                assertTrue(Files.size(html) > 0, log);
            }
        }
    }

    @Test
    void theReaderHoldsTheSchemasNames() throws Exception {
        // javac copied the constants into the reader's class file
        String runReport;
        try (InputStream in = RunReport.class.getResourceAsStream("RunReport.class")) {
            runReport = new String(in.readAllBytes(), StandardCharsets.ISO_8859_1);
        }
        for (String field : new String[] {Fields.SPILL_CLEAN_MICROS, Fields.POOL_DROPPED, Fields.LIMIT_HITS, Fields.HOST_PEAK_PREFIX}) {
            assertTrue(runReport.contains(field), field);
        }
    }
}
