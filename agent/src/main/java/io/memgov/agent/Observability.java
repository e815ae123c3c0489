package io.memgov.agent;

import io.memgov.runtime.ConfigWatcher;
import io.memgov.runtime.Governor;
import io.memgov.runtime.config.ConfigLoader;
import io.memgov.runtime.config.MemgovConfig;

import java.nio.file.Paths;

/**
 * JFR events, the JMX MBean and the config file watch. All are set up on the governor's background
 * thread as it starts, off the application's start-up path: the JMX platform server and jdk.jfr are
 * loaded there, not in premain.
 */
final class Observability {
    private Observability() {
    }

    static void install(Governor governor, MemgovConfig config, String agentArgs) {
        governor.atBackgroundStart(() -> {
            try {
                Class<?> c = Class.forName("io.memgov.runtime.jfr.JfrEvents", true, null);
                governor.jfr((io.memgov.runtime.JfrSink) c.getDeclaredConstructor().newInstance());
            } catch (Throwable t) {
                // no jdk.jfr module in this runtime: no JFR events
            }
        });
        governor.atBackgroundStart(() -> {
            try {
                io.memgov.runtime.jmx.GovernorJmx.register(governor);
            } catch (Throwable t) {
                governor.error("could not register the JMX MBean " + io.memgov.runtime.jmx.GovernorJmx.NAME, t);
            }
        });
        if (config.configFile() != null) {
            governor.everySecond(new ConfigWatcher(governor, Paths.get(config.configFile()),
                    () -> ConfigLoader.fromEnvironment(agentArgs).load(), config));
        }
    }
}
