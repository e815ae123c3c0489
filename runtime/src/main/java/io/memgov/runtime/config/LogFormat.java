package io.memgov.runtime.config;

/** Format of the governor's log ({@code memgov.log.format}): {@code text} or {@code json}. */
public enum LogFormat {
    TEXT, JSON
}
