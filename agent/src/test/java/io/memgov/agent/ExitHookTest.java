package io.memgov.agent;

import org.junit.jupiter.api.Test;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotNull;

class ExitHookTest {
    @Test
    void withoutInstrumentationItFallsBackToARuntimeHookAndSaysWhy() {
        ExitHook.Registration r = ExitHook.register(null, () -> { });
        assertEquals("runtime", r.mechanism);
        assertFalse(r.afterApplicationHooks());
        assertNotNull(r.problem);
    }
}
