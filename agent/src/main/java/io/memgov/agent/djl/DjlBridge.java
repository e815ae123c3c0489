package io.memgov.agent.djl;

import io.memgov.agent.Bridge;
import io.memgov.agent.ProbeInjector;
import io.memgov.runtime.Governed;
import net.bytebuddy.agent.builder.AgentBuilder;
import net.bytebuddy.asm.Advice;
import net.bytebuddy.description.field.FieldDescription;
import net.bytebuddy.description.method.MethodDescription;
import net.bytebuddy.description.modifier.FieldManifestation;
import net.bytebuddy.description.modifier.Visibility;
import net.bytebuddy.description.type.TypeDescription;
import net.bytebuddy.implementation.FieldAccessor;
import net.bytebuddy.matcher.ElementMatcher;

import java.util.ArrayList;
import java.util.List;

import static net.bytebuddy.matcher.ElementMatchers.isConstructor;
import static net.bytebuddy.matcher.ElementMatchers.isStatic;
import static net.bytebuddy.matcher.ElementMatchers.named;
import static net.bytebuddy.matcher.ElementMatchers.namedOneOf;
import static net.bytebuddy.matcher.ElementMatchers.takesArgument;
import static net.bytebuddy.matcher.ElementMatchers.takesArguments;

/**
 * The DJL PyTorch bridge (DJL 0.36): counts every native tensor at the {@code PtNDArray}
 * constructors, releases it at {@code close()}/{@code intern()}, and makes arrays created inside
 * JniUtils' view methods share their source's storage.
 */
public final class DjlBridge implements Bridge {
    public static final String FIELD = "memgov$tracked";
    static final String PT_NDARRAY = "ai.djl.pytorch.engine.PtNDArray";
    static final String JNI_UTILS = "ai.djl.pytorch.jni.JniUtils";
    static final String PROBE = "ai.djl.pytorch.jni.MemgovPtProbe";
    /** Advice classes are named, not referenced, so that loading this bridge loads no DJL type. */
    private static final String ADVICE = "io.memgov.agent.djl.";

    /** JniUtils methods whose result always shares argument 0's storage (FIELD-NOTES.md). */
    static final String[] ALWAYS_VIEWS = {"broadcast", "slice", "index", "getItem", "squeeze", "unsqueeze",
            "split", "permute", "transpose", "diagonal", "detachGradient"};

    @Override
    public String framework() {
        return "djl";
    }

    @Override
    public String probeClass() {
        return PT_NDARRAY;
    }

    @Override
    public AgentBuilder extend(AgentBuilder builder, Context ctx) {
        ProbeInjector probe = ctx.probes();
        return builder
                .type(named(PT_NDARRAY))
                .transform((b, type, loader, module, pd) -> {
                    String problem = shapeProblem(type);
                    if (problem != null) {
                        ctx.unknownShape(framework(), type.getName(), problem);
                        return b;
                    }
                    if (!probe.inject(loader, PROBE)) {
                        return b;
                    }
                    return b.defineField(FIELD, Object.class, Visibility.PRIVATE, FieldManifestation.VOLATILE)
                            .implement(Governed.class).intercept(FieldAccessor.ofField(FIELD))
                            .visit(ctx.advice(ADVICE + "PtNDArrayAdvice$Created").on(isConstructor()
                                    .and(takesArgument(1, long.class))
                                    .and(takesArguments(2).or(takesArguments(3)))))
                            .visit(ctx.advice(ADVICE + "PtNDArrayAdvice$Closed").on(named("close").and(takesArguments(0))))
                            .visit(ctx.advice(ADVICE + "PtNDArrayAdvice$Interned").on(named("intern").and(takesArguments(1))));
                })
                .type(named(JNI_UTILS))
                .transform((b, type, loader, module, pd) -> {
                    if (!probe.inject(loader, PROBE)) {
                        return b;
                    }
                    ElementMatcher.Junction<MethodDescription> firstIsArray =
                            isStatic().and(takesArgument(0, named(PT_NDARRAY)));
                    return b.visit(ctx.advice(ADVICE + "JniViewAdvice$Always").on(firstIsArray.and(namedOneOf(ALWAYS_VIEWS))))
                            .visit(ctx.advice(ADVICE + "JniViewAdvice$IfContiguous").on(firstIsArray.and(namedOneOf("reshape", "flatten"))))
                            .visit(ctx.advice(ADVICE + "JniViewAdvice$IfSameTypeAndDevice").on(firstIsArray.and(named("to")).and(takesArguments(3))))
                            .visit(ctx.advice(ADVICE + "JniViewAdvice$IfBasicIndex").on(firstIsArray.and(named("indexAdv")).and(takesArguments(3))));
                });
    }

    /** Null when {@code PtNDArray} has the members the advice relies on; else what is missing. */
    static String shapeProblem(TypeDescription type) {
        List<String> missing = new ArrayList<>();
        boolean ctor = false;
        for (MethodDescription.InDefinedShape m : type.getDeclaredMethods()) {
            if (m.isConstructor() && m.getParameters().size() >= 2
                    && m.getParameters().get(0).getType().asErasure().getName().equals("ai.djl.pytorch.engine.PtNDManager")
                    && m.getParameters().get(1).getType().represents(long.class)) {
                ctor = true;
            }
        }
        if (!ctor) {
            missing.add("constructor (PtNDManager, long)");
        }
        if (type.getDeclaredMethods().filter(named("close").and(takesArguments(0))).isEmpty()) {
            missing.add("close()");
        }
        if (type.getDeclaredMethods().filter(named("intern").and(takesArguments(1))).isEmpty()) {
            missing.add("intern(NDArray)");
        }
        for (FieldDescription f : type.getDeclaredFields()) {
            if (f.getName().equals(FIELD)) {
                missing.add("(already instrumented: " + FIELD + " exists)");
            }
        }
        return missing.isEmpty() ? null : "missing " + String.join(", ", missing);
    }
}
