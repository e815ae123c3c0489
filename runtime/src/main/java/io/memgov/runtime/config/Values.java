package io.memgov.runtime.config;

import java.math.BigDecimal;
import java.math.RoundingMode;
import java.util.Locale;
import java.util.function.LongSupplier;
import java.util.regex.Pattern;

/**
 * Value syntax of the configuration, public because other code reuses it (e.g. the JMX limit operation).
 * Each parser throws {@link IllegalArgumentException} whose message is the expected-form text, written to
 * follow {@code "KEY=VALUE (from SOURCE) "}, e.g. {@code "is not a size: use e.g. 512m, 4g, 25% or none"}.
 */
public final class Values {
    static final String SIZE_FORM = "is not a size: use e.g. 512m, 4g, 25% or none";
    static final String SIZE_NEGATIVE = "is not a size: a size cannot be negative; use e.g. 512m, 4g, 25% or none";
    static final String SIZE_PERCENT_RANGE =
            "is not a size: a percentage of physical RAM must be above 0% and at most 100%, e.g. 25%";
    static final String SIZE_PERCENT_NO_RAM =
            "is a percentage of physical RAM, but the physical RAM size is unknown: use an absolute size, e.g. 4g";
    static final String SIZE_TOO_LARGE = "is too large a size: use at most 8388607t";
    static final String DURATION_FORM = "is not a duration: use e.g. 250ms, 30s, 5m or 1h";
    static final String DURATION_NEGATIVE =
            "is not a duration: a duration cannot be negative; use e.g. 250ms, 30s, 5m or 1h";
    static final String DURATION_TOO_LARGE = "is too large a duration";
    static final String BOOLEAN_FORM = "is not a boolean: use true or false";

    private static final Pattern INTEGER = Pattern.compile("[0-9]+");
    private static final Pattern DECIMAL = Pattern.compile("[0-9]+(\\.[0-9]+)?");
    private static final BigDecimal HUNDRED = BigDecimal.valueOf(100);
    private static final BigDecimal LONG_MAX = BigDecimal.valueOf(Long.MAX_VALUE);
    private static final String[] UNITS = {"KiB", "MiB", "GiB", "TiB", "PiB", "EiB"};

    private Values() {
    }

    /**
     * Parses a size: bytes with an optional suffix {@code k}, {@code m}, {@code g}, {@code t} (powers of 1024,
     * case-insensitive, decimals allowed with a suffix: {@code 1.5g}), a percentage of physical RAM
     * ({@code 25%}, above 0 and at most 100, decimals allowed), or {@code none} (returns -1).
     * Surrounding whitespace is ignored. Fractions of a byte are dropped.
     *
     * @param physicalRamBytes the physical RAM used for percentages; 0 or less when unknown
     */
    public static long parseSize(String s, long physicalRamBytes) {
        return parseSize(s, () -> physicalRamBytes);
    }

    /** As {@link #parseSize(String, long)}, asking for the physical RAM only when a percentage is given. */
    static long parseSize(String s, LongSupplier physicalRamBytes) {
        if (s == null) {
            throw new IllegalArgumentException(SIZE_FORM);
        }
        String t = s.trim().toLowerCase(Locale.ROOT);
        if (t.isEmpty()) {
            throw new IllegalArgumentException(SIZE_FORM);
        }
        if (t.equals("none")) {
            return -1;
        }
        if (t.startsWith("-")) {
            throw new IllegalArgumentException(SIZE_NEGATIVE);
        }
        if (t.endsWith("%")) {
            String num = t.substring(0, t.length() - 1);
            if (!DECIMAL.matcher(num).matches()) {
                throw new IllegalArgumentException(SIZE_FORM);
            }
            BigDecimal percent = new BigDecimal(num);
            if (percent.signum() <= 0 || percent.compareTo(HUNDRED) > 0) {
                throw new IllegalArgumentException(SIZE_PERCENT_RANGE);
            }
            long ram = physicalRamBytes.getAsLong();
            if (ram <= 0) {
                throw new IllegalArgumentException(SIZE_PERCENT_NO_RAM);
            }
            return BigDecimal.valueOf(ram).multiply(percent).divide(HUNDRED, 0, RoundingMode.DOWN).longValue();
        }
        long multiplier;
        switch (t.charAt(t.length() - 1)) {
            case 'k':
                multiplier = 1L << 10;
                break;
            case 'm':
                multiplier = 1L << 20;
                break;
            case 'g':
                multiplier = 1L << 30;
                break;
            case 't':
                multiplier = 1L << 40;
                break;
            default:
                multiplier = 1;
                break;
        }
        String num = multiplier == 1 ? t : t.substring(0, t.length() - 1);
        Pattern form = multiplier == 1 ? INTEGER : DECIMAL;
        if (!form.matcher(num).matches()) {
            throw new IllegalArgumentException(SIZE_FORM);
        }
        BigDecimal bytes = new BigDecimal(num).multiply(BigDecimal.valueOf(multiplier)).setScale(0, RoundingMode.DOWN);
        if (bytes.compareTo(LONG_MAX) > 0) {
            throw new IllegalArgumentException(SIZE_TOO_LARGE);
        }
        return bytes.longValue();
    }

