// Canonical JSON: one byte sequence per JSON value, so that hashes of configuration (bundle version, policy
// version, cache keys — docs/architecture.md "The bundle contract") depend only on content, never on key order or formatting.
//
// The serialisation follows RFC 8785 (JSON Canonicalization Scheme): object keys sorted by UTF-16 code units
// (§3.2.3, which is what Array.prototype.sort does for strings), no whitespace, numbers in ECMAScript
// Number.prototype.toString form (§3.2.2.3, what JSON.stringify emits; -0 becomes 0) and strings escaped as
// JSON.stringify does (§3.2.2.2). Values that JSON cannot represent are refused instead of being silently
// dropped or rewritten the way JSON.stringify does (undefined → omitted, NaN → null, Date → string), because a
// hash over a silently altered value would hide the bug that produced it.
import { createHash } from 'node:crypto';
import { Outcome, defineError } from '../errors.js';

/** A value canonicalJson accepts: plain JSON data. */
export type JsonValue = null | boolean | number | string | JsonValue[] | { [key: string]: JsonValue };

/** The value cannot be canonicalised (not plain JSON data): a programming error of the caller. */
export const ERR_NOT_JSON = defineError('KNA_ERR_NOT_JSON', Outcome.Internal, (path: string, why: string) => `cannot canonicalise ${path}: ${why}`);

// A lone surrogate has no UTF-8 encoding; RFC 8785 §3.2.2.2 requires valid Unicode string data. (No `u` flag:
// the pattern must look at UTF-16 code units.)
const LONE_SURROGATE = /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/;

function describe(value: unknown): string {
  if (value === undefined) return 'undefined';
  if (typeof value === 'function') return 'a function';
  if (typeof value === 'symbol') return 'a symbol';
  if (typeof value === 'bigint') return 'a bigint';
  if (typeof value === 'number') return String(value);
  const proto: unknown = Object.getPrototypeOf(value);
  const ctor = typeof proto === 'object' && proto !== null ? (proto as { constructor?: { name?: unknown } }).constructor?.name : undefined;
  return typeof ctor === 'string' ? `an instance of ${ctor}` : 'an object with a non-plain prototype';
}

function member(path: string, key: string): string {
  return /^[A-Za-z_$][\w$]*$/.test(key) ? `${path}.${key}` : `${path}[${JSON.stringify(key)}]`;
}

function write(value: unknown, path: string, out: string[], ancestors: Set<object>): void {
  if (value === null) {
    out.push('null');
    return;
  }
  switch (typeof value) {
    case 'boolean':
      out.push(value ? 'true' : 'false');
      return;
    case 'number':
      if (!Number.isFinite(value)) throw new ERR_NOT_JSON(path, `${describe(value)} is not a JSON number`);
      out.push(JSON.stringify(value));
      return;
    case 'string':
      if (LONE_SURROGATE.test(value)) throw new ERR_NOT_JSON(path, 'the string contains a lone UTF-16 surrogate (not valid Unicode)');
      out.push(JSON.stringify(value));
      return;
    case 'object':
      break;
    default:
      throw new ERR_NOT_JSON(path, `${describe(value)} is not a JSON value`);
  }
  if (ancestors.has(value)) throw new ERR_NOT_JSON(path, 'the value contains a cycle');
  ancestors.add(value);
  if (Array.isArray(value)) {
    out.push('[');
    for (let i = 0; i < value.length; i++) {
      if (i > 0) out.push(',');
      // A hole in a sparse array reads as undefined and is refused like any undefined.
      write(value[i], `${path}[${i}]`, out, ancestors);
    }
    out.push(']');
  } else {
    const proto: unknown = Object.getPrototypeOf(value);
    if (proto !== Object.prototype && proto !== null) throw new ERR_NOT_JSON(path, `${describe(value)} is not a plain JSON object`);
    if (Object.getOwnPropertySymbols(value).length > 0) throw new ERR_NOT_JSON(path, 'the object has symbol keys');
    const record = value as Record<string, unknown>;
    const keys = Object.keys(record).sort();
    out.push('{');
    keys.forEach((key, i) => {
      if (LONE_SURROGATE.test(key)) throw new ERR_NOT_JSON(member(path, key), 'the key contains a lone UTF-16 surrogate (not valid Unicode)');
      if (i > 0) out.push(',');
      out.push(JSON.stringify(key), ':');
      write(record[key], member(path, key), out, ancestors);
    });
    out.push('}');
  }
  ancestors.delete(value);
}

/**
 * The canonical JSON text of `value` (RFC 8785 style: sorted keys, no whitespace). Throws ERR_NOT_JSON, naming
 * the offending JSON path, for undefined, functions, symbols, bigints, NaN/±Infinity, non-plain objects (Date,
 * Map, class instances), cycles and strings that are not valid Unicode.
 */
export function canonicalJson(value: unknown): string {
  const out: string[] = [];
  write(value, '$', out, new Set());
  return out.join('');
}

/**
 * The canonical JSON text of an object whose member values are already canonical JSON texts (each the output of
 * canonicalJson or of this function): what canonicalJson of the whole object gives, without serialising the
 * members again. Keys must be distinct. The bundle render assembles its text from per-object pieces this way.
 */
export function canonicalObjectText(members: Iterable<readonly [string, string]>): string {
  const sorted = [...members].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
  const out: string[] = ['{'];
  sorted.forEach(([key, text], i) => {
    if (LONE_SURROGATE.test(key)) throw new ERR_NOT_JSON(member('$', key), 'the key contains a lone UTF-16 surrogate (not valid Unicode)');
    if (i > 0) {
      if (key === sorted[i - 1]?.[0]) throw new ERR_NOT_JSON(member('$', key), 'the key is given twice');
      out.push(',');
    }
    out.push(JSON.stringify(key), ':', text);
  });
  out.push('}');
  return out.join('');
}

/** Lowercase hex SHA-256 of the UTF-8 encoding of `text`. */
export function sha256Hex(text: string): string {
  return createHash('sha256').update(text, 'utf8').digest('hex');
}
