package io.memgov.agent.report;

import java.io.IOException;
import java.io.InputStreamReader;
import java.io.Reader;
import java.nio.charset.StandardCharsets;
import java.nio.file.AccessDeniedException;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.time.Instant;
import java.time.format.DateTimeParseException;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * Reads a memgov log in either format, line by line: {@code <time> <LEVEL> memgov event=NAME k=v ...}
 * (text) or one JSON object a line ({@code log.format=json}); the format is detected per line, so a
 * log written to stderr among the application's own output reads too (other lines are skipped).
 *
 * <p>A last line without its newline was cut while being written (memgov ends every event with one):
 * a text line is then dropped, since its last value may be cut short; a JSON line is kept only when
 * it is a whole object. A line that looks like an event but cannot be read is dropped with a warning.
 */
public final class LogReader {
    private LogReader() {
    }

    /** What was read: the runs, the format(s) seen, and what looked wrong. */
    public static final class ParsedLog {
        public final Path file;
        public final List<Run> runs;
        public final List<String> warnings;
        public final long lines;
        public final long otherLines;
        public final long textEvents;
        public final long jsonEvents;

        ParsedLog(Path file, List<Run> runs, List<String> warnings, long lines, long otherLines,
                  long textEvents, long jsonEvents) {
            this.file = file;
            this.runs = runs;
            this.warnings = warnings;
            this.lines = lines;
            this.otherLines = otherLines;
            this.textEvents = textEvents;
            this.jsonEvents = jsonEvents;
        }

        public long events() {
            return textEvents + jsonEvents;
        }

        public String format() {
            if (jsonEvents > 0 && textEvents > 0) {
                return "text+json";
            }
            return jsonEvents > 0 ? "json" : "text";
        }
    }

    public static ParsedLog read(Path file) throws BadLogException {
        if (!Files.exists(file)) {
            throw new BadLogException(file + ": no such file");
        }
        if (Files.isDirectory(file)) {
            throw new BadLogException(file + ": is a directory, not a memgov log");
        }
        try (Reader r = new InputStreamReader(Files.newInputStream(file), StandardCharsets.UTF_8)) {
            return read(file, r);
        } catch (NoSuchFileException e) {
            throw new BadLogException(file + ": no such file");
        } catch (AccessDeniedException e) {
            throw new BadLogException(file + ": cannot read it (permission denied)");
        } catch (IOException e) {
            throw new BadLogException(file + ": cannot read it (" + e.getMessage() + ")");
        }
    }

    static ParsedLog read(Path file, Reader r) throws IOException, BadLogException {
        Run.Splitter events = new Run.Splitter();
        List<String> warnings = new ArrayList<>();
        long lineNo = 0;
        long other = 0;
        long text = 0;
        long json = 0;
        String cutLine = null;
        char[] buf = new char[1 << 16];
        StringBuilder line = new StringBuilder(256);
        int n;
        List<String> complete = new ArrayList<>();
        while (true) {
            n = r.read(buf);
            if (n < 0) {
                break;
            }
            for (int i = 0; i < n; i++) {
                char c = buf[i];
                if (c == '\n') {
                    int len = line.length();
                    if (len > 0 && line.charAt(len - 1) == '\r') {
                        line.setLength(len - 1);
                    }
                    complete.add(line.toString());
                    line.setLength(0);
                } else {
                    line.append(c);
                }
            }
            for (String l : complete) {
                lineNo++;
                int kind = parseInto(l, lineNo, events, warnings);
                if (kind == 1) {
                    text++;
                } else if (kind == 2) {
                    json++;
                } else if (!l.isBlank()) {
                    other++;
                }
            }
            complete.clear();
        }
        if (line.length() > 0) {
            lineNo++;
            String l = line.toString();
            LogEvent e = l.trim().startsWith("{") ? parseJson(l, lineNo) : null;
            if (e != null) {
                events.accept(e);
                json++;
            } else if (looksLikeEvent(l)) {
                cutLine = "line " + lineNo + " is cut mid-line (the file does not end with a newline): ignored";
                warnings.add(cutLine);
            } else if (!l.isBlank()) {
                other++;
            }
        }
        if (text + json == 0) {
            if (lineNo == 0) {
                throw new BadLogException(file + ": empty file, not a memgov log");
            }
            if (cutLine != null || !warnings.isEmpty()) {
                throw new BadLogException(file + ": no complete memgov event (" + warnings.get(0) + ")");
            }
            throw new BadLogException(file + ": not a memgov log (no memgov event in its " + lineNo
                    + (lineNo == 1 ? " line)" : " lines)"));
        }
        return new ParsedLog(file, events.finish(), warnings, lineNo, other, text, json);
    }

