package io.memgov.runtime.log;

import java.io.IOException;
import java.io.Writer;

/** A sink over a {@link Writer}: one line at a time, flushed, never throwing into the caller. */
public final class WriterSink implements LogSink {
    private final Writer out;
    private final boolean closeOnClose;
    private volatile boolean broken;

    public WriterSink(Writer out, boolean closeOnClose) {
        this.out = out;
        this.closeOnClose = closeOnClose;
    }

    @Override
    public synchronized void write(String line) {
        if (broken) {
            return;
        }
        try {
            out.write(line);
            out.write('\n');
            out.flush();
        } catch (IOException e) {
            broken = true;
            System.err.println("memgov: cannot write the memgov log any more (" + e + "); logging stops, governing goes on");
        }
    }

    @Override
    public synchronized void flush() {
        try {
            out.flush();
        } catch (IOException ignored) {
            // reported on the next write
        }
    }

    @Override
    public synchronized void close() {
        flush();
        if (closeOnClose) {
            try {
                out.close();
            } catch (IOException ignored) {
                // nothing left to tell
            }
        }
    }
}
