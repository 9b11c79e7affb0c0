import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { compileGoRegexp, goRegexpMatch, goRegexpReplaceAll } from './goRegexp.js';

// Expected results are Go's regexp package's (RE2 syntax).
describe('Go regexp (RE2) on JavaScript', () => {
  const matches: [pattern: string, text: string, expected: boolean][] = [
    ['^abc$', 'abc', true],
    ['b', 'abc', true], // Match is unanchored
    ['(?i)^ABC$', 'abc', true],
    ['(?s)a.b', 'a\nb', true],
    ['a.b', 'a\nb', false],
    ['(?m)^b$', 'a\nb', true],
    ['^b$', 'a\nb', false],
    ['\\Aab\\z', 'ab', true],
    ['\\Aab\\z', 'ab\n', false],
    ['(?P<major>\\d+)\\.(\\d+)', 'v1.2', true],
    ['[[:alpha:]]+[[:digit:]]', 'abc1', true],
    ['^[[:xdigit:]]+$', 'DEADbeef', true],
    ['\\s', '\u00a0', false], // RE2's \s is ASCII whitespace
    ['\\s', '\t', true],
    ['^\\d+$', '\u0661', false], // \d is ASCII digits
    ['a{', 'a{', true], // a brace that does not start a repetition is literal
    ['a{2}', 'aa', true],
    ['a{,2}', 'a{,2}', true],
    ['\\Q.*\\E', '.*', true],
    ['\\Q.*\\E', 'ab', false],
    ['^.$', '\u{1f600}', true], // one character, not one UTF-16 unit
    ['\\pL+', 'Ωmega', true],
    ['\\p{Greek}', 'Ω', true],
    ['\\x41\\x{42}', 'AB', true],
    ['a\\1', 'a\u0001', true], // RE2 reads \1 as an octal escape, not a backreference
    ['\\.\\-\\_', '.-_', true],
    ['[\\]a]', ']', true],
    ['[]a]', ']', true],
  ];
  for (const [pattern, text, expected] of matches) {
    it(`${pattern} ${expected ? 'matches' : 'does not match'} ${JSON.stringify(text)}`, () => {
      assert.equal(goRegexpMatch(pattern, text), expected);
    });
  }

  for (const pattern of ['(?=a)', '(?!a)', '(?<=a)b', '(?<!a)b', '(?U)a+', '[', 'a(', '\\', 'a{1001}', '(?i:a)b']) {
    it(`rejects ${pattern} as Go does`, () => assert.throws(() => compileGoRegexp(pattern), SyntaxError));
  }

  it('ReplaceAll expands $1, ${name}, $$ and drops unknown names', () => {
    assert.equal(goRegexpReplaceAll('(\\w+)@(\\w+)', 'me@host', '$2 at ${1}', false), 'host at me');
    assert.equal(goRegexpReplaceAll('(?P<u>\\w+)@', 'me@', '${u}:', false), 'me:');
    assert.equal(goRegexpReplaceAll('a', 'a', '$$', false), '$');
    assert.equal(goRegexpReplaceAll('(a)', 'a', '$1x', false), ''); // "$1x" names group "1x"
    assert.equal(goRegexpReplaceAll('(a)', 'a', '$1x', true), '$1x');
  });
  it('ReplaceAll skips an empty match right after a match, like Go', () => {
    assert.equal(goRegexpReplaceAll('a*', 'baaac', 'X', false), 'XbXcX');
    assert.equal(goRegexpReplaceAll('', 'ab', '-', false), '-a-b-');
  });
});
