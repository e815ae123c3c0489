package io.memgov.runtime.jfr;

import io.memgov.runtime.MemoryGovernor;
import jdk.jfr.FlightRecorder;

/**
 * Sends the governor's events to JFR once Flight Recorder is initialized (a recording started with
 * {@code -XX:StartFlightRecording} or later with {@code jcmd JFR.start}): the event classes are loaded
 * only then, so a JVM that never records pays nothing for them.
 */
public final class JfrSetup {
    private JfrSetup() {
    }

    public static void whenRecorderInitialized(MemoryGovernor governor) {
        FlightRecorder.addListener(new jdk.jfr.FlightRecorderListener() {
            @Override
            public void recorderInitialized(FlightRecorder recorder) {
                governor.jfr(new JfrEvents());
            }
        });
    }
}
