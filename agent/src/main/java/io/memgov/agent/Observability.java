package io.memgov.agent;

import io.memgov.runtime.ConfigWatcher;
import io.memgov.runtime.Governor;
import io.memgov.runtime.config.ConfigLoader;
import io.memgov.runtime.config.MemgovConfig;
import io.memgov.runtime.jmx.GovernorJmx;

import java.nio.file.Paths;

/**
 * JFR events, the JMX MBean and the config file watch, all set up on the governor's background thread,
 * off the application's start-up path: JFR's event classes are loaded only once Flight Recorder is
 * initialized, and the MBean is registered a second after start (creating the platform MBean server
 * costs CPU a starting application needs; a program that ends within a second never pays it).
 */
final class Observability {
    private Observability() {
    }

    static void install(Governor governor, MemgovConfig config, String agentArgs) {
        governor.atBackgroundStart(() -> {
            try {
                Class.forName("io.memgov.runtime.jfr.JfrSetup", true, null)
                        .getMethod("whenRecorderInitialized", Governor.class).invoke(null, governor);
            } catch (Throwable t) {
                // no jdk.jfr module in this runtime: no JFR events
            }
        });
        boolean[] registered = {false};
        governor.everySecond(() -> {
            if (!registered[0]) {
                registered[0] = true;
                try {
                    GovernorJmx.register(governor);
                } catch (Throwable t) {
                    governor.error("could not register the JMX MBean " + GovernorJmx.NAME, t);
                }
            }
        });
        if (config.configFile() != null) {
            governor.everySecond(new ConfigWatcher(governor, Paths.get(config.configFile()),
                    () -> ConfigLoader.fromEnvironment(agentArgs).load(), config));
        }
    }
}
