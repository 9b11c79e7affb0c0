// Semantic versions as Kyverno reads them through github.com/blang/semver/v4: `semver.Parse` is
// strict (`MAJOR.MINOR.PATCH[-pre][+build]`, no `v` prefix, no leading zeros) and is the last step
// of the numeric operators' coercion order; `semver.ParseRange` is the range syntax of the
// semver_compare JMESPath function (`">=1.0.0 <2.0.0 || >3.0.0"`, `!1.2.3`, `1.x`). npm's semver
// has a different range grammar (`^`, `~`, prerelease exclusion), so this small module mirrors
// blang instead of adapting npm's.

/** A parsed version; build metadata is kept but never compared (semver §10). */
export interface SemVer {
  readonly major: bigint;
  readonly minor: bigint;
  readonly patch: bigint;
  readonly prerelease: readonly (string | bigint)[];
  readonly build: readonly string[];
}

const NUMERIC = /^(0|[1-9]\d*)$/;
const IDENTIFIER = /^[0-9A-Za-z-]+$/;

/** blang `semver.Parse`; undefined where it returns an error. */
export function parseSemVer(text: string): SemVer | undefined {
  let rest = text;
  let build: string[] = [];
  const plus = rest.indexOf('+');
  if (plus !== -1) {
    build = rest.slice(plus + 1).split('.');
    rest = rest.slice(0, plus);
    if (!build.every((b) => IDENTIFIER.test(b))) return undefined;
  }
  let prerelease: (string | bigint)[] = [];
  const dash = rest.indexOf('-');
  if (dash !== -1) {
    const parts = rest.slice(dash + 1).split('.');
    rest = rest.slice(0, dash);
    for (const part of parts) {
      if (!IDENTIFIER.test(part)) return undefined;
      if (/^\d+$/.test(part)) {
        if (!NUMERIC.test(part)) return undefined; // numeric identifiers take no leading zeros
        prerelease = [...prerelease, BigInt(part)];
      } else {
        prerelease = [...prerelease, part];
      }
    }
  }
  const core = rest.split('.');
  if (core.length !== 3 || !core.every((c) => NUMERIC.test(c))) return undefined;
  const [major = '0', minor = '0', patch = '0'] = core;
  return { major: BigInt(major), minor: BigInt(minor), patch: BigInt(patch), prerelease, build };
}

const sign = (a: bigint, b: bigint): -1 | 0 | 1 => (a < b ? -1 : a > b ? 1 : 0);

/** Precedence order of two versions (semver §11): -1, 0 or 1. */
export function compareSemVer(a: SemVer, b: SemVer): -1 | 0 | 1 {
  const core = sign(a.major, b.major) || sign(a.minor, b.minor) || sign(a.patch, b.patch);
  if (core !== 0) return core;
  if (a.prerelease.length === 0 && b.prerelease.length === 0) return 0;
  if (a.prerelease.length === 0) return 1;
  if (b.prerelease.length === 0) return -1;
  const n = Math.min(a.prerelease.length, b.prerelease.length);
  for (let i = 0; i < n; i++) {
    const x = a.prerelease[i];
    const y = b.prerelease[i];
    if (typeof x === 'bigint' && typeof y === 'bigint') {
      const c = sign(x, y);
      if (c !== 0) return c;
    } else if (typeof x === 'bigint') {
      return -1; // numeric identifiers sort before alphanumeric ones
    } else if (typeof y === 'bigint') {
      return 1;
    } else if (x !== y) {
      return (x ?? '') < (y ?? '') ? -1 : 1;
    }
  }
  return sign(BigInt(a.prerelease.length), BigInt(b.prerelease.length));
}

/** A predicate over versions built from a blang range string. */
export type SemVerRange = (version: SemVer) => boolean;

type Comparator = '=' | '!=' | '>' | '>=' | '<' | '<=';

const COMPARATORS = new Map<string, Comparator>([
  ['', '='],
  ['=', '='],
  ['==', '='],
  ['!', '!='],
  ['!=', '!='],
  ['>', '>'],
  ['>=', '>='],
  ['<', '<'],
  ['<=', '<='],
]);

