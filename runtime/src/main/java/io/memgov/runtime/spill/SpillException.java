package io.memgov.runtime.spill;

import java.io.IOException;

/** A spill file could not be written or read back. */
public class SpillException extends IOException {
    private static final long serialVersionUID = 1L;

    public SpillException(String message) {
        super(message);
    }

    public SpillException(String message, Throwable cause) {
        super(message, cause);
    }
}
