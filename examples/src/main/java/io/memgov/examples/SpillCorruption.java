package io.memgov.examples;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.Shape;

import java.nio.file.Files;
import java.nio.file.Paths;
import java.util.ArrayList;
import java.util.List;

/**
 * For the corrupt-spill-file test: creates 8 arrays of 4 MiB, each filled with its index + 1, prints
 * "waiting" and waits until the file named by args[0] exists (meanwhile the test damages the spill
 * files), then reads every array. Prints "array i value v" for each good read and "array i error
 * MESSAGE" for each failed one; a wrong value is printed as "array i WRONG v".
 */
public final class SpillCorruption {
    private SpillCorruption() {
    }

    public static void main(String[] args) throws Exception {
        long elements = (4L << 20) / 4;
        try (NDManager manager = NDManager.newBaseManager()) {
            List<NDArray> arrays = new ArrayList<>();
            for (int i = 0; i < 8; i++) {
                arrays.add(manager.full(new Shape(elements), i + 1f));
            }
            System.out.println("waiting");
            System.out.flush();
            long deadline = System.currentTimeMillis() + 60_000;
            while (!Files.exists(Paths.get(args[0])) && System.currentTimeMillis() < deadline) {
                Thread.sleep(20);
            }
            for (int i = 0; i < arrays.size(); i++) {
                try {
                    float v = arrays.get(i).getFloat(elements / 2);
                    System.out.println("array " + i + (v == i + 1f ? " value " : " WRONG ") + v);
                } catch (RuntimeException e) {
                    System.out.println("array " + i + " error " + e.getMessage());
                }
            }
        }
        System.out.println("done");
    }
}
