// Kyverno's wildcard matching (`ext/wildcard` → github.com/IGLOU-EU/go-wildcard v1.0.3 `Match`),
// used for condition values (`Equals "v1.*"`, AnyIn…), pattern_match(), imageReferences and
// attestation imageReference: `*` matches any run of characters, `/` included, and the empty run;
// `?` matches exactly one character; nothing else is special and there is no escaping; matching
// is case-sensitive and covers the whole string; an empty pattern matches only the empty string.
// Characters are Unicode code points (go-wildcard v1 walks runes).
//
// Why not micromatch (the obvious choice, "configured for that"): no combination of its
// options gives these semantics. With {bash, dot, nobrace, nobracket, noextglob, nonegate,
// noquantifiers} and every other glob character escaped, micromatch 4.0.8 / picomatch 2.3.2 still
// (1) never lets `?` match `/`, (2) never lets a lone `*` match the empty string, (3) refuses
// `.`/`..` path segments under `*`, and (4) matches UTF-16 code units, not characters; and
// `noquantifiers` is only a braces option that picomatch ignores. wildcard.test.ts pins each of
// these differences, so the decision is re-checked whenever micromatch changes. The matcher is
// therefore written directly: a two-pointer glob walk, linear in the common case and O(n·m) at
// worst, so no pattern can cause catastrophic backtracking (a RegExp translation could).
import { BoundedCache } from './boundedCache.js';

/** A compiled Kyverno wildcard pattern. */
export type WildcardMatcher = (value: string) => boolean;

const STAR = '*';
const ANY = '?';

// Compiled matchers are cached because the same policy patterns come back on every admission
// request; the bound keeps a stream of distinct patterns from growing memory.
const matchers = new BoundedCache<string, WildcardMatcher>(2048);

function compile(pattern: string): WildcardMatcher {
  if (pattern === '') return (value) => value === '';
  if (!pattern.includes(STAR) && !pattern.includes(ANY)) return (value) => value === pattern;
  if (/^\*+$/.test(pattern)) return () => true;
  const pat = Array.from(pattern);
  return (value) => globMatch(pat, Array.from(value));
}

function globMatch(pat: readonly string[], str: readonly string[]): boolean {
  let p = 0;
  let s = 0;
  let starAt = -1; // position of the last `*` seen in the pattern
  let resumeAt = 0; // where in the value that `*` currently stops
  while (s < str.length) {
    const c = pat[p];
    if (c !== undefined && c !== STAR && (c === ANY || c === str[s])) {
      p++;
      s++;
    } else if (c === STAR) {
      starAt = p++;
      resumeAt = s;
    } else if (starAt !== -1) {
      // Let the last `*` swallow one more character and retry from just after it.
      p = starAt + 1;
      s = ++resumeAt;
    } else {
      return false;
    }
  }
  while (pat[p] === STAR) p++;
  return p === pat.length;
}

/** The compiled, cached matcher for a Kyverno wildcard pattern. */
export function wildcardMatcher(pattern: string): WildcardMatcher {
  return matchers.getOrCreate(pattern, compile);
}

/**
 * True when `value` matches the Kyverno wildcard `pattern` (go-wildcard v1.0.3 `Match(pattern, value)`):
 * `*` = any run of characters including `/` and the empty run, `?` = exactly one character,
 * everything else literal and case-sensitive, whole-string match.
 */
export function wildcardMatch(pattern: string, value: string): boolean {
  return wildcardMatcher(pattern)(value);
}

/** True when the pattern contains a wildcard character (`*` or `?`). */
export function hasWildcard(pattern: string): boolean {
  return pattern.includes(STAR) || pattern.includes(ANY);
}
