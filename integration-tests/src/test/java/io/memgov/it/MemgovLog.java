package io.memgov.it;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.stream.Collectors;

/** memgov's text log, parsed into events of key=value fields, as a user would grep it. */
final class MemgovLog {
    final List<Map<String, String>> events;
    final String text;

    private MemgovLog(String text, List<Map<String, String>> events) {
        this.text = text;
        this.events = events;
    }

    static MemgovLog read(Path file) throws IOException {
        String text = Files.exists(file) ? Files.readString(file, StandardCharsets.UTF_8) : "";
        return parse(text);
    }

    static MemgovLog parse(String text) {
        List<Map<String, String>> events = new ArrayList<>();
        for (String line : text.split("\n")) {
            int i = line.indexOf(" memgov event=");
            if (i >= 0) {
                events.add(fields(line.substring(i + " memgov ".length())));
            }
        }
        return new MemgovLog(text, events);
    }

    /** Parses {@code k=v k2="quoted \"v\""}. */
    static Map<String, String> fields(String s) {
        Map<String, String> m = new LinkedHashMap<>();
        int i = 0;
        while (i < s.length()) {
            while (i < s.length() && s.charAt(i) == ' ') {
                i++;
            }
            int eq = s.indexOf('=', i);
            if (eq < 0) {
                break;
            }
            String key = s.substring(i, eq);
            i = eq + 1;
            StringBuilder v = new StringBuilder();
            if (i < s.length() && s.charAt(i) == '"') {
                i++;
                while (i < s.length() && s.charAt(i) != '"') {
                    char c = s.charAt(i++);
                    if (c == '\\' && i < s.length()) {
                        char n = s.charAt(i++);
                        v.append(n == 'n' ? '\n' : n == 't' ? '\t' : n == 'r' ? '\r' : n);
                    } else {
                        v.append(c);
                    }
                }
                i++;
            } else {
                while (i < s.length() && s.charAt(i) != ' ') {
                    v.append(s.charAt(i++));
                }
            }
            m.put(key, v.toString());
        }
        return m;
    }

    List<Map<String, String>> all(String event) {
        return events.stream().filter(e -> event.equals(e.get("event"))).collect(Collectors.toList());
    }

    Map<String, String> one(String event) {
        List<Map<String, String>> all = all(event);
        if (all.size() != 1) {
            throw new AssertionError("expected one " + event + " event, found " + all.size() + " in:\n" + text);
        }
        return all.get(0);
    }

    /** The last report of checkpoint {@code label} (a workload may log one again until its figures are stable). */
    Map<String, String> report(String label) {
        return events.stream().filter(e -> "report".equals(e.get("event")) && label.equals(e.get("label")))
                .reduce((first, second) -> second)
                .orElseThrow(() -> new AssertionError("no report label=" + label + " in:\n" + text));
    }

    static long num(Map<String, String> event, String key) {
        String v = event.get(key);
        if (v == null) {
            throw new AssertionError("field " + key + " missing from " + event);
        }
        return Long.parseLong(v);
    }
}
