// Kyverno's JMESPath function pack (pkg/engine/jmespath/functions.go, time.go, arithmetic.go),
// registered once on the shared interpreter when this module loads. Names that clash with the
// library's built-ins (split, replace, items, sum, trim) are registered with { override: true }
// so they take Kyverno's signatures and semantics. Argument types follow Kyverno's declarations;
// strings are treated as Go strings would be: Unicode code points, UTF-8 byte order.
//
// Not provided (an expression naming them is rejected as an unknown function): random,
// x509_decode, image_normalize, is_external_url — they are not used by attestation conditions
// and need data this verifier does not have (entropy-driven output, Go's x509 struct layout,
// Kyverno's image configuration).
import { createHash } from 'node:crypto';
import { TYPE_ANY, TYPE_ARRAY, TYPE_NUMBER, TYPE_OBJECT, TYPE_STRING, type InputSignature, type JSONValue } from '@jmespath-community/jmespath';
import { parse as parseYaml } from 'yaml';
import { formatGoDuration, parseGoDuration } from '../units/duration.js';
import { goFormatFloat32 } from '../units/goNumber.js';
import { parseSemVer, parseSemVerRange } from '../units/semver.js';
import { wildcardMatch } from '../wildcard/wildcard.js';
import * as arithmetic from './arithmetic.js';
import { FunctionError } from './errors.js';
import { goRegexpMatch, goRegexpReplaceAll } from './goRegexp.js';
import { formatRFC3339, goNow, goTimeAdd, goTimeFields, goTimeSub, goTimeTruncate, parseGoTime, parseRFC3339, type GoTime } from './goTime.js';
import { allowFunction, kyvernoInterpreter } from './interpreter.js';

type Args = readonly unknown[];
type Implementation = (args: Args) => unknown;

const str = (args: Args, i: number): string => {
  const v = args[i];
  return typeof v === 'string' ? v : '';
};
const num = (args: Args, i: number): number => {
  const v = args[i];
  return typeof v === 'number' ? v : 0;
};

/** Kyverno's ifaceToString: strings as-is, numbers as float32 'f' text, booleans as true/false. */
function stringOrNumber(name: string, position: number, value: unknown): string {
  if (typeof value === 'string') return value;
  if (typeof value === 'number') return goFormatFloat32(value);
  if (typeof value === 'boolean') return value ? 'true' : 'false';
  throw new FunctionError(name, `argument #${String(position)} is not of type String or Real`);
}

/** Applies `f` to each code point, keeping those it would expand (Go maps rune by rune). */
function mapRunes(s: string, f: (c: string) => string): string {
  let out = '';
  for (const c of s) {
    const mapped = f(c);
    out += Array.from(mapped).length === 1 ? mapped : c;
  }
  return out;
}

function foldEqual(a: string, b: string): boolean {
  const x = Array.from(a);
  const y = Array.from(b);
  if (x.length !== y.length) return false;
  return x.every((c, i) => {
    const d = y[i] ?? '';
    return c === d || c.toLowerCase() === d.toLowerCase() || c.toUpperCase() === d.toUpperCase();
  });
}

/** Go's strings.Replace(s, old, new, n): n < 0 means all; an empty `old` matches between runes. */
function goReplace(s: string, old: string, replacement: string, n: number): string {
  if (n === 0 || old === replacement) return s;
  if (old === '') {
    const runes = Array.from(s);
    let out = '';
    let count = 0;
    for (let i = 0; i <= runes.length; i++) {
      if (n < 0 || count < n) {
        out += replacement;
        count++;
      }
      out += runes[i] ?? '';
    }
    return out;
  }
  if (n < 0) return s.split(old).join(replacement);
  let out = '';
  let rest = s;
  for (let count = 0; count < n; count++) {
    const at = rest.indexOf(old);
    if (at === -1) break;
    out += rest.slice(0, at) + replacement;
    rest = rest.slice(at + old.length);
  }
  return out + rest;
}

function goTrim(s: string, cutset: string): string {
  if (s === '' || cutset === '') return s;
  const cut = new Set(Array.from(cutset));
  const runes = Array.from(s);
  let start = 0;
  let end = runes.length;
  while (start < end && cut.has(runes[start] ?? '')) start++;
  while (end > start && cut.has(runes[end - 1] ?? '')) end--;
  return runes.slice(start, end).join('');
}

