package io.memgov.agent;

import ch.qos.logback.classic.Level;
import ch.qos.logback.classic.Logger;
import ch.qos.logback.classic.LoggerContext;
import ch.qos.logback.classic.spi.ILoggingEvent;
import ch.qos.logback.classic.util.LogbackMDCAdapter;
import ch.qos.logback.core.ConsoleAppender;
import ch.qos.logback.core.FileAppender;
import ch.qos.logback.core.OutputStreamAppender;
import ch.qos.logback.core.encoder.EncoderBase;
import ch.qos.logback.core.recovery.RecoveryListener;
import ch.qos.logback.core.recovery.ResilientFileOutputStream;
import io.memgov.runtime.log.LogSink;
import io.memgov.runtime.spill.SpillStore;

import java.io.IOException;
import java.io.OutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.Paths;
import java.nio.file.attribute.BasicFileAttributes;
import java.util.concurrent.atomic.AtomicBoolean;

/**
 * memgov's log through its own, shaded Logback: a private {@link LoggerContext} configured in code.
 * It never runs Logback's auto-configuration, so the application's logback.xml is never read, and
 * the application's own SLF4J/Logback (any version) never sees it.
 *
 * <p>A log file that cannot be written (a full disk, an I/O error) is said once on stderr, naming the
 * file and the cause (again only after writes went through meanwhile); Logback keeps retrying and
 * writes again once it can. A log file deleted or renamed under the JVM (logrotate) is noticed by
 * {@link #reopenIfMoved}, which the governor's background thread calls about once a second (one stat),
 * never the threads that log: it then opens a fresh file at the same path.
 */
public final class LogbackSink implements LogSink {
    private final LoggerContext context;
    private final Logger logger;
    /** The log file, or null for stderr/stdout. */
    private final Path path;
    private final FileAppender<ILoggingEvent> file;
    private final PrintStream err;
    /** The file key (device and inode) of the file being written, null when unknown. */
    private volatile Object fileKey;
    /**
     * A write failure was said on stderr; cleared by {@link #reopenIfMoved} once the file grew since
     * (Logback's own "recovered" also comes after a reopen that wrote nothing, or a write into its
     * buffer before the flush that fails again: alone it cannot tell that the disk has room again).
     */
    private final AtomicBoolean writeFailureSaid = new AtomicBoolean();
    /** The last write to the file failed. */
    private volatile boolean failing;
    /** The file's size when the failure was said. */
    private volatile long sizeWhenSaid;
    /** A failed reopen was said on stderr; cleared when a reopen succeeds. */
    private final AtomicBoolean reopenFailureSaid = new AtomicBoolean();
    private final RecoveryListener recovery = new RecoveryListener() {
        @Override
        public void newFailure(IOException e) {
            writeFailed(e);
        }

        @Override
        public void recoveryOccured() {
            writeRecovered();
        }
    };

    private LogbackSink(LoggerContext context, Logger logger, Path path, FileAppender<ILoggingEvent> file, PrintStream err) {
        this.context = context;
        this.logger = logger;
        this.path = path;
        this.file = file;
        this.err = err;
        if (file != null) {
            listen();
            fileKey = fileKey(path);
        }
    }

    /** {@code target}: a file path, or {@code stderr}/{@code stdout}. */
    public static LogbackSink open(String target) {
        return open(target, System.err);
    }

    /** {@link #open(String)}, saying problems with the file on {@code err}. */
    static LogbackSink open(String target, PrintStream err) {
        LoggerContext ctx = new LoggerContext();
        ctx.setName("memgov");
        // set by hand: no SLF4J binding step runs for this private context
        ctx.setMDCAdapter(new LogbackMDCAdapter());
        ctx.start();
        LineEncoder encoder = new LineEncoder();
        encoder.setContext(ctx);
        encoder.start();
        OutputStreamAppender<ILoggingEvent> appender;
        FileAppender<ILoggingEvent> fileAppender = null;
        if ("stderr".equalsIgnoreCase(target) || "stdout".equalsIgnoreCase(target)) {
            ConsoleAppender<ILoggingEvent> console = new ConsoleAppender<>();
            console.setTarget("stderr".equalsIgnoreCase(target) ? "System.err" : "System.out");
            appender = console;
        } else {
            FileAppender<ILoggingEvent> file = new FileAppender<>();
            file.setFile(target);
            file.setAppend(true);
            file.setPrudent(false);
            appender = file;
            fileAppender = file;
        }
        appender.setContext(ctx);
        appender.setName("memgov");
        appender.setEncoder(encoder);
        appender.setImmediateFlush(true);
        appender.start();
        if (!appender.isStarted()) {
            ctx.stop();
            throw new IllegalStateException("cannot open the memgov log " + target
                    + ": check that its directory exists and is writable, or set memgov.log.file");
        }
        Logger logger = ctx.getLogger("memgov");
        logger.setAdditive(false);
        logger.setLevel(Level.ALL);
        logger.addAppender(appender);
        return new LogbackSink(ctx, logger, fileAppender == null ? null : Paths.get(target).toAbsolutePath(),
                fileAppender, err);
    }

