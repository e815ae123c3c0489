package io.memgov.runtime;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.HashMap;
import java.util.Map;
import java.util.Properties;

import org.junit.jupiter.api.Test;

class JvmIdentityTest {
    private static Properties command(String c) {
        Properties p = new Properties();
        p.setProperty("sun.java.command", c);
        return p;
    }

    @Test
    void standaloneExecutorFromItsCommandLine() {
        // as Spark 3.5's standalone Worker launches an executor
        JvmIdentity id = JvmIdentity.of(command("org.apache.spark.executor.CoarseGrainedExecutorBackend"
                + " --driver-url spark://CoarseGrainedScheduler@127.0.0.1:40411 --executor-id 1 --hostname 127.0.0.1"
                + " --cores 1 --app-id app-20251206231500-0000 --worker-url spark://Worker@127.0.0.1:37111"
                + " --resourceProfileId 0"), new HashMap<>());
        assertTrue(id.isSpark());
        assertEquals("executor", id.role());
        assertEquals("1", id.executorId());
        assertEquals("app-20251206231500-0000", id.appId());
        assertEquals("127.0.0.1", id.host());
        Map<String, String> p = id.placeholders(77);
        assertEquals("77", p.get("pid"));
        assertEquals("1", p.get("executor"));
        assertEquals("app-20251206231500-0000", p.get("app"));
        assertEquals("executor", id.reportFields().get("role"));
        assertEquals("1", id.reportFields().get("spark.executor.id"));
        assertEquals("app-20251206231500-0000", id.startFields().get("spark.app.id"));
    }

    @Test
    void yarnExecutor() {
        JvmIdentity id = JvmIdentity.of(command("org.apache.spark.executor.YarnCoarseGrainedExecutorBackend"
                + " --driver-url spark://x --executor-id 7 --hostname worker-3 --cores 4 --app-id application_1_0002"
                + " --resourceProfileId 0"), new HashMap<>());
        assertEquals("executor", id.role());
        assertEquals("7", id.executorId());
        assertEquals("application_1_0002", id.appId());
        assertEquals("worker-3", id.host());
    }

    @Test
    void kubernetesExecutorFromItsEnvironment() {
        Map<String, String> env = new HashMap<>();
        env.put("SPARK_EXECUTOR_ID", "2");
        env.put("SPARK_APPLICATION_ID", "spark-a1b2");
        env.put("SPARK_EXECUTOR_POD_IP", "10.0.0.5");
        JvmIdentity id = JvmIdentity.of(command("/opt/spark/jars/x.jar"), env);
        assertEquals("executor", id.role());
        assertEquals("2", id.executorId());
        assertEquals("spark-a1b2", id.appId());
        assertEquals("10.0.0.5", id.host());
    }

    @Test
    void driverOfSparkSubmitLearnsItsAppIdWhenSparkSetsIt() {
        Properties p = command("org.apache.spark.deploy.SparkSubmit --master spark://127.0.0.1:7077 --class X app.jar");
        Map<String, String> env = new HashMap<>();
        env.put("HOSTNAME", "edge-1");
        JvmIdentity id = JvmIdentity.of(p, env);
        assertEquals("driver", id.role());
        assertEquals("driver", id.executorId());
        assertNull(id.appId());
        assertEquals("unknown", id.reportFields().get("spark.app.id"));
        assertEquals("edge-1", id.host());
        p.setProperty("spark.app.id", "app-1");
        assertEquals("app-1", id.appId());
        assertEquals("app-1", id.reportFields().get("spark.app.id"));
    }

    @Test
    void anyOtherJvmHasOnlyAHost() {
        Map<String, String> env = new HashMap<>();
        env.put("HOSTNAME", "box");
        JvmIdentity id = JvmIdentity.of(command("io.memgov.examples.Demo 8"), env);
        assertFalse(id.isSpark());
        assertNull(id.role());
        assertTrue(id.reportFields().isEmpty());
        assertEquals(Map.of("host", "box"), id.startFields());
        assertEquals("none", id.placeholders(1).get("executor"));
        assertEquals("box", id.placeholders(1).get("host"));
    }
}
