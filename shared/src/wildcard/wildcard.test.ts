import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import micromatch from 'micromatch';
import { hasWildcard, wildcardMatch, wildcardMatcher } from './wildcard.js';
import { BoundedCache } from './boundedCache.js';

/** The rule written out directly: a memoised recursion over code points, the test oracle. */
function reference(pattern: string, value: string): boolean {
  const p = Array.from(pattern);
  const s = Array.from(value);
  const memo = new Map<string, boolean>();
  const go = (i: number, j: number): boolean => {
    const key = `${String(i)},${String(j)}`;
    const cached = memo.get(key);
    if (cached !== undefined) return cached;
    let result: boolean;
    if (i === p.length) result = j === s.length;
    else if (p[i] === '*') result = go(i + 1, j) || (j < s.length && go(i, j + 1));
    else if (j === s.length) result = false;
    else if (p[i] === '?') result = go(i + 1, j + 1);
    else result = p[i] === s[j] && go(i + 1, j + 1);
    memo.set(key, result);
    return result;
  };
  return go(0, 0);
}

// Results of github.com/IGLOU-EU/go-wildcard v1.0.3 Match(pattern, s), the library Kyverno's
// ext/wildcard wraps, for the cases that matter to image references and condition values.
const GO_TABLE: [pattern: string, value: string, expected: boolean][] = [
  ['', '', true],
  ['', 'a', false],
  ['*', '', true],
  ['**', '', true],
  ['*', 'anything/at/all', true],
  ['?', '', false],
  ['?', 'a', true],
  ['?', '/', true], // `?` crosses `/`
  ['??', 'a', false],
  ['a?c', 'abc', true],
  ['a?c', 'a/c', true],
  ['a?c', 'ac', false],
  ['ghcr.io/org/*', 'ghcr.io/org/app:v1', true],
  ['ghcr.io/org/*', 'ghcr.io/org/sub/app:v1', true], // `*` crosses `/`
  ['ghcr.io/org/*', 'ghcr.io/other/app', false],
  ['*.dkr.ecr.*.amazonaws.com/*', '111122223333.dkr.ecr.us-west-2.amazonaws.com/demo:v1', true],
  ['*/demo:*', 'registry.example/team/demo:v1-unsigned', true],
  ['a*b*c', 'abc', true],
  ['a*b*c', 'aXXbYYc', true],
  ['a*b*c', 'acb', false],
  ['*?', '', false],
  ['*?', 'x', true],
  ['v1.*', 'v1.2.3', true],
  ['v1.*', 'v10.0', false],
  ['a.b', 'axb', false], // `.` is literal (go-wildcard v2 made it a wildcard; v1 does not)
  ['ABC', 'abc', false], // case-sensitive
  ['abc', 'abcd', false], // whole string
  ['bcd', 'abcd', false],
  ['[a]', 'a', false], // no character classes
  ['[a]', '[a]', true],
  ['a{1,2}', 'a{1,2}', true], // no braces or quantifiers
  ['a{1,2}', 'a1', false],
  ['!(x)', '!(x)', true], // no negation or extglob
  ['!x', 'y', false],
  ['+(a)', '+(a)', true],
  ['@(a|b)', '@(a|b)', true],
  ['@(a|b)', 'a', false],
  ['\\*', '\\anything', true], // no escaping: a backslash is a literal character
  ['\\*', '*', false],
  ['a\\?', 'a\\b', true],
  ['*/', 'a/b/', true],
  ['.*', '.hidden', true],
  ['*', '..', true],
  ['a/*/b', 'a/../b', true],
  ['?', '\u{1f600}', true], // one character, even outside the BMP
  ['??', '\u{1f600}', false],
];

