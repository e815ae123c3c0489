package io.memgov.agent;

import io.memgov.runtime.config.ConfigLoader;
import io.memgov.runtime.config.MemgovConfig;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Path;
import java.util.Map;
import java.util.Properties;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** A host.limit of 0 or under 64 KiB warns at start, naming the key, its value, what happens and the fix. */
class TinyLimitTest {
    @TempDir
    Path tmp;

    private MemgovConfig config(String options) {
        ConfigLoader.Result r = new ConfigLoader(options, new Properties(), Map.of(), tmp, 0, 1, tmp.toString()).load();
        assertTrue(r.errors().isEmpty(), r.errors().toString());
        return r.config();
    }

    private String warning(String options) {
        MemgovConfig c = config(options);
        return Installer.tinyLimitWarning(c, "memgov.host.limit", c.hostLimit());
    }

    @Test
    void zeroFailsEveryAllocation() {
        assertEquals("memgov: memgov.host.limit=0 (from agent options) is 0 bytes: every tensor allocation fails at once"
                + " with an OutOfMemoryError (the request alone is larger than the limit), whatever memgov.on-limit says."
                + " Set memgov.host.limit to the memory tensors may use, e.g. 512m, 4g or 25%, or none for no limit",
                warning("host.limit=0"));
    }

    @Test
    void aBareNumberIsBytesAndTheWarningSuggestsTheSuffix() {
        String w = warning("host.limit=512");
        assertTrue(w.startsWith("memgov: memgov.host.limit=512 (from agent options) is 512 bytes, under 64 KiB and smaller"
                + " than most tensors: every tensor larger than 512 bytes fails at once with an OutOfMemoryError"), w);
        assertTrue(w.contains("nearly every other allocation spills first (on-limit=spill)"), w);
        assertTrue(w.endsWith("e.g. 512m, 4g or 25% (a bare number is bytes: did you mean 512m?), or none for no limit"), w);
        assertTrue(warning("host.limit=10k,on-limit=wait").contains("waits, then fails (on-limit=wait)"));
        assertTrue(warning("host.limit=10k,on-limit=fail").contains("nearly every other allocation fails (on-limit=fail)"));
        assertTrue(!warning("host.limit=10k").contains("did you mean"), "a suffix was given");
    }

    @Test
    void limitsOf64KiBAndMoreAndNoLimitDoNotWarn() {
        assertNull(warning("host.limit=64k"));
        assertNull(warning("host.limit=400k"));
        assertNull(warning("host.limit=none"));
        assertNull(warning(""));
        assertTrue(warning("host.limit=65535") != null);
    }

    @Test
    void deviceLimitToo() {
        MemgovConfig c = config("device.limit=0");
        assertTrue(Installer.tinyLimitWarning(c, "memgov.device.limit", c.deviceLimit())
                .startsWith("memgov: memgov.device.limit=0 (from agent options) is 0 bytes"));
    }
}
