package io.memgov.agent.report;

import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;

/**
 * The events of one JVM's run. A log file is appended to, so it may hold several runs: a run ends at
 * its {@code summary} (or at {@code ungoverned}/{@code disabled}, after which nothing more is
 * logged), and a second {@code start} begins a new one even without a summary (the first JVM died).
 */
public final class Run {
    static final Set<String> TERMINAL = Set.of("summary", "ungoverned", "disabled");

    final List<LogEvent> events = new ArrayList<>();
    LogEvent start;
    LogEvent summary;
    LogEvent terminal;

    public static List<Run> split(List<LogEvent> events) {
        List<Run> runs = new ArrayList<>();
        Run cur = new Run();
        for (LogEvent e : events) {
            if (e.name.equals("start") && cur.start != null) {
                runs.add(cur);
                cur = new Run();
            }
            cur.events.add(e);
            if (e.name.equals("start")) {
                cur.start = e;
            }
            if (TERMINAL.contains(e.name)) {
                cur.terminal = e;
                if (e.name.equals("summary")) {
                    cur.summary = e;
                }
                runs.add(cur);
                cur = new Run();
            }
        }
        if (!cur.events.isEmpty()) {
            runs.add(cur);
        }
        return runs;
    }

    public LogEvent start() {
        return start;
    }

    public LogEvent summary() {
        return summary;
    }

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
        for (LogEvent e : events) {
            if (e.time != null) {
                return e.time;
            }
        }
        return null;
    }

    public Instant end() {
        for (int i = events.size() - 1; i >= 0; i--) {
            if (events.get(i).time != null) {
                return events.get(i).time;
            }
        }
        return null;
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
