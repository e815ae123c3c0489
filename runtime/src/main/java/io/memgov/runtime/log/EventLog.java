package io.memgov.runtime.log;

import io.memgov.runtime.config.LogFormat;
import io.memgov.runtime.config.LogLevel;

import java.time.Instant;
import java.util.LinkedHashMap;
import java.util.Map;

/**
 * Formats the governor's events (CONTRACT.md, "The log"): {@code event=NAME key=value ...} in text,
 * or one JSON object a line. Sizes are raw integers.
 */
public final class EventLog {
    private final LogSink sink;
    private final LogFormat format;
    private volatile LogLevel threshold;

    public EventLog(LogSink sink, LogFormat format, LogLevel threshold) {
        this.sink = sink;
        this.format = format;
        this.threshold = threshold;
    }

    /** Changes the level from which events are written (a live {@code memgov.log.level} change). */
    public void setThreshold(LogLevel threshold) {
        this.threshold = threshold;
    }

    public boolean isEnabled(LogLevel level) {
        return threshold != LogLevel.OFF && level != LogLevel.OFF && level.ordinal() >= threshold.ordinal();
    }

    /** Emits an event with key/value pairs given as alternating arguments. */
    public void emit(LogLevel level, String event, Object... keyValues) {
        if (!isEnabled(level)) {
            return;
        }
        Map<String, Object> fields = new LinkedHashMap<>();
        for (int i = 0; i + 1 < keyValues.length; i += 2) {
            fields.put(String.valueOf(keyValues[i]), keyValues[i + 1]);
        }
        emit(level, event, fields);
    }

    public void emit(LogLevel level, String event, Map<String, ?> fields) {
        if (!isEnabled(level)) {
            return;
        }
        sink.write(format(Instant.now(), level, event, fields));
    }

    public String format(Instant time, LogLevel level, String event, Map<String, ?> fields) {
        StringBuilder sb = new StringBuilder(128);
        if (format == LogFormat.JSON) {
            sb.append("{\"time\":\"").append(time).append("\",\"level\":\"").append(level.name())
                    .append("\",\"logger\":\"memgov\",\"event\":");
            jsonString(sb, event);
            for (Map.Entry<String, ?> e : fields.entrySet()) {
                sb.append(',');
                jsonString(sb, e.getKey());
                sb.append(':');
                jsonValue(sb, e.getValue());
            }
            sb.append('}');
        } else {
            sb.append(time).append(' ').append(level.name()).append(" memgov event=").append(event);
            for (Map.Entry<String, ?> e : fields.entrySet()) {
                sb.append(' ').append(e.getKey()).append('=');
                textValue(sb, e.getValue());
            }
        }
        return sb.toString();
    }

    public void flush() {
        sink.flush();
    }

    public void close() {
        sink.close();
    }

    static void textValue(StringBuilder sb, Object v) {
        String s = v == null ? "" : String.valueOf(v);
        boolean quote = s.isEmpty();
        for (int i = 0; i < s.length() && !quote; i++) {
            char c = s.charAt(i);
            quote = c <= ' ' || c == '"' || c == '=' || c == '\\';
        }
        if (!quote) {
            sb.append(s);
            return;
        }
        sb.append('"');
        for (int i = 0; i < s.length(); i++) {
            char c = s.charAt(i);
            switch (c) {
                case '"': sb.append("\\\""); break;
                case '\\': sb.append("\\\\"); break;
                case '\n': sb.append("\\n"); break;
                case '\r': sb.append("\\r"); break;
                case '\t': sb.append("\\t"); break;
                default: sb.append(c);
            }
        }
        sb.append('"');
    }

    static void jsonValue(StringBuilder sb, Object v) {
        if (v == null) {
            sb.append("null");
        } else if (v instanceof Long || v instanceof Integer || v instanceof Short || v instanceof Byte
                || v instanceof Boolean) {
            sb.append(v);
        } else if (v instanceof Double || v instanceof Float) {
            double d = ((Number) v).doubleValue();
            if (Double.isFinite(d)) {
                sb.append(v);
            } else {
                jsonString(sb, String.valueOf(v));
            }
        } else {
            jsonString(sb, String.valueOf(v));
        }
    }

    static void jsonString(StringBuilder sb, String s) {
        sb.append('"');
        for (int i = 0; i < s.length(); i++) {
            char c = s.charAt(i);
            switch (c) {
                case '"': sb.append("\\\""); break;
                case '\\': sb.append("\\\\"); break;
                case '\n': sb.append("\\n"); break;
                case '\r': sb.append("\\r"); break;
                case '\t': sb.append("\\t"); break;
                default:
                    if (c < 0x20) {
                        sb.append(String.format("\\u%04x", (int) c));
                    } else {
                        sb.append(c);
                    }
            }
        }
        sb.append('"');
    }
}
