package io.memgov.examples;

import org.bytedeco.javacpp.Pointer;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;

/**
 * Memory that neither framework's arrays hold: after some ND4J work (governed), mallocs {@code MiB}
 * through JavaCPP ({@code Pointer.malloc}, the C heap, outside every ND4J array and direct buffer),
 * writes every byte so that it is resident, and exits holding it, so that the summary's
 * {@code native.other} shows it. Args: MiB [default 256], or {@code rss:BYTES}: malloc 16 MiB at a time
 * until the process's RSS reaches BYTES; [ms to hold it before exiting, default 0].
 */
public final class NativeOther {
    private NativeOther() {
    }

    public static void main(String[] args) {
        String what = args.length > 0 ? args[0] : "256";
        long hold = args.length > 1 ? Long.parseLong(args[1]) : 0;
        INDArray a = Nd4j.rand(256, 256);
        double sum = a.mul(2).sumNumber().doubleValue();
        java.util.List<Pointer> held = new java.util.ArrayList<>();
        long mib = 0;
        if (what.startsWith("rss:")) {
            long target = Long.parseLong(what.substring(4));
            while (SpillBenchWorkload.vmRssKb() << 10 < target) {
                held.add(malloc(16));
                mib += 16;
            }
        } else if (Long.parseLong(what) > 0) {
            mib = Long.parseLong(what);
            held.add(malloc(mib));
        }
        System.out.println("malloc.mib=" + mib + " held=" + !held.isEmpty() + " sum=" + (sum > 0));
        if (hold > 0) {
            try {
                Thread.sleep(hold);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
        }
    }

    private static Pointer malloc(long mib) {
        Pointer p = Pointer.malloc(mib << 20);
        if (p == null || p.isNull()) {
            throw new OutOfMemoryError("malloc of " + mib + " MiB failed");
        }
        Pointer.memset(p, 1, mib << 20);
        return p;
    }
}
