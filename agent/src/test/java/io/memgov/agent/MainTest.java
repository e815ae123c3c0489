package io.memgov.agent;

import org.junit.jupiter.api.Test;

import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

class MainTest {
    static String[] run(int expectedRc, String... args) {
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        ByteArrayOutputStream err = new ByteArrayOutputStream();
        int rc = Main.run(args, new PrintStream(out, true, StandardCharsets.UTF_8), new PrintStream(err, true, StandardCharsets.UTF_8));
        String[] r = {out.toString(StandardCharsets.UTF_8), err.toString(StandardCharsets.UTF_8)};
        assertEquals(expectedRc, rc, String.join(" ", args) + "\n" + r[0] + r[1]);
        return r;
    }

    @Test
    void helpVersionAndUnknownCommandsKeepTheirBehaviour() {
        assertTrue(run(0)[0].contains("  report LOG [--html FILE]"));
        assertTrue(run(0, "help")[0].startsWith("memgov "));
        assertEquals("memgov " + AgentVersion.get() + "\n", run(0, "version")[0]);
        assertEquals("memgov: unknown command 'frob'; run java -jar memgov-agent.jar help\n", run(2, "frob")[1]);
    }

    @Test
    void reportIsACommand() {
        assertEquals("memgov report: /no/such.log: no such file\n", run(2, "report", "/no/such.log")[1]);
        assertTrue(run(0, "report", "--help")[0].startsWith("usage: java -jar memgov-agent.jar report"));
    }
}
