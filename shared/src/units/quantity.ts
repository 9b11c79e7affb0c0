// Kubernetes resource quantities (`1Gi`, `500m`, `1e3`, `5`), mirroring
// k8s.io/apimachinery/pkg/api/resource: ParseQuantity, Cmp/Equal, Add/Sub and the canonical
// String() form (`1.5Gi` prints as `1536Mi`, `1.5` as `1500m`). Kyverno compares condition values
// as quantities (`"1Gi"` Equals `"1024Mi"`) and its add/subtract/… JMESPath functions return
// canonical quantity strings, so the arithmetic is exact: a quantity is an unscaled bigint and a
// decimal scale (value = unscaled × 10^-scale), like Go's inf.Dec.

/** The three serialisation formats a quantity remembers from its suffix. */
export const QuantityFormat = {
  DecimalSI: 'DecimalSI',
  BinarySI: 'BinarySI',
  DecimalExponent: 'DecimalExponent',
} as const;
export type QuantityFormat = (typeof QuantityFormat)[keyof typeof QuantityFormat];

const DECIMAL_SUFFIXES = new Map<string, number>([
  ['n', -9],
  ['u', -6],
  ['m', -3],
  ['', 0],
  ['k', 3],
  ['M', 6],
  ['G', 9],
  ['T', 12],
  ['P', 15],
  ['E', 18],
]);
const DECIMAL_SUFFIX_BY_EXPONENT = new Map([...DECIMAL_SUFFIXES].map(([s, e]) => [e, s]));
const BINARY_SUFFIXES = new Map<string, number>([
  ['Ki', 10],
  ['Mi', 20],
  ['Gi', 30],
  ['Ti', 40],
  ['Pi', 50],
  ['Ei', 60],
]);
const BINARY_SUFFIX_BY_POWER = ['', 'Ki', 'Mi', 'Gi', 'Ti', 'Pi', 'Ei'];

const MAX_INT64 = (1n << 63n) - 1n;
// Go accepts any int32 exponent (`1e999999999`); materialising such a power of ten would stall
// the event loop on a payload value, so exponents beyond this bound are rejected instead.
const MAX_ABS_EXPONENT = 1000;

const pow10 = (n: number): bigint => 10n ** BigInt(n);
const abs = (n: bigint): bigint => (n < 0n ? -n : n);

/** An exact decimal amount with the format it was written in. */
export class Quantity {
  /** The value is `unscaled × 10^-scale` (Go's inf.Dec representation). */
  readonly unscaled: bigint;
  readonly scale: number;
  readonly format: QuantityFormat;

  constructor(unscaled: bigint, scale: number, format: QuantityFormat) {
    this.unscaled = unscaled;
    this.scale = scale;
    this.format = format;
  }

  /** -1, 0 or 1 as this is less than, equal to or greater than `other` (Go's Quantity.Cmp). */
  cmp(other: Quantity): -1 | 0 | 1 {
    const [a, b] = aligned(this, other);
    return a < b ? -1 : a > b ? 1 : 0;
  }

  equals(other: Quantity): boolean {
    return this.cmp(other) === 0;
  }

  isZero(): boolean {
    return this.unscaled === 0n;
  }

  /** Go's Quantity.Add: the sum keeps this quantity's format unless this one is zero. */
  add(other: Quantity): Quantity {
    const scale = Math.max(this.scale, other.scale);
    const [a, b] = aligned(this, other);
    return new Quantity(a + b, scale, this.isZero() ? other.format : this.format);
  }

  /** Go's Quantity.Sub, with the same format rule as {@link add}. */
  sub(other: Quantity): Quantity {
    const scale = Math.max(this.scale, other.scale);
    const [a, b] = aligned(this, other);
    return new Quantity(a - b, scale, this.isZero() ? other.format : this.format);
  }

  /** Exact product (inf.Dec Mul: the scales add). */
  mul(other: Quantity, format: QuantityFormat = this.format): Quantity {
    return new Quantity(this.unscaled * other.unscaled, this.scale + other.scale, format);
  }

  /** inf.Dec QuoRound(this, divisor, scale, RoundDown): the quotient truncated toward zero at `scale`. */
  quoRoundDown(divisor: Quantity, scale: number, format: QuantityFormat = this.format): Quantity {
    if (divisor.isZero()) throw new RangeError('division by zero');
    // result.unscaled = trunc(this.unscaled × 10^(scale − this.scale + divisor.scale) / divisor.unscaled)
    const shift = scale - this.scale + divisor.scale;
    const numerator = shift >= 0 ? this.unscaled * pow10(shift) : this.unscaled;
    const denominator = shift >= 0 ? divisor.unscaled : divisor.unscaled * pow10(-shift);
    return new Quantity(numerator / denominator, scale, format);
  }

