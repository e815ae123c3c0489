package io.memgov.examples;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.DataType;
import ai.djl.ndarray.types.Shape;

import java.util.ArrayList;
import java.util.List;

/**
 * Makes 16 arrays of 4 MiB (four shapes and element types) and never reads their data: it only asks
 * each for its shape and type, after all were made. Under a HOST limit of 16 MiB the first ones are
 * spilled by then; their shape and type must come back right without restoring them.
 */
public final class SpilledShapes {
    private SpilledShapes() {
    }

    public static void main(String[] args) {
        Shape[] shapes = {new Shape(1024, 1024), new Shape(512, 1024), new Shape(2048, 512), new Shape(64, 64, 128)};
        DataType[] types = {DataType.FLOAT32, DataType.FLOAT64, DataType.INT32, DataType.INT64};
        try (NDManager manager = NDManager.newBaseManager()) {
            List<NDArray> arrays = new ArrayList<>();
            for (int i = 0; i < 16; i++) {
                arrays.add(manager.zeros(shapes[i % 4], types[i % 4]));
            }
            for (int i = 0; i < arrays.size(); i++) {
                NDArray a = arrays.get(i);
                System.out.println("array " + i + " shape=" + a.getShape() + " type=" + a.getDataType());
            }
        }
        System.out.println("shapes done");
    }
}
