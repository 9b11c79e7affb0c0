// Kyverno's condition operators (pkg/engine/variables/operator/*.go), evaluated on substituted
// JSON keys and values. Every JSON number is a float64 in Go, so the int/int64 branches of the Go
// handlers collapse into the float64 ones here. Coercion order for strings, as Kyverno's:
// Go duration (either side; a number on the other side means seconds) → Kubernetes quantity →
// float → semver (numeric operators only) → wildcard string match.
import { durationFromNumberOfSeconds, durationSeconds, parseGoDuration } from '../units/duration.js';
import { goParseFloat, goParseInt, goSprint } from '../units/goNumber.js';
import { parseQuantity } from '../units/quantity.js';
import { compareSemVer, parseSemVer } from '../units/semver.js';
import { wildcardMatch } from '../wildcard/wildcard.js';
import { ConditionOperator } from './types.js';

/** Decides one condition from its substituted key and value. */
export type OperatorHandler = (key: unknown, value: unknown) => boolean;

const isObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);
const isScalarNumberOrString = (v: unknown): v is string | number => typeof v === 'string' || typeof v === 'number';

/** Go's reflect.DeepEqual on decoded JSON. */
function deepEqual(a: unknown, b: unknown): boolean {
  if (Array.isArray(a)) return Array.isArray(b) && a.length === b.length && a.every((x, i) => deepEqual(x, b[i]));
  if (isObject(a)) {
    if (!isObject(b)) return false;
    const keys = Object.keys(a);
    return keys.length === Object.keys(b).length && keys.every((k) => Object.hasOwn(b, k) && deepEqual(a[k], b[k]));
  }
  return a === b;
}

// ---------------------------------------------------------------------------------------------
// Durations (operator.go parseDuration): at least one side must be a duration string other than
// the literal "0"; the other side may be a duration string or a number of seconds.

function durationPair(key: unknown, value: unknown): [bigint, bigint] | undefined {
  let k = typeof key === 'string' && key !== '0' ? parseGoDuration(key) : undefined;
  let v = typeof value === 'string' && value !== '0' ? parseGoDuration(value) : undefined;
  if (k === undefined && v === undefined) return undefined;
  if (k === undefined) {
    if (typeof key !== 'number') return undefined;
    k = durationFromNumberOfSeconds(key);
  }
  if (v === undefined) {
    if (typeof value !== 'number') return undefined;
    v = durationFromNumberOfSeconds(value);
  }
  return [k, v];
}

// ---------------------------------------------------------------------------------------------
// Equals / NotEquals (equal.go, notequal.go)

function equals(key: unknown, value: unknown): boolean {
  if (typeof key === 'boolean') return typeof value === 'boolean' && key === value;
  if (typeof key === 'number') {
    if (typeof value === 'number') return key === value;
    if (typeof value === 'string') return goParseFloat(value) === key;
    return false;
  }
  if (typeof key === 'string') {
    const durations = durationPair(key, value);
    if (durations !== undefined) return durationSeconds(durations[0]) === durationSeconds(durations[1]);
    const quantityKey = parseQuantity(key);
    if (quantityKey !== undefined && typeof value === 'string') {
      // Kyverno quirk: once the key is a quantity, a string value must be one too — a wildcard
      // value such as "3.*" is not tried and the result is false.
      const quantityValue = parseQuantity(value);
      return quantityValue !== undefined && quantityKey.equals(quantityValue);
    }
    if (typeof value === 'string') return wildcardMatch(value, key); // the value is the pattern
    return false;
  }
  if (Array.isArray(key)) return Array.isArray(value) && deepEqual(key, value);
  if (isObject(key)) return isObject(value) && deepEqual(key, value);
  return false; // null key: Kyverno's "Unsupported type"
}

// NotEquals is the negation of Equals in every case JSON can produce: Kyverno's handler returns
// true on type mismatches and parse failures, which is exactly where Equals returns false.
const notEquals: OperatorHandler = (key, value) => !equals(key, value);

// ---------------------------------------------------------------------------------------------
// GreaterThan, GreaterThanOrEquals, LessThan, LessThanOrEquals (numeric.go)

type Comparison = (c: number) => boolean;

const COMPARISONS = {
  GreaterThan: (c: number) => c > 0,
  GreaterThanOrEquals: (c: number) => c >= 0,
  LessThan: (c: number) => c < 0,
  LessThanOrEquals: (c: number) => c <= 0,
} as const;