  /** Go's AsApproximateFloat64: the unscaled value as a float64 times a power of ten. */
  toApproximateNumber(): number {
    const base = Number(this.unscaled);
    return this.scale === 0 ? base : base * Number(`1e${String(-this.scale)}`);
  }

  /** The canonical Kubernetes form (Go's Quantity.String). */
  toString(): string {
    return canonical(this);
  }
}

function aligned(a: Quantity, b: Quantity): [bigint, bigint] {
  const scale = Math.max(a.scale, b.scale);
  return [a.unscaled * pow10(scale - a.scale), b.unscaled * pow10(scale - b.scale)];
}

/** A quantity built from an integer (Go's resource.NewQuantity). */
export function quantityFromInteger(value: bigint, format: QuantityFormat): Quantity {
  return new Quantity(value, 0, format);
}

interface Scanned {
  positive: boolean;
  value: string;
  num: string;
  denom: string;
  suffix: string;
}

// Go's parseQuantityString: a hand-written scanner whose quirks (a bare "+" or "." reads as zero,
// "1.G" is accepted) are part of what Kubernetes accepts, so they are kept.
function scan(str: string): Scanned | undefined {
  let positive = true;
  let pos = 0;
  const end = str.length;
  if (str[0] === '-') {
    positive = false;
    pos++;
  } else if (str[0] === '+') {
    pos++;
  }
  while (pos < end && str[pos] === '0') pos++;
  if (pos >= end) return { positive, value: '0', num: '0', denom: '', suffix: '' };
  let i = pos;
  while (i < end && isDigit(str[i])) i++;
  let num = str.slice(pos, i);
  pos = i;
  if (num === '') num = '0';
  let denom = '';
  if (pos < end && str[pos] === '.') {
    pos++;
    let j = pos;
    while (j < end && isDigit(str[j])) j++;
    denom = str.slice(pos, j);
    pos = j;
  }
  const value = str.slice(0, pos);
  const suffixStart = pos;
  let k = pos;
  while (k < end && 'eEinumkKMGTP'.includes(str[k] ?? '')) k++;
  if (k < end && (str[k] === '-' || str[k] === '+')) k++;
  while (k < end && isDigit(str[k])) k++;
  if (k < end) return undefined;
  return { positive, value, num, denom, suffix: str.slice(suffixStart) };
}

function isDigit(c: string | undefined): boolean {
  return c !== undefined && c >= '0' && c <= '9';
}

function interpretSuffix(suffix: string): { base: 10 | 2; exponent: number; format: QuantityFormat } | undefined {
  const decimal = DECIMAL_SUFFIXES.get(suffix);
  if (decimal !== undefined) return { base: 10, exponent: decimal, format: QuantityFormat.DecimalSI };
  const binary = BINARY_SUFFIXES.get(suffix);
  if (binary !== undefined) return { base: 2, exponent: binary, format: QuantityFormat.BinarySI };
  if (suffix.length > 1 && (suffix[0] === 'e' || suffix[0] === 'E') && /^[+-]?\d+$/.test(suffix.slice(1))) {
    const exponent = Number(suffix.slice(1));
    if (Math.abs(exponent) > MAX_ABS_EXPONENT) return undefined;
    return { base: 10, exponent, format: QuantityFormat.DecimalExponent };
  }
  return undefined;
}

/**
 * Go's resource.ParseQuantity. Returns undefined where Go returns an error. Values more precise
 * than a nano-unit are rounded up (away from zero), BinarySI values are capped at 2^63-1, and a
 * BinarySI value strictly between 0 and 1 switches to DecimalSI, as in Go.
 */
