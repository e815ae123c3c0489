package io.memgov.agent.report;

import java.time.Instant;
import java.util.Arrays;
import java.util.Locale;
import java.util.Map;
import java.util.TreeMap;

/**
 * The {@code spill} or {@code restore} events of a run, kept compact (a debug log may hold millions):
 * totals, the latencies, the routes, and per event its time, bytes, latency and the tier it left.
 */
final class Moves {
    long count;
    long bytes;
    long micros;
    int timed;
    final Map<String, Long> routes = new TreeMap<>();
    long[] latencies = new long[64];
    int nLatencies;
    long[] at = new long[64];
    long[] size = new long[64];
    long[] us = new long[64];
    byte[] fromTier = new byte[64];
    private boolean sorted;
    private long[] sortedLatencies;

    void add(LogEvent e) {
        long b = Math.max(0, e.num("bytes", 0));
        long u = e.num("micros", -1);
        String from = e.fields.getOrDefault("from", "?");
        String to = e.fields.getOrDefault("to", "?");
        int i = (int) count;
        if (i == at.length) {
            int n = i * 2;
            at = Arrays.copyOf(at, n);
            size = Arrays.copyOf(size, n);
            us = Arrays.copyOf(us, n);
            fromTier = Arrays.copyOf(fromTier, n);
        }
        at[i] = e.time == null ? Long.MIN_VALUE : e.time.getEpochSecond() * 1_000_000_000L + e.time.getNano();
        size[i] = b;
        us[i] = u;
        fromTier[i] = (byte) tierIndex(from);
        count++;
        bytes += b;
        if (u >= 0) {
            micros += u;
            if (nLatencies == latencies.length) {
                latencies = Arrays.copyOf(latencies, nLatencies * 2);
            }
            latencies[nLatencies++] = u;
            sorted = false;
        }
        routes.merge(from + "->" + to, 1L, Long::sum);
    }

    /** 0 HOST, 1 DEVICE, 2 DISK, 3 anything else. */
    static int tierIndex(String where) {
        String w = where.toLowerCase(Locale.ROOT);
        if (w.equals("host")) {
            return 0;
        }
        if (w.startsWith("device") || w.startsWith("gpu") || w.startsWith("cuda")) {
            return 1;
        }
        return w.equals("disk") ? 2 : 3;
    }

    Instant time(int i) {
        return at[i] == Long.MIN_VALUE ? null : Instant.ofEpochSecond(Math.floorDiv(at[i], 1_000_000_000L),
                Math.floorMod(at[i], 1_000_000_000L));
    }

    /** The latency at quantile {@code p} (nearest rank), or -1 when no event had one. */
    long pct(double p) {
        if (nLatencies == 0) {
            return -1;
        }
        if (!sorted) {
            sortedLatencies = Arrays.copyOf(latencies, nLatencies);
            Arrays.sort(sortedLatencies);
            sorted = true;
        }
        int i = (int) Math.ceil(p * nLatencies) - 1;
        return sortedLatencies[Math.max(0, Math.min(nLatencies - 1, i))];
    }
}
