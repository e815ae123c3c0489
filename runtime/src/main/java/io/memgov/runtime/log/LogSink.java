package io.memgov.runtime.log;

/** Where formatted log lines go. Implementations are thread-safe. */
public interface LogSink {
    /** Writes one complete line (without the line separator). */
    void write(String line);

    default void flush() {
    }

    default void close() {
    }
}
