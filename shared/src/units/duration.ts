// Go `time.Duration` text forms, as Kyverno's conditions and JMESPath functions use them
// (pkg/engine/variables/operator/operator.go parseDuration, pkg/engine/jmespath/time.go,
// arithmetic.go). A duration is a signed count of nanoseconds in the int64 range; it is held
// as a bigint because `8760h` already exceeds the integers a float64 holds exactly.

/** Nanoseconds per unit, exactly as Go's time package names them. */
export const DurationUnit = {
  Nanosecond: 1n,
  Microsecond: 1_000n,
  Millisecond: 1_000_000n,
  Second: 1_000_000_000n,
  Minute: 60_000_000_000n,
  Hour: 3_600_000_000_000n,
} as const;

const MAX_INT64 = (1n << 63n) - 1n;
const MIN_INT64 = -(1n << 63n);

// Go's time.unitMap: µ is accepted both as U+00B5 (micro sign) and U+03BC (Greek mu).
const UNITS = new Map<string, bigint>([
  ['ns', DurationUnit.Nanosecond],
  ['us', DurationUnit.Microsecond],
  ['\u00b5s', DurationUnit.Microsecond],
  ['\u03bcs', DurationUnit.Microsecond],
  ['ms', DurationUnit.Millisecond],
  ['s', DurationUnit.Second],
  ['m', DurationUnit.Minute],
  ['h', DurationUnit.Hour],
]);

const isDigit = (c: string | undefined): boolean => c !== undefined && c >= '0' && c <= '9';

/**
 * Parses a Go duration string (`"1h30m"`, `"1.5h"`, `"-300ms"`, `"0"`), mirroring
 * `time.ParseDuration`: a sign, then one or more `<number><unit>` groups; there is no `d` unit and
 * a number without unit is an error except the literal `"0"`. Returns undefined when Go would
 * return an error (including int64 overflow).
 */
export function parseGoDuration(text: string): bigint | undefined {
  let s = text;
  let negative = false;
  if (s.startsWith('-') || s.startsWith('+')) {
    negative = s.startsWith('-');
    s = s.slice(1);
  }
  if (s === '0') return 0n;
  if (s === '') return undefined;
  let total = 0n;
  while (s !== '') {
    if (!(s[0] === '.' || isDigit(s[0]))) return undefined;
    // Integer part; Go's leadingInt fails on values above 2^63.
    let i = 0;
    let whole = 0n;
    while (isDigit(s[i])) {
      whole = whole * 10n + BigInt(s.charCodeAt(i) - 48);
      if (whole > 1n << 63n) return undefined;
      i++;
    }
    const pre = i > 0;
    s = s.slice(i);
    // Fraction part; Go's leadingFraction keeps consuming digits after it stops accumulating them.
    let fraction = 0n;
    let scale = 1;
    let post = false;
    if (s.startsWith('.')) {
      s = s.slice(1);
      let j = 0;
      let overflow = false;
      while (isDigit(s[j])) {
        if (!overflow) {
          if (fraction > MAX_INT64 / 10n) {
            overflow = true;
          } else {
            const next = fraction * 10n + BigInt(s.charCodeAt(j) - 48);
            if (next > 1n << 63n) overflow = true;
            else {
              fraction = next;
              scale *= 10;
            }
          }
        }
        j++;
      }
      post = j > 0;
      s = s.slice(j);
    }
    if (!pre && !post) return undefined;
    let u = 0;
    while (u < s.length && s[u] !== '.' && !isDigit(s[u])) u++;
    if (u === 0) return undefined;
    const unit = UNITS.get(s.slice(0, u));
    if (unit === undefined) return undefined;
    s = s.slice(u);
    if (whole > (1n << 63n) / unit) return undefined;
    let value = whole * unit;
    if (fraction > 0n) {
      // Go computes the fractional nanoseconds in float64 and truncates: mirror that exactly.
      value += BigInt(Math.trunc(Number(fraction) * (Number(unit) / scale)));
      if (value > 1n << 63n) return undefined;
    }
    total += value;
    if (total > 1n << 63n) return undefined;
  }
  if (negative) return -total;
  if (total > MAX_INT64) return undefined;
  return total;
}

/** True when `text` is a Go duration (Go's `time.ParseDuration` succeeds). */
export function isGoDuration(text: string): boolean {
  return parseGoDuration(text) !== undefined;
}

/** Formats a fraction of `value / 10^precision` the way Go's fmtFrac does: no trailing zeros, no dot when zero. */
function fraction(value: bigint, precision: number): { text: string; rest: bigint } {
  let digits = '';
  let printed = false;
  let v = value;
  for (let i = 0; i < precision; i++) {
    const digit = v % 10n;
    printed ||= digit !== 0n;
    if (printed) digits = digit.toString() + digits;
    v /= 10n;
  }
  return { text: printed ? `.${digits}` : '', rest: v };
}

/**
 * Formats nanoseconds as Go's `Duration.String()`: `"0s"`, `"1.5µs"`, `"100ms"`, `"1m0s"`,
 * `"35h2m1.5s"`. Values outside the int64 range are clamped first (Go durations cannot hold them).
 */
export function formatGoDuration(nanoseconds: bigint): string {
  const d = clampDuration(nanoseconds);
  const negative = d < 0n;
  let u = negative ? -d : d;
  let out: string;
  if (u < DurationUnit.Second) {
    if (u === 0n) return '0s';
    let unit: string;
    let precision: number;
    if (u < DurationUnit.Microsecond) {
      unit = 'ns';
      precision = 0;
    } else if (u < DurationUnit.Millisecond) {
      unit = '\u00b5s';
      precision = 3;
    } else {
      unit = 'ms';
      precision = 6;
    }
    const { text, rest } = fraction(u, precision);
    out = `${rest.toString()}${text}${unit}`;
  } else {
    const { text, rest } = fraction(u, 9);
    u = rest;
    out = `${(u % 60n).toString()}${text}s`;
    u /= 60n;
    if (u > 0n) {
      out = `${(u % 60n).toString()}m${out}`;
      u /= 60n;
      if (u > 0n) out = `${u.toString()}h${out}`;
    }
  }
  return negative ? `-${out}` : out;
}

/** Clamps to the int64 range Go durations live in (Go's `Time.Sub` saturates the same way). */
export function clampDuration(nanoseconds: bigint): bigint {
  if (nanoseconds > MAX_INT64) return MAX_INT64;
  if (nanoseconds < MIN_INT64) return MIN_INT64;
  return nanoseconds;
}

/**
 * Go's `Duration.Seconds()`: whole seconds plus the nanosecond remainder as a float64. Kyverno's
 * Equals and numeric operators compare durations through this value, so we do too.
 */
export function durationSeconds(nanoseconds: bigint): number {
  const whole = nanoseconds / DurationUnit.Second;
  const rest = nanoseconds % DurationUnit.Second;
  return Number(whole) + Number(rest) / 1e9;
}

/**
 * Kyverno's `time.Duration(number) * time.Second` for a JSON number: Go converts the float64 to an
 * int64 count first, so the fraction is truncated (`1.5` means one second).
 */
export function durationFromNumberOfSeconds(seconds: number): bigint {
  if (!Number.isFinite(seconds)) return 0n;
  return clampDuration(BigInt(Math.trunc(seconds)) * DurationUnit.Second);
}
