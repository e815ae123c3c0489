package io.memgov.agent.djl;

import ai.djl.ndarray.index.NDIndex;
import ai.djl.pytorch.engine.PtNDArray;
import ai.djl.pytorch.jni.MemgovPtProbe;
import io.memgov.runtime.Governed;
import io.memgov.runtime.Governor;
import net.bytebuddy.asm.Advice;

/**
 * Advice inlined into the static methods of {@code ai.djl.pytorch.jni.JniUtils} that return views:
 * arrays created inside them share the storage of their first argument and count once.
 */
public final class JniViewAdvice {
    private JniViewAdvice() {
    }

    /** Methods that always return views of argument 0. */
    public static final class Always {
        @Advice.OnMethodEnter(suppress = Throwable.class)
        static void enter(@Advice.Argument(0) Object source) {
            Governor.beginView(source instanceof Governed ? ((Governed) source).memgov$tracked() : null);
        }

        @Advice.OnMethodExit(onThrowable = Throwable.class, suppress = Throwable.class)
        static void exit() {
            Governor.endView();
        }
    }

    /** {@code reshape}/{@code flatten}: a view when the source is contiguous, else possibly a copy. */
    public static final class IfContiguous {
        @Advice.OnMethodEnter(suppress = Throwable.class)
        static boolean enter(@Advice.Argument(0) Object source) {
            if (MemgovPtProbe.contiguous(((PtNDArray) source).getHandle())) {
                Governor.beginView(source instanceof Governed ? ((Governed) source).memgov$tracked() : null);
                return true;
            }
            return false;
        }

        @Advice.OnMethodExit(onThrowable = Throwable.class, suppress = Throwable.class)
        static void exit(@Advice.Enter boolean view) {
            if (view) {
                Governor.endView();
            }
        }
    }

    /** {@code to(array, dataType, device)}: an alias when neither changes, else a copy. */
    public static final class IfSameTypeAndDevice {
        @Advice.OnMethodEnter(suppress = Throwable.class)
        static boolean enter(@Advice.Argument(0) Object source, @Advice.Argument(1) Object dataType,
                             @Advice.Argument(2) Object device) {
            PtNDArray array = (PtNDArray) source;
            if (array.getDataType() == dataType && array.getDevice().equals(device)) {
                Governor.beginView(source instanceof Governed ? ((Governed) source).memgov$tracked() : null);
                return true;
            }
            return false;
        }

        @Advice.OnMethodExit(onThrowable = Throwable.class, suppress = Throwable.class)
        static void exit(@Advice.Enter boolean view) {
            if (view) {
                Governor.endView();
            }
        }
    }

    /** {@code indexAdv(array, NDIndex, manager)}: a view for basic indexing, a copy otherwise. */
    public static final class IfBasicIndex {
        @Advice.OnMethodEnter(suppress = Throwable.class)
        static boolean enter(@Advice.Argument(0) Object source, @Advice.Argument(1) Object index) {
            if (MemgovPtProbe.basicIndex((NDIndex) index)) {
                Governor.beginView(source instanceof Governed ? ((Governed) source).memgov$tracked() : null);
                return true;
            }
            return false;
        }

        @Advice.OnMethodExit(onThrowable = Throwable.class, suppress = Throwable.class)
        static void exit(@Advice.Enter boolean view) {
            if (view) {
                Governor.endView();
            }
        }
    }
}
