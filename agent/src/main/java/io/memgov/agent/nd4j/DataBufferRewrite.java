package io.memgov.agent.nd4j;

import io.memgov.agent.asm.Rewrites;
import io.memgov.agent.asm.TypeRewrite;

import java.util.Set;

import static io.memgov.agent.nd4j.Nd4jNames.BASE_BUFFER;
import static io.memgov.agent.nd4j.Nd4jNames.LONG_BUFFER;

/**
 * Spill mode, {@code BaseDataBuffer} and {@code LongBuffer} ({@code BaseCpuDataBuffer}'s superclass
 * and the subclass whose own code reads a buffer's memory fields): every method is passed through
 * {@link MemoryGuards#guardMemory}.
 */
final class DataBufferRewrite implements TypeRewrite {
    private final String type;
    private final boolean spillMode;

    private DataBufferRewrite(String type, boolean spillMode) {
        this.type = type;
        this.spillMode = spillMode;
    }

    static DataBufferRewrite baseDataBuffer(boolean spillMode) {
        return new DataBufferRewrite(BASE_BUFFER, spillMode);
    }

    static DataBufferRewrite longBuffer(boolean spillMode) {
        return new DataBufferRewrite(LONG_BUFFER, spillMode);
    }

    @Override
    public String type() {
        return type;
    }

    @Override
    public boolean applies() {
        return spillMode;
    }

    @Override
    public byte[] rewrite(byte[] bytes) {
        return Rewrites.rewrite(bytes, writer -> {
            Set<String> touching = MemoryGuards.touchingMemory(bytes);
            return Rewrites.methods(writer, (access, name, desc, mv) ->
                    MemoryGuards.guardMemory(mv, access, name, desc, type, touching));
        });
    }
}
