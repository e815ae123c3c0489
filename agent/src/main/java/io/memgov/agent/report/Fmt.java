package io.memgov.agent.report;

import java.util.Locale;

/** Number formats of the report: raw figures as the log has them, with a human form beside them. */
final class Fmt {
    private Fmt() {
    }

    /** {@code 64.0 MiB (67108864)}: the human form and the raw byte count of the log. */
    static String bytes(long b) {
        if (b < 0) {
            return "none";
        }
        if (b < 1024) {
            return b + " B";
        }
        return human(b) + " (" + b + ")";
    }

    static String human(long b) {
        if (b < 0) {
            return "none";
        }
        if (b < 1024) {
            return b + " B";
        }
        String[] units = {"KiB", "MiB", "GiB", "TiB", "PiB"};
        double v = b;
        int u = -1;
        while (v >= 1024 && u < units.length - 1) {
            v /= 1024;
            u++;
        }
        return String.format(Locale.ROOT, "%.1f %s", v, units[u]);
    }

    /** Milliseconds since the run began, as {@code +1.234 s}. */
    static String at(double ms) {
        return String.format(Locale.ROOT, "%+.3f s", ms / 1000.0);
    }

    static String pct(double ratio) {
        return String.format(Locale.ROOT, "%.1f%%", ratio * 100);
    }

    static String micros(double us) {
        if (us >= 10_000) {
            return String.format(Locale.ROOT, "%.0f", us);
        }
        return String.format(Locale.ROOT, "%.1f", us);
    }
}
