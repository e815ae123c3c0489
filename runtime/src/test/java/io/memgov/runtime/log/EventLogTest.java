package io.memgov.runtime.log;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.memgov.runtime.config.LogFormat;
import io.memgov.runtime.config.LogLevel;

import java.io.IOException;
import java.io.StringWriter;
import java.io.Writer;
import java.time.Instant;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

import org.junit.jupiter.api.Test;

class EventLogTest {
    private static final Instant T = Instant.parse("2024-05-06T07:08:09.123Z");

    private final List<String> lines = new ArrayList<>();

    private EventLog log(LogFormat format, LogLevel threshold) {
        return new EventLog(lines::add, format, threshold);
    }

    private static Map<String, Object> fields(Object... kv) {
        Map<String, Object> m = new LinkedHashMap<>();
        for (int i = 0; i < kv.length; i += 2) {
            m.put((String) kv[i], kv[i + 1]);
        }
        return m;
    }

    private static String text(Object value) {
        String line = new EventLog(l -> { }, LogFormat.TEXT, LogLevel.INFO)
                .format(T, LogLevel.INFO, "e", fields("k", value));
        String prefix = "2024-05-06T07:08:09.123Z INFO memgov event=e k=";
        assertTrue(line.startsWith(prefix), line);
        return line.substring(prefix.length());
    }

    // ------------------------------------------------------------------ text

    @Test
    void textLineShape() {
        String line = log(LogFormat.TEXT, LogLevel.INFO)
                .format(T, LogLevel.INFO, "start", fields("k", "v", "n", 42L, "i", 7));
        assertEquals("2024-05-06T07:08:09.123Z INFO memgov event=start k=v n=42 i=7", line);
    }

    @Test
    void emittedTextLineStartsWithTheCurrentInstant() {
        Instant before = Instant.now();
        log(LogFormat.TEXT, LogLevel.INFO).emit(LogLevel.INFO, "start", "k", "v", "n", 3L);
        Instant after = Instant.now();
        assertEquals(1, lines.size());
        Matcher m = Pattern.compile("^(\\S+) INFO memgov event=start k=v n=3$").matcher(lines.get(0));
        assertTrue(m.matches(), lines.get(0));
        Instant at = Instant.parse(m.group(1));
        assertFalse(at.isBefore(before) || at.isAfter(after), at + " not in [" + before + ", " + after + "]");
    }

    @Test
    void textWithoutFields() {
        assertEquals("2024-05-06T07:08:09.123Z WARN memgov event=stop",
                log(LogFormat.TEXT, LogLevel.INFO).format(T, LogLevel.WARN, "stop", fields()));
    }

    @Test
    void plainTextValuesAreNotQuoted() {
        assertEquals("abc", text("abc"));
        assertEquals("-1", text(-1L));
        assertEquals("/tmp/memgov-1/x.bin", text("/tmp/memgov-1/x.bin"));
        assertEquals("true", text(true));
    }

    @Test
    void textValuesWithSpacesQuotesOrEqualsAreQuotedAndEscaped() {
        assertEquals("\"a b\"", text("a b"));
        assertEquals("\"say \\\"hi\\\"\"", text("say \"hi\""));
        assertEquals("\"a=b\"", text("a=b"));
        assertEquals("\"C:\\\\dir\"", text("C:\\dir"));
        assertEquals("\"1\\n2\\r3\\t4\"", text("1\n2\r3\t4"));
    }

    @Test
    void emptyAndNullTextValuesAreQuoted() {
        assertEquals("\"\"", text(""));
        assertEquals("\"\"", text(null));
    }

    @Test
    void aTextLineIsOneLine() {
        String line = log(LogFormat.TEXT, LogLevel.INFO)
                .format(T, LogLevel.ERROR, "error", fields("message", "line one\nline two\r\n"));
        assertFalse(line.contains("\n") || line.contains("\r"), line);
    }

    // ------------------------------------------------------------------ json

