package io.memgov.runtime;

/** Where the governor's JFR events go; implemented over jdk.jfr by {@code io.memgov.runtime.jfr.JfrEvents}. */
public interface JfrSink {
    void allocation(long id, long bytes, String framework, String tier, String site);

    void spill(long id, long bytes, String from, String to, long micros);

    void restore(long id, long bytes, String from, String to, long micros);

    void limitReached(String tier, long requested, long used, long limit, String action);
}
