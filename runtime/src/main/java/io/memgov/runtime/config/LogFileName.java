package io.memgov.runtime.config;

import java.util.Arrays;
import java.util.Collections;
import java.util.List;
import java.util.Map;

/**
 * Placeholders in {@code memgov.log.file}: {@code {pid}}, {@code {host}}, {@code {executor}} (the Spark
 * executor id, {@code driver} on the Spark driver, {@code none} elsewhere), {@code {app}} (the Spark
 * application id, {@code none} when unknown) and {@code {role}} ({@code executor}, {@code driver} or
 * {@code none}), so that JVMs sharing a directory never share a file.
 */
public final class LogFileName {
    public static final List<String> PLACEHOLDERS = Collections.unmodifiableList(Arrays.asList(
            "pid", "host", "executor", "app", "role"));

    private LogFileName() {
    }

    /** The name as written when every {@code {...}} in it is a known placeholder; else IllegalArgumentException. */
    static String check(String name) {
        int i = 0;
        while (true) {
            int open = name.indexOf('{', i);
            if (open < 0) {
                return name;
            }
            int close = name.indexOf('}', open);
            if (close < 0) {
                throw new IllegalArgumentException("has a '{' without its '}': placeholders are "
                        + "{pid}, {host}, {executor}, {app} and {role}, e.g. memgov-{executor}-{pid}.log");
            }
            String p = name.substring(open + 1, close);
            if (!PLACEHOLDERS.contains(p)) {
                throw new IllegalArgumentException("names an unknown placeholder {" + p + "}: use {pid}, {host},"
                        + " {executor}, {app} or {role}, e.g. memgov-{executor}-{pid}.log");
            }
            i = close + 1;
        }
    }

    /**
     * {@code name} with each placeholder replaced by its value in {@code values} (keys as in
     * {@link #PLACEHOLDERS}); characters other than letters, digits, {@code . _ -} in a value become {@code _}.
     */
    public static String expand(String name, Map<String, String> values) {
        if (name.indexOf('{') < 0) {
            return name;
        }
        StringBuilder b = new StringBuilder();
        int i = 0;
        while (i < name.length()) {
            int open = name.indexOf('{', i);
            int close = open < 0 ? -1 : name.indexOf('}', open);
            if (open < 0 || close < 0) {
                b.append(name, i, name.length());
                break;
            }
            b.append(name, i, open);
            String p = name.substring(open + 1, close);
            String v = values.get(p);
            b.append(v == null ? "none" : safe(v));
            i = close + 1;
        }
        return b.toString();
    }

    private static String safe(String v) {
        StringBuilder b = new StringBuilder(v.length());
        for (int i = 0; i < v.length(); i++) {
            char c = v.charAt(i);
            b.append(Character.isLetterOrDigit(c) || c == '.' || c == '_' || c == '-' ? c : '_');
        }
        return b.length() == 0 ? "none" : b.toString();
    }
}
