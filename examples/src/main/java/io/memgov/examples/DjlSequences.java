package io.memgov.examples;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDList;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.index.NDIndex;
import ai.djl.ndarray.types.DataType;
import ai.djl.ndarray.types.Shape;

/**
 * Known DJL allocation sequences: creations of several dtypes, ops, views, closes, intern,
 * sub-managers and scopes, with the host bytes the program holds at each checkpoint.
 */
public final class DjlSequences {
    private DjlSequences() {
    }

    public static void main(String[] args) {
        long f32 = 4;
        try (NDManager root = NDManager.newBaseManager()) {
            Checkpoints.mark("empty", 0);

            NDArray a = root.ones(new Shape(1000), DataType.FLOAT32);          // 4000
            NDArray b = root.zeros(new Shape(250, 4), DataType.FLOAT64);      // 8000
            NDArray c = root.arange(0, 1000, 1, DataType.INT64);               // 8000
            NDArray d = root.create(new float[500]);                           // 2000 (zero-copy direct buffer)
            NDArray e = root.create(new int[]{1, 2, 3});                       // 12
            long held = 1000 * f32 + 8000 + 8000 + 2000 + 12;
            Checkpoints.mark("created", held);

            NDArray sum = a.add(a);                                            // +4000
            NDArray prod = b.mul(b);                                           // +8000
            held += 4000 + 8000;
            Checkpoints.mark("ops", held);

            // views share storage: nothing new
            NDArray r = a.reshape(10, 100);
            NDArray t = r.transpose();
            NDArray s = a.get(new NDIndex("10:20"));
            NDArray ex = r.expandDims(0);
            NDArray sq = ex.squeeze(0);
            NDList parts = a.split(4);
            Checkpoints.mark("views", held);

            // the storage stays while a view is alive, and goes with its last array
            a.close();
            Checkpoints.mark("base-closed-views-alive", held);
            r.close();
            t.close();
            s.close();
            ex.close();
            sq.close();
            parts.close();
            held -= 4000;
            Checkpoints.mark("views-closed", held);

            // an advanced index is a copy
            NDArray idx = root.create(new long[]{1, 5, 7});                    // 24
            NDArray picked = c.get(idx);                                       // a copy: 24
            held += 24 + 24;
            Checkpoints.mark("copy-index", held);
            picked.close();
            idx.close();
            held -= 24 + 24;

            // intern: sum takes prod's storage, its own is freed
            sum.intern(prod);
            held -= 4000;
            if (!sum.getShape().equals(new Shape(250, 4)) || sum.getDataType() != DataType.FLOAT64) {
                throw new IllegalStateException("after intern the array must describe its new tensor: "
                        + sum.getShape() + " " + sum.getDataType());
            }
            Checkpoints.mark("intern", held);

            // a sub-manager cascades on close
            try (NDManager sub = root.newSubManager()) {
                NDArray x = sub.ones(new Shape(64, 64));                        // 16384
                NDArray y = x.matMul(x);                                        // 16384
                NDArray z = y.toType(DataType.FLOAT64, false);                  // 32768
                Checkpoints.mark("sub-manager", held + 16384 * 2 + 32768);
            }
            Checkpoints.mark("sub-manager-closed", held);

            // a scope closes what was created inside it
            try (ai.djl.ndarray.NDScope scope = new ai.djl.ndarray.NDScope()) {
                NDArray u = root.randomUniform(0, 1, new Shape(128));           // 512
                NDArray v = u.exp();                                            // 512
                Checkpoints.mark("scope", held + 1024);
            }
            Checkpoints.mark("scope-closed", held);

            // every element type DJL's PyTorch engine makes, at its own width
            try (NDManager typed = root.newSubManager()) {
                Shape shape = new Shape(7, 11);                                 // 77 elements
                long bytes = 0;
                for (DataType type : new DataType[]{DataType.FLOAT32, DataType.FLOAT64, DataType.FLOAT16,
                    DataType.UINT8, DataType.INT32, DataType.INT8, DataType.INT64, DataType.BOOLEAN}) {
                    typed.zeros(shape, type);
                    bytes += 77L * type.getNumOfBytes();                        // 4+8+2+1+4+1+8+1 = 29 bytes an element
                }
                Checkpoints.mark("types", held + bytes);
            }
            Checkpoints.mark("types-closed", held);

            b.close();
            c.close();
            d.close();
            e.close();
            sum.close();
            prod.close();
            Checkpoints.mark("all-closed", 0);
        }
        Checkpoints.mark("manager-closed", 0);
        System.out.println("done");
    }
}
