package io.memgov.agent.djl;

import io.memgov.agent.asm.Rewrites;
import io.memgov.agent.asm.TypeRewrite;

import static io.memgov.agent.djl.DjlNames.PT_NDMANAGER;

/**
 * {@code PtNDManager.create(Buffer, Shape, DataType)} ({@link PoolCalls}): its copy of a non-direct
 * input goes into a pooled buffer; in spill mode, a tensor made over a direct input is told of it
 * ({@code MemgovDjl.adoptOwned}). Rewritten in pool mode or spill mode.
 */
final class PtNDManagerRewrite implements TypeRewrite {
    static final String CREATE_BUFFER = "(Ljava/nio/Buffer;Lai/djl/ndarray/types/Shape;Lai/djl/ndarray/types/DataType;)L"
            + "ai/djl/pytorch/engine/PtNDArray;";

    private final boolean spillMode;
    private final boolean poolMode;

    PtNDManagerRewrite(boolean spillMode, boolean poolMode) {
        this.spillMode = spillMode;
        this.poolMode = poolMode;
    }

    @Override
    public String type() {
        return PT_NDMANAGER;
    }

    @Override
    public boolean applies() {
        return poolMode || spillMode;
    }

    @Override
    public byte[] rewrite(byte[] bytes) {
        return Rewrites.rewrite(bytes, writer -> Rewrites.methods(writer, (access, name, desc, mv) ->
                name.equals("create") && desc.equals(CREATE_BUFFER) ? new PoolCalls(mv, spillMode) : mv));
    }
}
