package io.raftoral.cli;

import java.time.Duration;
import java.time.Instant;
import java.time.OffsetDateTime;
import java.time.format.DateTimeParseException;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import picocli.CommandLine.ITypeConverter;
import picocli.CommandLine.TypeConversionException;

/** Parsers of option values; a bad value becomes a usage error (exit 2) naming the option. */
final class Converters {
  private Converters() {}

  private static final Pattern PART = Pattern.compile("(\\d+)(ms|us|s|m|h|d)");

  /** {@code 500ms}, {@code 30s}, {@code 2m}, {@code 1h}, {@code 7d}, combinations such as {@code 1m30s}, or ISO-8601 ({@code PT30S}); > 0. */
  static final class DurationConverter implements ITypeConverter<Duration> {
    @Override
    public Duration convert(String value) {
      Duration d = parseDuration(value);
      if (d == null) {
        throw new TypeConversionException("'" + value + "' is not a duration; use e.g. 500ms, 30s, 2m, 1h or 7d");
      }
      if (d.isZero() || d.isNegative()) {
        throw new TypeConversionException("'" + value + "' must be a positive duration");
      }
      return d;
    }
  }

  /** As {@link DurationConverter}, and also {@code 0} (for an option where zero means "not at all"), or microseconds ({@code 200us}). */
  static final class NonNegativeDurationConverter implements ITypeConverter<Duration> {
    @Override
    public Duration convert(String value) {
      if (value.strip().equals("0")) {
        return Duration.ZERO;
      }
      Duration d = parseDuration(value);
      if (d == null || d.isNegative()) {
        throw new TypeConversionException("'" + value + "' is not a duration; use e.g. 0, 200us, 1ms");
      }
      return d;
    }
  }

  static Duration parseDuration(String value) {
    String s = value.strip();
    if (s.toUpperCase().startsWith("PT")) {
      try {
        return Duration.parse(s);
      } catch (DateTimeParseException e) {
        return null;
      }
    }
    Matcher m = PART.matcher(s);
    Duration total = Duration.ZERO;
    int at = 0;
    while (at < s.length() && m.find(at) && m.start() == at) {
      long n;
      try {
        n = Long.parseLong(m.group(1));
      } catch (NumberFormatException tooBig) {
        return null;
      }
      total = total.plus(switch (m.group(2)) {
        case "ms" -> Duration.ofMillis(n);
        case "us" -> Duration.of(n, java.time.temporal.ChronoUnit.MICROS);
        case "s" -> Duration.ofSeconds(n);
        case "m" -> Duration.ofMinutes(n);
        case "h" -> Duration.ofHours(n);
        default -> Duration.ofDays(n);
      });
      at = m.end();
    }
    return at == s.length() && at > 0 ? total : null;
  }

  /** An ISO-8601 instant, {@code 2025-01-31T12:00:00Z}, or a date-time with an offset. */
  static final class InstantConverter implements ITypeConverter<Instant> {
    @Override
    public Instant convert(String value) {
      try {
        return Instant.parse(value.strip());
      } catch (DateTimeParseException e) {
        try {
          return OffsetDateTime.parse(value.strip()).toInstant();
        } catch (DateTimeParseException again) {
          throw new TypeConversionException("'" + value + "' is not an ISO-8601 instant such as 2025-01-31T12:00:00Z");
        }
      }
    }
  }

  /** Formats a duration the way the options take it. */
  static String format(Duration d) {
    if (d.toMillis() % 1000 != 0) {
      return d.toMillis() + "ms";
    }
    long s = d.toSeconds();
    return s % 60 == 0 && s > 0 ? (s / 60) + "m" : s + "s";
  }
}
