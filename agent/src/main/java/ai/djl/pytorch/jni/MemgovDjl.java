package ai.djl.pytorch.jni;

import ai.djl.Device;
import ai.djl.ndarray.index.NDIndex;
import ai.djl.ndarray.index.dim.NDIndexAll;
import ai.djl.ndarray.index.dim.NDIndexElement;
import ai.djl.ndarray.index.dim.NDIndexFixed;
import ai.djl.ndarray.index.dim.NDIndexNull;
import ai.djl.ndarray.index.dim.NDIndexSlice;
import ai.djl.ndarray.types.DataType;
import ai.djl.ndarray.types.Shape;
import ai.djl.pytorch.engine.PtDeviceType;
import ai.djl.pytorch.engine.PtNDArray;
import ai.djl.pytorch.engine.PtNDManager;
import io.memgov.runtime.Described;
import io.memgov.runtime.Governed;
import io.memgov.runtime.Governor;
import io.memgov.runtime.MemoryGovernor;
import io.memgov.runtime.MemgovOutOfMemoryError;
import io.memgov.runtime.NativeLayout;
import io.memgov.runtime.config.LogLevel;
import io.memgov.runtime.Pins;
import io.memgov.runtime.Spillable;
import io.memgov.runtime.pool.BufferPool;
import io.memgov.runtime.spill.SpillBridge;
import io.memgov.runtime.spill.SpillException;
import io.memgov.runtime.spill.SpillFile;
import io.memgov.runtime.spill.SpillStore;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.util.concurrent.ConcurrentHashMap;

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

    private static final DataType[] TYPES = DataType.values();
    private static final int[] WIDTH;

    static {
        WIDTH = new int[TYPES.length];
        for (int i = 0; i < TYPES.length; i++) {
            WIDTH[i] = Math.max(1, TYPES[i].getNumOfBytes());
        }
    }

    /**
     * The handle of a spilled array: a Long of its own identity whose value, -1, is DJL's "no native
     * tensor" value, so that close() on a spilled array never deletes anything.
     */
    @SuppressWarnings({"deprecation", "removal", "UnnecessaryBoxing"})
    public static final Long SPILLED = new Long(-1L);
    /** Spill mode, fixed when the helper is defined: a HOST limit with on-limit=spill. */
    static final boolean SPILL = Governor.spillMode();
    /** Shape and dtype of spilled tensors, by record, to rebuild them. */
    static final ConcurrentHashMap<Object, long[]> SPILLED_SHAPES = new ConcurrentHashMap<>();
    /**
     * Zero-copy CPU tensors over a direct buffer that a decoder allocated for them and memgov now
     * owns (NDSerializer.decode, Model.load's path), by record: a spill frees the buffer.
     */
    static final ConcurrentHashMap<Object, ByteBuffer> OWNED = new ConcurrentHashMap<>();
    /** Offloaded GPU tensors, by record: the CPU copy's handle, dtype, device type and id. */
    static final ConcurrentHashMap<Object, long[]> OFFLOADED = new ConcurrentHashMap<>();

    static {
        if (SPILL) {
            Governor.registerSpillBridge(Governor.FW_DJL, new Bridge());
        }
    }

    private MemgovDjl() {
    }

    // ---------------------------------------------------------------- buffer pool

    /** The pooled buffer this thread's last {@link #allocateDirect} handed out, until a tensor adopts it. */
    static final class Pending {
        ByteBuffer block;
        long size;
        /** The reservation {@link #ahead} made for the factory in progress, until its tensor is counted. */
        Object ahead;
        long aheadBytes;
        /** Factories in progress on this thread (the outermost one reserves). */
        int factories;
    }

    static final ThreadLocal<Pending> PENDING = ThreadLocal.withInitial(Pending::new);

    /**
     * Replaces {@code manager.allocateDirect(bytes)} where DJL copies a buffer in and makes a tensor
     * over the copy: the same kind of buffer (direct, native order, position 0, limit and capacity
     * {@code bytes}), but a slice of a pooled block of {@code bytes}' size class. Not zeroed: both
     * callers overwrite all of it. The block is remembered until {@link #adopt} or {@link #rebound}
     * ties it to the tensor's storage; a block no tensor adopts is left to the GC.
     */
    public static ByteBuffer allocateDirect(PtNDManager manager, int bytes) {
        long size = BufferPool.classSize(bytes);
        if (size < 0 || size > Integer.MAX_VALUE || !Governor.poolEnabled()) {
            return manager.allocateDirect(bytes);
        }
        try {
            ByteBuffer block = (ByteBuffer) Governor.poolTake(Governor.POOL_DIRECT, size);
            if (block == null) {
                block = ByteBuffer.allocateDirect((int) size);
            }
            ByteBuffer slice = block.duplicate();
            slice.clear().limit(bytes);
            slice = slice.slice().order(ByteOrder.nativeOrder());
            Pending p = PENDING.get();
            p.block = block;
            p.size = size;
            return slice;
        } catch (Throwable t) {
            Governor.adviceError("PtNDManager.allocateDirect", t);
            return manager.allocateDirect(bytes);
        }
    }

    /**
     * After {@code JniUtils.createNdFromByteBuffer} over the buffer {@link #allocateDirect} returned:
     * the new tensor points into the pooled block, which goes back to the pool when the last array
     * over that storage is released.
     */
    public static void adopt(Object array) {
        Pending p = PENDING.get();
        ByteBuffer block = p.block;
        p.block = null;
        if (block == null) {
            return;
        }
        try {
            Object tracked = array instanceof Governed ? ((Governed) array).memgov$tracked() : null;
            // not attached: left to the GC
            if (Governor.poolAttach(tracked, Governor.POOL_DIRECT, block, p.size) && SPILL) {
                // memgov owns the buffer the tensor points into: a spill gives it back to the pool
                Governor.keep(tracked, array);
            }
        } catch (Throwable t) {
            Governor.adviceError("PtNDManager.create", t);
        }
    }

    /**
     * Spill mode, after {@code JniUtils.createNdFromByteBuffer} over a direct buffer handed to
     * {@code PtNDManager.create}: when a decoder allocated that buffer for this tensor and keeps no
     * other reference ({@link Governor#owned}), memgov owns it and the tensor may be spilled (the
     * spill frees the buffer). A buffer the application made stays the application's: its tensor
     * is never spilled, since the application may read or write the tensor through it.
     */
    public static void adoptOwned(Object array, Object data) {
        try {
            if (SPILL && Governor.takeOwned(data) && array instanceof Governed && data instanceof ByteBuffer
                    && !((PtNDArray) array).getDevice().isGpu()) {
                Object tracked = ((Governed) array).memgov$tracked();
                if (tracked != null && Governor.kept(tracked) == null) {
                    OWNED.put(tracked, (ByteBuffer) data);
                    Governor.keep(tracked, array);
                }
            }
        } catch (Throwable t) {
            Governor.adviceError("PtNDManager.create", t);
        }
    }

    /** PtNDArray's {@code dataRef} (the direct buffer a zero-copy tensor points into), or null. */
    static final java.lang.reflect.Field DATA_REF = dataRef();

    private static java.lang.reflect.Field dataRef() {
        try {
            java.lang.reflect.Field f = PtNDArray.class.getDeclaredField("dataRef");
            f.setAccessible(true);
            return f;
        } catch (Throwable t) {
            return null;
        }
    }

    /**
     * After a spill deleted a tensor: a zero-copy one's array drops its buffer, and the buffer memgov
     * owns goes back to the pool, or is freed (nothing points into it any more).
     */
    static void dropBuffer(Object array, Object record) {
        try {
            ByteBuffer own = OWNED.remove(record);
            if (DATA_REF != null && (own != null || Governor.pooledStorage(record))) {
                DATA_REF.set(array, null);
            }
            if (own != null) {
                io.memgov.runtime.pool.DirectBuffers.free(own);
            }
            Governor.poolRelease(record);
        } catch (Throwable t) {
            Governor.adviceError("PtNDArray spill (its buffer is left to the GC)", t);
        }
    }

    /**
     * After {@code JniUtils.set(array, buffer)}: a CPU tensor now points into {@code buffer} (libtorch
     * rebinds its storage; arrays made over the old storage before keep it). The array gets a record
     * of its own for the new storage, tied to the pooled block when {@code pooled}; its old record is
     * released (the old storage goes with its last array).
     */
    public static void rebound(Object array, boolean pooled) {
        ByteBuffer block = null;
        long size = 0;
        if (pooled) {
            Pending p = PENDING.get();
            block = p.block;
            size = p.size;
            p.block = null;
        }
        try {
            if (!(array instanceof Governed) || ((PtNDArray) array).getDevice().isGpu()) {
                return; // a GPU tensor copies the buffer in; the buffer is left to the GC
            }
            Governed g = (Governed) array;
            Object old = g.memgov$tracked();
            if (old == null) {
                return;
            }
            long bytes = ((io.memgov.runtime.Tracked) old).storageBytes();
            if (SPILL) {
                Governor.keep(old, null); // whatever still holds the old storage, it is not this array
            }
            g.memgov$tracked(null);
            Governor.release(old);
            Object fresh = Governor.allocate(Governor.FW_DJL, 0, 0, bytes);
            g.memgov$tracked(fresh);
            // a zero-copy storage: spilled only when it lives in memgov's pooled buffer
            if (block != null && Governor.poolAttach(fresh, Governor.POOL_DIRECT, block, size) && SPILL) {
                Governor.keep(fresh, array);
            }
        } catch (Throwable t) {
            Governor.adviceError("PtNDArray.set", t);
        }
    }

    /**
     * A JniUtils factory of a new CPU tensor of {@code shape} begins (uniform, zeros, ones, full...):
     * its bytes are admitted now, spilling, waiting or failing per {@code on-limit} before libtorch
     * allocates anything, so that the memory spills free is there for libtorch to reuse. Counted
     * after the allocation instead, a new tensor made the process hold the limit and the new tensor
     * at once (DJL's 64 arrays of 4 MiB under 16m: peak RSS over the floor grew by 27-32 MiB,
     * against the bound of 32). {@link #created} commits the reservation when the tensor has its
     * size; {@link #behind} gives back one the factory did not use.
     */
    public static void ahead(Shape shape, DataType type, Device device) {
        Pending p = PENDING.get();
        if (p.factories++ > 0) {
            return; // nested: the outermost factory's reservation stands
        }
        try {
            if (shape == null || type == null || device == null || device.isGpu()) {
                return;
            }
            long elements = shape.size();
            int width = type.getNumOfBytes();
            if (elements <= 0 || width <= 0) {
                return;
            }
            long bytes = elements * width;
            p.ahead = Governor.reserve(Governor.FW_DJL, 0, 0, bytes);
            p.aheadBytes = bytes;
        } catch (MemgovOutOfMemoryError e) {
            p.factories--; // behind() does not run: the factory ends here
            throw e;
        } catch (Throwable t) {
            Governor.adviceError("JniUtils factory (admitted when its tensor is made instead)", t);
        }
    }

    /** The factory {@link #ahead} began ends, normally or not: a reservation its tensor did not take is given back. */
    public static void behind() {
        Pending p = PENDING.get();
        if (--p.factories > 0) {
            return;
        }
        p.factories = 0;
        Object ahead = p.ahead;
        if (ahead != null) {
            p.ahead = null;
            Governor.cancel(ahead);
        }
    }

    /** A method of JniUtils, IValue or IValueUtils (the classes that call libtorch) begins. */
    public static void enter() {
        Pins.current().enter();
    }

    /** ...and ends, normally or not: when the outermost ends, its pins go. */
    public static void exit() {
        Pins.current().exit();
    }

    /**
     * {@code PtNDArray.getHandle()} in spill mode: inside a libtorch-calling method the array is
     * pinned (not spilled) until that method ends; a spilled array is restored first.
     */
    public static Object handle(Object array) {
        Spillable s = (Spillable) array;
        Object tracked = ((Governed) array).memgov$tracked();
        if (tracked != null) {
            Pins.current().pin(tracked);
            Governor.touch(tracked);
        }
        Object h = s.memgov$handle(); // read after the pin: a spill that began before it sees the pin
        if (h == null) {
            throw new IllegalStateException("Native resource has been release already.");
        }
        if (h == SPILLED) {
            h = restore(s, tracked);
        }
        return h;
    }

    /** Rebuilds a spilled array's tensor from its spill file, verified bit for bit. */
    static Object restore(Spillable array, Object tracked) {
        if (Governor.offloaded(tracked)) {
            return restoreToDevice(array, tracked);
        }
        if (!Governor.beginRestore(tracked)) {
            Object h = array.memgov$handle();
            if (h == SPILLED || h == null) {
                throw new IllegalStateException("memgov: tensor " + tracked + " is spilled and could not be restored");
            }
            return h;
        }
        return restoreBody(array, tracked);
    }

    /**
     * The restore itself, after {@code Governor.beginRestore} (or the prefetcher) marked the storage
     * RESTORING and admitted its bytes: a new CPU tensor, the file read into it and verified, the
     * array's handle set to it. Always ends with {@code Governor.endRestore}.
     */
    static Object restoreBody(Spillable array, Object tracked) {
        boolean ok = false;
        long handle = 0;
        ByteBuffer block = null;
        long size = 0;
        try {
            long[] shape = SPILLED_SHAPES.get(tracked); // sizes, requires-grad (0/1), dtype
            int dtype = (int) shape[shape.length - 1];
            boolean requiresGrad = shape[shape.length - 2] != 0;
            long[] dims = java.util.Arrays.copyOf(shape, shape.length - 2);
            long bytes = bytes(dims, dtype);
            int[] cpu = {PtDeviceType.toDeviceType(Device.cpu()), -1};
            size = bytes > 0 && DATA_REF != null && Governor.poolEnabled() ? BufferPool.classSize(bytes) : -1;
            if (size > 0 && size <= Integer.MAX_VALUE) {
                // into a pooled block (the one its victim's spill just gave back, when the classes
                // match: Governor.beginRestore), the tensor over it as DJL makes one over a buffer:
                // passes over a working set then reuse the same resident memory, where a new tensor
                // each restore left the C heap fragmented (posix_memalign) for trims to give back and
                // the next restores to fault in again
                block = (ByteBuffer) Governor.poolTake(Governor.POOL_DIRECT, size);
                if (block == null) {
                    block = ByteBuffer.allocateDirect((int) size);
                }
                ByteBuffer data = block.duplicate();
                data.clear().limit((int) bytes);
                data = data.slice().order(ByteOrder.nativeOrder());
                Governor.readSpill(tracked, data);
                data.rewind();
                // a parameter comes back as a leaf that requires gradients, as it was (its gradient was
                // undefined when it was spilled: see Bridge#gradientFree)
                handle = PyTorchLibrary.LIB.torchFromBlob(data, dims, dtype, 0, cpu, requiresGrad);
                DATA_REF.set(array, data); // as DJL's own tensors over a buffer: the array holds it
            } else {
                handle = PyTorchLibrary.LIB.torchEmpty(dims, dtype, 0, cpu, requiresGrad);
                if (bytes(handle) > 0) {
                    ByteBuffer memory = PyTorchLibrary.LIB.torchDirectByteBuffer(handle);
                    Governor.readSpill(tracked, memory);
                }
            }
            if (!array.memgov$casHandle(SPILLED, handle)) {
                throw new IllegalStateException("memgov: the handle of spilled tensor " + tracked + " changed while it was restored");
            }
            SPILLED_SHAPES.remove(tracked);
            if (block != null && !Governor.poolAttach(tracked, Governor.POOL_DIRECT, block, size)) {
                block = null; // not attached (pooling turned off meanwhile): the block goes with the array, to the GC
            }
            ok = true;
            return handle;
        } catch (SpillException | IllegalAccessException e) {
            throw new IllegalStateException(e.getMessage(), e);
        } finally {
            if (!ok) {
                if (handle != 0) {
                    PyTorchLibrary.LIB.torchDeleteTensor(handle);
                }
                if (block != null) {
                    try {
                        DATA_REF.set(array, null);
                    } catch (IllegalAccessException e) {
                        // accessible since dataRef() made it so
                    }
                    Governor.poolGive(Governor.POOL_DIRECT, block, size);
                }
            }
            Governor.endRestore(tracked, ok);
        }
    }

    /**
     * Moves an offloaded GPU tensor back to its device. Written for GPU machines; this project's CI
     * has no GPU, so this path is exercised only by the runtime's policy tests over a fake bridge.
     */
    static Object restoreToDevice(Spillable array, Object tracked) {
        if (!Governor.beginRestore(tracked)) {
            Object h = array.memgov$handle();
            if (h == SPILLED || h == null) {
                throw new IllegalStateException("memgov: tensor " + tracked + " is offloaded and could not be restored");
            }
            return h;
        }
        boolean ok = false;
        try {
            long[] saved = OFFLOADED.get(tracked); // host handle, dtype, device type, device id
            long handle = PyTorchLibrary.LIB.torchTo(saved[0], (int) saved[1], new int[]{(int) saved[2], (int) saved[3]});
            if (!array.memgov$casHandle(SPILLED, handle)) {
                PyTorchLibrary.LIB.torchDeleteTensor(handle);
                throw new IllegalStateException("memgov: the handle of offloaded tensor " + tracked + " changed while it was restored");
            }
            OFFLOADED.remove(tracked);
            PyTorchLibrary.LIB.torchDeleteTensor(saved[0]);
            ok = true;
            return handle;
        } finally {
            Governor.endRestore(tracked, ok);
        }
    }

    /**
     * Spills DJL tensors: CPU, contiguous, with no views, not in use; a tensor that requires
     * gradients (a model's parameter) only while no autograd graph can hold it ({@link #gradientFree}).
     */
    static final class Bridge implements SpillBridge {
        @Override
        public int restorePoolKind() {
            return Governor.POOL_DIRECT; // a restore's memory: a pooled direct block (restoreBody)
        }

        /** The prefetch thread: the same restore a use would do (a new tensor, the file read and verified). */
        @Override
        public boolean restoreAhead(Object tensor, Object record) {
            if (!(tensor instanceof Spillable) || !SPILLED_SHAPES.containsKey(record)) {
                return false;
            }
            restoreBody((Spillable) tensor, record);
            return true;
        }

        /**
         * DJL 0.36's {@code PtGradientCollector.isCollecting}: true while a GradientCollector is open
         * (DJL allows one at a time, process-wide), or null when it cannot be read: then tensors that
         * require gradients are never spilled.
         */
        static final java.util.concurrent.atomic.AtomicBoolean COLLECTING = collecting();

        private static java.util.concurrent.atomic.AtomicBoolean collecting() {
            try {
                java.lang.reflect.Field f = ai.djl.pytorch.engine.PtGradientCollector.class.getDeclaredField("isCollecting");
                f.setAccessible(true);
                return (java.util.concurrent.atomic.AtomicBoolean) f.get(null);
            } catch (Throwable t) {
                Governor.adviceError("PtGradientCollector.isCollecting (tensors that require gradients are not spilled)", t);
                return null;
            }
        }

        /**
         * A tensor that requires gradients may be spilled when no GradientCollector is open (so no
         * autograd graph being recorded can hold the old tensor and accumulate into it after the
         * restore) and its gradient is undefined (libtorch keeps it on the tensor, and the JNI has no
         * call to put one back on the restored tensor): an inference model's parameters, and a
         * training model's before its first backward pass.
         */
        static boolean gradientFree(long h) {
            if (COLLECTING == null || COLLECTING.get()) {
                return false;
            }
            long grad = PyTorchLibrary.LIB.torchGrad(h);
            if (grad != 0) {
                PyTorchLibrary.LIB.torchDeleteTensor(grad);
                return false;
            }
            return !COLLECTING.get();
        }

        /** DEVICE→HOST: the GPU tensor is copied to a CPU tensor kept aside; its next use copies it back. */
        @Override
        public boolean offload(Object tensor, Object record) {
            Spillable array = (Spillable) tensor;
            Object old = array.memgov$swapHandle(SPILLED);
            if (!(old instanceof Long) || old == SPILLED || (Long) old == -1L) {
                array.memgov$casHandle(SPILLED, old);
                return false;
            }
            boolean done = false;
            try {
                long h = (Long) old;
                if (Governor.inUse(record) || PyTorchLibrary.LIB.torchRequiresGrad(h)) {
                    return false;
                }
                int dtype = PyTorchLibrary.LIB.torchDType(h);
                ((Described) tensor).memgov$describe(PyTorchLibrary.LIB.torchSizes(h), dtype); // as a spill does
                int[] device = PyTorchLibrary.LIB.torchDevice(h);
                long host = PyTorchLibrary.LIB.torchTo(h, dtype, new int[]{PtDeviceType.toDeviceType(Device.cpu()), -1});
                OFFLOADED.put(record, new long[]{host, dtype, device[0], device[1]});
                PyTorchLibrary.LIB.torchDeleteTensor(h);
                done = true;
                return true;
            } finally {
                if (!done) {
                    array.memgov$casHandle(SPILLED, old);
                }
            }
        }

        @Override
        public SpillFile spill(Object tensor, Object record, long id, SpillStore store) throws SpillException {
            Spillable array = (Spillable) tensor;
            Object old = array.memgov$swapHandle(SPILLED); // new uses now go to restore and wait for us
            if (!(old instanceof Long) || old == SPILLED || (Long) old == -1L) {
                array.memgov$casHandle(SPILLED, old);
                return null;
            }
            boolean done = false;
            try {
                long h = (Long) old;
                if (Governor.inUse(record) || !PyTorchLibrary.LIB.torchIsContiguous(h)) {
                    return null;
                }
                boolean requiresGrad = PyTorchLibrary.LIB.torchRequiresGrad(h);
                if (requiresGrad && !gradientFree(h)) {
                    return null;
                }
                long[] dims = PyTorchLibrary.LIB.torchSizes(h);
                int dtype = PyTorchLibrary.LIB.torchDType(h);
                // a spilled array answers getShape() and getDataType() from these, without a restore
                ((Described) tensor).memgov$describe(dims, dtype);
                long[] shape = java.util.Arrays.copyOf(dims, dims.length + 2);
                shape[dims.length] = requiresGrad ? 1 : 0;
                shape[dims.length + 1] = dtype;
                ByteBuffer data = bytes(dims, dtype) > 0 ? PyTorchLibrary.LIB.torchDirectByteBuffer(h) : ByteBuffer.allocate(0);
                SpillFile file = store.write(id, data);
                SPILLED_SHAPES.put(record, shape);
                PyTorchLibrary.LIB.torchDeleteTensor(h);
                done = true;
                dropBuffer(tensor, record); // a zero-copy tensor's buffer (it gets memory of its own back)
                return file;
            } finally {
                if (!done) {
                    array.memgov$casHandle(SPILLED, old);
                }
            }
        }
    }

    /** PtNDArray.getShape()'s first call: from the sizes read when the array was counted, else libtorch. */
    public static Shape shape(PtNDArray array) {
        long[] sizes = ((Object) array) instanceof Described ? ((Described) (Object) array).memgov$sizes() : null;
        return sizes != null ? new Shape(sizes) : JniUtils.getShape(array);
    }

    /** PtNDArray.getDataType()'s first call: from the type read when the array was counted, else libtorch. */
    public static DataType dataType(PtNDArray array) {
        int dtype = ((Object) array) instanceof Described ? ((Described) (Object) array).memgov$dataType() : -1;
        return dtype >= 0 && dtype < TYPES.length ? TYPES[dtype] : JniUtils.getDataType(array);
    }

    /**
     * Where libtorch's TensorImpl keeps its element count and type, learned once from tensors memgov
     * makes for it ({@link NativeLayout}), or null: then every tensor is sized with two JNI calls.
     * In spill mode too: a spill leaves the sizes and type it reads on the array ({@link Bridge#spill}),
     * so a spilled array answers getShape() without a restore.
     */
    static final class Layout {
        /**
         * Tensor shapes whose element counts differ from each of their dimensions and from each other;
         * at most 56 KiB (7001 int64s), under glibc's 128 KiB mmap threshold: freeing an mmapped block
         * would raise that threshold (and the trim threshold with it) for the whole process.
         */
        static final long[][] SHAPES = {{3, 1237}, {5, 7, 11}, {2, 3, 4, 5}, {7001}, {0, 9}};
        /**
         * The types sampled: those DJL 0.36's JNI makes and reads back as themselves. (Its JNI
         * terminates the JVM when asked for BFLOAT16, the unsigned types wider than a byte or INT16,
         * and reads COMPLEX64 back as FLOAT32; tensors of any other type are sized by JNI.)
         */
        static final DataType[] SAMPLE_TYPES = {DataType.FLOAT32, DataType.FLOAT64, DataType.FLOAT16, DataType.UINT8,
            DataType.INT32, DataType.INT8, DataType.INT64, DataType.BOOLEAN};
        /** How far into a TensorImpl to search, in bytes. */
        static final int SPAN = 512;
        /** Learned on the first tensor memgov counts (libtorch is loaded by then), after the constants above. */
        static final NativeLayout LAYOUT = learn();

        private static NativeLayout learn() {
            long t0 = System.nanoTime();
            String outcome;
            NativeLayout layout = null;
            java.util.List<Long> made = new java.util.ArrayList<>();
            try {
                if (!NativeLayout.readable()) {
                    outcome = "sun.misc.Unsafe is not available";
                } else {
                    int max = SAMPLE_TYPES.length * SHAPES.length;
                    long[] structs = new long[max];
                    long[] counts = new long[max];
                    int[] types = new int[max];
                    int[] widths = new int[max];
                    int k = 0;
                    int[] device = {PtDeviceType.toDeviceType(Device.cpu()), Device.cpu().getDeviceId()};
                    for (DataType type : SAMPLE_TYPES) {
                        for (long[] shape : SHAPES) {
                            long h;
                            try {
                                h = PyTorchLibrary.LIB.torchEmpty(shape, type.ordinal(), 0, device, false);
                            } catch (RuntimeException notSupported) {
                                break; // this build of libtorch has no such type: not sized by the layout
                            }
                            made.add(h);
                            long[] sizes = PyTorchLibrary.LIB.torchSizes(h);
                            int dtype = PyTorchLibrary.LIB.torchDType(h);
                            if (dtype != type.ordinal()) {
                                break; // DJL reads the type back as another (complex64 as float32): left to JNI
                            }
                            if (!java.util.Arrays.equals(sizes, shape)) {
                                throw new IllegalStateException("libtorch reports " + java.util.Arrays.toString(sizes)
                                        + " of type " + dtype + " for " + java.util.Arrays.toString(shape) + " of " + type);
                            }
                            structs[k] = NativeLayout.word(h);
                            counts[k] = new Shape(shape).size();
                            types[k] = dtype;
                            widths[k] = WIDTH[dtype];
                            k++;
                        }
                    }
                    structs = java.util.Arrays.copyOf(structs, k);
                    layout = NativeLayout.learn(structs, java.util.Arrays.copyOf(counts, k), java.util.Arrays.copyOf(types, k),
                            java.util.Arrays.copyOf(widths, k), SPAN);
                    outcome = layout == null ? "no single place for the count and the type in " + k + " sample tensors" : null;
                    if (layout != null) {
                        // and it reads back every sample
                        for (int i = 0; i < k; i++) {
                            if (layout.bytes(structs[i]) != counts[i] * widths[i]) {
                                outcome = "the learned layout misreads sample " + i;
                                layout = null;
                                break;
                            }
                        }
                    }
                }
            } catch (Throwable t) {
                outcome = "learning failed: " + t;
                layout = null;
            } finally {
                for (long h : made) {
                    try {
                        PyTorchLibrary.LIB.torchDeleteTensor(h);
                    } catch (Throwable ignored) {
                        // a sample that cannot be deleted is a few bytes left behind
                    }
                }
            }
            return logged(layout, outcome, (System.nanoTime() - t0) / 1000);
        }

        /** One {@code sizing} line: how DJL tensors are sized from now on, and why not by layout. */
        private static NativeLayout logged(NativeLayout layout, String whyNot, long micros) {
            MemoryGovernor g = Governor.current();
            if (g != null) {
                if (layout != null) {
                    g.log().emit(LogLevel.INFO, "sizing", "framework", "djl", "method", "layout",
                            "count.offset", layout.countOffset(), "type.offset", layout.typeOffset(), "types", layout.types(),
                            "micros", micros);
                } else {
                    g.log().emit(LogLevel.INFO, "sizing", "framework", "djl", "method", "jni", "reason", whyNot,
                            "micros", micros);
                }
            }
            return layout;
        }
    }

    /** Bytes of the tensor behind {@code handle}: elements times element width. */
    public static long bytes(long handle) {
        return bytes(PyTorchLibrary.LIB.torchSizes(handle), PyTorchLibrary.LIB.torchDType(handle));
    }

    /** Bytes of a tensor of these sizes and DJL type: elements times element width. */
    static long bytes(long[] sizes, int dtype) {
        long n = 1;
        for (long d : sizes) {
            n *= d;
        }
        return n * (dtype >= 0 && dtype < WIDTH.length ? WIDTH[dtype] : 1);
    }

    /**
     * End of the {@code PtNDArray(PtNDManager, long[, ByteBuffer])} constructors. When the tensor
     * cannot be admitted under its tier's limit it is closed (its native memory freed) and the
     * constructor throws memgov's OutOfMemoryError.
     */
    public static void created(Object array, Object manager, long handle, boolean zeroCopy) {
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
                NativeLayout layout = Layout.LAYOUT;
                long bytes = layout == null || !NativeLayout.pointer(handle) ? -1 : layout.bytes(NativeLayout.word(handle));
                if (bytes < 0) {
                    long[] sizes = PyTorchLibrary.LIB.torchSizes(handle);
                    int dtype = PyTorchLibrary.LIB.torchDType(handle);
                    bytes = bytes(sizes, dtype);
                    // what DJL would ask libtorch for on the array's first getShape()/getDataType()
                    ((Described) array).memgov$describe(sizes, dtype);
                }
                Device device = ((PtNDManager) manager).getDevice();
                if (device.isGpu()) {
                    tracked = Governor.allocate(Governor.FW_DJL, 1, device.getDeviceId(), bytes);
                } else {
                    Pending p = PENDING.get();
                    Object ahead = p.ahead;
                    if (ahead != null && p.aheadBytes == bytes) { // a factory's tensor, admitted by ahead()
                        p.ahead = null;
                        tracked = Governor.commit(ahead);
                    } else {
                        tracked = Governor.allocate(Governor.FW_DJL, 0, 0, bytes);
                    }
                }
            }
            ((Governed) array).memgov$tracked(tracked);
            if (SPILL && !zeroCopy && parent == null) {
                Governor.keep(tracked, array); // a zero-copy tensor lives in a Java buffer: never spilled
            }
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
                // only a spilled or offloaded storage has entries to drop (and, once closed, a
                // resident one can no longer start a spill: its handle is gone)
                boolean away = SPILL && Governor.away(tracked);
                if (SPILL && !OWNED.isEmpty()) {
                    OWNED.remove(tracked); // its buffer goes with the array, to the GC
                }
                Governor.release(tracked);
                if (away) {
                    SPILLED_SHAPES.remove(tracked);
                    long[] offloaded = OFFLOADED.remove(tracked);
                    if (offloaded != null) {
                        PyTorchLibrary.LIB.torchDeleteTensor(offloaded[0]); // the CPU copy of a closed GPU tensor
                    }
                }
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
            if (SPILL && replaced instanceof Spillable) {
                // intern reads both handles directly: make both resident, pinned until intern returns
                ((PtNDArray) array).getHandle();
                ((PtNDArray) replaced).getHandle();
            }
            if (replaced instanceof Governed) {
                Governed mine = (Governed) array;
                Governed other = (Governed) replaced;
                // the array takes over replaced's tensor: its cached shape and type no longer hold
                ((Described) array).memgov$describe(null, -1);
                Object theirs = other.memgov$tracked();
                Object own = mine.memgov$tracked();
                other.memgov$tracked(own);
                mine.memgov$tracked(theirs);
                if (SPILL) {
                    Governor.rekeep(theirs, array);  // the storage array now holds
                    Governor.rekeep(own, replaced);   // the storage replaced.close() is about to free
                }
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