    /** The log file, or null when the log goes to stderr or stdout. */
    public Path path() {
        return path;
    }

    /** Logback's stream over the file reports its write failures and recoveries to {@link #recovery}. */
    private void listen() {
        OutputStream os = file.getOutputStream();
        if (os instanceof ResilientFileOutputStream) {
            ((ResilientFileOutputStream) os).addRecoveryListener(recovery);
        }
    }

    /** A write to the log file went through (into Logback's buffer at least). */
    void writeRecovered() {
        failing = false;
    }

    /** A write to the log file failed: said once on stderr (until writes go through again). */
    void writeFailed(IOException e) {
        failing = true;
        if (!writeFailureSaid.compareAndSet(false, true)) {
            return;
        }
        sizeWhenSaid = size(path);
        String cause = e.getMessage() == null || e.getMessage().isEmpty() ? e.toString() : e.getMessage();
        err.println("memgov: cannot write the log file " + path + ": " + cause
                + "; memgov's events are lost until it can be written again (governing goes on). "
                + (SpillStore.isNoSpace(e) ? "Free space on that disk or set memgov.log.file to a file on another disk"
                        : "Check the file and its disk, or set memgov.log.file to another file"));
        err.flush();
    }

    /**
     * When the log file was deleted, renamed or replaced since it was opened (logrotate), opens a fresh
     * file at the same path (or the one now there) and returns why; else null. Cheap: one stat. A file
     * that cannot be created again is said once on stderr, and tried again at the next call.
     */
    public String reopenIfMoved() {
        if (file == null) {
            return null;
        }
        if (writeFailureSaid.get() && !failing && size(path) > sizeWhenSaid) {
            writeFailureSaid.set(false); // writes go through again: a later failure is said again
        }
        Object now = fileKey(path);
        Object was = fileKey;
        if (now != null && (now.equals(was) || was == null)) {
            fileKey = now;
            return null;
        }
        String why = now == null ? "the file was deleted or renamed" : "another file took its path (renamed or rotated)";
        try {
            file.openFile(path.toString());
            listen();
            fileKey = fileKey(path);
            reopenFailureSaid.set(false);
            writeFailureSaid.set(false); // a new file: its failures are news
            return why;
        } catch (IOException | RuntimeException e) {
            if (reopenFailureSaid.compareAndSet(false, true)) {
                err.println("memgov: the log file " + path + " was deleted or renamed and cannot be created again ("
                        + e + "); memgov's events are lost until it can be (governing goes on). Check that "
                        + path.getParent() + " exists and is writable, or set memgov.log.file to another file");
                err.flush();
            }
            return null;
        }
    }

    /** The size of {@code p}, -1 when unknown. */
    private static long size(Path p) {
        try {
            return Files.size(p);
        } catch (IOException | RuntimeException e) {
            return -1;
        }
    }

    /** The file key (device and inode) of {@code p}, or null when it does not exist or cannot be read. */
    static Object fileKey(Path p) {
        try {
            BasicFileAttributes a = Files.readAttributes(p, BasicFileAttributes.class);
            Object key = a.fileKey();
            return key != null ? key : a.creationTime();
        } catch (IOException | RuntimeException e) {
            return null;
        }
    }

    @Override
    public void write(String line) {
        logger.info(line);
    }

    @Override
    public void close() {
        context.stop();
    }

    /** Writes the formatted line as it is: the runtime's EventLog already made it. */
    static final class LineEncoder extends EncoderBase<ILoggingEvent> {
        @Override
        public byte[] headerBytes() {
            return null;
        }

        @Override
        public byte[] encode(ILoggingEvent event) {
            return (event.getMessage() + "\n").getBytes(StandardCharsets.UTF_8);
        }

        @Override
        public byte[] footerBytes() {
            return null;
        }
    }
}