    @Test
    void jsonExactLine() {
        String line = log(LogFormat.JSON, LogLevel.INFO).format(T, LogLevel.INFO, "start",
                fields("k", "v", "n", 42L, "i", 7, "b", true, "z", null, "d", 0.5));
        assertEquals("{\"time\":\"2024-05-06T07:08:09.123Z\",\"level\":\"INFO\",\"logger\":\"memgov\","
                + "\"event\":\"start\",\"k\":\"v\",\"n\":42,\"i\":7,\"b\":true,\"z\":null,\"d\":0.5}", line);
    }

    @Test
    void jsonEscapes() {
        String line = log(LogFormat.JSON, LogLevel.INFO).format(T, LogLevel.INFO, "e",
                fields("q", "a\"b", "bs", "a\\b", "nl", "a\nb", "cr", "\r", "tab", "\t", "ctl", "\u0001\u001f"));
        assertEquals("{\"time\":\"2024-05-06T07:08:09.123Z\",\"level\":\"INFO\",\"logger\":\"memgov\","
                + "\"event\":\"e\",\"q\":\"a\\\"b\",\"bs\":\"a\\\\b\",\"nl\":\"a\\nb\",\"cr\":\"\\r\","
                + "\"tab\":\"\\t\",\"ctl\":\"\\u0001\\u001f\"}", line);
    }

    @Test
    void jsonIsOneValidObjectWithTypedValues() {
        Map<String, Object> in = fields("host.used", 123L, "count", 5, "label", "a \"quoted\" \\ label\nnext",
                "ctl", "x\u0000y\u001bz", "unicode", "h\u00e9llo \u2603", "empty", "", "neg", -1L,
                "max", Long.MAX_VALUE, "other", new StringBuilder("sb"));
        log(LogFormat.JSON, LogLevel.INFO).emit(LogLevel.WARN, "report", in);
        assertEquals(1, lines.size());
        String line = lines.get(0);
        assertFalse(line.contains("\n"), line);

        Map<String, Object> parsed = new MiniJson(line).parseObject();
        assertEquals("WARN", parsed.get("level"));
        assertEquals("memgov", parsed.get("logger"));
        assertEquals("report", parsed.get("event"));
        Instant.parse((String) parsed.get("time"));
        assertEquals(123L, parsed.get("host.used"));
        assertEquals(5L, parsed.get("count"), "an Integer is a JSON number");
        assertEquals(-1L, parsed.get("neg"));
        assertEquals(Long.MAX_VALUE, parsed.get("max"));
        assertEquals("a \"quoted\" \\ label\nnext", parsed.get("label"));
        assertEquals("x\u0000y\u001bz", parsed.get("ctl"));
        assertEquals("h\u00e9llo \u2603", parsed.get("unicode"));
        assertEquals("", parsed.get("empty"));
        assertEquals("sb", parsed.get("other"), "other objects are strings");
        assertEquals(List.of("time", "level", "logger", "event", "host.used", "count", "label", "ctl",
                "unicode", "empty", "neg", "max", "other"), new ArrayList<>(parsed.keySet()));
    }

    @Test
    void jsonNonFiniteDoublesAreStrings() {
        String line = log(LogFormat.JSON, LogLevel.INFO).format(T, LogLevel.INFO, "e",
                fields("nan", Double.NaN, "inf", Double.POSITIVE_INFINITY));
        Map<String, Object> parsed = new MiniJson(line).parseObject();
        assertEquals("NaN", parsed.get("nan"));
        assertEquals("Infinity", parsed.get("inf"));
    }

    @Test
    void miniJsonRejectsBrokenInput() {
        assertThrows(IllegalArgumentException.class, () -> new MiniJson("{\"a\":1").parseObject());
        assertThrows(IllegalArgumentException.class, () -> new MiniJson("{\"a\":\"x\ny\"}").parseObject());
        assertThrows(IllegalArgumentException.class, () -> new MiniJson("{\"a\":1} x").parseObject());
        assertThrows(IllegalArgumentException.class, () -> new MiniJson("{\"a\":\"\\q\"}").parseObject());
        assertThrows(IllegalArgumentException.class, () -> new MiniJson("{\"a\":1,\"a\":2}").parseObject());
        assertThrows(IllegalArgumentException.class, () -> new MiniJson("{a:1}").parseObject());
    }

    // ------------------------------------------------------------------ levels

