package io.memgov.agent.report;

import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;

/**
 * The events of one JVM's run. A log file is appended to, so it may hold several runs: a run ends at
 * its {@code summary} (or at {@code ungoverned}/{@code disabled}, after which nothing more is
 * logged), and a second {@code start} begins a new one even without a summary (the first JVM died).
 * {@code spill} and {@code restore} events (a debug log may hold millions) are kept compact in
 * {@link Moves}; every other event is kept as it is.
 */
public final class Run {
    static final Set<String> TERMINAL = Set.of("summary", "ungoverned", "disabled");

    final List<LogEvent> events = new ArrayList<>();
    final Map<String, Integer> counts = new TreeMap<>();
    final Moves spills = new Moves();
    final Moves restores = new Moves();
    int total;
    LogEvent start;
    LogEvent summary;
    LogEvent terminal;
    Instant first;
    Instant lastTime;

    /** Splits a stream of events into runs. */
    static final class Splitter {
        final List<Run> runs = new ArrayList<>();
        Run cur = new Run();

        void accept(LogEvent e) {
            if (e.name.equals("start") && cur.start != null) {
                runs.add(cur);
                cur = new Run();
            }
            cur.add(e);
            if (TERMINAL.contains(e.name)) {
                runs.add(cur);
                cur = new Run();
            }
        }

        List<Run> finish() {
            if (cur.total > 0) {
                runs.add(cur);
                cur = new Run();
            }
            return runs;
        }
    }

    public static List<Run> split(List<LogEvent> events) {
        Splitter s = new Splitter();
        events.forEach(s::accept);
        return s.finish();
    }

    private void add(LogEvent e) {
        total++;
        counts.merge(e.name, 1, Integer::sum);
        if (e.time != null) {
            if (first == null) {
                first = e.time;
            }
            lastTime = e.time;
        }
        if (e.name.equals("spill")) {
            spills.add(e);
            return;
        }
        if (e.name.equals("restore")) {
            restores.add(e);
            return;
        }
        events.add(e);
        if (e.name.equals("start")) {
            start = e;
        }
        if (TERMINAL.contains(e.name)) {
            terminal = e;
            if (e.name.equals("summary")) {
                summary = e;
            }
        }
    }

    public LogEvent start() {
        return start;
    }

    public LogEvent summary() {
        return summary;
    }

    /** The events of the run but its {@code spill} and {@code restore} events. */
    public List<LogEvent> events() {
        return events;
    }

    public List<LogEvent> all(String name) {
        List<LogEvent> out = new ArrayList<>();
        for (LogEvent e : events) {
            if (e.name.equals(name)) {
                out.add(e);
            }
        }
        return out;
    }

    /** The final figures: the summary, else the last report (the JVM died or the log is cut), else null. */
    public LogEvent last() {
        if (summary != null) {
            return summary;
        }
        LogEvent r = null;
        for (LogEvent e : events) {
            if (e.name.equals("report")) {
                r = e;
            }
        }
        return r;
    }

    /** Whether the run has every event a normal exit writes: false when the JVM died or the log is cut. */
    public boolean complete() {
        return terminal != null;
    }

    /** When the run began: its start event's time, else its first timed event's. */
    public Instant begin() {
        if (start != null && start.time != null) {
            return start.time;
        }
        return first;
    }

    public Instant end() {
        return lastTime;
    }

    /** Milliseconds from the run's beginning to {@code t} (0 when unknown). */
    public double at(Instant t) {
        Instant b = begin();
        if (b == null || t == null) {
            return 0;
        }
        return Duration.between(b, t).toNanos() / 1e6;
    }
}
