package io.memgov.agent.djl;

import io.memgov.agent.asm.Rewrites;
import io.memgov.agent.asm.TypeRewrite;
import net.bytebuddy.jar.asm.MethodVisitor;
import net.bytebuddy.jar.asm.Opcodes;

import java.util.HashMap;
import java.util.Map;

import static io.memgov.agent.djl.DjlNames.AHEAD;
import static io.memgov.agent.djl.DjlNames.CTOR;
import static io.memgov.agent.djl.DjlNames.DATA_TYPE;
import static io.memgov.agent.djl.DjlNames.DEVICE;
import static io.memgov.agent.djl.DjlNames.HELPER;
import static io.memgov.agent.djl.DjlNames.JNI_UTILS;
import static io.memgov.agent.djl.DjlNames.PT_NDARRAY;
import static io.memgov.agent.djl.DjlNames.PT_NDMANAGER;
import static io.memgov.agent.djl.DjlNames.SHAPE;
import static io.memgov.agent.djl.DjlNames.VIEW_CTOR;

/**
 * {@code JniUtils}: its view methods construct their result through PtNDArray's view constructor
 * (which announces the view to {@code MemgovDjl.view} first). Its factories of a tensor of a given
 * shape admit the tensor's bytes before libtorch allocates them ({@link #FACTORIES}). Spill mode: every
 * method is bracketed, so pins end when the native call's Java method ends, and {@code getByteBuffer}
 * always copies.
 */
final class JniUtilsRewrite implements TypeRewrite {
    static final String GET_BYTE_BUFFER = "(Lai/djl/pytorch/engine/PtNDArray;Z)Ljava/nio/ByteBuffer;";

    /** JniUtils methods whose result may share argument 0's storage, and when (MemgovDjl kinds). */
    static final Map<String, Integer> VIEW_METHODS = new HashMap<>();

    static {
        for (String m : new String[]{"broadcast", "slice", "index", "getItem", "squeeze", "unsqueeze", "split",
                "permute", "transpose", "diagonal", "detachGradient"}) {
            VIEW_METHODS.put(m, 0);
        }
        VIEW_METHODS.put("reshape", 1);
        VIEW_METHODS.put("flatten", 1);
        VIEW_METHODS.put("to", 2);
        VIEW_METHODS.put("indexAdv", 3);
    }

    /**
     * JniUtils' factories of a new tensor whose size their arguments say (a Shape, a DataType and a
     * Device): memgov admits the bytes before libtorch allocates them ({@code MemgovDjl.ahead}).
     */
    static final java.util.Set<String> FACTORIES = java.util.Set.of("createEmptyNdArray", "createZerosNdArray",
            "createOnesNdArray", "full", "randint", "normal", "uniform");

    private final boolean spillMode;

    JniUtilsRewrite(boolean spillMode) {
        this.spillMode = spillMode;
    }

    @Override
    public String type() {
        return JNI_UTILS;
    }

    @Override
    public boolean applies() {
        return true;
    }

    @Override
    public byte[] rewrite(byte[] bytes) {
        return Rewrites.rewrite(bytes, writer -> Rewrites.methods(writer, (access, name, desc, mv) -> {
            MethodVisitor out = mv;
            if (spillMode && Rewrites.bracketable(access, name)) {
                out = Rewrites.bracket(out, access, JNI_UTILS, desc, HELPER);
            }
            int[] sized = FACTORIES.contains(name) ? factoryArgs(access, desc) : null;
            if (sized != null) {
                // around the spill bracket: ahead() runs inside the pins' range but before its own, so
                // when admission refuses the bytes nothing was reserved, and only the pins end
                out = Rewrites.bracket(out, access, JNI_UTILS, desc, m -> {
                    for (int slot : sized) {
                        m.visitVarInsn(Opcodes.ALOAD, slot);
                    }
                    m.visitMethodInsn(Opcodes.INVOKESTATIC, HELPER, "ahead", AHEAD, false);
                }, 3, HELPER, "behind");
            }
            if (spillMode && name.equals("getByteBuffer") && desc.equals(GET_BYTE_BUFFER)) {
                // a direct buffer over a tensor's memory would outlive the call (toFloatArray() and the
                // like read it afterwards) and could be left dangling by a spill: in spill mode every
                // getByteBuffer copies, inside the call, with the array pinned (tryDirect = false)
                out = Rewrites.atEntry(out, 1, m -> {
                    m.visitInsn(Opcodes.ICONST_0);
                    m.visitVarInsn(Opcodes.ISTORE, 1);
                });
            }
            Integer kind = VIEW_METHODS.get(name);
            if (kind == null || (access & Opcodes.ACC_STATIC) == 0
                    || !desc.startsWith("(L" + PT_NDARRAY + ";")
                    || (kind == 3 && !desc.startsWith("(L" + PT_NDARRAY + ";Lai/djl/ndarray/index/NDIndex;"))) {
                return out;
            }
            return Rewrites.replaceCalls(out, PT_NDARRAY, "<init>", CTOR, 3, m -> {
                m.visitVarInsn(Opcodes.ALOAD, 0);
                if (kind == 3) {
                    m.visitVarInsn(Opcodes.ALOAD, 1);
                } else {
                    m.visitInsn(Opcodes.ACONST_NULL);
                }
                m.visitInsn(Opcodes.ICONST_0 + kind);
                m.visitMethodInsn(Opcodes.INVOKESPECIAL, PT_NDARRAY, "<init>", VIEW_CTOR, false);
            });
        }));
    }

    /**
     * The local slots of a static factory's first Shape, DataType and Device arguments, when it
     * takes a PtNDManager first, returns a PtNDArray, and takes no buffer (a tensor over a buffer
     * allocates nothing in libtorch); else null.
     */
    static int[] factoryArgs(int access, String desc) {
        if ((access & Opcodes.ACC_STATIC) == 0 || !desc.startsWith("(L" + PT_NDMANAGER + ";")
                || !desc.endsWith(")L" + PT_NDARRAY + ";") || desc.contains("Ljava/nio/")) {
            return null;
        }
        int shape = -1;
        int type = -1;
        int device = -1;
        int slot = 0;
        for (net.bytebuddy.jar.asm.Type t : net.bytebuddy.jar.asm.Type.getArgumentTypes(desc)) {
            String d = t.getDescriptor();
            if (d.equals(SHAPE) && shape < 0) {
                shape = slot;
            } else if (d.equals(DATA_TYPE) && type < 0) {
                type = slot;
            } else if (d.equals(DEVICE) && device < 0) {
                device = slot;
            }
            slot += t.getSize();
        }
        return shape < 0 || type < 0 || device < 0 ? null : new int[]{shape, type, device};
    }
}
