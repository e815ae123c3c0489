package io.memgov.examples;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.Shape;

import java.util.ArrayList;
import java.util.List;

/**
 * Reads tensors in the application's own shutdown hook: creates N arrays of M MiB (deterministic
 * values; under a small {@code memgov.host.limit} most are spilled), registers a Runtime shutdown hook
 * that sums every array and prints {@code array I sum=BITS} a line and then {@code checksum=...}, and
 * leaves by {@code System.exit(0)} ({@code exit}) or by printing {@code ready} and blocking until the
 * JVM is told to stop, e.g. by SIGTERM ({@code sigterm}). A run with the agent must print the same
 * lines as one without: spill files stay readable until the application's hooks are done.
 * Args: [exit|sigterm, default exit] [arrays, default 32] [MiB each, default 1].
 */
public final class ExitHookWorkload {
    private ExitHookWorkload() {
    }

    public static void main(String[] args) throws InterruptedException {
        String mode = args.length > 0 ? args[0] : "exit";
        int n = args.length > 1 ? Integer.parseInt(args[1]) : 32;
        int mib = args.length > 2 ? Integer.parseInt(args[2]) : 1;
        long elements = (long) mib * (1 << 20) / 4;
        NDManager manager = NDManager.newBaseManager();
        List<NDArray> arrays = new ArrayList<>();
        for (int i = 0; i < n; i++) {
            // values 0..elements-1, plus i: exact in float32 for these sizes, distinct per array
            try (NDArray ramp = manager.arange(0f, (float) elements)) {
                arrays.add(ramp.add((float) i));
            }
        }
        Runtime.getRuntime().addShutdownHook(new Thread(() -> {
            long checksum = 0;
            StringBuilder out = new StringBuilder();
            for (int i = 0; i < n; i++) {
                try {
                    NDArray a = arrays.get(i);
                    float last = a.getFloat(elements - 1);
                    float sum;
                    try (NDArray s = a.sum()) {
                        sum = s.getFloat();
                    }
                    int bits = Float.floatToIntBits(sum);
                    checksum = checksum * 31 + bits + Float.floatToIntBits(last);
                    out.append("array ").append(i).append(" sum=").append(Integer.toHexString(bits))
                            .append(" last=").append(last).append('\n');
                } catch (Throwable t) {
                    out.append("array ").append(i).append(" failed: ").append(t).append('\n');
                }
            }
            out.append("checksum=").append(Long.toHexString(checksum)).append('\n');
            System.out.print(out);
            System.out.flush();
        }, "app-exit-hook"));
        if ("sigterm".equals(mode)) {
            System.out.println("ready");
            System.out.flush();
            while (true) {
                Thread.sleep(60_000);
            }
        }
        System.out.println("exiting");
        System.out.flush();
        System.exit(0);
    }
}
