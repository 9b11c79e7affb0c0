// Kyverno's arithmetic JMESPath functions (pkg/engine/jmespath/arithmetic.go): add, sum, subtract,
// multiply, divide, modulo work on three kinds of operands — JSON numbers (scalars), strings that
// parse as Kubernetes quantities, and strings that parse as Go durations (quantity is tried first,
// so `"1m"` is a milli-quantity, `"1h"` a duration). Which kinds combine, and what kind the result
// is, follows Kyverno's table below; anything else is a type-mismatch error.
//
//   Q ± Q → Q   D ± D → D   S ± S → S
//   Q × S → Q   D × S → D   S × S → S   S × Q → Q   S × D → D
//   Q ÷ Q → S   Q ÷ S → Q   D ÷ D → S   D ÷ S → D   S ÷ S → S
//   Q % Q → Q   D % D → D   S % S → S
import { formatGoDuration, durationSeconds, parseGoDuration } from '../units/duration.js';
import { Quantity, parseQuantity, quantityFromInteger } from '../units/quantity.js';
import { goFormatFloat } from '../units/goNumber.js';
import { FunctionError } from './errors.js';

type Operand = { kind: 'scalar'; value: number } | { kind: 'quantity'; value: Quantity } | { kind: 'duration'; value: bigint };

function operand(name: string, arg: unknown): Operand {
  if (typeof arg === 'number') return { kind: 'scalar', value: arg };
  if (typeof arg === 'string') {
    const q = parseQuantity(arg);
    if (q !== undefined) return { kind: 'quantity', value: q };
    const d = parseGoDuration(arg);
    if (d !== undefined) return { kind: 'duration', value: d };
  }
  throw new FunctionError(name, 'invalid operands');
}

const mismatch = (name: string): FunctionError => new FunctionError(name, 'types mismatch');
const zeroDivision = (name: string): FunctionError => new FunctionError(name, 'zero divisor');
const nonInteger = (name: string): FunctionError => new FunctionError(name, 'non-integer argument(s)');

/** A scalar as the quantity Go gets from `resource.ParseQuantity(fmt.Sprintf("%v", f))`. */
function scalarQuantity(name: string, value: number): Quantity {
  const q = parseQuantity(goFormatFloat(value));
  if (q === undefined) throw new FunctionError(name, `cannot use ${goFormatFloat(value)} as a quantity`);
  return q;
}

/** Go's `time.Duration(seconds * float64(time.Second))`: float nanoseconds truncated to int64. */
function durationFromSeconds(seconds: number): bigint {
  const ns = seconds * 1e9;
  if (!Number.isFinite(ns)) return ns > 0 ? (1n << 63n) - 1n : -(1n << 63n);
  return BigInt(Math.trunc(ns));
}

function addOperands(name: string, a: Operand, b: Operand, sign: 1n | -1n): unknown {
  if (a.kind === 'quantity' && b.kind === 'quantity') {
    return (sign === 1n ? a.value.add(b.value) : a.value.sub(b.value)).toString();
  }
  if (a.kind === 'duration' && b.kind === 'duration') return formatGoDuration(a.value + sign * b.value);
  if (a.kind === 'scalar' && b.kind === 'scalar') return sign === 1n ? a.value + b.value : a.value - b.value;
  throw mismatch(name);
}

/** add(a, b) */
export function add(a: unknown, b: unknown): unknown {
  return addOperands('add', operand('add', a), operand('add', b), 1n);
}

/** subtract(a, b) */
export function subtract(a: unknown, b: unknown): unknown {
  return addOperands('subtract', operand('subtract', a), operand('subtract', b), -1n);
}

/** sum(array): left fold of add over at least one element. */
export function sum(items: unknown): unknown {
  if (!Array.isArray(items)) throw mismatch('sum');
  if (items.length === 0) throw new FunctionError('sum', 'at least one element in the array is required');
  let result: unknown = items[0];
  for (const item of items.slice(1)) result = addOperands('sum', operand('sum', result), operand('sum', item), 1n);
  return result;
}