export function parseQuantity(str: string): Quantity | undefined {
  if (str === '') return undefined;
  if (str === '0') return new Quantity(0n, 0, QuantityFormat.DecimalSI);
  const scanned = scan(str);
  if (scanned === undefined) return undefined;
  const { positive, value, num, denom, suffix } = scanned;
  const interpreted = interpretSuffix(suffix);
  if (interpreted === undefined) return undefined;
  const { base, exponent } = interpreted;
  let { format } = interpreted;

  // Fast path (int64Amount in Go): it fixes the inf.Dec scale the value carries afterwards, which
  // matters for the rounding scale of quantity division, so it is reproduced.
  let precision: number;
  let scale = 0;
  let mantissa = 1n;
  if (base === 10) {
    scale = exponent;
    precision = 18 - (num.length + denom.length);
  } else if (exponent >= 0 && denom.length === 0) {
    mantissa = 1n << BigInt(exponent);
    precision = 15 - num.length - Math.trunc(Math.fround((Math.fround(exponent) * 3) / 10)) - 1;
  } else {
    precision = -1;
  }
  if (precision >= 0) {
    scale -= denom.length;
    if (scale >= -9) {
      const shifted = BigInt(num + denom);
      const result = shifted * mantissa;
      if (shifted <= MAX_INT64 && result <= MAX_INT64) {
        return new Quantity(positive ? result : -result, -scale, format);
      }
    }
  }

  // Slow path (inf.Dec in Go).
  const digits = value.replace(/^[+-]/, '');
  const [intPart = '', fracPart = ''] = digits.split('.');
  if (intPart === '' && fracPart === '') return undefined; // inf.Dec rejects a bare "."
  let unscaled = BigInt((intPart === '' ? '0' : intPart) + fracPart);
  let decScale = fracPart.length;
  if (base === 10) {
    decScale -= exponent;
  } else {
    unscaled *= 1n << BigInt(exponent);
  }
  if (unscaled !== 0n) {
    // amount.Round(amount, 9, inf.RoundUp): rescale to exactly nine decimals, away from zero.
    if (decScale > 9) {
      const divisor = pow10(decScale - 9);
      const q = unscaled / divisor;
      unscaled = unscaled % divisor === 0n ? q : q + 1n;
    } else {
      unscaled *= pow10(9 - decScale);
    }
    decScale = 9;
  }
  // Go removes the sign before capping and before the below-one check, so both apply to magnitudes.
  if (format === QuantityFormat.BinarySI && abs(unscaled) > MAX_INT64 * pow10(decScale)) {
    unscaled = MAX_INT64;
    decScale = 0;
  }
  if (format === QuantityFormat.BinarySI && unscaled !== 0n && abs(unscaled) < pow10(decScale)) {
    format = QuantityFormat.DecimalSI;
  }
  return new Quantity(positive ? unscaled : -unscaled, decScale, format);
}

/** True when `text` parses as a Kubernetes quantity. */
export function isQuantity(text: string): boolean {
  return parseQuantity(text) !== undefined;
}

function removeFactors(value: bigint, base: bigint, max = Infinity): { value: bigint; times: number } {
  let v = value;
  let times = 0;
  while (times < max && abs(v) >= base && v % base === 0n) {
    v /= base;
    times++;
  }
  return { value: v, times };
}

// Go's CanonicalizeBytes. Two deliberate differences, both for values Go cannot print correctly:
// decimal exponents above 18 (no SI suffix exists; Go drops the suffix and prints a wrong number)
// are folded back into the mantissa, and binary powers stop at Ei for the same reason.
function canonical(q: Quantity): string {
  if (q.isZero()) return '0';
  let format = q.format;
  if (format === QuantityFormat.BinarySI) {
    const [v, lower] = aligned(q, new Quantity(-1024n, 0, format));
    const [, upper] = aligned(q, new Quantity(1024n, 0, format));
    if (v > lower && v < upper) {
      format = QuantityFormat.DecimalSI;
    } else if (q.scale > 0 && q.unscaled % pow10(q.scale) !== 0n) {
      // Rounding to an integer would lose precision: Go shows it as DecimalSI instead.
      format = QuantityFormat.DecimalSI;
    }
  }
  if (format === QuantityFormat.BinarySI) {
    const integer = q.scale >= 0 ? q.unscaled / pow10(q.scale) : q.unscaled * pow10(-q.scale);
    const { value, times } = removeFactors(integer, 1024n, 6);
    return `${value.toString()}${BINARY_SUFFIX_BY_POWER[times] ?? ''}`;
  }
  const removed = removeFactors(q.unscaled, 10n);
  let mantissa = removed.value;
  let exponent = removed.times - q.scale;
  while (exponent % 3 !== 0) {
    mantissa *= 10n;
    exponent--;
  }
  if (format === QuantityFormat.DecimalExponent) {
    return exponent === 0 ? mantissa.toString() : `${mantissa.toString()}e${String(exponent)}`;
  }
  while (exponent > 18) {
    mantissa *= 1000n;
    exponent -= 3;
  }
  return `${mantissa.toString()}${DECIMAL_SUFFIX_BY_EXPONENT.get(exponent) ?? ''}`;
}
