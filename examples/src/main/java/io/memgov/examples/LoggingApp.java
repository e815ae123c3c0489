package io.memgov.examples;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.Shape;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/** An application that logs through its own SLF4J/Logback (whatever versions its class path has). */
public final class LoggingApp {
    private static final Logger LOG = LoggerFactory.getLogger(LoggingApp.class);

    private LoggingApp() {
    }

    public static void main(String[] args) {
        LOG.info("app started");
        try (NDManager m = NDManager.newBaseManager()) {
            NDArray a = m.ones(new Shape(256));
            NDArray b = a.add(a);
            LOG.info("sum={}", b.sum().getFloat());
        }
        LOG.warn("app done");
    }
}