    @Test
    void belowTheThresholdNothingIsWritten() {
        EventLog log = log(LogFormat.TEXT, LogLevel.INFO);
        log.emit(LogLevel.DEBUG, "debug", "k", 1);
        log.emit(LogLevel.TRACE, "trace", fields("k", 1));
        assertTrue(lines.isEmpty(), lines.toString());
        log.emit(LogLevel.INFO, "info");
        log.emit(LogLevel.WARN, "warn");
        log.emit(LogLevel.ERROR, "error");
        assertEquals(3, lines.size());
        assertTrue(lines.get(0).contains(" INFO memgov event=info"));
        assertTrue(lines.get(1).contains(" WARN memgov event=warn"));
        assertTrue(lines.get(2).contains(" ERROR memgov event=error"));
    }

    @Test
    void isEnabledFollowsTheThreshold() {
        EventLog log = log(LogFormat.JSON, LogLevel.DEBUG);
        assertFalse(log.isEnabled(LogLevel.TRACE));
        assertTrue(log.isEnabled(LogLevel.DEBUG));
        assertTrue(log.isEnabled(LogLevel.ERROR));
        assertFalse(log.isEnabled(LogLevel.OFF), "OFF is not a level to log at");
        assertTrue(log(LogFormat.TEXT, LogLevel.TRACE).isEnabled(LogLevel.TRACE));
    }

    @Test
    void offWritesNothing() {
        EventLog log = log(LogFormat.TEXT, LogLevel.OFF);
        for (LogLevel level : LogLevel.values()) {
            assertFalse(log.isEnabled(level), level.name());
            log.emit(level, "e", "k", "v");
            log.emit(level, "e", fields("k", "v"));
        }
        assertTrue(lines.isEmpty(), lines.toString());
    }

    @Test
    void emitPairsUpKeysAndValues() {
        log(LogFormat.TEXT, LogLevel.INFO).emit(LogLevel.INFO, "e", "a", 1, "b", "two words");
        assertTrue(lines.get(0).endsWith(" INFO memgov event=e a=1 b=\"two words\""), lines.get(0));
    }

    // ------------------------------------------------------------------ WriterSink

    @Test
    void writerSinkWritesEachLineWithANewline() {
        StringWriter out = new StringWriter();
        WriterSink sink = new WriterSink(out, false);
        sink.write("first");
        sink.write("");
        sink.write("third");
        assertEquals("first\n\nthird\n", out.toString());
    }

    @Test
    void eventLogOverWriterSink() {
        StringWriter out = new StringWriter();
        EventLog log = new EventLog(new WriterSink(out, false), LogFormat.TEXT, LogLevel.INFO);
        log.emit(LogLevel.INFO, "a");
        log.emit(LogLevel.DEBUG, "hidden");
        log.emit(LogLevel.INFO, "b", "k", "v");
        String[] written = out.toString().split("\n", -1);
        assertEquals(3, written.length, out.toString());
        assertTrue(written[0].endsWith(" INFO memgov event=a"), written[0]);
        assertTrue(written[1].endsWith(" INFO memgov event=b k=v"), written[1]);
        assertEquals("", written[2]);
    }

    @Test
    void writerSinkClosesOnlyWhenAskedTo() {
        RecordingWriter keep = new RecordingWriter(false);
        new WriterSink(keep, false).close();
        assertFalse(keep.closed);
        assertTrue(keep.flushes > 0);

        RecordingWriter own = new RecordingWriter(false);
        new WriterSink(own, true).close();
        assertTrue(own.closed);
    }

    @Test
    void writerSinkNeverThrowsAndStopsAfterAFailure() {
        RecordingWriter failing = new RecordingWriter(true);
        WriterSink sink = new WriterSink(failing, true);
        sink.write("a");
        sink.write("b");
        sink.flush();
        sink.close();
        assertEquals(1, failing.writes, "no writes after the first failure");
    }

    private static final class RecordingWriter extends Writer {
        final boolean fail;
        final StringBuilder text = new StringBuilder();
        int writes;
        int flushes;
        boolean closed;

        RecordingWriter(boolean fail) {
            this.fail = fail;
        }

        @Override
        public void write(char[] cbuf, int off, int len) throws IOException {
            writes++;
            if (fail) {
                throw new IOException("disk full");
            }
            text.append(cbuf, off, len);
        }