const cmpNumber = (a: number, b: number): number => (a < b ? -1 : a > b ? 1 : a === b ? 0 : NaN);
const cmpBigInt = (a: bigint, b: bigint): number => (a < b ? -1 : a > b ? 1 : 0);

function numericWithNumberKey(key: number, value: unknown, holds: Comparison): boolean {
  if (typeof value === 'number') return holds(cmpNumber(key, value));
  if (typeof value === 'string') {
    const durations = durationPair(key, value);
    if (durations !== undefined) return holds(cmpNumber(durationSeconds(durations[0]), durationSeconds(durations[1])));
    const f = goParseFloat(value);
    if (f !== undefined) return holds(cmpNumber(key, f));
    return false;
  }
  return false;
}

function numeric(holds: Comparison): OperatorHandler {
  return (key, value) => {
    if (typeof key === 'number') return numericWithNumberKey(key, value, holds);
    if (typeof key !== 'string') return false;
    const durations = durationPair(key, value);
    if (durations !== undefined) return holds(cmpNumber(durationSeconds(durations[0]), durationSeconds(durations[1])));
    if (typeof value === 'string') {
      const qk = parseQuantity(key);
      const qv = parseQuantity(value);
      if (qk !== undefined && qv !== undefined) return holds(qk.cmp(qv));
    }
    const f = goParseFloat(key);
    if (f !== undefined) return numericWithNumberKey(f, value, holds);
    const i = goParseInt(key);
    if (i !== undefined) return numericWithNumberKey(Number(i), value, holds);
    const version = parseSemVer(key);
    if (version !== undefined && typeof value === 'string') {
      const other = parseSemVer(value);
      return other !== undefined && holds(compareSemVer(version, other));
    }
    return false;
  };
}

// ---------------------------------------------------------------------------------------------
// Duration* (duration.go, deprecated): both sides as time.Duration, numbers as whole seconds.

function durationOperand(v: unknown): bigint | undefined {
  if (typeof v === 'number') return durationFromNumberOfSeconds(v);
  if (typeof v === 'string') return parseGoDuration(v);
  return undefined;
}

function durationOperator(holds: Comparison): OperatorHandler {
  return (key, value) => {
    if (typeof key !== 'number' && typeof key !== 'string') return false;
    const k = durationOperand(key);
    const v = durationOperand(value);
    return k !== undefined && v !== undefined && holds(cmpBigInt(k, v));
  };
}

// ---------------------------------------------------------------------------------------------
// Range patterns (pkg/engine/pattern and pkg/engine/operator): "1-10" is an inclusive range and
// "1!-10" its complement; endpoints may be numbers, quantities or durations.

const IN_RANGE = /^([-|+]?\d+(?:\.\d+)?[A-Za-z]*)-([-|+]?\d+(?:\.\d+)?[A-Za-z]*)$/;
const NOT_IN_RANGE = /^([-|+]?\d+(?:\.\d+)?[A-Za-z]*)!-([-|+]?\d+(?:\.\d+)?[A-Za-z]*)$/;

type PatternOperator = '' | '>=' | '<=' | '>' | '<' | '!' | '-' | '!-';

function patternOperator(pattern: string): PatternOperator {
  if (pattern.length < 2) return '';
  for (const op of ['>=', '<=', '>', '<', '!'] as const) if (pattern.startsWith(op)) return op;
  if (NOT_IN_RANGE.test(pattern)) return '!-';
  if (IN_RANGE.test(pattern)) return '-';
  return '';
}

function holdsFor(op: PatternOperator, c: number): boolean | undefined {
  switch (op) {
    case '':
      return c === 0;
    case '!':
      return c !== 0;
    case '>':
      return c > 0;
    case '<':
      return c < 0;
    case '>=':
      return c >= 0;
    case '<=':
      return c <= 0;
    default:
      return undefined;
  }
}

function validateString(value: string, pattern: string, op: PatternOperator): boolean {
  const pd = parseGoDuration(pattern);
  const vd = parseGoDuration(value);
  if (pd !== undefined && vd !== undefined) {
    const r = holdsFor(op, cmpBigInt(vd, pd));
    if (r !== undefined) return r;
  }
  const pq = parseQuantity(pattern);
  const vq = parseQuantity(value);
  if (pq !== undefined && vq !== undefined) {
    const r = holdsFor(op, vq.cmp(pq));
    if (r !== undefined) return r;
  }
  if (op === '') return wildcardMatch(pattern, value);
  if (op === '!') return !wildcardMatch(pattern, value);
  return false;
}