    /** 1: a text event, 2: a JSON event, 0: not an event (a warning added when it looked like one). */
    static int parseInto(String l, long lineNo, Run.Splitter events, List<String> warnings) {
        String t = l.trim();
        if (t.startsWith("{")) {
            LogEvent e = parseJson(t, lineNo);
            if (e != null) {
                events.accept(e);
                return 2;
            }
            if (t.contains("\"logger\":\"memgov\"")) {
                warnings.add("line " + lineNo + " is not a whole JSON event: ignored");
            }
            return 0;
        }
        if (!looksLikeEvent(l)) {
            return 0;
        }
        LogEvent e = parseText(l, lineNo);
        if (e == null) {
            warnings.add("line " + lineNo + " is an unreadable memgov event (an unclosed quote?): ignored");
            return 0;
        }
        events.accept(e);
        return 1;
    }

    static boolean looksLikeEvent(String l) {
        return l.contains(" memgov event=") || l.startsWith("event=") || l.trim().startsWith("{\"time\"");
    }

    /** A text line, or null when it is not a readable event. */
    static LogEvent parseText(String l, long lineNo) {
        int i = l.indexOf(" memgov event=");
        Instant time = null;
        String level = null;
        String rest;
        if (i >= 0) {
            String head = l.substring(0, i).trim();
            int sp = head.indexOf(' ');
            time = instant(sp < 0 ? head : head.substring(0, sp));
            if (sp >= 0) {
                level = head.substring(head.lastIndexOf(' ') + 1);
            }
            rest = l.substring(i + " memgov ".length());
        } else if (l.startsWith("event=")) {
            rest = l;
        } else {
            return null;
        }
        Map<String, String> fields = textFields(rest);
        if (fields == null) {
            return null;
        }
        String name = fields.remove("event");
        if (name == null || name.isEmpty()) {
            return null;
        }
        return new LogEvent(lineNo, time, level, name, fields);
    }

    /** Parses {@code k=v k2="quoted \"v\""}; null on an unclosed quote. */
    static Map<String, String> textFields(String s) {
        Map<String, String> m = new LinkedHashMap<>();
        int i = 0;
        int len = s.length();
        while (i < len) {
            while (i < len && s.charAt(i) == ' ') {
                i++;
            }
            if (i >= len) {
                break;
            }
            int eq = s.indexOf('=', i);
            int sp = s.indexOf(' ', i);
            if (eq < 0 || (sp >= 0 && sp < eq)) {
                // a bare word: not key=value; skip it
                i = sp < 0 ? len : sp;
                continue;
            }
            String key = s.substring(i, eq);
            i = eq + 1;
            if (i >= len || s.charAt(i) != '"') {
                int end = s.indexOf(' ', i);
                end = end < 0 ? len : end;
                m.put(key, s.substring(i, end));
                i = end;
                continue;
            }
            StringBuilder v = new StringBuilder();
            if (i < len && s.charAt(i) == '"') {
                i++;
                boolean closed = false;
                while (i < len) {
                    char c = s.charAt(i++);
                    if (c == '"') {
                        closed = true;
                        break;
                    }
                    if (c == '\\' && i < len) {
                        char n = s.charAt(i++);
                        v.append(n == 'n' ? '\n' : n == 't' ? '\t' : n == 'r' ? '\r' : n);
                    } else {
                        v.append(c);
                    }
                }
                if (!closed) {
                    return null;
                }
            } else {
                while (i < len && s.charAt(i) != ' ') {
                    v.append(s.charAt(i++));
                }
            }
            m.put(key, v.toString());
        }
        return m;
    }

    /** {@code 2026-11-29T01:45:49.114433513Z} without the general parser (the common case), else Instant.parse. */
    static Instant instant(String s) {
        int n = s.length();
        if (n >= 20 && s.charAt(4) == '-' && s.charAt(7) == '-' && s.charAt(10) == 'T' && s.charAt(13) == ':'
                && s.charAt(16) == ':' && s.charAt(n - 1) == 'Z' && (n == 20 || (s.charAt(19) == '.' && n <= 31))) {
            int y = digits(s, 0, 4);
            int mo = digits(s, 5, 7);
            int d = digits(s, 8, 10);
            int h = digits(s, 11, 13);
            int mi = digits(s, 14, 16);
            int sec = digits(s, 17, 19);
            int nano = 0;
            boolean ok = y >= 0 && mo >= 1 && mo <= 12 && d >= 1 && d <= 31 && h >= 0 && h < 24 && mi >= 0 && mi < 60
                    && sec >= 0 && sec < 60;
            if (ok && n > 20) {
                int frac = digits(s, 20, n - 1);
                ok = frac >= 0 && n - 1 > 20;
                if (ok) {
                    nano = frac;
                    for (int k = n - 1 - 20; k < 9; k++) {
                        nano *= 10;
                    }
                }
            }
            if (ok) {
                try {
                    long day = epochDay(y, mo, d);
                    return Instant.ofEpochSecond(day * 86400L + h * 3600L + mi * 60L + sec, nano);
                } catch (java.time.DateTimeException e) {
                    return null;
                }
            }
        }
        try {
            return Instant.parse(s);
        } catch (DateTimeParseException e) {
            return null;
        }
    }

