package io.memgov.agent.report;

import java.time.Instant;
import java.util.Collections;
import java.util.Map;

/** One memgov event read back from a log: its line, time, level, name and fields (as written). */
public final class LogEvent {
    final long line;
    final Instant time;
    final String level;
    final String name;
    final Map<String, String> fields;

    LogEvent(long line, Instant time, String level, String name, Map<String, String> fields) {
        this.line = line;
        this.time = time;
        this.level = level;
        this.name = name;
        this.fields = Collections.unmodifiableMap(fields);
    }

    public String name() {
        return name;
    }

    public Instant time() {
        return time;
    }

    public Map<String, String> fields() {
        return fields;
    }

    public String get(String key) {
        return fields.get(key);
    }

    /** The field as a long, or {@code dflt} when absent or not an integer. */
    public long num(String key, long dflt) {
        String v = fields.get(key);
        if (v == null) {
            return dflt;
        }
        try {
            return Long.parseLong(v.trim());
        } catch (NumberFormatException e) {
            try {
                return (long) Double.parseDouble(v.trim());
            } catch (NumberFormatException e2) {
                return dflt;
            }
        }
    }

    public boolean has(String key) {
        return fields.containsKey(key);
    }

    @Override
    public String toString() {
        return "line " + line + ": " + name + " " + fields;
    }
}