function validateStringPattern(value: string, pattern: string): boolean {
  const op = patternOperator(pattern);
  if (op === '-') {
    const m = IN_RANGE.exec(pattern);
    return m !== null && validateStringPattern(value, `>= ${m[1] ?? ''}`) && validateStringPattern(value, `<= ${m[2] ?? ''}`);
  }
  if (op === '!-') {
    const m = NOT_IN_RANGE.exec(pattern);
    return m !== null && (validateStringPattern(value, `< ${m[1] ?? ''}`) || validateStringPattern(value, `> ${m[2] ?? ''}`));
  }
  return validateString(value, pattern.slice(op.length).trim(), op);
}

/** Kyverno's pattern.Validate for a string value and a string pattern (`a|b`, `a&b`, ranges). */
function validatePattern(value: string, pattern: string): boolean {
  if (value === pattern) return true;
  return pattern.split('|').some((alternative) =>
    trimSpaces(alternative)
      .split('&')
      .every((part) => validateStringPattern(value, trimSpaces(part))),
  );
}

const trimSpaces = (s: string): string => s.replace(/^ +| +$/g, '');
const isRange = (value: string): boolean => patternOperator(value) === '-';

// ---------------------------------------------------------------------------------------------
// AnyIn, AllIn, AnyNotIn, AllNotIn (anyin.go, allin.go, anynotin.go, allnotin.go)

const INVALID = Symbol('invalid');

/** A value string as a list: a JSON array of strings, or the string itself when it is not JSON. */
function stringList(value: string, requireJson: boolean): string[] | typeof INVALID {
  let parsed: unknown;
  try {
    parsed = JSON.parse(value);
  } catch {
    return requireJson ? INVALID : [value];
  }
  if (parsed === null) return []; // Go decodes JSON null into an empty []string
  if (!Array.isArray(parsed)) return INVALID;
  const out: string[] = [];
  for (const item of parsed) {
    if (typeof item === 'string') out.push(item);
    else if (item === null) out.push('');
    else return INVALID;
  }
  return out;
}

const matchesEitherWay = (a: string, b: string): boolean => wildcardMatch(a, b) || wildcardMatch(b, a);

/** Does one scalar key (already stringified) occur in the value? INVALID for unusable values. */
function scalarIn(key: string, value: unknown): boolean | typeof INVALID {
  if (Array.isArray(value)) return value.some((v) => matchesEitherWay(goSprint(v), key));
  if (typeof value === 'string') {
    if (wildcardMatch(value, key)) return true;
    if (isRange(value)) return validatePattern(key, value);
    const list = stringList(value, false);
    return list === INVALID ? INVALID : list.includes(key);
  }
  return INVALID;
}

type SetMode = 'AnyIn' | 'AllIn' | 'AnyNotIn' | 'AllNotIn';

function setIn(keys: string[], value: unknown, mode: SetMode): boolean {
  const found = (k: string, values: string[]): boolean => values.some((v) => matchesEitherWay(k, v));
  const decide = (values: string[]): boolean => {
    switch (mode) {
      case 'AnyIn':
        return keys.some((k) => found(k, values));
      case 'AllIn':
        return keys.every((k) => found(k, values));
      case 'AnyNotIn':
        return keys.some((k) => !found(k, values));
      case 'AllNotIn':
        return keys.every((k) => !found(k, values));
    }
  };
  if (Array.isArray(value)) return decide(value.map(goSprint));
  if (typeof value === 'number') return decide([goSprint(value)]);
  if (typeof value !== 'string') return false;
  if (keys.length === 1 && keys[0] === value) return mode === 'AnyIn' || mode === 'AllIn';
  if (isRange(value)) {
    switch (mode) {
      case 'AnyIn':
        return keys.some((k) => validatePattern(k, value));
      case 'AllIn':
        return keys.every((k) => validatePattern(k, value));
      case 'AnyNotIn': {
        // Kyverno turns the range into its complement by rewriting the first '-' as '!-'.
        const complement = value.replace('-', '!-');
        return keys.some((k) => validatePattern(k, complement));
      }
      case 'AllNotIn':
        return !keys.some((k) => validatePattern(k, value));
    }
  }
  const list = stringList(value, false);
  return list !== INVALID && decide(list);
}