    private static int lastY = -1;
    private static int lastM = -1;
    private static int lastD = -1;
    private static long lastDay;

    private static synchronized long epochDay(int y, int m, int d) {
        if (y != lastY || m != lastM || d != lastD) {
            lastDay = java.time.LocalDate.of(y, m, d).toEpochDay();
            lastY = y;
            lastM = m;
            lastD = d;
        }
        return lastDay;
    }

    /** The decimal number in s[from, to), or -1 when not all digits. */
    private static int digits(String s, int from, int to) {
        int v = 0;
        for (int i = from; i < to; i++) {
            char c = s.charAt(i);
            if (c < '0' || c > '9') {
                return -1;
            }
            v = v * 10 + (c - '0');
        }
        return v;
    }

    /** A JSON event line, or null when it is not one whole memgov JSON object. */
    static LogEvent parseJson(String l, long lineNo) {
        Map<String, String> fields;
        try {
            Json p = new Json(l.trim());
            fields = p.object();
            p.end();
        } catch (IllegalArgumentException e) {
            return null;
        }
        String name = fields.remove("event");
        if (name == null || name.isEmpty()) {
            return null;
        }
        String logger = fields.remove("logger");
        if (logger != null && !logger.equals("memgov")) {
            return null;
        }
        if (logger == null && !fields.containsKey("time")) {
            return null;
        }
        Instant time = fields.containsKey("time") ? instant(fields.remove("time")) : null;
        String level = fields.remove("level");
        return new LogEvent(lineNo, time, level, name, fields);
    }

    /** A small JSON reader for one flat object a line; nested values are kept as their JSON text. */
    static final class Json {
        private final String s;
        private int i;

        Json(String s) {
            this.s = s;
        }

        Map<String, String> object() {
            Map<String, String> m = new LinkedHashMap<>();
            expect('{');
            ws();
            if (peek() == '}') {
                i++;
                return m;
            }
            while (true) {
                ws();
                String key = string();
                ws();
                expect(':');
                ws();
                m.put(key, value());
                ws();
                char c = next();
                if (c == '}') {
                    return m;
                }
                if (c != ',') {
                    throw new IllegalArgumentException("expected , or } at " + (i - 1));
                }
            }
        }

        void end() {
            ws();
            if (i != s.length()) {
                throw new IllegalArgumentException("trailing text at " + i);
            }
        }

        private String value() {
            char c = peek();
            if (c == '"') {
                return string();
            }
            if (c == '{' || c == '[') {
                int from = i;
                skipNested();
                return s.substring(from, i);
            }
            int from = i;
            while (i < s.length() && ",}] \t".indexOf(s.charAt(i)) < 0) {
                i++;
            }
            String lit = s.substring(from, i);
            if (lit.isEmpty()) {
                throw new IllegalArgumentException("value expected at " + from);
            }
            if (lit.equals("null")) {
                return "";
            }
            if (!lit.equals("true") && !lit.equals("false") && !lit.matches("-?[0-9][0-9.eE+-]*")) {
                throw new IllegalArgumentException("bad literal " + lit);
            }
            return lit;
        }

        private void skipNested() {
            int depth = 0;
            while (i < s.length()) {
                char c = s.charAt(i);
                if (c == '"') {
                    string();
                    continue;
                }
                i++;
                if (c == '{' || c == '[') {
                    depth++;
                } else if (c == '}' || c == ']') {
                    depth--;
                    if (depth == 0) {
                        return;
                    }
                }
            }
            throw new IllegalArgumentException("unclosed value");
        }

        private String string() {
            expect('"');
            StringBuilder b = new StringBuilder();
            while (true) {
                char c = next();
                if (c == '"') {
                    return b.toString();
                }
                if (c == '\\') {
                    char e = next();
                    switch (e) {
                        case 'n': b.append('\n'); break;
                        case 't': b.append('\t'); break;
                        case 'r': b.append('\r'); break;
                        case 'b': b.append('\b'); break;
                        case 'f': b.append('\f'); break;
                        case 'u':
                            if (i + 4 > s.length()) {
                                throw new IllegalArgumentException("cut \\u escape");
                            }
                            b.append((char) Integer.parseInt(s.substring(i, i + 4), 16));
                            i += 4;
                            break;
                        default: b.append(e);
                    }
                } else {
                    b.append(c);
                }
            }
        }

        private void ws() {
            while (i < s.length() && Character.isWhitespace(s.charAt(i))) {
                i++;
            }
        }

        private char peek() {
            if (i >= s.length()) {
                throw new IllegalArgumentException("cut");
            }
            return s.charAt(i);
        }

        private char next() {
            if (i >= s.length()) {
                throw new IllegalArgumentException("cut");
            }
            return s.charAt(i++);
        }

        private void expect(char c) {
            if (next() != c) {
                throw new IllegalArgumentException("expected " + c + " at " + (i - 1));
            }
        }
    }
}
