package io.memgov.agent.report;

/** The input cannot be reported on at all: missing, unreadable, or not a memgov log. */
public final class BadLogException extends Exception {
    private static final long serialVersionUID = 1L;

    public BadLogException(String message) {
        super(message);
    }
}