function multiplyOperands(a: Operand, b: Operand): unknown {
  if (a.kind === 'scalar' && b.kind === 'scalar') return a.value * b.value;
  if (a.kind === 'scalar' && b.kind !== 'scalar') return multiplyOperands(b, a);
  if (a.kind === 'quantity' && b.kind === 'scalar') {
    return a.value.mul(scalarQuantity('multiply', b.value), a.value.format).toString();
  }
  if (a.kind === 'duration' && b.kind === 'scalar') {
    return formatGoDuration(durationFromSeconds(durationSeconds(a.value) * b.value));
  }
  throw mismatch('multiply');
}

/** multiply(a, b) */
export function multiply(a: unknown, b: unknown): unknown {
  return multiplyOperands(operand('multiply', a), operand('multiply', b));
}

/** divide(a, b) */
export function divide(a: unknown, b: unknown): unknown {
  const x = operand('divide', a);
  const y = operand('divide', b);
  if (x.kind === 'quantity' && y.kind === 'quantity') {
    const divisor = y.value.toApproximateNumber();
    if (divisor === 0) throw zeroDivision('divide');
    return x.value.toApproximateNumber() / divisor;
  }
  if (x.kind === 'quantity' && y.kind === 'scalar') {
    if (y.value === 0) throw zeroDivision('divide');
    const q = scalarQuantity('divide', y.value);
    return x.value.quoRoundDown(q, Math.max(x.value.scale, q.scale), x.value.format).toString();
  }
  if (x.kind === 'duration' && y.kind === 'duration') {
    if (durationSeconds(y.value) === 0) throw zeroDivision('divide');
    return durationSeconds(x.value) / durationSeconds(y.value);
  }
  if (x.kind === 'duration' && y.kind === 'scalar') {
    if (y.value === 0) throw zeroDivision('divide');
    return formatGoDuration(durationFromSeconds(durationSeconds(x.value) / y.value));
  }
  if (x.kind === 'scalar' && y.kind === 'scalar') {
    if (y.value === 0) throw zeroDivision('divide');
    return x.value / y.value;
  }
  throw mismatch('divide');
}

/** Go's int64(f) with the check Kyverno makes that nothing was truncated. */
function wholeNumber(value: number): bigint | undefined {
  if (!Number.isFinite(value) || Math.trunc(value) !== value) return undefined;
  return BigInt(value);
}

/** modulo(a, b) */
export function modulo(a: unknown, b: unknown): unknown {
  const x = operand('modulo', a);
  const y = operand('modulo', b);
  if (x.kind === 'quantity' && y.kind === 'quantity') {
    const i1 = wholeNumber(x.value.toApproximateNumber());
    const i2 = wholeNumber(y.value.toApproximateNumber());
    if (i1 === undefined || i2 === undefined) throw nonInteger('modulo');
    if (i2 === 0n) throw zeroDivision('modulo');
    return quantityFromInteger(i1 % i2, x.value.format).toString();
  }
  if (x.kind === 'duration' && y.kind === 'duration') {
    if (y.value === 0n) throw zeroDivision('modulo');
    return formatGoDuration(x.value % y.value);
  }
  if (x.kind === 'scalar' && y.kind === 'scalar') {
    const i1 = wholeNumber(x.value);
    const i2 = wholeNumber(y.value);
    if (i1 === undefined || i2 === undefined) throw nonInteger('modulo');
    if (i2 === 0n) throw zeroDivision('modulo');
    return Number(i1 % i2);
  }
  throw mismatch('modulo');
}

/** Go's math.Round: half away from zero. */
function goRound(x: number): number {
  const t = Math.trunc(x);
  return Math.abs(x - t) >= 0.5 ? t + Math.sign(x) : t;
}

/** round(number, places): places must be a non-negative integer. */
export function round(value: number, places: number): number {
  if (Math.trunc(places) !== places) throw new FunctionError('round', 'expected an integer number of decimal places');
  if (places < 0) throw new FunctionError('round', 'the number of decimal places must not be negative');
  const shift = 10 ** places;
  return goRound(value * shift) / shift;
}
