package io.memgov.agent.djl;

/** The internal names and descriptors of DJL 0.36 (and of its helper) that the DJL rewrites use. */
final class DjlNames {
    static final String PT_NDARRAY = "ai/djl/pytorch/engine/PtNDArray";
    static final String PT_NDMANAGER = "ai/djl/pytorch/engine/PtNDManager";
    static final String JNI_UTILS = "ai/djl/pytorch/jni/JniUtils";
    static final String IVALUE = "ai/djl/pytorch/jni/IValue";
    static final String IVALUE_UTILS = "ai/djl/pytorch/jni/IValueUtils";
    static final String NDMANAGER = "ai/djl/ndarray/NDManager";
    static final String NDSERIALIZER = "ai/djl/ndarray/NDSerializer";
    /** The helper defined in DJL's class loader, which the rewritten code calls. */
    static final String HELPER = "ai/djl/pytorch/jni/MemgovDjl";

    static final String CTOR = "(Lai/djl/pytorch/engine/PtNDManager;J)V";
    static final String CTOR_BUFFER = "(Lai/djl/pytorch/engine/PtNDManager;JLjava/nio/ByteBuffer;)V";
    /** The view constructor PtNDArray gains ({@link PtNDArrayRewrite}), which JniUtils' view methods call. */
    static final String VIEW_CTOR = "(Lai/djl/pytorch/engine/PtNDManager;JLjava/lang/Object;Ljava/lang/Object;I)V";
    static final String INTERN = "(Lai/djl/ndarray/NDArray;)V";
    static final String ALLOCATE_DIRECT = "(I)Ljava/nio/ByteBuffer;";
    static final String SHAPE = "Lai/djl/ndarray/types/Shape;";
    static final String DATA_TYPE = "Lai/djl/ndarray/types/DataType;";
    static final String DEVICE = "Lai/djl/Device;";
    /** {@code MemgovDjl.ahead}: a factory's tensor admitted before libtorch makes it. */
    static final String AHEAD = "(" + SHAPE + DATA_TYPE + DEVICE + ")V";

    private DjlNames() {
    }
}