    /**
     * Parses a duration to milliseconds: {@code 250ms}, {@code 30s}, {@code 5m}, {@code 1h} (units
     * case-insensitive; decimals allowed for s, m and h: {@code 1.5s}); a bare whole number is milliseconds.
     * Surrounding whitespace is ignored. Fractions of a millisecond are dropped.
     */
    public static long parseDuration(String s) {
        if (s == null) {
            throw new IllegalArgumentException(DURATION_FORM);
        }
        String t = s.trim().toLowerCase(Locale.ROOT);
        if (t.isEmpty()) {
            throw new IllegalArgumentException(DURATION_FORM);
        }
        if (t.startsWith("-")) {
            throw new IllegalArgumentException(DURATION_NEGATIVE);
        }
        long multiplier;
        String num;
        if (t.endsWith("ms")) {
            multiplier = 1;
            num = t.substring(0, t.length() - 2);
        } else if (t.endsWith("s")) {
            multiplier = 1000L;
            num = t.substring(0, t.length() - 1);
        } else if (t.endsWith("m")) {
            multiplier = 60_000L;
            num = t.substring(0, t.length() - 1);
        } else if (t.endsWith("h")) {
            multiplier = 3_600_000L;
            num = t.substring(0, t.length() - 1);
        } else {
            multiplier = 1;
            num = t;
        }
        Pattern form = multiplier == 1 ? INTEGER : DECIMAL;
        if (!form.matcher(num).matches()) {
            throw new IllegalArgumentException(DURATION_FORM);
        }
        BigDecimal millis = new BigDecimal(num).multiply(BigDecimal.valueOf(multiplier)).setScale(0, RoundingMode.DOWN);
        if (millis.compareTo(LONG_MAX) > 0) {
            throw new IllegalArgumentException(DURATION_TOO_LARGE);
        }
        return millis.longValue();
    }

    /** Parses {@code true} or {@code false}, case-insensitive, surrounding whitespace ignored; nothing else. */
    public static boolean parseBoolean(String s) {
        if (s != null) {
            String t = s.trim();
            if (t.equalsIgnoreCase("true")) {
                return true;
            }
            if (t.equalsIgnoreCase("false")) {
                return false;
            }
        }
        throw new IllegalArgumentException(BOOLEAN_FORM);
    }

    /**
     * A human form of a byte count: {@code "123 B"}, {@code "512 MiB"}, {@code "1.5 GiB"} (at most two
     * decimals, powers of 1024); a negative count (-1 means no limit) gives {@code "none"}.
     */
    public static String formatBytes(long bytes) {
        if (bytes < 0) {
            return "none";
        }
        if (bytes < 1024) {
            return bytes + " B";
        }
        int i = 0;
        long unit = 1024;
        while (i < UNITS.length - 1 && bytes >= unit * 1024) {
            unit *= 1024;
            i++;
        }
        BigDecimal value = BigDecimal.valueOf(bytes).divide(BigDecimal.valueOf(unit), 2, RoundingMode.HALF_UP);
        if (value.compareTo(BigDecimal.valueOf(1024)) >= 0 && i < UNITS.length - 1) {
            // e.g. 1048575 bytes rounds to 1024 KiB: say 1 MiB instead
            unit *= 1024;
            i++;
            value = BigDecimal.valueOf(bytes).divide(BigDecimal.valueOf(unit), 2, RoundingMode.HALF_UP);
        }
        return value.stripTrailingZeros().toPlainString() + " " + UNITS[i];
    }
}