/** Go's path.Clean (filepath.Join of one element on Linux). */
function cleanPath(p: string): string {
  if (p === '') return '.';
  const rooted = p.startsWith('/');
  const parts: string[] = [];
  for (const part of p.split('/')) {
    if (part === '' || part === '.') continue;
    if (part === '..') {
      if (parts.length > 0 && parts.at(-1) !== '..') parts.pop();
      else if (!rooted) parts.push('..');
    } else {
      parts.push(part);
    }
  }
  const joined = parts.join('/');
  if (rooted) return `/${joined}`;
  return joined === '' ? '.' : joined;
}

const BASE64 = /^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$/;

function timeArg(name: string, value: string): GoTime {
  try {
    return parseRFC3339(value);
  } catch (error) {
    throw new FunctionError(name, (error as Error).message);
  }
}

function durationArg(name: string, value: string): bigint {
  const d = parseGoDuration(value);
  if (d === undefined) throw new FunctionError(name, `time: invalid duration ${JSON.stringify(value)}`);
  return d;
}

function timeWithLayout(name: string, layout: string, value: string): GoTime {
  try {
    return layout === '' ? parseRFC3339(value) : parseGoTime(layout, value);
  } catch (error) {
    throw new FunctionError(name, (error as Error).message);
  }
}

function toJson(value: unknown): JSONValue {
  return value as JSONValue;
}

interface Definition {
  name: string;
  signature: InputSignature[];
  impl: Implementation;
}

const s = { types: [TYPE_STRING] };
const n = { types: [TYPE_NUMBER] };
const any = { types: [TYPE_ANY] };
const stringOrNum = { types: [TYPE_STRING, TYPE_NUMBER] };
const objectOrArray = { types: [TYPE_OBJECT, TYPE_ARRAY] };