function membership(mode: SetMode, scalarKeysAllowBooleans: boolean): OperatorHandler {
  const negate = mode === 'AnyNotIn' || mode === 'AllNotIn';
  return (key, value) => {
    if (isScalarNumberOrString(key) || (scalarKeysAllowBooleans && typeof key === 'boolean')) {
      const found = scalarIn(goSprint(key), value);
      if (found === INVALID) return false;
      return negate ? !found : found;
    }
    if (Array.isArray(key)) return setIn(key.map(goSprint), value, mode);
    return false;
  };
}

// ---------------------------------------------------------------------------------------------
// In, NotIn (in.go, notin.go — deprecated): array keys use exact set containment, no wildcards.

function legacyScalarIn(key: string, value: unknown): boolean | typeof INVALID {
  if (Array.isArray(value)) return value.some((v) => matchesEitherWay(goSprint(v), key));
  if (typeof value === 'string') {
    if (wildcardMatch(value, key)) return true;
    const list = stringList(value, true);
    return list === INVALID ? INVALID : list.includes(key);
  }
  return INVALID;
}

function legacySet(keys: unknown[], value: unknown, notIn: boolean): boolean {
  // Kyverno asserts array keys are strings (and panics otherwise); here that is simply false.
  if (!keys.every((k): k is string => typeof k === 'string')) return false;
  let values: string[];
  if (Array.isArray(value)) {
    if (!value.every((v): v is string => typeof v === 'string')) return false;
    values = value;
  } else if (typeof value === 'string') {
    if (keys.length === 1 && keys[0] === value) return !notIn;
    const list = stringList(value, true);
    if (list === INVALID) return false;
    values = list;
  } else {
    return false;
  }
  const set = new Set(values);
  return notIn ? keys.some((k) => !set.has(k)) : keys.every((k) => set.has(k));
}

function legacyIn(notIn: boolean): OperatorHandler {
  return (key, value) => {
    if (isScalarNumberOrString(key)) {
      const found = legacyScalarIn(goSprint(key), value);
      if (found === INVALID) return false;
      return notIn ? !found : found;
    }
    if (Array.isArray(key)) return legacySet(key, value, notIn);
    return false;
  };
}

// ---------------------------------------------------------------------------------------------

const HANDLERS = new Map<string, OperatorHandler>([
  [ConditionOperator.Equal, equals],
  [ConditionOperator.Equals, equals],
  [ConditionOperator.NotEqual, notEquals],
  [ConditionOperator.NotEquals, notEquals],
  [ConditionOperator.In, legacyIn(false)],
  [ConditionOperator.NotIn, legacyIn(true)],
  [ConditionOperator.AnyIn, membership('AnyIn', true)],
  [ConditionOperator.AllIn, membership('AllIn', false)],
  [ConditionOperator.AnyNotIn, membership('AnyNotIn', false)],
  [ConditionOperator.AllNotIn, membership('AllNotIn', false)],
  [ConditionOperator.GreaterThan, numeric(COMPARISONS.GreaterThan)],
  [ConditionOperator.GreaterThanOrEquals, numeric(COMPARISONS.GreaterThanOrEquals)],
  [ConditionOperator.LessThan, numeric(COMPARISONS.LessThan)],
  [ConditionOperator.LessThanOrEquals, numeric(COMPARISONS.LessThanOrEquals)],
  [ConditionOperator.DurationGreaterThan, durationOperator(COMPARISONS.GreaterThan)],
  [ConditionOperator.DurationGreaterThanOrEquals, durationOperator(COMPARISONS.GreaterThanOrEquals)],
  [ConditionOperator.DurationLessThan, durationOperator(COMPARISONS.LessThan)],
  [ConditionOperator.DurationLessThanOrEquals, durationOperator(COMPARISONS.LessThanOrEquals)],
]);

const BY_LOWER_CASE = new Map([...HANDLERS].map(([name, handler]) => [name.toLowerCase(), handler]));

/** The handler of an operator name, matched case-insensitively as Kyverno does; undefined if unknown. */
export function operatorHandler(operator: string): OperatorHandler | undefined {
  return BY_LOWER_CASE.get(operator.toLowerCase());
}
