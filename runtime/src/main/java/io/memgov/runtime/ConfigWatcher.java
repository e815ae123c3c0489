package io.memgov.runtime;

import io.memgov.runtime.config.ConfigLoader;
import io.memgov.runtime.config.ConfigProblem;
import io.memgov.runtime.config.LogLevel;
import io.memgov.runtime.config.MemgovConfig;
import io.memgov.runtime.config.Source;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.Objects;
import java.util.function.Supplier;

/**
 * Watches the config file in use: run about once a second on the governor's thread, it reads the file
 * and, when its bytes changed and then read the same a second later (so a file caught half-written is
 * never applied), loads the whole configuration again (all five sources, as at start) and
 * applies the live keys ({@link MemgovConfig#LIVE_KEYS}) whose effective value changed since the last
 * good load, each as a {@code config-change} event. An edit with any error changes nothing: each error
 * is a {@code config-error} event with the message given at start. Changed keys that only take effect at
 * start get a {@code config-warning}.
 */
public final class ConfigWatcher implements Runnable {
    private final MemoryGovernor governor;
    private final Path file;
    private final Supplier<ConfigLoader.Result> reload;
    private MemgovConfig lastGood;
    private byte[] lastBytes;
    private byte[] pending;
    private boolean missingLogged;

    public ConfigWatcher(MemoryGovernor governor, Path file, Supplier<ConfigLoader.Result> reload, MemgovConfig loaded) {
        this.governor = governor;
        this.file = file;
        this.reload = reload;
        this.lastGood = loaded;
        this.lastBytes = read();
    }

    private byte[] read() {
        try {
            return Files.readAllBytes(file);
        } catch (IOException | RuntimeException e) {
            return null;
        }
    }

    @Override
    public void run() {
        byte[] bytes = read();
        if (bytes == null) {
            if (!missingLogged) {
                missingLogged = true;
                String msg = "memgov: config file " + file + " cannot be read any more; the current settings stay";
                governor.log().emit(LogLevel.WARN, "config-warning", "key", "memgov.config", "value", file.toString(),
                        "source", "config file " + file, "message", msg);
            }
            return;
        }
        missingLogged = false;
        if (Arrays.equals(bytes, lastBytes)) {
            pending = null;
            return;
        }
        if (!Arrays.equals(bytes, pending)) {
            pending = bytes; // applied once it reads the same a second later: never a half-written file
            return;
        }
        pending = null;
        lastBytes = bytes;
        ConfigLoader.Result r = reload.get();
        for (ConfigProblem w : r.warnings()) {
            governor.log().emit(LogLevel.WARN, "config-warning", "key", w.key(), "value", w.value(), "source", w.source(),
                    "message", w.message());
        }
        if (r.hasErrors()) {
            for (ConfigProblem e : r.errors()) {
                governor.log().emit(LogLevel.ERROR, "config-error", "key", e.key(), "value", e.value(), "source", e.source(),
                        "message", e.message() + "; the edit is ignored and the current settings stay");
                System.err.println(e.message() + "; the edit is ignored and the current settings stay");
            }
            return;
        }
        MemgovConfig next = r.config();
        String source = Source.CONFIG_FILE.label() + " " + file;
        for (String key : ConfigLoader.knownKeys()) {
            if (key.equals("memgov.config") || Objects.equals(lastGood.rawValue(key), next.rawValue(key))) {
                continue;
            }
            if (MemgovConfig.LIVE_KEYS.contains(key)) {
                synchronized (governor) {
                    MemgovConfig applied = governor.config().with(key, next.rawValue(key), next.sourceOf(key), source);
                    governor.change(key, applied, source);
                }
            } else {
                String msg = "memgov: " + key + "=" + next.rawValue(key) + " (from " + source
                        + ") changed while running: it takes effect at the next start";
                governor.log().emit(LogLevel.WARN, "config-warning", "key", key, "value", next.rawValue(key),
                        "source", source, "message", msg);
            }
        }
        lastGood = next;
    }
}
