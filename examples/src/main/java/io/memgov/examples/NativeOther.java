package io.memgov.examples;

import org.bytedeco.javacpp.Pointer;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;

/**
 * Memory that neither framework's arrays hold: after some ND4J work (governed), mallocs {@code MiB}
 * through JavaCPP ({@code Pointer.malloc}, the C heap, outside every ND4J array and direct buffer),
 * writes every byte so that it is resident, and exits holding it, so that the summary's
 * {@code native.other} shows it. Args: MiB [default 256].
 */
public final class NativeOther {
    private NativeOther() {
    }

    public static void main(String[] args) {
        long mib = args.length > 0 ? Long.parseLong(args[0]) : 256;
        INDArray a = Nd4j.rand(256, 256);
        double sum = a.mul(2).sumNumber().doubleValue();
        Pointer p = null;
        if (mib > 0) {
            p = Pointer.malloc(mib << 20);
            if (p == null || p.isNull()) {
                throw new OutOfMemoryError("malloc of " + mib + " MiB failed");
            }
            Pointer.memset(p, 1, mib << 20);
        }
        System.out.println("malloc.mib=" + mib + " held=" + (p != null) + " sum=" + (sum > 0));
    }
}
