package io.memgov.agent;

import io.memgov.runtime.ConfigWatcher;
import io.memgov.runtime.MemoryGovernor;
import io.memgov.runtime.config.ConfigLoader;
import io.memgov.runtime.config.MemgovConfig;
import io.memgov.runtime.jmx.GovernorJmx;

import java.nio.file.Paths;

/**
 * JFR events, the JMX MBean and the config file watch, all set up on the governor's background thread,
 * off the application's start-up path: JFR's event classes are loaded only once Flight Recorder is
 * initialized, and the MBean is registered (within a second) once the platform MBean server exists,
 * never creating it: both cost a running application CPU and deoptimized code.
 */
final class Observability {
    private Observability() {
    }

    static void install(MemoryGovernor governor, MemgovConfig config, String agentArgs) {
        // Loading JFR's classes and creating the platform MBean server cost a running application
        // CPU and, worse, deoptimize its compiled code (measured: +10 % on a 1 s training loop).
        // So both wait until the application (or a tool attaching to it) has started them.
        boolean[] jfr = {false};
        boolean[] jmx = {false};
        boolean recordingFromStart = recordingFromStart();
        Runnable watch = () -> {
            if (!jfr[0] && (recordingFromStart || jfrInitialized())) {
                jfr[0] = true;
                try {
                    Class.forName("io.memgov.runtime.jfr.JfrSetup", true, null)
                            .getMethod("whenRecorderInitialized", MemoryGovernor.class).invoke(null, governor);
                } catch (Throwable t) {
                    governor.error("could not send memgov's events to JFR", t);
                }
            }
            if (!jmx[0] && platformMBeanServerExists()) {
                jmx[0] = true;
                try {
                    GovernorJmx.register(governor);
                } catch (Throwable t) {
                    governor.error("could not register the JMX MBean " + GovernorJmx.NAME, t);
                }
            }
        };
        governor.atBackgroundStart(watch); // a recording started with the JVM: its events from the start
        governor.everySecond(watch);
        if (config.configFile() != null) {
            governor.everySecond(new ConfigWatcher(governor, Paths.get(config.configFile()),
                    () -> ConfigLoader.fromEnvironment(agentArgs).load(), config));
        }
    }

    /** True when the JVM was started with a recording ({@code -XX:StartFlightRecording}). */
    static boolean recordingFromStart() {
        try {
            String[] args = ProcessHandle.current().info().arguments().orElse(new String[0]);
            for (String a : args) {
                if (a.startsWith("-XX:StartFlightRecording")) {
                    return true;
                }
            }
        } catch (Throwable t) {
            // unknown: the per-second check finds a recording
        }
        return false;
    }

    /** True once Flight Recorder is initialized (a recording was started); false without the jdk.jfr module. */
    static boolean jfrInitialized() {
        try {
            return (Boolean) Class.forName("jdk.jfr.FlightRecorder").getMethod("isInitialized").invoke(null);
        } catch (Throwable t) {
            return false;
        }
    }

    /**
     * True once the platform MBean server exists: the application, a JMX agent or a tool attaching
     * (jconsole, jcmd ManagementAgent.start) created it. Looking does not create it.
     */
    static boolean platformMBeanServerExists() {
        try {
            return !javax.management.MBeanServerFactory.findMBeanServer(null).isEmpty();
        } catch (Throwable t) {
            return false;
        }
    }
}

