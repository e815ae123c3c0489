package ai.djl.pytorch.jni;

import ai.djl.Device;
import ai.djl.ndarray.index.NDIndex;
import ai.djl.ndarray.index.dim.NDIndexAll;
import ai.djl.ndarray.index.dim.NDIndexElement;
import ai.djl.ndarray.index.dim.NDIndexFixed;
import ai.djl.ndarray.index.dim.NDIndexNull;
import ai.djl.ndarray.index.dim.NDIndexSlice;
import ai.djl.ndarray.types.DataType;
import ai.djl.pytorch.engine.PtNDArray;
import ai.djl.pytorch.engine.PtNDManager;
import io.memgov.runtime.Governed;
import io.memgov.runtime.Governor;
import io.memgov.runtime.MemgovOutOfMemoryError;

/**
 * The half of memgov's DJL bridge that lives inside DJL: memgov defines this class in the class
 * loader that defines DJL's PyTorch engine, in DJL's own package, so that it may make the two cheap
 * JNI calls that size a tensor (sizes and dtype) without DJL's Shape/DataType/Device objects. The
 * rewritten DJL classes call its static methods; every method catches its own Throwables.
 *
 * <p>It is never a class of the agent jar: the build stores its bytes as a resource.
 */
public final class MemgovDjl {
    /** Kinds of JniUtils methods whose result may share the storage of their first argument. */
    public static final int ALWAYS = 0;
    public static final int IF_CONTIGUOUS = 1;
    public static final int IF_SAME_TYPE = 2;
    public static final int IF_BASIC_INDEX = 3;

    private static final int[] WIDTH;

    static {
        DataType[] types = DataType.values();
        WIDTH = new int[types.length];
        for (int i = 0; i < types.length; i++) {
            WIDTH[i] = Math.max(1, types[i].getNumOfBytes());
        }
    }

    private MemgovDjl() {
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

    /**
     * End of the {@code PtNDArray(PtNDManager, long[, ByteBuffer])} constructors. When the tensor
     * cannot be admitted under its tier's limit it is closed (its native memory freed) and the
     * constructor throws memgov's OutOfMemoryError.
     */
    public static void created(Object array, Object manager, long handle) {
        if (handle == -1L) {
            return; // a string tensor: no native memory
        }
        MemgovOutOfMemoryError refused = null;
        try {
            Object tracked;
            Object parent = Governor.takeView(handle);
            if (parent != null) {
                tracked = Governor.share(parent);
            } else {
                Device device = ((PtNDManager) manager).getDevice();
                if (device.isGpu()) {
                    tracked = Governor.allocate(Governor.FW_DJL, 1, device.getDeviceId(), bytes(handle));
                } else {
                    tracked = Governor.allocate(Governor.FW_DJL, 0, 0, bytes(handle));
                }
            }
            ((Governed) array).memgov$tracked(tracked);
        } catch (MemgovOutOfMemoryError e) {
            refused = e;
        } catch (Throwable t) {
            Governor.adviceError("PtNDArray.<init>", t);
        }
        if (refused != null) {
            try {
                ((PtNDArray) array).close();
            } catch (Throwable ignored) {
                // the error below says what happened
            }
            throw refused;
        }
    }

    /** End of {@code PtNDArray.close()}: the handle was dropped; the storage goes with its last array. */
    public static void closed(Object array) {
        try {
            Governed g = (Governed) array;
            Object tracked = g.memgov$tracked();
            if (tracked != null) {
                g.memgov$tracked(null);
                Governor.release(tracked);
            }
        } catch (Throwable t) {
            Governor.adviceError("PtNDArray.close", t);
        }
    }

    /**
     * Start of {@code PtNDArray.intern(NDArray replaced)}: this array takes over {@code replaced}'s
     * handle and deletes its own, then closes {@code replaced}; swapping the records first makes that
     * close release the deleted storage.
     */
    public static void interned(Object array, Object replaced) {
        try {
            if (replaced instanceof Governed) {
                Governed mine = (Governed) array;
                Governed other = (Governed) replaced;
                Object theirs = other.memgov$tracked();
                other.memgov$tracked(mine.memgov$tracked());
                mine.memgov$tracked(theirs);
            }
        } catch (Throwable t) {
            Governor.adviceError("PtNDArray.intern", t);
        }
    }

    /**
     * Called by memgov's view constructor of PtNDArray, which JniUtils' view methods call instead of
     * {@code PtNDArray(PtNDManager, long)}: when the new tensor shares {@code source}'s storage, the
     * constructor's {@link #created} counts it as a view. Returns {@code handle} unchanged.
     */
    public static long view(long handle, Object source, Object extra, int kind) {
        try {
            boolean shares;
            switch (kind) {
                case IF_CONTIGUOUS:
                    shares = PyTorchLibrary.LIB.torchIsContiguous(((PtNDArray) source).getHandle());
                    break;
                case IF_SAME_TYPE:
                    shares = PyTorchLibrary.LIB.torchDType(handle)
                            == PyTorchLibrary.LIB.torchDType(((PtNDArray) source).getHandle())
                            && java.util.Arrays.equals(PyTorchLibrary.LIB.torchDevice(handle),
                            PyTorchLibrary.LIB.torchDevice(((PtNDArray) source).getHandle()));
                    break;
                case IF_BASIC_INDEX:
                    shares = extra instanceof NDIndex && basicIndex((NDIndex) extra);
                    break;
                default:
                    shares = true;
            }
            if (shares) {
                Governor.expectView(handle, source instanceof Governed ? ((Governed) source).memgov$tracked() : null);
            }
        } catch (Throwable t) {
            Governor.adviceError("JniUtils view", t);
        }
        return handle;
    }

    /** True when indexing with {@code index} returns a view (basic indexing: fixed, slice, all, none). */
    static boolean basicIndex(NDIndex index) {
        for (NDIndexElement e : index.getIndices()) {
            if (!(e instanceof NDIndexAll || e instanceof NDIndexFixed || e instanceof NDIndexSlice
                    || e instanceof NDIndexNull)) {
                return false;
            }
        }
        return true;
    }
}
