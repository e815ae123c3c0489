package io.memgov.examples;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.Shape;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;

import java.lang.management.ManagementFactory;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.Paths;
import java.util.ArrayList;
import java.util.List;
import javax.management.MBeanServer;
import javax.management.ObjectName;

/**
 * Workloads for memgov's observability (sites, leaks, JMX, live reload, JFR). Mode as first arg:
 * <ul>
 * <li>{@code live}: allocates three 16 MiB DJL arrays in {@code allocateLive}, closes one and exits with
 * two still open (they appear in the summary's {@code live.sites}).</li>
 * <li>{@code nd4j-leak N}: creates N 1 MiB ND4J arrays in {@code leakNd4j} that are never closed, then
 * drops them and runs the GC until memgov counts them as leaks (read through its MBean) or 30 s pass.</li>
 * <li>{@code jmx}: allocates 3 MiB of DJL arrays and prints what its own MBean {@code io.memgov:type=Governor}
 * says, tries a bad and a good {@code setLimit}, and {@code resetPeaks}.</li>
 * <li>{@code reload GO}: allocates a 4 MiB DJL array, prints {@code ready}, waits for the file GO to exist,
 * then allocates another 4 MiB array, reads both and prints {@code done}.</li>
 * </ul>
 */
public final class ObserveWorkload {
    private static final ObjectName NAME;

    static {
        try {
            NAME = new ObjectName("io.memgov:type=Governor");
        } catch (Exception e) {
            throw new ExceptionInInitializerError(e);
        }
    }

    private ObserveWorkload() {
    }

    public static void main(String[] args) throws Exception {
        switch (args[0]) {
            case "live":
                live();
                break;
            case "nd4j-leak":
                nd4jLeak(Integer.parseInt(args[1]));
                break;
            case "jmx":
                jmx();
                break;
            case "reload":
                reload(Paths.get(args[1]));
                break;
            default:
                throw new IllegalArgumentException("unknown mode " + args[0]);
        }
    }

    private static void live() {
        NDManager manager = NDManager.newBaseManager();
        List<NDArray> arrays = allocateLive(manager);
        arrays.get(0).close();
        System.out.println("live arrays left open: " + (arrays.size() - 1));
    }

    private static List<NDArray> allocateLive(NDManager manager) {
        List<NDArray> arrays = new ArrayList<>();
        for (int i = 0; i < 3; i++) {
            arrays.add(manager.zeros(new Shape(4 * 1024 * 1024))); // 16 MiB of float32
        }
        return arrays;
    }

    private static void nd4jLeak(int n) throws Exception {
        long sum = leakNd4j(n);
        System.out.println("nd4j sum=" + sum);
        MBeanServer server = ManagementFactory.getPlatformMBeanServer();
        long deadline = System.nanoTime() + 30_000_000_000L;
        long leaks = 0;
        while (System.nanoTime() < deadline) {
            System.gc();
            Thread.sleep(100);
            if (server.isRegistered(NAME)) {
                leaks = (Long) server.getAttribute(NAME, "Leaks");
                if (leaks >= n) {
                    break;
                }
            }
        }
        System.out.println("leaks=" + leaks);
    }

    private static long leakNd4j(int n) {
        long sum = 0;
        for (int i = 0; i < n; i++) {
            INDArray a = Nd4j.create(DataType.FLOAT, 256 * 1024); // 1 MiB, never closed
            sum += a.length();
        }
        return sum;
    }

    private static void jmx() throws Exception {
        MBeanServer server = ManagementFactory.getPlatformMBeanServer();
        long deadline = System.nanoTime() + 30_000_000_000L;
        while (!server.isRegistered(NAME) && System.nanoTime() < deadline) {
            Thread.sleep(20);
        }
        try (NDManager manager = NDManager.newBaseManager()) {
            NDArray a = manager.zeros(new Shape(512 * 1024)); // 2 MiB
            NDArray b = manager.zeros(new Shape(256 * 1024)); // 1 MiB
            print(server, "HostUsed", "HostPeak", "HostLimit", "DiskLimit", "LiveTensors", "PoolHits", "PoolMisses",
                    "Spills", "Restores", "OnLimit");
            try {
                server.invoke(NAME, "setLimit", new Object[]{"host", "4gb"}, new String[]{"java.lang.String", "java.lang.String"});
                System.out.println("setLimit 4gb: accepted");
            } catch (Exception e) {
                System.out.println("setLimit 4gb: " + rootMessage(e));
            }
            try {
                server.invoke(NAME, "setLimit", new Object[]{"gpu", "1g"}, new String[]{"java.lang.String", "java.lang.String"});
                System.out.println("setLimit gpu: accepted");
            } catch (Exception e) {
                System.out.println("setLimit gpu: " + rootMessage(e));
            }
            server.invoke(NAME, "setLimit", new Object[]{"host", "64m"}, new String[]{"java.lang.String", "java.lang.String"});
            print(server, "HostLimit");
            b.close();
            print(server, "HostUsed", "HostPeak");
            server.invoke(NAME, "resetPeaks", new Object[0], new String[0]);
            print(server, "HostPeak", "LiveTensors");
            a.close();
        }
    }

    private static String rootMessage(Throwable e) {
        while (e.getCause() != null) {
            e = e.getCause();
        }
        return e.getMessage();
    }

    private static void print(MBeanServer server, String... attributes) throws Exception {
        for (String a : attributes) {
            System.out.println("jmx." + a + "=" + server.getAttribute(NAME, a));
        }
    }

    private static void reload(Path go) throws Exception {
        try (NDManager manager = NDManager.newBaseManager()) {
            NDArray a = manager.ones(new Shape(1024 * 1024)); // 4 MiB
            System.out.println("ready");
            System.out.flush();
            long deadline = System.nanoTime() + 120_000_000_000L;
            while (!Files.exists(go) && System.nanoTime() < deadline) {
                Thread.sleep(20);
            }
            NDArray b = manager.ones(new Shape(1024 * 1024)); // 4 MiB more
            System.out.println("sum=" + a.sum().getFloat() + "," + b.sum().getFloat());
            System.out.println("done");
        }
    }
}
