package io.memgov.agent.djl;

import ai.djl.Device;
import ai.djl.pytorch.engine.PtNDManager;
import ai.djl.pytorch.jni.MemgovPtProbe;
import io.memgov.runtime.Governed;
import io.memgov.runtime.Governor;
import net.bytebuddy.asm.Advice;

/**
 * Advice inlined into {@code ai.djl.pytorch.engine.PtNDArray}. Never loaded by the agent: ByteBuddy
 * reads it through a TypePool, and its signatures name only JDK types, so DJL types named in the
 * bodies are resolved only inside DJL's own class loader.
 */
public final class PtNDArrayAdvice {
    private PtNDArrayAdvice() {
    }

    /** Constructors {@code (PtNDManager, long)} and {@code (PtNDManager, long, ByteBuffer)}. */
    public static final class Created {
        @Advice.OnMethodExit(suppress = Throwable.class)
        static void exit(@Advice.Argument(0) Object manager, @Advice.Argument(1) long handle,
                         @Advice.FieldValue(value = DjlBridge.FIELD, readOnly = false) Object tracked) {
            if (handle == -1L) {
                return;
            }
            try {
                Object parent = Governor.viewParent();
                if (parent != null) {
                    tracked = Governor.share(parent);
                } else {
                    Device device = ((PtNDManager) manager).getDevice();
                    if (device.isGpu()) {
                        tracked = Governor.allocate(Governor.FW_DJL, 1, device.getDeviceId(), MemgovPtProbe.bytes(handle));
                    } else {
                        tracked = Governor.allocate(Governor.FW_DJL, 0, 0, MemgovPtProbe.bytes(handle));
                    }
                }
            } catch (Throwable t) {
                Governor.adviceError("PtNDArray.<init>", t);
            }
        }
    }

    /** {@code close()}: the array's handle was dropped; its storage goes with its last array. */
    public static final class Closed {
        @Advice.OnMethodExit(suppress = Throwable.class)
        static void exit(@Advice.FieldValue(value = DjlBridge.FIELD, readOnly = false) Object tracked) {
            Object t = tracked;
            if (t != null) {
                tracked = null;
                Governor.release(t);
            }
        }
    }

    /**
     * {@code intern(NDArray replaced)}: this array takes over {@code replaced}'s handle and deletes its
     * own; swapping the records first makes {@code replaced.close()} release the deleted storage.
     */
    public static final class Interned {
        @Advice.OnMethodEnter(suppress = Throwable.class)
        static void enter(@Advice.Argument(0) Object replaced,
                          @Advice.FieldValue(value = DjlBridge.FIELD, readOnly = false) Object tracked) {
            if (replaced instanceof Governed && replaced != null) {
                Governed other = (Governed) replaced;
                Object theirs = other.memgov$tracked();
                other.memgov$tracked(tracked);
                tracked = theirs;
            }
        }
    }
}
