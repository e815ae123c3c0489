package io.memgov.runtime;

import java.net.InetAddress;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Paths;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Properties;

/**
 * Who this JVM is: its host, and when it is a Spark executor or driver, its role, application id and
 * executor id, read from what Spark puts on the JVM's command line ({@code sun.java.command}: the main
 * class and {@code --executor-id}, {@code --app-id}, {@code --hostname} of
 * {@code CoarseGrainedExecutorBackend}, YARN's and Kubernetes' executor backends) and in its environment
 * ({@code SPARK_EXECUTOR_ID}, {@code SPARK_APPLICATION_ID}: Kubernetes) and system properties
 * ({@code spark.app.id}, {@code spark.executor.id}). JDK only; never throws.
 */
public final class JvmIdentity {
    public static final String EXECUTOR = "executor";
    public static final String DRIVER = "driver";

    private final String role;
    private final String appId;
    private final String executorId;
    private final String host;
    private final Properties props;

    private JvmIdentity(String role, String appId, String executorId, String host, Properties props) {
        this.role = role;
        this.appId = appId;
        this.executorId = executorId;
        this.host = host;
        this.props = props;
    }

    /** This JVM. */
    public static JvmIdentity detect() {
        return of(System.getProperties(), System.getenv());
    }

    /** From a JVM's system properties ({@code sun.java.command} among them) and environment. */
    public static JvmIdentity of(Properties props, Map<String, String> env) {
        try {
            String command = props.getProperty("sun.java.command", "");
            String[] words = command.trim().split("\\s+");
            String main = words.length == 0 ? "" : words[0];
            Map<String, String> args = new LinkedHashMap<>();
            for (int i = 1; i + 1 < words.length; i++) {
                if (words[i].startsWith("--")) {
                    args.put(words[i].substring(2), words[i + 1]);
                }
            }
            String role = null;
            String appId = null;
            String executorId = null;
            String host = null;
            if (main.startsWith("org.apache.spark.") && main.endsWith("ExecutorBackend")) {
                role = EXECUTOR;
                executorId = args.get("executor-id");
                appId = args.get("app-id");
                host = args.get("hostname");
            } else if (main.equals("org.apache.spark.deploy.SparkSubmit")
                    || main.equals("org.apache.spark.deploy.worker.DriverWrapper")
                    || main.equals("org.apache.spark.deploy.yarn.ApplicationMaster")) {
                role = DRIVER;
                executorId = DRIVER;
            }
            if (role == null && env.get("SPARK_EXECUTOR_ID") != null) {
                role = EXECUTOR;
            }
            if (EXECUTOR.equals(role)) {
                if (executorId == null) {
                    executorId = env.get("SPARK_EXECUTOR_ID");
                }
                if (appId == null) {
                    appId = env.get("SPARK_APPLICATION_ID");
                }
                if (host == null) {
                    host = env.get("SPARK_EXECUTOR_POD_IP");
                }
            }
            if (role != null && appId == null) {
                appId = props.getProperty("spark.app.id");
            }
            if (host == null || host.isEmpty()) {
                host = hostName(env);
            }
            return new JvmIdentity(role, appId, executorId, host, props);
        } catch (RuntimeException e) {
            return new JvmIdentity(null, null, null, "unknown", props);
        }
    }

    private static String hostName(Map<String, String> env) {
        String h = env.get("HOSTNAME");
        if (h != null && !h.trim().isEmpty()) {
            return h.trim();
        }
        try {
            byte[] b = Files.readAllBytes(Paths.get("/proc/sys/kernel/hostname"));
            String s = new String(b, StandardCharsets.US_ASCII).trim();
            if (!s.isEmpty()) {
                return s;
            }
        } catch (Exception e) {
            // not Linux
        }
        try {
            return InetAddress.getLocalHost().getHostName();
        } catch (Exception e) {
            return "unknown";
        }
    }

    /** Whether this JVM is a Spark executor or driver. */
    public boolean isSpark() {
        return role != null;
    }

    /** {@code executor}, {@code driver}, or null when this JVM is neither. */
    public String role() {
        return role;
    }

    /**
     * The Spark application id; null when unknown. On the driver it is known only when
     * {@code spark.app.id} is a system property (it is read again at each call).
     */
    public String appId() {
        if (appId == null && role != null) {
            return props.getProperty("spark.app.id");
        }
        return appId;
    }

    /** The Spark executor id ({@code driver} on the driver); null elsewhere. */
    public String executorId() {
        return executorId;
    }

    public String host() {
        return host;
    }

    /** The values of the log.file placeholders {pid}, {host}, {executor}, {app}, {role}. */
    public Map<String, String> placeholders(long pid) {
        Map<String, String> m = new LinkedHashMap<>();
        m.put("pid", String.valueOf(pid));
        m.put("host", host);
        m.put("executor", executorId == null ? "none" : executorId);
        String app = appId();
        m.put("app", app == null ? "none" : app);
        m.put("role", role == null ? "none" : role);
        return m;
    }

    /**
     * The fields {@code start} logs: {@code host} always; for a Spark JVM also {@code role},
     * {@code spark.app.id} ({@code unknown} when not known yet) and {@code spark.executor.id}.
     */
    public Map<String, Object> startFields() {
        Map<String, Object> m = new LinkedHashMap<>();
        m.put("host", host);
        if (role != null) {
            m.putAll(reportFields());
        }
        return m;
    }

    /** The fields {@code report} and {@code summary} carry for a Spark JVM (none for other JVMs). */
    public Map<String, Object> reportFields() {
        Map<String, Object> m = new LinkedHashMap<>();
        if (role != null) {
            m.put("role", role);
            String app = appId();
            m.put("spark.app.id", app == null ? "unknown" : app);
            m.put("spark.executor.id", executorId == null ? "unknown" : executorId);
            m.put("host", host);
        }
        return m;
    }

    @Override
    public String toString() {
        return role == null ? "host " + host : role + " " + executorId + " of " + appId() + " on " + host;
    }
}
