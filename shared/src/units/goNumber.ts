// Go's number ↔ text conversions as Kyverno applies them to JSON values (every JSON number is a
// float64 in Go). Kyverno stringifies keys and values with `fmt.Sprint` in the In/AnyIn/AllIn…
// operators and with `strconv.FormatFloat(f, 'f', -1, 32)` in regex_match/pattern_match; it parses
// strings with `strconv.ParseFloat`/`ParseInt`. The outputs differ from JavaScript's (`1e+06` vs
// `1000000`, float32 rounding), and operator results depend on them, so they are mirrored here.

/** Shortest round-trip digits and decimal exponent of a finite, non-zero float64. */
function shortestDigits(value: number): { digits: string; exponent: number } {
  // toExponential() without an argument yields the shortest digits that round-trip, like Go's
  // strconv with precision -1.
  const [mantissa = '0', exp = '0'] = Math.abs(value).toExponential().split('e');
  return { digits: mantissa.replace('.', ''), exponent: Number(exp) };
}

function fixedFromDigits(digits: string, exponent: number): string {
  // exponent is the position of the first digit: value = 0.d1d2… × 10^(exponent + 1)
  const point = exponent + 1;
  if (point <= 0) return `0.${'0'.repeat(-point)}${digits}`;
  if (point >= digits.length) return digits + '0'.repeat(point - digits.length);
  return `${digits.slice(0, point)}.${digits.slice(point)}`;
}

/**
 * `fmt.Sprint(float64)`: Go's `%v` is `%g` with the shortest precision, which switches to exponent
 * form when the decimal exponent is < -4 or >= 6 (strconv's eprec for the shortest form), so
 * `1000000` prints as `1e+06`, `123456` as `123456` and `0.00001` as `1e-05`.
 */
export function goFormatFloat(value: number): string {
  if (Number.isNaN(value)) return 'NaN';
  if (value === Infinity) return '+Inf';
  if (value === -Infinity) return '-Inf';
  if (value === 0) return Object.is(value, -0) ? '-0' : '0';
  const sign = value < 0 ? '-' : '';
  const { digits, exponent } = shortestDigits(value);
  if (exponent < -4 || exponent >= 6) {
    const mantissa = digits.length > 1 ? `${digits[0] ?? ''}.${digits.slice(1)}` : digits;
    const expSign = exponent < 0 ? '-' : '+';
    const expDigits = Math.abs(exponent).toString().padStart(2, '0');
    return `${sign}${mantissa}e${expSign}${expDigits}`;
  }
  return sign + fixedFromDigits(digits, exponent);
}

/**
 * `strconv.FormatFloat(value, 'f', -1, 32)`: the value is rounded to float32 and printed with the
 * fewest digits that round-trip as a float32, never in exponent form. Kyverno's ifaceToString uses
 * it for numbers passed to regex_match and pattern_match.
 */
export function goFormatFloat32(value: number): string {
  const f = Math.fround(value);
  if (Number.isNaN(f)) return 'NaN';
  if (f === Infinity) return '+Inf';
  if (f === -Infinity) return '-Inf';
  if (f === 0) return Object.is(f, -0) ? '-0' : '0';
  let precise = f.toPrecision(9);
  for (let p = 1; p <= 9; p++) {
    const candidate = f.toPrecision(p);
    if (Math.fround(Number(candidate)) === f) {
      precise = candidate;
      break;
    }
  }
  const n = Number(precise);
  const sign = n < 0 ? '-' : '';
  const { digits, exponent } = shortestDigits(n);
  return sign + fixedFromDigits(digits, exponent);
}

const DECIMAL_FLOAT = /^[+-]?(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?$/;
const HEX_FLOAT = /^([+-]?)0[xX]((?:[0-9a-fA-F]+\.?[0-9a-fA-F]*)|(?:\.[0-9a-fA-F]+))[pP]([+-]?\d+)$/;
const SPECIAL_FLOAT = /^([+-]?)(inf|infinity|nan)$/i;

/**
 * `strconv.ParseFloat(text, 64)`: decimal or hexadecimal (`0x1.8p1`) notation, `inf`/`infinity`/
 * `nan` in any case; no surrounding spaces. Out-of-range values are an error in Go (ErrRange), so
 * they return undefined here; underflow quietly becomes zero, as in Go.
 */
export function goParseFloat(text: string): number | undefined {
  const special = SPECIAL_FLOAT.exec(text);
  if (special !== null) {
    if ((special[2] ?? '').toLowerCase() === 'nan') return NaN;
    return special[1] === '-' ? -Infinity : Infinity;
  }
  if (DECIMAL_FLOAT.test(text)) {
    const n = Number(text);
    return Number.isFinite(n) ? n : undefined;
  }
  const hex = HEX_FLOAT.exec(text);
  if (hex !== null) {
    const [intPart = '', fracPart = ''] = (hex[2] ?? '').split('.');
    let mantissa = 0;
    for (const c of intPart + fracPart) mantissa = mantissa * 16 + Number.parseInt(c, 16);
    const n = mantissa * 2 ** (Number(hex[3]) - 4 * fracPart.length);
    if (!Number.isFinite(n)) return undefined;
    return hex[1] === '-' ? -n : n;
  }
  return undefined;
}

const INT64_MAX = (1n << 63n) - 1n;
const INT64_MIN = -(1n << 63n);

/** `strconv.ParseInt(text, 10, 64)`: optional sign, decimal digits, int64 range. */
export function goParseInt(text: string): bigint | undefined {
  if (!/^[+-]?\d+$/.test(text)) return undefined;
  const n = BigInt(text);
  return n > INT64_MAX || n < INT64_MIN ? undefined : n;
}

/**
 * `fmt.Sprint(value)` for a decoded JSON value: strings as-is, numbers as {@link goFormatFloat},
 * `<nil>` for null, `[a b]` for arrays and `map[k:v]` (sorted keys) for objects.
 */
export function goSprint(value: unknown): string {
  if (typeof value === 'string') return value;
  if (typeof value === 'number') return goFormatFloat(value);
  if (typeof value === 'boolean') return value ? 'true' : 'false';
  if (value === null || value === undefined) return '<nil>';
  if (Array.isArray(value)) return `[${value.map(goSprint).join(' ')}]`;
  if (typeof value === 'object') {
    const entries = Object.entries(value as Record<string, unknown>).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
    return `map[${entries.map(([k, v]) => `${k}:${goSprint(v)}`).join(' ')}]`;
  }
  return typeof value === 'bigint' ? value.toString() : typeof value; // not produced by JSON
}
