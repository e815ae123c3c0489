package io.memgov.runtime.config;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Path;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Properties;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class LogFileNameTest {
    @TempDir
    Path dir;

    @Test
    void placeholdersAreReplaced() {
        Map<String, String> v = new LinkedHashMap<>();
        v.put("pid", "4242");
        v.put("host", "node-7.example.com");
        v.put("executor", "3");
        v.put("app", "app-20250101-0001");
        v.put("role", "executor");
        assertEquals("logs/memgov-app-20250101-0001-3-node-7.example.com-4242.log",
                LogFileName.expand("logs/memgov-{app}-{executor}-{host}-{pid}.log", v));
        assertEquals("memgov.log", LogFileName.expand("memgov.log", v));
        v.put("host", "a/b c");
        assertEquals("m-a_b_c.log", LogFileName.expand("m-{host}.log", v), "a value never makes a directory");
    }

    @Test
    void theLoaderAcceptsKnownPlaceholdersAndRejectsOthers() {
        ConfigLoader.Result ok = new ConfigLoader("log.file=memgov-{executor}-{pid}.log", new Properties(),
                new HashMap<>(), dir, 0, 1, "/tmp").load();
        assertFalse(ok.hasErrors(), ok.errors().toString());
        assertEquals("memgov-{executor}-{pid}.log", ok.config().logFile());
        ConfigLoader.Result bad = new ConfigLoader("log.file=memgov-{exec}.log", new Properties(),
                new HashMap<>(), dir, 0, 1, "/tmp").load();
        assertTrue(bad.hasErrors());
        assertEquals("memgov: memgov.log.file=memgov-{exec}.log (from agent options) names an unknown placeholder"
                + " {exec}: use {pid}, {host}, {executor}, {app} or {role}, e.g. memgov-{executor}-{pid}.log",
                bad.errors().get(0).message());
        ConfigLoader.Result open = new ConfigLoader("log.file=memgov-{pid.log", new Properties(),
                new HashMap<>(), dir, 0, 1, "/tmp").load();
        assertTrue(open.hasErrors());
    }
}
