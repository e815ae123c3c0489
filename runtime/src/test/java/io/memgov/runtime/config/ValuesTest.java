package io.memgov.runtime.config;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;
import org.junit.jupiter.params.provider.ValueSource;

class ValuesTest {
    private static final long K = 1024L;
    private static final long M = K * 1024;
    private static final long G = M * 1024;
    private static final long T = G * 1024;
    private static final long RAM = 16 * G;

    @ParameterizedTest
    @CsvSource({
            "0, 0",
            "4096, 4096",
            "1k, 1024",
            "1K, 1024",
            "1.5k, 1536",
            "0.3k, 307",
            "512m, 536870912",
            "512M, 536870912",
            "4g, 4294967296",
            "4G, 4294967296",
            "1.5g, 1610612736",
            "2t, 2199023255552",
            "8388607t, 9223370937343148032",
    })
    void parsesSizes(String in, long expected) {
        assertEquals(expected, Values.parseSize(in, RAM));
    }

    @Test
    void sizeNoneIsMinusOneAndWhitespaceIsTrimmed() {
        assertEquals(-1, Values.parseSize("none", RAM));
        assertEquals(-1, Values.parseSize("NONE", RAM));
        assertEquals(-1, Values.parseSize("  None ", RAM));
        assertEquals(512 * M, Values.parseSize(" 512m\t", RAM));
    }

    @Test
    void sizePercentagesAreOfPhysicalRam() {
        assertEquals(4 * G, Values.parseSize("25%", RAM));
        assertEquals(2 * G, Values.parseSize("12.5%", RAM));
        assertEquals(RAM, Values.parseSize("100%", RAM));
        assertEquals(RAM / 1000, Values.parseSize("0.1%", RAM), 1.0);
        assertEquals(1, Values.parseSize("1%", 100));
        assertEquals(0, Values.parseSize("0.5%", 100)); // fractions of a byte are dropped
    }

    @ParameterizedTest
    @ValueSource(strings = {"0%", "101%", "100.5%", "0.0%"})
    void sizePercentagesOutOfRangeAreErrors(String in) {
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> Values.parseSize(in, RAM));
        assertEquals(Values.SIZE_PERCENT_RANGE, e.getMessage());
    }

    @Test
    void sizePercentageWithUnknownRamIsAnError() {
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> Values.parseSize("25%", 0));
        assertTrue(e.getMessage().contains("physical RAM size is unknown"), e.getMessage());
        // an absolute size needs no RAM
        assertEquals(G, Values.parseSize("1g", 0));
    }

    @ParameterizedTest
    @ValueSource(strings = {"4gb", "4GB", "4096b", "4kb", "1.5", "abc", "", "   ", "1,5g", "g", "%", "1.g", ".5g",
            "1e3", "4 g", "25 %", "0x10", "nonee", "1g1", "+4g", "4p", "1.5.5g"})
    void badSizesAreErrorsWithTheExpectedForm(String in) {
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> Values.parseSize(in, RAM));
        assertEquals("is not a size: use e.g. 512m, 4g, 25% or none", e.getMessage());
    }

    @ParameterizedTest
    @ValueSource(strings = {"-1m", "-1", "-0", "-25%"})
    void negativeSizesAreErrors(String in) {
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> Values.parseSize(in, RAM));
        assertTrue(e.getMessage().startsWith("is not a size: a size cannot be negative"), e.getMessage());
    }

    @Test
    void hugeSizesAreErrors() {
        assertThrows(IllegalArgumentException.class, () -> Values.parseSize("8388608t", RAM));
        assertThrows(IllegalArgumentException.class, () -> Values.parseSize("99999999999999999999", RAM));
        assertThrows(IllegalArgumentException.class, () -> Values.parseSize(null, RAM));
    }

    @ParameterizedTest
    @CsvSource({
            "250ms, 250",
            "250MS, 250",
            "0ms, 0",
            "30s, 30000",
            "30S, 30000",
            "1.5s, 1500",
            "0.0005s, 0",
            "5m, 300000",
            "0.5m, 30000",
            "1h, 3600000",
            "1.5H, 5400000",
            "100, 100",
            "0, 0",
            "' 10s ', 10000",
    })
    void parsesDurations(String in, long expectedMillis) {
        assertEquals(expectedMillis, Values.parseDuration(in));
    }

    @ParameterizedTest
    @ValueSource(strings = {"1.5ms", "1.5", "10x", "", " ", "s", "ms", "m", "1d", "10 s", "1e3", "abc", "1sec",
            "99999999999999999999h"})
    void badDurationsAreErrors(String in) {
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> Values.parseDuration(in));
        assertTrue(e.getMessage().startsWith("is not a duration: use e.g. 250ms, 30s, 5m or 1h")
                || e.getMessage().startsWith("is too large"), e.getMessage());
    }

    @ParameterizedTest
    @ValueSource(strings = {"-1s", "-100", "-1.5h"})
    void negativeDurationsAreErrors(String in) {
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> Values.parseDuration(in));
        assertTrue(e.getMessage().contains("cannot be negative"), e.getMessage());
    }

    @Test
    void parsesBooleansExactlyIgnoringCase() {
        assertTrue(Values.parseBoolean("true"));
        assertTrue(Values.parseBoolean("TRUE"));
        assertTrue(Values.parseBoolean(" True "));
        assertFalse(Values.parseBoolean("false"));
        assertFalse(Values.parseBoolean("FaLsE"));
    }

    @ParameterizedTest
    @ValueSource(strings = {"yes", "no", "1", "0", "on", "off", "", "t", "truee"})
    void badBooleansAreErrors(String in) {
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> Values.parseBoolean(in));
        assertEquals("is not a boolean: use true or false", e.getMessage());
        assertThrows(IllegalArgumentException.class, () -> Values.parseBoolean(null));
    }

    @Test
    void formatsBytes() {
        assertEquals("none", Values.formatBytes(-1));
        assertEquals("0 B", Values.formatBytes(0));
        assertEquals("123 B", Values.formatBytes(123));
        assertEquals("1023 B", Values.formatBytes(1023));
        assertEquals("1 KiB", Values.formatBytes(1024));
        assertEquals("1.5 KiB", Values.formatBytes(1536));
        assertEquals("512 MiB", Values.formatBytes(512 * M));
        assertEquals("1.5 GiB", Values.formatBytes(3 * G / 2));
        assertEquals("1.25 GiB", Values.formatBytes(5 * G / 4));
        assertEquals("1.33 GiB", Values.formatBytes(4 * G / 3));
        assertEquals("2 TiB", Values.formatBytes(2 * T));
        assertEquals("1 MiB", Values.formatBytes(M - 1)); // rounds up to the next unit, not "1024 KiB"
        assertEquals("8 EiB", Values.formatBytes(Long.MAX_VALUE));
    }

    @Test
    void formatBytesRoundTripsThroughParseSizeForWholeUnits() {
        for (long n : new long[] {K, 3 * M, 7 * G, 5 * T}) {
            String f = Values.formatBytes(n); // e.g. "3 MiB"
            String compact = f.replace(" ", "").replace("iB", "").toLowerCase(java.util.Locale.ROOT);
            assertEquals(n, Values.parseSize(compact, RAM), f);
        }
    }
}
