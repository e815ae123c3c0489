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
import io.memgov.runtime.log.LogSink;

import java.nio.charset.StandardCharsets;

/**
 * memgov's log through its own, shaded Logback: a private {@link LoggerContext} configured in code.
 * It never runs Logback's auto-configuration, so the application's logback.xml is never read, and
 * the application's own SLF4J/Logback (any version) never sees it.
 */
public final class LogbackSink implements LogSink {
    private final LoggerContext context;
    private final Logger logger;

    private LogbackSink(LoggerContext context, Logger logger) {
        this.context = context;
        this.logger = logger;
    }

    /** {@code target}: a file path, or {@code stderr}/{@code stdout}. */
    public static LogbackSink open(String target) {
        LoggerContext ctx = new LoggerContext();
        ctx.setName("memgov");
        // set by hand: no SLF4J binding step runs for this private context
        ctx.setMDCAdapter(new LogbackMDCAdapter());
        ctx.start();
        LineEncoder encoder = new LineEncoder();
        encoder.setContext(ctx);
        encoder.start();
        OutputStreamAppender<ILoggingEvent> appender;
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
        return new LogbackSink(ctx, logger);
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
