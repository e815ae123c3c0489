package ai.djl.pytorch.jni;

import ai.djl.ndarray.index.NDIndex;
import ai.djl.ndarray.index.dim.NDIndexAll;
import ai.djl.ndarray.index.dim.NDIndexElement;
import ai.djl.ndarray.index.dim.NDIndexFixed;
import ai.djl.ndarray.index.dim.NDIndexNull;
import ai.djl.ndarray.index.dim.NDIndexSlice;
import ai.djl.ndarray.types.DataType;

/**
 * Injected by memgov into the class loader that defines DJL's PyTorch engine, in DJL's own package,
 * so that advice can make the two cheap JNI calls that size a tensor (sizes and dtype) without
 * DJL's Shape/DataType/Device objects. It is never a class of the agent jar: the build stores its
 * bytes as a resource.
 */
public final class MemgovPtProbe {
    private static final int[] WIDTH;

    static {
        DataType[] types = DataType.values();
        WIDTH = new int[types.length];
        for (int i = 0; i < types.length; i++) {
            WIDTH[i] = Math.max(1, types[i].getNumOfBytes());
        }
    }

    private MemgovPtProbe() {
    }

    /** Bytes of the tensor behind {@code handle}: elements times element width. */
    public static long bytes(long handle) {
        long[] sizes = PyTorchLibrary.LIB.torchSizes(handle);
        long n = 1;
        for (long d : sizes) {
            n *= d;
        }
        int dtype = PyTorchLibrary.LIB.torchDType(handle);
        return n * (dtype >= 0 && dtype < WIDTH.length ? WIDTH[dtype] : 1);
    }

    public static boolean contiguous(long handle) {
        return PyTorchLibrary.LIB.torchIsContiguous(handle);
    }

    /** True when indexing with {@code index} returns a view (basic indexing: fixed, slice, all, none). */
    public static boolean basicIndex(NDIndex index) {
        for (NDIndexElement e : index.getIndices()) {
            if (!(e instanceof NDIndexAll || e instanceof NDIndexFixed || e instanceof NDIndexSlice
                    || e instanceof NDIndexNull)) {
                return false;
            }
        }
        return true;
    }
}
