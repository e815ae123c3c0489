package io.memgov.agent.nd4j;

/** The internal names and descriptors of ND4J 1.0.0-M2.1 (and of its helper) that the ND4J rewrites use. */
final class Nd4jNames {
    static final String ODB = "org/nd4j/nativeblas/OpaqueDataBuffer";
    static final String DEALLOCATOR = "org/nd4j/linalg/cpu/nativecpu/buffer/CpuDeallocator";
    static final String CPU_BUFFER = "org/nd4j/linalg/cpu/nativecpu/buffer/BaseCpuDataBuffer";
    static final String BASE_BUFFER = "org/nd4j/linalg/api/buffer/BaseDataBuffer";
    static final String LONG_BUFFER = "org/nd4j/linalg/cpu/nativecpu/buffer/LongBuffer";
    static final String MEMORY_MANAGER = "org/nd4j/linalg/cpu/nativecpu/CpuMemoryManager";
    static final String WORKSPACE = "org/nd4j/linalg/cpu/nativecpu/workspace/CpuWorkspace";
    static final String NATIVE_OPS = "org/nd4j/nativeblas/NativeOps";
    /** The helper defined in ND4J's class loader, which the rewritten code calls. */
    static final String HELPER = "org/nd4j/nativeblas/MemgovNd4j";
    static final String ALLOCATE = "(JLorg/nd4j/linalg/api/buffer/DataType;Z)L" + ODB + ";";
    static final String POINTER = "Lorg/bytedeco/javacpp/Pointer;";

    private Nd4jNames() {
    }
}