describe('wildcardMatch (Kyverno / go-wildcard v1.0.3)', () => {
  for (const [pattern, value, expected] of GO_TABLE) {
    it(`${JSON.stringify(pattern)} ${expected ? 'matches' : 'does not match'} ${JSON.stringify(value)}`, () => {
      assert.equal(wildcardMatch(pattern, value), expected);
      assert.equal(reference(pattern, value), expected, 'the test oracle disagrees with Go');
    });
  }

  // Patterns and values drawn from an alphabet rich in the characters that are special somewhere:
  // glob syntax, regex syntax, path separators, dots, backslashes and a non-BMP character.
  const alphabet = fc.constantFrom('a', 'b', '/', '.', '*', '?', '[', ']', '(', ')', '{', '}', '!', '+', '@', '|', '\\', '^', '$', ',', '-', '\u{1f600}');
  const text = (maxLength: number) => fc.array(alphabet, { maxLength }).map((cs) => cs.join(''));

  it('agrees with the direct rule on random patterns and values', () => {
    fc.assert(
      fc.property(text(8), text(12), (pattern, value) => {
        assert.equal(wildcardMatch(pattern, value), reference(pattern, value));
      }),
      { numRuns: 20_000 },
    );
  });

  it('agrees with the direct rule on values built to match (so positives are exercised too)', () => {
    const segment = fc.oneof(
      text(3).map((t) => ({ pattern: t.replace(/[*?]/g, 'a'), value: t.replace(/[*?]/g, 'a') })),
      text(4).map((t) => ({ pattern: '*', value: t })),
      fc.constantFrom('a', '/', '\u{1f600}', '*').map((c) => ({ pattern: '?', value: c })),
    );
    fc.assert(
      fc.property(fc.array(segment, { maxLength: 6 }), (segments) => {
        const pattern = segments.map((s) => s.pattern).join('');
        const value = segments.map((s) => s.value).join('');
        assert.equal(wildcardMatch(pattern, value), true, `${pattern} vs ${value}`);
        assert.equal(reference(pattern, value), true);
      }),
      { numRuns: 5_000 },
    );
  });

  it('a pattern without wildcards matches only itself', () => {
    fc.assert(
      fc.property(
        fc.string().filter((s) => !hasWildcard(s)),
        fc.string(),
        (pattern, value) => {
          assert.equal(wildcardMatch(pattern, value), pattern === value);
        },
      ),
    );
  });

  it('stays fast on patterns that make backtracking matchers explode', () => {
    const value = 'a'.repeat(5000);
    const started = performance.now();
    assert.equal(wildcardMatch(`${'*a'.repeat(30)}b`, value), false);
    // A backtracking matcher needs on the order of 5000^30 steps here (it never returns); a linear one
    // takes milliseconds. The bound only tells the two apart, with room for a machine at load 30.
    assert.ok(performance.now() - started < 60_000, 'matching backtracks exponentially');
  });

  it('returns the same compiled matcher for the same pattern', () => {
    assert.equal(wildcardMatcher('a*'), wildcardMatcher('a*'));
  });
});

// Why the matcher is not micromatch (see wildcard.ts): these pin micromatch's behaviour with
// every option a Kyverno-wildcard configuration of micromatch needs. If one of them starts failing, micromatch changed and the
// decision can be revisited.
describe('micromatch cannot express the Kyverno rule', () => {
  const options = { bash: true, dot: true, nobrace: true, nobracket: true, noextglob: true, nonegate: true, noquantifiers: true };
  it('keeps `?` from matching `/`', () => {
    assert.equal(micromatch.isMatch('a/b', 'a?b', options), false);
    assert.equal(wildcardMatch('a?b', 'a/b'), true);
  });
  it('does not let a lone `*` match the empty string', () => {
    assert.equal(micromatch.isMatch('', '*', options), false);
    assert.equal(wildcardMatch('*', ''), true);
  });
  it('refuses dot segments under `*` even with dot: true', () => {
    assert.equal(micromatch.isMatch('a/../b', 'a*b', options), false);
    assert.equal(wildcardMatch('a*b', 'a/../b'), true);
  });
  it('counts UTF-16 code units, not characters', () => {
    assert.equal(micromatch.isMatch('\u{1f600}', '??', options), true);
    assert.equal(wildcardMatch('??', '\u{1f600}'), false);
  });
  it('does treat the escaped glob characters as literals (so escaping alone was never the problem)', () => {
    assert.equal(micromatch.isMatch('[a]', '\\[a\\]', options), true);
    assert.equal(micromatch.isMatch('{a,b}', '\\{a,b\\}', options), true);
  });
});

describe('BoundedCache', () => {
  it('evicts the least recently used entry beyond its limit', () => {
    const cache = new BoundedCache<string, number>(2);
    let created = 0;
    const make = () => ++created;
    cache.getOrCreate('a', make);
    cache.getOrCreate('b', make);
    cache.getOrCreate('a', make); // refresh a
    cache.getOrCreate('c', make); // evicts b
    assert.equal(cache.size, 2);
    assert.equal(created, 3);
    cache.getOrCreate('a', make);
    assert.equal(created, 3, 'a stayed cached');
    cache.getOrCreate('b', make);
    assert.equal(created, 4, 'b had been evicted');
  });
});
