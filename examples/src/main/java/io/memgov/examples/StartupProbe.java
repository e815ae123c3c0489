package io.memgov.examples;

import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.Shape;

import java.lang.management.ManagementFactory;

/**
 * Time to first tensor op: creates an NDManager, runs one op, and prints the time since JVM start at that
 * moment ({@code first.op.ms}), so it includes JVM start, any agent's premain, DJL's engine load and
 * the op. DJL extracts its natives on the first run ever: run once before measuring.
 */
public final class StartupProbe {
    private StartupProbe() {
    }

    public static void main(String[] args) {
        try (NDManager manager = NDManager.newBaseManager()) {
            manager.ones(new Shape(2, 2)).add(1).close();
            // take the time first: loading the management classes afterwards must not count
            long now = System.currentTimeMillis();
            long start = ManagementFactory.getRuntimeMXBean().getStartTime();
            System.out.println("first.op.ms=" + (now - start));
        }
    }
}