        @Override
        public void write(String s) throws IOException {
            write(s.toCharArray(), 0, s.length());
        }

        @Override
        public void flush() {
            flushes++;
        }

        @Override
        public void close() {
            closed = true;
        }
    }

    /** A strict little JSON parser: objects, arrays, strings, integers (as Long), other numbers, literals. */
    static final class MiniJson {
        private final String s;
        private int i;

        MiniJson(String s) {
            this.s = s;
        }

        Map<String, Object> parseObject() {
            Map<String, Object> m = object();
            ws();
            if (i != s.length()) {
                throw error("trailing text");
            }
            return m;
        }

        private IllegalArgumentException error(String what) {
            return new IllegalArgumentException(what + " at " + i + " in " + s);
        }

        private void ws() {
            while (i < s.length() && " \t\r\n".indexOf(s.charAt(i)) >= 0) {
                i++;
            }
        }

        private void expect(char c) {
            ws();
            if (i >= s.length() || s.charAt(i) != c) {
                throw error("expected '" + c + "'");
            }
            i++;
        }

        private boolean peek(char c) {
            ws();
            return i < s.length() && s.charAt(i) == c;
        }

        private Map<String, Object> object() {
            expect('{');
            Map<String, Object> m = new LinkedHashMap<>();
            if (peek('}')) {
                i++;
                return m;
            }
            do {
                ws();
                String key = string();
                if (m.containsKey(key)) {
                    throw error("duplicate key " + key);
                }
                expect(':');
                m.put(key, value());
            } while (comma());
            expect('}');
            return m;
        }

        private boolean comma() {
            if (peek(',')) {
                i++;
                return true;
            }
            return false;
        }

        private Object value() {
            ws();
            if (i >= s.length()) {
                throw error("expected a value");
            }
            char c = s.charAt(i);
            if (c == '{') {
                return object();
            }
            if (c == '[') {
                i++;
                List<Object> l = new ArrayList<>();
                if (peek(']')) {
                    i++;
                    return l;
                }
                do {
                    l.add(value());
                } while (comma());
                expect(']');
                return l;
            }
            if (c == '"') {
                return string();
            }
            if (s.startsWith("true", i)) {
                i += 4;
                return Boolean.TRUE;
            }
            if (s.startsWith("false", i)) {
                i += 5;
                return Boolean.FALSE;
            }
            if (s.startsWith("null", i)) {
                i += 4;
                return null;
            }
            Matcher m = Pattern.compile("-?(0|[1-9][0-9]*)(\\.[0-9]+)?([eE][+-]?[0-9]+)?").matcher(s).region(i, s.length());
            if (!m.lookingAt()) {
                throw error("bad value");
            }
            i = m.end();
            String num = m.group();
            return m.group(2) == null && m.group(3) == null ? (Object) Long.parseLong(num) : (Object) Double.parseDouble(num);
        }

        private String string() {
            if (i >= s.length() || s.charAt(i) != '"') {
                throw error("expected a string");
            }
            i++;
            StringBuilder sb = new StringBuilder();
            for (;;) {
                if (i >= s.length()) {
                    throw error("unterminated string");
                }
                char c = s.charAt(i++);
                if (c == '"') {
                    return sb.toString();
                }
                if (c < 0x20) {
                    throw error("raw control character");
                }
                if (c != '\\') {
                    sb.append(c);
                    continue;
                }
                if (i >= s.length()) {
                    throw error("unterminated escape");
                }
                char e = s.charAt(i++);
                switch (e) {
                    case '"': sb.append('"'); break;
                    case '\\': sb.append('\\'); break;
                    case '/': sb.append('/'); break;
                    case 'b': sb.append('\b'); break;
                    case 'f': sb.append('\f'); break;
                    case 'n': sb.append('\n'); break;
                    case 'r': sb.append('\r'); break;
                    case 't': sb.append('\t'); break;
                    case 'u':
                        if (i + 4 > s.length()) {
                            throw error("short \\u escape");
                        }
                        sb.append((char) Integer.parseInt(s.substring(i, i + 4), 16));
                        i += 4;
                        break;
                    default:
                        throw error("bad escape \\" + e);
                }
            }
        }
    }
}
