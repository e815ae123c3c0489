package io.memgov.agent.asm;

/**
 * Brackets every method (not constructors, not abstract or native ones) of a class that calls native
 * code with {@code hookOwner.enter()}/{@code exit()}, so that what those calls pin stays pinned until
 * the outermost bracketed method returns or throws. Used in spill mode only.
 */
public final class BracketingRewrite implements TypeRewrite {
    private final String type;
    private final String hookOwner;
    private final boolean spillMode;

    public BracketingRewrite(String type, String hookOwner, boolean spillMode) {
        this.type = type;
        this.hookOwner = hookOwner;
        this.spillMode = spillMode;
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
        return Rewrites.rewrite(bytes, writer -> Rewrites.methods(writer, (access, name, desc, mv) ->
                Rewrites.bracketable(access, name) ? Rewrites.bracket(mv, access, type, desc, hookOwner) : mv));
    }
}
