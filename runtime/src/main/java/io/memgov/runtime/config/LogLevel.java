package io.memgov.runtime.config;

/** Level of the governor's log ({@code memgov.log.level}); parsed case-insensitively. */
public enum LogLevel {
    TRACE, DEBUG, INFO, WARN, ERROR, OFF
}