const DEFINITIONS: Definition[] = [
  // Strings.
  { name: 'compare', signature: [s, s], impl: (a) => Math.sign(Buffer.compare(Buffer.from(str(a, 0)), Buffer.from(str(a, 1)))) },
  { name: 'equal_fold', signature: [s, s], impl: (a) => foldEqual(str(a, 0), str(a, 1)) },
  { name: 'replace', signature: [s, s, s, n], impl: (a) => goReplace(str(a, 0), str(a, 1), str(a, 2), Math.trunc(num(a, 3))) },
  { name: 'replace_all', signature: [s, s, s], impl: (a) => goReplace(str(a, 0), str(a, 1), str(a, 2), -1) },
  { name: 'to_upper', signature: [s], impl: (a) => mapRunes(str(a, 0), (c) => c.toUpperCase()) },
  { name: 'to_lower', signature: [s], impl: (a) => mapRunes(str(a, 0), (c) => c.toLowerCase()) },
  { name: 'trim', signature: [s, s], impl: (a) => goTrim(str(a, 0), str(a, 1)) },
  {
    name: 'trim_prefix',
    signature: [s, s],
    impl: (a) => (str(a, 0).startsWith(str(a, 1)) ? str(a, 0).slice(str(a, 1).length) : str(a, 0)),
  },
  { name: 'split', signature: [s, s], impl: (a) => (str(a, 1) === '' ? Array.from(str(a, 0)) : str(a, 0).split(str(a, 1))) },
  {
    name: 'truncate',
    signature: [s, n],
    impl: (a) =>
      Array.from(str(a, 0))
        .slice(0, Math.max(0, Math.trunc(num(a, 1))))
        .join(''),
  },
  {
    name: 'path_canonicalize',
    signature: [s],
    impl: (a) => cleanPath(str(a, 0)),
  },
  {
    name: 'to_boolean',
    signature: [s],
    impl: (a) => {
      const value = str(a, 0).toLowerCase();
      if (value === 'true') return true;
      if (value === 'false') return false;
      throw new FunctionError('to_boolean', `lowercase argument must be 'true' or 'false' (provided: '${str(a, 0)}')`);
    },
  },
  // Regular expressions and wildcards.
  {
    name: 'regex_match',
    signature: [s, stringOrNum],
    impl: (a) => {
      try {
        return goRegexpMatch(str(a, 0), stringOrNumber('regex_match', 2, a[1]));
      } catch (error) {
        throw new FunctionError('regex_match', (error as Error).message);
      }
    },
  },
  {
    name: 'regex_replace_all',
    signature: [s, stringOrNum, stringOrNum],
    impl: (a) => {
      try {
        return goRegexpReplaceAll(str(a, 0), stringOrNumber('regex_replace_all', 2, a[1]), stringOrNumber('regex_replace_all', 3, a[2]), false);
      } catch (error) {
        throw new FunctionError('regex_replace_all', (error as Error).message);
      }
    },
  },
  {
    name: 'regex_replace_all_literal',
    signature: [s, stringOrNum, stringOrNum],
    impl: (a) => {
      try {
        const src = stringOrNumber('regex_replace_all_literal', 2, a[1]);
        return goRegexpReplaceAll(str(a, 0), src, stringOrNumber('regex_replace_all_literal', 3, a[2]), true);
      } catch (error) {
        throw new FunctionError('regex_replace_all_literal', (error as Error).message);
      }
    },
  },
  {
    name: 'pattern_match',
    signature: [s, stringOrNum],
    impl: (a) => wildcardMatch(str(a, 0), stringOrNumber('pattern_match', 2, a[1])),
  },
  {
    name: 'label_match',
    signature: [{ types: [TYPE_OBJECT] }, { types: [TYPE_OBJECT] }],
    impl: (a) => {
      const labels = a[0] as Record<string, unknown>;
      const against = a[1] as Record<string, unknown>;
      // Go compares the label values as interfaces: equal scalars (or both null) match.
      return Object.entries(labels).every(([k, v]) => Object.hasOwn(against, k) && against[k] === v && (v === null || typeof v !== 'object'));
    },
  },
  // Arithmetic on numbers, quantities and durations.
  { name: 'add', signature: [any, any], impl: (a) => arithmetic.add(a[0], a[1]) },
  { name: 'sum', signature: [{ types: [TYPE_ARRAY] }], impl: (a) => arithmetic.sum(a[0]) },
  { name: 'subtract', signature: [any, any], impl: (a) => arithmetic.subtract(a[0], a[1]) },
  { name: 'multiply', signature: [any, any], impl: (a) => arithmetic.multiply(a[0], a[1]) },
  { name: 'divide', signature: [any, any], impl: (a) => arithmetic.divide(a[0], a[1]) },
  { name: 'modulo', signature: [any, any], impl: (a) => arithmetic.modulo(a[0], a[1]) },
  { name: 'round', signature: [n, n], impl: (a) => arithmetic.round(num(a, 0), num(a, 1)) },
  // Encodings and digests.
  {
    name: 'base64_decode',
    signature: [s],
    impl: (a) => {
      // Go's StdEncoding ignores CR and LF and otherwise insists on padded standard base64.
      const input = str(a, 0).replace(/[\r\n]/g, '');
      if (!BASE64.test(input)) throw new FunctionError('base64_decode', 'illegal base64 data');
      return Buffer.from(input, 'base64').toString('utf8');
    },
  },
  { name: 'base64_encode', signature: [s], impl: (a) => Buffer.from(str(a, 0), 'utf8').toString('base64') },
  { name: 'sha256', signature: [s], impl: (a) => createHash('sha256').update(str(a, 0)).digest('hex') },
  { name: 'sha1', signature: [s], impl: (a) => createHash('sha1').update(str(a, 0)).digest('hex') },
  { name: 'md5', signature: [s], impl: (a) => createHash('md5').update(str(a, 0)).digest('hex') },
  // Versions.
  {
    name: 'semver_compare',
    signature: [s, s],
    impl: (a) => {
      // blang: an unparsable version silently becomes 0.0.0; an unparsable range is an error.
      const version = parseSemVer(str(a, 0)) ?? { major: 0n, minor: 0n, patch: 0n, prerelease: [], build: [] };
      try {
        return parseSemVerRange(str(a, 1))(version);
      } catch (error) {
        throw new FunctionError('semver_compare', (error as Error).message);
      }
    },
  },
  // Structured data.
  {
    name: 'parse_json',
    signature: [s],
    impl: (a) => {
      try {
        return JSON.parse(str(a, 0)) as unknown;
      } catch (error) {
        throw new FunctionError('parse_json', (error as Error).message);
      }
    },
  },
  {
    name: 'parse_yaml',
    signature: [s],
    impl: (a) => {
      try {
        return (parseYaml(str(a, 0)) as unknown) ?? null;
      } catch (error) {
        throw new FunctionError('parse_yaml', (error as Error).message);
      }
    },
  },
  {
    name: 'lookup',
    signature: [objectOrArray, stringOrNum],
    impl: (a) => {
      const [input, key] = a;
      if (Array.isArray(input)) {
        if (typeof key !== 'number') throw new FunctionError('lookup', 'argument #2 is not of type Number');
        if (Math.trunc(key) !== key) throw new FunctionError('lookup', 'argument #2: expected an integer number');
        return key < 0 || key >= input.length ? null : (input[key] as unknown);
      }
      if (typeof key !== 'string') throw new FunctionError('lookup', 'argument #2 is not of type String');
      const object = input as Record<string, unknown>;
      return Object.hasOwn(object, key) ? object[key] : null;
    },
  },
  {
    name: 'items',
    signature: [objectOrArray, s, s],
    impl: (a) => {
      const [input] = a;
      const k = str(a, 1);
      const v = str(a, 2);
      if (Array.isArray(input)) return input.map((value: unknown, index) => ({ [k]: index, [v]: value }));
      const object = input as Record<string, unknown>;
      // Kyverno sorts the keys so the output is deterministic.
      return Object.keys(object)
        .sort((x, y) => Buffer.compare(Buffer.from(x), Buffer.from(y)))
        .map((key) => ({ [k]: key, [v]: object[key] }));
    },
  },
  {
    name: 'object_from_lists',
    signature: [{ types: [TYPE_ARRAY] }, { types: [TYPE_ARRAY] }],
    impl: (a) => {
      const keys = a[0] as unknown[];
      const values = a[1] as unknown[];
      const out: Record<string, unknown> = {};
      keys.forEach((key, i) => {
        out[stringOrNumber('object_from_lists', 1, key)] = i < values.length ? values[i] : null;
      });
      return out;
    },
  },
  // Time.
  {
    name: 'time_since',
    signature: [s, s, s],
    impl: (a) => {
      const start = timeWithLayout('time_since', str(a, 0), str(a, 1));
      const end = str(a, 2) === '' ? goNow(false) : timeWithLayout('time_since', str(a, 0), str(a, 2));
      return formatGoDuration(goTimeSub(end, start));
    },
  },
  { name: 'time_now', signature: [], impl: () => formatRFC3339(goNow(true)) },
  { name: 'time_now_utc', signature: [], impl: () => formatRFC3339(goNow(false)) },
  {
    name: 'time_add',
    signature: [s, s],
    impl: (a) => formatRFC3339(goTimeAdd(timeArg('time_add', str(a, 0)), durationArg('time_add', str(a, 1)))),
  },
  {
    name: 'time_parse',
    signature: [s, s],
    impl: (a) => {
      const layout = str(a, 0);
      if (/^[+-]?\d+$/.test(layout)) {
        // Any integer layout means "epoch seconds" in Kyverno.
        const value = str(a, 1);
        if (!/^[+-]?\d+$/.test(value)) throw new FunctionError('time_parse', `invalid epoch time ${JSON.stringify(value)}`);
        return formatRFC3339({ ns: BigInt(value) * 1_000_000_000n, offset: 0 });
      }
      return formatRFC3339(timeWithLayout('time_parse', layout, str(a, 1)));
    },
  },
  { name: 'time_utc', signature: [s], impl: (a) => formatRFC3339({ ...timeArg('time_utc', str(a, 0)), offset: 0 }) },
  {
    name: 'time_diff',
    signature: [s, s],
    impl: (a) => formatGoDuration(goTimeSub(timeArg('time_diff', str(a, 1)), timeArg('time_diff', str(a, 0)))),
  },
  {
    name: 'time_before',
    signature: [s, s],
    impl: (a) => timeArg('time_before', str(a, 0)).ns < timeArg('time_before', str(a, 1)).ns,
  },
  {
    name: 'time_after',
    signature: [s, s],
    impl: (a) => timeArg('time_after', str(a, 0)).ns > timeArg('time_after', str(a, 1)).ns,
  },
  {
    name: 'time_between',
    signature: [s, s, s],
    impl: (a) => {
      const t = timeArg('time_between', str(a, 0)).ns;
      return t > timeArg('time_between', str(a, 1)).ns && t < timeArg('time_between', str(a, 2)).ns;
    },
  },
  {
    name: 'time_truncate',
    signature: [s, s],
    impl: (a) => formatRFC3339(goTimeTruncate(timeArg('time_truncate', str(a, 0)), durationArg('time_truncate', str(a, 1)))),
  },
  {
    name: 'time_to_cron',
    signature: [s],
    impl: (a) => {
      const f = goTimeFields(timeArg('time_to_cron', str(a, 0)));
      return `${String(f.minute)} ${String(f.hour)} ${String(f.day)} ${String(f.month)} ${String(f.weekday)}`;
    },
  },
];

/** The names of the Kyverno functions this pack provides. */
export const KYVERNO_FUNCTIONS: readonly string[] = DEFINITIONS.map((d) => d.name);

for (const { name, signature, impl } of DEFINITIONS) {
  const result = kyvernoInterpreter.runtime.register(name, (args) => toJson(impl(args)), signature, { override: true });
  if (!result.success) throw new Error(`registering JMESPath function ${name}(): ${result.message}`);
  allowFunction(name);
}
