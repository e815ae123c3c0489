package io.memgov.agent.djl;

import io.memgov.agent.HelperBridge;
import io.memgov.agent.asm.BracketingRewrite;
import io.memgov.agent.asm.Rewrites;
import io.memgov.agent.asm.TypeRewrite;

import java.io.IOException;
import java.util.ArrayList;
import java.util.List;

import static io.memgov.agent.djl.DjlNames.CTOR;
import static io.memgov.agent.djl.DjlNames.HELPER;
import static io.memgov.agent.djl.DjlNames.INTERN;
import static io.memgov.agent.djl.DjlNames.IVALUE;
import static io.memgov.agent.djl.DjlNames.IVALUE_UTILS;
import static io.memgov.agent.djl.DjlNames.PT_NDARRAY;

/**
 * The DJL PyTorch bridge (DJL 0.36): the rewrites of {@link #rewrites(boolean, boolean)}, whose logic
 * is in {@code ai.djl.pytorch.jni.MemgovDjl}, defined in DJL's own class loader.
 */
public final class DjlBridge extends HelperBridge {
    /**
     * Spill mode (a HOST limit with on-limit=spill): PtNDArray also implements Spillable, its
     * getHandle() goes through the helper (which restores a spilled tensor and pins the array for the
     * native call in progress), and every method of the classes that call libtorch (JniUtils, IValue,
     * IValueUtils) is bracketed, so pins end when the native call's Java method ends.
     */
    private final boolean spillMode;

    /**
     * {@code poolMode} (memgov.pool.enabled): the direct buffers PtNDManager.create(Buffer, Shape,
     * DataType) and PtNDArray.set(Buffer) copy into come from the governor's pool, and go back to it
     * with the last array over the storage that points into them.
     */
    public DjlBridge(boolean spillMode, boolean poolMode) {
        super(rewrites(spillMode, poolMode));
        this.spillMode = spillMode;
    }

    /** Every DJL rewrite, made for these modes; the bridge applies those that apply. */
    static List<TypeRewrite> rewrites(boolean spillMode, boolean poolMode) {
        return List.of(
                new PtNDArrayRewrite(spillMode, poolMode),
                new JniUtilsRewrite(spillMode),
                new BracketingRewrite(IVALUE, HELPER, spillMode),
                new BracketingRewrite(IVALUE_UTILS, HELPER, spillMode),
                new PtNDManagerRewrite(spillMode, poolMode),
                new NDSerializerRewrite(spillMode));
    }

    @Override
    public String framework() {
        return "djl";
    }

    @Override
    public String probeClass() {
        return "ai.djl.pytorch.engine.PtNDArray";
    }

    @Override
    protected List<String> helpers() {
        String h = HELPER.replace('/', '.');
        return List.of(h, h + "$Bridge", h + "$Pending", h + "$Layout");
    }

    @Override
    protected String shapeProblem(ClassLoader loader, String internal, byte[] bytes) throws IOException {
        byte[] ptNDArray = classBytes(loader, PT_NDARRAY, internal, bytes);
        if (ptNDArray == null) {
            return "PtNDArray's class file cannot be read from the class loader";
        }
        Rewrites.Members m = Rewrites.Members.of(ptNDArray);
        if (m.governed()) {
            return "PtNDArray is already instrumented by another copy of memgov";
        }
        List<String> missing = new ArrayList<>();
        for (String method : new String[]{"<init>" + CTOR, "close()V", "intern" + INTERN}) {
            if (!m.methods.contains(method)) {
                missing.add("PtNDArray." + method);
            }
        }
        if (spillMode && m.methods.contains("getHandle()Ljava/lang/Object;")) {
            missing.add("(PtNDArray overrides getHandle(): spilling would need another hook)");
        }
        return missing.isEmpty() ? null : "missing " + String.join(", ", missing);
    }
}