// blang's splitAndTrim: split on spaces, except a space right after an operator character, so
// ">= 1.2.3" is one part.
function splitParts(range: string): string[] {
  const parts: string[] = [];
  let last = 0;
  let lastChar = '';
  for (let i = 0; i < range.length; i++) {
    const c = range[i] ?? '';
    const afterOperator = lastChar === '>' || lastChar === '<' || lastChar === '=';
    if (c === ' ' && !afterOperator) {
      if (last < i - 1) parts.push(range.slice(last, i));
      last = i + 1;
    } else if (c !== ' ') {
      lastChar = c;
    }
  }
  if (last < range.length - 1) parts.push(range.slice(last));
  return parts.map((p) => p.replaceAll(' ', ''));
}

function comparatorPredicate(op: Comparator, version: SemVer): SemVerRange {
  switch (op) {
    case '=':
      return (v) => compareSemVer(v, version) === 0;
    case '!=':
      return (v) => compareSemVer(v, version) !== 0;
    case '>':
      return (v) => compareSemVer(v, version) > 0;
    case '>=':
      return (v) => compareSemVer(v, version) >= 0;
    case '<':
      return (v) => compareSemVer(v, version) < 0;
    case '<=':
      return (v) => compareSemVer(v, version) <= 0;
  }
}

const WILDCARD = /^(0|[1-9]\d*)\.(?:([xX*])|(0|[1-9]\d*)\.[xX*])$/;

// blang's expandWildcardVersion turns `1.x` / `1.2.x` into the bounds [lower, upper): equality
// means inside, `>` means at or above the upper bound, `<=` means below it, and so on.
function wildcardPredicate(op: Comparator, text: string): SemVerRange | undefined {
  const m = WILDCARD.exec(text);
  if (m === null) return undefined;
  const major = BigInt(m[1] ?? '0');
  const minorWild = m[2] !== undefined;
  const minor = minorWild ? 0n : BigInt(m[3] ?? '0');
  const lower: SemVer = { major, minor, patch: 0n, prerelease: [], build: [] };
  const upper: SemVer = minorWild
    ? { major: major + 1n, minor: 0n, patch: 0n, prerelease: [], build: [] }
    : { major, minor: minor + 1n, patch: 0n, prerelease: [], build: [] };
  const inside = (v: SemVer): boolean => compareSemVer(v, lower) >= 0 && compareSemVer(v, upper) < 0;
  switch (op) {
    case '=':
      return inside;
    case '!=':
      return (v) => !inside(v);
    case '>':
      return (v) => compareSemVer(v, upper) >= 0;
    case '>=':
      return (v) => compareSemVer(v, lower) >= 0;
    case '<':
      return (v) => compareSemVer(v, lower) < 0;
    case '<=':
      return (v) => compareSemVer(v, upper) < 0;
  }
}

/**
 * blang `semver.ParseRange`: space-separated comparators are ANDed, `||` ORs groups; a comparator
 * is an operator (`=`, `==`, `!`, `!=`, `>`, `>=`, `<`, `<=`, or none for equality) followed by a
 * strict version or an `x` wildcard. Throws an Error with blang's reason when the range is invalid.
 */
export function parseSemVerRange(range: string): SemVerRange {
  const parts = splitParts(range);
  const groups: string[][] = [[]];
  for (const [i, part] of parts.entries()) {
    if (part === '||') {
      if (i === 0 || i === parts.length - 1 || parts[i - 1] === '||') {
        throw new Error(`invalid range "${range}": misplaced "||"`);
      }
      groups.push([]);
    } else {
      groups.at(-1)?.push(part);
    }
  }
  const orGroups = groups.map((group) => {
    if (group.length === 0) throw new Error(`invalid range "${range}": empty comparator set`);
    const predicates = group.map((part) => {
      const at = part.search(/\d/);
      if (at === -1) throw new Error(`could not get version from string: "${part}"`);
      const op = COMPARATORS.get(part.slice(0, at));
      if (op === undefined) throw new Error(`could not parse comparator "${part.slice(0, at)}" in "${part}"`);
      const text = part.slice(at);
      const wildcard = wildcardPredicate(op, text);
      if (wildcard !== undefined) return wildcard;
      const version = parseSemVer(text);
      if (version === undefined) throw new Error(`invalid version "${text}" in range "${range}"`);
      return comparatorPredicate(op, version);
    });
    return (v: SemVer) => predicates.every((p) => p(v));
  });
  return (v) => orGroups.some((p) => p(v));
}
