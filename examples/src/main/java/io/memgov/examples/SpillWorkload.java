package io.memgov.examples;

import ai.djl.engine.Engine;
import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.Shape;

import java.util.ArrayList;
import java.util.List;
import java.util.Random;
import java.util.zip.CRC32;

/**
 * A DJL working set larger than memory would allow: N arrays of M MiB, then reads (ops and element
 * reads) and in-place writes in random order, many times. Prints a digest of every result, so a run
 * with a HOST limit (tensors spilled and restored) can be compared bit for bit with one without.
 * Args: [arrays, default 64] [MiB each, default 4] [rounds, default 400].
 */
public final class SpillWorkload {
    private SpillWorkload() {
    }

    public static void main(String[] args) {
        int n = args.length > 0 ? Integer.parseInt(args[0]) : 64;
        int mib = args.length > 1 ? Integer.parseInt(args[1]) : 4;
        int rounds = args.length > 2 ? Integer.parseInt(args[2]) : 400;
        long elements = (long) mib * (1 << 20) / 4;
        Engine.getInstance().setRandomSeed(42);
        Random rnd = new Random(3);
        CRC32 digest = new CRC32();
        long t0 = System.nanoTime();
        try (NDManager manager = NDManager.newBaseManager()) {
            List<NDArray> arrays = new ArrayList<>();
            for (int i = 0; i < n; i++) {
                arrays.add(manager.randomUniform(0f, 1f, new Shape(elements)));
            }
            for (int r = 0; r < rounds; r++) {
                NDArray a = arrays.get(rnd.nextInt(n));
                switch (rnd.nextInt(4)) {
                    case 0: // a native op over the whole array
                        try (NDArray s = a.sum()) {
                            update(digest, s.getFloat());
                        }
                        break;
                    case 1: // an element read
                        update(digest, a.getFloat(rnd.nextInt((int) elements)));
                        break;
                    case 2: // an in-place write: the spilled bytes must carry it
                        a.addi(1f);
                        update(digest, a.getFloat(0));
                        break;
                    default: // an op with two arrays
                        NDArray b = arrays.get(rnd.nextInt(n));
                        try (NDArray c = a.mul(b); NDArray m = c.max()) {
                            update(digest, m.getFloat());
                        }
                }
            }
            for (NDArray a : arrays) {
                update(digest, a.getFloat(elements - 1));
            }
        }
        System.out.println("digest=" + Long.toHexString(digest.getValue()));
        System.out.println("run.ms=" + (System.nanoTime() - t0) / 1_000_000);
    }

    static void update(CRC32 digest, float f) {
        int bits = Float.floatToIntBits(f);
        digest.update(new byte[]{(byte) bits, (byte) (bits >> 8), (byte) (bits >> 16), (byte) (bits >> 24)});
    }
}
